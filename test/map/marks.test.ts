/**
 * Marks on a map (`plotMap(..., { marks: ["cog", "hotspot"] })`, `cachefile
 * plot --mark cog,hotspot`): the marked PNG differs from the unmarked one
 * only around the marks' projected positions, in every display mode, with
 * each mark's symbol (its colour) at its point; the points are mapStats'
 * CoG and hotspot of the very traces and values the map draws.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { CacheFile } from "../../src/index.js";
import { mapMarks, mapStatsSync, type Mni } from "../../src/analysis/index.js";
import { DISPLAY_MODES, PlotError, plotGlass, plotMap, type MapFigure, type Panel } from "../../src/map/index.js";
import { copyFixture, fixture, tempDir } from "../helpers/fixtures.js";
import { cliIn } from "../helpers/cli.js";

const tmp = tempDir("ocf-marks-");
afterAll(() => tmp.cleanup());
const MAP = fixture("map_session.hdf5");

/** Where an MNI point must appear in a panel (the panel's rectangle and the grid's extent; cf. render.test.ts). */
function expectedPixel(p: Panel, scale: number, [x, y, z]: Mni): [number, number] | undefined {
  switch (p.view) {
    case "z":
      return [p.x + (x + 90 + 0.5) * scale, p.y + (90 - y + 0.5) * scale];
    case "y":
      return [p.x + (x + 90 + 0.5) * scale, p.y + (108 - z + 0.5) * scale];
    case "l":
      return x < 0 ? [p.x + p.width - (y + 126 + 0.5) * scale, p.y + (108 - z + 0.5) * scale] : undefined;
    case "r":
      return x >= 0 ? [p.x + (y + 126 + 0.5) * scale, p.y + (108 - z + 0.5) * scale] : undefined;
    default:
      return [p.x + (y + 126 + 0.5) * scale, p.y + (108 - z + 0.5) * scale];
  }
}

async function pixels(fig: MapFigure): Promise<{ width: number; height: number; data: Buffer }> {
  const { data, info } = await sharp(await fig.toBuffer()).raw().toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(3);
  return { width: info.width, height: info.height, data };
}

/** The mark's own colour: blue for the CoG, green for the hotspot. */
const COLOURED = {
  cog: (r: number, g: number, b: number) => b > r + 80 && b > g + 60,
  hotspot: (r: number, g: number, b: number) => g > r + 50 && g > b + 40,
};

describe("plotMap's marks", () => {
  const cf = new CacheFile(MAP);
  const stats = mapStatsSync(MAP, { bootstrap: 0 });

  it.each([...DISPLAY_MODES])("display mode %s: the marked PNG differs from the unmarked one exactly around the marks' projected positions", async (mode) => {
    const plain = await plotMap(cf, { displayMode: mode, title: "S01" });
    const marked = await plotMap(cf, { displayMode: mode, title: "S01", marks: ["cog", "hotspot"] });
    expect(plain.marks).toEqual([]);
    expect([marked.width, marked.height]).toEqual([plain.width, plain.height]);
    // One placement per mark and view that shows it, at the point's projection.
    const wanted = marked.panels.flatMap((p) =>
      (["cog", "hotspot"] as const).flatMap((name) => {
        const at = expectedPixel(p, marked.scale, (name === "cog" ? stats.cog_mni : stats.hotspot_mni)!);
        return at ? [{ name, view: p.view, x: at[0], y: at[1] }] : [];
      }),
    );
    expect(marked.marks.map((m) => ({ name: m.name, view: m.view, x: m.x, y: m.y }))).toEqual(wanted.map((w) => ({ ...w, x: expect.closeTo(w.x, 9), y: expect.closeTo(w.y, 9) })));
    // The map's CoG and hotspot lie in the left hemisphere: view r shows neither, and its figure is unmarked.
    expect(wanted.length === 0).toBe(mode === "r");

    const a = await pixels(plain);
    const b = await pixels(marked);
    let changed = 0;
    const near = new Map<string, { changed: number; coloured: number }>();
    for (let y = 0; y < a.height; y++) {
      for (let x = 0; x < a.width; x++) {
        const o = (y * a.width + x) * 3;
        if (a.data[o] === b.data[o] && a.data[o + 1] === b.data[o + 1] && a.data[o + 2] === b.data[o + 2]) continue;
        changed++;
        const owner = marked.marks.find((m) => x >= m.box[0] && x < m.box[2] && y >= m.box[1] && y < m.box[3]);
        expect(owner, `pixel ${x},${y} changed outside every mark`).toBeDefined();
        for (const m of marked.marks) {
          if (Math.hypot(x + 0.5 - m.x, y + 0.5 - m.y) > 8 * marked.scale) continue;
          const k = `${m.view}:${m.name}`;
          const e = near.get(k) ?? { changed: 0, coloured: 0 };
          e.changed++;
          if (COLOURED[m.name](b.data[o]!, b.data[o + 1]!, b.data[o + 2]!)) e.coloured++;
          near.set(k, e);
        }
      }
    }
    expect(changed > 0).toBe(wanted.length > 0);
    for (const m of marked.marks) {
      const e = near.get(`${m.view}:${m.name}`);
      expect(e?.changed, `${mode} ${m.view} ${m.name}`).toBeGreaterThan(20);
      expect(e?.coloured, `${mode} ${m.view} ${m.name}: its symbol's colour`).toBeGreaterThan(10);
    }
  });

  it("computes the marks from the traces and values the map draws: the transform and ignoreRejected apply", async () => {
    const fig = await plotMap(cf, { transform: "log", ignoreRejected: false, marks: ["hotspot", "cog"] });
    const s = mapStatsSync(MAP, { transform: "log", ignoreRejected: false, bootstrap: 0 });
    const z = fig.marks.filter((m) => m.view === "z");
    expect(z.map((m) => m.name)).toEqual(["hotspot", "cog"]);
    expect(z[1]!.label).toBe(mapMarks(s, ["cog"])[0]!.label);
    expect(z[0]!.label).toMatch(/^hotspot \(-?\d+\.0, -?\d+\.0, -?\d+\.0\) [\d.]+µV$/); // the hotspot's mean in µV, as the colour bar labels it
    expect(z[0]!.label.startsWith(`hotspot (${s.hotspot_mni!.map((v) => v.toFixed(1)).join(", ")})`)).toBe(true);
    const [x, y] = expectedPixel(fig.panels[0]!, fig.scale, s.cog_mni!)!;
    expect(z[1]!.x).toBeCloseTo(x, 9);
    expect(z[1]!.y).toBeCloseTo(y, 9);
    // Another map's marks: the plain CoG is not the log map's.
    expect(mapStatsSync(MAP, { bootstrap: 0 }).cog_mni).not.toEqual(s.cog_mni);
  });

  it("draws marks given as points (mapMarks), and plotGlass takes them too", async () => {
    const marks = mapMarks({ cog_mni: [40, -20, 60], hotspot_mni: [-40, -20, 60], hotspot_uv: 800 });
    const fig = await plotGlass([[40, -20, 60], [-40, -20, 60]], [500, 800], { displayMode: "lzr", marks });
    expect(fig.marks.map((m) => `${m.view}:${m.name}`)).toEqual(["l:hotspot", "z:cog", "z:hotspot", "r:cog"]);
    expect(fig.marks.find((m) => m.name === "hotspot")!.label).toBe("hotspot (-40.0, -20.0, 60.0) 800 µV");
    const viaMap = await plotMap(cf, { marks: [marks[0]!, "hotspot"] });
    expect(viaMap.marks.map((m) => [m.name, m.label])).toEqual([
      ["cog", "CoG (40.0, -20.0, 60.0)"],
      ["hotspot", mapMarks(stats, ["hotspot"])[0]!.label],
    ]);
  });

  it.each([1, 1.5, 2, 3])("at %s pixels per mm, in every display mode, no label is drawn over another label or a symbol (no \"hotsCoGot\")", async (scale) => {
    for (const mode of DISPLAY_MODES) {
      const fig = await plotMap(cf, { displayMode: mode, scale, marks: ["cog", "hotspot"] });
      const overlap = (a: readonly number[], b: readonly number[]) => a[0]! < b[2]! && b[0]! < a[2]! && a[1]! < b[3]! && b[1]! < a[3]!;
      for (const view of new Set(fig.marks.map((m) => m.view))) {
        const here = fig.marks.filter((m) => m.view === view);
        expect(here.length, `${mode} ${view}`).toBe(2);
        expect(overlap(here[0]!.labelBox, here[1]!.labelBox), `${mode} ${view}: the labels`).toBe(false);
        for (const m of here) {
          // A label lies beside the symbols, not over them: the CoG's ring reaches 7.5 mm around its point.
          for (const other of here) {
            const r = 7.5 * scale;
            expect(overlap(m.labelBox, [other.x - r, other.y - r, other.x + r, other.y + r]), `${mode} ${view}: ${m.name}'s label over ${other.name}`).toBe(false);
          }
        }
      }
    }
  });

  it("labels the sagittal views anterior and posterior (A, P), the others left and right", async () => {
    // The letters are drawn in the top corners of each view: the figure differs there from one without them.
    const fig = await plotGlass([[-37, -21, 58]], [800], { displayMode: "lyrz", colorbar: false });
    const { data, width } = await pixels(fig);
    const dark = (x0: number, y0: number) => {
      let n = 0;
      for (let y = y0; y < y0 + 18; y++) for (let x = x0; x < x0 + 14; x++) if (data[(y * width + x) * 3]! < 120) n++;
      return n;
    };
    for (const p of fig.panels) {
      expect(dark(Math.round(p.x + 3), Math.round(p.y)), `${p.view} left corner`).toBeGreaterThan(8);
      expect(dark(Math.round(p.x + p.width - 17), Math.round(p.y)), `${p.view} right corner`).toBeGreaterThan(8);
    }
  });

  it("refuses marks it cannot draw with PlotError EPLOTOPTION", async () => {
    const code = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (e) {
        expect(e).toBeInstanceOf(PlotError);
        return `${(e as PlotError).code}:${(e as PlotError).message}`;
      }
      return "no error";
    };
    expect(await code(plotMap(cf, { marks: ["centre" as "cog"] }))).toMatch(/^EPLOTOPTION:expected one of "cog", "hotspot" or a mark \{ name, mni, label \} for marks\[0\], got "centre"/);
    expect(await code(plotMap(cf, { marks: "cog" as unknown as ["cog"] }))).toMatch(/^EPLOTOPTION:expected an array of mark names/);
    expect(await code(plotGlass([[0, 0, 0]], [1], { marks: [{ name: "cog", mni: [1, 2] as unknown as Mni, label: "x" }] }))).toMatch(/^EPLOTOPTION:expected \{ name: "cog" or "hotspot", mni: \[x, y, z\] in mm, label: text \} for marks\[0\]/);
  });
});

describe("cachefile plot --mark", () => {
  const cli = cliIn(() => tmp.dir);

  it("warns about a file given twice and counts its traces once", () => {
    const file = copyFixture("map_session.hdf5", tmp.dir, "twice.hdf5");
    const r = cli("plot", file, "./twice.hdf5", "-o", "twice.png");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.split("\n")).toEqual([
      "warning: ./twice.hdf5 is given more than once: its traces are counted once",
      "This plot is based on 108/120 traces.",
      " 12 traces were rejected.",
      "  9 traces were not inspected.",
      "wrote twice.png",
      "",
    ]);
  });

  it("draws the CoG and the hotspot and says where they are; an unknown name is a usage error (exit 2) and writes nothing", async () => {
    const file = copyFixture("map_session.hdf5", tmp.dir);
    const r = cli("plot", file, "-o", "marked.png", "--mark", "cog,hotspot", "--display-mode", "ortho");
    expect(r.stderr).toContain("This plot is based on 108/120 traces.");
    expect(r.status).toBe(0);
    const marks = mapMarks(mapStatsSync(file, { bootstrap: 0 }));
    expect(r.stderr).toContain(`mark cog: ${marks[0]!.label}\n`);
    expect(r.stderr).toContain(`mark hotspot: ${marks[1]!.label}\n`);
    const ours = await plotMap(new CacheFile(file), { displayMode: "ortho", marks: ["cog", "hotspot"], title: "" });
    const png = await sharp(join(tmp.dir, "marked.png")).raw().toBuffer();
    expect(png.equals((await pixels(ours)).data)).toBe(true); // the library's figure, pixel for pixel
    const bad = cli("plot", file, "-o", "bad.png", "--mark", "cog,centre");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('error: --mark expects names among cog, hotspot (comma-separated, e.g. cog,hotspot), got "cog,centre"\n');
    expect(existsSync(join(tmp.dir, "bad.png"))).toBe(false);
  });
});
