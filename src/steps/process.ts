/**
 * offspect's `process_data`: the steps logged in a trace's `_log`, replayed
 * in order on its raw data.
 * @module
 */
import type { TraceAttributes, TraceData } from "../cachefile/index.js";
import { decode, type Decoded } from "../values/codec.js";
import { describe } from "../base/errors.js";
import { ArgumentTypeError } from "../values/errors.js";
import { STEP_NAMES, StepError, type StepName, VALID } from "./errors.js";
import { checkAttrs, checkTraceData, makeTrace } from "./input.js";
import { STEPS } from "./steps.js";

/** Options of {@link processData}. */
export interface ProcessOptions {
  /** The attribute that logs the steps (default `_log`). */
  key?: string;
  /** What separates the step from its time in an entry (default `" on "`). */
  delim?: string;
}

/**
 * The steps logged in `attrs[key]`, in order: the decoded list of texts
 * `"STEP on YYYY-mm-dd HH:MM:SS"`. No attribute, an empty text, null and the
 * text `None` mean no steps. The time is not checked (offspect ignores it).
 * @example
 * loggedSteps({ _log: "['baseline on 2020-01-01 10:00:00', 'flipsign on 2020-01-01 10:00:05']" })
 * // ["baseline", "flipsign"]
 * @throws {StepError} the log is not a list, or an entry is malformed or names an unknown step
 */
export function loggedSteps(attrs: TraceAttributes, options: ProcessOptions = {}): StepName[] {
  checkAttrs(attrs, "the steps");
  const key = options.key ?? "_log";
  const delim = options.delim ?? " on ";
  if (typeof key !== "string") throw new ArgumentTypeError(`expected a string for key, got ${describe(key)}`);
  if (typeof delim !== "string" || delim === "") throw new ArgumentTypeError(`expected a non-empty string for delim, got ${describe(delim)}`);
  const text = attrs[key];
  if (text === undefined) return [];
  if (typeof text !== "string") throw new StepError(`expected text for ${key}, got ${describe(text)}`, { entry: text });
  let log: Decoded;
  try {
    log = decode(text);
  } catch (e) {
    throw new StepError(`cannot decode ${key} ${JSON.stringify(text)}: expected a list of "STEP${delim}DATE" texts; ${VALID}`, {
      entry: text,
      cause: e,
    });
  }
  if (log === null || log === "None") return [];
  if (!Array.isArray(log)) {
    throw new StepError(`expected a list of "STEP${delim}DATE" texts for ${key}, got ${JSON.stringify(text)}; ${VALID}`, { entry: text });
  }
  return log.map((entry) => {
    const parts = typeof entry === "string" ? entry.split(delim) : [];
    if (parts.length !== 2) {
      const shown = typeof entry === "string" ? JSON.stringify(entry) : describe(entry);
      throw new StepError(`malformed ${key} entry ${shown}: expected "STEP${delim}YYYY-mm-dd HH:MM:SS"; ${VALID}`, { entry });
    }
    const step = parts[0]!;
    if (!(STEP_NAMES as readonly string[]).includes(step)) {
      throw new StepError(`unknown preprocessing step ${JSON.stringify(step)} in ${key} entry ${JSON.stringify(entry)}: ${VALID}`, {
        entry,
        step,
      });
    }
    return step as StepName;
  });
}

/**
 * Replays the preprocessing steps logged in `attrs[key]` (default `_log`) on
 * the raw data, in order (offspect's `process_data`). Always returns a new
 * TraceData; without logged steps it is a copy of the input.
 * @example
 * ```ts
 * const cf = new CacheFile("session.hdf5");
 * const attrs = cf.getTraceAttrs(0); // _log: "['baseline on 2020-05-05 12:00:00', 'linenoise on 2020-05-05 12:00:03']"
 * const processed = processData(cf.getTraceData(0), attrs);
 * ```
 * @throws {StepError} the log is malformed or names an unknown step, or a step lacks an attribute it needs
 * @throws {ArgumentTypeError} (a TypeError) data is not a TraceData
 */
export function processData(data: TraceData, attrs: TraceAttributes, options: ProcessOptions = {}): TraceData {
  const [samples, channels] = checkTraceData(data, "processData's data");
  const steps = loggedSteps(attrs, options);
  let out = makeTrace(Float64Array.from(data.data), samples, channels);
  for (const step of steps) out = STEPS[step](out, attrs);
  return out;
}
