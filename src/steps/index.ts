/**
 * Preprocessing steps, as offspect's `offspect.cache.steps`: `baseline`,
 * `detrend`, `linenoise` and `flipsign`, `processData` that replays the steps
 * logged in a trace's `_log` attribute, and offspect's `peek -s` check for
 * traces that share an id and look alike (`similarTraces`).
 *
 * Every step takes a {@link TraceData} (row-major, `[samples, channels]`) and
 * the trace's attributes, works on each channel along the samples axis, and
 * returns a NEW TraceData; the input is never modified.
 *
 * Differences from offspect, all deliberate:
 * - offspect's `detrend` and `linenoise` work along numpy's last axis, so they
 *   are only right for 1-D data (on a `[samples, 1]` array `detrend` fails
 *   and `linenoise` transforms across channels). Here every step works per
 *   channel along the samples axis, which is what offspect computes for one
 *   channel given as a 1-D array.
 * - offspect's `linenoise` crashes when no FFT bin is exactly 50 Hz; here the
 *   nearest bin is used (see {@link linenoiseBin}). Its `linenoise` also
 *   overwrites its input; these steps never do.
 * - `onset_shift` that is missing, null or the text `None` counts as 0
 *   (offspect fails on missing and `None`). An empty or null `_log` means no
 *   steps.
 *
 * The code lives in `steps/`: `steps.ts` (the four steps), `process.ts`
 * (`_log` replay), `similar.ts` (`peek -s`), `fft.ts` (the transform
 * `linenoise` uses), `errors.ts`, `input.ts` (what the steps share). This
 * module is their one import path.
 * @module
 */
export { STEP_NAMES, StepError, type StepName } from "./errors.js";
export { baseline, detrend, flipsign, linenoise, linenoiseBin, STEPS, type Step } from "./steps.js";
export { loggedSteps, processData, type ProcessOptions } from "./process.js";
export { formatSimilarPair, pearson, similarPairs, similarTraces, type SimilarPair } from "./similar.js";
