/**
 * Bootstrap resampling and percentile intervals.
 *
 * A resample of `n` items draws `n` indices with replacement, index `floor(r()
 * * n)` for successive numbers `r()` of the seeded {@link mulberry32}
 * generator; a percentile interval at level `L` is the `(1 - L) / 2` and
 * `(1 + L) / 2` quantiles of the finite replicate values, each by linear
 * interpolation between order statistics (numpy's default `quantile`).
 * @module
 */
import type { Random } from "./prng.js";

/**
 * Fills `out` with `out.length` indices into `items`, drawn with replacement.
 * @example
 * const r = mulberry32(1);
 * resampleInto(Int32Array.from([10, 20, 30]), new Int32Array(3), r); // e.g. [30, 10, 30]
 */
export function resampleInto(items: Int32Array, out: Int32Array, random: Random): Int32Array {
  const n = items.length;
  for (let t = 0; t < out.length; t++) out[t] = items[Math.floor(random() * n)]!;
  return out;
}

/** The finite values, sorted ascending. */
function sortedFinite(values: ArrayLike<number>): Float64Array {
  const v = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (Number.isFinite(x)) v[n++] = x;
  }
  return v.subarray(0, n).sort();
}

/** The `q` quantile of sorted values, linear between order statistics. */
function sortedQuantile(v: Float64Array, q: number): number {
  const h = (v.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, v.length - 1);
  return v[lo]! + (h - lo) * (v[hi]! - v[lo]!);
}

/**
 * The `q` quantile of the finite values, linear between order statistics
 * (numpy's default); null when there is no finite value.
 * @example quantile([1, 2, 3, 4], 0.5) // 2.5
 */
export function quantile(values: ArrayLike<number>, q: number): number | null {
  const v = sortedFinite(values);
  return v.length === 0 ? null : sortedQuantile(v, q);
}

/**
 * The percentile interval `[low, high]` of replicate values at `level`
 * (e.g. 0.95); null when no replicate is finite.
 * @example percentileInterval([1, 2, 3, 4, 5], 0.5) // [2, 4]
 */
export function percentileInterval(values: ArrayLike<number>, level: number): [number, number] | null {
  const v = sortedFinite(values);
  return v.length === 0 ? null : [sortedQuantile(v, (1 - level) / 2), sortedQuantile(v, (1 + level) / 2)];
}
