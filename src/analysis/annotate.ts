/**
 * `annotateFile` / `annotateFiles`: the measures of every trace of one or
 * more files, written where a person has not yet annotated the trace.
 *
 * Rules:
 * - Only the readout's own keys among the measures are stored (cmep, imep,
 *   pdmep: `neg_peak_magnitude_uv`, `neg_peak_latency_ms`,
 *   `pos_peak_magnitude_uv`, `pos_peak_latency_ms`, `zcr_latency_ms`), as
 *   floats, through {@link writeMeasures} (`setTraceAttrs`' checks). The
 *   other measures are returned, not stored.
 * - A trace is written only while all four peak fields are null (`None`,
 *   `null`, empty or missing): what a person set is kept, unless
 *   `overwrite`. A zero crossing that does not exist is stored as null only
 *   where a value would otherwise stay from before (with `overwrite`).
 * - `rejectBackground` (off by default) also sets `reject` to true on the
 *   traces written whose background EMG is active.
 * - Every trace of every file is measured before anything is written, so an
 *   input error anywhere writes nothing; then the files are written one
 *   after the other.
 * @module
 */
import { CacheFile, type TraceAttributes } from "../cachefile.js";
import { CacheFileError, UnknownReadoutError } from "../errors.js";
import { getReadout } from "../readouts.js";
import { attrIsNull, decodeText, truthy } from "./attrs.js";
import { AnalysisError, analysisOptionError } from "./errors.js";
import { annotateTrace, resolvedOnce, type MeasureOptions, type TraceMeasures } from "./measures.js";
import { writeMeasures, type MeasureUpdate } from "./write.js";

/** The measures a cmep-like readout stores, in the order they are reported. */
export const STORED_MEASURES = Object.freeze([
  "neg_peak_magnitude_uv",
  "neg_peak_latency_ms",
  "pos_peak_magnitude_uv",
  "pos_peak_latency_ms",
  "zcr_latency_ms",
] as const);

/** The four peak fields: a trace where any of them is set counts as annotated by a person. */
export const PEAK_FIELDS = Object.freeze(["neg_peak_magnitude_uv", "neg_peak_latency_ms", "pos_peak_magnitude_uv", "pos_peak_latency_ms"] as const);

/** Progress of a batch, in traces over all files. */
export interface AnnotateProgress {
  phase: "measure" | "write";
  file: string;
  done: number;
  total: number;
}

/** Options of {@link annotateFile} and {@link annotateFiles}: the measures' and the batch's. */
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
}

/**
 * Measures every trace of each file with {@link annotateTrace} and stores
 * the readout's keys on the traces not yet annotated (see the module's
 * rules). Returns one row per trace, files in the order given.
 *
 * @example
 * ```ts
 * const rows = annotateFiles(["S01_R001.hdf5", "S01_R002.hdf5"], { window: [15, 120] });
 * rows.filter((r) => r.written).length; // traces annotated by this run
 * annotateFiles(paths, { dryRun: true, onsetMethod: "cusum" }); // report only
 * ```
 * @throws {AnalysisError} `EANALYSISOPTION` for a bad option; `EANALYSISINPUT` for a trace that cannot be
 *   measured (the message names the file and trace): nothing is written then
 * @throws {StepError} a trace's `_log` cannot be replayed (nothing is written)
 * @throws the errors of opening the files (e.g. {@link FileNotFoundError}) and of {@link writeMeasures}
 */
export function annotateFiles(files: readonly (string | CacheFile)[], options: AnnotateOptions = {}): AnnotatedTrace[] {
  if (!Array.isArray(files)) throw analysisOptionError("files", "an array of CacheFile paths", files);
  checkBatchOptions(options);
  const measure = resolvedOnce(options);
  const opened: CacheFile[] = [];
  try {
    const cfs = files.map((f) => (f instanceof CacheFile ? f : (opened[opened.length] = new CacheFile(f))));
    return annotateOpened(cfs, measure, options);
  } finally {
    // Let go of the files this call opened now, not when the event loop turns (another process may want them).
    for (const cf of opened) cf.close();
  }
}

function annotateOpened(cfs: CacheFile[], measure: ReturnType<typeof resolvedOnce>, options: AnnotateOptions): AnnotatedTrace[] {
  const total = cfs.reduce((n, cf) => n + cf.length, 0);
  const progress = options.onProgress;
  const step = Math.max(1, Math.floor(total / 200));
  let done = 0;

  const plans: Plan[] = [];
  for (const cf of cfs) {
    const plan: Plan = { cf, rows: [], updates: [], updateRows: [] };
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
        const annotated = PEAK_FIELDS.some((k) => (keys as readonly string[]).includes(k) && !attrIsNull(attrs, k));
        if (annotated && !options.overwrite) row.status = "kept";
        else {
          const values: Record<string, number | boolean | null> = {};
          for (const k of keys) {
            const v = m[k];
            if (v !== null) values[k] = v;
            else if (!attrIsNull(attrs, k)) values[k] = null;
          }
          if (options.rejectBackground && m.background_active === true && !truthy(decodeText(attrs["reject"]))) values["reject"] = true;
          row.status = options.dryRun ? "dry-run" : "unchanged";
          plan.updates.push({ index, values });
          plan.updateRows.push(row);
        }
      }
      plan.rows.push(row);
      index++;
      done++;
      if (progress && (done % step === 0 || done === total)) progress({ phase: "measure", file: cf.fname, done, total });
    }
    plans.push(plan);
  }
  if (!options.dryRun) {
    let written = 0;
    const planned = plans.reduce((n, p) => n + p.updates.length, 0);
    for (const p of plans) {
      if (p.updates.length === 0) continue;
      const changed = new Set(writeMeasures(p.cf, p.updates).changed);
      p.updates.forEach((u, k) => {
        const row = p.updateRows[k]!;
        if (changed.has(u.index)) {
          row.written = true;
          row.status = "written";
          row.rejected = u.values["reject"] === true;
        }
        written++;
      });
      if (progress) progress({ phase: "write", file: p.cf.fname, done: written, total: planned });
    }
  }
  return plans.flatMap((p) => p.rows);
}

/**
 * {@link annotateFiles} for one file: measures every trace, stores the
 * readout's keys on the traces not yet annotated, returns one row per trace.
 *
 * @example
 * ```ts
 * const rows = annotateFile("S01.hdf5");
 * console.log(rows[0].ptp_uv, rows[0].onset_latency_ms, rows[0].status); // 634.1 19 "written"
 * annotateFile("S01.hdf5", { overwrite: true, rejectBackground: true });
 * ```
 * @throws as {@link annotateFiles}
 */
export function annotateFile(file: string | CacheFile, options: AnnotateOptions = {}): AnnotatedTrace[] {
  return annotateFiles([file], options);
}
