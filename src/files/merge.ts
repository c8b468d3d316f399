/**
 * offspect's `merge`: one or more CacheFiles into one, with the same result
 * as offspect (same origins, attribute names and values, data), but
 * streaming, atomic and fast.
 *
 * offspect reads every source completely, parses each attribute value, and
 * writes a new file with Python's `str()` of each value, the origin
 * attributes copied onto every trace and each dataset named by its trace's
 * id. Here the check reads each source's origins by a scan of its first
 * levels (the format module's parse, limited; through a CacheFile when the
 * scan cannot answer); then each source is either spliced (its bytes copied
 * into the new file, relocated, by src/hdf5/format/splice/; then only what
 * offspect's rewrite would change is changed, as src/merge/plan.ts plans
 * it) or, when the splicer does not
 * support it (chunked or compressed data, the latest file format,
 * creation-ordered groups, hard links, ...), written from its values
 * through libhdf5 exactly as offspect's populate writes them. Both give the
 * same file as h5py sees it.
 * @module
 */
import { existsSync, realpathSync } from "node:fs";
import { resolve } from "node:path";
import { debuglog } from "node:util";
import { type AtomicOptions, writeAtomicallySteps } from "../cachefile/atomic.js";
import { runAsync, runSync } from "../base/work.js";
import { checkOriginValues, type OriginValues, type ProgressCallback } from "./build.js";
import { checkValidSuffix } from "../cachefile/index.js";
import { CacheFileSession, toTraceData } from "../cachefile/session.js";
import { openForRead, tryReadLock } from "../cachefile/sharing.js";
import { TRACE_NAME } from "../cachefile/traceIndex.js";
import { setOwn } from "../base/own.js";
import { CacheFileError, ConsistencyError, CorruptFileError, FileInUseError, FileNotFoundError, SourceChangedError, TargetFolderError } from "../base/errors.js";
import { sameStamp, type Stamp, stampOf, stampOfFd } from "../cachefile/freshness.js";
import { H5File, type RawData } from "../hdf5/file.js";
import type { Hdf5Source } from "../hdf5/source.js";
import { expandUser } from "../base/paths.js";
import { normalizeAttrValue } from "../values/index.js";
import { MUST_BE_IDENTICAL } from "../cachefile/readouts.js";
import { applyFixups, baseName, duplicateId, type Fixup, fixupSize, normalizeAll, type OriginInfo, originsOf, planOrigin, traceId } from "./mergePlan.js";
import { openSpliced, type SpliceReport, spliceScan, Splicer } from "../hdf5/splice.js";
import { NOTHING_WRITTEN } from "../base/abort.js";

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

const debug = debuglog("offspect");

/** Attribute changes held for spliced sources until they are applied, in characters. */
const MAX_PENDING_CHANGES = 32 * 1024 * 1024;

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
  } catch (e) {
    // Opened as a CacheFile, which waits for the lock and names the failure.
    return declined(source, (e as Error).message);
  }
  if (!report.supported) return declined(source, report.reason);
  const origins: SourceOrigins["origins"] = [];
  for (const o of report.objects) {
    if (o.depth === 1) {
      if (o.kind !== "group" || o.attrs === null) return declined(source, `${o.path} is not an origin group`);
      origins.push({ origin: baseName(o.path), attrs: o.attrs, traces: -1 });
    } else if (o.depth === 2 && baseName(o.path) === "traces") {
      if (o.kind !== "group" || o.members === null || !o.members.every((name) => TRACE_NAME.test(name))) return declined(source, `${o.path} is not a group of traces`);
      origins.at(-1)!.traces = o.members.length;
    }
  }
  return origins.every((o) => o.traces >= 0) ? { origins, scanned: true } : declined(source, "an origin without traces");
}

/** Reports (on `NODE_DEBUG=offspect`) why a source is checked by opening it as a CacheFile rather than by a scan. */
function declined(source: string, why: string): null {
  debug("merge: %s is checked as a CacheFile, not by a scan: %s", source, why);
  return null;
}

/**
 * The origins of `source` read through a CacheFile; with `everyTrace`, each
 * trace's header is read too (a CacheFile reads it on first use), so that a
 * layout error anywhere is the one opening and reading it gives.
 */
function openedOrigins(source: string, lockTimeout: number | undefined, everyTrace = false): SourceOrigins {
  const cf = new CacheFileSession(source, lockTimeout !== undefined ? { lockTimeout } : {});
  try {
    if (everyTrace) for (let i = 0; i < cf.length; i++) cf.getTraceAttrs(i);
    return { origins: cf.originAttrs(), scanned: false };
  } finally {
    cf.close();
  }
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

/** Throws when the source now locked (its stamp `now`) is not the file that was checked. */
function sameAsChecked(file: string, checked: ReadonlyMap<string, Stamp>, now: Stamp): void {
  const then = checked.get(file);
  if (then && !sameStamp(then, now)) {
    throw new SourceChangedError(file, then.ino !== now.ino || then.dev !== now.dev ? "it was replaced by another file after it was checked" : "it was written after it was checked");
  }
}

/** Writes sources from their values into `dst`, each read under a shared lock (and checked to be the file checked before). */
function* writeSourcesFromValues(dst: H5File, sources: string[], counter: Counter, timeout: number, checked: ReadonlyMap<string, Stamp>): Generator<void, void> {
  for (const file of sources) {
    const session = openForRead(file, timeout);
    try {
      sameAsChecked(file, checked, session.stamp);
      yield* writeFromValues(session.source, dst, counter);
    } finally {
      session.close();
    }
  }
}

/** Every source written from its values (the "values" engine). */
function* writeAllFromValues(tmp: string, paths: string[], counter: Counter, options: MergeOptions, checked: ReadonlyMap<string, Stamp>): Generator<void, void> {
  using dst = H5File.open(tmp, "x");
  for (const file of paths) options.onSource?.({ file, engine: "values", reason: "engine values" });
  yield* writeSourcesFromValues(dst, paths, counter, options.lockTimeout ?? 2000, checked);
  dst.flush();
}

/** Sources spliced where supported; the rest written from their values afterwards. */
function* writeSpliced(tmp: string, paths: string[], counter: Counter, options: MergeOptions, scanned: Set<string>, checked: ReadonlyMap<string, Stamp>): Generator<void, void> {
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
        const report = splicer.add(source, {}, paths[i + 1], (fd) => sameAsChecked(source, checked, stampOfFd(fd)));
        if (report.supported) infos = originsOf(report.objects);
        else if (report.damaged) {
          // Checked by a scan only: what opening it says comes first, as when every source was opened to check it.
          if (scanned.has(source)) openedOrigins(source, options.lockTimeout, true);
          throw new CorruptFileError(source, report.reason);
        }
        else reason = report.reason;
      } catch (e) {
        if (e instanceof CorruptFileError || e instanceof FileInUseError || e instanceof SourceChangedError) throw e;
        // A failed write of the target (a full disk, met by the writer thread) stops the merge.
        if (e instanceof CacheFileError && e.file === tmp) throw e;
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
        if (scanned.has(source)) openedOrigins(source, options.lockTimeout, true);
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
  yield* writeSourcesFromValues(dst, fromValues, counter, options.lockTimeout ?? 2000, checked);
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
  const checked = new Map<string, Stamp>();
  for (const [i, source] of paths.entries()) {
    const before = stampOf(source);
    // The values engine reads every trace through a CacheFile's reader: its whole layout is checked first.
    const found = (engine === "values" ? null : scanOrigins(source)) ?? openedOrigins(source, options.lockTimeout);
    if (!sameStamp(before, stampOf(source))) throw new SourceChangedError(source, "it changed while it was checked");
    checked.set(source, before);
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
    (tmp) => (engine === "values" ? writeAllFromValues(tmp, paths, counter, options, checked) : writeSpliced(tmp, paths, counter, options, scanned, checked)),
    options,
  );
  options.onProgress?.({ phase: "done", unit: "traces", done: counter.done, total: counter.total });
  return target;
}
