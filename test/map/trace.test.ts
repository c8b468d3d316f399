/**
 * plotTrace: decoded PNG pixels checked against positions computed here from
 * the figure's geometry (plot area 62..624 x 14..352 px of 640 x 400).
 */
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { CacheFile, type TraceAttributes, type TraceData } from "../../src/cachefile.js";
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
  it("draws a trace of map_session.hdf5 with the dotted red event line at samples_pre_event", async () => {
    const cf = new CacheFile(fixture("map_session.hdf5"));
    const fig = await plotTrace(cf, 0);
    const img = await pixels(await fig.toBuffer());
    expect([img.width, img.height, fig.width, fig.height]).toEqual([640, 400, 640, 400]);
    // x runs over samples 0..500 (pre + post): the event (sample 200) at 62 + 0.4 * 562.
    const ex = Math.round(LEFT + (200 / 500) * PW);
    let red = 0;
    let gaps = 0;
    for (let y = TOP + 2; y < TOP + PH - 2; y++) {
      if ([-1, 0, 1].some((d) => isRed(img.px(ex + d, y)))) red++;
      else gaps++;
    }
    expect(red).toBeGreaterThan(60); // drawn ...
    expect(gaps).toBeGreaterThan(60); // ... dotted
    // The trace itself, in matplotlib's first colour.
    let blue = 0;
    for (let y = TOP; y < TOP + PH; y++) for (let x = LEFT; x < LEFT + PW; x++) if (isBlue(img.px(x, y))) blue++;
    expect(blue).toBeGreaterThan(300);
  });

  it("scales y from -200 to 200 µV with offspect's limits and draws the channel of interest", async () => {
    const fig = await plotTrace(sine(100), attrs(), { ylim: "offspect" });
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
    const flat = await pixels(await (await plotTrace(sine(100), attrs(), { channel: "EDC_L", ylim: "offspect" })).toBuffer());
    const flatRows = new Set<number>();
    for (let y = TOP + 1; y < TOP + PH - 1; y++) for (let x = LEFT + 1; x < LEFT + PW - 1; x++) if (isBlue(flat.px(x, y))) flatRows.add(y);
    expect([...flatRows].every((y) => Math.abs(y - (TOP + PH / 2)) <= 2)).toBe(true);
  });

  it("fits the y axis to the trace by default, so a large MEP is not cut off (offspect clips at ±200 µV)", async () => {
    const rows = async (amplitude: number, options = {}) => {
      const img = await pixels(await (await plotTrace(sine(amplitude), attrs(), options)).toBuffer());
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

  it("labels the time axis in seconds: -pre/fs, 0, post/fs as glyphs under their ticks", async () => {
    const fig = await plotTrace(sine(50), attrs({ samplingrate: "2000" }));
    const img = await pixels(await fig.toBuffer());
    const inkAround = (cx: number) => {
      let ink = 0;
      for (let y = TOP + PH + 4; y < TOP + PH + 22; y++) for (let x = Math.max(0, cx - 14); x < Math.min(640, cx + 14); x++) if (img.px(x, y)[0] < 128) ink++;
      return ink;
    };
    const at = (sample: number) => Math.round(LEFT + (sample / 500) * PW);
    // "-0.1", "0", "0.15": more ink for longer labels, none between them.
    const [a, b, c] = [inkAround(at(0)), inkAround(at(200)), inkAround(at(500) - 10)];
    expect(b).toBeGreaterThan(10);
    expect(a).toBeGreaterThan(b);
    expect(c).toBeGreaterThan(b);
    expect(inkAround(at(350))).toBe(0);
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
