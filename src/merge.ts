/**
 * offspect's `merge`: one or more CacheFiles into one, with the same result
 * as offspect (same origins, attribute names and values, data), but
 * streaming, atomic and fast.
 *
 * offspect reads every source completely, parses each attribute value, and
 * writes a new file with Python's `str()` of each value, the origin
 * attributes copied onto every trace and each dataset named by its trace's
 * id. Here the check reads each source's origins through a CacheFile (the
 * format module); then each source is either spliced (its bytes copied into
 * the new file, relocated, by src/hdf5/format/splice.ts; then only what
 * offspect's rewrite would change is changed) or, when the splicer does not
 * support it (chunked or compressed data, the latest file format,
 * creation-ordered groups, hard links, ...), written from its values
 * through libhdf5 exactly as offspect's populate writes them. Both give the
 * same file as h5py sees it.
 * @module
 */
import { existsSync, realpathSync } from "node:fs";
import { resolve } from "node:path";
import { type AtomicOptions, writeAtomicallySteps } from "./atomic.js";
import { runAsync, runSync } from "./work.js";
import { checkOriginValues, type OriginValues, type ProgressCallback } from "./build.js";
import { CacheFile, checkValidSuffix } from "./cachefile.js";
import { toTraceData } from "./cachefile/cachefile.js";
import { openForRead, tryReadLock } from "./cachefile/sharing.js";
import { TRACE_NAME } from "./cachefile/traceIndex.js";
import { setOwn } from "./own.js";
import { CacheFileError, ConsistencyError, CorruptFileError, FileInUseError, FileNotFoundError, LayoutError, TargetFolderError } from "./errors.js";
import { H5File, type RawData } from "./hdf5/file.js";
import type { Hdf5Source } from "./hdf5/source.js";
import { expandUser } from "./paths.js";
import { normalizeAttrValue } from "./pyliteral.js";
import { MUST_BE_IDENTICAL } from "./readouts.js";
import { type AttributeList, attributeRecord, openSpliced, type SpliceReport, spliceScan, Splicer, type StagedObject } from "./splice.js";
import { NOTHING_WRITTEN } from "./abort.js";

/**
 * How sources are copied: `"auto"` (default) splices every source the
 * splicer supports and writes the others from their values through
 * libhdf5; `"splice"` does the same but fails for a source that cannot be
 * spliced; `"values"` writes every source from its values through libhdf5.
 * @internal
 */
export type MergeEngine = "auto" | "splice" | "values";

/** How a source was copied (spliced, or written from its values through libhdf5), and why from its values when it was. @internal */
export interface MergeSourceEvent {
  file: string;
  engine: "splice" | "values";
  reason?: string;
}

export interface MergeOptions extends AtomicOptions {
  /** Called as sources are checked (unit "files") and traces copied (unit "traces"). */
  onProgress?: ProgressCallback;
  /** How long to wait for a source another process is writing, in ms (default 2000). */
  lockTimeout?: number;
  /** @internal */
  engine?: MergeEngine;
  /** @internal Called once per source with the engine that copied it. */
  onSource?: (event: MergeSourceEvent) => void;
}

/** Attribute changes held for spliced sources until they are applied, in characters. */
const MAX_PENDING_CHANGES = 32 * 1024 * 1024;

function normalizeAll(attrs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) setOwn(out, k, normalizeAttrValue(k, v));
  return out;
}

/** The attributes of `want` that `stored` lacks or holds otherwise, plus those stored with another type. */
function changedAttrs(stored: Record<string, string>, want: Record<string, string>, nonStandard: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(want)) {
    if (stored[k] !== v || nonStandard.includes(k)) setOwn(out, k, v);
  }
  return out;
}

interface Counter {
  done: number;
  total: number;
  report?: ProgressCallback;
}

function reportTraces(counter: Counter, file: string, origin: string, traces: number): void {
  for (let i = 0; i < traces; i++) {
    counter.done++;
    counter.report?.({ phase: "write", unit: "traces", file, origin, done: counter.done, total: counter.total });
  }
}

// ---------------------------------------------------------------------------
// The check: each source's origins, their attributes and trace counts

/** What the check needs of one source; `scanned` when it came from a scan of the first levels only. */
interface SourceOrigins {
  origins: { origin: string; attrs: Record<string, string>; traces: number }[];
  scanned: boolean;
}

/**
 * The origins of `source` from a scan of its first three levels (root,
 * origin groups with their attributes, the names in each `traces` group),
 * without parsing the traces: or null when the scan cannot tell (a file the
 * format module declines, another layout, a busy lock), and the source is
 * opened as a CacheFile instead, which reports what is wrong precisely.
 * What the scan leaves unchecked (that every trace is a dataset) the splice
 * checks, and a source it declines is opened as a CacheFile then.
 */
function scanOrigins(source: string): SourceOrigins | null {
  checkValidSuffix(source);
  let report: SpliceReport;
  try {
    report = spliceScan(source, { maxDepth: 2, attrDepth: 1, listNames: true }, tryReadLock);
  } catch {
    return null; // opened as a CacheFile, which waits for the lock and names the failure
  }
  if (!report.supported) return null;
  const origins: SourceOrigins["origins"] = [];
  for (const o of report.objects) {
    if (o.depth === 1) {
      if (o.kind !== "group" || o.attrs === null) return null;
      origins.push({ origin: baseName(o.path), attrs: o.attrs, traces: -1 });
    } else if (o.depth === 2 && baseName(o.path) === "traces") {
      if (o.kind !== "group" || o.members === null || !o.members.every((name) => TRACE_NAME.test(name))) return null;
      origins.at(-1)!.traces = o.members.length;
    }
  }
  return origins.every((o) => o.traces >= 0) ? { origins, scanned: true } : null;
}

/** The origins of `source` read through a CacheFile (which checks its whole layout). */
function openedOrigins(source: string, lockTimeout: number | undefined): SourceOrigins {
  const cf = new CacheFile(source, lockTimeout !== undefined ? { lockTimeout } : {});
  try {
    return { origins: cf.originAttrs(), scanned: false };
  } finally {
    cf.close();
  }
}

// ---------------------------------------------------------------------------
// Spliced sources: copied byte for byte, then changed where offspect's rewrite would change them

/** What changing a copy needs to know about one trace. */
interface TraceInspection {
  name: string;
  attrs: AttributeList;
  nonStandard: string[];
  plainFloat64: boolean | null;
}

/** One origin group of a spliced source. */
interface OriginInfo {
  origin: string;
  attrs: Record<string, string>;
  nonStandard: string[];
  /** Names of the origin group's members. */
  members: string[];
  /** Names of the attributes of its `traces` group. */
  tracesAttrs: readonly string[];
  /** Its traces, by name. */
  traces: TraceInspection[];
}

/** One change that turns a spliced origin group into what offspect's merge writes. */
type Fixup =
  | { op: "setAttrs"; path: string; attrs: Record<string, string> }
  | { op: "remove"; path: string }
  | { op: "deleteAttr"; path: string; name: string }
  /** Rewrite a dataset as float64 with these attributes. */
  | { op: "rewrite"; path: string; attrs: Record<string, string> }
  | { op: "move"; from: string; to: string };

/**
 * What offspect's merge stores for a trace attribute: the origin's value
 * for an origin key, else the stored value normalized. The traces of one
 * file carry the same names in the same order, and many the same values:
 * the answer for a name and value at a position of the record is kept, and
 * given again when the next trace holds the same two there.
 */
class WantMemo {
  readonly #origin: Map<string, string>;
  readonly #keys: string[] = [];
  readonly #values: string[] = [];
  readonly #wants: string[] = [];
  readonly #fromOrigin: boolean[] = [];

  constructor(origin: Map<string, string>) {
    this.#origin = origin;
  }

  want(position: number, key: string, value: string): string {
    if (this.#keys[position] === key && this.#values[position] === value) return this.#wants[position]!;
    const originValue = this.#origin.get(key);
    const want = originValue ?? normalizeAttrValue(key, value);
    this.#keys[position] = key;
    this.#values[position] = value;
    this.#wants[position] = want;
    this.#fromOrigin[position] = originValue !== undefined;
    return want;
  }

  /** Whether the last {@link want} at `position` gave the origin's value. */
  fromOrigin(position: number): boolean {
    return this.#fromOrigin[position]!;
  }
}

/**
 * The changes that make a spliced origin group what offspect's merge
 * writes: the origin's values normalized (as str(parse(value))) and stored
 * as vlen UTF-8; nothing in the group but `traces`, no attributes on
 * `traces`; every trace with its normalized values plus the origin's, as
 * float64, named by its id (through temporary names, so that swaps cannot
 * collide).
 * @throws {LayoutError} a trace's id is not an integer
 * @throws {ConsistencyError} two traces of the origin have the same id
 */
function planOrigin(file: string, o: OriginInfo): Fixup[] {
  const group = `/${o.origin}`;
  const traces = `${group}/traces`;
  const originText = normalizeAll(o.attrs);
  const fixups: Fixup[] = [];
  const originChanges = changedAttrs(o.attrs, originText, o.nonStandard);
  if (Object.keys(originChanges).length > 0) fixups.push({ op: "setAttrs", path: group, attrs: originChanges });
  for (const member of o.members) if (member !== "traces") fixups.push({ op: "remove", path: `${group}/${member}` });
  for (const name of o.tracesAttrs) fixups.push({ op: "deleteAttr", path: traces, name });

  const renames: [string, string][] = [];
  const finalNames = new Set<string>();
  const originValues = new Map(Object.entries(originText));
  const memo = new WantMemo(originValues);
  // Per trace: want = { ...normalizeAll(info.attrs), ...originText }, and the attributes where it differs
  // from what is stored; computed without building `want` unless the whole dataset is rewritten.
  let want: Record<string, string> | undefined;
  let nonStandard: string[] = [];
  let changes: Record<string, string> | undefined;
  const consider = (k: string, v: string, stored: string | undefined) => {
    if (want) setOwn(want, k, v);
    else if (stored !== v || nonStandard.includes(k)) setOwn((changes ??= {}), k, v);
  };
  for (const info of o.traces) {
    const path = `${traces}/${info.name}`;
    want = info.plainFloat64 === false ? {} : undefined;
    nonStandard = info.nonStandard;
    changes = undefined;
    const { names, values } = info.attrs;
    let originKeys = 0;
    let storedId: string | undefined;
    for (let p = 0; p < names.length; p++) {
      const k = names[p]!;
      const value = values[p]!;
      const v = memo.want(p, k, value);
      if (memo.fromOrigin(p)) originKeys++;
      if (k === "id") storedId = value;
      if (want || v !== value || nonStandard.length > 0) consider(k, v, value);
    }
    if (originKeys < originValues.size) {
      const have = new Set(names);
      for (const [k, v] of originValues) if (!have.has(k)) consider(k, v, undefined);
    }
    if (want) fixups.push({ op: "rewrite", path, attrs: want }); // offspect stores every trace as float64
    else if (changes) fixups.push({ op: "setAttrs", path, attrs: changes });
    const id = traceId(file, path, originValues.get("id") ?? (storedId !== undefined ? normalizeAttrValue("id", storedId) : info.name));
    if (finalNames.has(id)) throw duplicateId(file, o.origin, id);
    finalNames.add(id);
    if (id !== info.name) renames.push([info.name, id]);
  }
  renames.forEach(([from], k) => fixups.push({ op: "move", from: `${traces}/${from}`, to: `${traces}/\u0001renaming${k}` }));
  renames.forEach(([, to], k) => fixups.push({ op: "move", from: `${traces}/\u0001renaming${k}`, to: `${traces}/${to}` }));
  return fixups;
}

function traceId(file: string, path: string, id: string): string {
  if (!TRACE_NAME.test(id)) throw new LayoutError(file, `trace ${path} has id ${JSON.stringify(id)}, which is not an integer`, "ETRACEID");
  return id;
}

function duplicateId(file: string, origin: string, id: string): ConsistencyError {
  return new ConsistencyError("id", [id], `${file}: two traces of origin ${JSON.stringify(origin)} have id ${id}; ids must be unique within an origin`);
}

/** Applies fixups to the spliced file (datasets to rewrite are read from it too). */
function applyFixups(dst: H5File, fixups: Iterable<Fixup>): void {
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
        const raw = dst.read(f.path);
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

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * The origins of a spliced source when it is laid out as a CacheFile (root:
 * origin groups, each with a `traces` group of datasets named by integers,
 * every attribute read), else null.
 */
function originsOf(objects: StagedObject[]): OriginInfo[] | null {
  const children = new Map<string, StagedObject[]>();
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
    if (!traces || traces.kind !== "group" || traces.attrs === null) return null;
    const list = children.get(traces.path) ?? [];
    const inspected: TraceInspection[] = [];
    for (const t of list) {
      if (t.kind !== "dataset" || t.attrs === null || !TRACE_NAME.test(baseName(t.path))) return null;
      inspected.push({ name: baseName(t.path), attrs: t.attrs, nonStandard: t.nonStandard, plainFloat64: t.plainFloat64 });
    }
    out.push({
      origin: baseName(o.path),
      attrs: attributeRecord(o.attrs),
      nonStandard: o.nonStandard,
      members: members.map((m) => baseName(m.path)),
      tracesAttrs: traces.attrs.names,
      traces: inspected,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Sources written from their values (offspect's recover_parts, then populate)

/**
 * Writes every origin of `source` into `dst` as offspect's merge writes it:
 * the origin's attributes as str(parse(value)), a `traces` group, each trace
 * as float64 under its id with its normalized attributes and the origin's.
 * Nothing of the source is copied as stored, so no libhdf5 object copy is
 * involved.
 */
function* writeFromValues(source: Hdf5Source, dst: H5File, counter: Counter): Generator<void, void> {
  for (const origin of source.keys("/")) {
    const group = `/${origin}`;
    const traces = `${group}/traces`;
    const originText = normalizeAll(source.attrs(group));
    dst.createGroup(group);
    dst.setAttrs(group, originText);
    dst.createGroup(traces);
    const ids = new Set<string>();
    for (const name of source.keys(traces)) {
      const path = `${traces}/${name}`;
      const attrs = { ...normalizeAll(source.attrs(path)) };
      for (const [k, v] of Object.entries(originText)) setOwn(attrs, k, v);
      const id = traceId(source.path, path, attrs["id"] ?? name);
      if (ids.has(id)) throw duplicateId(source.path, origin, id);
      ids.add(id);
      const raw: RawData = source.read(path);
      toTraceData(raw, source.path, path); // a trace is samples x channels (or samples): ERANK otherwise, as when read
      dst.createDataset(`${traces}/${id}`, raw.data, raw.shape);
      dst.setAttrs(`${traces}/${id}`, attrs);
      reportTraces(counter, source.path, origin, 1);
      if (counter.done % YIELD_EVERY === 0) yield;
    }
  }
}

/** Traces written from values between two turns of the event loop (the async form). */
const YIELD_EVERY = 32;

/** Writes sources from their values into `dst`, each read under a shared lock. */
function* writeSourcesFromValues(dst: H5File, sources: string[], counter: Counter, timeout: number): Generator<void, void> {
  for (const file of sources) {
    const session = openForRead(file, timeout);
    try {
      yield* writeFromValues(session.source, dst, counter);
    } finally {
      session.close();
    }
  }
}

/** Every source written from its values (the "values" engine). */
function* writeAllFromValues(tmp: string, paths: string[], counter: Counter, options: MergeOptions): Generator<void, void> {
  using dst = H5File.open(tmp, "x");
  for (const file of paths) options.onSource?.({ file, engine: "values", reason: "engine values" });
  yield* writeSourcesFromValues(dst, paths, counter, options.lockTimeout ?? 2000);
  dst.flush();
}

/** Sources spliced where supported; the rest written from their values afterwards. */
function* writeSpliced(tmp: string, paths: string[], counter: Counter, options: MergeOptions, scanned: Set<string>): Generator<void, void> {
  const strict = options.engine === "splice";
  const fixups: Fixup[] = [];
  let pending = 0;
  const fromValues: string[] = [];
  {
    using splicer = Splicer.begin(tmp);
    for (const [i, source] of paths.entries()) {
      let reason: string | undefined;
      let infos: OriginInfo[] | null = null;
      let planned: Fixup[] = [];
      let size = 0;
      try {
        const report = splicer.add(source, {}, paths[i + 1]);
        if (report.supported) infos = originsOf(report.objects);
        else if (report.damaged) throw new CorruptFileError(source, report.reason);
        else reason = report.reason;
      } catch (e) {
        if (e instanceof CorruptFileError || e instanceof FileInUseError) throw e;
        // Written from its values, whose reader says precisely what is wrong with it.
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
        // Checked by a scan of its first levels only: its whole layout is checked now, before it is read for its values.
        if (scanned.has(source)) openedOrigins(source, options.lockTimeout);
        if (strict) throw new CacheFileError("ESPLICE", `${source} cannot be spliced: ${reason}`, { file: source });
        fromValues.push(source);
        options.onSource?.({ file: source, engine: "values", ...(reason !== undefined ? { reason } : {}) });
        continue;
      }
      splicer.commit();
      for (const f of planned) fixups.push(f);
      pending += size;
      options.onSource?.({ file: source, engine: "splice" });
      for (const o of infos) reportTraces(counter, source, o.origin, o.traces.length);
      yield;
    }
    splicer.finish();
  }
  if (fixups.length === 0 && fromValues.length === 0) return;
  using dst = openSpliced(tmp);
  applyFixups(dst, fixups);
  fixups.length = 0;
  yield* writeSourcesFromValues(dst, fromValues, counter, options.lockTimeout ?? 2000);
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
 *   onProgress: ({ phase, unit, done, total }) => process.stderr.write(`\r${phase} ${done}/${total} ${unit}`),
 * });
 * ```
 * @returns the absolute path of the merged file
 * @throws {TargetFolderError} the target's folder does not exist (nothing is read or written)
 * @throws {ConsistencyError} the sources cannot be merged (nothing is written)
 * @throws {FileNotFoundError} / {InvalidSuffixError} / {LayoutError} / ... a source is not a readable CacheFile
 * @throws {CorruptFileError} a source is damaged
 * @throws {FileInUseError} another process is writing a source
 */
export function merge(to: string, sources: string[], options: MergeOptions = {}): string {
  return runSync(mergeWork(to, sources, options));
}

/**
 * {@link merge} without blocking the event loop for long: the work pauses
 * for a turn of the loop after each source checked and copied (and every
 * 32 traces written from values); `signal` stops it, leaving `to` as it was
 * and no temporary file (AbortedError).
 * @example
 * ```ts
 * await mergeFiles("S01_all.hdf5", ["S01_run1.hdf5", "S01_run2.hdf5"], { signal: AbortSignal.timeout(60_000) });
 * ```
 */
export function mergeFiles(to: string, sources: string[], options: MergeOptions & { signal?: AbortSignal } = {}): Promise<string> {
  return runAsync(mergeWork(to, sources, options), options.signal, `merging into ${to}`, NOTHING_WRITTEN);
}

/** {@link mergeFiles}, blocking: the same as offspect's {@link merge}. */
export function mergeFilesSync(to: string, sources: string[], options: MergeOptions = {}): string {
  return merge(to, sources, options);
}

/** The work of {@link merge}: check every source, then write the new file. */
function* mergeWork(to: string, sources: string[], options: MergeOptions): Generator<unknown, string> {
  const target = resolve(expandUser(to));
  checkValidSuffix(target);
  TargetFolderError.check(target);
  const engine = options.engine ?? "auto";
  if (engine !== "auto" && engine !== "splice" && engine !== "values") {
    throw new TypeError(`engine: expected "auto", "splice" or "values", got ${JSON.stringify(engine)}`);
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
  const scanned = new Set<string>();
  for (const [i, source] of paths.entries()) {
    // The values engine reads every trace through a CacheFile's reader: its whole layout is checked first.
    const found = (engine === "values" ? null : scanOrigins(source)) ?? openedOrigins(source, options.lockTimeout);
    if (found.scanned) scanned.add(source);
    for (const { origin, attrs, traces } of found.origins) {
      const values: Record<string, string | undefined> = {};
      for (const key of MUST_BE_IDENTICAL) values[key] = key in attrs ? normalizeAttrValue(key, attrs[key]!) : undefined;
      origins.push({ origin, source, values });
      counter.total += traces;
    }
    options.onProgress?.({ phase: "check", unit: "files", file: source, done: i + 1, total: paths.length });
    yield;
  }
  checkOriginValues(origins);

  yield* writeAtomicallySteps(
    target,
    (tmp) => (engine === "values" ? writeAllFromValues(tmp, paths, counter, options) : writeSpliced(tmp, paths, counter, options, scanned)),
    options,
  );
  options.onProgress?.({ phase: "done", unit: "traces", done: counter.done, total: counter.total });
  return target;
}
