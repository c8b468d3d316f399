/**
 * TMS pulses found from their artifact on an EMG channel, for recordings
 * whose pulses are neither markers nor a trigger channel (the stimulator is
 * not wired to the amplifier). The artifact is a jump: the coil's discharge
 * moves the signal by millivolts from one sample to the next, where EMG,
 * MEPs and noise move it by far less. A pulse is the first sample of a jump
 * larger than the threshold (|x[i] - x[i-1]|, µV); jumps within the
 * refractory time after a pulse (the artifact's own ringing, the MEP) are
 * part of that pulse. The threshold is given in µV, or as k robust standard
 * deviations of the channel's sample-to-sample differences (1.4826 x their
 * median absolute deviation, over at most 4 million differences evenly
 * spread over the recording).
 * @module
 */
import { ImportError } from "./errors.js";
import type { Signal } from "./types.js";

/** A jump threshold: microvolts, or robust standard deviations of the channel's jumps. */
export type ArtifactThreshold = { uv: number } | { sd: number };

/** The detector's defaults: jumps above 30 σ, pulses at least 100 ms apart. */
export const ARTIFACT_DEFAULTS = { threshold: { sd: 30 } as ArtifactThreshold, refractoryMs: 100 } as const;

/** Options of {@link detectArtifacts}. */
export interface ArtifactOptions {
  threshold?: ArtifactThreshold;
  /** Milliseconds after a pulse in which no other pulse is found (default 100). */
  refractoryMs?: number;
}

/** What {@link detectArtifacts} found. */
export interface ArtifactDetection {
  /** The channel searched. */
  channel: string;
  /** The pulses: 0-based samples of the channel. */
  samples: number[];
  /** The threshold applied, µV per sample. */
  thresholdUv: number;
  /** The robust standard deviation of the channel's jumps, µV. */
  sigmaUv: number;
  /** The threshold as given. */
  threshold: ArtifactThreshold;
  refractoryMs: number;
}

/** A pulse's jump is more than this many times every jump of the LOOKBACK_MS before it (but the last GAP_SAMPLES). */
const STANDS_OUT = 3;
const LOOKBACK_MS = 20;
/** An artifact that rises over a few samples (a low-pass filter before the converter) is not compared with its own rise. */
const GAP_SAMPLES = 3;
/** Differences kept for the robust standard deviation at most. */
const MAX_SAMPLED = 4_000_000;
/** Samples read at a time. */
const BLOCK = 1 << 20;

/**
 * Parses a threshold as `cachefile import --threshold` takes it: `500`,
 * `500uV` or `500µV` (microvolts), `30sd`, `30σ` or `30sigma` (robust
 * standard deviations of the channel's jumps).
 * @example
 * ```ts
 * parseThreshold("800uV"); // { uv: 800 }
 * parseThreshold("25sd"); // { sd: 25 }
 * ```
 * @throws {RangeError} anything else, or a value that is not positive
 */
export function parseThreshold(text: string): ArtifactThreshold {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*(uv|µv|μv|sd|σ|sigma)?\s*$/i.exec(text);
  const v = m ? Number(m[1]) : NaN;
  if (!m || !(v > 0) || !Number.isFinite(v)) {
    throw new RangeError(`threshold must be a positive number of µV (e.g. 500 or 500uV) or of standard deviations (e.g. 30sd), got ${JSON.stringify(text)}`);
  }
  const unit = (m[2] ?? "uv").toLowerCase();
  return unit === "sd" || unit === "σ" || unit === "sigma" ? { sd: v } : { uv: v };
}

/** The k-th smallest value (0-based) of `a`, reordering it (Hoare's selection). */
function select(a: Float64Array, k: number): number {
  let lo = 0, hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

function medianOf(a: Float64Array): number {
  const n = a.length;
  if (n === 0) return NaN;
  const hi = select(a, n >> 1);
  if (n % 2 === 1) return hi;
  let lo = -Infinity;
  for (let i = 0; i < n >> 1; i++) if (a[i]! > lo) lo = a[i]!;
  return (lo + hi) / 2;
}

/** Calls `fn(x, i)` for each sample of one channel in order. */
function eachSample(signal: Signal, channel: number, fn: (x: number, i: number) => void): void {
  for (let start = 0; start < signal.nSamples; start += BLOCK) {
    const w = signal.readWindow([channel], start, Math.min(BLOCK, signal.nSamples - start));
    for (let k = 0; k < w.length; k++) fn(w[k]!, start + k);
  }
}

/**
 * The robust standard deviation of a channel's sample-to-sample differences,
 * µV: 1.4826 x the median absolute deviation of the differences (of an
 * evenly spaced subset of at most 4 million of them).
 * @example
 * ```ts
 * using rec = BrainVisionRecording.open("S01.vhdr");
 * jumpSigma(rec, 0); // e.g. 11.6 (µV)
 * ```
 */
export function jumpSigma(signal: Signal, channel: number): number {
  const nd = signal.nSamples - 1;
  if (nd < 1) return 0;
  const step = Math.ceil(nd / MAX_SAMPLED);
  const d = new Float64Array(Math.ceil(nd / step));
  let prev = NaN, k = 0;
  eachSample(signal, channel, (x, i) => {
    if (i > 0 && (i - 1) % step === 0) d[k++] = x - prev;
    prev = x;
  });
  const used = d.subarray(0, k);
  const med = medianOf(used);
  for (let i = 0; i < used.length; i++) used[i] = Math.abs(used[i]! - med);
  return 1.4826 * medianOf(used);
}

/**
 * Finds the TMS pulses of a channel from their artifact: each first sample
 * of a jump above the threshold, at least the refractory time after the
 * previous pulse. Two passes over the channel: σ, then the jumps.
 * @example
 * ```ts
 * using rec = EdfRecording.open("S01.edf");
 * const found = detectArtifacts(rec, rec.channels.findIndex((c) => c.label === "EDC_L"), { threshold: { sd: 30 }, refractoryMs: 100 });
 * found.samples; // [5012, 10034, ...]
 * ```
 * @throws {ImportError} `EARTIFACT` a threshold in σ on a channel whose jumps have no spread (a flat or saturated channel)
 */
export function detectArtifacts(signal: Signal, channel: number, options: ArtifactOptions = {}): ArtifactDetection {
  const threshold = options.threshold ?? ARTIFACT_DEFAULTS.threshold;
  const refractoryMs = options.refractoryMs ?? ARTIFACT_DEFAULTS.refractoryMs;
  const label = signal.channels[channel]!.label;
  // σ is reported with a threshold in µV too, so that a user sees how far above the noise it lies
  const sigma = jumpSigma(signal, channel);
  let thresholdUv: number;
  if ("sd" in threshold) {
    if (!(sigma > 0)) {
      throw new ImportError(
        "EARTIFACT",
        signal.file,
        `channel ${JSON.stringify(label)} has no spread of sample-to-sample differences (a flat or clipped channel), so ${threshold.sd} standard deviations mean nothing: give the threshold in µV (e.g. --threshold 500uV) or pick another --artifact channel`,
      );
    }
    thresholdUv = threshold.sd * sigma;
  } else thresholdUv = threshold.uv;
  const refractory = Math.max(1, Math.round((refractoryMs * signal.samplingRate) / 1000));
  // the jumps of the last LOOKBACK_MS, to tell a pulse (which stands out from what precedes it) from EMG (which builds up)
  const span = Math.max(2, Math.round((LOOKBACK_MS * signal.samplingRate) / 1000));
  const gap = Math.min(GAP_SAMPLES, span - 1);
  const ring = new Float64Array(span);
  const samples: number[] = [];
  let prev = NaN;
  let quietUntil = -1;
  eachSample(signal, channel, (x, i) => {
    if (i === 0) {
      prev = x;
      return;
    }
    const jump = Math.abs(x - prev);
    if (i >= quietUntil && jump > thresholdUv) {
      let before = 0;
      for (let j = Math.max(1, i - span); j <= i - 1 - gap; j++) before = Math.max(before, ring[j % span]!);
      if (jump > STANDS_OUT * before) {
        samples.push(i);
        quietUntil = i + refractory;
      }
    }
    ring[i % span] = jump;
    prev = x;
  });
  return { channel: label, samples, thresholdUv, sigmaUv: sigma, threshold, refractoryMs };
}
