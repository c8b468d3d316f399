/**
 * `plotTrace`: one trace with its event marker and time axis, as offspect's
 * `plot_trace`, rendered headlessly to PNG.
 * @module
 */
import { CacheFile, type TraceAttributes, type TraceData } from "../cachefile.js";
import { decode, type Decoded } from "../codec.js";
import { describe } from "../errors.js";
import { PlotError, optionError } from "./errors.js";
import { Figure, rasterSvg } from "./figure.js";
import { textPath } from "./font.js";

/** Options of {@link plotTrace}. */
export interface TraceOptions {
  /** The channel to draw, by index or label (default: the trace's `channel_of_interest`, else the first). */
  channel?: number | string;
  /**
   * The range of the y axis in µV: `"auto"` (default) fits the drawn
   * channel's samples with a margin of 5% on each side, as matplotlib
   * autoscales, so a large MEP is never cut off; `"offspect"` is offspect's
   * fixed [-200, 200]; or `[low, high]`.
   */
  ylim?: readonly [number, number] | "auto" | "offspect";
  /** Text above the plot (default none). */
  title?: string;
  /** Size in pixels (default 640 x 400). */
  width?: number;
  height?: number;
}

const OPTION_KEYS = ["channel", "ylim", "title", "width", "height"];
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

function channelIndex(attrs: TraceAttributes, channels: number, channel: unknown): number {
  let labels: string[] = [];
  try {
    const d = attrs["channel_labels"] === undefined ? undefined : decode(attrs["channel_labels"]!);
    if (Array.isArray(d)) labels = d.map(String);
  } catch {
    // no labels: channels by index only
  }
  if (channel === undefined) {
    const coi = attrs["channel_of_interest"];
    const at = coi === undefined ? -1 : labels.indexOf(coi);
    return at >= 0 && at < channels ? at : 0;
  }
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
 * Draws one channel of a trace as offspect's `plot_trace` does: the samples
 * against their index, a dotted red vertical line at the event
 * (`samples_pre_event`), and the x axis ticked at the first sample, the event
 * and the last sample, labelled in seconds relative to the event (`-pre/fs`,
 * `0`, `post/fs`), with a grid. Unlike offspect, whose y axis is fixed at
 * -200 to 200 µV (cutting large MEPs off), the y axis fits the samples
 * (`ylim: "auto"`); `ylim: "offspect"` gives offspect's axis.
 * Pass the trace's data and attributes, or a CacheFile and an index.
 *
 * @example
 * ```ts
 * const cf = new CacheFile("map_session.hdf5");
 * const fig = await plotTrace(cf, 0);
 * await fig.savefig("trace0.png");
 * // or: await plotTrace(cf.getTraceData(0), cf.getTraceAttrs(0), { ylim: "offspect" }) // offspect's -200..200 µV
 * ```
 * @throws {PlotError} `EPLOTINPUT` when the data is not trace data or an attribute needed for the axes is missing or not a number;
 *   `EPLOTOPTION` for a bad or unknown option
 */
export async function plotTrace(cf: CacheFile, index: number, options?: TraceOptions): Promise<Figure>;
export async function plotTrace(trace: TraceData, attrs: TraceAttributes, options?: TraceOptions): Promise<Figure>;
export async function plotTrace(a: CacheFile | TraceData, b: number | TraceAttributes, options: TraceOptions = {}): Promise<Figure> {
  let trace: TraceData;
  let attrs: TraceAttributes;
  if (a instanceof CacheFile) {
    trace = a.getTraceData(b as number);
    attrs = a.getTraceAttrs(b as number);
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

  const pre = attrNumber(attrs, "samples_pre_event", true);
  const post = attrNumber(attrs, "samples_post_event", true);
  const fs = attrNumber(attrs, "samplingrate", false);
  if (fs <= 0) throw new PlotError("EPLOTINPUT", "samplingrate", `expected a positive samplingrate, got ${describe(attrs["samplingrate"])}`);
  const [samples, channels] = trace.shape;
  const ch = channelIndex(attrs, channels, options.channel);

  const left = 62;
  const right = 16;
  const top = title ? 36 : 14;
  const bottom = 48;
  const pw = width - left - right;
  const ph = height - top - bottom;
  const xMax = Math.max(samples - 1, pre + post, 1);
  const X = (i: number) => left + (i / xMax) * pw;
  const at = (i: number) => trace.data[i * channels + ch]!;
  const [y0, y1] = ylimOption === "auto" ? autoYlim(at, samples) : ylimOption === "offspect" ? OFFSPECT_YLIM : (ylimOption as readonly [number, number]);
  const Y = (v: number) => top + ((y1 - v) / (y1 - y0)) * ph;

  const svg: string[] = [];
  svg.push(`<defs><clipPath id="plot"><rect x="${left}" y="${top}" width="${pw}" height="${ph}"/></clipPath></defs>`);
  // Grid: major and minor ticks on x (every (pre + post) / 10 samples), y ticks.
  const minorStep = Math.max(1, Math.floor((pre + post) / 10));
  const grid: string[] = [];
  for (let i = 0; i < pre + post; i += minorStep) grid.push(`M${X(i).toFixed(2)} ${top}V${top + ph}`);
  const majors = [0, pre, pre + post];
  for (const i of majors) grid.push(`M${X(i).toFixed(2)} ${top}V${top + ph}`);
  const yTicks = niceTicks(y0, y1);
  for (const v of yTicks) grid.push(`M${left} ${Y(v).toFixed(2)}H${left + pw}`);
  svg.push(`<path d="${grid.join("")}" stroke="#dddddd" stroke-width="1" fill="none"/>`);
  // The event marker: offspect's ax.plot([pre, pre], [-200, 200], ":r"), over the whole axis.
  svg.push(
    `<path d="M${X(pre).toFixed(2)} ${top}V${top + ph}" stroke="#ff0000" stroke-width="1.5" stroke-dasharray="1.5 2.5" fill="none" clip-path="url(#plot)"/>`,
  );
  // The trace, as min/max per pixel column when it has many more samples than pixels.
  const pts: string[] = [];
  if (samples > 2 * pw) {
    const per = samples / pw;
    for (let c = 0; c < pw; c++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = Math.floor(c * per); i < Math.min(samples, Math.floor((c + 1) * per)); i++) {
        const v = at(i);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (lo <= hi) pts.push(`${(left + c + 0.5).toFixed(2)} ${Y(lo).toFixed(2)}`, `${(left + c + 0.5).toFixed(2)} ${Y(hi).toFixed(2)}`);
    }
  } else {
    for (let i = 0; i < samples; i++) {
      const v = at(i);
      if (Number.isFinite(v)) pts.push(`${X(i).toFixed(2)} ${Y(v).toFixed(2)}`);
    }
  }
  if (pts.length > 0) {
    svg.push(`<path d="M${pts.join("L")}" stroke="${TRACE_COLOR}" stroke-width="1.5" fill="none" stroke-linejoin="round" clip-path="url(#plot)"/>`);
  }
  // Frame, ticks (pointing in, as offspect's tick_params(direction="in")), labels.
  svg.push(`<rect x="${left + 0.5}" y="${top + 0.5}" width="${pw - 1}" height="${ph - 1}" fill="none" stroke="black" stroke-width="1"/>`);
  const ticks: string[] = [];
  const text: string[] = [];
  majors.forEach((i, n) => {
    const x = X(i);
    ticks.push(`M${x.toFixed(2)} ${top + ph}v-6M${x.toFixed(2)} ${top}v6`);
    const seconds = n === 0 ? -pre / fs : n === 1 ? 0 : post / fs;
    text.push(textPath(label(seconds), x, top + ph + FONT + 6, FONT, "middle").d);
  });
  for (let i = 0; i < pre + post; i += minorStep) ticks.push(`M${X(i).toFixed(2)} ${top + ph}v-3`);
  for (const v of yTicks) {
    const y = Y(v);
    ticks.push(`M${left} ${y.toFixed(2)}h6M${left + pw} ${y.toFixed(2)}h-6`);
    text.push(textPath(label(v), left - 6, y + FONT * 0.36, FONT, "end").d);
  }
  text.push(textPath("time (s)", left + pw / 2, height - 10, FONT, "middle").d);
  const yl = textPath("µV", 0, 0, FONT, "middle");
  svg.push(`<path d="${yl.d}" fill="black" transform="translate(${16} ${top + ph / 2}) rotate(-90)"/>`);
  if (title) text.push(textPath(title, left, 22, 14).d);
  svg.push(`<path d="${ticks.join("")}" stroke="black" stroke-width="1" fill="none"/>`);
  svg.push(`<path d="${text.join("")}" fill="black"/>`);
  const doc = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><rect width="${width}" height="${height}" fill="white"/>${svg.join("")}</svg>`;
  return new Figure(width, height, await rasterSvg(doc, width, height));
}
