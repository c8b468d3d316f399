/**
 * plotTrace: decoded PNG pixels checked against positions computed here from
 * the figure's geometry (plot area 62..624 x 14..352 px of 640 x 400
 * without a title, 36..352 with one).
 */
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { CacheFile } from "../../src/offspect.js";
import { type TraceAttributes, type TraceData } from "../../src/index.js";
import { PlotError, plotTrace } from "../../src/map/index.js";
import { fixture } from "../helpers/fixtures.js";

async function pixels(png: Buffer) {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const px = (x: number, y: number) => {
    const o = (y * info.width + x) * info.channels;
    return [data[o]!, data[o + 1]!, data[o + 2]!] as const;
  };
  return { width: info.width, height: info.height, px };
}

// The plot area of a 640 x 400 figure without title.
const LEFT = 62;
const TOP = 14;
const PW = 640 - 62 - 16;
const PH = 400 - 14 - 48;
const isRed = ([r, g, b]: readonly number[]) => r! > 200 && g! < 90 && b! < 90;
const isBlue = ([r, g, b]: readonly number[]) => b! > 120 && r! < 120 && g! < 170 && b! - r! > 60;

function attrs(extra: Partial<TraceAttributes> = {}): TraceAttributes {
  return { samples_pre_event: "200", samples_post_event: "300", samplingrate: "1000", channel_labels: "['EDC_L', 'APB_R']", channel_of_interest: "APB_R", ...extra };
}

function sine(amplitude: number, channels = 2, coi = 1): TraceData {
  const n = 500;
  const data = new Float64Array(n * channels);
  for (let i = 0; i < n; i++) data[i * channels + coi] = amplitude * Math.sin((2 * Math.PI * i) / 100);
  return { data, shape: [n, channels] };
}

describe("plotTrace", () => {
  it("draws a trace of map_session.hdf5 with the dotted red event line at samples_pre_event, in ms from it", async () => {
    const cf = new CacheFile(fixture("map_session.hdf5"));
    const fig = await plotTrace(cf, 0);
    const img = await pixels(await fig.toBuffer());
    expect([img.width, img.height, fig.width, fig.height]).toEqual([640, 400, 640, 400]);
    // x runs from -200 ms (sample 0) to 299 ms (sample 499): the pulse (sample 200, 0 ms) at 62 + 200/499 * 562, under the title.
    const top = 36;
    const ex = Math.round(LEFT + (200 / 499) * PW);
    let red = 0;
    let gaps = 0;
    for (let y = top + 2; y < TOP + PH - 2; y++) {
      if ([-1, 0, 1].some((d) => isRed(img.px(ex + d, y)))) red++;
      else gaps++;
    }
    expect(red).toBeGreaterThan(60); // drawn ...
    expect(gaps).toBeGreaterThan(60); // ... dotted
    // The trace itself, in matplotlib's first colour.
    let blue = 0;
    for (let y = top; y < TOP + PH; y++) for (let x = LEFT; x < LEFT + PW; x++) if (isBlue(img.px(x, y))) blue++;
    expect(blue).toBeGreaterThan(300);
  });

  it("names the file, trace, origin and channel in the title, marks the stored peaks and names every channel of a 2-channel trace", async () => {
    const dark = (img: Awaited<ReturnType<typeof pixels>>, x0: number, y0: number, x1: number, y1: number, test: (p: readonly number[]) => boolean) => {
      let n = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (test(img.px(x, y))) n++;
      return n;
    };
    const ink = (p: readonly number[]) => p[0]! < 100 && p[1]! < 100 && p[2]! < 100;
    const cf = new CacheFile(fixture("map_session.hdf5"));
    const titled = await pixels(await (await plotTrace(cf, 0)).toBuffer());
    const untitled = await pixels(await (await plotTrace(cf, 0, { title: "" })).toBuffer());
    expect(dark(titled, LEFT, 8, 600, 28, ink)).toBeGreaterThan(200); // "map_session.hdf5 · trace 0 · origin S07_map_run1.xdf · channel EDC_L"
    expect(dark(untitled, LEFT, 0, 600, 12, ink)).toBe(0);
    // The stored peaks of trace 0 (-386.6 µV at 21.0 ms, 466.0 µV at 30.0 ms, map_session.expected.json): a blue and a red triangle there.
    const a = cf.getTraceAttrs(0);
    const fig = await plotTrace(cf, 0, { ylim: [-1000, 1000], title: "" });
    const img = await pixels(await fig.toBuffer());
    const xOf = (ms: number) => LEFT + ((ms + 200) / 499) * PW;
    const yOf = (uv: number) => TOP + ((1000 - uv) / 2000) * PH;
    const near = (ms: number, uv: number, test: (p: readonly number[]) => boolean, below: boolean) =>
      dark(img, Math.round(xOf(ms) - 6), Math.round(below ? yOf(uv) : yOf(uv) - 10), Math.round(xOf(ms) + 6), Math.round(below ? yOf(uv) + 10 : yOf(uv)), test);
    const neg = [Number(a["neg_peak_latency_ms"]), Number(a["neg_peak_magnitude_uv"])] as const;
    const pos = [Number(a["pos_peak_latency_ms"]), Number(a["pos_peak_magnitude_uv"])] as const;
    expect(near(neg[0], neg[1], (p) => p[2]! > 150 && p[0]! < 90, true)).toBeGreaterThan(10);
    expect(near(pos[0], pos[1], isRed, false)).toBeGreaterThan(10);
    const bare = await pixels(await (await plotTrace(cf.getTraceData(0), { ...a, neg_peak_latency_ms: "None", pos_peak_latency_ms: "None" }, { ylim: [-1000, 1000], title: "" })).toBuffer());
    expect(dark(bare, Math.round(xOf(pos[0]) - 6), Math.round(yOf(pos[1]) - 10), Math.round(xOf(pos[0]) + 6), Math.round(yOf(pos[1])), isRed)).toBe(0);
    // Two channels: both drawn (the other in orange), a legend in the upper right naming them.
    const two = await pixels(await (await plotTrace(sine(100, 2, 1), attrs({ cache_file: "/x/S01.hdf5", cache_file_index: "4", origin: "run1.xdf" }))).toBuffer());
    const orange = (p: readonly number[]) => p[0]! > 200 && p[0]! - p[2]! > 100 && p[1]! < 215;
    expect(dark(two, LEFT, 40, LEFT + PW - 120, TOP + PH, orange)).toBeGreaterThan(100); // EDC_L: all zeros, a line
    expect(dark(two, LEFT, 40, LEFT + PW - 120, TOP + PH, isBlue)).toBeGreaterThan(300); // APB_R, the channel of interest
    expect(dark(two, LEFT + PW - 110, 40, LEFT + PW, 90, ink)).toBeGreaterThan(40); // the legend's names
    expect(dark(two, LEFT, 8, 600, 28, ink)).toBeGreaterThan(100); // "S01.hdf5 · trace 4 · origin run1.xdf"
  });

  it("scales y from -200 to 200 µV with offspect's limits and draws the channel of interest", async () => {
    const fig = await plotTrace(sine(100), attrs(), { ylim: "offspect", channel: "APB_R", title: "" });
    const img = await pixels(await fig.toBuffer());
    let topmost = Infinity;
    let lowest = -Infinity;
    for (let y = TOP + 1; y < TOP + PH - 1; y++) {
      for (let x = LEFT + 1; x < LEFT + PW - 1; x++) {
        if (isBlue(img.px(x, y))) {
          topmost = Math.min(topmost, y);
          lowest = Math.max(lowest, y);
        }
      }
    }
    // +100 µV at a quarter of the height, -100 at three quarters.
    expect(Math.abs(topmost - (TOP + PH / 4))).toBeLessThanOrEqual(2);
    expect(Math.abs(lowest - (TOP + (3 * PH) / 4))).toBeLessThanOrEqual(2);
    // The other channel (all zeros) is not what is drawn; asking for it by label is.
    const flat = await pixels(await (await plotTrace(sine(100), attrs(), { channel: "EDC_L", ylim: "offspect", title: "" })).toBuffer());
    const flatRows = new Set<number>();
    for (let y = TOP + 1; y < TOP + PH - 1; y++) for (let x = LEFT + 1; x < LEFT + PW - 1; x++) if (isBlue(flat.px(x, y))) flatRows.add(y);
    expect([...flatRows].every((y) => Math.abs(y - (TOP + PH / 2)) <= 2)).toBe(true);
  });

  it("fits the y axis to the trace by default, so a large MEP is not cut off (offspect clips at ±200 µV)", async () => {
    const rows = async (amplitude: number, options = {}) => {
      const img = await pixels(await (await plotTrace(sine(amplitude), attrs(), { channel: 1, title: "", ...options })).toBuffer());
      let topmost = Infinity;
      let lowest = -Infinity;
      let clipped = 0;
      for (let y = TOP + 1; y < TOP + PH - 1; y++) {
        for (let x = LEFT + 1; x < LEFT + PW - 1; x++) {
          if (!isBlue(img.px(x, y))) continue;
          topmost = Math.min(topmost, y);
          lowest = Math.max(lowest, y);
          if (y <= TOP + 2 || y >= TOP + PH - 3) clipped++;
        }
      }
      return { topmost, lowest, clipped };
    };
    // ±1500 µV: matplotlib's 5% margins put the peaks at 1/22 and 21/22 of the height.
    const big = await rows(1500);
    expect(Math.abs(big.topmost - (TOP + PH / 22))).toBeLessThanOrEqual(2);
    expect(Math.abs(big.lowest - (TOP + (21 * PH) / 22))).toBeLessThanOrEqual(2);
    expect(big.clipped).toBe(0);
    // The same trace on offspect's axis runs off the top and bottom.
    expect((await rows(1500, { ylim: "offspect" })).clipped).toBeGreaterThan(20);
    // A small trace fills the axis as well.
    const small = await rows(20);
    expect(Math.abs(small.topmost - (TOP + PH / 22))).toBeLessThanOrEqual(2);
  });

  it("labels the time axis in ms from the pulse at round ticks, as glyphs under them", async () => {
    // 2000 Hz, 200 samples before the pulse: -100 ms to 149.5 ms, ticked every 50 ms.
    const fig = await plotTrace(sine(50), attrs({ samplingrate: "2000" }), { channel: 1, title: "" });
    const img = await pixels(await fig.toBuffer());
    const inkAround = (cx: number) => {
      let ink = 0;
      for (let y = TOP + PH + 4; y < TOP + PH + 22; y++) for (let x = Math.max(0, cx - 12); x < Math.min(640, cx + 12); x++) if (img.px(x, y)[0] < 128) ink++;
      return ink;
    };
    const at = (ms: number) => Math.round(LEFT + ((ms + 100) / 249.5) * PW);
    for (const ms of [-100, -50, 0, 50, 100]) expect(inkAround(at(ms)), `${ms} ms`).toBeGreaterThan(10);
    expect(inkAround(at(-75))).toBe(0);
    expect(inkAround(at(25))).toBe(0);
    // "-100" takes more ink than "0".
    expect(inkAround(at(-100))).toBeGreaterThan(inkAround(at(0)));
  });

  it("says what is wrong with the input", async () => {
    await expect(plotTrace(sine(1), attrs({ samplingrate: "None" }))).rejects.toMatchObject({ code: "EPLOTINPUT", option: "samplingrate", message: /expected a number for the trace attribute samplingrate, got "None"/ });
    await expect(plotTrace(sine(1), attrs(), { channel: "FDI" })).rejects.toMatchObject({ code: "EPLOTOPTION", message: /channel index 0..1 or one of the labels EDC_L, APB_R, got "FDI"/ });
    await expect(plotTrace(sine(1), attrs(), { ylim: [5, 5] })).rejects.toBeInstanceOf(PlotError);
    await expect(plotTrace(sine(1), attrs(), { ylim: "tight" as "auto" })).rejects.toMatchObject({ code: "EPLOTOPTION", message: /expected "auto", "offspect" or \[low, high\]/ });
    await expect(plotTrace(sine(1), attrs(), { xlim: [0, 1] } as object)).rejects.toMatchObject({ code: "EPLOTOPTION", message: /unknown option xlim/ });
    await expect(plotTrace({ data: [1, 2], shape: [2, 1] } as unknown as TraceData, attrs())).rejects.toMatchObject({ code: "EPLOTINPUT", option: "trace" });
  });
});
