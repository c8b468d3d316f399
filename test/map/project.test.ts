/**
 * The numeric core of the maps against values computed independently here:
 * the separable Gaussian profile written out by hand, mirror images at the
 * grid's edge, sums per voxel, dropped points; and scipy's gaussian_filter
 * (Debian's /usr/bin/python3 with python3-scipy) on the full volume.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CacheFileError } from "../../src/base/errors.js";
import { PlotError, VIEWS, mniToVoxel, projectMap, type Projection, type View } from "../../src/map/index.js";
import { gaussianKernel } from "../../src/map/project.js";
import { PYTHON, ROOT } from "../helpers/fixtures.js";

const hasScipy = spawnSync(PYTHON, ["-c", "import numpy, scipy.ndimage"]).status === 0;
if (!hasScipy) console.warn(`${PYTHON} has no scipy (apt-get install python3-scipy): the scipy comparison is skipped`);

/** scipy's 1-D Gaussian weights for a FWHM, written out independently of the library. */
function weights(fwhm: number): number[] {
  const sigma = fwhm / Math.sqrt(8 * Math.log(2));
  const radius = Math.floor(4 * sigma + 0.5);
  const w: number[] = [];
  for (let x = -radius; x <= radius; x++) w.push(Math.exp(-(x * x) / (2 * sigma * sigma)));
  const total = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / total);
}

/** Weight of an offset d from the kernel centre (0 beyond the radius). */
function g(w: number[], d: number): number {
  const r = (w.length - 1) / 2;
  return Math.abs(d) > r ? 0 : w[d + r]!;
}

function at(p: Projection, h: number, v: number): number {
  const col = p.xmm.indexOf(h);
  const row = p.ymm.indexOf(v);
  if (col < 0 || row < 0) throw new Error(`no pixel at ${h}, ${v}`);
  return p.data[row * p.width + col]!;
}

function argmax(p: Projection): [number, number, number] {
  let best = -Infinity;
  let idx = 0;
  p.data.forEach((v, t) => {
    if (v > best) {
      best = v;
      idx = t;
    }
  });
  return [p.xmm[idx % p.width]!, p.ymm[Math.floor(idx / p.width)]!, best];
}

describe("projectMap layout", () => {
  it("lays out each view over the full grid with ascending MNI millimetres", () => {
    const cases: [View, number, number, number, number, number, number][] = [
      ["z", 181, 217, -90, 90, -126, 90],
      ["y", 181, 181, -90, 90, -72, 108],
      ["x", 217, 181, -126, 90, -72, 108],
      ["l", 217, 181, -126, 90, -72, 108],
      ["r", 217, 181, -126, 90, -72, 108],
    ];
    for (const [view, w, h, x0, x1, y0, y1] of cases) {
      const p = projectMap([[0, 0, 0]], [1], { view });
      expect([p.view, p.width, p.height, p.data.length]).toEqual([view, w, h, w * h]);
      expect([p.xmm[0], p.xmm[w - 1], p.ymm[0], p.ymm[h - 1]]).toEqual([x0, x1, y0, y1]);
      expect(p.data).toBeInstanceOf(Float64Array);
    }
  });

  it("defaults to the axial view and 12.5 mm", () => {
    const a = projectMap([[-37, -21, 58]], [5]);
    const b = projectMap([[-37, -21, 58]], [5], { view: "z", smooth: 12.5 });
    expect(a.view).toBe("z");
    expect(a.data).toEqual(b.data);
  });
});

describe("one point", () => {
  const fwhm = 12.5;
  const w = weights(fwhm);
  const r = (w.length - 1) / 2;
  const [x0, y0, z0] = [-37, -21, 58];
  const v = 812.5;

  it("uses scipy's kernel: radius int(4 sigma + 0.5), normalised", () => {
    const k = gaussianKernel(fwhm);
    expect(r).toBe(21);
    expect(k.radius).toBe(21);
    expect(Array.from(k.weights)).toEqual(w.map((x) => expect.closeTo(x, 15)));
    expect(gaussianKernel(0).weights).toEqual(Float64Array.of(1));
  });

  it("projects to the separable Gaussian profile, peak rescaled to the value", () => {
    const pz = projectMap([[x0, y0, z0]], [v], { smooth: fwhm, view: "z" });
    const g0 = g(w, 0);
    let checked = 0;
    for (let row = 0; row < pz.height; row++) {
      for (let col = 0; col < pz.width; col++) {
        const dx = pz.xmm[col]! - x0;
        const dy = pz.ymm[row]! - y0;
        // max over z of v g(dx) g(dy) g(dz) / g0^3 is at dz = 0
        const want = (v * g(w, dx) * g(w, dy)) / (g0 * g0);
        const got = pz.data[row * pz.width + col]!;
        expect(Math.abs(got - want)).toBeLessThan(1e-9 * v);
        if (want > 0) checked++;
      }
    }
    expect(checked).toBe(43 * 43);
    expect(argmax(pz)).toEqual([x0, y0, expect.closeTo(v, 9)]);
    const py = projectMap([[x0, y0, z0]], [v], { smooth: fwhm, view: "y" });
    expect(at(py, x0 + 5, z0 - 3)).toBeCloseTo((v * g(w, 5) * g(w, -3)) / (g0 * g0), 9);
    expect(at(py, x0 + 22, z0)).toBe(0);
    const px = projectMap([[x0, y0, z0]], [v], { smooth: fwhm, view: "x" });
    expect(at(px, y0 - 7, z0 + 10)).toBeCloseTo((v * g(w, 7) * g(w, 10)) / (g0 * g0), 9);
  });

  it("shows a left point in l and x but not in r, and x = 0 in r", () => {
    const l = projectMap([[x0, y0, z0]], [v], { view: "l" });
    const rr = projectMap([[x0, y0, z0]], [v], { view: "r" });
    const x = projectMap([[x0, y0, z0]], [v], { view: "x" });
    expect(at(l, y0, z0)).toBeCloseTo(v, 9);
    expect(l.data).toEqual(x.data);
    expect(Math.max(...rr.data)).toBe(0);
    // A point on the midline: its own voxel (x = 0) belongs to the right
    // hemisphere, the voxels of x < 0 beside it to the left one.
    const mid = [[0, y0, z0]];
    expect(at(projectMap(mid, [v], { view: "r" }), y0, z0)).toBeCloseTo(v, 9);
    expect(at(projectMap(mid, [v], { view: "l" }), y0, z0)).toBeCloseTo((v * g(w, 1)) / g(w, 0), 9);
  });

  it("mirrors the kernel at the edge of the grid, as scipy's mode reflect", () => {
    // x = 89.6 lies on voxel i = 0 (x = 90): the kernel's part beyond the
    // edge folds back, voxel i gets g(i) + g(i + 1).
    const p = projectMap([[89.6, y0, z0]], [v], { view: "z" });
    const prof = (i: number) => g(w, i) + g(w, i + 1);
    const peak = prof(0);
    for (const i of [0, 1, 5, 20, 21, 22]) {
      expect(at(p, 90 - i, y0)).toBeCloseTo((v * prof(i)) / peak, 9);
    }
    expect(argmax(p)[0]).toBe(90);
  });

  it("leaves the volume unsmoothed with smooth 0", () => {
    const p = projectMap([[x0, y0, z0]], [v], { smooth: 0, view: "z" });
    expect(at(p, x0, y0)).toBe(v);
    expect(p.data.filter((x) => x !== 0).length).toBe(1);
  });
});

describe("points on the grid", () => {
  it("rounds to the nearest voxel, not offspect's truncation", () => {
    // i = 90 - x = 118.7: nearest 119 (x = -29); offspect's int() gave 118.
    expect(mniToVoxel([-28.7, -16.6, 56.2])).toEqual([119, 109, 128]);
    const p = projectMap([[-28.7, -16.6, 56.2]], [1], { smooth: 0 });
    expect(argmax(p)).toEqual([-29, -17, 1]);
    // ties go to the even voxel (numpy's rint): i = 90.5 -> 90, j = 126 + 0.5 -> 126
    expect(mniToVoxel([-0.5, 0.5, -0.5])).toEqual([90, 126, 72]);
  });

  it("sums the values of points on one voxel, rescaled to the largest voxel mean", () => {
    // Voxel A holds 100 and 300 (sum 400, mean 200); voxel B far away holds 250.
    const coords = [
      [-37.2, -21, 58],
      [-36.8, -21.3, 58.4],
      [40, -21, 58],
    ];
    const p = projectMap(coords, [100, 300, 250], { view: "z" });
    // Smoothed peaks 400 g0^3 and 250 g0^3, scaled so that the largest is the largest mean (250).
    expect(at(p, -37, -21)).toBeCloseTo(250, 9);
    expect(at(p, 40, -21)).toBeCloseTo((250 * 250) / 400, 9);
  });

  it("drops and counts points outside the grid and unusable coordinates", () => {
    const good = [[-37, -21, 58]];
    const base = projectMap(good, [10], { view: "z" });
    expect(base.dropped).toBe(0);
    const bad = [
      ...good,
      [95, 0, 0], // i = -5
      [-90.6, 0, 0], // i = 180.6 -> 181
      [0, 91, 0], // j = 217
      [0, 0, -72.7], // k = -1 (offspect wrapped it to the far side)
      [NaN, NaN, NaN],
      [1, 2],
      null,
      [0, 0, Infinity],
    ];
    const p = projectMap(bad as number[][], [10, 1e6, 1e6, 1e6, 1e6, 1e6, 1e6, 1e6, 1e6], { view: "z" });
    expect(p.dropped).toBe(8);
    expect(p.data).toEqual(base.data);
    // just inside stays: i = 180.4 -> 180
    expect(projectMap([[-90.4, 0, 0]], [1], { smooth: 0 }).dropped).toBe(0);
  });

  it("rescales data without positive values so that the minimum is the smallest mean", () => {
    const p = projectMap([[-37, -21, 58], [30, 20, 40]], [-40, -10], { view: "z" });
    expect(at(p, -37, -21)).toBeCloseTo(40, 9);
    expect(at(p, 30, 20)).toBeCloseTo(10, 9);
  });

  it("gives an all-zero projection for all-zero values", () => {
    const p = projectMap([[-37, -21, 58]], [0]);
    expect(p.data.every((x) => x === 0)).toBe(true);
  });
});

describe("errors", () => {
  const expectPlotError = (fn: () => unknown, code: string, option: string, message: RegExp) => {
    let caught: unknown;
    try {
      fn();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(PlotError);
    expect(caught).toBeInstanceOf(CacheFileError);
    expect((caught as PlotError).code).toBe(code);
    expect((caught as PlotError).option).toBe(option);
    expect((caught as PlotError).message).toMatch(message);
  };

  it("rejects wrong lengths, non-finite values, bad views and smoothing", () => {
    expectPlotError(() => projectMap([[0, 0, 0]], [1, 2]), "EPLOTINPUT", "values", /1 coordinates and 2 values/);
    expectPlotError(() => projectMap([[0, 0, 0]], [NaN]), "EPLOTINPUT", "values", /finite number for values\[0\], got NaN/);
    expectPlotError(() => projectMap("x" as unknown as number[][], []), "EPLOTINPUT", "coords", /array of \[x, y, z\]/);
    expectPlotError(() => projectMap([[0, 0, 0]], [1], { view: "q" as View }), "EPLOTOPTION", "view", /one of "x", "y", "z", "l", "r" for view, got "q"/);
    expectPlotError(() => projectMap([[0, 0, 0]], [1], { smooth: NaN }), "EPLOTOPTION", "smooth", /got NaN: pass e.g. 12.5/);
    expectPlotError(() => projectMap([[0, 0, 0]], [1], { smooth: -1 }), "EPLOTOPTION", "smooth", /got -1/);
  });
});

interface ScipyResult {
  max: number;
  dropped: number;
  views: Record<View, number[][]>;
}

function scipyReference(coords: (number | null)[][], values: number[], smooth: number): ScipyResult {
  const r = spawnSync(PYTHON, [join(ROOT, "test", "map", "scipy_reference.py")], {
    input: JSON.stringify({ coords, values, smooth, views: VIEWS }),
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`scipy reference failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ScipyResult;
}

describe.skipIf(!hasScipy && !process.env["CI"])("against scipy.ndimage.gaussian_filter on the full volume", () => {
  function rng(seed: number) {
    return () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
  }

  const cases: [string, number, number, number, boolean][] = [
    ["default smoothing, points over the whole grid and on its corners", 60, 12.5, 95, false],
    ["wide smoothing, mixed signs", 40, 30, 90, true],
    ["smoothing radius wider than the grid (mirrored at both edges)", 6, 110, 80, false],
    ["narrow smoothing", 80, 2, 100, false],
  ];
  for (const [name, n, smooth, spread, signed] of cases) {
    it(name, () => {
      const R = rng(n * 7 + smooth);
      const coords: (number | null)[][] = [];
      const values: number[] = [];
      for (let t = 0; t < n; t++) {
        coords.push([(R() - 0.5) * 2 * spread, (R() - 0.5) * 2.4 * spread - 18, (R() - 0.5) * 2 * spread + 18]);
        values.push(R() < 0.15 ? 0 : R() * 1000 - (signed ? 400 : 0));
      }
      coords.push([90, 90, 108], [-90, -126, -72], [-89.8, -125.9, -71.9], [null, null, null], [300, 0, 0]);
      values.push(500, 300, 120, 7, 7);
      const ref = scipyReference(coords, values, smooth);
      const js = coords.map((c) => c.map((x) => (x === null ? NaN : x)));
      for (const view of VIEWS) {
        const p = projectMap(js, values, { smooth, view });
        expect(p.dropped).toBe(ref.dropped);
        const want = ref.views[view];
        expect([want.length, want[0]!.length]).toEqual([p.height, p.width]);
        let worst = 0;
        for (let row = 0; row < p.height; row++) {
          for (let col = 0; col < p.width; col++) worst = Math.max(worst, Math.abs(p.data[row * p.width + col]! - want[row]![col]!));
        }
        expect(worst).toBeLessThan(1e-9 * ref.max);
      }
    });
  }
});
