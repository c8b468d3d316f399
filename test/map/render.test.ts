/**
 * Rendering: the PNG decoded with sharp, checked for its size, where the
 * hotspot lands, the colours, the brain outline, and that text renders as
 * glyphs from the shipped font with no system fonts at all.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { DISPLAY_MODES, PlotError, plotGlass, viewsOf, type MapFigure, type Panel, type View } from "../../src/map/index.js";
import { FONT_FILE, textPath } from "../../src/map/font.js";
import { HOT_R } from "../../src/map/colormap.js";
import { formatTick } from "../../src/map/glass.js";
import { runNode } from "../helpers/cli.js";
import { ROOT, tempDir } from "../helpers/fixtures.js";

interface Image {
  width: number;
  height: number;
  channels: number;
  px: (x: number, y: number) => [number, number, number];
}

async function decodePng(png: Buffer): Promise<Image> {
  expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    channels: info.channels,
    px: (x, y) => {
      const o = (y * info.width + x) * info.channels;
      return [data[o]!, data[o + 1]!, data[o + 2]!];
    },
  };
}

/** Where an MNI point must appear in a panel, computed from the panel's rectangle and the grid's extent. */
function expectedPixel(p: Panel, scale: number, [x, y, z]: number[]): [number, number] {
  // Left/top edge of the panel is the grid's first column / last row, each voxel `scale` pixels wide.
  switch (p.view) {
    case "z":
      return [p.x + (x! + 90 + 0.5) * scale, p.y + (90 - y! + 0.5) * scale];
    case "y":
      return [p.x + (x! + 90 + 0.5) * scale, p.y + (108 - z! + 0.5) * scale];
    case "l": // seen from the left: anterior (y > 0) to the left
      return [p.x + p.width - (y! + 126 + 0.5) * scale, p.y + (108 - z! + 0.5) * scale];
    default:
      return [p.x + (y! + 126 + 0.5) * scale, p.y + (108 - z! + 0.5) * scale];
  }
}

function darkest(img: Image, p: Panel): [number, number, number] {
  let best = [0, 0, Infinity] as [number, number, number];
  for (let y = p.y; y < p.y + p.height; y++) {
    for (let x = p.x; x < p.x + p.width; x++) {
      const [r, g, b] = img.px(x, y);
      if (r + g + b < best[2]) best = [x, y, r + g + b];
    }
  }
  return best;
}

/** Fraction of dark pixels in a rectangle. */
function coverage(img: Image, x0: number, y0: number, x1: number, y1: number): number {
  let dark = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (img.px(x, y)[0] < 128) dark++;
  return dark / ((x1 - x0) * (y1 - y0));
}

const tmp = tempDir("ocf-map-");
afterAll(() => tmp.cleanup());

const HOT = [-37, -21, 58];

describe("plotGlass figures", () => {
  it("toFile writes the PNG toBuffer returns, and savefig (offspect's name) is the same call", async () => {
    const fig = await plotGlass([HOT], [800]);
    const a = join(tmp.dir, "tofile.png");
    const b = join(tmp.dir, "savefig.png");
    await fig.toFile(a);
    await fig.savefig(b);
    const png = await fig.toBuffer();
    expect(readFileSync(a).equals(png)).toBe(true);
    expect(readFileSync(b).equals(png)).toBe(true);
    await expect(fig.toFile(join(tmp.dir, "map.jpg"))).rejects.toMatchObject({ code: "EPLOTOPTION", message: expect.stringMatching(/expected a file name ending in .png, got/) });
  });

  it("writes a PNG of about 500 x 500 pixels for one view, with the hotspot where the coordinate maps", async () => {
    const fig = await plotGlass([HOT], [800]);
    const file = join(tmp.dir, "z.png");
    await fig.savefig(file);
    const img = await decodePng(readFileSync(file));
    expect([img.width, img.height, img.channels]).toEqual([fig.width, fig.height, 3]);
    expect(fig.width).toBeGreaterThan(400);
    expect(fig.width).toBeLessThan(560);
    expect(fig.height).toBeGreaterThan(400);
    expect(fig.height).toBeLessThan(560);
    expect(fig.views).toEqual(["z"]);
    const [x, y] = expectedPixel(fig.panels[0]!, fig.scale, HOT);
    const [dx, dy, sum] = darkest(img, fig.panels[0]!);
    expect(Math.abs(dx - x)).toBeLessThanOrEqual(fig.scale);
    expect(Math.abs(dy - y)).toBeLessThanOrEqual(fig.scale);
    expect(sum).toBeLessThan(40); // near-black: hot_r at vmax
    expect(fig.locate(HOT as [number, number, number])[0]).toEqual({ view: "z", x, y });
    expect(fig.vmax).toBeCloseTo(800, 9);
  });

  it("lays out ortho as x, y, z left to right, and every display mode in the order of its letters", async () => {
    const fig = await plotGlass([HOT, [40, 30, 20]], [800, 200], { displayMode: "ortho" });
    expect(fig.views).toEqual(["x", "y", "z"]);
    const img = await decodePng(await fig.toBuffer());
    for (const p of fig.panels) {
      const [x, y] = expectedPixel(p, fig.scale, HOT);
      const [dx, dy] = darkest(img, p);
      expect([p.view, Math.abs(dx - x) <= fig.scale, Math.abs(dy - y) <= fig.scale]).toEqual([p.view, true, true]);
    }
    const xs = fig.panels.map((p) => p.x);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    for (const mode of DISPLAY_MODES) expect(viewsOf(mode).join("")).toBe(mode === "ortho" ? "xyz" : mode);
  });

  it("shows the left hemisphere from the left (anterior to the left) and the right one from the right", async () => {
    const front = [-40, 40, 20];
    const fig = await plotGlass([front], [500], { displayMode: "lr" });
    const img = await decodePng(await fig.toBuffer());
    const [l, r] = fig.panels as [Panel, Panel];
    const [lx] = darkest(img, l);
    expect(lx - l.x).toBeLessThan(l.width / 2); // anterior point left of centre
    expect(Math.abs(lx - expectedPixel(l, fig.scale, front)[0])).toBeLessThanOrEqual(fig.scale);
    // The point is in the left hemisphere: the r view shows no map, only the outline (below its A and P).
    const [, , rsum] = darkest(img, { ...r, y: r.y + 20, height: r.height - 20 });
    expect(rsum).toBeGreaterThan(300);
  });

  it("draws the brain outline (Colin27) under the map in each view", async () => {
    const fig = await plotGlass([HOT], [800], { displayMode: "lyrz", colorbar: false });
    const img = await decodePng(await fig.toBuffer());
    for (const p of fig.panels) {
      let outline = 0;
      for (let y = p.y; y < p.y + p.height; y++) {
        for (let x = p.x; x < p.x + p.width; x++) {
          const [r, g, b] = img.px(x, y);
          if (r === g && g === b && r >= 100 && r <= 200) outline++;
        }
      }
      expect(outline).toBeGreaterThan(400);
      // White outside the brain (the panel's corner), the silhouette's light fill inside, away from the map.
      expect(img.px(p.x + 2, p.y + p.height - 3)).toEqual([255, 255, 255]);
    }
    const z = fig.panels.find((p) => p.view === "z")!;
    const [cx, cy] = expectedPixel(z, fig.scale, [30, -60, 0]);
    expect(img.px(Math.round(cx), Math.round(cy))).toEqual([244, 244, 244]);
    // The brain's lateral edge in the z view, along y = -20: the Colin27 brain spans about x = -70..70 mm.
    const [, rowY] = expectedPixel(z, fig.scale, [0, -20, 0]);
    let first = -1;
    for (let x = z.x; x < z.x + z.width && first < 0; x++) if (img.px(x, Math.round(rowY))[0] < 250) first = x;
    const mm = (first - z.x) / fig.scale - 90.5;
    expect(mm).toBeGreaterThan(-75);
    expect(mm).toBeLessThan(-62);
  });

  it("colours with hot_r: white at 0 through yellow and red to near-black at vmax, on the colour bar too", async () => {
    expect(Array.from(HOT_R.subarray(0, 3))).toEqual([255, 255, 255]);
    expect(Array.from(HOT_R.subarray(255 * 3))).toEqual([10, 0, 0]);
    const mid = HOT_R.subarray(128 * 3, 128 * 3 + 3);
    expect(mid[0]).toBe(255); // red ...
    expect(mid[2]).toBe(0); // ... to yellow, no blue
    const fig = await plotGlass([HOT], [80], { vmax: 100 });
    expect(fig.ticks).toEqual([0, 25, 50, 75, 100]);
    const img = await decodePng(await fig.toBuffer());
    const p = fig.panels[0]!;
    const barX = p.x + p.width + 14 + 7; // the bar's middle column
    let top = -1;
    let bottom = -1;
    for (let y = 0; y < img.height; y++) {
      const [r, g, b] = img.px(barX, y);
      if (r < 40 && g < 20 && b < 20 && top < 0) top = y;
      if (r > 240 && g > 240 && b > 200 && top >= 0) bottom = y;
    }
    expect(top).toBeGreaterThan(0);
    expect(bottom).toBeGreaterThan(top);
    // 80 of vmax 100: level floor(0.8 * 256) = 204, hot at 1 - 204/255 = 0.2:
    // red 0.0416 + 0.2 / 0.365079 * (1 - 0.0416), no green or blue, times
    // the silhouette's fill (244) underneath.
    const [dx, dy] = darkest(img, p);
    const red = Math.trunc((0.0416 + (0.2 / 0.365079) * (1 - 0.0416)) * 255);
    const [r, g, b] = img.px(dx, dy);
    expect(Math.abs(r - (red * 244) / 255)).toBeLessThanOrEqual(1);
    expect([g, b]).toEqual([0, 0]);
  });

  it("labels the colour bar as offspect does: f\"{t:3.0f}µV\"", () => {
    expect(formatTick(0)).toBe("  0");
    expect(formatTick(2.5)).toBe("  2"); // Python rounds half to even
    expect(formatTick(3.5)).toBe("  4");
    expect(formatTick(371.66)).toBe("372");
    expect(formatTick(1486.64)).toBe("1487");
  });
});

describe("text", () => {
  it("ships its font and has a glyph for every character it draws", () => {
    expect(FONT_FILE).toBe(join(ROOT, "assets", "fonts", "DejaVuSans.ttf"));
    expect(existsSync(join(ROOT, "assets", "fonts", "DejaVuSans-LICENSE.txt"))).toBe(true);
    expect(textPath(" 372µV", 0, 0, 12).missing).toEqual([]);
    expect(textPath("Motor map ÄÖÜ äöüß -0.2 time (s)", 0, 0, 12).missing).toEqual([]);
    expect(textPath("漢字", 0, 0, 12).missing).toEqual(["漢", "字"]); // what a missing glyph looks like
  });

  it("renders a title as glyphs: different strings cover different amounts of ink", async () => {
    const figs = await Promise.all(["iiiiiiiiii", "MMMMMMMMMM", ""].map((title) => plotGlass([HOT], [800], { title, colorbar: false })));
    const imgs = await Promise.all(figs.map(async (f) => decodePng(await f.toBuffer())));
    const band = (img: Image) => coverage(img, 0, 0, 220, 28);
    const [thin, wide] = imgs.map(band) as [number, number];
    expect(coverage(imgs[2]!, 0, 0, 220, 10)).toBe(0);
    expect(thin).toBeGreaterThan(0.005);
    // Missing-glyph boxes would cover the same for both strings of ten characters.
    expect(wide).toBeGreaterThan(2.5 * thin);
    expect(wide).toBeLessThan(0.5);
    // Nothing with a title band but the title: the figure is taller by it.
    expect(figs[0]!.height - figs[2]!.height).toBe(28);
  });

  it("renders the µV tick labels as glyphs next to the colour bar", async () => {
    const a = await plotGlass([HOT], [800], { vmax: 100 });
    const b = await plotGlass([HOT], [800], { vmax: 1000 });
    const [ia, ib] = await Promise.all([decodePng(await a.toBuffer()), decodePng(await b.toBuffer())]);
    const p = a.panels[0]!;
    const x0 = p.x + p.width + 14 + 14 + 4;
    const ca = coverage(ia, x0, p.y, a.width, p.y + p.height);
    const cb = coverage(ib, x0, p.y, b.width, p.y + p.height);
    expect(ca).toBeGreaterThan(0.01);
    expect(cb).toBeGreaterThan(ca); // "1000µV" has more ink than " 100µV"
    expect(b.width).toBeGreaterThan(a.width); // and is wider
  });

  it("renders the same PNG in a process that has no fonts and no fontconfig", async () => {
    const out = join(tmp.dir, "child.png");
    const env: Record<string, string> = {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      HOME: tmp.dir,
      XDG_CACHE_HOME: join(tmp.dir, "cache"),
      XDG_DATA_HOME: join(tmp.dir, "data"),
      XDG_CONFIG_HOME: join(tmp.dir, "config"),
      FONTCONFIG_FILE: join(tmp.dir, "no-such-fonts.conf"),
      FONTCONFIG_PATH: join(tmp.dir, "no-such-dir"),
    };
    const r = runNode([join(ROOT, "test", "map", "render-child.mjs"), out], { env });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const fig = await plotGlass([[-37, -21, 58], [-30, -10, 62]], [800, 300], { title: "Motor map µV ÄÖÜ", displayMode: "yz" });
    expect(readFileSync(out).equals(await fig.toBuffer())).toBe(true);
    const img = await decodePng(readFileSync(out));
    expect(coverage(img, 0, 0, 200, 28)).toBeGreaterThan(0.03);
  });
});

describe("errors", () => {
  async function rejects(p: Promise<unknown>, code: string, option: string, message: RegExp): Promise<void> {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(PlotError);
    expect([(e as PlotError).code, (e as PlotError).option]).toEqual([code, option]);
    expect((e as PlotError).message).toMatch(message);
  }

  it("says what to pass for bad options, empty input and no point on the grid", async () => {
    await rejects(plotGlass([HOT], [1], { displayMode: "xyz" as "ortho" }), "EPLOTOPTION", "displayMode", /one of x, y, z, l, r, ortho, xz.*got "xyz"/);
    await rejects(plotGlass([HOT], [1], { smooth: Infinity }), "EPLOTOPTION", "smooth", /finite/);
    await rejects(plotGlass([HOT], [1], { vmax: 0 }), "EPLOTOPTION", "vmax", /positive finite number/);
    await rejects(plotGlass([HOT], [1], { colorbar: "yes" as unknown as boolean }), "EPLOTOPTION", "colorbar", /true or false/);
    await rejects(plotGlass([HOT], [1], { display_mode: "z" } as object), "EPLOTOPTION", "display_mode", /unknown option display_mode: the options are displayMode/);
    await rejects(plotGlass([], []), "EPLOTEMPTY", "coords", /no points/);
    await rejects(plotGlass([HOT, HOT], [1]), "EPLOTINPUT", "values", /2 coordinates and 1 values/);
    await rejects(plotGlass([[500, 0, 0], [NaN, 0, 0]], [1, 2]), "EPLOTEMPTY", "coords", /1 without three finite coordinates, 1 outside the MNI grid/);
    const fig = await plotGlass([HOT], [1]);
    await rejects(fig.savefig(join(tmp.dir, "map.jpg")), "EPLOTOPTION", "path", /ending in .png/);
  });

  it("counts dropped points on the figure", async () => {
    const fig: MapFigure = await plotGlass([HOT, [500, 0, 0], [NaN, 1, 2]], [1, 2, 3]);
    expect([fig.placed, fig.outside, fig.unusable, fig.dropped]).toEqual([1, 1, 1, 2]);
  });
});

it.each(["x", "y", "z", "l", "r"] as View[])("renders the %s view alone", async (view) => {
  const fig = await plotGlass([HOT], [100], { displayMode: view, scale: 1 });
  const img = await decodePng(await fig.toBuffer());
  expect([img.width, img.height]).toEqual([fig.width, fig.height]);
  expect(fig.panels[0]!.width).toBe(view === "x" || view === "l" || view === "r" ? 217 : 181);
});
