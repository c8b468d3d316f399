/**
 * Valid CacheFiles in every storage variant HDF5 and h5py allow (chunked,
 * compressed, other types, fixed-length strings, dense attributes, creation
 * order, hard links, edited, repacked, large), each compared with h5py's and
 * offspect's answers: every read, an edit and a merge.
 *
 * test/variants/make_variants.py writes the variants and the answers once
 * into os.tmpdir()/ocf-variants-<sha256 of the generator, its views and
 * offspect_reference.py>, reused while complete (DONE). Each test works on a
 * copy in its own temporary directory and checks that the files it was given
 * stay byte-identical. A failure lists every difference found, each as
 * "where: expected X, got Y".
 */
import { sessionOf } from "../src/cachefile/cachefile.js";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { beforeAll, describe, it } from "vitest";
import { CacheFile, merge, recoverAnnotations } from "../src/offspect.js";
import { CacheFileError } from "../src/index.js";
import { dataSha256, FIXTURES, fileSha256, PYTHON, ROOT, tempDir } from "./helpers/fixtures.js";
import { CACHE, generateVariants, listVariants } from "./variants/generate.js";

const VARIANTS_DIR = join(ROOT, "test", "variants");
const VIEWS = join(VARIANTS_DIR, "views.py");

// ----------------------------------------------------------------------------- what the generator writes

interface Listed {
  name: string;
  description: string;
  merge_with: string[] | null;
}

interface ManifestEntry extends Listed {
  traces: number;
  sample: boolean;
  edit: number[];
}

interface OffspectTrace {
  index: number;
  path: string;
  attrs: Record<string, string | null>;
  shape: number[];
  sha256_f64le: string;
  head: (number | null)[];
}

interface RecoveredOrigin {
  origin: string;
  attrs: Record<string, unknown>;
  traces?: Record<string, unknown>[];
  traces_count?: number;
  traces_sample?: [number, Record<string, unknown>][];
}

interface OffspectAnswers {
  file: string;
  len: number;
  origins: string[];
  str: string;
  sample: number[] | null;
  traces: OffspectTrace[];
  recover_annotations: RecoveredOrigin[];
}

interface H5Type {
  class: string;
  vlen?: boolean;
  cset?: string;
  size?: number | null;
  strpad?: string;
}

type H5Attr = [string, unknown, H5Type];

interface H5Object {
  kind: "group" | "dataset";
  members?: string[];
  attrs: H5Attr[];
  addr: number;
  dtype?: string;
  shape?: number[];
  chunks?: number[] | null;
  compression?: string | null;
  shuffle?: boolean;
  fletcher32?: boolean;
  data_sha256_f64le?: string;
  head?: (number | null)[];
}

interface H5View {
  objects: Record<string, H5Object>;
  digests?: Record<string, string>;
}

interface DumpEntry {
  attrs: Record<string, [string, string]>;
  dtype?: string;
  shape?: number[];
  chunks?: number[] | null;
  data?: unknown;
}

interface MergeReport {
  dump: Record<string, DumpEntry>;
  order: Record<string, { attrs: string[]; members?: string[] }>;
}

interface MergeAnswer {
  sources: string[];
  error: string | null;
  report: MergeReport | null;
}

/** The variants (names, descriptions, second merge sources), known before generation so that each gets a describe. */
const LISTED = listVariants() as Listed[];

let manifest: Map<string, ManifestEntry>;

beforeAll(() => {
  generateVariants();
  const m = JSON.parse(readFileSync(join(CACHE, "manifest.json"), "utf8")) as { variants: ManifestEntry[] };
  manifest = new Map(m.variants.map((v) => [v.name, v]));
});

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(join(CACHE, file), "utf8")) as T;
}

function variantFile(name: string): string {
  return join(CACHE, `${name}.hdf5`);
}

/** The file of a second merge source: "variant:NAME" (generated) or "fixture:NAME" (test/fixtures/offspect). */
function sourceFile(source: string): string {
  const [kind, name] = [source.slice(0, source.indexOf(":")), source.slice(source.indexOf(":") + 1)];
  if (kind === "variant") return join(CACHE, name);
  if (kind === "fixture") return join(FIXTURES, name);
  throw new Error(`expected variant:NAME or fixture:NAME as a merge source, got ${source}`);
}

function runViews<T>(cmd: "view" | "merge-report", file: string, sample: boolean): T {
  const out = execFileSync(PYTHON, [VIEWS, cmd, file, ...(sample ? ["--sample"] : [])], {
    encoding: "utf8",
    maxBuffer: 1024 * 1024 * 1024,
  });
  return JSON.parse(out) as T;
}

// ----------------------------------------------------------------------------- differences

function show(v: unknown): string {
  if (v === undefined) return "(absent)";
  const text = typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v, (_k, x) => (typeof x === "number" && !Number.isFinite(x) ? String(x) : x));
  if (text === undefined) return String(v);
  return text.length > 200 ? `${text.slice(0, 120)}…(${text.length} chars)…${text.slice(-60)}` : text;
}

/** Where two texts first differ, with some context. */
function textDiff(expected: string, got: string): string {
  let i = 0;
  while (i < expected.length && i < got.length && expected[i] === got[i]) i++;
  const line = expected.slice(0, i).split("\n").length;
  const ctx = (s: string) => show(s.slice(Math.max(0, i - 30), i + 50));
  return `first difference at character ${i} (line ${line}; lengths ${expected.length} and ${got.length}): expected …${ctx(expected)}…, got …${ctx(got)}…`;
}

/** Structural equality of JSON-like values (NaN equals NaN, -0 equals 0). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === "number" && typeof b === "number") return Number.isNaN(a) && Number.isNaN(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return false;
}

class Diffs {
  readonly lines: string[] = [];
  constructor(readonly title: string) {}

  add(line: string): void {
    this.lines.push(line);
  }

  /** Records a difference unless `got` equals `expected`. */
  check(where: string, expected: unknown, got: unknown): boolean {
    if (same(expected, got)) return true;
    if (typeof expected === "string" && typeof got === "string" && (expected.length > 80 || got.length > 80)) {
      this.add(`${where}: ${textDiff(expected, got)}`);
    } else if (Array.isArray(expected) && Array.isArray(got) && expected.length === got.length && expected.length > 8) {
      const i = expected.findIndex((x, k) => !same(x, got[k]));
      this.add(`${where}: first difference at index ${i} of ${expected.length}: expected ${show(expected[i])}, got ${show(got[i])}`);
    } else {
      this.add(`${where}: expected ${show(expected)}, got ${show(got)}`);
    }
    return false;
  }

  /** Runs fn, recording what it threw. */
  attempt<T>(where: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      this.add(`${where}: threw ${describeError(e)}`);
      return undefined;
    }
  }

  /** Awaits fn, recording what it threw, or that it did not settle within STALL_MS. */
  async attemptAsync<T>(where: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await withDeadline(fn(), `${where}: did not settle within ${STALL_MS / 1000} s`);
    } catch (e) {
      this.add(e instanceof StallError ? e.message : `${where}: threw ${describeError(e)}`);
      return undefined;
    }
  }

  /** Fails the test with every difference (the first 40 spelled out). */
  assertNone(): void {
    if (this.lines.length === 0) return;
    const shown = this.lines.slice(0, 40).map((l) => `  - ${l}`);
    if (this.lines.length > 40) shown.push(`  … and ${this.lines.length - 40} more`);
    throw new Error(`${this.title}: ${this.lines.length} difference(s)\n${shown.join("\n")}`);
  }
}

/** How long one asynchronous call may take before the test records it as stalled (rather than hitting the test timeout). */
const STALL_MS = 60_000;

class StallError extends Error {}

function withDeadline<T>(promise: Promise<T>, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stall = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StallError(message)), STALL_MS);
  });
  return Promise.race([promise, stall]).finally(() => clearTimeout(timer));
}

function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return `${e.name}${code === undefined ? "" : ` (${String(code)})`}: ${e.message.split("\n")[0]}`;
  }
  return String(e);
}

/** Keys present in one record only, and keys whose values differ. */
function compareRecords(d: Diffs, where: string, expected: Record<string, unknown>, got: Record<string, unknown>): void {
  const missing = Object.keys(expected).filter((k) => !Object.hasOwn(got, k));
  const extra = Object.keys(got).filter((k) => !Object.hasOwn(expected, k));
  if (missing.length > 0) d.add(`${where}: keys missing: ${show(missing)}`);
  if (extra.length > 0) d.add(`${where}: keys not expected: ${show(extra)}`);
  for (const k of Object.keys(expected)) {
    if (Object.hasOwn(got, k)) d.check(`${where} key ${JSON.stringify(k)}`, expected[k], got[k]);
  }
}

function compareOrder(d: Diffs, where: string, expected: string[], got: string[]): void {
  if (same(expected, got)) return;
  let i = 0;
  while (i < expected.length && i < got.length && expected[i] === got[i]) i++;
  d.add(
    `${where}: order differs from position ${i}: expected ${show(expected.slice(i, i + 6))}…, got ${show(got.slice(i, i + 6))}… (lengths ${expected.length} and ${got.length})`,
  );
}

// ----------------------------------------------------------------------------- per-test helpers

/** A temporary directory with copies of the given files; checks at the end that the originals did not change. */
async function withCopies(d: Diffs, files: string[], fn: (copies: string[], dir: string) => void | Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir("ocf-variant-");
  try {
    const originals = files.map((f) => [f, fileSha256(f)] as const);
    const copies = files.map((f, i) => {
      const target = join(dir, i === 0 ? basename(f) : `source${i}_${basename(f)}`);
      copyFileSync(f, target);
      return target;
    });
    await fn(copies, dir);
    for (const [f, hash] of originals) d.check(`${f} (a source) changed`, hash, fileSha256(f));
  } finally {
    cleanup();
  }
}

/** The library's shape of offspect's data shape: 1-D data (n,) is [n, 1] here. */
function libraryShape(shape: number[]): number[] {
  return shape.length === 1 ? [shape[0]!, 1] : shape;
}

function compareTrace(
  d: Diffs,
  t: OffspectTrace,
  file: string,
  attrs: Record<string, string> | undefined,
  data: { shape: readonly number[]; data: Float64Array } | undefined,
  via: string,
): void {
  const where = `trace ${t.index} (${t.path}) ${via}`;
  if (attrs) {
    const expected = { ...t.attrs, cache_file: file };
    compareRecords(d, `${where} attrs`, expected, attrs);
    compareOrder(d, `${where} attribute order`, Object.keys(expected), Object.keys(attrs));
  }
  if (data) {
    d.check(`${where} data shape (offspect ${show(t.shape)})`, libraryShape(t.shape), [...data.shape]);
    d.check(`${where} data sha256 of float64 LE (head ${show(t.head)}, got ${show(Array.from(data.data.slice(0, 4)))})`, t.sha256_f64le, dataSha256(data.data));
  }
}

function comparePeek(d: Diffs, expected: string, got: string | undefined): void {
  if (got === undefined || got === expected) return;
  const e = expected.split("\n");
  const g = got.split("\n");
  let i = 0;
  while (i < e.length && i < g.length && e[i] === g[i]) i++;
  d.add(`toString() (offspect's peek) line ${i + 1}: expected ${show(e[i])}, got ${show(g[i])} (${e.length} and ${g.length} lines)`);
}

/** recoverAnnotations' values in the JSON conventions of offspect's answers (NaN as {"float": "nan"}, ...). */
function jsonable(v: unknown): unknown {
  if (typeof v === "number") {
    if (Number.isNaN(v)) return { float: "nan" };
    if (v === Infinity) return { float: "inf" };
    if (v === -Infinity) return { float: "-inf" };
    return v;
  }
  if (Array.isArray(v)) return v.map(jsonable);
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString("utf8") };
  if (v instanceof Date) return { repr: v.toISOString(), type: "datetime" };
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: jsonable(x), enumerable: true });
    return out;
  }
  return v;
}

function openCacheFile(d: Diffs, file: string): CacheFile | undefined {
  return d.attempt("new CacheFile(copy)", () => new CacheFile(file));
}

/** The h5py view's attributes as a map name -> [value, type]. */
function attrMap(attrs: H5Attr[]): Map<string, H5Attr> {
  return new Map(attrs.map((a) => [a[0], a]));
}

/** Per test: the variant of 65,600 traces takes about 30 s for h5py to read back after an edit. */
const TIMEOUT = 300_000;

const EDIT = { comment: "edited ✓", reject: "True" } as const;

/** Compares h5py's view after an edit with the view before it: edited traces carry EDIT, nothing else changed. */
function compareEdited(d: Diffs, before: H5View, after: H5View, edited: Set<string>): void {
  const pathsBefore = Object.keys(before.digests ?? before.objects);
  const pathsAfter = Object.keys(after.digests ?? after.objects);
  compareOrder(d, "h5py's paths", pathsBefore, pathsAfter);
  for (const [path, b] of Object.entries(before.objects)) {
    const a = after.objects[path];
    if (!a) {
      d.add(`${path}: gone after the edit`);
      continue;
    }
    const where = `${path}${edited.has(path) ? " (edited)" : ""}`;
    d.check(`${where} kind`, b.kind, a.kind);
    if (b.kind === "group") compareOrder(d, `${where} members`, b.members ?? [], a.members ?? []);
    for (const key of ["dtype", "shape", "chunks", "compression", "shuffle", "fletcher32", "data_sha256_f64le", "head"] as const) {
      if (key in b) d.check(`${where} ${key}`, b[key], a[key]);
    }
    const keep = (list: H5Attr[]) => (edited.has(path) ? list.filter(([k]) => !Object.hasOwn(EDIT, k)) : list);
    const kb = keep(b.attrs);
    const ka = keep(a.attrs);
    compareOrder(d, `${where} attribute order (edited keys left out)`, kb.map((x) => x[0]), ka.map((x) => x[0]));
    const am = attrMap(ka);
    for (const [name, value, type] of kb) {
      const got = am.get(name);
      if (!got) continue; // reported by the order
      d.check(`${where} attr ${JSON.stringify(name)} value`, value, got[1]);
      d.check(`${where} attr ${JSON.stringify(name)} type`, type, got[2]);
    }
    if (edited.has(path)) {
      const all = attrMap(a.attrs);
      for (const [k, v] of Object.entries(EDIT)) {
        const got = all.get(k);
        d.check(`${where} attr ${JSON.stringify(k)} as h5py reads it back`, v, got?.[1]);
        if (got && got[2].class !== "string") d.add(`${where} attr ${JSON.stringify(k)}: expected a string type, got ${show(got[2])}`);
      }
    }
  }
  if (before.digests && after.digests) {
    let changed = 0;
    for (const [path, digest] of Object.entries(before.digests)) {
      if (edited.has(path) || after.digests[path] === undefined || after.digests[path] === digest) continue;
      if (changed++ < 10) d.add(`${path}: changed by the edit (h5py's view of it has another sha256)`);
    }
    if (changed > 10) d.add(`… ${changed} objects changed in all`);
  }
}

/** Compares our merge's report with offspect's: dump (values, types, dtype, shape, layout, data) and h5py's order. */
function compareMerge(d: Diffs, expected: MergeReport, got: MergeReport): void {
  compareOrder(d, "merged file's paths (h5py's visiting order)", Object.keys(expected.dump), Object.keys(got.dump));
  for (const [path, e] of Object.entries(expected.dump)) {
    const g = got.dump[path];
    if (!g) {
      d.add(`${path}: missing in the merged file`);
      continue;
    }
    compareRecords(d, `${path} attrs [value, type]`, e.attrs, g.attrs);
    for (const key of ["dtype", "shape", "chunks", "data"] as const) {
      if (key in e || key in g) d.check(`${path} ${key}`, e[key], g[key]);
    }
    const eo = expected.order[path];
    const go = got.order[path];
    if (eo && go) {
      compareOrder(d, `${path} h5py's attribute order`, eo.attrs, go.attrs);
      if (eo.members) compareOrder(d, `${path} h5py's member order`, eo.members, go.members ?? []);
    }
  }
}

/** Codes that say a file is damaged or unreadable: never the right answer for a valid variant. */
const DAMAGE_CODES = ["ECORRUPT", "ETRUNCATED", "ENOTHDF5", "EHDF5"];

async function mergeTest(title: string, v: ManifestEntry, answer: MergeAnswer, files: string[]): Promise<void> {
  const d = new Diffs(title);
  await withCopies(d, files, (copies, dir) => {
    const hashes = copies.map(fileSha256);
    const target = join(dir, "merged.hdf5");
    let threw: unknown;
    try {
      merge(target, copies);
    } catch (e) {
      threw = e;
    }
    if (answer.error !== null) {
      // offspect's merge fails on this valid file: expect a refusal that names the problem, not a claim of damage.
      const expected = `offspect's merge fails (${answer.error}); expected merge to refuse with a CacheFileError that is not ${DAMAGE_CODES.join("/")} (the file is valid)`;
      if (threw === undefined) d.add(`${expected}, got a merged file`);
      else if (!(threw instanceof CacheFileError) || DAMAGE_CODES.includes(threw.code)) d.add(`${expected}, got ${describeError(threw)}`);
      d.check("target after a refused merge exists", false, existsSync(target));
    } else if (threw !== undefined) {
      d.add(`merge threw ${describeError(threw)}`);
    } else {
      const ours = d.attempt("h5py reading the merged file", () => runViews<MergeReport>("merge-report", target, v.sample));
      if (ours) compareMerge(d, answer.report!, ours);
    }
    copies.forEach((c, i) => d.check(`source ${basename(c)} changed by merge (sha256)`, hashes[i], fileSha256(c)));
  });
  d.assertNone();
}

// ----------------------------------------------------------------------------- the tests

for (const listed of LISTED) {
  const name = listed.name;
  describe(`${name}: ${listed.description}`, () => {
    const v = () => manifest.get(name)!;

    it("read: length, origins, toString(), every trace's getTraceAttrs and getTraceData (in order, iterated, in reverse) equal offspect's", async () => {
      const want = readJson<OffspectAnswers>(`${name}.offspect.json`);
      const d = new Diffs(`${name} read${want.sample ? ` (sample of ${want.traces.length} traces)` : ""}`);
      await withCopies(d, [variantFile(name)], ([copy]) => {
        const before = fileSha256(copy!);
        const cf = openCacheFile(d, copy!);
        if (cf) {
          try {
            d.attempt("length", () => d.check("length", want.len, cf.length));
            d.attempt("origins", () => d.check("origins", want.origins, cf.origins));
            comparePeek(d, want.str, d.attempt("toString()", () => cf.toString()));
            for (const t of want.traces) {
              const attrs = d.attempt(`trace ${t.index} getTraceAttrs`, () => cf.getTraceAttrs(t.index));
              const data = d.attempt(`trace ${t.index} getTraceData`, () => cf.getTraceData(t.index));
              compareTrace(d, t, copy!, attrs, data, "getTraceAttrs/getTraceData in order");
            }
            const byIndex = new Map(want.traces.map((t) => [t.index, t]));
            let i = 0;
            try {
              for (const [data, attrs] of cf) {
                const t = byIndex.get(i);
                if (t) compareTrace(d, t, copy!, attrs, data, "for (const t of cf)");
                i++;
              }
            } catch (e) {
              d.add(`for (const t of cf) threw at trace ${i}: ${describeError(e)}`);
            }
            d.check("number of traces from for (const t of cf)", want.len, i);
          } finally {
            cf.close();
          }
        }
        // In reverse order, on a fresh CacheFile: single reads, not a pass in order.
        const fresh = openCacheFile(d, copy!);
        if (fresh) {
          try {
            for (const t of [...want.traces].reverse()) {
              const attrs = d.attempt(`trace ${t.index} getTraceAttrs (reverse order)`, () => fresh.getTraceAttrs(t.index));
              const data = d.attempt(`trace ${t.index} getTraceData (reverse order)`, () => fresh.getTraceData(t.index));
              compareTrace(d, t, copy!, attrs, data, "getTraceAttrs/getTraceData in reverse order");
            }
          } finally {
            fresh.close();
          }
        }
        d.check("the copy read changed (sha256)", before, fileSha256(copy!));
      });
      d.assertNone();
    }, TIMEOUT);

    it("read (async): CacheFile.open, traces(), traceAttrs and traceData equal offspect's", async () => {
      const want = readJson<OffspectAnswers>(`${name}.offspect.json`);
      const d = new Diffs(`${name} async read`);
      await withCopies(d, [variantFile(name)], async ([copy]) => {
        const cf = await d.attemptAsync("await CacheFile.open(copy)", () => CacheFile.open(copy!));
        if (!cf) return;
        try {
          const byIndex = new Map(want.traces.map((t) => [t.index, t]));
          let i = 0;
          const traces = sessionOf(cf).tuplesAsync();
          try {
            for (;;) {
              const next = await withDeadline(traces.next(), `for await (const t of sessionOf(cf).tuplesAsync()): no trace for ${STALL_MS / 1000} s after ${i} traces`);
              if (next.done) break;
              const [data, attrs] = next.value;
              const t = byIndex.get(i);
              if (t) compareTrace(d, t, copy!, attrs, data, "traces()");
              i++;
            }
          } catch (e) {
            d.add(e instanceof StallError ? e.message : `for await (const t of sessionOf(cf).tuplesAsync()) threw at trace ${i}: ${describeError(e)}`);
            void traces.return(undefined).catch(() => undefined);
          }
          d.check("number of traces from traces()", want.len, i);
          for (const t of [want.traces[0], want.traces.at(-1)]) {
            if (!t) continue;
            const read = await d.attemptAsync(`trace ${t.index} trace()`, () => cf.trace(t.index));
            compareTrace(d, t, copy!, read?.text, read ? { data: read.data, shape: read.shape } : undefined, "trace()");
          }
        } finally {
          cf.close();
        }
      });
      d.assertNone();
    }, TIMEOUT);

    it("read: recoverAnnotations equals offspect's recover_annotations (values parsed)", async () => {
      const want = readJson<OffspectAnswers>(`${name}.offspect.json`);
      const d = new Diffs(`${name} recoverAnnotations`);
      await withCopies(d, [variantFile(name)], ([copy]) => {
        const cf = openCacheFile(d, copy!);
        if (!cf) return;
        try {
          const got = d.attempt("recoverAnnotations", () => recoverAnnotations(cf));
          if (!got) return;
          compareOrder(d, "origins of recoverAnnotations", want.recover_annotations.map((a) => a.origin), got.map((a) => a.origin));
          want.recover_annotations.forEach((w, o) => {
            const g = got[o];
            if (!g || g.origin !== w.origin) return;
            compareRecords(d, `origin ${w.origin} attrs`, w.attrs, jsonable(g.attrs) as Record<string, unknown>);
            const traces = g.traces.map((t) => jsonable(t) as Record<string, unknown>);
            const wanted = w.traces ? w.traces.map((t, p) => [p, t] as const) : (w.traces_sample ?? []);
            d.check(`origin ${w.origin} number of traces`, w.traces?.length ?? w.traces_count, traces.length);
            const ids = (list: readonly (readonly [number, Record<string, unknown>])[]) => list.map(([, t]) => JSON.stringify(t["id"]));
            compareOrder(d, `origin ${w.origin} order of traces (their ids; offspect: h5py's order)`, ids(wanted), ids(wanted.map(([p]) => [p, traces[p] ?? {}] as const)));
            for (const [p, t] of wanted) {
              if (traces[p]) compareRecords(d, `origin ${w.origin} trace at position ${p}`, t, traces[p]!);
            }
          });
        } finally {
          cf.close();
        }
      });
      d.assertNone();
    }, TIMEOUT);

    it(`edit: setTraceAttrs(i, {comment: "edited ✓", reject: "True"}) on two traces; h5py reads those values, everything else unchanged`, async () => {
      const m = v();
      const want = readJson<OffspectAnswers>(`${name}.offspect.json`);
      const before = readJson<H5View>(`${name}.h5py.json`);
      const d = new Diffs(`${name} edit of traces ${m.edit.join(", ")}`);
      await withCopies(d, [variantFile(name)], ([copy]) => {
        const cf = openCacheFile(d, copy!);
        if (!cf) return;
        const edited = new Set<string>();
        try {
          for (const i of m.edit) {
            const t = want.traces.find((x) => x.index === i);
            if (!t) throw new Error(`${name}: trace ${i} to edit is not among offspect's answers`);
            // Every path of the same object (hard links) shows the edit.
            const addr = before.objects[t.path]?.addr;
            for (const [p, o] of Object.entries(before.objects)) if (p === t.path || (addr !== undefined && o.addr === addr)) edited.add(p);
            const attrs = d.attempt(`trace ${i} getTraceAttrs`, () => cf.getTraceAttrs(i));
            if (!attrs) continue;
            d.attempt(`trace ${i} setTraceAttrs`, () => cf.setTraceAttrs(i, { ...attrs, ...EDIT }));
          }
          for (const i of m.edit) {
            const attrs = d.attempt(`trace ${i} getTraceAttrs after the edit`, () => cf.getTraceAttrs(i));
            if (attrs) for (const [k, val] of Object.entries(EDIT)) d.check(`trace ${i} ${k} read back by this library`, val, attrs[k]);
          }
        } finally {
          cf.close();
        }
        const after = d.attempt("h5py reading the edited copy", () => runViews<H5View>("view", copy!, m.sample));
        if (after) compareEdited(d, before, after, edited);
      });
      d.assertNone();
    }, TIMEOUT);

    it("merge: merge(target, [copy]) equals offspect's merge (dump: attributes, types, dtype, shape, data; h5py's order)", async () => {
      const m = v();
      const answer = readJson<MergeAnswer>(`${name}.merge.json`);
      await mergeTest(`${name} merge`, m, answer, [variantFile(name)]);
    }, TIMEOUT);

    if (listed.merge_with) {
      const others = listed.merge_with;
      it(`merge with ${others.join(", ")}: equals offspect's merge of the same sources`, async () => {
        const m = v();
        const answer = readJson<MergeAnswer>(`${name}.merge2.json`);
        await mergeTest(`${name} merge with ${others.join(", ")}`, m, answer, [variantFile(name), ...others.map(sourceFile)]);
      }, TIMEOUT);
    }
  });
}
