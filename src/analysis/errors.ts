/**
 * The errors of automatic annotation and map statistics: every one a
 * {@link CacheFileError} with a specific `code` and a one-line message that
 * says what to pass instead.
 * @module
 */
import { CacheFileError, describe } from "../base/errors.js";

/**
 * What kind of problem an {@link AnalysisError} reports:
 * - `EANALYSISOPTION`: an option has a wrong type or value (`window`, `k`,
 *   `method`, `threshold`, `siteMm`, `bootstrap`, `seed`, ...);
 * - `EANALYSISINPUT`: a trace cannot be measured (no sampling rate, the
 *   channel of interest is not among the channels, the peak window lies
 *   outside the trace, non-finite samples in the window);
 * - `EANALYSISEMPTY`: nothing is left to compute statistics over (every
 *   trace rejected, or no trace with usable coordinates).
 */
export type AnalysisErrorCode = "EANALYSISOPTION" | "EANALYSISINPUT" | "EANALYSISEMPTY";

/**
 * Input to `annotateTrace`, `annotateFile(s)` or `mapStats` that cannot be
 * used. `option` names the offending option or attribute.
 *
 * @example
 * ```ts
 * try {
 *   annotateTrace(data, attrs, { window: [120, 15] });
 * } catch (e) {
 *   if (e instanceof AnalysisError && e.code === "EANALYSISOPTION") console.error(e.message);
 *   // expected [start, end] in ms after the pulse with 0 <= start < end for window, got an array of 2: ...
 * }
 * ```
 */
export class AnalysisError extends CacheFileError {
  /** The option or attribute at fault (`"window"`, `"samplingrate"`, ...). */
  readonly option: string;
  constructor(code: AnalysisErrorCode, option: string, message: string, file?: string) {
    super(code, message, file !== undefined ? { file } : {});
    this.option = option;
  }
}

/** An {@link AnalysisError} for an option: "expected X for option, got Z: hint". @internal */
export function analysisOptionError(option: string, expected: string, got: unknown, hint = ""): AnalysisError {
  return new AnalysisError("EANALYSISOPTION", option, `expected ${expected} for ${option}, got ${describeValue(got)}${hint ? `: ${hint}` : ""}`);
}

/** `describe`, but short arrays of numbers shown as they are. @internal */
export function describeValue(value: unknown): string {
  if (Array.isArray(value) && value.length <= 4 && value.every((v) => typeof v === "number")) return `[${value.join(", ")}]`;
  return describe(value);
}

/**
 * A batch write failed part-way and the traces written before the failure
 * could not all be put back (`EPARTIALWRITE`): `changed` lists the traces
 * that now hold measures of this run. The cause (e.g. a `FileInUseError`)
 * is in `cause`. When the put-back succeeds, the original error is thrown
 * instead and the file is as it was.
 */
export class PartialWriteError extends CacheFileError {
  /** Indices of the traces left holding this run's values. */
  readonly changed: number[];
  constructor(file: string, changed: number[], cause: unknown) {
    const why = cause instanceof Error ? cause.message.split("\n")[0] : String(cause);
    super(
      "EPARTIALWRITE",
      `writing measures to ${file} failed (${why}) and ${changed.length} trace(s) could not be restored (${changed.slice(0, 10).join(", ")}${changed.length > 10 ? ", ..." : ""}): run the same annotate again with --overwrite once the file is free`,
      { file, cause },
    );
    this.changed = changed;
  }
}
