/**
 * offspect's preprocessing steps, per channel along the samples axis:
 * `baseline`, `detrend`, `linenoise`, `flipsign` (see ../steps.ts for how
 * they differ from offspect's, deliberately).
 * @module
 */
import type { TraceAttributes, TraceData } from "../cachefile/index.js";
import { ArgumentRangeError } from "../values/errors.js";
import { StepError, type StepName } from "./errors.js";
import { transform } from "./fft.js";
import { checkAttrs, checkTraceData, decodeAttr, integerAttr, makeTrace, onsetShift, sliceLength } from "./input.js";

/**
 * Subtracts from each channel the mean of its first `samples_pre_event +
 * onset_shift` samples (offspect: `data - data[:pre + shift].mean(0)`).
 * `onset_shift` missing, null or `None` counts as 0. As in numpy, the count
 * follows Python's slicing: a negative sum leaves out that many samples at
 * the end, and a count of 0 gives a mean of NaN (so every value becomes NaN).
 * @example
 * const out = baseline({ data: Float64Array.of(1, 3, 10), shape: [3, 1] }, { samples_pre_event: "2", onset_shift: "0" });
 * // out.data: [-1, 1, 8] (the mean of the first two samples, 2, subtracted)
 * @throws {StepError} samples_pre_event is missing or not an integer, or onset_shift is not an integer or None
 * @throws {ArgumentTypeError} (a TypeError) data is not a TraceData
 */
export function baseline(data: TraceData, attrs: TraceAttributes): TraceData {
  const [samples, channels] = checkTraceData(data, "baseline's data");
  checkAttrs(attrs, "baseline");
  const pre = integerAttr(attrs, "samples_pre_event", "baseline");
  const count = sliceLength(pre + onsetShift(attrs), samples);
  const x = data.data;
  const out = new Float64Array(x.length);
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let i = 0; i < count; i++) sum += x[i * channels + c]!;
    const mean = sum / count; // 0/0 = NaN, as numpy's mean of nothing
    for (let i = 0; i < samples; i++) out[i * channels + c] = x[i * channels + c]! - mean;
  }
  return makeTrace(out, samples, channels);
}

/**
 * Removes a linear trend from each channel: the slope is the mean of the
 * first differences, and sample `n` loses `n * slope` (offspect: `data -
 * arange(len(data)) * mean(diff(data))`). The first sample stays; a channel
 * of one sample becomes NaN (numpy's mean of no differences).
 * @example
 * const out = detrend({ data: Float64Array.of(5, 7, 9, 11), shape: [4, 1] }, {});
 * // out.data: [5, 5, 5, 5]
 * @throws {ArgumentTypeError} (a TypeError) data is not a TraceData
 */
export function detrend(data: TraceData, attrs: TraceAttributes): TraceData {
  const [samples, channels] = checkTraceData(data, "detrend's data");
  checkAttrs(attrs, "detrend");
  const x = data.data;
  const out = new Float64Array(x.length);
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let i = 1; i < samples; i++) sum += x[i * channels + c]! - x[(i - 1) * channels + c]!;
    const slope = sum / (samples - 1);
    for (let i = 0; i < samples; i++) out[i * channels + c] = x[i * channels + c]! - i * slope;
  }
  return makeTrace(out, samples, channels);
}

/**
 * The FFT bin offspect's `linenoise` zeroes for a signal of `length` samples
 * at `samplingrate` Hz: the first bin whose frequency, as numpy's
 * `fftfreq(length, 1 / samplingrate)` computes it, equals 50 exactly. When
 * there is none (offspect then crashes) this returns the positive-frequency
 * bin nearest to 50 Hz, with `exact: false`.
 * @example
 * linenoiseBin(2000, 1000) // { bin: 100, frequency: 50, exact: true }
 * linenoiseBin(1001, 1000) // { bin: 50, frequency: 49.95..., exact: false }
 * @throws {ArgumentRangeError} (a RangeError) length is not a positive integer or samplingrate not a positive number
 */
export function linenoiseBin(length: number, samplingrate: number): { bin: number; frequency: number; exact: boolean } {
  if (!Number.isInteger(length) || length < 1) throw new ArgumentRangeError(`expected a positive integer for length, got ${length}`);
  if (!(samplingrate > 0) || !Number.isFinite(samplingrate)) {
    throw new ArgumentRangeError(`expected a positive number for samplingrate, got ${samplingrate}`);
  }
  const val = 1.0 / (length * (1 / samplingrate)); // numpy: 1.0 / (n * d), d = 1 / fs
  const top = Math.floor((length - 1) / 2); // the highest positive-frequency bin
  const k0 = Math.round(50 / val);
  // k * val grows with k, so an exact 50 can only be next to 50 / val.
  for (const k of [k0 - 1, k0, k0 + 1]) {
    if (k >= 0 && k <= top && k * val === 50) return { bin: k, frequency: 50, exact: true };
  }
  let best = Math.min(Math.max(k0, 0), top);
  for (const k of [best - 1, best + 1]) {
    if (k >= 0 && k <= top && Math.abs(k * val - 50) < Math.abs(best * val - 50)) best = k;
  }
  return { bin: best, frequency: best * val, exact: false };
}

/**
 * offspect's FFT notch at 50 Hz, per channel: the channel is zero-padded at
 * the front until it has at least `samplingrate` samples, Fourier
 * transformed, the bin at exactly +50 Hz is set to 0, and the real part of the
 * inverse transform, without the padding, is returned.
 *
 * Faithful to offspect, this zeroes only the positive-frequency bin and keeps
 * the real part, which removes HALF of a 50 Hz component (the mirrored -50 Hz
 * bin keeps the other half): `A sin(2π·50·t)` becomes `A/2 sin(2π·50·t)` when
 * 50 Hz falls on a bin. When no bin is exactly 50 Hz (e.g. 1001 samples at
 * 1000 Hz), offspect crashes; this zeroes the nearest bin instead (see
 * {@link linenoiseBin}).
 * @example
 * const fs = 1000;
 * const x = Float64Array.from({ length: 1000 }, (_, n) => 3 + 2 * Math.sin((2 * Math.PI * 50 * n) / fs));
 * const out = linenoise({ data: x, shape: [1000, 1] }, { samplingrate: "1000" });
 * // out.data[n] ≈ 3 + 1 * sin(2π·50·n/fs)
 * @throws {StepError} samplingrate is missing or not a positive number
 * @throws {ArgumentTypeError} (a TypeError) data is not a TraceData
 */
export function linenoise(data: TraceData, attrs: TraceAttributes): TraceData {
  const [samples, channels] = checkTraceData(data, "linenoise's data");
  checkAttrs(attrs, "linenoise");
  const { text, value: fs } = decodeAttr(attrs, "samplingrate", "linenoise");
  if (text === undefined) throw new StepError("linenoise needs samplingrate: the attribute is missing", { step: "linenoise" });
  if (typeof fs !== "number" || !(fs > 0) || !Number.isFinite(fs)) {
    throw new StepError(`linenoise needs samplingrate: expected a positive number, got ${JSON.stringify(text)}`, {
      entry: text,
      step: "linenoise",
    });
  }
  const out = new Float64Array(data.data.length);
  if (samples === 0) return makeTrace(out, samples, channels);
  const n = samples < fs ? Math.ceil(fs) : samples; // offspect pads one zero at a time while len < fs
  const pad = n - samples;
  const { bin } = linenoiseBin(n, fs);
  const x = data.data;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let c = 0; c < channels; c++) {
    re.fill(0);
    im.fill(0);
    for (let i = 0; i < samples; i++) re[pad + i] = x[i * channels + c]!;
    transform(re, im, false);
    re[bin] = 0;
    im[bin] = 0;
    transform(re, im, true);
    for (let i = 0; i < samples; i++) out[i * channels + c] = re[pad + i]!;
  }
  return makeTrace(out, samples, channels);
}

/**
 * Negates the data (offspect: `-data`).
 * @example
 * flipsign({ data: Float64Array.of(1, -2), shape: [2, 1] }, {}).data // [-1, 2]
 * @throws {ArgumentTypeError} (a TypeError) data is not a TraceData
 */
export function flipsign(data: TraceData, attrs: TraceAttributes): TraceData {
  const [samples, channels] = checkTraceData(data, "flipsign's data");
  checkAttrs(attrs, "flipsign");
  const out = new Float64Array(data.data.length);
  for (let i = 0; i < out.length; i++) out[i] = -data.data[i]!;
  return makeTrace(out, samples, channels);
}

/** A preprocessing step. */
export type Step = (data: TraceData, attrs: TraceAttributes) => TraceData;

/** The steps by name (offspect's `PreProcessor`). */
export const STEPS: Readonly<Record<StepName, Step>> = Object.freeze({ baseline, detrend, linenoise, flipsign });
