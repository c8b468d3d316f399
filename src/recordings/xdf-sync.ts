/**
 * Time stamps of XDF streams as pyxdf's `load_xdf` makes them with its
 * default options (pyxdf 8ceb102, `test/reference/pyxdf/`), restated step by
 * step:
 *
 * 1. `_truncate_corrupted_offsets` ({@link corruptedLastOffset}): a stream
 *    with more samples than its footer's `sample_count` and an anomalous
 *    last clock offset loses both (the pylsl#67 bug).
 * 2. `_clock_sync` ({@link clockRanges}, {@link ClockSync}): clock resets
 *    split the ClockOffset measurements into ranges
 *    ({@link detectClockResets}); each range gets a robust (Huber, ADMM)
 *    linear fit of offset against time ({@link robustFit}); a sample belongs
 *    to a range until it is closer in time to the next range's first
 *    measurement than to this range's last, and gets `t + (a + b t)`.
 * 3. `_jitter_removal` ({@link Dejitter}): regularly sampled streams are
 *    split at breaks (|Δt| above max(1 s, 500 samples)) and each stretch is
 *    replaced by its least-squares line; the effective rate is the samples
 *    over the stretches' durations.
 *
 * Everything here runs in memory proportional to the number of clock
 * offsets and breaks, never to the number of samples: samples are fed one
 * at a time, in file order.
 * @module
 */

/** pyxdf's defaults (`load_xdf`'s keyword arguments). */
export const SYNC_DEFAULTS = {
  handleClockResets: true,
  resetThresholdStds: 5,
  resetThresholdSeconds: 5,
  resetThresholdOffsetStds: 10,
  resetThresholdOffsetSeconds: 1,
  winsorThreshold: 0.0001,
  jitterBreakThresholdSeconds: 1,
  jitterBreakThresholdSamples: 500,
} as const;

/** The clock-synchronisation options of pyxdf's `load_xdf` (defaults: {@link SYNC_DEFAULTS}). */
export interface SyncOptions {
  handleClockResets?: boolean;
  resetThresholdStds?: number;
  resetThresholdSeconds?: number;
  resetThresholdOffsetStds?: number;
  resetThresholdOffsetSeconds?: number;
  winsorThreshold?: number;
}

/** One ClockOffset chunk: when it was measured (the stream's clock) and the offset to the recorder's clock, seconds. */
export interface ClockOffset {
  time: number;
  value: number;
}

/** numpy's float64 machine epsilon. */
const EPS = 2.220446049250313e-16;

/** numpy's median (the mean of the two middle values for an even count). */
function median(values: ArrayLike<number>): number {
  const s = Float64Array.from(values).sort();
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/**
 * x = M⁻¹ r for a 2 x 2 matrix as LAPACK's dgesv computes it (LU with
 * partial pivoting: the multiplier as a product with the pivot's reciprocal,
 * then forward and back substitution), which numpy's `linalg.solve` calls.
 */
function solve2(m00: number, m01: number, m10: number, m11: number, r0: number, r1: number): [number, number] {
  if (Math.abs(m10) > Math.abs(m00)) {
    [m00, m01, m10, m11, r0, r1] = [m10, m11, m00, m01, r1, r0];
  }
  const l = m10 * (1 / m00);
  const u11 = m11 - l * m01;
  const y1 = r1 - l * r0;
  const x1 = y1 / u11;
  const x0 = (r0 - x1 * m01) / m00;
  return [x0, x1];
}

/**
 * pyxdf's `_robust_fit` on its clock offsets: a robust linear regression of
 * `values` on `[1, times]` with the Huber loss, solved by ADMM (rho 1, 1000
 * iterations), with times and values divided by the winsor threshold and the
 * times shifted to start at 0 during the fit, as there. Returns
 * [intercept, slope] (offset = intercept + slope x time), or undefined where
 * numpy's Cholesky factorisation fails (pyxdf's LinAlgError: all times
 * equal; pyxdf then uses no correction for the range).
 * @example
 * ```ts
 * robustFit([0, 5, 10, 15], [0.5, 0.50005, 0.5001, 0.50015]); // ≈ [0.5, 1e-5]
 * ```
 */
export function robustFit(times: ArrayLike<number>, values: ArrayLike<number>, winsor: number = SYNC_DEFAULTS.winsorThreshold, iters = 1000): [number, number] | undefined {
  const n = times.length;
  const a1 = new Float64Array(n);
  const y = new Float64Array(n);
  let offset = Infinity;
  for (let i = 0; i < n; i++) {
    a1[i] = times[i]! / winsor;
    y[i] = values[i]! / winsor;
    if (a1[i]! < offset) offset = a1[i]!;
  }
  for (let i = 0; i < n; i++) a1[i]! -= offset;
  // A'A and A'y (A = [1, a1])
  let s11 = 0, s12 = 0, s22 = 0, t1 = 0, t2 = 0;
  for (let i = 0; i < n; i++) {
    s11 += 1;
    s12 += a1[i]!;
    s22 += a1[i]! * a1[i]!;
    t1 += y[i]!;
    t2 += a1[i]! * y[i]!;
  }
  // numpy's cholesky (LAPACK dpotrf): fails unless A'A is positive definite
  if (!(s11 > 0)) return undefined;
  const l11 = Math.sqrt(s11);
  const l21 = s12 / l11;
  const d22 = s22 - l21 * l21;
  if (!(d22 > 0)) return undefined;
  const l22 = Math.sqrt(d22);
  const z = new Float64Array(n);
  const u = new Float64Array(n);
  let x0 = 0, x1 = 0;
  for (let k = 0; k < iters; k++) {
    let r0 = 0, r1 = 0;
    for (let i = 0; i < n; i++) {
      const zu = z[i]! - u[i]!;
      r0 += zu;
      r1 += a1[i]! * zu;
    }
    // x = solve(U, solve(L, A'y + A'(z - u))), U = L'
    const [w0, w1] = solve2(l11, 0, l21, l22, t1 + r0, t2 + r1);
    [x0, x1] = solve2(l11, l21, 0, l22, w0, w1);
    for (let i = 0; i < n; i++) {
      const d = x0 + a1[i]! * x1 - y[i]! + u[i]!;
      const dInv = d !== 0 ? 1 / d : 0;
      const tmp = Math.max(0, 1 - 2 * Math.abs(dInv));
      const zi = 0.5 * d + 0.5 * tmp * d;
      z[i] = zi;
      u[i] = d - zi;
    }
  }
  x0 -= x1 * offset;
  return [x0 * winsor, x1];
}

/** pyxdf's `_segment_clock_diff`: intervals far (in MAD units and in seconds) from the median interval. */
function glitches(diff: Float64Array, threshStds: number, threshSecs: number): boolean[] {
  const med = median(diff);
  const shift = diff.map((d) => d - med);
  const mad = median(shift.map(Math.abs)) + EPS;
  return Array.from(shift, (s) => Math.abs(s / mad) > threshStds && Math.abs(s) > threshSecs);
}

/**
 * pyxdf's `_find_segment_indices`: the inclusive [first, last] index ranges
 * between breaks, where `breaks[i]` is a break between items i and i + 1.
 * @example
 * ```ts
 * segmentIndices([false, true, false]); // [[0, 1], [2, 3]]
 * ```
 */
export function segmentIndices(breaks: readonly boolean[]): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  breaks.forEach((b, i) => {
    if (b) {
      out.push([start, i]);
      start = i + 1;
    }
  });
  out.push([start, breaks.length]);
  return out;
}

/**
 * pyxdf's `_detect_clock_resets`: a reset lies between two clock offsets
 * measured backwards in time, or whose interval and whose change of offset
 * both lie far from the typical ones. Returns the ranges of clock offsets
 * between resets (inclusive).
 * @example
 * ```ts
 * detectClockResets([6, 5, 10, 15, 20], [-6, 0, 0, 0, 0]); // [[0, 0], [1, 4]]
 * ```
 * @throws {RangeError} fewer than two clock offsets (pyxdf's ValueError)
 */
export function detectClockResets(times: readonly number[], values: readonly number[], options: SyncOptions = {}): [number, number][] {
  if (times.length <= 1) throw new RangeError("two or more clock offsets are required for reset detection");
  const o = { ...SYNC_DEFAULTS, ...options };
  const td = new Float64Array(times.length - 1);
  const vd = new Float64Array(times.length - 1);
  for (let i = 1; i < times.length; i++) {
    td[i - 1] = times[i]! - times[i - 1]!;
    vd[i - 1] = values[i]! - values[i - 1]!;
  }
  const timeGlitch = glitches(td, o.resetThresholdStds, o.resetThresholdSeconds);
  const valueGlitch = glitches(vd, o.resetThresholdOffsetStds, o.resetThresholdOffsetSeconds);
  return segmentIndices(Array.from(td, (d, i) => d < 0 || (timeGlitch[i]! && valueGlitch[i]!)));
}

/**
 * pyxdf's `_detect_corrupted_clock_offset`: the last clock offset lies far
 * from the others (its interval more than 10 median intervals, or its value
 * more than 10 scaled MADs from the median). With fewer than 3 offsets,
 * false.
 * @example
 * ```ts
 * corruptedLastOffset([{ time: 0, value: -0.001 }, { time: 5, value: -0.001 }, { time: 800005, value: -750000 }]); // true
 * ```
 */
export function corruptedLastOffset(offsets: readonly ClockOffset[]): boolean {
  const n = offsets.length;
  if (n < 3) return false;
  const intervals = new Float64Array(n - 1);
  for (let i = 1; i < n; i++) intervals[i - 1] = offsets[i]!.time - offsets[i - 1]!.time;
  const medianInterval = median(intervals.subarray(0, n - 2));
  const lastInterval = Math.abs(intervals[n - 2]!);
  const timeRatio = medianInterval > 0 ? lastInterval / medianInterval : lastInterval > 0 ? Infinity : 1;
  const values = Float64Array.from(offsets.slice(0, n - 1), (o) => o.value);
  const medianValue = median(values);
  const mad = median(values.map((v) => Math.abs(v - medianValue)));
  const z = mad > EPS ? Math.abs(offsets[n - 1]!.value - medianValue) / (1.4826 * mad) : 0;
  return timeRatio > 10 || z > 10;
}

/** A range of clock offsets (inclusive indices) and its fit: samples in it get `t + (intercept + slope t)`. */
export interface ClockRange {
  firstOffset: number;
  lastOffset: number;
  intercept: number;
  slope: number;
  /** False where the fit failed (pyxdf's "cannot be used for synchronization"): the range's samples are left as they are. */
  usable: boolean;
}

/**
 * The clock ranges of a stream and their fits, as pyxdf's `_clock_sync`
 * makes them: resets detected (with two or more offsets), a robust fit per
 * range of two or more offsets, the offset itself for a range of one.
 * @example
 * ```ts
 * clockRanges([{ time: 1, value: -1 }, { time: 6, value: -1 }, { time: 17, value: -12 }, { time: 22, value: -12 }]);
 * // two ranges: offsets 0-1 (intercept ≈ -1) and 2-3 (intercept ≈ -12)
 * ```
 */
export function clockRanges(offsets: readonly ClockOffset[], options: SyncOptions = {}): ClockRange[] {
  if (offsets.length === 0) return [];
  const o = { ...SYNC_DEFAULTS, ...options };
  const times = offsets.map((c) => c.time);
  const values = offsets.map((c) => c.value);
  const ranges: [number, number][] = o.handleClockResets && offsets.length > 1 ? detectClockResets(times, values, o) : [[0, offsets.length - 1]];
  return ranges.map(([a, b]) => {
    if (a === b) return { firstOffset: a, lastOffset: b, intercept: values[a]!, slope: 0, usable: true };
    const fit = robustFit(times.slice(a, b + 1), values.slice(a, b + 1), o.winsorThreshold);
    return fit ? { firstOffset: a, lastOffset: b, intercept: fit[0], slope: fit[1], usable: true } : { firstOffset: a, lastOffset: b, intercept: 0, slope: 0, usable: false };
  });
}

/**
 * Applies a stream's clock ranges to its raw time stamps, fed in file order
 * (pyxdf's `_clock_sync` application, one sample at a time): with one range
 * every sample gets its fit; with several, a sample stays in the current
 * range while it is closer in time to the range's last clock offset than to
 * the next range's first, else the next range (or the one after, when the
 * next has no sample) takes over.
 * @example
 * ```ts
 * const offsets = [{ time: 1, value: -1 }, { time: 6, value: -1 }, { time: 17, value: -12 }, { time: 22, value: -12 }];
 * const sync = new ClockSync(offsets, clockRanges(offsets));
 * [1, 2, 3, 17, 18].map((t) => sync.apply(t)); // ≈ [0, 1, 2, 5, 6]
 * sync.segments; // [[0, 2], [3, 4]]
 * ```
 */
export class ClockSync {
  readonly ranges: readonly ClockRange[];
  readonly #times: readonly number[];
  #k = 0;
  #index = 0;
  /** The range of the last entry of {@link segments}. */
  #segmentRange = -1;
  /** Inclusive sample ranges per clock range with samples (pyxdf's `clock_segments`). */
  readonly segments: [number, number][] = [];

  constructor(offsets: readonly ClockOffset[], ranges: readonly ClockRange[]) {
    this.ranges = ranges;
    this.#times = offsets.map((o) => o.time);
  }

  /** The synchronised time of the next sample, whose raw time stamp is `t`. */
  apply(t: number): number {
    const rs = this.ranges;
    const i = this.#index++;
    if (rs.length === 0) return t;
    if (rs.length > 1) {
      while (this.#k + 1 < rs.length) {
        const end = this.#times[rs[this.#k]!.lastOffset]!;
        const next = this.#times[rs[this.#k]!.lastOffset + 1]!;
        if (Math.abs(t - end) < Math.abs(t - next)) break;
        this.#k++;
      }
    }
    const seg = this.segments[this.segments.length - 1];
    if (seg && this.#segmentRange === this.#k) seg[1] = i;
    else {
      this.segments.push([i, i]);
      this.#segmentRange = this.#k;
    }
    const r = rs[this.#k]!;
    return t + (r.intercept + r.slope * t);
  }
}

/**
 * A stretch of a regular stream without a break, with pyxdf's dejittered
 * times on it: `intercept + slope x index` (index counted from the stream's
 * first sample).
 */
export interface TimeSegment {
  first: number;
  last: number;
  intercept: number;
  slope: number;
}

/** Kahan-compensated running sum. */
class Sum {
  value = 0;
  #c = 0;
  add(x: number): void {
    const y = x - this.#c;
    const t = this.value + y;
    this.#c = t - this.value - y;
    this.value = t;
  }
}

/**
 * pyxdf's `_jitter_removal` for one regular stream, one sample at a time:
 * feed each sample's synchronised time stamp in order; a break (|Δt| above
 * max(1 s, 500 samples)) starts a new segment; each segment's least-squares
 * line comes from compensated sums of the time stamps' differences from a
 * line at the nominal rate (exact at any clock value, in one record per
 * segment).
 * @example
 * ```ts
 * const dj = new Dejitter(1000);
 * [10.0004, 10.0009, 10.0021, 10.0029].forEach((t, i) => dj.push(i, t));
 * dj.finish(); // [{ first: 0, last: 3, intercept: ≈10.0003, slope: ≈0.00084 }]
 * ```
 */
export class Dejitter {
  readonly #threshold: number;
  readonly #tdiff: number;
  readonly segments: TimeSegment[] = [];
  #first = 0;
  #n = 0;
  #t0 = 0;
  #sy = new Sum();
  #sky = new Sum();
  #lastT = NaN;

  constructor(nominalRate: number, thresholdSeconds: number = SYNC_DEFAULTS.jitterBreakThresholdSeconds, thresholdSamples: number = SYNC_DEFAULTS.jitterBreakThresholdSamples) {
    this.#tdiff = nominalRate > 0 ? 1 / nominalRate : 0;
    this.#threshold = Math.max(thresholdSeconds, thresholdSamples * this.#tdiff);
  }

  push(index: number, t: number): void {
    if (this.#n > 0 && Math.abs(t - this.#lastT) > this.#threshold) this.#close();
    if (this.#n === 0) {
      this.#first = index;
      this.#t0 = t;
    }
    const k = this.#n;
    // the difference from the nominal line through the segment's first stamp: small, so its sums stay exact
    const y = t - this.#t0 - k * this.#tdiff;
    this.#sy.add(y);
    this.#sky.add(k * y);
    this.#n++;
    this.#lastT = t;
  }

  #close(): void {
    const n = this.#n;
    if (n === 0) return;
    const first = this.#first;
    if (n === 1) this.segments.push({ first, last: first, intercept: this.#t0, slope: 0 });
    else {
      // least squares of y on k = 0..n-1: Σ(k - k̄)² = n(n² - 1)/12
      const kbar = (n - 1) / 2;
      const ybar = this.#sy.value / n;
      const sxx = (n * (n * n - 1)) / 12;
      const slopeY = (this.#sky.value - kbar * this.#sy.value) / sxx;
      const slope = this.#tdiff + slopeY;
      // the line's time at the segment's first sample, then at index 0
      const atFirst = this.#t0 + (ybar - slopeY * kbar);
      this.segments.push({ first, last: first + n - 1, intercept: atFirst - slope * first, slope });
    }
    this.#n = 0;
    this.#sy = new Sum();
    this.#sky = new Sum();
  }

  /** Closes the last segment and returns all. */
  finish(): TimeSegment[] {
    this.#close();
    return this.segments;
  }
}

/**
 * The dejittered time of a sample.
 * @example
 * ```ts
 * timeAt([{ first: 0, last: 9, intercept: 5, slope: 0.1 }], 3); // 5.3
 * ```
 */
export function timeAt(segments: readonly TimeSegment[], index: number): number {
  let lo = 0, hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segments[mid]!.first <= index) lo = mid;
    else hi = mid - 1;
  }
  const s = segments[lo]!;
  return s.intercept + s.slope * index;
}

/**
 * The sample whose dejittered time is closest to `t` (the first of equals),
 * as numpy's argmin over all samples (offspect's `find_closest_samples`).
 * Segments must not run backwards (slope ≥ 0).
 * @example
 * ```ts
 * closestSample([{ first: 0, last: 9, intercept: 5, slope: 0.1 }], 5.33); // { index: 3, delta: ≈0.03 }
 * ```
 */
export function closestSample(segments: readonly TimeSegment[], t: number): { index: number; delta: number } {
  let best = -1;
  let bestDelta = Infinity;
  for (const s of segments) {
    let i = s.slope > 0 ? Math.round((t - s.intercept) / s.slope) : s.first;
    i = Math.min(Math.max(i, s.first), s.last);
    // the rounding may sit on a tie: check the neighbours for the first minimum
    for (const j of [i - 1, i, i + 1]) {
      if (j < s.first || j > s.last) continue;
      const d = Math.abs(s.intercept + s.slope * j - t);
      if (d < bestDelta || (d === bestDelta && j < best)) {
        bestDelta = d;
        best = j;
      }
    }
  }
  return { index: best, delta: bestDelta };
}

/**
 * pyxdf's effective sampling rate: the samples less one per segment over the
 * segments' durations; 0 when no segment has two samples.
 * @example
 * ```ts
 * effectiveRate([{ first: 0, last: 100, intercept: 0, slope: 0.01 }, { first: 101, last: 200, intercept: 3, slope: 0.01 }]); // ≈ 100
 * ```
 */
export function effectiveRate(segments: readonly TimeSegment[]): number {
  let n = 0, dur = 0;
  let any = false;
  for (const s of segments) {
    if (s.last > s.first) any = true;
    n += s.last - s.first;
    dur += s.intercept + s.slope * s.last - (s.intercept + s.slope * s.first);
  }
  return any ? n / dur : 0;
}

/**
 * The first segment of two or more samples whose time stands still or runs backwards.
 * @example
 * ```ts
 * backwardSegment([{ first: 0, last: 9, intercept: 5, slope: -0.001 }]); // that segment
 * ```
 */
export function backwardSegment(segments: readonly TimeSegment[]): TimeSegment | undefined {
  return segments.find((s) => s.last > s.first && !(s.slope > 0));
}
