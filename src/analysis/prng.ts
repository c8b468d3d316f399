/**
 * The seeded pseudo-random numbers of the bootstrap: mulberry32 (Tommy
 * Ettinger's 32-bit generator, public domain), chosen because it is tiny,
 * fast, passes the usual statistical batteries for this use, and is easy to
 * restate exactly in another language (the tests do, in Python).
 *
 * One step, all arithmetic modulo 2^32 on unsigned integers:
 * ```
 * state = state + 0x6D2B79F5
 * t = (state XOR (state >>> 15)) * (state | 1)
 * t = t XOR (t + (t XOR (t >>> 7)) * (t | 61))
 * out = (t XOR (t >>> 14)) / 2^32          // in [0, 1)
 * ```
 * The initial state is the seed as an unsigned 32-bit integer. A resample
 * index in `0..n-1` is `floor(out * n)`.
 * @module
 */

/** A generator of numbers in [0, 1). */
export type Random = () => number;

/**
 * mulberry32 seeded with `seed` (an integer; taken modulo 2^32).
 * @example
 * const r = mulberry32(42);
 * r(); // 0.6011037519201636
 * r(); // 0.44829055899754167
 * @throws {RangeError} seed is not an integer
 */
export function mulberry32(seed: number): Random {
  if (!Number.isInteger(seed)) throw new RangeError(`expected an integer for seed, got ${seed}`);
  let state = Number(BigInt.asUintN(32, BigInt(seed)));
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
