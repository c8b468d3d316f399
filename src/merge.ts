/**
 * offspect's `merge`: one or more CacheFiles into one, with the same result
 * as offspect (same origins, attribute names and values, data), but
 * streaming, atomic and fast.
 *
 * offspect reads every source completely, parses each attribute value,
 * and writes a new file with Python's `str()` of each value, the origin
 * attributes copied onto every trace and each dataset named by its trace's
 * id. Here the origin groups are copied whole and then only what offspect's
 * rewrite would change is changed: attribute values whose `str(parse(v))`
 * differs, attributes not stored as h5py stores a str, origin values missing
 * from or differing on a trace, datasets named otherwise than their id, data
 * not stored as plain float64, and whatever else an origin group holds.
 *
 * Two engines copy the groups. The splice engine (native/splice.cc) copies
 * each source's bytes into the new file and relocates the file addresses in
 * them, with no libhdf5 call; it also reports every attribute on the way, so
 * the changes are computed without libhdf5 reading anything. Sources it does
 * not support (anything libhdf5/h5py do not write by default: chunked or
 * compressed data, the latest file format, creation-ordered groups, ...)
 * are copied afterwards by libhdf5 (H5Ocopy), as the "hdf5" engine copies
 * every source. Both give the same file as h5py sees it.
 * @module
 */
import { existsSync, realpathSync } from "node:fs";
import { resolve } from "node:path";
import { type AtomicOptions, writeAtomically } from "./atomic.js";
import { checkOriginValues, expandUser, type OriginValues, type ProgressCallback } from "./build.js";
import { CacheFile, checkValidSuffix } from "./cachefile.js";
import { CacheFileError, ConsistencyError, CorruptFileError, FileInUseError, FileNotFoundError, LayoutError } from "./errors.js";
import { H5File, type RawData, readFile } from "./h5.js";
import { native } from "./native.js";
import { normalizeAttrValue } from "./pyliteral.js";
import { MUST_BE_IDENTICAL } from "./readouts.js";
import { openSpliced, type SplicedObject, type SpliceReport, spliceScan, Splicer } from "./splice.js";

/**
 * How origin groups are copied: `"auto"` (default) splices every source the
 * splice engine supports and copies the others with libhdf5; `"splice"` does
 * the same but fails for a source that cannot be spliced; `"hdf5"` copies
 * every source with libhdf5.
 * @internal
 */
export type MergeEngine = "auto" | "splice" | "hdf5";

/** Which engine copied a source, and why libhdf5 did when it did. @internal */
export interface MergeSourceEvent {
  file: string;
  engine: "splice" | "hdf5";
  reason?: string;
}

export interface MergeOptions extends AtomicOptions {
  /** Called as traces are checked and copied. */
  onProgress?: ProgressCallback;
  /** @internal */
  engine?: MergeEngine;
  /** @internal Called once per source with the engine that copied it. */
  onSource?: (event: MergeSourceEvent) => void;
}

/** Attribute changes held for spliced sources until they are applied, in characters. */
const MAX_PENDING_CHANGES = 32 * 1024 * 1024;

const RE_TRACE_NAME = /^-?[0-9]+$/;

/** Sets an own property, also for the key "__proto__". */
function define(obj: Record<string, string>, k: string, v: string): void {
  if (k === "__proto__") Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
  else obj[k] = v;
}

function normalizeAll(attrs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) define(out, k, normalizeAttrValue(k, v));
  return out;
}

/** The attributes of `want` that `stored` lacks or holds otherwise, plus those stored with another type. */
function changedAttrs(stored: Record<string, string>, want: Record<string, string>, nonStandard: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(want)) {
    if (stored[k] !== v || nonStandard.includes(k)) define(out, k, v);
  }
  return out;
}

interface Counter {
  done: number;
  total: number;
  report?: ProgressCallback;
}

/** What a copy needs to know about one object. */
interface Inspection {
  attrs: Record<string, string>;
  nonStandard: string[];
  plainFloat64: boolean | null;
}

/** One origin group of a source, as read before copying it. */
interface OriginInfo {
  origin: string;
  group: Inspection;
  /** Names of the origin group's members. */
  members: string[];
  /** Names of the attributes of its `traces` group. */
  tracesAttrs: string[];
  /** Its traces, by name (libhdf5's name order). */
  traces: (Inspection & { name: string })[];
}

/** One change that turns a copied origin group into what offspect's merge writes. */
type Fixup =
  | { op: "setAttrs"; path: string; attrs: Record<string, string> }
  | { op: "remove"; path: string }
  | { op: "deleteAttr"; path: string; name: string }
  /** Rewrite a dataset as float64 with these attributes. */
  | { op: "rewrite"; path: string; attrs: Record<string, string> }
  | { op: "move"; from: string; to: string };

/** What reading an origin needs from a source file. */
interface OriginSource {
  readonly path: string;
  keys(group: string): string[];
  attrs(path: string): Record<string, string>;
  inspect(path: string): Inspection;
  read(path: string): RawData;
}

/** What applying fixups needs from the merged file. */
interface OriginTarget {
  setAttrs(path: string, attrs: Record<string, string>): void;
  deleteAttr(path: string, name: string): void;
  remove(path: string): void;
  move(from: string, to: string): void;
  createDataset(path: string, data: Float64Array, shape: number[]): void;
  read(path: string): RawData;
}

/** Reads one origin group through libhdf5. */
function readOrigin(src: OriginSource, origin: string): OriginInfo {
  const group = `/${origin}`;
  const traces = `${group}/traces`;
  const info = src.inspect(group);
  const names = src.keys(traces);
  return {
    origin,
    group: info,
    traces: names.map((name) => ({ name, ...src.inspect(`${traces}/${name}`) })),
    members: src.keys(group),
    tracesAttrs: Object.keys(src.attrs(traces)),
  };
}

/** Attributes of a copy made without attributes. */
const NO_ATTRS: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

/**
 * The changes that make a copy of one origin group what offspect's merge
 * writes: the origin's values normalized (as str(parse(value))) and stored as
 * vlen UTF-8; nothing in the group but `traces`, no attributes on `traces`;
 * every trace with its normalized values plus the origin's, as float64, named
 * by its id (through temporary names, so that swaps cannot collide). With
 * `copiedAttrs` false the copy holds no attributes, and all are written.
 * @throws {LayoutError} a trace's id is not an integer
 * @throws {ConsistencyError} two traces of the origin have the same id
 */
function planOrigin(file: string, o: OriginInfo, copiedAttrs = true): Fixup[] {
  const group = `/${o.origin}`;
  const traces = `${group}/traces`;
  const originText = normalizeAll(o.group.attrs);
  const fixups: Fixup[] = [];
  const originChanges = copiedAttrs ? changedAttrs(o.group.attrs, originText, o.group.nonStandard) : originText;
  if (Object.keys(originChanges).length > 0) fixups.push({ op: "setAttrs", path: group, attrs: originChanges });
  for (const member of o.members) if (member !== "traces") fixups.push({ op: "remove", path: `${group}/${member}` });
  if (copiedAttrs) for (const name of o.tracesAttrs) fixups.push({ op: "deleteAttr", path: traces, name });

  const renames: [string, string][] = [];
  const finalNames = new Set<string>();
  const originValues = new Map(Object.entries(originText));
  for (const info of o.traces) {
    const path = `${traces}/${info.name}`;
    // want = { ...normalizeAll(info.attrs), ...originText }, and the attributes where it differs
    // from what is stored; computed without building `want` unless the whole dataset is rewritten.
    const rewrite = info.plainFloat64 === false;
    const want: Record<string, string> | undefined = rewrite ? {} : undefined;
    const stored = copiedAttrs ? info.attrs : NO_ATTRS;
    let changes: Record<string, string> | undefined;
    const consider = (k: string, v: string) => {
      if (want) define(want, k, v);
      else if (stored[k] !== v || (copiedAttrs && info.nonStandard.length > 0 && info.nonStandard.includes(k))) define((changes ??= {}), k, v);
    };
    for (const [k, stored] of Object.entries(info.attrs)) consider(k, originValues.get(k) ?? normalizeAttrValue(k, stored));
    for (const [k, v] of originValues) if (!Object.hasOwn(info.attrs, k)) consider(k, v);
    if (want) {
      // offspect stores every trace as float64 (numpy's default layout).
      fixups.push({ op: "rewrite", path, attrs: want });
    } else if (changes) {
      fixups.push({ op: "setAttrs", path, attrs: changes });
    }
    const id = originValues.get("id") ?? (Object.hasOwn(info.attrs, "id") ? normalizeAttrValue("id", info.attrs["id"]!) : info.name);
    if (!RE_TRACE_NAME.test(id)) {
      throw new LayoutError(file, `trace ${path} has id ${JSON.stringify(id)}, which is not an integer`, "ETRACEID");
    }
    if (finalNames.has(id)) {
      throw new ConsistencyError("id", [id], `${file}: two traces of origin ${JSON.stringify(o.origin)} have id ${id}; ids must be unique within an origin`);
    }
    finalNames.add(id);
    if (id !== info.name) renames.push([info.name, id]);
  }
  renames.forEach(([from], k) => fixups.push({ op: "move", from: `${traces}/${from}`, to: `${traces}/\u0001renaming${k}` }));
  renames.forEach(([, to], k) => fixups.push({ op: "move", from: `${traces}/\u0001renaming${k}`, to: `${traces}/${to}` }));
  return fixups;
}

/** Applies fixups to `dst`; datasets to rewrite are read from `data`. */
function applyFixups(dst: OriginTarget, fixups: Iterable<Fixup>, data: { read(path: string): RawData }): void {
  for (const f of fixups) {
    switch (f.op) {
      case "setAttrs":
        dst.setAttrs(f.path, f.attrs);
        break;
      case "remove":
        dst.remove(f.path);
        break;
      case "deleteAttr":
        dst.deleteAttr(f.path, f.name);
        break;
      case "rewrite": {
        const raw = data.read(f.path);
        dst.remove(f.path);
        dst.createDataset(f.path, raw.data, raw.shape);
        dst.setAttrs(f.path, f.attrs);
        break;
      }
      case "move":
        dst.move(f.from, f.to);
        break;
    }
  }
}

/** Rough size of fixups in memory, in characters. */
function fixupSize(fixups: Fixup[]): number {
  let n = 0;
  for (const f of fixups) {
    n += 32;
    if (f.op === "move") n += f.from.length + f.to.length;
    else n += f.path.length;
    if (f.op === "setAttrs" || f.op === "rewrite") for (const [k, v] of Object.entries(f.attrs)) n += k.length + v.length + 16;
    if (f.op === "deleteAttr") n += f.name.length;
  }
  return n;
}

function reportTraces(counter: Counter, file: string, origin: string, traces: number): void {
  for (let i = 0; i < traces; i++) {
    counter.done++;
    counter.report?.({ phase: "write", file, origin, done: counter.done, total: counter.total });
  }
}

/** Copies one origin group with libhdf5 (`copy`) and makes it what offspect's merge writes. */
function copyOrigin(src: OriginSource, dst: OriginTarget, origin: string, counter: Counter, copy: (group: string) => void): void {
  const info = readOrigin(src, origin);
  copy(`/${origin}`);
  applyFixups(dst, planOrigin(src.path, info), src);
  reportTraces(counter, src.path, origin, info.traces.length);
}

/** Name of an object from its path. */
function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * The origins of a parsed source when it is laid out as a CacheFile (root:
 * origin groups, each with a `traces` group of datasets named by integers),
 * else null. With `withTraces`, every object's attributes must have been read.
 */
function originsOf(objects: SplicedObject[], withTraces: boolean): OriginInfo[] | null {
  const children = new Map<string, SplicedObject[]>();
  for (const o of objects) {
    if (o.depth === 0) continue;
    const parent = o.depth === 1 ? "/" : o.path.slice(0, o.path.lastIndexOf("/"));
    let list = children.get(parent);
    if (!list) children.set(parent, (list = []));
    list.push(o);
  }
  const out: OriginInfo[] = [];
  for (const o of children.get("/") ?? []) {
    if (o.kind !== "group" || o.attrs === null) return null;
    const members = children.get(o.path) ?? [];
    const traces = members.find((m) => m.path === `${o.path}/traces`);
    if (!traces || traces.kind !== "group") return null;
    const list = children.get(traces.path) ?? [];
    if (!list.every((t) => t.kind === "dataset" && RE_TRACE_NAME.test(baseName(t.path)))) return null;
    if (withTraces && (traces.attrs === null || list.some((t) => t.attrs === null))) return null;
    out.push({
      origin: baseName(o.path),
      group: { attrs: o.attrs, nonStandard: o.nonStandard, plainFloat64: null },
      members: members.map((m) => baseName(m.path)),
      tracesAttrs: Object.keys(traces.attrs ?? {}),
      traces: list.map((t) => ({ name: baseName(t.path), attrs: t.attrs ?? {}, nonStandard: t.nonStandard, plainFloat64: t.plainFloat64 })),
    });
  }
  return out;
}

/**
 * A source's origins and their trace counts, read by the splice parser when
 * it supports the source and finds it laid out as a CacheFile; null sends
 * the source through {@link CacheFile} (which waits for writers, and throws
 * the precise error for a file that is not a readable CacheFile).
 */
function quickCheck(source: string): { origin: string; attrs: Record<string, string>; traces: number }[] | null {
  let report: SpliceReport;
  try {
    checkValidSuffix(source);
    if (native.writerWaiting(source)) return null;
    report = spliceScan(source, { maxDepth: 3, attrDepth: 1 });
  } catch {
    return null;
  }
  // libhdf5 may crash on what the parser found damaged: never hand it such a file.
  if (!report.supported && report.damaged) throw new CorruptFileError(source, report.reason);
  if (!report.supported) return null;
  return originsOf(report.objects, false)?.map((o) => ({ origin: o.origin, attrs: o.group.attrs, traces: o.traces.length })) ?? null;
}

/** Every source copied by libhdf5 into a new file (the "hdf5" engine). */
function writeWithHdf5(tmp: string, paths: string[], counter: Counter): void {
  using dst = H5File.open(tmp, "x");
  for (const source of paths) {
    using src = readFile(source);
    for (const origin of src.keys("/")) copyOrigin(src, dst, origin, counter, (group) => src.copyTo(group, dst, group));
  }
  dst.flush();
}

/** Sources spliced where supported, the rest copied by libhdf5 afterwards. */
function writeSpliced(tmp: string, paths: string[], counter: Counter, options: MergeOptions): void {
  const strict = options.engine === "splice";
  const fixups: Fixup[] = [];
  let pending = 0;
  const fallback: string[] = [];
  {
    using splicer = Splicer.begin(tmp);
    for (const source of paths) {
      let reason: string | undefined;
      let infos: OriginInfo[] | null = null;
      let planned: Fixup[] = [];
      let size = 0;
      try {
        const report = splicer.add(source);
        if (report.supported) infos = originsOf(report.objects, true);
        else if (report.damaged) throw new CorruptFileError(source, report.reason);
        else reason = report.reason;
      } catch (e) {
        if (e instanceof CorruptFileError) throw e;
        if (e instanceof FileInUseError) throw e;
        // libhdf5 will say precisely what is wrong with it.
        reason = (e as Error).message;
      }
      if (infos === null) {
        reason ??= "not laid out as a CacheFile";
      } else {
        planned = infos.flatMap((o) => planOrigin(source, o));
        size = fixupSize(planned);
        if (pending + size > MAX_PENDING_CHANGES) {
          reason = "too many attribute changes to hold until the copy is complete";
          infos = null;
        }
      }
      if (infos === null) {
        splicer.discard();
        if (strict) throw new CacheFileError("ESPLICE", `${source} cannot be spliced: ${reason}`, { file: source });
        fallback.push(source);
        options.onSource?.({ file: source, engine: "hdf5", ...(reason !== undefined ? { reason } : {}) });
        continue;
      }
      splicer.commit();
      for (const f of planned) fixups.push(f);
      pending += size;
      options.onSource?.({ file: source, engine: "splice" });
      for (const o of infos) reportTraces(counter, source, o.origin, o.traces.length);
    }
    splicer.finish();
  }
  if (fixups.length === 0 && fallback.length === 0) return;
  using dst = openSpliced(tmp);
  applyFixups(dst, fixups, dst);
  fixups.length = 0;
  for (const source of fallback) {
    using src = H5File.open(source, "r");
    for (const origin of src.keys("/")) {
      // Without attributes: libhdf5 1.10.8 crashes copying variable-length attributes kept in
      // dense storage (latest-format files); every attribute is written from the values read.
      const info = readOrigin(src, origin);
      src.copyTo(`/${origin}`, dst, `/${origin}`, { attributes: false });
      applyFixups(dst, planOrigin(source, info, false), src);
      reportTraces(counter, source, origin, info.traces.length);
    }
  }
  dst.flush();
}

/**
 * Merges one or more CacheFiles into `to` (replacing it), after offspect's
 * consistency check: unique origins, one readout and readin, identical
 * must-be-identical origin keys. The result equals offspect's merge of the
 * same sources. It is written beside `to` and renamed into place only when
 * complete and flushed: on any failure, or if the process is killed, `to` is
 * either the complete new file or what it was before. Sources are only read
 * (under a shared lock, as libhdf5 reads).
 *
 * @example
 * ```ts
 * merge("S01_all.hdf5", ["S01_run1.hdf5", "S01_run2.hdf5"], {
 *   onProgress: ({ done, total }) => process.stderr.write(`\r${done}/${total}`),
 * });
 * ```
 * @returns the absolute path of the merged file
 * @throws {ConsistencyError} the sources cannot be merged (nothing is written)
 * @throws {FileNotFoundError} / {InvalidSuffixError} / {LayoutError} / ... a source is not a readable CacheFile
 * @throws {CorruptFileError} a source is damaged (found by the splice parser, or by libhdf5)
 * @throws {FileInUseError} another process is writing a source
 */
export function merge(to: string, sources: string[], options: MergeOptions = {}): string {
  const target = resolve(expandUser(to));
  checkValidSuffix(target);
  const engine = options.engine ?? "auto";
  if (engine !== "auto" && engine !== "splice" && engine !== "hdf5") {
    throw new TypeError(`engine: expected "auto", "splice" or "hdf5", got ${JSON.stringify(engine)}`);
  }
  if (!Array.isArray(sources) || sources.length === 0) {
    throw new ConsistencyError("sources", [], "no source files to merge: pass at least one CacheFile");
  }
  const paths = sources.map((s) => {
    if (typeof s !== "string") throw new TypeError(`sources: expected file names, got ${typeof s}`);
    return resolve(expandUser(s));
  });
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : p);
  const targetReal = real(target);
  for (const p of paths) {
    if (!existsSync(p)) throw new FileNotFoundError(p);
    if (real(p) === targetReal) {
      throw new ConsistencyError("to", [target], `the target ${target} is also a source; merge into a new file, sources are never modified`);
    }
  }

  // Check everything before writing anything.
  const origins: OriginValues[] = [];
  const counter: Counter = { done: 0, total: 0, ...(options.onProgress ? { report: options.onProgress } : {}) };
  const addOrigin = (source: string, origin: string, attrs: Record<string, string>, traces: number) => {
    const values: Record<string, string | undefined> = {};
    for (const key of MUST_BE_IDENTICAL) values[key] = key in attrs ? normalizeAttrValue(key, attrs[key]!) : undefined;
    origins.push({ origin, source, values });
    counter.total += traces;
  };
  paths.forEach((source, i) => {
    const quick = engine === "hdf5" ? null : quickCheck(source);
    if (quick) {
      for (const { origin, attrs, traces } of quick) addOrigin(source, origin, attrs, traces);
    } else {
      const cf = new CacheFile(source);
      try {
        for (const { origin, attrs, traces } of cf.originAttrs()) addOrigin(source, origin, attrs, traces);
      } finally {
        cf.close();
      }
    }
    options.onProgress?.({ phase: "check", file: source, done: i + 1, total: paths.length });
  });
  checkOriginValues(origins);

  writeAtomically(target, (tmp) => (engine === "hdf5" ? writeWithHdf5(tmp, paths, counter) : writeSpliced(tmp, paths, counter, options)), options);
  options.onProgress?.({ phase: "done", done: counter.done, total: counter.total });
  return target;
}
