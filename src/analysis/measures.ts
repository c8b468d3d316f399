/**
 * `annotateTrace`: the MEP measures of one trace, a pure function of its data
 * and attributes. The definitions (each number is checked in the tests
 * against a numpy reference written from this text):
 *
 * - **The pulse** is at sample `p0 = samples_pre_event + onset_shift`
 *   (`onset_shift` missing or null counts as 0), the convention of the
 *   `baseline` step that `_log` replays (and of offspect's `baseline` and
 *   "amplitude from latency"). offspect's "estimate parameters" button uses
 *   `samples_pre_event - onset_shift` instead; both agree when `onset_shift`
 *   is 0, and a trace with shift `s` here gives offspect's estimate for `-s`.
 *   Sample `n` is at `t(n) = (n - p0) * 1000 / samplingrate` ms.
 * - **Processing**: the `_log` steps are replayed on the raw data first, as
 *   `processData` does; then one channel is measured: the only one, or the
 *   column of `channel_of_interest` in `channel_labels` (or `channel`).
 * - **Peak window** `[w0, w1)` ms (default 15–120): samples `p0 +
 *   trunc(w0 * fs / 1000)` up to, not including, `p0 + trunc(w1 * fs /
 *   1000)`, offspect's sample range, clipped to the trace.
 * - **Peaks**: the minimum and the maximum of the window (the first sample
 *   where there are ties); magnitudes in the data's unit (µV), latencies
 *   `t(n)` in ms. These are offspect's estimate (`click_estimate_parameters`);
 *   its latency `argmin * 1000 / fs + w0` equals `t(n)` whenever `w0 * fs /
 *   1000` is a whole number (e.g. 15 ms at 1000 Hz).
 * - `ptp_uv = pos - neg`; `mep_present` when `ptp_uv >= mepThreshold` (50).
 * - **Baseline** `[b0, b1)` ms (default -100 to -5): the samples from `p0 +
 *   trunc(b0 * fs / 1000)` up to `p0 + trunc(b1 * fs / 1000)`, clipped to the
 *   trace (so a trace with less pre-stimulus data uses what it has). Its mean
 *   `μ` and standard deviation `σ = sqrt(mean((x - μ)²))` (population, so
 *   `σ` is the baseline's RMS after removing its mean).
 * - `prestim_rms_uv = σ`; `background_active` when it exceeds
 *   `backgroundThreshold` (20 µV). Both null without baseline samples.
 * - `zcr_latency_ms`: the first crossing of `μ` from the earlier peak to the
 *   later one: the first `n` where `x(n) - μ` is 0 (at `t(n)`), or changes
 *   sign between `n` and `n + 1` (at `t(n) + d(n) / (d(n) - d(n+1)) * 1000 /
 *   fs`, linear interpolation); null when there is none or no baseline.
 * - `onset_latency_ms`, method `"threshold"` (default): `t(n)` of the first
 *   sample of the peak window with `|x(n) - μ| > k σ` (k = 3). Method
 *   `"cusum"` (after Ellaway 1978): with `r(n) = |x(n) - μ|` and `m` the mean
 *   of `r` over the baseline, `h` is the largest `|Σ (r - m)|` over the
 *   baseline's running sums (the band within which the baseline's CUSUM
 *   stays); in the peak window the running sum `C(n) = Σ_{a..n} (r - m)`
 *   (with `C(a - 1) = 0`) first exceeds `k h` at `n*`, and the onset is the
 *   sample after the last one before `n*` where `C` was still at most `h`
 *   (where the sum left the baseline's band for good). Null when nothing
 *   exceeds the criterion or there
 *   is no baseline.
 *
 * @module
 */
import type { TraceAttributes, TraceData } from "../cachefile/index.js";
import { describe } from "../base/errors.js";
import { processData } from "../steps/process.js";
import { decodeText, isNullish } from "../values/attrs.js";
import { AnalysisError, analysisOptionError } from "./errors.js";

/** How the onset latency is found. */
export type OnsetMethod = "threshold" | "cusum";

/** The onset methods. */
export const ONSET_METHODS: readonly OnsetMethod[] = Object.freeze(["threshold", "cusum"] as const);

/** Options of {@link annotateTrace}; every one has a default. */
export interface MeasureOptions {
  /** The peak window, ms after the pulse, `[start, end)` (default `[15, 120]`). */
  window?: readonly [number, number];
  /** The pre-stimulus baseline, ms relative to the pulse, `[start, end)` (default `[-100, -5]`). */
  baselineWindow?: readonly [number, number];
  /** How the onset is found (default `"threshold"`). */
  onsetMethod?: OnsetMethod;
  /** The criterion factor of the onset methods (default 3). */
  k?: number;
  /** Peak-to-peak amplitude from which an MEP counts as present, µV (default 50). */
  mepThreshold?: number;
  /** Baseline RMS above which the muscle counts as active, µV (default 20). */
  backgroundThreshold?: number;
  /** The channel to measure: a label or a column index (default: `channel_of_interest`, or the only channel). */
  channel?: string | number;
  /** Replay the trace's `_log` steps first (default true). */
  processSteps?: boolean;
}

/** The options with their defaults filled in and checked. */
export interface ResolvedMeasureOptions {
  window: readonly [number, number];
  baselineWindow: readonly [number, number];
  onsetMethod: OnsetMethod;
  k: number;
  mepThreshold: number;
  backgroundThreshold: number;
  channel: string | number | undefined;
  processSteps: boolean;
}

/** The measures of one trace (µV, ms after the pulse); null where a measure is undefined. */
export interface TraceMeasures {
  neg_peak_magnitude_uv: number;
  neg_peak_latency_ms: number;
  pos_peak_magnitude_uv: number;
  pos_peak_latency_ms: number;
  ptp_uv: number;
  zcr_latency_ms: number | null;
  onset_latency_ms: number | null;
  mep_present: boolean;
  prestim_rms_uv: number | null;
  background_active: boolean | null;
}

/** The defaults of {@link MeasureOptions}. */
export const MEASURE_DEFAULTS: Readonly<Omit<ResolvedMeasureOptions, "channel">> = Object.freeze({
  window: Object.freeze([15, 120] as const),
  baselineWindow: Object.freeze([-100, -5] as const),
  onsetMethod: "threshold",
  k: 3,
  mepThreshold: 50,
  backgroundThreshold: 20,
  processSteps: true,
});

function range(value: unknown, option: string, fallback: readonly [number, number], nonNegative: boolean): readonly [number, number] {
  if (value === undefined) return fallback;
  const ok =
    Array.isArray(value) &&
    value.length === 2 &&
    value.every((v) => typeof v === "number" && Number.isFinite(v)) &&
    (value[0] as number) < (value[1] as number) &&
    (!nonNegative || (value[0] as number) >= 0);
  if (!ok) {
    throw analysisOptionError(
      option,
      nonNegative ? "[start, end] in ms after the pulse with 0 <= start < end" : "[start, end] in ms relative to the pulse with start < end",
      value,
      nonNegative ? "e.g. [15, 120]" : "e.g. [-100, -5]",
    );
  }
  return Object.freeze([value[0] as number, value[1] as number] as const);
}

function nonNegativeNumber(value: unknown, option: string, fallback: number, positive = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || (positive && value === 0)) {
    throw analysisOptionError(option, positive ? "a positive finite number" : "a finite number >= 0", value);
  }
  return value;
}

/**
 * Checks the options and fills in the defaults.
 * @example resolveMeasureOptions({ k: 5 }).window // [15, 120]
 * @throws {AnalysisError} `EANALYSISOPTION` for an option of the wrong type or value
 */
export function resolveMeasureOptions(options: MeasureOptions = {}): ResolvedMeasureOptions {
  if (options === null || typeof options !== "object") throw analysisOptionError("options", "an options object", options);
  const method = options.onsetMethod ?? MEASURE_DEFAULTS.onsetMethod;
  if (!(ONSET_METHODS as readonly unknown[]).includes(method)) {
    throw analysisOptionError("onsetMethod", `one of ${ONSET_METHODS.map((m) => JSON.stringify(m)).join(", ")}`, method);
  }
  const channel = options.channel;
  if (channel !== undefined && typeof channel !== "string" && !(Number.isInteger(channel) && channel >= 0)) {
    throw analysisOptionError("channel", "a channel label or a column index >= 0", channel);
  }
  const processSteps = options.processSteps ?? true;
  if (typeof processSteps !== "boolean") throw analysisOptionError("processSteps", "true or false", processSteps);
  return {
    window: range(options.window, "window", MEASURE_DEFAULTS.window, true),
    baselineWindow: range(options.baselineWindow, "baselineWindow", MEASURE_DEFAULTS.baselineWindow, false),
    onsetMethod: method,
    k: nonNegativeNumber(options.k, "k", MEASURE_DEFAULTS.k, true),
    mepThreshold: nonNegativeNumber(options.mepThreshold, "mepThreshold", MEASURE_DEFAULTS.mepThreshold),
    backgroundThreshold: nonNegativeNumber(options.backgroundThreshold, "backgroundThreshold", MEASURE_DEFAULTS.backgroundThreshold),
    channel,
    processSteps,
  };
}

function inputError(option: string, message: string): AnalysisError {
  return new AnalysisError("EANALYSISINPUT", option, message);
}

/** The trace attributes the measures need. */
interface Timing {
  fs: number;
  p0: number;
}

function timing(attrs: TraceAttributes): Timing {
  const fs = decodeText(attrs["samplingrate"]);
  if (typeof fs !== "number" || !Number.isFinite(fs) || fs <= 0) {
    throw inputError("samplingrate", `expected a positive sampling rate in Hz for samplingrate, got ${describe(attrs["samplingrate"])}: set the origin's samplingrate`);
  }
  const pre = decodeText(attrs["samples_pre_event"]);
  if (typeof pre !== "number" || !Number.isInteger(pre) || pre < 0) {
    throw inputError(
      "samples_pre_event",
      `expected a whole number of samples >= 0 for samples_pre_event, got ${describe(attrs["samples_pre_event"])}: set the origin's samples_pre_event`,
    );
  }
  const shiftValue = decodeText(attrs["onset_shift"]);
  let shift = 0;
  if (!isNullish(shiftValue)) {
    if (typeof shiftValue !== "number" || !Number.isInteger(shiftValue)) {
      throw inputError("onset_shift", `expected a whole number of samples or None for onset_shift, got ${describe(attrs["onset_shift"])}: fix the trace's onset_shift`);
    }
    shift = shiftValue;
  }
  return { fs, p0: pre + shift };
}

function channelIndex(attrs: TraceAttributes, channels: number, wanted: string | number | undefined): number {
  if (typeof wanted === "number") {
    if (wanted >= channels) throw inputError("channel", `expected a column index below ${channels} for channel, got ${wanted}: the trace has ${channels} channel(s)`);
    return wanted;
  }
  if (wanted === undefined && channels === 1) return 0;
  const label = wanted ?? attrs["channel_of_interest"];
  const labels = decodeText(attrs["channel_labels"]);
  const at = Array.isArray(labels) && typeof label === "string" ? labels.indexOf(label) : -1;
  if (at < 0 || at >= channels) {
    throw inputError(
      "channel_of_interest",
      `expected ${describe(label)} among the channel_labels ${describe(attrs["channel_labels"])} of a trace with ${channels} channels: pass channel (a label or column index)`,
    );
  }
  return at;
}

/** The sample range `[lo, hi)` of `[start, end)` ms around p0, offspect's truncation, clipped to `0..samples`. */
function sampleRange(p0: number, fs: number, ms: readonly [number, number], samples: number): [number, number] {
  const lo = p0 + Math.trunc((ms[0] * fs) / 1000);
  const hi = p0 + Math.trunc((ms[1] * fs) / 1000);
  return [Math.max(0, Math.min(lo, samples)), Math.max(0, Math.min(hi, samples))];
}

/**
 * The MEP measures of one trace (see the module's definitions): replays the
 * `_log` steps, then measures the channel of interest. Pure: reads nothing
 * but its arguments, changes nothing.
 *
 * @example
 * ```ts
 * const cf = new CacheFile("S01.hdf5");
 * const m = annotateTrace(cf.getTraceData(0), cf.getTraceAttrs(0));
 * m.neg_peak_magnitude_uv; // -212.4 (µV)
 * m.pos_peak_latency_ms;   // 27 (ms after the pulse)
 * m.mep_present;           // true
 * annotateTrace(data, attrs, { onsetMethod: "cusum", window: [10, 60] });
 * ```
 * @throws {AnalysisError} `EANALYSISOPTION` for a bad option; `EANALYSISINPUT` when the trace has no
 *   usable samplingrate/samples_pre_event/onset_shift, the channel is not found, the peak window lies
 *   outside the trace, or the window or baseline holds a value that is not finite
 * @throws {StepError} the trace's `_log` cannot be replayed
 */
export function annotateTrace(data: TraceData, attrs: TraceAttributes, options: MeasureOptions | ResolvedMeasureOptions = {}): TraceMeasures {
  const o = isResolved(options) ? options : resolveMeasureOptions(options);
  if (attrs === null || typeof attrs !== "object") throw new TypeError(`expected trace attributes (an object of texts), got ${describe(attrs)}`);
  const shape = (data as { shape?: unknown } | null)?.shape;
  if (
    !((data as { data?: unknown } | null)?.data instanceof Float64Array) ||
    !Array.isArray(shape) ||
    shape.length !== 2 ||
    !shape.every((v) => Number.isInteger(v) && v >= 0) ||
    data.data.length !== shape[0] * shape[1]
  ) {
    throw new TypeError(`expected TraceData { data: Float64Array, shape: [samples, channels] } for annotateTrace's data, got ${describe(data)}`);
  }
  // Without logged steps processData is a copy of the data: measure the data itself (it is never changed here).
  const processed = o.processSteps && !isNullish(decodeText(attrs["_log"])) ? processData(data, attrs) : data;
  const [samples, channels] = processed.shape;
  const { fs, p0 } = timing(attrs);
  const c = channelIndex(attrs, channels, o.channel);
  const x = processed.data;
  const at = (n: number) => x[n * channels + c]!;
  const t = (n: number) => ((n - p0) * 1000) / fs;

  const [a, b] = sampleRange(p0, fs, o.window, samples);
  if (b <= a) {
    throw inputError(
      "window",
      `the peak window ${o.window[0]}–${o.window[1]} ms after the pulse (sample ${p0}) lies outside the trace's ${samples} samples: check samples_pre_event and onset_shift, or pass another window`,
    );
  }
  let neg = a;
  let pos = a;
  for (let n = a; n < b; n++) {
    const v = at(n);
    if (!Number.isFinite(v)) {
      throw inputError("data", `the trace holds ${v} at sample ${n}, in its peak window: check the data and the _log steps (a baseline over no samples gives NaN)`);
    }
    if (v < at(neg)) neg = n;
    if (v > at(pos)) pos = n;
  }
  const negAmp = at(neg);
  const posAmp = at(pos);
  const ptp = posAmp - negAmp;

  // Baseline: mean and population standard deviation.
  const [c0, c1] = sampleRange(p0, fs, o.baselineWindow, samples);
  let mu: number | null = null;
  let sigma: number | null = null;
  if (c1 > c0) {
    let sum = 0;
    for (let n = c0; n < c1; n++) {
      const v = at(n);
      if (!Number.isFinite(v)) {
        throw inputError("data", `the trace holds ${v} at sample ${n}, in its baseline: check the data and the _log steps`);
      }
      sum += v;
    }
    mu = sum / (c1 - c0);
    let ss = 0;
    for (let n = c0; n < c1; n++) {
      const d = at(n) - mu;
      ss += d * d;
    }
    sigma = Math.sqrt(ss / (c1 - c0));
  }

  let zcr: number | null = null;
  if (mu !== null && neg !== pos) {
    const lo = Math.min(neg, pos);
    const hi = Math.max(neg, pos);
    for (let n = lo; n < hi && zcr === null; n++) {
      const d0 = at(n) - mu;
      const d1 = at(n + 1) - mu;
      if (d0 === 0) zcr = t(n);
      else if ((d0 < 0 && d1 > 0) || (d0 > 0 && d1 < 0)) zcr = t(n) + (d0 / (d0 - d1)) * (1000 / fs);
    }
    if (zcr === null && at(hi) - mu === 0) zcr = t(hi);
  }

  let onset: number | null = null;
  if (mu !== null && sigma !== null) {
    if (o.onsetMethod === "threshold") {
      const limit = o.k * sigma;
      for (let n = a; n < b; n++) {
        if (Math.abs(at(n) - mu) > limit) {
          onset = t(n);
          break;
        }
      }
    } else {
      onset = cusumOnset(at, mu, c0, c1, a, b, o.k);
      if (onset !== null) onset = t(onset);
    }
  }

  return {
    neg_peak_magnitude_uv: negAmp,
    neg_peak_latency_ms: t(neg),
    pos_peak_magnitude_uv: posAmp,
    pos_peak_latency_ms: t(pos),
    ptp_uv: ptp,
    zcr_latency_ms: zcr,
    onset_latency_ms: onset,
    mep_present: ptp >= o.mepThreshold,
    prestim_rms_uv: sigma,
    background_active: sigma === null ? null : sigma > o.backgroundThreshold,
  };
}

/** The onset sample by CUSUM (see the module's definition), or null. */
function cusumOnset(at: (n: number) => number, mu: number, c0: number, c1: number, a: number, b: number, k: number): number | null {
  let m = 0;
  for (let n = c0; n < c1; n++) m += Math.abs(at(n) - mu);
  m /= c1 - c0;
  let run = 0;
  let h = 0;
  for (let n = c0; n < c1; n++) {
    run += Math.abs(at(n) - mu) - m;
    if (Math.abs(run) > h) h = Math.abs(run);
  }
  const limit = k * h;
  let sum = 0; // C(a - 1)
  let lastInBand = a - 1;
  for (let n = a; n < b; n++) {
    sum += Math.abs(at(n) - mu) - m;
    if (sum > limit) return lastInBand + 1;
    if (sum <= h) lastInBand = n;
  }
  return null;
}

function isResolved(o: MeasureOptions | ResolvedMeasureOptions): o is ResolvedMeasureOptions {
  return RESOLVED.has(o as object);
}

const RESOLVED = new WeakSet<object>();

/** {@link resolveMeasureOptions}, marked so that a batch checks its options once. @internal */
export function resolvedOnce(options: MeasureOptions = {}): ResolvedMeasureOptions {
  const r = resolveMeasureOptions(options);
  RESOLVED.add(r);
  return r;
}
