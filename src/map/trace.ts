/**
 * `plotTrace`: one trace with its event marker and time axis, as offspect's
 * `plot_trace`, rendered headlessly to PNG, drawn as the review page's
 * trace view draws it: x in ms from the pulse, the peak and baseline
 * windows shaded, the stored peaks marked, every channel named.
 * @module
 */
import { basename } from "node:path";
import { CacheFileBase, sessionOf, type TraceAttributes, type TraceData } from "../cachefile/index.js";
import { MEASURE_DEFAULTS } from "../analysis/measures.js";
import { processData } from "../steps/process.js";
import { decode, type Decoded } from "../values/codec.js";
import { describe } from "../base/errors.js";
import { PlotError, optionError } from "./errors.js";
import { Figure, rasterSvg } from "./figure.js";
import { textPath } from "./font.js";

/** Options of {@link plotTrace}. */
export interface TraceOptions {
  /** The channel to draw, by index or label (default: every channel, each named in a legend, the channel of interest drawn last). */
  channel?: number | string;
  /** Replay the trace's `_log` steps first, as `processData` (default true): the data the stored peaks were set on. */
  processSteps?: boolean;
  /**
   * The range of the y axis in µV: `"auto"` (default) fits the drawn
   * channel's samples with a margin of 5% on each side, as matplotlib
   * autoscales, so a large MEP is never cut off; `"offspect"` is offspect's
   * fixed [-200, 200]; or `[low, high]`.
   */
  ylim?: readonly [number, number] | "auto" | "offspect";
  /**
   * Text above the plot (default: the file, the trace's index, its origin
   * and the channel drawn, from `cache_file`, `cache_file_index` and
   * `origin` where the attributes have them; `""` for none).
   */
  title?: string;
  /** Size in pixels (default 640 x 400). */
  width?: number;
  height?: number;
}

const OPTION_KEYS = ["channel", "processSteps", "ylim", "title", "width", "height"];
/** The channels' colours (matplotlib's cycle). */
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const FONT = 12;
const TRACE_COLOR = "#1f77b4";

function attrNumber(attrs: TraceAttributes, key: string, integer: boolean): number {
  let v: Decoded | undefined;
  try {
    v = attrs[key] === undefined ? undefined : decode(attrs[key]!);
  } catch {
    v = attrs[key];
  }
  if (typeof v !== "number" || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new PlotError("EPLOTINPUT", key, `expected ${integer ? "an integer" : "a number"} for the trace attribute ${key}, got ${describe(attrs[key])}: the trace needs ${key} to draw its time axis`);
  }
  return v;
}

function channelLabels(attrs: TraceAttributes): string[] {
  try {
    const d = attrs["channel_labels"] === undefined ? undefined : decode(attrs["channel_labels"]!);
    if (Array.isArray(d)) return d.map(String);
  } catch {
    // no labels: channels by index only
  }
  return [];
}

/** The column of the channel of interest (else the first). */
function interest(attrs: TraceAttributes, channels: number): number {
  const coi = attrs["channel_of_interest"];
  const at = coi === undefined ? -1 : channelLabels(attrs).indexOf(coi);
  return at >= 0 && at < channels ? at : 0;
}

function channelIndex(attrs: TraceAttributes, channels: number, channel: unknown): number {
  const labels = channelLabels(attrs);
  if (typeof channel === "number" && Number.isInteger(channel) && channel >= 0 && channel < channels) return channel;
  if (typeof channel === "string") {
    const at = labels.indexOf(channel);
    if (at >= 0 && at < channels) return at;
  }
  throw optionError("channel", `a channel index 0..${channels - 1}${labels.length ? ` or one of the labels ${labels.join(", ")}` : ""}`, channel);
}

/** Tick positions from lo to hi at a step of 1, 2 or 5 times a power of ten, about `count` of them. */
function niceTicks(lo: number, hi: number, count = 5): number[] {
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return out;
}

function label(t: number): string {
  return String(Number(t.toPrecision(12)));
}

/** A stored number of the attributes, or undefined. */
function storedNumber(attrs: TraceAttributes, key: string): number | undefined {
  let v: Decoded | undefined;
  try {
    v = attrs[key] === undefined ? undefined : decode(attrs[key]!);
  } catch {
    return undefined;
  }
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** offspect's fixed y axis, in µV. */
export const OFFSPECT_YLIM: readonly [number, number] = Object.freeze([-200, 200] as const);

/** matplotlib's autoscale of the finite samples: 5% margins; a flat or empty trace gets a range of ±1 around it. */
function autoYlim(at: (i: number) => number, samples: number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < samples; i++) {
    const v = at(i);
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return [-1, 1];
  if (lo === hi) return [lo - 1, hi + 1];
  const margin = 0.05 * (hi - lo);
  return [lo - margin, hi + margin];
}

/**
 * Draws a trace as the review page's trace view does, after offspect's
 * `plot_trace`: the samples after the trace's `_log` steps against time in
 * ms from the pulse (sample `samples_pre_event + onset_shift`, marked by
 * offspect's dotted red line), ticked at 1, 2 or 5 times a power of ten;
 * the baseline (-100 to -5 ms) and peak (15 to 120 ms) windows of
 * `annotateTrace` shaded; the stored negative and positive peaks marked
 * (blue and red triangles); every channel drawn and named in a legend, the
 * channel of interest last (`channel` draws one); a title naming the file,
 * the trace, its origin and the channel. Unlike offspect, whose y axis is
 * fixed at -200 to 200 µV (cutting large MEPs off), the y axis fits the
 * samples (`ylim: "auto"`); `ylim: "offspect"` gives offspect's axis.
 * Pass the trace's data and attributes, or a CacheFile and an index.
 *
 * @example
 * ```ts
 * const cf = new CacheFile("map_session.hdf5");
 * const fig = await plotTrace(cf, 0); // "map_session.hdf5 · trace 0 · origin S07_map_run1.xdf"
 * await fig.savefig("trace0.png");
 * // or: await plotTrace(cf.getTraceData(0), cf.getTraceAttrs(0), { ylim: "offspect", channel: "EDC_L" })
 * ```
 * @throws {PlotError} `EPLOTINPUT` when the data is not trace data, an attribute needed for the axes is missing or not a number,
 *   or the `_log` steps cannot be replayed; `EPLOTOPTION` for a bad or unknown option
 */
export async function plotTrace(cf: CacheFileBase, index: number, options?: TraceOptions): Promise<Figure>;
export async function plotTrace(trace: TraceData, attrs: TraceAttributes, options?: TraceOptions): Promise<Figure>;
export async function plotTrace(a: CacheFileBase | TraceData, b: number | TraceAttributes, options: TraceOptions = {}): Promise<Figure> {
  let trace: TraceData;
  let attrs: TraceAttributes;
  if (a instanceof CacheFileBase) {
    trace = sessionOf(a).getTraceData(b as number);
    attrs = sessionOf(a).getTraceAttrs(b as number);
  } else {
    trace = a;
    attrs = b as TraceAttributes;
  }
  if (
    trace === null ||
    typeof trace !== "object" ||
    !(trace.data instanceof Float64Array) ||
    !Array.isArray(trace.shape) ||
    trace.shape[0] * trace.shape[1] !== trace.data.length
  ) {
    throw new PlotError("EPLOTINPUT", "trace", `expected trace data ({ data: Float64Array, shape: [samples, channels] }), got ${describe(trace)}`);
  }
  if (attrs === null || typeof attrs !== "object") throw new PlotError("EPLOTINPUT", "attrs", `expected the trace's attributes, got ${describe(attrs)}`);
  if (options === null || typeof options !== "object") throw optionError("options", "an options object", options);
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) throw new PlotError("EPLOTOPTION", key, `unknown option ${key}: the options are ${OPTION_KEYS.join(", ")}`);
  }
  const ylimOption = options.ylim ?? "auto";
  if (
    ylimOption !== "auto" &&
    ylimOption !== "offspect" &&
    (!Array.isArray(ylimOption) || ylimOption.length !== 2 || !ylimOption.every((v) => typeof v === "number" && Number.isFinite(v)) || !(ylimOption[1] > ylimOption[0]))
  ) {
    throw optionError("ylim", `"auto", "offspect" or [low, high] µV with low < high`, ylimOption);
  }
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  for (const [k, v] of [["width", width], ["height", height]] as const) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 160 || v > 10000) throw optionError(k, "an integer number of pixels, 160 to 10000", v);
  }
  const title = options.title ?? "";
  if (typeof title !== "string") throw optionError("title", "a string", title);

  const processSteps = options.processSteps ?? true;
  if (typeof processSteps !== "boolean") throw optionError("processSteps", "true or false", processSteps);

  const pre = attrNumber(attrs, "samples_pre_event", true);
  attrNumber(attrs, "samples_post_event", true);
  const fs = attrNumber(attrs, "samplingrate", false);
  if (fs <= 0) throw new PlotError("EPLOTINPUT", "samplingrate", `expected a positive samplingrate, got ${describe(attrs["samplingrate"])}`);
  const shift = storedNumber(attrs, "onset_shift") ?? 0;
  const [samples, channels] = trace.shape;
  const coi = interest(attrs, channels);
  const drawn = options.channel === undefined ? [...Array.from({ length: channels }, (_, c) => c).filter((c) => c !== coi), coi] : [channelIndex(attrs, channels, options.channel)];
  const names = channelLabels(attrs);
  const nameOf = (c: number) => names[c] ?? `channel ${c}`;
  // The channel of interest in matplotlib's first colour, the others in the next ones, in their order.
  const others = drawn.filter((c) => c !== coi);
  const colorOf = (c: number) => (c === coi || drawn.length === 1 ? TRACE_COLOR : COLORS[1 + (others.indexOf(c) % (COLORS.length - 1))]!);
  let values = trace.data;
  if (processSteps) {
    try {
      values = processData(trace, attrs).data;
    } catch (e) {
      throw new PlotError("EPLOTINPUT", "_log", `the trace's _log steps cannot be replayed (${(e as Error).message}): fix _log, or pass processSteps: false to draw the raw data`);
    }
  }

  // The pulse at samples_pre_event + onset_shift (the library's convention, as the baseline step and annotateTrace).
  const p0 = pre + shift;
  const ms = (n: number) => ((n - p0) * 1000) / fs;
  const x0 = ms(0);
  const x1 = Math.max(ms(Math.max(samples - 1, 1)), x0 + 1);
  const file = attrs["cache_file"];
  const index = attrs["cache_file_index"];
  const origin = attrs["origin"];
  const auto = [
    file !== undefined ? basename(file) : undefined,
    index !== undefined ? `trace ${index}` : undefined,
    origin !== undefined ? `origin ${origin}` : undefined,
    drawn.length === 1 ? `channel ${nameOf(drawn[0]!)}` : undefined,
  ].filter((t): t is string => t !== undefined);
  const titleText = options.title ?? auto.join(" · ");

  const left = 62;
  const right = 16;
  const top = titleText ? 36 : 14;
  const bottom = 48;
  const pw = width - left - right;
  const ph = height - top - bottom;
  const X = (t: number) => left + ((t - x0) / (x1 - x0)) * pw;
  const at = (c: number) => (i: number) => values[i * channels + c]!;
  let y0: number;
  let y1: number;
  if (ylimOption === "auto") {
    const lims = drawn.map((c) => autoYlim(at(c), samples));
    [y0, y1] = [Math.min(...lims.map((l) => l[0])), Math.max(...lims.map((l) => l[1]))];
  } else [y0, y1] = ylimOption === "offspect" ? OFFSPECT_YLIM : (ylimOption as readonly [number, number]);
  const Y = (v: number) => top + ((y1 - v) / (y1 - y0)) * ph;

  const svg: string[] = [];
  svg.push(`<defs><clipPath id="plot"><rect x="${left}" y="${top}" width="${pw}" height="${ph}"/></clipPath></defs>`);
  // The baseline and peak windows of annotateTrace, shaded as on the review page.
  const band = (a: number, b: number, color: string) => {
    const xa = Math.max(left, X(a));
    const xb = Math.min(left + pw, X(b));
    if (xb > xa) svg.push(`<rect x="${xa.toFixed(2)}" y="${top}" width="${(xb - xa).toFixed(2)}" height="${ph}" fill="${color}"/>`);
  };
  band(MEASURE_DEFAULTS.baselineWindow[0], MEASURE_DEFAULTS.baselineWindow[1], "#ececec");
  band(MEASURE_DEFAULTS.window[0], MEASURE_DEFAULTS.window[1], "#fff3cc");
  // Grid at the ticks: ms from the pulse at 1, 2 or 5 times a power of ten.
  const xTicks = niceTicks(x0, x1, Math.max(4, Math.round(pw / 70)));
  const yTicks = niceTicks(y0, y1);
  const grid: string[] = [];
  for (const t of xTicks) grid.push(`M${X(t).toFixed(2)} ${top}V${top + ph}`);
  for (const v of yTicks) grid.push(`M${left} ${Y(v).toFixed(2)}H${left + pw}`);
  svg.push(`<path d="${grid.join("")}" stroke="#dddddd" stroke-width="1" fill="none"/>`);
  // The pulse: offspect's dotted red line, over the whole axis.
  svg.push(`<path d="M${X(0).toFixed(2)} ${top}V${top + ph}" stroke="#ff0000" stroke-width="1.5" stroke-dasharray="1.5 2.5" fill="none" clip-path="url(#plot)"/>`);
  // Each channel, as min/max per pixel column when it has many more samples than pixels.
  drawn.forEach((c) => {
    const y = at(c);
    const pts: string[] = [];
    if (samples > 2 * pw) {
      const per = samples / pw;
      for (let col = 0; col < pw; col++) {
        let lo = Infinity;
        let hi = -Infinity;
        for (let i = Math.floor(col * per); i < Math.min(samples, Math.floor((col + 1) * per)); i++) {
          const v = y(i);
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        if (lo <= hi) pts.push(`${(left + col + 0.5).toFixed(2)} ${Y(lo).toFixed(2)}`, `${(left + col + 0.5).toFixed(2)} ${Y(hi).toFixed(2)}`);
      }
    } else {
      for (let i = 0; i < samples; i++) {
        const v = y(i);
        if (Number.isFinite(v)) pts.push(`${X(ms(i)).toFixed(2)} ${Y(v).toFixed(2)}`);
      }
    }
    const color = colorOf(c);
    const widthOf = c === coi ? 1.5 : 1;
    if (pts.length > 0) svg.push(`<path d="M${pts.join("L")}" stroke="${color}" stroke-width="${widthOf}" fill="none" stroke-linejoin="round" clip-path="url(#plot)"/>`);
  });
  // The stored peaks (on the channel of interest, whose peaks they are): a blue triangle at the negative, a red one at the positive.
  if (drawn.includes(coi)) {
    for (const [which, color, down] of [["neg", "#2b6cb0", false], ["pos", "#c53030", true]] as const) {
      const lat = storedNumber(attrs, `${which}_peak_latency_ms`);
      const mag = storedNumber(attrs, `${which}_peak_magnitude_uv`);
      if (lat === undefined || mag === undefined) continue;
      const px = X(lat);
      const py = Y(mag);
      const s = down ? 1 : -1;
      svg.push(`<path d="M${px.toFixed(2)} ${(py + s * 1).toFixed(2)}L${(px - 6).toFixed(2)} ${(py - s * 9).toFixed(2)}L${(px + 6).toFixed(2)} ${(py - s * 9).toFixed(2)}Z" fill="${color}" stroke="white" stroke-width="1" clip-path="url(#plot)"/>`);
    }
  }
  // Frame, ticks (pointing in, as offspect's tick_params(direction="in")), labels.
  svg.push(`<rect x="${left + 0.5}" y="${top + 0.5}" width="${pw - 1}" height="${ph - 1}" fill="none" stroke="black" stroke-width="1"/>`);
  const ticks: string[] = [];
  const text: string[] = [];
  for (const t of xTicks) {
    const x = X(t);
    ticks.push(`M${x.toFixed(2)} ${top + ph}v-6M${x.toFixed(2)} ${top}v6`);
    text.push(textPath(label(t), x, top + ph + FONT + 6, FONT, "middle").d);
  }
  for (const v of yTicks) {
    const y = Y(v);
    ticks.push(`M${left} ${y.toFixed(2)}h6M${left + pw} ${y.toFixed(2)}h-6`);
    text.push(textPath(label(v), left - 6, y + FONT * 0.36, FONT, "end").d);
  }
  text.push(textPath("ms from the pulse", left + pw / 2, height - 10, FONT, "middle").d);
  const yl = textPath("µV", 0, 0, FONT, "middle");
  svg.push(`<path d="${yl.d}" fill="black" transform="translate(${16} ${top + ph / 2}) rotate(-90)"/>`);
  if (titleText) text.push(textPath(titleText, left, 22, 14).d);
  svg.push(`<path d="${ticks.join("")}" stroke="black" stroke-width="1" fill="none"/>`);
  svg.push(`<path d="${text.join("")}" fill="black"/>`);
  // The legend: every channel drawn, named (in the upper right corner).
  if (drawn.length > 1) {
    const rows = [...drawn].reverse();
    const w = Math.max(...rows.map((c) => textPath(nameOf(c), 0, 0, FONT).width)) + 34;
    const lx = left + pw - w - 6;
    const ly = top + 6;
    svg.push(`<rect x="${lx}" y="${ly}" width="${w}" height="${rows.length * (FONT + 4) + 6}" fill="white" fill-opacity="0.85" stroke="#bbbbbb"/>`);
    rows.forEach((c, r) => {
      const y = ly + 4 + r * (FONT + 4) + FONT * 0.75;
      svg.push(`<path d="M${lx + 6} ${y - FONT * 0.3}h18" stroke="${colorOf(c)}" stroke-width="${c === coi ? 2 : 1.5}"/>`);
      svg.push(`<path d="${textPath(nameOf(c), lx + 28, y, FONT).d}" fill="black"/>`);
    });
  }
  const doc = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><rect width="${width}" height="${height}" fill="white"/>${svg.join("")}</svg>`;
  return new Figure(width, height, await rasterSvg(doc, width, height));
}
