/**
 * Runs the code blocks of a Markdown file (README.md) and checks the values,
 * errors and outputs it shows, each failure named by its line in the file:
 * ts blocks rewritten to report their `// →`, `// ≈` and `// throws` checks
 * and run with tsx in child programs (one per `##` section), type-checked
 * against the built declarations; sh blocks run in bash with `cachefile` on
 * the PATH, their `# ` lines compared with the output. The conventions are
 * stated at the top of test/readme.test.ts, which runs README.md through
 * this.
 * @module
 */
import { appendFileSync, chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { inspect } from "node:util";
import type * as TS from "typescript";
import { spawnCollect } from "./spawn.js";

// ---------------------------------------------------------------- blocks

/** A fenced code block of a Markdown file. */
export interface Block {
  /** 1-based line of the opening fence. */
  line: number;
  /** The fence's language (`ts`, `sh`, ...), lower case; "" when none. */
  lang: string;
  code: string;
  /** The nearest heading above it ("## The library", "### Updating traces"). */
  section: string;
  /** The top-level (##) section it is in. */
  chapter: string;
  /** The reason of a `<!-- not run: REASON -->` line before it. */
  notRun?: string;
}

const NOT_RUN = /^<!--\s*not run:\s*(.*?)\s*-->$/;

/** Every fenced block of `markdown`, in order. */
export function extractBlocks(markdown: string): Block[] {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  let section = "";
  let chapter = "";
  let lastText = ""; // the last non-blank line outside a block
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    const fence = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/.exec(text);
    if (fence) {
      const marker = fence[2]!;
      const body: string[] = [];
      let j = i + 1;
      while (j < lines.length && !lines[j]!.trimStart().startsWith(marker)) body.push(lines[j++]!);
      const notRun = NOT_RUN.exec(lastText.trim());
      blocks.push({ line: i + 1, lang: fence[3]!.toLowerCase(), code: body.join("\n"), section, chapter, ...(notRun ? { notRun: notRun[1]! } : {}) });
      i = j;
      lastText = "";
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(text);
    if (heading) {
      section = `${heading[1]} ${heading[2]!.trim()}`;
      if (heading[1]!.length <= 2) chapter = section;
    }
    if (text.trim() !== "") lastText = text;
  }
  return blocks;
}

/** What is done with a block. */
export type Plan =
  | { kind: "ts"; block: Block }
  | { kind: "sh"; block: Block }
  | { kind: "not run"; block: Block; reason: string }
  | { kind: "unmarked"; block: Block; reason: string };

const SH = new Set(["sh", "bash", "shell", "console"]);
const TS_LANGS = new Set(["ts", "typescript", "mts"]);

/** Lines of a sh block that are commands (not comments, not blank), continuation lines joined. */
function shCommandTexts(code: string): string[] {
  return parseSh(code).commands.map((c) => c.command);
}

/** Decides, for every block, whether and how it runs. */
export function planBlocks(blocks: Block[]): Plan[] {
  return blocks.map((block): Plan => {
    if (block.notRun !== undefined) return { kind: "not run", block, reason: block.notRun };
    if (TS_LANGS.has(block.lang)) return { kind: "ts", block };
    if (SH.has(block.lang)) {
      const commands = shCommandTexts(block.code);
      if (commands.some((c) => /(^|[\s;&|(])cachefile(\s|$)/.test(c))) return { kind: "sh", block };
      if (commands.length > 0 && commands.every((c) => /^(npm|npx)\s/.test(c.trim()))) {
        return { kind: "not run", block, reason: "npm/npx commands only (they install, build or run the test suite)" };
      }
      return { kind: "unmarked", block, reason: "a sh block that calls no cachefile command" };
    }
    return { kind: "unmarked", block, reason: `a block of language "${block.lang}"` };
  });
}

// ---------------------------------------------------------------- ts blocks

let tsModule: typeof TS | undefined;
/** TypeScript's compiler API, loaded on first use (the child programs never need it). */
function ts(): typeof TS {
  tsModule ??= createRequire(import.meta.url)("typescript") as typeof TS;
  return tsModule;
}

/** What a check asserts. */
export type CheckSpec =
  | { kind: "value"; line: number; approx: boolean; shown: string }
  | { kind: "throws"; line: number; name: string; code?: string; message?: string };

/** A block rewritten to report its checks, with what each check asserts. */
export interface Instrumented {
  code: string;
  checks: CheckSpec[];
  /** Markdown lines and what is wrong with the block's conventions there. */
  problems: { line: number; message: string }[];
}

function parses(expression: string): boolean {
  const t = ts();
  const sf = t.createSourceFile("shown.ts", `(${expression}\n);`, t.ScriptTarget.Latest, true, t.ScriptKind.TS);
  const diagnostics = (sf as unknown as { parseDiagnostics: unknown[] }).parseDiagnostics;
  return diagnostics.length === 0 && sf.statements.length === 1 && t.isExpressionStatement(sf.statements[0]!);
}

/**
 * The value part of a shown value's text: the shortest prefix that is an
 * expression and is followed by the end, `: `, ` (`, `; ` or ` — `.
 */
export function shownValue(text: string): string | undefined {
  const ends: number[] = [];
  for (const sep of [": ", " (", "; ", " — "]) {
    for (let k = text.indexOf(sep); k >= 0; k = text.indexOf(sep, k + 1)) ends.push(k);
  }
  ends.sort((a, b) => a - b);
  ends.push(text.length);
  for (const end of ends) {
    const candidate = text.slice(0, end).trim();
    if (candidate !== "" && parses(candidate)) return candidate;
  }
  return undefined;
}

/** Parses the text after `// throws `: NAME, (CODE), and a quoted part of the message. */
function throwsSpec(text: string, line: number): CheckSpec | string {
  const m = /^([A-Za-z_$][\w$]*)(?:\s*\(([A-Z_][A-Z0-9_]*)\))?(.*)$/.exec(text.trim());
  if (!m) return `expected "// throws ErrorName (CODE)", got "// throws ${text}"`;
  const spec: CheckSpec = { kind: "throws", line, name: m[1]! };
  if (m[2]) spec.code = m[2];
  const rest = m[3]!.trim();
  if (rest.startsWith(":")) {
    const after = rest.slice(1).trim();
    if (/^["'`]/.test(after)) {
      const literal = shownValue(after);
      if (literal === undefined) return `cannot read the quoted message in "// throws ${text}"`;
      spec.message = String(new Function(`return (${literal});`)());
    }
  }
  return spec;
}

/**
 * Rewrites a ts block so that each `// →`, `// ≈` and `// throws` check
 * reports to the runner (`__readme`), and points its imports of
 * "offspect-cachefile" at `entry` (and "offspect-cachefile/SUB" at
 * `SUB/index.ts` beside it). Line breaks stay where they are, so a
 * line of the rewritten block is the same line of the Markdown file.
 */
export function instrumentTs(code: string, firstLine: number, entry: string): Instrumented {
  const t = ts();
  const sf = t.createSourceFile("block.mts", code, t.ScriptTarget.Latest, true, t.ScriptKind.TS);
  const problems: Instrumented["problems"] = [];
  const lineOf = (pos: number) => firstLine + sf.getLineAndCharacterOfPosition(pos).line;
  for (const d of (sf as unknown as { parseDiagnostics: TS.Diagnostic[] }).parseDiagnostics) {
    problems.push({ line: lineOf(d.start ?? 0), message: `does not parse: ${t.flattenDiagnosticMessageText(d.messageText, " ")}` });
  }

  // Every single-line comment: the trivia before each token holds them (so "// →" inside a string is not one).
  const comments: { pos: number; text: string }[] = [];
  const seen = new Set<number>();
  const collect = (node: TS.Node): void => {
    const children = node.getChildren(sf);
    if (children.length === 0) {
      // A comment on a token's line is a trailing comment of it; the others lead the next token.
      for (const r of [...(t.getLeadingCommentRanges(code, node.pos) ?? []), ...(t.getTrailingCommentRanges(code, node.end) ?? [])]) {
        if (r.kind !== t.SyntaxKind.SingleLineCommentTrivia || seen.has(r.pos)) continue;
        seen.add(r.pos);
        comments.push({ pos: r.pos, text: code.slice(r.pos, r.end) });
      }
    }
    for (const child of children) collect(child);
  };
  collect(sf);
  const markers = comments
    .map((c) => ({ ...c, m: /^\/\/\s*(→|≈|throws\b)\s?(.*)$/.exec(c.text) }))
    .filter((c): c is { pos: number; text: string; m: RegExpExecArray } => c.m !== null);

  // Statements that may carry a check, by the position of their last character.
  const statements: TS.Statement[] = [];
  const visit = (node: TS.Node): void => {
    if (t.isExpressionStatement(node) || t.isVariableStatement(node)) statements.push(node);
    t.forEachChild(node, visit);
  };
  visit(sf);

  const inserts: { pos: number; order: number; text: string }[] = [];
  const checks: CheckSpec[] = [];
  for (const marker of markers) {
    const line = lineOf(marker.pos);
    const owner = statements
      .filter((s) => s.end <= marker.pos && /^[ \t;]*$/.test(code.slice(s.end, marker.pos)))
      .sort((a, b) => b.end - a.end || a.getStart(sf) - b.getStart(sf))[0];
    if (!owner) {
      problems.push({ line, message: `"${marker.text}" must follow, on its line, an expression statement or a declaration` });
      continue;
    }
    const id = checks.length;
    const [, kind, rest] = marker.m;
    if (kind === "throws") {
      const spec = throwsSpec(rest!, line);
      if (typeof spec === "string") {
        problems.push({ line, message: spec });
        continue;
      }
      if (owner.parent !== sf) {
        problems.push({ line, message: `"// throws" is checked on top-level statements only` });
        continue;
      }
      checks.push(spec);
      inserts.push({ pos: owner.getStart(sf), order: 0, text: `await __readme.throws(${id}, async () => { ` });
      inserts.push({ pos: owner.end, order: 1, text: ` });` });
      continue;
    }
    const shown = shownValue(rest!);
    if (shown === undefined) {
      problems.push({ line, message: `cannot read a JavaScript value at the start of "${rest}"` });
      continue;
    }
    checks.push({ kind: "value", line, approx: kind === "≈", shown });
    const thunk = `() => (${shown})`;
    if (t.isExpressionStatement(owner)) {
      inserts.push({ pos: owner.expression.getStart(sf), order: 0, text: `__readme.show(${id}, (` });
      inserts.push({ pos: owner.expression.end, order: 1, text: `), ${thunk})` });
    } else {
      const decls = (owner as TS.VariableStatement).declarationList.declarations;
      const only = decls.length === 1 ? decls[0]! : undefined;
      if (!only || !t.isIdentifier(only.name)) {
        problems.push({ line, message: `a shown value after a declaration needs exactly one declared name` });
        checks.pop();
        continue;
      }
      inserts.push({ pos: owner.end, order: 1, text: `; __readme.show(${id}, ${only.name.text}, ${thunk});` });
    }
  }

  // The import of the package, pointed at the repository's entry: its specifier replaced (a subpath
  // such as "offspect-cachefile/review" at the source of what package.json's exports name for it).
  const replacements: { start: number; end: number; text: string }[] = [];
  for (const s of sf.statements) {
    if (!(t.isImportDeclaration(s) || t.isExportDeclaration(s)) || !s.moduleSpecifier || !t.isStringLiteral(s.moduleSpecifier)) continue;
    const m = /^offspect-cachefile(?:\/([a-z]+))?$/.exec(s.moduleSpecifier.text);
    if (!m) continue;
    const target = m[1] === undefined ? entry : join(dirname(entry), subpathModule(m[1], "src"));
    replacements.push({ start: s.moduleSpecifier.getStart(sf), end: s.moduleSpecifier.end, text: JSON.stringify(pathToFileURL(target).href) });
  }
  // Applied from the end, so positions stay valid. At one position, a statement's closing text
  // (order 1) goes before the next one's opening text (order 0): the opening is applied first.
  const edits = [
    ...replacements.map((r) => ({ ...r, order: 0 })),
    ...inserts.map((i) => ({ start: i.pos, end: i.pos, text: i.text, order: i.order })),
  ].sort((a, b) => b.start - a.start || a.order - b.order);
  let out = code;
  for (const e of edits) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return { code: out, checks, problems };
}

// ---------------------------------------------------------------- the child program's side

/** What a child program is told to run: blocks, each in its directory, and where to write results. */
export interface GroupSpec {
  results: string;
  blocks: { id: number; file: string; dir: string; firstLine: number; checks: CheckSpec[] }[];
}

/** One block's outcome, as the child program reports it. */
export interface ChildResult {
  id: number;
  error?: string;
  /** Per check: how often it ran and what failed. */
  checks: { count: number; failures: string[] }[];
  ms: number;
}

/** Deep comparison of a value with the one README shows. */
export function sameAsShown(actual: unknown, shown: unknown, approx: boolean): boolean {
  if (typeof shown === "number") {
    if (typeof actual !== "number") return false;
    if (Number.isNaN(shown) || Number.isNaN(actual)) return Number.isNaN(shown) && Number.isNaN(actual);
    if (actual === shown) return true;
    if (!approx || !Number.isFinite(shown) || !Number.isFinite(actual)) return false;
    const digits = /\.(\d+)$/.exec(String(Math.abs(shown)))?.[1]?.length ?? 0;
    if (/e/i.test(String(shown))) return Math.abs(actual - shown) <= Math.abs(shown) * 5e-3;
    return Math.abs(actual - shown) <= 0.5 * 10 ** -digits * (1 + 1e-9);
  }
  if (shown === null || typeof shown !== "object") return Object.is(actual, shown) || (actual === shown);
  if (shown instanceof Date) return actual instanceof Date && actual.getTime() === shown.getTime();
  if (Array.isArray(shown)) {
    const list = Array.isArray(actual) ? actual : ArrayBuffer.isView(actual) && !(actual instanceof DataView) ? Array.from(actual as unknown as ArrayLike<unknown>) : undefined;
    return list !== undefined && list.length === shown.length && shown.every((v, k) => sameAsShown(list[k], v, approx));
  }
  if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return false;
  const a = actual as Record<string, unknown>;
  const s = shown as Record<string, unknown>;
  const keys = Object.keys(s);
  return keys.length === Object.keys(a).length && keys.every((k) => Object.hasOwn(a, k) && sameAsShown(a[k], s[k], approx));
}

function show(value: unknown): string {
  return inspect(value, { depth: 8, breakLength: Infinity, maxArrayLength: 20, maxStringLength: 400 });
}

function errorText(e: unknown, file: string, firstLine: number): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const code = (err as { code?: unknown }).code;
  let where = "";
  const base = file.slice(file.lastIndexOf("/") + 1).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const frame = new RegExp(`${base}:(\\d+):\\d+`).exec(err.stack ?? "");
  if (frame) where = ` (at line ${firstLine + Number(frame[1]) - 1})`;
  return `${err.name}${code !== undefined ? ` (${String(code)})` : ""}: ${err.message}${where}`;
}

/**
 * Runs the blocks of `spec` one after the other in this process (the
 * child), each in its own directory, and appends a result line per block.
 */
export async function runGroup(spec: GroupSpec): Promise<void> {
  let current: { result: ChildResult; firstLine: number; file: string } | undefined;
  const late = (e: unknown) => {
    if (current && !current.result.error) current.result.error = `unhandled: ${errorText(e, current.file, current.firstLine)}`;
  };
  process.on("unhandledRejection", late);
  process.on("uncaughtException", late);
  for (const block of spec.blocks) {
    const result: ChildResult = { id: block.id, checks: block.checks.map(() => ({ count: 0, failures: [] })), ms: 0 };
    current = { result, firstLine: block.firstLine, file: block.file };
    const record = (id: number, failure: string | undefined) => {
      const c = result.checks[id]!;
      c.count++;
      if (failure !== undefined && c.failures.length < 3) c.failures.push(failure);
    };
    (globalThis as { __readme?: unknown }).__readme = {
      show(id: number, actual: unknown, shown: () => unknown): void {
        const check = block.checks[id] as Extract<CheckSpec, { kind: "value" }>;
        let expected: unknown;
        try {
          expected = shown();
        } catch (e) {
          record(id, `the shown value ${check.shown} does not evaluate: ${String(e)}`);
          return;
        }
        record(id, sameAsShown(actual, expected, check.approx) ? undefined : `shows ${check.approx ? "≈ " : ""}${check.shown}, but the value is ${show(actual)}`);
      },
      async throws(id: number, fn: () => Promise<unknown>): Promise<void> {
        const check = block.checks[id] as Extract<CheckSpec, { kind: "throws" }>;
        try {
          await fn();
        } catch (e) {
          const err = e as { name?: unknown; code?: unknown; message?: unknown; constructor?: { name?: unknown } };
          const problems: string[] = [];
          if (err?.constructor?.name !== check.name && err?.name !== check.name) problems.push(`${String(err?.constructor?.name ?? typeof e)}`);
          if (check.code !== undefined && err?.code !== check.code) problems.push(`code ${String(err?.code)}`);
          if (check.message !== undefined && !String(err?.message).includes(check.message)) problems.push(`message "${String(err?.message)}"`);
          record(id, problems.length === 0 ? undefined : `shows that it throws ${check.name}${check.code ? ` (${check.code})` : ""}${check.message ? `: '${check.message}'` : ""}, but it threw ${problems.join(", ")}: ${String(err?.message)}`);
          return;
        }
        record(id, `shows that it throws ${check.name}, but it did not throw`);
      },
    };
    const t0 = performance.now();
    try {
      process.chdir(block.dir);
      await import(pathToFileURL(block.file).href);
      // Let callbacks the block scheduled run (releases, late rejections) before its result is taken.
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
    } catch (e) {
      result.error = errorText(e, block.file, block.firstLine);
    }
    result.ms = Math.round(performance.now() - t0);
    appendFileSync(spec.results, `${JSON.stringify(result)}\n`);
  }
  current = undefined;
  process.exit(0);
}

/** The package's subpaths (package.json's exports, "./package.json" aside): "offspect", "map", ... */
function subpaths(): string[] {
  return Object.keys(packageExports())
    .filter((k) => k.startsWith("./") && k !== "./package.json")
    .map((k) => k.slice(2));
}

function packageExports(): Record<string, { default?: string } | string> {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { exports: Record<string, { default?: string } | string> };
  return pkg.exports;
}

/** Where subpath `sub` lives, relative to src/ (its .ts source) or dist/ (its .d.ts), as package.json's exports say. */
function subpathModule(sub: string, tree: "src" | "dist"): string {
  const target = packageExports()[`./${sub}`];
  const file = typeof target === "string" ? target : target?.default;
  if (!file) throw new Error(`package.json exports no "./${sub}"`);
  const rel = file.replace(/^\.\/dist\//, "");
  return tree === "src" ? rel.replace(/\.js$/, ".ts") : rel.replace(/\.js$/, ".d.ts");
}

/**
 * Type-checks each file as a program of its own (strict, as a consumer
 * compiles it), with "offspect-cachefile" resolved to `declarations` (the
 * built index.d.ts). One program per block, because TypeScript 5.9 types a
 * `for await` over a CacheFile by its sync iterator once any sync iteration
 * of it was checked earlier in the same program. Returns the errors by
 * file: [line in the file, message].
 */
export function typecheckFiles(files: string[], declarations: string, typeRoots: string): Record<string, [number, string][]> {
  const t = ts();
  const options: TS.CompilerOptions = {
    target: t.ScriptTarget.ES2022,
    lib: ["lib.es2022.d.ts", "lib.esnext.disposable.d.ts"],
    module: t.ModuleKind.NodeNext,
    moduleResolution: t.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ["node"],
    typeRoots: [typeRoots],
    paths: {
      "offspect-cachefile": [declarations],
      ...Object.fromEntries(subpaths().map((sub) => [`offspect-cachefile/${sub}`, [join(dirname(declarations), subpathModule(sub, "dist"))]])),
    },
  };
  const host = t.createCompilerHost(options);
  const out: Record<string, [number, string][]> = {};
  let previous: TS.Program | undefined;
  for (const file of files) {
    const program = t.createProgram([file], options, host, previous);
    const sf = program.getSourceFile(file)!;
    out[file] = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)].map((d) => [
      sf.getLineAndCharacterOfPosition(d.start ?? 0).line + 1,
      t.flattenDiagnosticMessageText(d.messageText, " "),
    ]);
    previous = program;
  }
  return out;
}

// ---------------------------------------------------------------- sh blocks

/** A command of a sh block and the output it shows. */
export interface ShCommand {
  /** Markdown line of its first line, relative to the block (0-based). */
  offset: number;
  command: string;
  /** The shown output lines; undefined when none are shown. */
  output?: string[];
  exit: number;
}

/** The commands of a sh block with their shown outputs. */
export function parseSh(code: string): { commands: ShCommand[]; problems: { offset: number; message: string }[] } {
  const lines = code.split("\n");
  const commands: ShCommand[] = [];
  const problems: { offset: number; message: string }[] = [];
  let last: ShCommand | undefined;
  let afterBlank = false;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    if (text.trim() === "") {
      afterBlank = true;
      continue;
    }
    if (text === "#" || text.startsWith("# ")) {
      if (!last) continue; // a comment before the first command
      if (afterBlank) {
        problems.push({ offset: i, message: "a shown output line (# ...) must follow its command or its other output lines, without a blank line" });
        continue;
      }
      const shown = text === "#" ? "" : text.slice(2);
      const exit = /^\[exit (\d+)\]$/.exec(shown.trim());
      if (exit) last.exit = Number(exit[1]);
      else (last.output ??= []).push(shown);
      continue;
    }
    afterBlank = false;
    let command = text;
    const start = i;
    while (/\\\s*$/.test(lines[i]!) && i + 1 < lines.length) command += `\n${lines[++i]!}`;
    last = { offset: start, command, exit: 0 };
    commands.push(last);
  }
  return { commands, problems };
}

function lineRegex(shown: string): RegExp {
  return new RegExp(`^${shown.split("...").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "s");
}

/** Whether the output lines are what the shown lines say (`...` lines and `...` in lines as wildcards). */
export function matchesShown(shown: string[], actual: string[]): boolean {
  const want = shown.map((l) => l.trimEnd());
  const got = actual.map((l) => l.trimEnd());
  const memo = new Map<string, boolean>();
  const match = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let ok: boolean;
    if (i === want.length) ok = j === got.length;
    else if (want[i] === "...") ok = match(i + 1, j) || (j < got.length && match(i, j + 1));
    else ok = j < got.length && lineRegex(want[i]!).test(got[j]!) && match(i + 1, j + 1);
    memo.set(key, ok);
    return ok;
  };
  return match(0, 0);
}

// ---------------------------------------------------------------- the parent's side

/** Where things are, and how to run them. */
export interface RunOptions {
  /** The Markdown file's name in messages ("README.md"). */
  name: string;
  /** The repository's root. */
  root: string;
  /** The built package (`dist/`): `cachefile` runs its cli/main.js, ts blocks are type-checked against its index.d.ts. */
  dist: string;
  /** Type-check the ts blocks (default true). */
  typecheck?: boolean;
  /** A scratch directory (created by the caller, removed by it). */
  tmp: string;
  /** Child processes at a time. */
  concurrency?: number;
  /** CPU seconds per child process (a hang spins through them, or stops using CPU: see helpers/spawn.ts); never wall time. */
  cpuLimitS?: number;
}

/** The outcome of one block. */
export interface BlockOutcome {
  plan: Plan;
  /** One line per failure, each naming a line of the Markdown file. */
  failures: string[];
  /** Checked values (ts) or commands (sh). */
  checks: number;
  ms: number;
}

interface Job {
  label: string;
  /** A rough cost, in seconds, to start the longest jobs first. */
  cost: number;
  run: () => Promise<void>;
}

/**
 * A copy of the built package (dist/, package.json, binding.gyp; the addon,
 * assets and node_modules linked), so that a rebuild of dist/ by another
 * test file while these blocks run cannot hand them half-written files.
 * Returns the copy's dist/.
 */
function packageCopy(options: RunOptions): string {
  const pkg = join(options.tmp, "package");
  mkdirSync(pkg, { recursive: true });
  if (existsSync(options.dist)) cpSync(options.dist, join(pkg, "dist"), { recursive: true });
  for (const file of ["package.json", "binding.gyp"]) copyFileSync(join(options.root, file), join(pkg, file));
  for (const dir of ["assets", "build", "node_modules"]) symlinkSync(join(options.root, dir), join(pkg, dir));
  return join(pkg, "dist");
}

/** A fresh working directory for a block, with a copy of test/fixtures. */
function workDir(options: RunOptions, name: string): string {
  const dir = join(options.tmp, name);
  mkdirSync(join(dir, "test"), { recursive: true });
  cpSync(join(options.root, "test", "fixtures"), join(dir, "test", "fixtures"), { recursive: true });
  return dir;
}

function tail(text: string, lines = 12): string {
  const all = text.trimEnd().split("\n");
  return all.slice(-lines).join("\n");
}

async function pool(all: Job[], concurrency: number): Promise<void> {
  const jobs = [...all].sort((a, b) => b.cost - a.cost);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]!.run();
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
}

/**
 * Runs every block of `markdown` that runs (see {@link planBlocks}) and
 * returns each block's outcome: ts blocks grouped into one child program
 * per top-level section, sh blocks one bash each, `concurrency` at a time.
 */
export async function runMarkdown(markdown: string, options: RunOptions): Promise<BlockOutcome[]> {
  const { name } = options;
  const cpuLimitS = options.cpuLimitS ?? 240;
  const plans = planBlocks(extractBlocks(markdown));
  const outcomes = plans.map((plan): BlockOutcome => ({ plan, failures: [], checks: 0, ms: 0 }));
  const jobs: Job[] = [];
  const dist = packageCopy(options);
  const tsx = pathToFileURL(join(options.root, "node_modules", "tsx", "dist", "loader.mjs")).href;
  const entry = join(options.root, "src", "index.ts");
  const here = pathToFileURL(join(options.root, "test", "helpers", "readme.ts")).href;

  for (const o of outcomes) {
    if (o.plan.kind === "unmarked") o.failures.push(`${name}:${o.plan.block.line}: ${o.plan.reason}, without <!-- not run: REASON --> before it`);
  }

  // ts blocks: one child program per top-level section.
  const groups = new Map<string, BlockOutcome[]>();
  for (const o of outcomes) {
    if (o.plan.kind !== "ts") continue;
    const list = groups.get(o.plan.block.chapter) ?? [];
    list.push(o);
    groups.set(o.plan.block.chapter, list);
  }
  let groupNo = 0;
  for (const [chapter, members] of groups) {
    const g = groupNo++;
    jobs.push({
      label: chapter,
      cost: 0.8 + members.length * 0.2,
      run: async () => {
        const spec: GroupSpec = { results: join(options.tmp, `group-${g}.jsonl`), blocks: [] };
        const byId = new Map<number, BlockOutcome>();
        for (const o of members) {
          const b = o.plan.block;
          const inst = instrumentTs(b.code, b.line + 1, entry);
          o.checks = inst.checks.length;
          for (const p of inst.problems) o.failures.push(`${name}:${p.line}: ${p.message}`);
          if (inst.problems.length > 0) continue;
          const dir = workDir(options, `ts-${b.line}`);
          const file = join(options.tmp, `block-${b.line}.mts`);
          writeFileSync(file, inst.code);
          spec.blocks.push({ id: b.line, file, dir, firstLine: b.line + 1, checks: inst.checks });
          byId.set(b.line, o);
        }
        if (spec.blocks.length === 0) return;
        writeFileSync(spec.results, "");
        const program = join(options.tmp, `group-${g}.mts`);
        writeFileSync(program, `import { runGroup } from ${JSON.stringify(here)};\nawait runGroup(${JSON.stringify(spec)});\n`);
        const t0 = performance.now();
        const r = await spawnCollect(process.execPath, ["--enable-source-maps", "--import", tsx, program], { cwd: options.tmp, env: { ...process.env, NODE_NO_WARNINGS: "1" }, cpuLimitS });
        const results = readFileSync(spec.results, "utf8")
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => JSON.parse(l) as ChildResult);
        for (const res of results) {
          const o = byId.get(res.id)!;
          o.ms = res.ms;
          const blockSpec = spec.blocks.find((b) => b.id === res.id)!;
          if (res.error) o.failures.push(`${name}:${res.id}: the block failed: ${res.error}`);
          res.checks.forEach((c, k) => {
            const check = blockSpec.checks[k]!;
            for (const f of c.failures) o.failures.push(`${name}:${check.line}: ${f}`);
            if (c.count === 0 && !res.error) o.failures.push(`${name}:${check.line}: this check never ran`);
          });
        }
        const done = new Set(results.map((r) => r.id));
        for (const b of spec.blocks) {
          if (done.has(b.id)) continue;
          const why = r.timedOut ? `hung (${r.hung === "cpu" ? `used more than ${cpuLimitS} s of CPU` : "stopped using CPU"})` : `ended its program (exit status ${String(r.status)})`;
          byId.get(b.id)!.failures.push(`${name}:${b.id}: the block ${why}:\n${tail(r.stderr || r.stdout)}`);
          byId.get(b.id)!.ms = Math.round(performance.now() - t0);
          break; // the blocks after it did not run: reported once, on the one that stopped the program
        }
      },
    });
  }

  // ts blocks, type-checked (as written) against the built declarations, in a child program of their own.
  const typed = outcomes.filter((o) => o.plan.kind === "ts");
  if ((options.typecheck ?? true) && typed.length > 0) {
    jobs.push({
      label: "type check",
      cost: 0.8 * typed.length,
      run: async () => {
        const declarations = join(dist, "index.d.ts");
        const files = typed.map((o) => {
          const file = join(options.tmp, `typecheck-${o.plan.block.line}.mts`);
          writeFileSync(file, `${o.plan.block.code}\nexport {};\n`);
          return file;
        });
        const results = join(options.tmp, "typecheck.json");
        const program = join(options.tmp, "typecheck.mts");
        writeFileSync(
          program,
          `import { writeFileSync } from "node:fs";\nimport { typecheckFiles } from ${JSON.stringify(here)};\n` +
            `writeFileSync(${JSON.stringify(results)}, JSON.stringify(typecheckFiles(${JSON.stringify(files)}, ${JSON.stringify(declarations)}, ${JSON.stringify(join(options.root, "node_modules", "@types"))})));\n`,
        );
        const r = await spawnCollect(process.execPath, ["--import", tsx, program], { cwd: options.tmp, env: { ...process.env, NODE_NO_WARNINGS: "1" }, cpuLimitS });
        let errors: Record<string, [number, string][]>;
        try {
          errors = JSON.parse(readFileSync(results, "utf8")) as Record<string, [number, string][]>;
        } catch {
          for (const o of typed) o.failures.push(`${name}:${o.plan.block.line}: the type check did not finish (exit status ${String(r.status)}): ${tail(r.stderr || r.stdout)}`);
          return;
        }
        typed.forEach((o, k) => {
          for (const [line, message] of errors[files[k]!] ?? []) o.failures.push(`${name}:${o.plan.block.line + line}: does not type-check against ${declarations}: ${message}`);
        });
      },
    });
  }

  // sh blocks: one bash each, `cachefile` on the PATH.
  const bin = join(options.tmp, "bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, "cachefile"), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(dist, "cli", "main.js"))} "$@"\n`);
  chmodSync(join(bin, "cachefile"), 0o755);
  for (const o of outcomes) {
    if (o.plan.kind !== "sh") continue;
    const b = o.plan.block;
    jobs.push({
      label: `${name}:${b.line}`,
      cost: 0.6 * parseSh(b.code).commands.length,
      run: async () => {
        const { commands, problems } = parseSh(b.code);
        for (const p of problems) o.failures.push(`${name}:${b.line + 1 + p.offset}: ${p.message}`);
        o.checks = commands.length;
        if (problems.length > 0) return;
        const dir = workDir(options, `sh-${b.line}`);
        const script = ["set -o pipefail"];
        commands.forEach((c, k) => {
          script.push(`printf '\\036B ${k}\\036\\n'`, `{ ${c.command}\n} </dev/null 2>&1`, `printf '\\n\\036E ${k} %d\\036\\n' "$?"`);
        });
        const file = join(options.tmp, `block-${b.line}.sh`);
        writeFileSync(file, `${script.join("\n")}\n`);
        const t0 = performance.now();
        const r = await spawnCollect("bash", [file], { cwd: dir, env: { ...process.env, PATH: `${bin}:${process.env["PATH"] ?? ""}`, NO_COLOR: "1", FORCE_COLOR: "0", COLUMNS: "80" }, cpuLimitS });
        o.ms = Math.round(performance.now() - t0);
        const ran = new Map<number, { output: string; status: number }>();
        for (const m of r.stdout.matchAll(/\x1eB (\d+)\x1e\n([\s\S]*?)\n\x1eE \1 (\d+)\x1e/g)) {
          ran.set(Number(m[1]), { output: m[2]!.replace(/\n$/, ""), status: Number(m[3]) });
        }
        commands.forEach((c, k) => {
          const line = b.line + 1 + c.offset;
          const got = ran.get(k);
          if (!got) {
            o.failures.push(`${name}:${line}: \`${c.command}\` did not run${r.timedOut ? ` (the block hung: ${r.hung === "cpu" ? `it used more than ${cpuLimitS} s of CPU` : "it stopped using CPU"})` : ""}: ${tail(r.stderr)}`);
            return;
          }
          const lines = got.output === "" ? [] : got.output.split("\n");
          if (got.status !== c.exit) {
            o.failures.push(`${name}:${line}: \`${c.command}\` exited with ${got.status}, ${c.exit === 0 ? "expected 0" : `README shows [exit ${c.exit}]`}; its output:\n${tail(got.output, 20)}`);
          }
          if (c.output && !matchesShown(c.output, lines)) {
            o.failures.push(`${name}:${line}: \`${c.command}\` printed\n${lines.map((l) => `  | ${l}`).join("\n")}\nbut README shows\n${c.output.map((l) => `  # ${l}`).join("\n")}`);
          }
        });
      },
    });
  }

  await pool(jobs, options.concurrency ?? 2);
  return outcomes;
}

// ---------------------------------------------------------------- links

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/**
 * Links of `markdown` (outside code) that lead nowhere: `(#anchor)` without a
 * heading of that anchor, `(path)` to a file that `root` does not have.
 * Returns one message per broken link, with its line.
 */
export function brokenLinks(markdown: string, name: string, exists: (path: string) => boolean): string[] {
  const lines = markdown.split("\n");
  const anchors = new Set<string>();
  const links: { line: number; target: string }[] = [];
  let fence: string | undefined;
  lines.forEach((text, i) => {
    const f = /^\s*(`{3,}|~{3,})/.exec(text);
    if (f) {
      if (fence === undefined) fence = f[1];
      else if (text.trimStart().startsWith(fence)) fence = undefined;
      return;
    }
    if (fence !== undefined) return;
    const heading = /^#{1,6}\s+(.*)$/.exec(text);
    if (heading) anchors.add(headingAnchor(heading[1]!));
    const prose = text.replace(/`[^`]*`/g, "");
    for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) links.push({ line: i + 1, target: m[1]! });
  });
  const broken: string[] = [];
  for (const { line, target } of links) {
    if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
    if (target.startsWith("#")) {
      if (!anchors.has(target.slice(1))) broken.push(`${name}:${line}: no heading has the anchor ${target}`);
    } else if (!exists(target.split("#")[0]!)) {
      broken.push(`${name}:${line}: ${target} does not exist`);
    }
  }
  return broken;
}
