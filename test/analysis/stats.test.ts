/**
 * mapStatsSync against an independent numpy/scipy reference (reference_stats.py,
 * written from the definitions, with the bootstrap's generator restated in
 * Python), on a synthetic two-hemisphere map and on the shipped map fixture.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheFile } from "../../src/offspect.js";
import { AbortedError } from "../../src/base/abort.js";
import { AnalysisError, mapMarks, mapStats, mapStatsSync, markPosition, parseMarks, type MapStats, type ScopeStats, type StatsOptions } from "../../src/analysis/index.js";
import { mulberry32 } from "../../src/analysis/prng.js";
import { copyFixture, fixture, PYTHON, ROOT, tempDir } from "../helpers/fixtures.js";
import { writeSession, type SyntheticTrace } from "./synthetic.js";

const REFERENCE = join(ROOT, "test", "analysis", "reference_stats.py");

type RefScope = Omit<ScopeStats, "ci"> & { ci?: ScopeStats["ci"] };
function reference(files: string[], opts: Record<string, unknown>): Record<"all" | "left" | "right", RefScope> {
  return JSON.parse(execFileSync(PYTHON, [REFERENCE, JSON.stringify(opts), ...files], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }));
}

function close(a: unknown, b: unknown, where: string): void {
  if (typeof a === "number" && typeof b === "number") expect(a, where).toBeCloseTo(b, 7);
  else if (Array.isArray(a) && Array.isArray(b)) {
    expect(a.length, where).toBe(b.length);
    a.forEach((v, i) => close(v, b[i], `${where}[${i}]`));
  } else if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    expect(Object.keys(a).sort(), where).toEqual(Object.keys(b).sort());
    for (const k of Object.keys(a)) close((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${where}.${k}`);
  } else expect(a, where).toEqual(b);
}

const KEYS = ["traces_used", "excitable_sites", "cog_mni", "cog_unweighted_mni", "hotspot_mni", "hotspot_uv", "volume_uv", "spread_mm", "area_mm2"] as const;

function compare(ours: MapStats, ref: Record<"all" | "left" | "right", RefScope>, withCi: boolean): void {
  for (const [scope, s] of [["all", ours], ["left", ours.left], ["right", ours.right]] as const) {
    const r = ref[scope];
    for (const k of KEYS) close(s[k], r[k], `${scope}.${k}`);
    expect(s.sites, `${scope}.sites`).toBe(r.sites);
    if (withCi) close(s.ci, r.ci, `${scope}.ci`);
  }
}

let dir: string;
let cleanup: () => void;
let mapFile: string;
let second: string;

/** A map over both hemispheres: a 5 x 5 grid (10 mm) of sites per hemisphere, 3 stimuli each, amplitudes falling off from a hotspot. */
function mapTraces(seed: number, hotspot: [number, number, number], gain: number): SyntheticTrace[] {
  const r = mulberry32(seed);
  const out: SyntheticTrace[] = [];
  for (let gx = -2; gx <= 2; gx++) {
    for (let gy = -2; gy <= 2; gy++) {
      for (let rep = 0; rep < 3; rep++) {
        const xyz: [number, number, number] = [hotspot[0] + 10 * gx + (r() - 0.5) * 0.8, hotspot[1] + 10 * gy + (r() - 0.5) * 0.8, hotspot[2] + (r() - 0.5) * 0.8];
        const amp = gain * Math.exp(-(gx * gx + gy * gy) / 3) * (0.7 + 0.6 * r());
        out.push({ onsetMs: null, amplitude: 0, periodMs: 10, noise: 1, onsetShift: 0, offset: 0, xyz, peaks: { neg: -amp / 2, pos: amp / 2 }, reject: r() < 0.05 });
      }
    }
  }
  return out;
}

beforeAll(() => {
  ({ dir, cleanup } = tempDir("ocf-stats-"));
  const spec = (traces: SyntheticTrace[], name: string) => ({ samplingrate: 1000, preMs: 20, postMs: 20, origins: [{ name, traces }], seed: 2 });
  mapFile = writeSession(join(dir, "left.hdf5"), spec(mapTraces(1, [-37, -20, 58], 900), "left.xdf"));
  second = writeSession(join(dir, "right.hdf5"), spec(mapTraces(2, [38, -18, 57], 400), "right.xdf"));
});
afterAll(() => cleanup());

describe("mapStatsSync against the numpy/scipy reference", () => {
  it("grid area and site-bootstrap intervals over two files and both hemispheres, exactly", () => {
    const opts: StatsOptions = { gridMm: 10, bootstrap: 200, seed: 7, siteMm: 2, threshold: 100 };
    const ours = mapStatsSync([mapFile, second], opts);
    compare(ours, reference([mapFile, second], { grid_mm: 10, bootstrap: 200, seed: 7, site_mm: 2, threshold: 100 }), true);
    expect(ours.left.traces_used + ours.right.traces_used).toBe(ours.traces_used);
    expect(ours.left.sites + ours.right.sites).toBe(ours.sites);
    expect(ours.left.sites).toBeGreaterThanOrEqual(25); // 25 grid points, split where the jitter crosses a rounding boundary
  });

  it("the projection area (the plot's smoothed axial projection) and its intervals", () => {
    const ours = mapStatsSync([mapFile, second], { bootstrap: 3, seed: 1 });
    expect(ours.area_method).toBe("projection");
    compare(ours, reference([mapFile, second], { bootstrap: 3, seed: 1 }), true);
    expect(ours.area_mm2).toBe(ours.left.area_mm2 + ours.right.area_mm2);
    expect(ours.left.area_mm2).toBeGreaterThan(ours.right.area_mm2); // the left map is the larger one
  });

  it("map_session.hdf5, offspect's map fixture (uninspected traces count 0, rejected ones are left out)", () => {
    const ours = mapStatsSync(fixture("map_session.hdf5"), { bootstrap: 100, seed: 3, areaBootstrap: false });
    compare(ours, reference([fixture("map_session.hdf5")], { bootstrap: 100, seed: 3, area_bootstrap: false }), true);
    expect(ours.traces_used).toBe(108);
    expect(ours.counts).toMatchObject({ total: 120, rejected: 12, uninspected: 9 });
    expect(ours.ci!.area_mm2).toBeNull();
    expect(ours.ci!.volume_uv![0]).toBeLessThan(ours.volume_uv);
    expect(ours.ci!.volume_uv![1]).toBeGreaterThan(ours.volume_uv);
  });
});

describe("mapStatsSync' numbers mean what they say", () => {
  it("the CoG lies at the hotspot of a symmetric map; the unweighted mean at the grid's centre", () => {
    const s = mapStatsSync(mapFile, { bootstrap: 0, gridMm: 10 });
    expect(s.hotspot_mni![0]).toBeCloseTo(-37, -0.5);
    expect(s.hotspot_mni![1]).toBeCloseTo(-20, -0.5);
    for (let k = 0; k < 3; k++) expect(Math.abs(s.cog_mni![k]! - [-37, -20, 58][k]!)).toBeLessThan(2.5);
    for (let k = 0; k < 3; k++) expect(Math.abs(s.cog_unweighted_mni![k]! - [-37, -20, 58][k]!)).toBeLessThan(1.5);
    expect(s.area_mm2).toBe(s.excitable_sites * 100);
    expect(s.right.traces_used).toBe(0);
    expect(s.right.cog_mni).toBeNull();
    expect(s.site_list.length).toBe(s.sites);
    expect(s.site_list.filter((x) => x.excitable).length).toBe(s.excitable_sites);
  });

  it("the same seed gives the same intervals, another seed others", () => {
    const a = mapStatsSync(mapFile, { gridMm: 10, seed: 5, bootstrap: 300 });
    const b = mapStatsSync(new CacheFile(mapFile), { gridMm: 10, seed: 5, bootstrap: 300 });
    const c = mapStatsSync(mapFile, { gridMm: 10, seed: 6, bootstrap: 300 });
    expect(b.ci).toEqual(a.ci);
    expect(c.ci).not.toEqual(a.ci);
    expect(a.ci!.cog_mni![0]![0]).toBeLessThan(a.cog_mni![0]);
    expect(a.ci!.cog_mni![0]![1]).toBeGreaterThan(a.cog_mni![0]);
  });

  it("transform and foo apply to every value, as they do on the plot", () => {
    const log = mapStatsSync(mapFile, { bootstrap: 0, gridMm: 10, transform: "log", threshold: 2 });
    const ref = reference([mapFile], { bootstrap: 0, grid_mm: 10, threshold: 2 });
    expect(log.traces_used).toBe(ref.all.traces_used);
    expect(log.hotspot_uv!).toBeLessThan(4);
    expect(mapStatsSync(mapFile, { bootstrap: 0, gridMm: 10, foo: (x) => Math.log10(x + 1), threshold: 2 })).toEqual(log);
    const above = mapStatsSync(mapFile, { bootstrap: 0, gridMm: 10, transform: { threshold: 50 }, threshold: 1 });
    const plain = mapStatsSync(mapFile, { bootstrap: 0, gridMm: 10 });
    expect(above.site_list.map((s) => s.mean_uv > 0)).toEqual(plain.site_list.map((s) => s.mean_uv > 50));
  });

  it("refuses transform and foo together, or a transform that is not one", () => {
    const err = (options: object) => {
      try {
        mapStatsSync(mapFile, { bootstrap: 0, ...options });
      } catch (e) {
        return [(e as { code: string }).code, (e as { option: string }).option, (e as Error).message];
      }
      return undefined;
    };
    expect(err({ transform: "log", foo: (x: number) => x })).toEqual(["EANALYSISOPTION", "transform", expect.stringMatching(/exclude each other/)]);
    expect(err({ transform: "sqrt" })).toEqual(["EANALYSISOPTION", "transform", 'expected "none", "log" or { threshold: µV } for transform, got "sqrt"']);
    expect(err({ foo: 3 })).toEqual(["EANALYSISOPTION", "foo", "expected a function of one number returning a number for foo, got 3"]);
  });

  it("refuses bad options and an empty map with AnalysisError codes", () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(AnalysisError);
        return `${(e as AnalysisError).code}:${(e as AnalysisError).option}`;
      }
      return "no error";
    };
    expect(code(() => mapStatsSync(mapFile, { threshold: 0 }))).toBe("EANALYSISOPTION:threshold");
    expect(code(() => mapStatsSync(mapFile, { siteMm: -1 }))).toBe("EANALYSISOPTION:siteMm");
    expect(code(() => mapStatsSync(mapFile, { bootstrap: 1.5 }))).toBe("EANALYSISOPTION:bootstrap");
    expect(code(() => mapStatsSync(mapFile, { level: 1 }))).toBe("EANALYSISOPTION:level");
    expect(code(() => mapStatsSync([]))).toBe("EANALYSISEMPTY:files");
    const all = copyFixture("template_R001.hdf5", dir, "rejected.hdf5");
    const cf = new CacheFile(all);
    for (let i = 0; i < cf.length; i++) cf.setTraceAttrs(i, { ...cf.getTraceAttrs(i), reject: "True" });
    expect(code(() => mapStatsSync(all))).toBe("EANALYSISEMPTY:files");
    expect(mapStatsSync(all, { ignoreRejected: false, bootstrap: 0 }).traces_used).toBe(2);
  });
});

describe("marks for plot --mark cog,hotspot", () => {
  it("gives the CoG and the hotspot as MNI points, and where they fall in each view", () => {
    const s = mapStatsSync(mapFile, { bootstrap: 0 });
    const marks = mapMarks(s, parseMarks("cog, hotspot"));
    expect(marks.map((m) => m.name)).toEqual(["cog", "hotspot"]);
    expect(marks[0]!.mni).toEqual(s.cog_mni);
    expect(marks[1]!.mni).toEqual(s.hotspot_mni);
    expect(marks[1]!.label).toMatch(/^hotspot \(-3\d\.0, -[12]\d\.0, 5\d\.0\) \d+ µV$/);
    expect(markPosition([-37, -18, 54], "z")).toEqual([-37, -18]);
    expect(markPosition([-37, -18, 54], "y")).toEqual([-37, 54]);
    expect(markPosition([-37, -18, 54], "l")).toEqual([-18, 54]);
    expect(markPosition([-37, -18, 54], "r")).toBeUndefined();
    expect(() => parseMarks("cog,centre")).toThrow(/expected a comma-separated list of cog, hotspot for mark/);
  });
});

describe("mapStats, the async form", () => {
  it("gives mapStatsSync's numbers, turning the event loop between resamples; an abort throws AbortedError", async () => {
    const opts: StatsOptions = { bootstrap: 12, seed: 3 };
    const sync = mapStatsSync([mapFile, second], opts);
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    try {
      expect(await mapStats([mapFile, second], opts)).toEqual(sync);
    } finally {
      clearInterval(ticker);
    }
    expect(turns).toBeGreaterThan(0); // 12 projections, a turn after each
    const controller = new AbortController();
    const run = mapStats(mapFile, { bootstrap: 1000, signal: controller.signal });
    setTimeout(() => controller.abort(new Error("enough")), 50);
    await expect(run).rejects.toBeInstanceOf(AbortedError);
    await expect(mapStats(mapFile, { threshold: -1 })).rejects.toMatchObject({ code: "EANALYSISOPTION", option: "threshold" });
  });
});
