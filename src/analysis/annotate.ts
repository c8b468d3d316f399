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
 * @module
 */
import { CacheFile, type TraceAttributes } from "../cachefile/index.js";
import { CacheFileError, UnknownReadoutError } from "../base/errors.js";
import { getReadout } from "../cachefile/readouts.js";
import { attrIsNull, decodeText, truthy } from "./attrs.js";
import { AnalysisError, analysisOptionError } from "./errors.js";
import { annotateTrace, resolvedOnce, type MeasureOptions, type TraceMeasures } from "./measures.js";
import { commitMeasures, planMeasures, revertMeasures, type MeasureUpdate, type PlannedWrite } from "./write.js";
import { runAsync, runSync } from "../base/work.js";
import { NOTHING_WRITTEN } from "../base/abort.js";
import { setOwn } from "../base/own.js";

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

function checkBatchOptions(options: AnnotateOptions): void {
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

interface Plan {
  cf: CacheFile;
  rows: AnnotatedTrace[];
  updates: MeasureUpdate[];
  /** Row of each update. */
  updateRows: AnnotatedTrace[];
  /** What the write reads of each update's trace's attributes, as they were when measured (see {@link writeInputs}). */
  attrs: Map<number, Record<string, string | undefined>>;
  /** The file's read mark before they were read (see CacheFile.readGeneration). */
  generation: number;
}

/**
 * What the write of `values` reads of a trace's stored attributes (see
 * CacheFile.writeTextsSync's `known`): its readin and readout, each key it
 * sets and channel_labels, a key not stored as undefined. Kept instead of
 * all the attributes, which would stay in memory for the whole file.
 */
function writeInputs(attrs: TraceAttributes, values: Record<string, unknown>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { readin: attrs["readin"], readout: attrs["readout"], channel_labels: attrs["channel_labels"] };
  for (const k of Object.keys(values)) setOwn(out, k, attrs[k]);
  return out;
}

/** Traces measured between two turns of the event loop (async forms). */
const MEASURE_BATCH = 128;

function* annotateWork(files: readonly (string | CacheFile)[], options: AnnotateOptions): Generator<unknown, AnnotatedTrace[]> {
  if (!Array.isArray(files)) throw analysisOptionError("files", "an array of CacheFile paths", files);
  checkBatchOptions(options);
  const measure = resolvedOnce(options);
  const opened: CacheFile[] = [];
  try {
    const cfs = files.map((f) => (f instanceof CacheFile ? f : (opened[opened.length] = new CacheFile(f))));
    return yield* annotateOpened(cfs, measure, options);
  } finally {
    // Let go of the files this call opened now, not when the event loop turns (another process may want them).
    for (const cf of opened) cf.close();
  }
}

function* annotateOpened(cfs: CacheFile[], measure: ReturnType<typeof resolvedOnce>, options: AnnotateOptions): Generator<unknown, AnnotatedTrace[]> {
  const total = cfs.reduce((n, cf) => n + cf.length, 0);
  const progress = options.onProgress;
  const step = Math.max(1, Math.floor(total / 200));
  let done = 0;

  const plans: Plan[] = [];
  for (const cf of cfs) {
    const plan: Plan = { cf, rows: [], updates: [], updateRows: [], attrs: new Map(), generation: cf.readGeneration };
    let index = 0;
    for (const [data, attrs] of cf) {
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
      done++;
      if (progress && (done % step === 0 || done === total)) progress({ phase: "measure", file: cf.fname, done, total });
      if (done % MEASURE_BATCH === 0) {
        // Let go of the file between batches: a writer elsewhere can get in, and (measured on
        // 10,000 traces) a read session that is let go now and then reads faster than one long one.
        cf.close();
        yield;
      }
    }
    plans.push(plan);
  }
  if (!options.dryRun) {
    // Every file's writes are planned (and checked) first; after the last turn nothing stops the
    // writing, so that an abort never leaves some files annotated and others not.
    const planned: PlannedWrite[][] = [];
    for (const p of plans) planned.push(p.updates.length === 0 ? [] : yield* planMeasures(p.cf, p.updates, p.attrs));
    yield;
    let written = 0;
    const total = plans.reduce((n, p) => n + p.updates.length, 0);
    plans.forEach((p, k) => {
      if (p.updates.length === 0) return;
      let result;
      try {
        // The write checks against the attributes measured, unless the file changed since.
        result = commitMeasures(p.cf, planned[k]!, { generation: p.generation, attrs: p.attrs });
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
      const changed = new Set(result.changed);
      p.updates.forEach((u, j) => {
        const row = p.updateRows[j]!;
        if (changed.has(u.index)) {
          row.written = true;
          row.status = "written";
          row.rejected = u.values["reject"] === true;
        }
        written++;
      });
      if (progress) progress({ phase: "write", file: p.cf.fname, done: written, total });
    });
  }
  return plans.flatMap((p) => p.rows);
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
export function annotateFilesSync(files: readonly (string | CacheFile)[], options: AnnotateOptions = {}): AnnotatedTrace[] {
  return runSync(annotateWork(files, options));
}

/**
 * {@link annotateFilesSync} without blocking the event loop for long: the
 * event loop turns every 128 traces measured. `signal` is checked there and
 * once more before the first write: an abort throws {@link AbortedError}
 * and nothing is written. Once the writing has begun (one batch write per
 * file, after every file was measured and checked), it runs to the end, so
 * that no file is left half-annotated.
 *
 * @example
 * ```ts
 * const rows = await annotateFiles(["S01_R001.hdf5", "S01_R002.hdf5"], { signal: AbortSignal.timeout(60_000) });
 * ```
 * @throws as {@link annotateFilesSync}; {@link AbortedError} when `signal` aborts before the writing
 */
export function annotateFiles(files: readonly (string | CacheFile)[], options: AnnotateOptions & { signal?: AbortSignal } = {}): Promise<AnnotatedTrace[]> {
  return runAsync(annotateWork(files, options), options.signal, `annotating ${Array.isArray(files) ? files.length : 0} file(s)`, NOTHING_WRITTEN);
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
export function annotateFileSync(file: string | CacheFile, options: AnnotateOptions = {}): AnnotatedTrace[] {
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
export function annotateFile(file: string | CacheFile, options: AnnotateOptions & { signal?: AbortSignal } = {}): Promise<AnnotatedTrace[]> {
  return annotateFiles([file], options);
}
