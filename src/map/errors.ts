/**
 * The error the map and plot functions throw for input a user can fix.
 * @module
 */
import { CacheFileError, describe } from "../base/errors.js";

/**
 * What kind of problem a {@link PlotError} reports:
 * - `EPLOTOPTION`: an option has a wrong type or value (`displayMode`,
 *   `smooth`, `vmax`, `foo`, ...);
 * - `EPLOTINPUT`: coordinates or values are malformed (not arrays, lengths
 *   differ, a value is not a finite number);
 * - `EPLOTEMPTY`: nothing is left to plot (no points, every trace rejected,
 *   every coordinate unusable or outside the MNI grid).
 */
export type PlotErrorCode = "EPLOTOPTION" | "EPLOTINPUT" | "EPLOTEMPTY";

/**
 * Input to a map or plot function that cannot be plotted. `code` says which
 * kind of problem (see {@link PlotErrorCode}), `option` names the offending
 * parameter, and the message says what to pass instead.
 *
 * @example
 * ```ts
 * try {
 *   await plotGlass(coords, values, { displayMode: "q" });
 * } catch (e) {
 *   if (e instanceof PlotError && e.code === "EPLOTOPTION") console.error(e.message);
 * }
 * ```
 */
export class PlotError extends CacheFileError {
  /** The parameter or option at fault (`"displayMode"`, `"values"`, ...). */
  readonly option: string;
  constructor(code: PlotErrorCode, option: string, message: string) {
    super(code, message);
    this.option = option;
  }
}

/** A {@link PlotError} for an option: "expected X for option, got Z". @internal */
export function optionError(option: string, expected: string, got: unknown, hint = ""): PlotError {
  return new PlotError("EPLOTOPTION", option, `expected ${expected} for ${option}, got ${describe(got)}${hint ? `: ${hint}` : ""}`);
}
