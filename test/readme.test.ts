/**
 * README.md stays true: every code block in it is run, and every value and
 * output it shows is checked.
 *
 * Conventions (README.md follows them; test/helpers/readme.ts implements them):
 *
 * - ```ts blocks are complete programs. `import ... from "offspect-cachefile"`
 *   is pointed at the repository's `src/index.ts` (a subpath such as
 *   `offspect-cachefile/review` at `src/review/index.ts`, and its types at
 *   `dist/review/index.d.ts`); each block runs (with tsx)
 *   in a fresh temporary directory holding a copy of `test/fixtures/`, so
 *   `test/fixtures/offspect/template_R001.hdf5` is a copy of that shipped
 *   file and nothing a block writes reaches the repository. The blocks of one
 *   `##` section run one after the other in one program (state such as a
 *   registered readout carries over within the section, not beyond it).
 * - `EXPR; // → VALUE` (or `const name = EXPR; // → VALUE`): the statement's
 *   value is VALUE, a JavaScript expression, compared deeply and exactly
 *   (NaN equals NaN; an array matches a typed array with those elements).
 *   `// ≈ VALUE`: numbers compared at the decimals VALUE shows them with
 *   (`// ≈ -0.0908` accepts -0.09077). VALUE is the shortest prefix of the
 *   comment that is an expression followed by `: `, ` (`, `; `, ` — ` or
 *   the end; the rest is prose.
 * - `STATEMENT; // throws NAME`, `// throws NAME (CODE)`, `// throws NAME
 *   (CODE): 'part of the message'` on a top-level statement: it throws that
 *   error (NAME: the class or the error's name).
 * - Every ```ts block also type-checks, as written, against the built
 *   `dist/index.d.ts` (strict; one program per block), as a user's copy of
 *   it would compile.
 * - ```sh blocks that call `cachefile` run in one bash (`set -o pipefail`),
 *   in a fresh directory with a copy of `test/fixtures/`; `cachefile` runs
 *   `node dist/cli/main.js`. dist/ is what `npm test`'s pretest builds;
 *   `README_DIST=dir` points both at another build. Lines `# TEXT` (or a lone `#`) right after a
 *   command are its whole output, stdout and stderr as they interleave;
 *   `...` in a line matches any text, a line `...` any lines. `# [exit N]`:
 *   it exits with N (otherwise with 0).
 * - A ```sh block of npm/npx commands only is not run (they install, build,
 *   or run this suite). Any other block that cannot run has
 *   `<!-- not run: REASON -->` on the line before it. The inventory test
 *   lists every block that is not run, with its reason; a block neither run
 *   nor marked fails.
 * - A failure names the README line: of the block, of the statement that
 *   threw (from the stack), of the check, or of the command.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BlockOutcome, brokenLinks, extractBlocks, headingAnchor, matchesShown, parseSh, planBlocks, runMarkdown, sameAsShown, shownValue } from "./helpers/readme.js";
import { ROOT } from "./helpers/fixtures.js";

const README = readFileSync(join(ROOT, "README.md"), "utf8");
const DIST = process.env["README_DIST"] ?? join(ROOT, "dist");

let tmp: string;
/** README.md's run, started first so that it runs while the conventions' own tests run. */
let readmeRun: Promise<{ outcomes: BlockOutcome[]; seconds: number }>;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "ocf-readme-"));
  const t0 = performance.now();
  readmeRun = runMarkdown(README, { name: "README.md", root: ROOT, dist: DIST, tmp: join(tmp, "readme") }).then((outcomes) => ({ outcomes, seconds: (performance.now() - t0) / 1000 }));
  readmeRun.catch(() => undefined); // surfaced where it is awaited
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("the conventions", () => {
  it("finds blocks, their sections and their not-run reasons, by line", () => {
    const md = ["# T", "", "## A", "```ts", "1;", "```", "<!-- not run: a listing -->", "", "```text", "x", "```", "### B", "```sh", "npm install", "```"].join("\n");
    const plans = planBlocks(extractBlocks(md));
    expect(plans.map((p) => [p.kind, p.block.line, p.block.section])).toEqual([
      ["ts", 4, "## A"],
      ["not run", 9, "## A"],
      ["not run", 13, "### B"],
    ]);
    expect(plans[1]!.kind === "not run" && plans[1]!.reason).toBe("a listing");
  });

  it("reads the shown value up to its prose", () => {
    expect(shownValue(`"36.4": every value is text`)).toBe(`"36.4"`);
    expect(shownValue(`{ written: ["comment"], ignored: [] }`)).toBe(`{ written: ["comment"], ignored: [] }`);
    expect(shownValue(`36.4 (µV)`)).toBe("36.4");
    expect(shownValue(`"WARNING: traces [1, 41]"`)).toBe(`"WARNING: traces [1, 41]"`);
    expect(shownValue(`[37, 22.8, 54.2]; the MNI coordinates`)).toBe("[37, 22.8, 54.2]");
    expect(shownValue(`: nothing`)).toBeUndefined();
  });

  it("compares exactly, or at the shown decimals with ≈", () => {
    expect(sameAsShown(-0.09077, -0.0908, true)).toBe(true);
    expect(sameAsShown(-0.09077, -0.0908, false)).toBe(false);
    expect(sameAsShown(1486.6399999999999, 1486.64, true)).toBe(true);
    expect(sameAsShown(37.4, 37, true)).toBe(true);
    expect(sameAsShown(37.6, 37, true)).toBe(false);
    expect(sameAsShown([NaN, 1], [NaN, 1], false)).toBe(true);
    expect(sameAsShown(new Float64Array([0, 1]), [0, 1], false)).toBe(true);
    expect(sameAsShown({ a: 1, b: 2 }, { a: 1 }, false)).toBe(false);
    expect(sameAsShown("36.4", 36.4, false)).toBe(false);
    expect(sameAsShown(12345678901234567890n, 12345678901234567890n, false)).toBe(true);
  });

  it("matches shown output lines whole, with ... as wildcards", () => {
    expect(matchesShown(["a", "b"], ["a", "b"])).toBe(true);
    expect(matchesShown(["a"], ["a", "b"])).toBe(false);
    expect(matchesShown(["a", "..."], ["a", "b", "c"])).toBe(true);
    expect(matchesShown(["error: cannot write .../x.hdf5: ..."], ["error: cannot write /tmp/q/x.hdf5: the folder"])).toBe(true);
    expect(matchesShown(["history : "], ["history :"])).toBe(true);
  });

  it("reads commands, their shown output and exit status", () => {
    const { commands, problems } = parseSh(["# a comment", "cachefile peek x.hdf5   # prose", "# out 1", "#", "# [exit 1]", "", "cachefile merge -t a.hdf5 \\", "    -f b.hdf5"].join("\n"));
    expect(problems).toEqual([]);
    expect(commands).toEqual([
      { offset: 1, command: "cachefile peek x.hdf5   # prose", output: ["out 1", ""], exit: 1 },
      { offset: 6, command: "cachefile merge -t a.hdf5 \\\n    -f b.hdf5", exit: 0 },
    ]);
  });

  it("finds links to headings and files that do not exist", () => {
    expect(headingAnchor("offspect's API")).toBe("offspects-api");
    expect(headingAnchor("Building files: populate and AnnotationFactory")).toBe("building-files-populate-and-annotationfactory");
    const md = ["## A b", "[ok](#a-b) [gone](#c) [file](docs/maps.md) [no file](docs/none.md) [web](https://x.org) `[code](#d)`", "```", "[in code](#e)", "```"].join("\n");
    expect(brokenLinks(md, "X.md", (p) => existsSync(join(ROOT, p)))).toEqual(["X.md:2: no heading has the anchor #c", "X.md:2: docs/none.md does not exist"]);
  });

  it("fails a drifted example, a failing block, a type error and a differing output, each at its line", async () => {
    const md = [
      "## Drift", //                                                        1
      "```ts", //                                                           2
      'import { decode } from "offspect-cachefile/offspect";', //                    3
      'decode("[1, 2]"); // → [1, 2]', //                                    4
      'decode("36.4"); // → 36.5', //                                        5
      'const x = decode("yes"); // → true', //                               6
      'decode(5 as never); // throws ArgumentTypeError (EARGTYPE)', //       7
      'decode("1"); // throws DecodeError', //                               8
      "```", //                                                             9
      "```ts", //                                                          10
      'import { CacheFile } from "offspect-cachefile";', //                11
      'new CacheFile("test/fixtures/offspect/nothing.hdf5");', //          12
      "```", //                                                            13
      "```sh", //                                                          14
      "cachefile peek test/fixtures/offspect/template_R001.hdf5 | tail -1", // 15
      "# In total, there are 3 traces from 1 origins", //                   16
      "cachefile peek nothing.hdf5", //                                     17
      "```", //                                                            18
      "```text", //                                                        19
      "unmarked", //                                                       20
      "```", //                                                            21
      "```ts", //                                                          22
      'import { CacheFile } from "offspect-cachefile";', //                23
      'const n: string = CacheFile.openSync("test/fixtures/offspect/template_R001.hdf5").length; // → 2', // 24
      "```", //                                                            25
    ].join("\n");
    const outcomes = await runMarkdown(md, { name: "X.md", root: ROOT, dist: DIST, tmp: join(tmp, "self") });
    const failures = outcomes.flatMap((o) => o.failures);
    expect(failures.find((f) => f.startsWith("X.md:5:"))).toMatch(/shows 36\.5, but the value is 36\.4/);
    expect(failures.find((f) => f.startsWith("X.md:8:"))).toMatch(/throws DecodeError, but it did not throw/);
    expect(failures.find((f) => f.startsWith("X.md:10:"))).toMatch(/FileNotFoundError \(ENOENT\).*at line 12/);
    expect(failures.find((f) => f.startsWith("X.md:15:"))).toMatch(/In total, there are 2 traces from 1 origins/);
    expect(failures.find((f) => f.startsWith("X.md:17:"))).toMatch(/exited with 1, expected 0/);
    expect(failures.find((f) => f.startsWith("X.md:19:"))).toMatch(/without <!-- not run: REASON -->/);
    expect(failures.find((f) => f.startsWith("X.md:24:"))).toMatch(/does not type-check .*Type 'number' is not assignable to type 'string'/);
    expect(failures.filter((f) => /^X\.md:[467]:/.test(f))).toEqual([]);
    expect(failures).toHaveLength(7);
  });
});

describe("README.md", () => {
  const plans = planBlocks(extractBlocks(README));
  let outcomes: BlockOutcome[] = [];
  let seconds = 0;

  beforeAll(async () => {
    ({ outcomes, seconds } = await readmeRun);
  });

  it("runs every block or says why not", () => {
    const count = (kind: string) => plans.filter((p) => p.kind === kind).length;
    const notRun = plans.filter((p) => p.kind === "not run").map((p) => `README.md:${p.block.line}: ${p.kind === "not run" ? p.reason : ""}`);
    console.info(
      `README.md: ${count("ts")} ts blocks and ${count("sh")} sh blocks run (${outcomes.reduce((n, o) => n + o.checks, 0)} checks and commands) in ${seconds.toFixed(1)} s; ` +
        `${notRun.length} not run:\n  ${notRun.join("\n  ")}`,
    );
    expect(plans.filter((p) => p.kind === "unmarked").map((p) => `README.md:${p.block.line}: ${p.kind === "unmarked" ? p.reason : ""}`)).toEqual([]);
    expect(count("ts")).toBeGreaterThan(0);
    expect(count("sh")).toBeGreaterThan(0);
  });

  it("links only to headings and files that exist", () => {
    expect(brokenLinks(README, "README.md", (p) => existsSync(join(ROOT, p)))).toEqual([]);
  });

  it("has the built package it runs and type-checks against (npm test builds dist/ first)", () => {
    for (const file of ["cli/main.js", "index.d.ts"]) expect(existsSync(join(DIST, file)), `${join(DIST, file)} is missing: run npm run build:dist`).toBe(true);
  });

  it.each(plans.filter((p) => p.kind === "ts" || p.kind === "sh").map((p) => [`README.md:${p.block.line} ${p.kind} (${p.block.section})`, p.block.line] as const))(
    "%s",
    (_label, line) => {
      const o = outcomes.find((x) => x.plan.block.line === line)!;
      expect(o.failures, o.failures.join("\n\n")).toEqual([]);
    },
  );
});
