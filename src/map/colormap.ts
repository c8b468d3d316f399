/**
 * The `hot_r` colour ramp of matplotlib (the reversed `hot`): white at 0,
 * through yellow and red, to near-black at 1. Sampled as matplotlib samples
 * it, at 256 levels.
 * @module
 */

// matplotlib's _hot_data: (x, y0, y1) breakpoints per channel.
const HOT: Record<"r" | "g" | "b", readonly (readonly [number, number, number])[]> = {
  r: [
    [0, 0.0416, 0.0416],
    [0.365079, 1, 1],
    [1, 1, 1],
  ],
  g: [
    [0, 0, 0],
    [0.365079, 0, 0],
    [0.746032, 1, 1],
    [1, 1, 1],
  ],
  b: [
    [0, 0, 0],
    [0.746032, 0, 0],
    [1, 1, 1],
  ],
};

function segment(data: readonly (readonly [number, number, number])[], x: number): number {
  for (let s = 1; s < data.length; s++) {
    const [x1, y0] = data[s]!;
    const [x0, , y1prev] = data[s - 1]!;
    if (x <= x1) return x1 === x0 ? y0 : y1prev + ((x - x0) / (x1 - x0)) * (y0 - y1prev);
  }
  return data[data.length - 1]![2];
}

/** Number of levels of the lookup table (matplotlib's default). */
export const LUT_SIZE = 256;

/**
 * The `hot_r` lookup table: `LUT_SIZE` RGB triples of bytes, level 0 white,
 * level 255 near-black (10, 0, 0).
 */
export const HOT_R: Uint8Array = (() => {
  const lut = new Uint8Array(LUT_SIZE * 3);
  for (let t = 0; t < LUT_SIZE; t++) {
    const x = 1 - t / (LUT_SIZE - 1);
    lut[t * 3] = Math.trunc(segment(HOT.r, x) * 255);
    lut[t * 3 + 1] = Math.trunc(segment(HOT.g, x) * 255);
    lut[t * 3 + 2] = Math.trunc(segment(HOT.b, x) * 255);
  }
  return lut;
})();

/**
 * The level of the lookup table for `value` on a scale from 0 to `vmax`
 * (matplotlib's rule: `floor(t * 256)`, clipped to 0..255).
 *
 * @example
 * ```ts
 * const l = colorLevel(50, 100); // 128
 * const [r, g, b] = HOT_R.subarray(l * 3, l * 3 + 3);
 * ```
 */
export function colorLevel(value: number, vmax: number): number {
  const t = value / vmax;
  if (!(t > 0)) return 0;
  if (t >= 1) return LUT_SIZE - 1;
  return Math.min(LUT_SIZE - 1, Math.floor(t * LUT_SIZE));
}
