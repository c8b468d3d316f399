/**
 * The names of the preprocessing steps and the error of a step that cannot run.
 * @module
 */
import { CacheFileError } from "../base/errors.js";

/** The names of the preprocessing steps, in offspect's order. */
export const STEP_NAMES = Object.freeze(["baseline", "detrend", "linenoise", "flipsign"] as const);

/** The name of a preprocessing step. */
export type StepName = (typeof STEP_NAMES)[number];

/** @internal */
export const VALID = `valid steps are ${STEP_NAMES.join(", ")}`;

/**
 * A preprocessing step cannot run (`ESTEP`): a `_log` entry names an unknown
 * step or is not of the form `"STEP on YYYY-mm-dd HH:MM:SS"`, `_log` is not a
 * list, or an attribute a step needs (`samples_pre_event`, `onset_shift`,
 * `samplingrate`) is missing or not a number. The message names the entry or
 * attribute and lists the valid steps.
 */
export class StepError extends CacheFileError {
  /** The offending `_log` entry or attribute text, where there is one. */
  readonly entry: unknown;
  /** The step concerned, where known. */
  readonly step: string | undefined;
  constructor(message: string, options: { entry?: unknown; step?: string; cause?: unknown } = {}) {
    super("ESTEP", message, options.cause === undefined ? {} : { cause: options.cause });
    this.entry = options.entry;
    this.step = options.step;
  }
}
