/**
 * The format module (src/hdf5/format/) against libhdf5: for every fixture,
 * every generated valid variant and every input of the fault corpus, each
 * read the module answers (the
 * tree, attributes as text, dataset values) equals libhdf5's, byte for
 * byte, or the module declines it (and libhdf5 answers), or the module
 * finds damage that libhdf5 finds too. Each file runs in a child process
 * (test/format/differential.mts).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { fixture, fixtureNames, ROOT } from "./helpers/fixtures.js";
import { CACHE, generateVariants, listVariants } from "./variants/generate.js";
import { FormatFile } from "../src/hdf5/format/file.js";

const CHILD = join(ROOT, "test", "format", "differential.mts");

interface Verdict {
  verdict: "equal" | "declined" | "damaged" | "different";
  /** The module's first damage message. */
  damage?: string;
  moduleFailure?: string;
  libhdf5Failure?: string;
  objects: number;
  differences: string[];
}

function compare(file: string): Verdict {
  const out = execFileSync(process.execPath, ["--import", "tsx", CHILD, file], { encoding: "utf8", timeout: 60_000 });
  return JSON.parse(out) as Verdict;
}

/** Whether libhdf5 alone reads every object of `file` without an error (false also when it crashes or hangs). */
function libhdf5ReadsCleanly(file: string): boolean {
  const child = spawnSync(process.execPath, ["--import", "tsx", CHILD, file, "--libhdf5-only"], { encoding: "utf8", timeout: 20_000 });
  if (child.status !== 0 || child.error) return false;
  return (JSON.parse(child.stdout) as { libhdf5Clean: boolean }).libhdf5Clean;
}

describe("the format module reads what libhdf5 reads", () => {
  it.each(fixtureNames())("offspect's %s: every object, attribute and value equal", (name) => {
    const v = compare(fixture(name));
    expect(v.differences).toEqual([]);
    expect(v.verdict).toBe("equal");
    expect(v.objects).toBeGreaterThan(4);
  });

  describe("the generated valid variants (test/variants)", () => {
    beforeAll(() => generateVariants(), 600_000);
    const variants = listVariants().map((v) => v.name);

    it.each(variants)("%s: every answer equal, or declined to libhdf5 (never damaged)", (name) => {
      const v = compare(join(CACHE, `${name}.hdf5`));
      expect(v.differences).toEqual([]);
      expect(["equal", "declined"], JSON.stringify(v)).toContain(v.verdict);
    });

    it.each(variants)("%s: an attribute is 'stored as h5py stores a str' exactly when h5py's type says so", (name) => {
      const view = JSON.parse(readFileSync(join(CACHE, `${name}.h5py.json`), "utf8")) as {
        objects: Record<string, { attrs: [string, unknown, { class: string; vlen?: boolean; cset?: string }][] }>;
      };
      const f = FormatFile.open(join(CACHE, `${name}.hdf5`));
      try {
        let checked = 0;
        for (const [path, o] of Object.entries(view.objects)) {
          const addr = f.resolve(path);
          if (addr === undefined) continue;
          let ours;
          try {
            ours = f.attributes(addr, path);
          } catch {
            continue; // declined to libhdf5 (the other test covers it)
          }
          for (const [attr, , type] of o.attrs) {
            const a = ours.find((x) => x.name === attr);
            expect(a?.standard, `${path} ${attr}`).toBe(type.class === "string" && type.vlen === true && type.cset === "utf8");
            if (++checked > 20000) return;
          }
        }
      } finally {
        f.close();
      }
    });
  });

  const corpus = join(ROOT, "test", "faults", "corpus");
  const regressions = join(ROOT, "test", "faults", "regressions");
  const inputs = [
    ...readdirSync(corpus).filter((f) => f.endsWith(".hdf5")).map((f) => join(corpus, f)),
    ...readdirSync(regressions).filter((f) => f.endsWith(".hdf5")).map((f) => join(regressions, f)),
  ].sort();

  /**
   * Damage libhdf5 1.10.8 reads through without an error, by the module's
   * message: libhdf5 returns what the damage makes of the values, or reads
   * past a buffer (some runs crash, others do not), or allocates gigabytes
   * first, so a clean run of libhdf5 proves nothing about these.
   */
  const READ_THROUGH_BY_LIBHDF5: [RegExp, string][] = [
    [/refers to global heap object \d+ at address \d+, which does not exist/, "a string's heap ID names an object its collection does not hold: libhdf5 reads without checking"],
    [/its length \d+ differs from its global heap object's/, "a string's length exceeds its heap object: libhdf5 copies past the object"],
    [/a variable-length string of characters of \d+ bytes \(\d+ bits at bit \d+\)/, "a string's characters are not one byte of 8 bits: libhdf5 reads the value as empty"],
    [/its chunks are \d+ long in dimension \d+, more than its maximum/, "chunks longer than the dataset may grow: libhdf5 reads past its buffer"],
    [/a chunk of .* lies outside the file/, "a chunk's stored size reaches past the end of the file: libhdf5 allocates and reads that many bytes (up to 4 GiB) and returns what it makes of them"],
  ];
  /** Corpus inputs meant to be harmless (every operation expected "ok"): never damaged. */
  const harmless = new Set(
    (JSON.parse(readFileSync(join(corpus, "cases.json"), "utf8")) as { cases: { file: string; expect: Record<string, string> }[] }).cases
      .filter((c) => Object.values(c.expect).every((o) => o === "ok"))
      .map((c) => join(corpus, c.file)),
  );

  it.each(inputs.map((p) => [p.slice(ROOT.length + 1), p]))("%s: the same answers, a decline, or damage libhdf5 fails on or misreads", (name, path) => {
    const v = compare(path);
    expect(v.differences, JSON.stringify(v)).toEqual([]);
    expect(v.verdict).not.toBe("different");
    if (harmless.has(path)) expect(v.verdict, "a harmless input called damaged").not.toBe("damaged");
    // What the module calls damaged, libhdf5 fails on (an error, a crash or a hang), or is known to read through.
    if (v.verdict === "damaged" && !READ_THROUGH_BY_LIBHDF5.some(([pattern]) => pattern.test(v.damage!))) {
      expect(libhdf5ReadsCleanly(path), `libhdf5 reads this file without an error, where the module finds: ${v.damage}`).toBe(false);
    }
  });
});
