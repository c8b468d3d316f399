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
 * @module
 */
import type { CacheFile, TraceAttributes, TraceData } from "./cachefile.js";
import { decode, type Decoded } from "./codec.js";
import { CacheFileError, describe } from "./errors.js";

// ---------------------------------------------------------------------------
// Errors

/** The names of the preprocessing steps, in offspect's order. */
export const STEP_NAMES = Object.freeze(["baseline", "detrend", "linenoise", "flipsign"] as const);

/** The name of a preprocessing step. */
export type StepName = (typeof STEP_NAMES)[number];

const VALID = `valid steps are ${STEP_NAMES.join(", ")}`;

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

// ---------------------------------------------------------------------------
// Helpers

function checkTraceData(data: TraceData, what: string): [number, number] {
  const shape = (data as { shape?: unknown } | null)?.shape;
  const values = (data as { data?: unknown } | null)?.data;
  if (
    !(values instanceof Float64Array) ||
    !Array.isArray(shape) ||
    shape.length !== 2 ||
    !shape.every((n) => Number.isInteger(n) && n >= 0)
  ) {
    throw new TypeError(`expected TraceData { data: Float64Array, shape: [samples, channels] } for ${what}, got ${describe(data)}`);
  }
  const [samples, channels] = shape as [number, number];
  if (values.length !== samples * channels) {
    throw new RangeError(`expected ${samples * channels} values for ${what} of shape [${samples}, ${channels}], got ${values.length}`);
  }
  return [samples, channels];
}

function checkAttrs(attrs: TraceAttributes, what: string): void {
  if (attrs === null || typeof attrs !== "object") throw new TypeError(`expected trace attributes (an object of texts) for ${what}, got ${describe(attrs)}`);
}

function makeTrace(values: Float64Array, samples: number, channels: number): TraceData {
  return Object.freeze({ data: values, shape: Object.freeze([samples, channels] as [number, number]) });
}

function decodeAttr(attrs: TraceAttributes, key: string, step: string): { text: string | undefined; value: Decoded | undefined } {
  const text = attrs[key];
  if (text === undefined) return { text, value: undefined };
  if (typeof text !== "string") {
    throw new StepError(`${step} needs ${key}: expected text, got ${describe(text)}`, { entry: text, step });
  }
  try {
    return { text, value: decode(text) };
  } catch (e) {
    throw new StepError(`${step} needs ${key}: cannot decode ${JSON.stringify(text)}`, { entry: text, step, cause: e });
  }
}

function integerAttr(attrs: TraceAttributes, key: string, step: string): number {
  const { text, value } = decodeAttr(attrs, key, step);
  if (text === undefined) throw new StepError(`${step} needs ${key}: the attribute is missing`, { step });
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new StepError(`${step} needs ${key}: expected an integer, got ${JSON.stringify(text)}`, { entry: text, step });
  }
  return value;
}

/** offspect's `decode(attrs["onset_shift"]) or 0`, with missing and the text `None` as null. */
function onsetShift(attrs: TraceAttributes): number {
  const { text, value } = decodeAttr(attrs, "onset_shift", "baseline");
  if (text === undefined || value === null || value === "None" || value === 0 || value === false) return 0;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new StepError(`baseline needs onset_shift: expected an integer or None, got ${JSON.stringify(text)}`, {
      entry: text,
      step: "baseline",
    });
  }
  return value;
}

/** Python's `len(x[:stop])` for a list of `length` items. */
function sliceLength(stop: number, length: number): number {
  if (stop < 0) return Math.max(0, length + stop);
  return Math.min(stop, length);
}

// ---------------------------------------------------------------------------
// Steps

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
 * @throws {TypeError} data is not a TraceData
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
 * @throws {TypeError} data is not a TraceData
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
 * @throws {RangeError} length is not a positive integer or samplingrate not a positive number
 */
export function linenoiseBin(length: number, samplingrate: number): { bin: number; frequency: number; exact: boolean } {
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`expected a positive integer for length, got ${length}`);
  if (!(samplingrate > 0) || !Number.isFinite(samplingrate)) {
    throw new RangeError(`expected a positive number for samplingrate, got ${samplingrate}`);
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
 * @throws {TypeError} data is not a TraceData
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
 * @throws {TypeError} data is not a TraceData
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
  if (typeof key !== "string") throw new TypeError(`expected a string for key, got ${describe(key)}`);
  if (typeof delim !== "string" || delim === "") throw new TypeError(`expected a non-empty string for delim, got ${describe(delim)}`);
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
 * @throws {TypeError} data is not a TraceData
 */
export function processData(data: TraceData, attrs: TraceAttributes, options: ProcessOptions = {}): TraceData {
  const [samples, channels] = checkTraceData(data, "processData's data");
  const steps = loggedSteps(attrs, options);
  let out = makeTrace(Float64Array.from(data.data), samples, channels);
  for (const step of steps) out = STEPS[step](out, attrs);
  return out;
}

// ---------------------------------------------------------------------------
// Similar traces (offspect's `peek -s`)

/** The series made mean-free and of unit length, as scipy's pearsonr does (null when constant or shorter than 2). */
function normalized(x: Float64Array): Float64Array | null {
  const n = x.length;
  if (n < 2) return null;
  const first = x[0]!;
  let constant = true;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    if (v !== first) constant = false;
    sum += v;
  }
  if (constant) return null;
  const mean = sum / n;
  const out = new Float64Array(n);
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i]! - mean;
    out[i] = d;
    ss += d * d;
  }
  const norm = Math.sqrt(ss);
  for (let i = 0; i < n; i++) out[i] = out[i]! / norm;
  return out;
}

function dotClamped(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return Math.max(-1, Math.min(1, s));
}

/**
 * Pearson's correlation coefficient of two series of equal length, computed
 * as scipy's `pearsonr` does (mean-free, unit-length series, dot product,
 * clipped to [-1, 1]). NaN when either series is constant or shorter than 2,
 * or holds NaN.
 * @example
 * pearson(Float64Array.of(1, 2, 3), Float64Array.of(2, 4, 7)) // 0.9933...
 * pearson(Float64Array.of(1, 1, 1), Float64Array.of(1, 2, 3)) // NaN
 * @throws {RangeError} the series differ in length
 */
export function pearson(a: Float64Array, b: Float64Array): number {
  if (!(a instanceof Float64Array) || !(b instanceof Float64Array)) {
    throw new TypeError(`expected two Float64Arrays, got ${describe(a)} and ${describe(b)}`);
  }
  if (a.length !== b.length) throw new RangeError(`expected series of equal length, got ${a.length} and ${b.length}`);
  const na = normalized(a);
  const nb = normalized(b);
  return na && nb ? dotClamped(na, nb) : NaN;
}

/** Two traces that share an id and correlate (see {@link similarTraces}). */
export interface SimilarPair {
  /** The traces' shared `id` attribute, as stored. */
  id: string;
  /** 1-based number of the earlier trace in the file (its index + 1). */
  first: number;
  /** 1-based number of the later trace in the file. */
  second: number;
  /** Pearson's r of the two traces' processed, flattened data. */
  r: number;
}

/**
 * offspect's `peek -s`: processes every trace with {@link processData},
 * groups the traces by their `id` attribute (the stored text), and within
 * each group of two or more correlates every pair of traces (rows after
 * columns, as offspect's loops: for each trace, every earlier trace of the
 * group). Returns the pairs whose |r| exceeds `threshold`, in that order
 * (groups in the order their id first appears). Traces are numbered from 1
 * in the file's order. Traces sharing an id are usually copies: the same
 * trace stored twice, e.g. after merging a file with itself.
 * @example
 * ```ts
 * for (const pair of similarTraces(new CacheFile("merged.hdf5"), 0.9)) console.log(formatSimilarPair(pair));
 * // WARNING: traces [1, 51] share ID 0 and are similar with r = 1.00
 * ```
 * @throws {StepError} a trace's `_log` cannot be replayed (the message names the trace)
 * @throws {RangeError} threshold is not a number, or two traces sharing an id differ in size
 * @throws {TypeError} a trace has no id
 */
export function similarTraces(
  cf: CacheFile | Iterable<readonly [TraceData, TraceAttributes]>,
  threshold: number,
  options: ProcessOptions = {},
): SimilarPair[] {
  if (typeof threshold !== "number" || Number.isNaN(threshold)) throw new RangeError(`expected a number for threshold, got ${describe(threshold)}`);
  const groups = new Map<string, { number: number; series: Float64Array | null; length: number }[]>();
  let index = 0;
  for (const [data, attrs] of cf as Iterable<readonly [TraceData, TraceAttributes]>) {
    const number = ++index;
    const id = attrs?.["id"];
    if (typeof id !== "string") throw new TypeError(`trace ${number} has no id attribute`);
    let processed: TraceData;
    try {
      processed = processData(data, attrs, options);
    } catch (e) {
      if (e instanceof StepError) {
        throw new StepError(`trace ${number} (id ${id}): ${e.message}`, { entry: e.entry, ...(e.step ? { step: e.step } : {}), cause: e });
      }
      throw e;
    }
    let group = groups.get(id);
    if (!group) groups.set(id, (group = []));
    group.push({ number, series: normalized(processed.data), length: processed.data.length });
  }
  const out: SimilarPair[] = [];
  for (const [id, group] of groups) {
    for (let row = 0; row < group.length; row++) {
      for (let col = 0; col < row; col++) {
        const a = group[col]!;
        const b = group[row]!;
        if (a.length !== b.length) {
          throw new RangeError(`traces ${a.number} and ${b.number} share ID ${id} but hold ${a.length} and ${b.length} values: cannot correlate them`);
        }
        const r = a.series && b.series ? dotClamped(a.series, b.series) : NaN;
        if (Math.abs(r) > threshold) out.push({ id, first: a.number, second: b.number, r });
      }
    }
  }
  return out;
}

/** Python's `f"{x:.{digits}f}"`: exact decimal rounding, ties to even. */
function formatFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const negative = hi >>> 31 === 1;
  const exponent = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let shift: number; // |x| = mantissa * 2^shift
  if (exponent === 0) shift = -1074;
  else {
    mantissa |= 1n << 52n;
    shift = exponent - 1075;
  }
  const scaled = mantissa * 10n ** BigInt(digits);
  let q: bigint;
  if (shift >= 0) q = scaled << BigInt(shift);
  else {
    const den = 1n << BigInt(-shift);
    q = scaled / den;
    const twice = (scaled % den) * 2n;
    if (twice > den || (twice === den && q % 2n === 1n)) q += 1n;
  }
  let s = q.toString().padStart(digits + 1, "0");
  if (digits > 0) s = `${s.slice(0, -digits)}.${s.slice(-digits)}`;
  return (negative ? "-" : "") + s;
}

/**
 * offspect's warning line for a pair found by {@link similarTraces}, exactly:
 * `WARNING: traces [{first}, {second}] share ID {id} and are similar with r = {r:3.2f}`.
 * @example
 * formatSimilarPair({ id: "0", first: 1, second: 51, r: 0.9712 })
 * // "WARNING: traces [1, 51] share ID 0 and are similar with r = 0.97"
 */
export function formatSimilarPair(pair: SimilarPair): string {
  return `WARNING: traces [${pair.first}, ${pair.second}] share ID ${pair.id} and are similar with r = ${formatFixed(pair.r, 2)}`;
}

// ---------------------------------------------------------------------------
// FFT for any length: iterative radix-2 for powers of two, Bluestein's chirp-z
// (three power-of-two transforms of at least 2n - 1 points) for the rest.

interface Pow2Plan {
  n: number;
  cos: Float64Array;
  sin: Float64Array;
  rev: Uint32Array;
}

interface BluesteinPlan {
  m: number;
  /** The chirp w[k] = exp(-iπ k²/n). */
  wr: Float64Array;
  wi: Float64Array;
  /** The transform of the conjugate chirp, arranged circularly over m points. */
  br: Float64Array;
  bi: Float64Array;
}

const PLAN_CACHE_LIMIT = 32;
const pow2Plans = new Map<number, Pow2Plan>();
const bluesteinPlans = new Map<number, BluesteinPlan>();

function remember<T>(cache: Map<number, T>, n: number, make: () => T): T {
  let plan = cache.get(n);
  if (!plan) {
    if (cache.size >= PLAN_CACHE_LIMIT) cache.clear();
    cache.set(n, (plan = make()));
  }
  return plan;
}

function pow2Plan(n: number): Pow2Plan {
  return remember(pow2Plans, n, () => {
    const half = n >> 1;
    const cos = new Float64Array(half);
    const sin = new Float64Array(half);
    for (let j = 0; j < half; j++) {
      cos[j] = Math.cos((2 * Math.PI * j) / n);
      sin[j] = Math.sin((2 * Math.PI * j) / n);
    }
    const rev = new Uint32Array(n);
    const bits = Math.log2(n);
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0, v = i; b < bits; b++, v >>= 1) r = (r << 1) | (v & 1);
      rev[i] = r;
    }
    return { n, cos, sin, rev };
  });
}

/** In-place radix-2 FFT; `inverse` uses exp(+i...) and does not scale. */
function fftPow2(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  if (n <= 1) return;
  const { cos, sin, rev } = pow2Plan(n);
  for (let i = 0; i < n; i++) {
    const j = rev[i]!;
    if (j > i) {
      const tr = re[i]!;
      re[i] = re[j]!;
      re[j] = tr;
      const ti = im[i]!;
      im[i] = im[j]!;
      im[j] = ti;
    }
  }
  const sign = inverse ? 1 : -1;
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let j = 0, k = 0; j < half; j++, k += step) {
        const wr = cos[k]!;
        const wi = sign * sin[k]!;
        const a = start + j;
        const b = a + half;
        const xr = re[b]!;
        const xi = im[b]!;
        const tr = xr * wr - xi * wi;
        const ti = xr * wi + xi * wr;
        re[b] = re[a]! - tr;
        im[b] = im[a]! - ti;
        re[a] = re[a]! + tr;
        im[a] = im[a]! + ti;
      }
    }
  }
}

function bluesteinPlan(n: number): BluesteinPlan {
  return remember(bluesteinPlans, n, () => {
    let m = 1;
    while (m < 2 * n - 1) m <<= 1;
    const wr = new Float64Array(n);
    const wi = new Float64Array(n);
    const period = 2 * n;
    // The angle π k²/n taken with k² mod 2n, kept exactly by integer steps
    // ((k + 1)² = k² + 2k + 1), so that it stays accurate for any k.
    for (let k = 0, sq = 0; k < n; sq = (sq + 2 * k + 1) % period, k++) {
      const angle = (Math.PI * sq) / n;
      wr[k] = Math.cos(angle);
      wi[k] = -Math.sin(angle);
    }
    const br = new Float64Array(m);
    const bi = new Float64Array(m);
    br[0] = wr[0]!;
    bi[0] = -wi[0]!;
    for (let k = 1; k < n; k++) {
      br[k] = br[m - k] = wr[k]!;
      bi[k] = bi[m - k] = -wi[k]!;
    }
    fftPow2(br, bi, false);
    return { m, wr, wi, br, bi };
  });
}

/** In-place forward DFT of any length by Bluestein's algorithm. */
function fftBluestein(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  const { m, wr, wi, br, bi } = bluesteinPlan(n);
  const ar = new Float64Array(m);
  const ai = new Float64Array(m);
  for (let k = 0; k < n; k++) {
    ar[k] = re[k]! * wr[k]! - im[k]! * wi[k]!;
    ai[k] = re[k]! * wi[k]! + im[k]! * wr[k]!;
  }
  fftPow2(ar, ai, false);
  for (let k = 0; k < m; k++) {
    const xr = ar[k]!;
    const xi = ai[k]!;
    ar[k] = xr * br[k]! - xi * bi[k]!;
    ai[k] = xr * bi[k]! + xi * br[k]!;
  }
  fftPow2(ar, ai, true);
  for (let k = 0; k < n; k++) {
    const cr = ar[k]! / m;
    const ci = ai[k]! / m;
    re[k] = cr * wr[k]! - ci * wi[k]!;
    im[k] = cr * wi[k]! + ci * wr[k]!;
  }
}

/** In-place DFT of any length; the inverse is scaled by 1/n, as numpy's ifft. */
function transform(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  if (n === 0) return;
  if ((n & (n - 1)) === 0) fftPow2(re, im, inverse);
  else if (!inverse) fftBluestein(re, im);
  else {
    // ifft(x) = conj(fft(conj(x))) / n
    for (let k = 0; k < n; k++) im[k] = -im[k]!;
    fftBluestein(re, im);
    for (let k = 0; k < n; k++) im[k] = -im[k]!;
  }
  if (inverse) {
    for (let k = 0; k < n; k++) {
      re[k] = re[k]! / n;
      im[k] = im[k]! / n;
    }
  }
}

/** A complex series: real and imaginary parts. */
export interface ComplexArray {
  re: Float64Array;
  im: Float64Array;
}

function toComplex(re: ArrayLike<number>, im: ArrayLike<number> | undefined, what: string): ComplexArray {
  if (im !== undefined && im.length !== re.length) {
    throw new RangeError(`expected real and imaginary parts of equal length for ${what}, got ${re.length} and ${im.length}`);
  }
  return { re: Float64Array.from(re), im: im === undefined ? new Float64Array(re.length) : Float64Array.from(im) };
}

/**
 * The discrete Fourier transform of a series of any length, as numpy's
 * `numpy.fft.fft` (unscaled, exp(-2πi kn/N)); O(N log N) for every N
 * (radix-2, or Bluestein's algorithm for other lengths). Returns new arrays.
 * @example
 * fft([1, 2, 3]) // { re: [6, -1.5, -1.5], im: [0, 0.866..., -0.866...] }
 * @throws {RangeError} the parts differ in length
 */
export function fft(re: ArrayLike<number>, im?: ArrayLike<number>): ComplexArray {
  const x = toComplex(re, im, "fft");
  transform(x.re, x.im, false);
  return x;
}

/**
 * The inverse discrete Fourier transform, scaled by 1/N, as numpy's
 * `numpy.fft.ifft`. Returns new arrays.
 * @example
 * ifft([6, -1.5, -1.5], [0, 0.8660254037844386, -0.8660254037844386]).re // ≈ [1, 2, 3]
 * @throws {RangeError} the parts differ in length
 */
export function ifft(re: ArrayLike<number>, im?: ArrayLike<number>): ComplexArray {
  const x = toComplex(re, im, "ifft");
  transform(x.re, x.im, true);
  return x;
}

/**
 * The frequency of each FFT bin, as numpy's `numpy.fft.fftfreq(n, d)`
 * (same floating-point operations): 0, 1, ..., then the negative
 * frequencies, times `1 / (n * d)`.
 * @example
 * fftfreq(4, 0.25) // [0, 1, -2, -1]
 * @throws {RangeError} n is not a positive integer
 */
export function fftfreq(n: number, d = 1): Float64Array {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`expected a positive integer for n, got ${n}`);
  const val = 1.0 / (n * d);
  const out = new Float64Array(n);
  const positive = Math.floor((n - 1) / 2) + 1;
  for (let k = 0; k < n; k++) out[k] = (k < positive ? k : k - n) * val;
  return out;
}
