/**
 * `annotateFiles` / `annotateFile` (async) and `annotateFilesSync` /
 * `annotateFileSync`: the measures of every trace of one or more files,
 * written where a person has not yet annotated the trace. One
 * implementation (a generator of the work, see src/work.ts) runs both ways.
 *
 * Rules:
 * - Only the readout's own keys among the measures are stored (cmep, imep,
 *   pdmep: `neg_peak_magnitude_uv`, `neg_peak_latency_ms`,
 *   `pos_peak_magnitude_uv`, `pos_peak_latency_ms`, `zcr_latency_ms`), as
 *   floats, as {@link writeMeasuresSync} stores them (`setTraceAttrs`'
 *   checks, one batch write per file). The other measures are returned,
 *   not stored.
 * - A trace is written only while all four peak fields are null (`None`,
 *   `null`, empty or missing), or were set by an earlier annotate (its
 *   `examiner` is {@link ANNOTATOR}, which every trace written gets): what
 *   a person set is kept, unless `overwrite`. A zero crossing that does not exist is stored as null only
 *   where a value would otherwise stay from before (with `overwrite`).
 * - `rejectBackground` (off by default) also sets `reject` to true on the
 *   traces written whose background EMG is active.
 * - Every trace of every file is measured and every update checked before
 *   anything is written, so an input error anywhere writes nothing; then
 *   the files are written one after the other, each in one batch. Should a
 *   write fail, what this run wrote is put back, in that file and in the
 *   files written before it (`PartialWriteError` if that fails too).
 * - With `concurrency` above 1 (`annotateFiles` only), the same rules hold
 *   over lanes (this process and worker processes, ./annotateWorker.ts):
 *   each lane measures and checks the files it is handed; only once every
 *   file of the batch is checked does each lane write its files, and should
 *   one lane's write fail, the others put back what they wrote.
 * @module
 */
import { CacheFile, CacheFileBase, sessionOf, type TraceAttributes } from "../cachefile/index.js";
import { CacheFileError, UnknownReadoutError } from "../base/errors.js";
import { getReadout } from "../cachefile/readouts.js";
import { attrIsNull, decodeText, truthy } from "../values/attrs.js";
import { AnalysisError, analysisOptionError } from "./errors.js";
import { annotateTrace, resolvedOnce, type MeasureOptions, type TraceMeasures } from "./measures.js";
import { commitMeasures, planMeasures, revertMeasures, type MeasureUpdate, type PlannedWrite } from "./write.js";
import { runAsync, runSync } from "../base/work.js";
import { NOTHING_WRITTEN, throwIfAborted } from "../base/abort.js";
import { setOwn } from "../base/own.js";
import { builtModule, ProcessPool, registerErrorClasses, type Lane } from "../base/pool.js";
import * as analysisErrors from "./errors.js";
import { resolve } from "node:path";

/** The measures a cmep-like readout stores, in the order they are reported. */
export const STORED_MEASURES = Object.freeze([
  "neg_peak_magnitude_uv",
  "neg_peak_latency_ms",
  "pos_peak_magnitude_uv",
  "pos_peak_latency_ms",
  "zcr_latency_ms",
] as const);

/**
 * What annotate stores as the trace's `examiner` (offspect's field for who
 * annotated it) on every trace it writes: a later run knows its own values
 * from a person's.
 */
export const ANNOTATOR = "cachefile annotate";

/** The four peak fields: a trace where any of them is set counts as annotated by a person (unless its examiner is {@link ANNOTATOR}). */
export const PEAK_FIELDS = Object.freeze(["neg_peak_magnitude_uv", "neg_peak_latency_ms", "pos_peak_magnitude_uv", "pos_peak_latency_ms"] as const);

/** Progress of a batch, in traces over all files. */
export interface AnnotateProgress {
  phase: "measure" | "write";
  file: string;
  done: number;
  total: number;
}

/** Options of {@link annotateFiles} and {@link annotateFilesSync}: the measures' and the batch's. */
export interface AnnotateOptions extends MeasureOptions {
  /** Measure and report, write nothing (default false). */
  dryRun?: boolean;
  /** Also replace peak fields a person set (default false). */
  overwrite?: boolean;
  /** Set `reject` to true on written traces with active background EMG (default false). */
  rejectBackground?: boolean;
  onProgress?: (event: AnnotateProgress) => void;
}

/**
 * What happened to a trace's stored values:
 * - `written`: the measures were stored;
 * - `unchanged`: they were due, and the file already held exactly them;
 * - `kept`: a person's peak fields were kept (pass `overwrite` to replace them);
 * - `dry-run`: they would have been written;
 * - `not-stored`: the trace's readout has none of these keys (e.g. erp).
 */
export type AnnotateStatus = "written" | "unchanged" | "kept" | "dry-run" | "not-stored";

/** One trace's row of a batch: where it is, its measures, and what was stored. */
export interface AnnotatedTrace extends TraceMeasures {
  /** The file (absolute path). */
  file: string;
  /** The trace's index in the file. */
  index: number;
  origin: string;
  /** Whether this run changed the trace's stored values. */
  written: boolean;
  /** Whether this run set `reject` (only with `rejectBackground`). */
  rejected: boolean;
  status: AnnotateStatus;
}

/** @internal */
export function checkBatchOptions(options: AnnotateOptions): void {
  if (options === null || typeof options !== "object") throw analysisOptionError("options", "an options object", options);
  for (const key of ["dryRun", "overwrite", "rejectBackground"] as const) {
    const v = options[key];
    if (v !== undefined && typeof v !== "boolean") throw analysisOptionError(key, "true or false", v);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== "function") {
    throw analysisOptionError("onProgress", "a function of one progress event", options.onProgress);
  }
}

type StoredMeasure = (typeof STORED_MEASURES)[number];

function storedKeys(attrs: TraceAttributes): StoredMeasure[] {
  try {
    const keys = getReadout(attrs["readin"], attrs["readout"]).keys;
    return STORED_MEASURES.filter((k) => k in keys);
  } catch (e) {
    if (e instanceof UnknownReadoutError) return [];
    throw e;
  }
}

/** With the file and trace named in front of the message. */
function inTrace(e: unknown, file: string, index: number): unknown {
  if (e instanceof AnalysisError) return new AnalysisError(e.code as "EANALYSISINPUT", e.option, `trace ${index} of ${file}: ${e.message}`, file);
  if (e instanceof CacheFileError && !(e as { file?: string }).file) {
    const wrapped = new CacheFileError(e.code, `trace ${index} of ${file}: ${e.message}`, { file, cause: e });
    Object.defineProperty(wrapped, "name", { value: e.name });
    return wrapped;
  }
  return e;
}

/** A file measured: its rows and the updates due. @internal */
export interface Plan {
  cf: CacheFileBase;
  rows: AnnotatedTrace[];
  updates: MeasureUpdate[];
  /** Row of each update. */
  updateRows: AnnotatedTrace[];
  /** What the write reads of each update's trace's attributes, as they were when measured (see {@link writeInputs}). */
  attrs: Map<number, Record<string, string | undefined>>;
  /** The file's read mark before they were read (see CacheFileSession.readGeneration). */
  generation: number;
}

/**
 * What the write of `values` reads of a trace's stored attributes (see
 * CacheFileSession.writeTextsSync's `known`): its readin and readout, each
 * key it sets and channel_labels, a key not stored as undefined. Kept
 * instead of all the attributes, which would stay in memory for the whole
 * file.
 */
function writeInputs(attrs: TraceAttributes, values: Record<string, unknown>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { readin: attrs["readin"], readout: attrs["readout"], channel_labels: attrs["channel_labels"] };
  for (const k of Object.keys(values)) setOwn(out, k, attrs[k]);
  return out;
}

/** Traces measured between two turns of the event loop (async forms). */
const MEASURE_BATCH = 128;

function* annotateWork(files: readonly (string | CacheFileBase)[], options: AnnotateOptions): Generator<unknown, AnnotatedTrace[]> {
  if (!Array.isArray(files)) throw analysisOptionError("files", "an array of CacheFile paths", files);
  checkBatchOptions(options);
  const measure = resolvedOnce(options);
  const opened: CacheFileBase[] = [];
  try {
    const cfs = files.map((f) => (f instanceof CacheFileBase ? f : (opened[opened.length] = new CacheFile(f))));
    return yield* annotateOpened(cfs, measure, options);
  } finally {
    // Let go of the files this call opened now, not when the event loop turns (another process may want them).
    for (const cf of opened) cf.close();
  }
}

function* annotateOpened(cfs: CacheFileBase[], measure: ReturnType<typeof resolvedOnce>, options: AnnotateOptions): Generator<unknown, AnnotatedTrace[]> {
  const total = cfs.reduce((n, cf) => n + cf.length, 0);
  const progress = options.onProgress;
  const step = Math.max(1, Math.floor(total / 200));
  let done = 0;
  const traced = (cf: CacheFileBase) => {
    done++;
    if (progress && (done % step === 0 || done === total)) progress({ phase: "measure", file: cf.fname, done, total });
  };

  const plans: Plan[] = [];
  for (const cf of cfs) plans.push(yield* measureFile(cf, measure, options, traced));
  if (!options.dryRun) {
    // Every file's writes are planned (and checked) first; after the last turn nothing stops the
    // writing, so that an abort never leaves some files annotated and others not.
    const planned: PlannedWrite[][] = [];
    for (const p of plans) planned.push(yield* planFile(p));
    yield;
    let written = 0;
    const total = plans.reduce((n, p) => n + p.updates.length, 0);
    plans.forEach((p, k) => {
      if (p.updates.length === 0) return;
      try {
        commitFile(p, planned[k]!);
      } catch (e) {
        // All or nothing over the files too: put back the files written before this one.
        let partial: unknown;
        for (let j = k - 1; j >= 0; j--) {
          try {
            revertMeasures(plans[j]!.cf, planned[j]!, e);
          } catch (r) {
            partial ??= r;
          }
        }
        throw partial ?? e;
      }
      written += p.updates.length;
      if (progress) progress({ phase: "write", file: p.cf.fname, done: written, total });
    });
  }
  return plans.flatMap((p) => p.rows);
}

/**
 * One file's traces measured: its rows and the updates due (checked, not
 * written); `traced` is called after each trace. Lets go of the file and
 * yields every {@link MEASURE_BATCH} traces.
 * @internal
 */
export function* measureFile(cf: CacheFileBase, measure: ReturnType<typeof resolvedOnce>, options: AnnotateOptions, traced: (cf: CacheFileBase) => void): Generator<unknown, Plan> {
  const plan: Plan = { cf, rows: [], updates: [], updateRows: [], attrs: new Map(), generation: sessionOf(cf).readGeneration };
  let index = 0;
  for (const [data, attrs] of sessionOf(cf).tuples()) {
    let m: TraceMeasures;
    try {
      m = annotateTrace(data, attrs, measure);
    } catch (e) {
      throw inTrace(e, cf.fname, index);
    }
    const row: AnnotatedTrace = { file: cf.fname, index, origin: attrs["origin"] ?? "", ...m, written: false, rejected: false, status: "not-stored" };
    const keys = storedKeys(attrs);
    if (keys.length > 0) {
      const annotated = PEAK_FIELDS.some((k) => (keys as readonly string[]).includes(k) && !attrIsNull(attrs, k)) && attrs["examiner"] !== ANNOTATOR;
      if (annotated && !options.overwrite) row.status = "kept";
      else {
        const values: Record<string, number | boolean | string | null> = {};
        for (const k of keys) {
          const v = m[k];
          if (v !== null) values[k] = v;
          else if (!attrIsNull(attrs, k)) values[k] = null;
        }
        if (options.rejectBackground && m.background_active === true && !truthy(decodeText(attrs["reject"]))) values["reject"] = true;
        values["examiner"] = ANNOTATOR;
        row.status = options.dryRun ? "dry-run" : "unchanged";
        plan.updates.push({ index, values });
        plan.updateRows.push(row);
        if (!options.dryRun) plan.attrs.set(index, writeInputs(attrs, values));
      }
    }
    plan.rows.push(row);
    index++;
    traced(cf);
    if (index % MEASURE_BATCH === 0) {
      // Let go of the file between batches: a writer elsewhere can get in, and (measured on
      // 10,000 traces) a read session that is let go now and then reads faster than one long one.
      cf.close();
      yield;
    }
  }
  return plan;
}

/** The writes of a file's plan, checked (nothing written). @internal */
export function* planFile(plan: Plan): Generator<unknown, PlannedWrite[]> {
  return plan.updates.length === 0 ? [] : yield* planMeasures(plan.cf, plan.updates, plan.attrs);
}

/** Writes a file's planned writes (one batch, all or nothing) and marks the rows written. @internal */
export function commitFile(plan: Plan, planned: readonly PlannedWrite[]): void {
  if (plan.updates.length === 0) return;
  // The write checks against the attributes measured, unless the file changed since.
  const changed = new Set(commitMeasures(plan.cf, planned, { generation: plan.generation, attrs: plan.attrs }).changed);
  plan.updates.forEach((u, j) => {
    const row = plan.updateRows[j]!;
    if (changed.has(u.index)) {
      row.written = true;
      row.status = "written";
      row.rejected = u.values["reject"] === true;
    }
  });
}

/**
 * Measures every trace of each file with {@link annotateTrace} and stores
 * the readout's keys on the traces not yet annotated (see the module's
 * rules). Returns one row per trace, files in the order given. Blocks until
 * done; {@link annotateFiles} is the same without blocking the event loop.
 *
 * @example
 * ```ts
 * const rows = annotateFilesSync(["S01_R001.hdf5", "S01_R002.hdf5"], { window: [15, 120] });
 * rows.filter((r) => r.written).length; // traces annotated by this run
 * annotateFilesSync(paths, { dryRun: true, onsetMethod: "cusum" }); // report only
 * ```
 * @throws {AnalysisError} `EANALYSISOPTION` for a bad option; `EANALYSISINPUT` for a trace that cannot be
 *   measured (the message names the file and trace): nothing is written then
 * @throws {StepError} a trace's `_log` cannot be replayed (nothing is written)
 * @throws the errors of opening the files (e.g. {@link FileNotFoundError}) and of {@link writeMeasuresSync}
 */
export function annotateFilesSync(files: readonly (string | CacheFileBase)[], options: AnnotateOptions = {}): AnnotatedTrace[] {
  return runSync(annotateWork(files, options));
}

/** Options of {@link annotateFiles}: {@link AnnotateOptions}, a signal, and how many files at once. */
export interface AnnotateFilesOptions extends AnnotateOptions {
  signal?: AbortSignal;
  /**
   * How many files to measure and write at once, each in a worker process
   * of its own (the built package under plain node): a positive integer,
   * default 1 (in this process, as before). Above 1, with more than one
   * file given as paths, the files are handed out in order to that many
   * processes; the rows, the errors and the all-or-nothing writing are those of
   * `concurrency: 1`. `defaultConcurrency()` is the machine's cores.
   */
  concurrency?: number;
}

/**
 * {@link annotateFilesSync} without blocking the event loop for long: the
 * event loop turns every 128 traces measured. `signal` is checked there and
 * once more before the first write: an abort throws {@link AbortedError}
 * and nothing is written. Once the writing has begun (one batch write per
 * file, after every file was measured and checked), it runs to the end, so
 * that no file is left half-annotated.
 *
 * With `concurrency` above 1, several files are measured (and then
 * written) at once in worker processes; an abort before the writing ends
 * them at once, and nothing is written.
 *
 * @example
 * ```ts
 * const rows = await annotateFiles(["S01_R001.hdf5", "S01_R002.hdf5"], { signal: AbortSignal.timeout(60_000) });
 * const same = await annotateFiles(paths, { concurrency: defaultConcurrency() }); // every core
 * ```
 * @throws as {@link annotateFilesSync}; {@link AbortedError} when `signal` aborts before the writing
 */
export function annotateFiles(files: readonly (string | CacheFileBase)[], options: AnnotateFilesOptions = {}): Promise<AnnotatedTrace[]> {
  const what = `annotating ${Array.isArray(files) ? files.length : 0} file(s)`;
  const concurrency = options?.concurrency;
  if (concurrency !== undefined && (typeof concurrency !== "number" || !Number.isInteger(concurrency) || concurrency < 1)) {
    return Promise.reject(analysisOptionError("concurrency", "a positive integer (files at once)", concurrency));
  }
  if (concurrency !== undefined && concurrency > 1 && Array.isArray(files) && files.length > 1 && files.every((f) => typeof f === "string")) {
    return annotateInProcesses(files as string[], options, concurrency, what);
  }
  return runAsync(annotateWork(files, options), options.signal, what, NOTHING_WRITTEN);
}

/** The worker side (./annotateWorker.ts), built. */
const WORKER_MODULE = builtModule(new URL("./annotateWorker.js", import.meta.url));

registerErrorClasses(analysisErrors);

/** Batches of this process, numbered: what the lanes hold is kept by batch. */
let batches = 0;

/**
 * {@link annotateFiles} over `concurrency` lanes (see ./annotateWorker.ts):
 * this process, letting its event loop turn every 128 traces, and
 * `concurrency - 1` worker processes.
 */
async function annotateInProcesses(files: string[], options: AnnotateFilesOptions, concurrency: number, what: string): Promise<AnnotatedTrace[]> {
  checkBatchOptions(options);
  resolvedOnce(options); // a bad option: thrown here, as in this process
  const { onProgress, signal, concurrency: _, ...sent } = options;
  throwIfAborted(signal, what, NOTHING_WRITTEN);
  const batch = ++batches;
  // Imported here: it imports this module.
  const here = await import("./annotateWorker.js");
  const local: Lane = {
    call: async <T>(_module: string, fn: string, args: unknown, onEvent?: (event: unknown) => void): Promise<T> => {
      const emit = (e: unknown) => onEvent?.(e);
      if (fn === "measure") return (await here.measureAsync(args as Parameters<typeof here.measureAsync>[0], emit, signal)) as T;
      return (here as unknown as Record<string, (a: unknown, e: (x: unknown) => void) => T>)[fn]!(args, emit);
    },
  };
  const pool = new ProcessPool(Math.min(concurrency, files.length), local);
  const stop = () => pool.kill(); // nothing is written before every file was measured: ending them is safe
  signal?.addEventListener("abort", stop);
  try {
    // Measure and check, files in order to the next free worker. Once a file failed, the rest are only opened: the
    // error thrown is then the one of `concurrency: 1` (the first file that cannot be opened, else the first that
    // cannot be measured; every file before that one was measured).
    let failed = false;
    const owner: Lane[] = [];
    let known = 0;
    let traces = 0;
    let measured = 0;
    let step = 1;
    const outcomes = await pool.run(files.length, async (lane, i) => {
      owner[i] = lane;
      try {
        return await lane.call<AnnotatedTrace[]>(WORKER_MODULE, "measure", { batch, slot: i, file: files[i], options: sent, openOnly: failed, progress: onProgress !== undefined }, (e) => {
          const ev = e as { traces?: number; measured?: number };
          if (ev.traces !== undefined) {
            known++;
            traces += ev.traces;
            step = Math.max(1, Math.floor(traces / 200));
          } else if (onProgress && ev.measured !== undefined) {
            const before = measured;
            measured += ev.measured;
            // The total: the files opened so far, and as many traces per file for the others.
            const total = known === files.length ? traces : Math.round((traces / known) * files.length);
            if (Math.floor(measured / step) !== Math.floor(before / step) || measured === total) onProgress({ phase: "measure", file: resolve(files[i]!), done: measured, total });
          }
        });
      } catch (e) {
        failed = true;
        throw e;
      }
    });
    throwIfAborted(signal, what, NOTHING_WRITTEN);
    const errors = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason as Error & { opening?: boolean }] : []));
    const error = errors.find((e) => e.opening) ?? errors[0];
    if (error) {
      delete error.opening;
      throw error;
    }
    const rows = outcomes.map((o) => (o as PromiseFulfilledResult<AnnotatedTrace[]>).value);
    if (!options.dryRun) {
      // The last moment to stop; what follows writes, and runs to its end.
      throwIfAborted(signal, what, NOTHING_WRITTEN);
      signal?.removeEventListener("abort", stop);
      const slots = new Map<Lane, number[]>();
      owner.forEach((w, i) => slots.set(w, [...(slots.get(w) ?? []), i]));
      const due = rows.reduce((n, r) => n + r.filter((x) => x.status === "unchanged").length, 0);
      let written = 0;
      // The worker processes' writes first: this process's own runs without a pause once begun.
      const groups = [...slots].sort(([a], [b]) => (a === local ? 1 : 0) - (b === local ? 1 : 0));
      const commits = await Promise.allSettled(
        groups.map(([w, s]) =>
          w.call<Record<number, [number, boolean][]>>(WORKER_MODULE, "commit", { batch, slots: s }, (e) => {
            const ev = e as { written: number; file: string };
            written += ev.written;
            onProgress?.({ phase: "write", file: ev.file, done: written, total: due });
          }),
        ),
      );
      const failure = commits.find((c) => c.status === "rejected") as PromiseRejectedResult | undefined;
      if (failure) {
        // All or nothing over the files: the workers whose writes went through put them back.
        const cause = (failure.reason as Error)?.message ?? String(failure.reason);
        const reverts = await Promise.allSettled(groups.flatMap(([w, s], k) => (commits[k]!.status === "fulfilled" ? [w.call(WORKER_MODULE, "revert", { batch, slots: s, cause })] : [])));
        const partial = reverts.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
        throw partial ? partial.reason : failure.reason;
      }
      for (const c of commits) {
        for (const [slot, done] of Object.entries((c as PromiseFulfilledResult<Record<number, [number, boolean][]>>).value)) {
          const fileRows = rows[Number(slot)]!;
          for (const [index, rejected] of done) Object.assign(fileRows[index]!, { written: true, status: "written", rejected });
        }
      }
    }
    return rows.flat();
  } finally {
    signal?.removeEventListener("abort", stop);
    here.release({ batch });
    pool.release();
  }
}

/**
 * {@link annotateFilesSync} for one file: measures every trace, stores the
 * readout's keys on the traces not yet annotated, returns one row per trace.
 *
 * @example
 * ```ts
 * const rows = annotateFileSync("S01.hdf5");
 * console.log(rows[0].ptp_uv, rows[0].onset_latency_ms, rows[0].status); // 634.1 19 "written"
 * annotateFileSync("S01.hdf5", { overwrite: true, rejectBackground: true });
 * ```
 * @throws as {@link annotateFilesSync}
 */
export function annotateFileSync(file: string | CacheFileBase, options: AnnotateOptions = {}): AnnotatedTrace[] {
  return annotateFilesSync([file], options);
}

/**
 * {@link annotateFileSync} without blocking the event loop (see
 * {@link annotateFiles} for `signal`).
 *
 * @example
 * ```ts
 * const rows = await annotateFile("S01.hdf5", { dryRun: true });
 * ```
 * @throws as {@link annotateFiles}
 */
export function annotateFile(file: string | CacheFileBase, options: AnnotateFilesOptions = {}): Promise<AnnotatedTrace[]> {
  return annotateFiles([file], options);
}
