/**
 * offspect's `peek -s`: traces that share an id and whose processed data
 * correlate, with Pearson's r computed as scipy's `pearsonr` does.
 * @module
 */
import { CacheFileBase, sessionOf } from "../cachefile/cachefile.js";
import type { TraceAttributes, TraceData } from "../cachefile/types.js";
import { describe } from "../base/errors.js";
import { ArgumentRangeError, ArgumentTypeError } from "../values/errors.js";
import { StepError } from "./errors.js";
import { processData, type ProcessOptions } from "./process.js";

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
 * @throws {ArgumentRangeError} (a RangeError) the series differ in length
 * @throws {ArgumentTypeError} (a TypeError) a series is not a Float64Array
 */
export function pearson(a: Float64Array, b: Float64Array): number {
  if (!(a instanceof Float64Array) || !(b instanceof Float64Array)) {
    throw new ArgumentTypeError(`expected two Float64Arrays, got ${describe(a)} and ${describe(b)}`);
  }
  if (a.length !== b.length) throw new ArgumentRangeError(`expected series of equal length, got ${a.length} and ${b.length}`);
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
 * offspect's `peek -s`, one pair at a time: processes every trace with
 * {@link processData}, groups the traces by their `id` attribute (the stored
 * text), and within each group of two or more correlates every pair of
 * traces (rows after columns, as offspect's loops: for each trace, every
 * earlier trace of the group). Yields the pairs whose |r| exceeds
 * `threshold`, in that order (groups in the order their id first appears).
 * Traces are numbered from 1 in the file's order. Traces sharing an id are
 * usually copies: the same trace stored twice, e.g. after merging a file
 * with itself.
 *
 * A group of n traces has n(n-1)/2 pairs, so a file of 4,000 copies of one
 * trace has about 8 million: this generator hands them out one at a time
 * (the traces' processed data, one copy each, is what it holds), where
 * {@link similarTraces} collects them all.
 * @example
 * ```ts
 * let n = 0;
 * for (const pair of similarPairs(new CacheFile("merged.hdf5"), 0.9)) if (n++ < 10) console.log(formatSimilarPair(pair));
 * ```
 * @throws {StepError} a trace's `_log` cannot be replayed (the message names the trace)
 * @throws {ArgumentRangeError} (a RangeError) threshold is not a number, or two traces sharing an id differ in size
 * @throws {ArgumentTypeError} (a TypeError) a trace has no id
 */
export function* similarPairs(
  cf: CacheFileBase | Iterable<readonly [TraceData, TraceAttributes]>,
  threshold: number,
  options: ProcessOptions = {},
): Generator<SimilarPair, void, undefined> {
  if (typeof threshold !== "number" || Number.isNaN(threshold)) throw new ArgumentRangeError(`expected a number for threshold, got ${describe(threshold)}`);
  const groups = new Map<string, { number: number; series: Float64Array | null; length: number }[]>();
  let index = 0;
  const tuples = cf instanceof CacheFileBase ? sessionOf(cf).tuples() : cf;
  for (const [data, attrs] of tuples) {
    const number = ++index;
    const id = attrs?.["id"];
    if (typeof id !== "string") throw new ArgumentTypeError(`expected an id attribute (text) for trace ${number}, got ${describe(id)}: traces are grouped by id`);
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
  for (const [id, group] of groups) {
    for (let row = 0; row < group.length; row++) {
      for (let col = 0; col < row; col++) {
        const a = group[col]!;
        const b = group[row]!;
        if (a.length !== b.length) {
          throw new ArgumentRangeError(`traces ${a.number} and ${b.number} share ID ${id} but hold ${a.length} and ${b.length} values: cannot correlate them`);
        }
        const r = a.series && b.series ? dotClamped(a.series, b.series) : NaN;
        if (Math.abs(r) > threshold) yield { id, first: a.number, second: b.number, r };
      }
    }
  }
}

/**
 * offspect's `peek -s`: every pair {@link similarPairs} yields, in its
 * order, as an array (for files with many copies of one trace, iterate
 * `similarPairs` instead).
 * @example
 * ```ts
 * for (const pair of similarTraces(new CacheFile("merged.hdf5"), 0.9)) console.log(formatSimilarPair(pair));
 * // WARNING: traces [1, 51] share ID 0 and are similar with r = 1.00
 * ```
 * @throws {StepError} a trace's `_log` cannot be replayed (the message names the trace)
 * @throws {ArgumentRangeError} (a RangeError) threshold is not a number, or two traces sharing an id differ in size
 * @throws {ArgumentTypeError} (a TypeError) a trace has no id
 */
export function similarTraces(
  cf: CacheFileBase | Iterable<readonly [TraceData, TraceAttributes]>,
  threshold: number,
  options: ProcessOptions = {},
): SimilarPair[] {
  return [...similarPairs(cf, threshold, options)];
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
