/**
 * Time stamps of XDF streams as pyxdf's `load_xdf` makes them by default:
 * synchronised with the stream's ClockOffset measurements (a robust linear
 * fit of offset against time per clock segment, segments split where the
 * clock was reset), then, for regularly sampled streams, dejittered (a
 * least-squares line through the time stamps of each stretch without a
 * break). Everything here runs in memory proportional to the number of
 * clock offsets and breaks, never to the number of samples.
 * @module
 */

/** pyxdf's defaults. */
export const SYNC_DEFAULTS = {
  resetThresholdStds: 5,
  resetThresholdSeconds: 5,
  resetThresholdOffsetStds: 10,
  resetThresholdOffsetSeconds: 1,
  winsorThreshold: 0.0001,
  jitterBreakThresholdSeconds: 1,
  jitterBreakThresholdSamples: 500,
} as const;

/** One ClockOffset chunk: when it was measured, the offset, and how many of the stream's samples came before it in the file. */
export interface ClockOffset {
  time: number;
  value: number;
  samplesBefore: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/**
 * Robust linear regression of y on [1, x] with the Huber loss, solved by ADMM
 * (rho 1, 1000 iterations), as pyxdf's `_robust_fit`; x and y are divided by
 * the winsor threshold first, as there. Returns [intercept, slope].
 */
export function robustFit(x: readonly number[], y: readonly number[], winsor = SYNC_DEFAULTS.winsorThreshold, iters = 1000): [number, number] {
  const n = x.length;
  const a1 = new Float64Array(n);
  const a2 = new Float64Array(n);
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a1[i] = 1 / winsor;
    a2[i] = x[i]! / winsor;
    b[i] = y[i]! / winsor;
  }
  let s11 = 0, s12 = 0, s22 = 0, t1 = 0, t2 = 0;
  for (let i = 0; i < n; i++) {
    s11 += a1[i]! * a1[i]!;
    s12 += a1[i]! * a2[i]!;
    s22 += a2[i]! * a2[i]!;
    t1 += a1[i]! * b[i]!;
    t2 += a2[i]! * b[i]!;
  }
  // (A'A)^-1 through its Cholesky factor, as numpy's two triangular solves
  const l11 = Math.sqrt(s11);
  const l21 = s12 / l11;
  const l22 = Math.sqrt(Math.max(s22 - l21 * l21, 0));
  const solve = (r1: number, r2: number): [number, number] => {
    const y1 = r1 / l11;
    const y2 = (r2 - l21 * y1) / l22;
    const x2 = y2 / l22;
    const x1 = (y1 - l21 * x2) / l11;
    return [x1, x2];
  };
  const z = new Float64Array(n);
  const u = new Float64Array(n);
  let coef: [number, number] = [0, 0];
  const rho = 1;
  for (let k = 0; k < iters; k++) {
    let r1 = t1, r2 = t2;
    for (let i = 0; i < n; i++) {
      const zu = z[i]! - u[i]!;
      r1 += a1[i]! * zu;
      r2 += a2[i]! * zu;
    }
    coef = solve(r1, r2);
    for (let i = 0; i < n; i++) {
      const d = a1[i]! * coef[0] + a2[i]! * coef[1] - b[i]! + u[i]!;
      const tmp = Math.max(0, 1 - (1 + 1 / rho) / Math.abs(d));
      const zi = (rho / (1 + rho)) * d + (1 / (1 + rho)) * tmp * d;
      z[i] = zi;
      u[i] = d - zi;
    }
  }
  return coef;
}

/** One clock segment: the samples from `firstSample` on (until the next segment) get `t + intercept + slope t`. */
export interface ClockSegment {
  firstSample: number;
  intercept: number;
  slope: number;
}

/**
 * The clock segments of one stream: pyxdf's reset detection (a ClockOffset
 * delayed and jumping far beyond the typical ones), then one robust fit per
 * segment. Samples belong to the segment of the clock offsets around them in
 * the file (pyxdf applies a segment's fit to the sample indices equal to its
 * clock-offset indices, which only works when both coincide).
 */
export function clockSegments(offsets: readonly ClockOffset[], handleResets = true): ClockSegment[] {
  if (offsets.length === 0) return [];
  const times = offsets.map((o) => o.time);
  const values = offsets.map((o) => o.value);
  let ranges: [number, number][] = [[0, offsets.length - 1]];
  if (handleResets && offsets.length > 2) {
    const td: number[] = [];
    const vd: number[] = [];
    for (let i = 1; i < offsets.length; i++) {
      td.push(times[i]! - times[i - 1]!);
      vd.push(Math.abs(values[i]! - values[i - 1]!));
    }
    const mi = median(td);
    const ms = median(vd);
    const eps = 2.220446049250313e-16;
    const madT = median(td.map((d) => Math.abs(d - mi))) + eps;
    const madV = median(vd.map((d) => Math.abs(d - ms))) + eps;
    const resets: number[] = [];
    for (let i = 0; i < td.length; i++) {
      const timeGlitch = td[i]! < 0 || ((td[i]! - mi) / madT > SYNC_DEFAULTS.resetThresholdStds && td[i]! - mi > SYNC_DEFAULTS.resetThresholdSeconds);
      const valueGlitch =
        vd[i]! < 0 || ((vd[i]! - ms) / madV > SYNC_DEFAULTS.resetThresholdOffsetStds && vd[i]! - ms > SYNC_DEFAULTS.resetThresholdOffsetSeconds);
      if (timeGlitch && valueGlitch) resets.push(i);
    }
    if (resets.length > 0) {
      ranges = [];
      let start = 0;
      for (const r of resets) {
        ranges.push([start, r]);
        start = r + 1;
      }
      ranges.push([start, offsets.length - 1]);
    }
  }
  return ranges.map(([a, b], k) => {
    const firstSample = k === 0 ? 0 : offsets[a]!.samplesBefore;
    if (a === b) return { firstSample, intercept: values[a]!, slope: 0 };
    const [intercept, slope] = robustFit(times.slice(a, b + 1), values.slice(a, b + 1));
    return { firstSample, intercept, slope };
  });
}

/** Applies clock segments to raw time stamps, sample by sample in order. */
export class ClockMap {
  readonly segments: readonly ClockSegment[];
  #k = 0;
  constructor(segments: readonly ClockSegment[]) {
    this.segments = segments;
  }

  /** The synchronised time of sample `index` (indices must not decrease between calls, except back to 0 after {@link reset}). */
  apply(index: number, t: number): number {
    const segs = this.segments;
    if (segs.length === 0) return t;
    while (this.#k + 1 < segs.length && index >= segs[this.#k + 1]!.firstSample) this.#k++;
    const s = segs[this.#k]!;
    return t + (s.intercept + s.slope * t);
  }

  reset(): void {
    this.#k = 0;
  }
}

/** A stretch of a regular stream without a break, with its least-squares line t = intercept + slope x index. */
export interface TimeSegment {
  first: number;
  last: number;
  intercept: number;
  slope: number;
}

/**
 * Dejittering, one sample at a time: feed each sample's synchronised time
 * stamp in order; breaks (gaps above max(1 s, 500 samples)) start new
 * segments; each segment's line comes from running sums (Welford), so the
 * memory is one record per segment.
 */
export class Dejitter {
  readonly #threshold: number;
  readonly segments: TimeSegment[] = [];
  #first = 0;
  #n = 0;
  #mi = 0;
  #mt = 0;
  #sii = 0;
  #sit = 0;
  #lastT = NaN;
  #lastIndex = -1;

  constructor(nominalRate: number) {
    const tdiff = nominalRate > 0 ? 1 / nominalRate : 0;
    this.#threshold = Math.max(SYNC_DEFAULTS.jitterBreakThresholdSeconds, SYNC_DEFAULTS.jitterBreakThresholdSamples * tdiff);
  }

  push(index: number, t: number): void {
    if (this.#n > 0 && t - this.#lastT > this.#threshold) this.#close();
    if (this.#n === 0) this.#first = index;
    this.#n++;
    const di = index - this.#mi;
    this.#mi += di / this.#n;
    const dt = t - this.#mt;
    this.#mt += dt / this.#n;
    this.#sii += di * (index - this.#mi);
    this.#sit += di * (t - this.#mt);
    this.#lastT = t;
    this.#lastIndex = index;
  }

  #close(): void {
    if (this.#n === 0) return;
    if (this.#n === 1) this.segments.push({ first: this.#first, last: this.#first, intercept: this.#mt, slope: 0 });
    else {
      const slope = this.#sit / this.#sii;
      this.segments.push({ first: this.#first, last: this.#lastIndex, intercept: this.#mt - slope * this.#mi, slope });
    }
    this.#n = 0;
    this.#mi = 0;
    this.#mt = 0;
    this.#sii = 0;
    this.#sit = 0;
  }

  /** Closes the last segment and returns all. */
  finish(): TimeSegment[] {
    this.#close();
    return this.segments;
  }
}

/** The dejittered time of a sample. */
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

/** The sample whose dejittered time is closest to `t` (the first of equals), as numpy's argmin over all samples. */
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

/** pyxdf's effective sampling rate: samples over the segments' durations (each plus one nominal interval). */
export function effectiveRate(segments: readonly TimeSegment[], nominalRate: number): number {
  const tdiff = nominalRate > 0 ? 1 / nominalRate : 0;
  let n = 0, dur = 0;
  for (const s of segments) {
    if (s.last > s.first) {
      n += s.last - s.first + 1;
      dur += s.slope * (s.last - s.first) + tdiff;
    }
  }
  return n > 0 ? n / dur : 0;
}
