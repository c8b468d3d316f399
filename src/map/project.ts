/**
 * The numbers behind a map: MNI coordinates and values into a smoothed 1 mm
 * volume and its glass-brain projections, exactly as defined (and fast).
 *
 * Definition, for values `v` at MNI millimetre coordinates `c`:
 * 1. Each coordinate goes to its nearest voxel of the 181 x 217 x 181 grid
 *    with the affine {@link MNI_AFFINE} (voxel `i = 90 - x`, `j = y + 126`,
 *    `k = z + 72`, rounded half to even as numpy's `rint`). Coordinates that
 *    are not three finite numbers, and voxels outside the grid, are dropped
 *    and counted. Values landing on one voxel are summed.
 * 2. The volume is smoothed with a Gaussian of full width at half maximum
 *    `smooth` mm: `sigma = smooth / sqrt(8 ln 2)`, separably along each axis,
 *    kernel truncated at `radius = int(4 sigma + 0.5)` and mirrored at the
 *    grid's edges, as scipy's `gaussian_filter1d(mode="reflect",
 *    truncate=4.0)`. `smooth = 0` leaves the volume as it is.
 * 3. The result is rescaled so that its maximum equals the largest per-voxel
 *    mean of the values (for data without any positive value: so that its
 *    minimum equals the smallest per-voxel mean).
 * 4. A view is the maximum of the absolute value along its axis: `x`
 *    (sagittal, along x), `y` (coronal), `z` (axial); `l` and `r` are the
 *    sagittal projections of the left (x < 0) and right (x >= 0) hemisphere.
 *
 * The computation never touches the whole 7-million-voxel volume: the
 * smoothed volume is the sum, over occupied voxels, of the outer product of
 * three 1-D responses (each a kernel folded by the mirror boundaries), so it
 * is built pass by pass over the occupied rows and planes only, within the
 * bounding box of the points dilated by the kernel radius, and reduced to the
 * projections one plane at a time.
 * @module
 */
import { describe } from "../base/errors.js";
import { PlotError, optionError } from "./errors.js";

/** The MNI grid's shape in voxels: x, y, z. */
export const GRID_SHAPE: readonly [number, number, number] = Object.freeze([181, 217, 181] as const);

/** The voxel-to-MNI-millimetre affine of the grid (1 mm voxels, x flipped). */
export const MNI_AFFINE: readonly (readonly number[])[] = Object.freeze([
  Object.freeze([-1, 0, 0, 90]),
  Object.freeze([0, 1, 0, -126]),
  Object.freeze([0, 0, 1, -72]),
  Object.freeze([0, 0, 0, 1]),
]);

/** The default smoothing, full width at half maximum in mm (offspect's). */
export const DEFAULT_SMOOTH = 12.5;

/** The largest smoothing accepted, in mm. */
export const MAX_SMOOTH = 1000;

/** A projection direction: sagittal `x`, coronal `y`, axial `z`, left `l` or right `r` hemisphere. */
export type View = "x" | "y" | "z" | "l" | "r";

/** The projection directions. */
export const VIEWS: readonly View[] = Object.freeze(["x", "y", "z", "l", "r"] as const);

const [NI, NJ, NK] = GRID_SHAPE;

/**
 * One glass-brain projection on the MNI grid.
 *
 * `data[row * width + col]` is the projected value (maximum of the absolute
 * smoothed, rescaled value along the view's axis) at horizontal MNI
 * coordinate `xmm[col]` and vertical coordinate `ymm[row]`, both ascending:
 * row 0 is the lowest coordinate (the renderer draws it at the bottom).
 * Axes: `z`: x (-90..90) by y (-126..90); `y`: x (-90..90) by z (-72..108);
 * `x`, `l`, `r`: y (-126..90) by z (-72..108).
 */
export interface Projection {
  view: View;
  width: number;
  height: number;
  data: Float64Array;
  /** MNI mm of each column. */
  xmm: Float64Array;
  /** MNI mm of each row. */
  ymm: Float64Array;
  /** Points dropped: unusable coordinates plus points outside the grid. */
  dropped: number;
}

/** Options of {@link projectMap}. */
export interface ProjectOptions {
  /** Gaussian full width at half maximum, mm (default 12.5; 0 for none). */
  smooth?: number;
  /** The projection direction (default `"z"`). */
  view?: View;
}

/** Coordinates: one `[x, y, z]` in MNI mm per point. */
export type Coords = ArrayLike<ArrayLike<number> | null | undefined>;

/** The occupied voxels of a set of points. @internal */
export interface Voxels {
  /** Voxel indices along x, y, z. */
  i: Int32Array;
  j: Int32Array;
  k: Int32Array;
  /** Sum of the values on each voxel. */
  sum: Float64Array;
  /** Number of points on each voxel. */
  count: Int32Array;
  /** Points whose coordinates were not three finite numbers. */
  unusable: number;
  /** Points whose voxel lies outside the grid. */
  outside: number;
  /** Points placed on the grid. */
  placed: number;
}

/** numpy's `rint`: nearest integer, ties to even. */
function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The voxel `[i, j, k]` nearest to an MNI coordinate, or undefined when it
 * lies outside the grid or the coordinate is not three finite numbers.
 *
 * @example
 * ```ts
 * mniToVoxel([-36.6, -17.7, 54.3]); // [127, 108, 126]
 * ```
 */
export function mniToVoxel(xyz: ArrayLike<number> | null | undefined): [number, number, number] | undefined {
  const p = usableCoord(xyz);
  if (!p) return undefined;
  const i = rint(90 - p[0]);
  const j = rint(p[1] + 126);
  const k = rint(p[2] + 72);
  if (i < 0 || i >= NI || j < 0 || j >= NJ || k < 0 || k >= NK) return undefined;
  return [i + 0, j + 0, k + 0];
}

function usableCoord(xyz: unknown): [number, number, number] | undefined {
  if (xyz === null || typeof xyz !== "object") return undefined;
  const a = xyz as ArrayLike<unknown>;
  if (a.length !== 3) return undefined;
  const x = a[0];
  const y = a[1];
  const z = a[2];
  if (typeof x !== "number" || typeof y !== "number" || typeof z !== "number") return undefined;
  if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z)) return undefined;
  return [x, y, z];
}

function isArrayLike(x: unknown): x is ArrayLike<unknown> {
  return (
    x !== null &&
    typeof x === "object" &&
    typeof (x as { length?: unknown }).length === "number" &&
    Number.isInteger((x as { length: number }).length) &&
    (x as { length: number }).length >= 0
  );
}

/**
 * Checks coordinates and values and puts them on the grid: summed per
 * voxel, unusable and outside points counted.
 * @throws {PlotError} `EPLOTINPUT` when coords or values are not arrays, their lengths differ or a value is not finite
 * @internal
 */
export function voxelize(coords: unknown, values: unknown): Voxels {
  if (!isArrayLike(coords)) {
    throw new PlotError("EPLOTINPUT", "coords", `expected an array of [x, y, z] MNI coordinates for coords, got ${describe(coords)}`);
  }
  if (!isArrayLike(values)) {
    throw new PlotError("EPLOTINPUT", "values", `expected an array of numbers for values, got ${describe(values)}`);
  }
  if (coords.length !== values.length) {
    throw new PlotError(
      "EPLOTINPUT",
      "values",
      `expected one value per coordinate, got ${coords.length} coordinates and ${values.length} values: pass arrays of the same length`,
    );
  }
  const n = coords.length;
  for (let p = 0; p < n; p++) {
    const v = values[p];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new PlotError(
        "EPLOTINPUT",
        "values",
        `expected a finite number for values[${p}], got ${describe(v)}: pass a number for every point (0 where nothing was measured)`,
      );
    }
  }
  const slot = new Map<number, number>();
  const ii: number[] = [];
  const jj: number[] = [];
  const kk: number[] = [];
  const sums: number[] = [];
  const counts: number[] = [];
  let unusable = 0;
  let outside = 0;
  for (let p = 0; p < n; p++) {
    const xyz = usableCoord(coords[p]);
    if (!xyz) {
      unusable++;
      continue;
    }
    const vox = mniToVoxel(xyz);
    if (!vox) {
      outside++;
      continue;
    }
    const [i, j, k] = vox;
    const key = (k * NJ + j) * NI + i;
    const s = slot.get(key);
    const v = values[p] as number;
    if (s === undefined) {
      slot.set(key, ii.length);
      ii.push(i);
      jj.push(j);
      kk.push(k);
      sums.push(v);
      counts.push(1);
    } else {
      sums[s]! += v;
      counts[s]! += 1;
    }
  }
  return {
    i: Int32Array.from(ii),
    j: Int32Array.from(jj),
    k: Int32Array.from(kk),
    sum: Float64Array.from(sums),
    count: Int32Array.from(counts),
    unusable,
    outside,
    placed: n - unusable - outside,
  };
}

/**
 * The smoothing kernel of scipy's `gaussian_filter1d` for a full width at
 * half maximum in voxels: `sigma = fwhm / sqrt(8 ln 2)`, `radius = int(4
 * sigma + 0.5)`, weights `exp(-x^2 / (2 sigma^2))` normalised to sum 1.
 * `fwhm = 0` gives the identity kernel `[1]`.
 *
 * @example
 * ```ts
 * const { radius, weights } = gaussianKernel(12.5); // radius 21, 43 weights
 * ```
 * @throws {PlotError} `EPLOTOPTION` when fwhm is not a finite number in 0..1000
 */
export function gaussianKernel(fwhm: number): { sigma: number; radius: number; weights: Float64Array } {
  checkSmooth(fwhm);
  const sigma = fwhm / Math.sqrt(8 * Math.log(2));
  if (sigma <= 1e-15) return { sigma, radius: 0, weights: Float64Array.of(1) };
  const radius = Math.trunc(4 * sigma + 0.5);
  const weights = new Float64Array(2 * radius + 1);
  const s2 = sigma * sigma;
  let total = 0;
  for (let x = -radius; x <= radius; x++) {
    const w = Math.exp((-0.5 / s2) * x * x);
    weights[x + radius] = w;
    total += w;
  }
  for (let t = 0; t < weights.length; t++) weights[t]! /= total;
  return { sigma, radius, weights };
}

/** @throws {PlotError} unless smooth is a finite number in 0..MAX_SMOOTH. @internal */
export function checkSmooth(smooth: unknown): number {
  if (typeof smooth !== "number" || !Number.isFinite(smooth) || smooth < 0 || smooth > MAX_SMOOTH) {
    throw optionError("smooth", `a finite full width at half maximum in mm, 0 to ${MAX_SMOOTH}`, smooth, "pass e.g. 12.5 (offspect's default), or 0 for no smoothing");
  }
  return smooth;
}

/** The response of the mirrored 1-D filter to a unit impulse at `c` on an axis of `n` voxels. */
interface Response {
  /** First output voxel. */
  start: number;
  /** Weights of output voxels start, start + 1, ... */
  w: Float64Array;
}

function impulseResponse(c: number, n: number, weights: Float64Array, radius: number): Response {
  const start = Math.max(0, c - radius);
  const end = Math.min(n - 1, c + radius);
  const w = new Float64Array(end - start + 1);
  // scipy's "reflect" extends the axis as d c b a | a b c d | d c b a, with
  // period 2n: the input voxel c appears at positions c + 2nm and 2nm - 1 - c.
  const period = 2 * n;
  const mLo = Math.floor((-radius - c - 1) / period) - 1;
  const mHi = Math.ceil((n + radius) / period) + 1;
  for (let m = mLo; m <= mHi; m++) {
    for (const e of [c + period * m, period * m - 1 - c]) {
      if (e < -radius || e > n - 1 + radius) continue;
      const lo = Math.max(0, e - radius);
      const hi = Math.min(n - 1, e + radius);
      for (let i = lo; i <= hi; i++) w[i - start]! += weights[e - i + radius]!;
    }
  }
  return { start, w };
}

/** The smoothed volume's projections and extremes, before rescaling. @internal */
export interface Smoothed {
  /** Projections in the layout of {@link Projection} (unscaled). */
  proj: Partial<Record<View, Float64Array>>;
  /** Largest and smallest value of the smoothed volume (0 counts: the volume is mostly 0). */
  max: number;
  min: number;
}

/** Width and height of a view's projection. @internal */
export function viewSize(view: View): [number, number] {
  switch (view) {
    case "z":
      return [NI, NJ];
    case "y":
      return [NI, NK];
    default:
      return [NJ, NK];
  }
}

/**
 * Smooths the voxels and reduces the volume to the projections asked for.
 * The volume is the sum over voxels of outer products of 1-D responses;
 * it is built as: responses along x into rows (one per occupied y, z), rows
 * spread along y into planes (one per occupied z), planes spread along z into
 * one output plane at a time, which is reduced into the projections.
 * @internal
 */
export function smoothProject(vox: Voxels, smooth: number, views: readonly View[]): Smoothed {
  const { radius, weights } = gaussianKernel(smooth);
  const want = new Set(views);
  const proj: Partial<Record<View, Float64Array>> = {};
  for (const v of want) proj[v] = new Float64Array(viewSize(v)[0] * viewSize(v)[1]);
  const n = vox.i.length;
  if (n === 0) return { proj, max: 0, min: 0 };

  // The bounding box of the output, the points dilated by the radius.
  let minI = NI, maxI = -1, minJ = NJ, maxJ = -1, minK = NK, maxK = -1;
  for (let p = 0; p < n; p++) {
    const i = vox.i[p]!, j = vox.j[p]!, k = vox.k[p]!;
    if (i < minI) minI = i;
    if (i > maxI) maxI = i;
    if (j < minJ) minJ = j;
    if (j > maxJ) maxJ = j;
    if (k < minK) minK = k;
    if (k > maxK) maxK = k;
  }
  const loI = Math.max(0, minI - radius), hiI = Math.min(NI - 1, maxI + radius);
  const loJ = Math.max(0, minJ - radius), hiJ = Math.min(NJ - 1, maxJ + radius);
  const loK = Math.max(0, minK - radius), hiK = Math.min(NK - 1, maxK + radius);
  const lenI = hiI - loI + 1;

  const cache = (len: number) => {
    const m = new Map<number, Response>();
    return (c: number) => {
      let r = m.get(c);
      if (!r) m.set(c, (r = impulseResponse(c, len, weights, radius)));
      return r;
    };
  };
  const respI = cache(NI);
  const respJ = cache(NJ);
  const respK = cache(NK);

  // Group the voxels by plane (k), then by row (j).
  const order = Array.from({ length: n }, (_, p) => p).sort((a, b) => vox.k[a]! - vox.k[b]! || vox.j[a]! - vox.j[b]!);

  // Planes: W_k(j, i) = sum over voxels of plane k of v * rI(i) * rJ(j), kept
  // for the rows j0..j1 (absolute voxel indices) over the box's width.
  interface Plane { k: number; j0: number; j1: number; data: Float64Array }
  const planes: Plane[] = [];
  const u = new Float64Array(lenI);
  let q = 0;
  while (q < n) {
    const k = vox.k[order[q]!]!;
    let qEnd = q;
    while (qEnd < n && vox.k[order[qEnd]!] === k) qEnd++;
    // The plane's rows: from the first to the last occupied row, dilated
    // (the voxels are sorted by j, and a response's ends grow with j).
    const rFirst = respJ(vox.j[order[q]!]!);
    const rLast = respJ(vox.j[order[qEnd - 1]!]!);
    const j0 = rFirst.start;
    const j1 = rLast.start + rLast.w.length - 1;
    const data = new Float64Array((j1 - j0 + 1) * lenI);
    let r = q;
    while (r < qEnd) {
      // One occupied row: the x pass into the scratch row u ...
      const j = vox.j[order[r]!]!;
      let rEnd = r;
      let i0 = NI, i1 = -1;
      while (rEnd < qEnd && vox.j[order[rEnd]!] === j) {
        const p = order[rEnd]!;
        const v = vox.sum[p]!;
        const ri = respI(vox.i[p]!);
        const w = ri.w;
        const off = ri.start - loI;
        if (ri.start < i0) i0 = ri.start;
        if (ri.start + w.length - 1 > i1) i1 = ri.start + w.length - 1;
        for (let s = 0; s < w.length; s++) u[off + s]! += v * w[s]!;
        rEnd++;
      }
      // ... then the y pass: spread it along j into the plane (full box
      // width in i, so that the z pass can add planes four at a time).
      const rj = respJ(j);
      const a = i0 - loI;
      const len = i1 - i0 + 1;
      for (let s = 0; s < rj.w.length; s++) {
        const wj = rj.w[s]!;
        const base = (rj.start + s - j0) * lenI + a;
        for (let t = 0; t < len; t++) data[base + t]! += wj * u[a + t]!;
      }
      u.fill(0, a, a + len);
      r = rEnd;
    }
    planes.push({ k, j0, j1, data });
    q = qEnd;
  }

  // The z pass. Done row by row (one y at a time, every output z), so that
  // the rows of the planes it reads stay in the processor's cache, adding
  // four planes per sweep of the row.
  const row = new Float64Array(lenI);
  const pz = proj.z, py = proj.y, px = proj.x, pl = proj.l, pr = proj.r;
  const needRows = px !== undefined || pl !== undefined || pr !== undefined;
  // x = 90 - i: the left hemisphere (x < 0) is i >= 91.
  const midI = 91;
  let vmax = 0;
  let vmin = 0;
  const planeResp = planes.map((pl) => respK(pl.k));
  const np = planes.length;
  // The planes holding the current row; those adding to the current output
  // plane, with their weights and the offset of the row in their data.
  const active = new Int32Array(np);
  const srcs: Float64Array[] = new Array<Float64Array>(np);
  const offs = new Int32Array(np);
  const ws = new Float64Array(np);
  for (let j = loJ; j <= hiJ; j++) {
    let na = 0;
    for (let t = 0; t < np; t++) {
      const P = planes[t]!;
      if (j >= P.j0 && j <= P.j1) active[na++] = t;
    }
    if (na === 0) continue;
    for (let kk = loK; kk <= hiK; kk++) {
      let nc = 0;
      for (let a = 0; a < na; a++) {
        const t = active[a]!;
        const rk = planeResp[t]!;
        if (kk < rk.start || kk >= rk.start + rk.w.length) continue;
        const P = planes[t]!;
        srcs[nc] = P.data;
        offs[nc] = (j - P.j0) * lenI;
        ws[nc] = rk.w[kk - rk.start]!;
        nc++;
      }
      if (nc === 0) continue;
      row.fill(0);
      let c = 0;
      for (; c + 3 < nc; c += 4) {
        const a = srcs[c]!, b = srcs[c + 1]!, d = srcs[c + 2]!, e = srcs[c + 3]!;
        const oa = offs[c]!, ob = offs[c + 1]!, od = offs[c + 2]!, oe = offs[c + 3]!;
        const wa = ws[c]!, wb = ws[c + 1]!, wd = ws[c + 2]!, we = ws[c + 3]!;
        for (let u = 0; u < lenI; u++) {
          row[u] = row[u]! + wa * a[oa + u]! + wb * b[ob + u]! + wd * d[od + u]! + we * e[oe + u]!;
        }
      }
      for (; c < nc; c++) {
        const a = srcs[c]!, oa = offs[c]!, wa = ws[c]!;
        for (let u = 0; u < lenI; u++) row[u]! += wa * a[oa + u]!;
      }
      // Reduce the row into the projections.
      let rowLeft = 0;
      let rowRight = 0;
      const zo = j * NI + NI - 1;
      const yo = kk * NI + NI - 1;
      for (let u = 0; u < lenI; u++) {
        const v = row[u]!;
        const i = u + loI;
        if (v > vmax) vmax = v;
        else if (v < vmin) vmin = v;
        const a = v < 0 ? -v : v;
        if (pz !== undefined && a > pz[zo - i]!) pz[zo - i] = a;
        if (py !== undefined && a > py[yo - i]!) py[yo - i] = a;
        if (i >= midI) {
          if (a > rowLeft) rowLeft = a;
        } else if (a > rowRight) rowRight = a;
      }
      if (needRows) {
        const o = kk * NJ + j;
        if (px !== undefined) {
          const a = rowLeft > rowRight ? rowLeft : rowRight;
          if (a > px[o]!) px[o] = a;
        }
        if (pl !== undefined && rowLeft > pl[o]!) pl[o] = rowLeft;
        if (pr !== undefined && rowRight > pr[o]!) pr[o] = rowRight;
      }
    }
  }
  return { proj, max: vmax, min: vmin };
}

/** The factor that rescales the smoothed volume (see the module's definition). @internal */
export function rescaleFactor(vox: Voxels, max: number, min: number): number {
  let maxMean = -Infinity;
  let minMean = Infinity;
  let maxAbsMean = 0;
  for (let p = 0; p < vox.sum.length; p++) {
    const m = vox.sum[p]! / vox.count[p]!;
    if (m > maxMean) maxMean = m;
    if (m < minMean) minMean = m;
    if (Math.abs(m) > maxAbsMean) maxAbsMean = Math.abs(m);
  }
  let f = NaN;
  if (max > 0) f = maxMean / max;
  else if (min < 0) f = minMean / min;
  else return 1;
  if (!(f > 0) || !Number.isFinite(f)) {
    // Mixed signs where the extreme voxel mean has the other sign: match magnitudes.
    const absMax = Math.max(max, -min);
    f = maxAbsMean / absMax;
  }
  return f;
}

function axisMm(view: View): [Float64Array, Float64Array] {
  const [w, h] = viewSize(view);
  const from = (lo: number, len: number) => Float64Array.from({ length: len }, (_, t) => lo + t);
  switch (view) {
    case "z":
      return [from(-90, w), from(-126, h)];
    case "y":
      return [from(-90, w), from(-72, h)];
    default:
      return [from(-126, w), from(-72, h)];
  }
}

/** Everything a glass-brain figure needs from the numbers. @internal */
export interface GlassData {
  projections: Projection[];
  /** Largest absolute value of the rescaled volume (0 when empty). */
  absMax: number;
  vox: Voxels;
}

/**
 * Computes the rescaled projections for several views at once.
 * @throws {PlotError} as {@link projectMap}
 * @internal
 */
export function glassData(coords: unknown, values: unknown, smooth: number, views: readonly View[]): GlassData {
  checkSmooth(smooth);
  const vox = voxelize(coords, values);
  const s = smoothProject(vox, smooth, views);
  const f = rescaleFactor(vox, s.max, s.min);
  const dropped = vox.unusable + vox.outside;
  const projections: Projection[] = [];
  for (const view of views) {
    const data = s.proj[view]!;
    if (f !== 1) for (let t = 0; t < data.length; t++) data[t]! *= f;
    const [width, height] = viewSize(view);
    const [xmm, ymm] = axisMm(view);
    projections.push({ view, width, height, data, xmm, ymm, dropped });
  }
  return { projections, absMax: Math.max(s.max, -s.min) * f, vox };
}

function checkView(view: unknown): View {
  if (typeof view !== "string" || !(VIEWS as readonly string[]).includes(view)) {
    throw optionError("view", `one of ${VIEWS.map((v) => JSON.stringify(v)).join(", ")}`, view, "x is sagittal, y coronal, z axial, l and r the left and right hemisphere");
  }
  return view as View;
}

/**
 * Projects values at MNI coordinates into one glass-brain view: values on
 * the 1 mm MNI grid (summed per voxel), smoothed with a Gaussian of FWHM
 * `smooth` mm, rescaled so that the maximum equals the largest per-voxel
 * mean, and reduced to the maximum of the absolute value along the view's
 * axis. The numbers the figures colour; see {@link Projection} for the
 * layout. Points with unusable coordinates or outside the grid are dropped
 * and counted in `dropped`.
 *
 * @example
 * ```ts
 * const p = projectMap([[-36.6, -17.7, 54.3]], [1200], { smooth: 12.5, view: "z" });
 * // p.width 181 (x -90..90), p.height 217 (y -126..90)
 * const col = p.xmm.indexOf(-37), row = p.ymm.indexOf(-18);
 * p.data[row * p.width + col]; // 1200 (to rounding): the hotspot
 * ```
 * @throws {PlotError} `EPLOTINPUT` when coords or values are not arrays, differ in length or a value is not finite;
 *   `EPLOTOPTION` for a view other than x, y, z, l, r or a smooth that is not a finite number in 0..1000
 */
export function projectMap(coords: Coords, values: ArrayLike<number>, options: ProjectOptions = {}): Projection {
  if (options === null || typeof options !== "object") throw optionError("options", "an options object", options);
  const view = checkView(options.view ?? "z");
  const smooth = checkSmooth(options.smooth ?? DEFAULT_SMOOTH);
  return glassData(coords, values, smooth, [view]).projections[0]!;
}
