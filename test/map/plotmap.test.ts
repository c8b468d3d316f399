/**
 * plotMap on real CacheFiles written by offspect: the values, the counts
 * offspect prints, uninspected traces (None peaks), rejected traces,
 * unusable coordinates, and the figure's scale against the per-voxel means
 * computed here from the fixture's expected attributes.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CacheFile } from "../../src/index.js";
import { H5File, openObjectCount } from "../../src/hdf5/file.js";
import { PlotError, mapSummary, mapValues, plotMap, projectMap } from "../../src/map/index.js";
import { colorLevel } from "../../src/map/colormap.js";
import { VISIBLE_LEVEL } from "../../src/map/glass.js";
import { copyFixture, expected, fixture, tempDir } from "../helpers/fixtures.js";

const MAP = "map_session.hdf5";
const tmp = tempDir("ocf-plotmap-");
afterAll(() => tmp.cleanup());

/** The counts and values restated from the expected attributes (offspect's own reading of the file). */
function restate(ignoreRejected = true) {
  const traces = expected(MAP).traces.map((t) => t.attrs);
  let rejected = 0;
  let uninspected = 0;
  const coords: number[][] = [];
  const values: number[] = [];
  for (const a of traces) {
    if (ignoreRejected && a["reject"] === "True") {
      rejected++;
      continue;
    }
    const pos = a["pos_peak_magnitude_uv"]!;
    const neg = a["neg_peak_magnitude_uv"]!;
    if (pos === "None" || neg === "None") {
      uninspected++;
      values.push(0);
    } else values.push(Number(pos) - Number(neg));
    coords.push(JSON.parse(a["xyz_coords"]!) as number[]);
  }
  return { total: traces.length, rejected, uninspected, coords, values };
}

describe("map values of map_session.hdf5", () => {
  const cf = new CacheFile(fixture(MAP));

  it("counts used, rejected and uninspected traces as offspect prints them", () => {
    const want = restate();
    expect(want.rejected).toBeGreaterThan(0);
    expect(want.uninspected).toBeGreaterThan(0);
    const mv = mapValues(cf);
    expect(mv.counts).toEqual({
      used: want.total - want.rejected,
      total: want.total,
      rejected: want.rejected,
      uninspected: want.uninspected,
      dropped: 0,
    });
    expect(mv.values).toEqual(want.values.map((v) => expect.closeTo(v, 9)));
    expect(mv.coords).toEqual(want.coords);
    expect(mv.values[0]).toBeCloseTo(440.07 + 360.05, 9); // trace 0: pos - neg
    expect(mapSummary(mv.counts)).toBe(
      [
        `This plot is based on ${want.total - want.rejected}/${want.total} traces.`,
        `${String(want.rejected).padStart(3)} traces were rejected.`,
        `${String(want.uninspected).padStart(3)} traces were not inspected.`,
      ].join("\n"),
    );
  });

  it("maps rejected traces too with ignoreRejected: false", () => {
    const want = restate(false);
    const mv = mapValues(cf, { ignoreRejected: false });
    expect(mv.counts.used).toBe(want.total);
    expect(mv.counts.rejected).toBe(0);
    expect(mv.counts.uninspected).toBe(want.uninspected);
  });

  it("applies foo to every value, 0 of uninspected traces included", () => {
    const seen: number[] = [];
    const mv = mapValues(cf, {
      foo: (x) => {
        seen.push(x);
        return Math.log10(x + 1);
      },
    });
    const want = restate();
    expect(seen).toEqual(want.values.map((v) => expect.closeTo(v, 9)));
    expect(mv.values).toEqual(want.values.map((v) => expect.closeTo(Math.log10(v + 1), 9)));
    expect(mv.values.filter((v) => v === 0).length).toBe(want.uninspected);
  });

  it("says which trace made foo fail", () => {
    let e: unknown;
    try {
      mapValues(cf, { foo: (x) => Math.log10(x) });
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(PlotError);
    expect((e as PlotError).code).toBe("EPLOTINPUT");
    expect((e as PlotError).message).toMatch(/foo returned -Infinity for the value 0 of trace \d+ of .*map_session\.hdf5 \(not inspected/);
  });

  it("adds up a list of CacheFiles", () => {
    const one = mapValues(cf).counts;
    const two = mapValues([cf, cf]).counts;
    expect(two).toEqual({
      used: 2 * one.used,
      total: 2 * one.total,
      rejected: 2 * one.rejected,
      uninspected: 2 * one.uninspected,
      dropped: 0,
    });
  });
});

describe("plotMap", () => {
  it("renders map_session.hdf5, scaled to the largest per-voxel mean, and carries the counts", async () => {
    const cf = new CacheFile(fixture(MAP));
    const fig = await plotMap(cf, { title: "map_session" });
    const want = restate();
    // Per-voxel means restated: nearest voxel of the 1 mm grid (no ties in this file).
    const voxels = new Map<string, number[]>();
    want.coords.forEach((c, t) => {
      const key = [Math.round(90 - c[0]!), Math.round(c[1]! + 126), Math.round(c[2]! + 72)].join();
      voxels.set(key, [...(voxels.get(key) ?? []), want.values[t]!]);
    });
    const maxMean = Math.max(...[...voxels.values()].map((v) => v.reduce((a, b) => a + b, 0) / v.length));
    expect(fig.vmax).toBeCloseTo(maxMean, 9);
    expect(Math.max(...fig.projections[0]!.data)).toBeCloseTo(maxMean, 9);
    expect(fig.counts).toEqual(mapValues(cf).counts);
    expect(fig.summary).toBe(mapSummary(fig.counts));
    expect(fig.projections[0]!.data).toEqual(projectMap(want.coords, want.values, { view: "z" }).data);
    const png = await fig.toBuffer();
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
  });

  it("drops and counts unusable and outside coordinates, and None values count as not inspected", async () => {
    const path = copyFixture(MAP, tmp.dir);
    const f = H5File.open(path, "r+");
    try {
      f.setAttrs("/S07_map_run1.xdf/traces/0", { xyz_coords: "[nan, nan, nan]" });
      f.setAttrs("/S07_map_run1.xdf/traces/1", { xyz_coords: "[200.0, 0.0, 0.0]" });
      f.setAttrs("/S07_map_run1.xdf/traces/2", { xyz_coords: "None" });
      f.setAttrs("/S07_map_run1.xdf/traces/3", { neg_peak_magnitude_uv: "None", reject: "None" });
    } finally {
      f.close();
    }
    // In the fixture, traces 0-2 are inspected and kept, trace 3 is rejected:
    // now 0-2 have unusable or outside coordinates, and trace 3 reads reject
    // None (null: not rejected) with a None peak (not inspected).
    expect(expected(MAP).traces.slice(0, 4).map((t) => t.attrs["reject"])).toEqual(["False", "False", "False", "True"]);
    const base = restate();
    const fig = await plotMap(new CacheFile(path));
    expect(fig.counts).toEqual({
      used: base.total - (base.rejected - 1) - 3,
      total: base.total,
      rejected: base.rejected - 1,
      uninspected: base.uninspected + 1,
      dropped: 3,
    });
    expect([fig.dropped, fig.unusable, fig.outside]).toEqual([3, 2, 1]);
    expect(fig.summary).toMatch(/traces were left out: their xyz_coords are not three finite numbers or lie outside the MNI grid/);
  });

  it("maps paths as it maps the CacheFiles they name, and lets go of the files it opened", async () => {
    const path = fixture(MAP);
    const [byPath, byFile] = [await plotMap(path), await plotMap(new CacheFile(path))];
    expect(byPath.counts).toEqual(byFile.counts);
    expect(Buffer.compare(await byPath.toBuffer(), await byFile.toBuffer())).toBe(0);
    const two = [fixture("template_R001.hdf5"), new CacheFile(fixture("template_R003.hdf5"))];
    expect((await plotMap(two, { ignoreRejected: false })).counts.total).toBe(4);
    expect(mapValues([fixture("template_R001.hdf5")]).counts.total).toBe(2);
    const before = openObjectCount();
    await plotMap(path);
    expect(openObjectCount()).toBe(before);
  });

  it("refuses what it cannot map, saying what to do", async () => {
    const cf = new CacheFile(fixture(MAP));
    await expect(plotMap([])).rejects.toMatchObject({ code: "EPLOTEMPTY", message: /pass a CacheFile, a path or a non-empty array/ });
    await expect(plotMap([3 as unknown as CacheFile])).rejects.toMatchObject({ code: "EPLOTINPUT", message: "expected a CacheFile or a path to one at cachefiles[0], got 3" });
    await expect(plotMap(join(tmp.dir, "missing.hdf5"))).rejects.toMatchObject({ code: "ENOENT" });
    await expect(plotMap(cf, { displayMode: "q" as "z" })).rejects.toMatchObject({ code: "EPLOTOPTION", option: "displayMode" });
    await expect(plotMap(cf, { ignore_rejected: false } as object)).rejects.toMatchObject({ code: "EPLOTOPTION", message: /unknown option ignore_rejected.*ignoreRejected/ });
    await expect(plotMap(cf, { foo: 3 as unknown as (x: number) => number })).rejects.toMatchObject({ code: "EPLOTOPTION", option: "foo" });
    await expect(plotMap(cf, { foo: () => NaN })).rejects.toBeInstanceOf(PlotError);
  });

  it("refuses a file whose traces are all rejected, pointing at ignoreRejected", async () => {
    const path = copyFixture(MAP, tmp.dir, "all_rejected.hdf5");
    const f = H5File.open(path, "r+");
    try {
      for (const origin of f.keys("/")) for (const t of f.keys(`/${origin}/traces`)) f.setAttrs(`/${origin}/traces/${t}`, { reject: "True" });
    } finally {
      f.close();
    }
    await expect(plotMap(new CacheFile(path))).rejects.toMatchObject({ code: "EPLOTEMPTY", message: /120 are rejected.*ignoreRejected: false/ });
    const fig = await plotMap(new CacheFile(path), { ignoreRejected: false });
    expect(fig.counts.used).toBe(120);
  });
});

describe("plotMap's scales: vmax in µV, colour bars labelled as what they show", () => {
  const cf = new CacheFile(fixture(MAP));
  const peak = (fig: { projections: readonly { data: Float64Array }[] }) => Math.max(...fig.projections.map((p) => Math.max(...p.data)));

  it("log: vmax 500 means 500 µV (log10(501) on the drawn scale), ticks are labelled in µV, the map is visible", async () => {
    const fig = await plotMap(cf, { transform: "log", vmax: 500 });
    expect(fig.vmax).toBeCloseTo(Math.log10(501), 12);
    expect(fig.ticks.map((t) => t / fig.vmax)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(fig.tickLabels[0]).toBe("0µV");
    expect(fig.tickLabels[4]).toBe("500µV");
    expect(fig.tickLabels[2]).toBe(`${Number((10 ** (Math.log10(501) / 2) - 1).toPrecision(3))}µV`); // 21.4µV
    expect(colorLevel(peak(fig), fig.vmax)).toBeGreaterThanOrEqual(VISIBLE_LEVEL);
    expect(fig.warnings).toEqual([]);
    // The same with foo: the same scale, labelled in foo's values (no unit).
    const viaFoo = await plotMap(cf, { foo: (x) => Math.log10(x + 1), vmax: 500 });
    expect(viaFoo.vmax).toBe(fig.vmax);
    expect(viaFoo.tickLabels).toEqual(["0", "0.675", "1.35", "2.02", "2.7"]);
  });

  it("linear: ticks stay offspect's f\"{t:3.0f}µV\", vmax is µV", async () => {
    const fig = await plotMap(cf, { vmax: 1000 });
    expect(fig.vmax).toBe(1000);
    expect(fig.tickLabels).toEqual(["  0µV", "250µV", "500µV", "750µV", "1000µV"]);
  });

  it("threshold: 1 above the threshold, 0 at or below, labelled so; a vmax at or below the threshold is refused", async () => {
    const fig = await plotMap(cf, { transform: { threshold: 50 } });
    // Some voxel of map_session.hdf5 holds only traces above 50 µV: the scale tops out at 1.
    expect(fig.vmax).toBe(1);
    expect(fig.tickLabels).toEqual(["0 (≤50µV)", "0.25", "0.5", "0.75", "1 (>50µV)"]);
    expect(mapValues(cf, { foo: (x) => (x > 50 ? 1 : 0) }).values).toEqual(mapValues(cf).values.map((v) => (v > 50 ? 1 : 0)));
    const withVmax = await plotMap(cf, { transform: { threshold: 50 }, vmax: 200 });
    expect(withVmax.vmax).toBe(1);
    expect(withVmax.tickLabels).toEqual(["0 (≤50µV)", "0.25", "0.5", "0.75", "1 (>50µV)"]);
    await expect(plotMap(cf, { transform: { threshold: 50 }, vmax: 30 })).rejects.toMatchObject({ code: "EPLOTOPTION", option: "vmax", message: /vmax 30 µV is 0 on the map's scale.*above the threshold \(50 µV\)/ });
  });

  it("warns when nothing on the map is visibly coloured, and refuses transform with foo", async () => {
    const fig = await plotMap(cf, { vmax: 1e6 });
    expect(fig.warnings).toHaveLength(1);
    expect(fig.warnings[0]).toMatch(/^nothing on the map is visibly coloured: its largest value \(\d+µV\) is below 5% of vmax \(1000000µV\); lower vmax/);
    expect(colorLevel(peak(fig), fig.vmax)).toBeLessThan(VISIBLE_LEVEL);
    await expect(plotMap(cf, { transform: "log", foo: (x) => x })).rejects.toMatchObject({ code: "EPLOTOPTION", option: "transform" });
    await expect(plotMap(cf, { transform: "square" as "log" })).rejects.toMatchObject({ code: "EPLOTOPTION", option: "transform" });
  });
});
