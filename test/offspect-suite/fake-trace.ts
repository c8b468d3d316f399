/**
 * The test signal of offspect's fixtures (tests/mock/cache.py,
 * `create_fake_trace`), restated: a flat baseline, an MEP drawn through the
 * five points (zcr - neg latency, 0), (neg latency, neg magnitude), (zcr, 0),
 * (pos latency, pos magnitude), (pos latency + zcr, 0) after the pulse and
 * smoothed with a normalised 25 ms Hann window, plus a stimulation artefact
 * of two lognormal(4, 0.3) amplitudes (up at the pulse, down one sample
 * later). numpy's `interp`, `hanning` and `convolve(..., "same")` are
 * restated below; the random draws come from a seeded generator and are
 * returned, so that the Python side can recompute the signal with numpy.
 */
import type { TraceData } from "../../src/index.js";

/** `count` draws of numpy's `random.lognormal(mean, sigma)` (Box-Muller from `uniform`). */
export function lognormal(uniform: () => number, mean: number, sigma: number, count: number): number[] {
  const out: number[] = [];
  while (out.length < count) {
    const u1 = 1 - uniform(); // (0, 1]: log is finite
    const u2 = uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    out.push(Math.exp(mean + sigma * r * Math.cos(2 * Math.PI * u2)));
    if (out.length < count) out.push(Math.exp(mean + sigma * r * Math.sin(2 * Math.PI * u2)));
  }
  return out;
}

/** numpy's search for interp: the segment of `xp` holding `key`, starting from `guess` (numpy 1.24's binary_search_with_guess). */
function searchWithGuess(key: number, xp: readonly number[], guess: number): number {
  const len = xp.length;
  if (key > xp[len - 1]!) return len;
  if (key < xp[0]!) return -1;
  if (len <= 4) {
    let i = 1;
    while (i < len && key >= xp[i]!) i++;
    return i - 1;
  }
  let imin = 0;
  let imax = len;
  let g = Math.max(1, Math.min(guess, len - 3));
  if (key < xp[g]!) {
    if (key >= xp[g - 1]!) return g - 1;
    imax = g - 1;
    if (g > 8 && key >= xp[g - 8]!) imin = g - 8;
  } else {
    if (key < xp[g + 1]!) return g;
    if (key < xp[g + 2]!) return g + 1;
    imin = g + 2;
    if (g < len - 8 - 1 && key < xp[g + 8]!) imax = g + 8;
  }
  while (imin < imax) {
    const mid = imin + ((imax - imin) >> 1);
    if (key >= xp[mid]!) imin = mid + 1;
    else imax = mid;
  }
  g = imin - 1;
  return g;
}

/**
 * numpy's `interp(x, xp, fp)` (1.24): linear between the points, the end
 * values outside them; `xp` that is not increasing gives numpy's answer too,
 * since the search is numpy's.
 */
export function interp(x: readonly number[], xp: readonly number[], fp: readonly number[]): number[] {
  const slopes = xp.slice(0, -1).map((_, i) => (fp[i + 1]! - fp[i]!) / (xp[i + 1]! - xp[i]!));
  let j = 0;
  return x.map((v) => {
    j = searchWithGuess(v, xp, j);
    if (j === -1) return fp[0]!;
    if (j === xp.length) return fp[fp.length - 1]!;
    if (j === xp.length - 1) return fp[j]!;
    if (xp[j] === v) return fp[j]!;
    let out = slopes[j]! * (v - xp[j]!) + fp[j]!;
    if (Number.isNaN(out)) {
      out = slopes[j]! * (v - xp[j + 1]!) + fp[j + 1]!;
      if (Number.isNaN(out) && fp[j] === fp[j + 1]) out = fp[j]!;
    }
    return out;
  });
}

/** numpy's `hanning(m)`: 0.5 + 0.5 cos(pi n / (m - 1)) for n = 1 - m, 3 - m, ... below m. */
export function hanning(m: number): number[] {
  if (m < 1) return [];
  if (m === 1) return [1];
  const out: number[] = [];
  for (let i = 0; 1 - m + 2 * i < m; i++) out.push(0.5 + 0.5 * Math.cos((Math.PI * (1 - m + 2 * i)) / (m - 1)));
  return out;
}

/** numpy's `convolve(a, v, "same")` for len(a) >= len(v): the full convolution's centre, len(a) long. */
export function convolveSame(a: readonly number[], v: readonly number[]): number[] {
  if (a.length < v.length) throw new RangeError(`convolveSame: expected a signal at least as long as the window, got ${a.length} < ${v.length}`);
  const offset = (v.length - 1) >> 1;
  return a.map((_, i) => {
    let s = 0;
    const n = i + offset;
    for (let k = 0; k < v.length; k++) {
      const at = n - k;
      if (at >= 0 && at < a.length) s += a[at]! * v[k]!;
    }
    return s;
  });
}

/** The keys create_fake_trace reads, with its defaults. */
const DEFAULTS = {
  neg_peak_magnitude_uv: -20.8,
  neg_peak_latency_ms: 16.2,
  pos_peak_magnitude_uv: 32.6,
  pos_peak_latency_ms: 32.7,
  zcr_latency_ms: 23.4,
  samplingrate: 1000,
  samples_pre_event: 1000,
  samples_post_event: 1000,
  channel_labels: ["EDC_L"] as unknown[],
};

function numberOf(attrs: Record<string, unknown>, key: keyof typeof DEFAULTS): number {
  const v = attrs[key] ?? DEFAULTS[key];
  if (typeof v !== "number") throw new TypeError(`createFakeTrace: expected a number for ${key}, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * One fake trace for a trace's settings (the origin attributes included, as
 * offspect's fixture merges them in first): samples x channels, and the four
 * lognormal draws of each channel.
 */
export function createFakeTrace(attrs: Record<string, unknown>, uniform: () => number): { trace: TraceData; artefacts: number[][] } {
  const fs = numberOf(attrs, "samplingrate");
  const pre = numberOf(attrs, "samples_pre_event");
  const samples = pre + numberOf(attrs, "samples_post_event");
  const labels = attrs["channel_labels"] ?? DEFAULTS.channel_labels;
  if (!Array.isArray(labels)) throw new TypeError(`createFakeTrace: expected a list for channel_labels, got ${JSON.stringify(labels)}`);
  const channels = labels.length;
  const shift = (pre * fs) / 1000;
  const zcr = numberOf(attrs, "zcr_latency_ms");
  const negL = numberOf(attrs, "neg_peak_latency_ms");
  const posL = numberOf(attrs, "pos_peak_latency_ms");
  const xp = [zcr - negL, negL, zcr, posL, posL + zcr].map((v) => v + shift);
  const fp = [0, numberOf(attrs, "neg_peak_magnitude_uv"), 0, numberOf(attrs, "pos_peak_magnitude_uv"), 0];
  const raw = hanning((25 * fs) / 1000);
  const total = raw.reduce((a, b) => a + b, 0);
  const win = raw.map((w) => w / total);
  const axp = [-1, 0, 1, 5].map((v) => v + shift);
  const x = Array.from({ length: samples }, (_, i) => i);
  const data = new Float64Array(samples * channels);
  const artefacts: number[][] = [];
  for (let c = 0; c < channels; c++) {
    const draws = lognormal(uniform, 4, 0.3, 4);
    artefacts.push(draws);
    const mep = convolveSame(interp(x, xp, fp), win);
    const artefact = interp(x, axp, draws.map((d, i) => d * [0, 1, -1, 0][i]!));
    for (let s = 0; s < samples; s++) data[s * channels + c] = mep[s]! + artefact[s]!;
  }
  return { trace: { data, shape: [samples, channels] }, artefacts };
}
