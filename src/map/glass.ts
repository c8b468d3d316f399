/**
 * `plotGlass`: values at MNI coordinates as a glass-brain figure (PNG), as
 * offspect's `plot_glass` (nilearn's `plot_glass_brain`), rendered headlessly.
 * @module
 */
import { HOT_R, LUT_SIZE, colorLevel } from "./colormap.js";
import { PlotError, optionError } from "./errors.js";
import { Figure, rasterSvg } from "./figure.js";
import { textPath } from "./font.js";
import type { MapMark } from "../analysis/marks.js";
import { checkMarks, drawMarks, type PlacedMark } from "./marks.js";
import { OUTLINES } from "./outline-data.js";
import { checkSmooth, DEFAULT_SMOOTH, glassData, type Coords, type Projection, type View } from "./project.js";

/** The display modes: views laid out left to right in the order of their letters; `ortho` is x, y, z. */
export const DISPLAY_MODES = ["x", "y", "z", "l", "r", "ortho", "xz", "yx", "yz", "lr", "lzr", "lyr", "lzry", "lyrz"] as const;

/** Which views a figure shows (see {@link DISPLAY_MODES}). */
export type DisplayMode = (typeof DISPLAY_MODES)[number];

/** Options of {@link plotGlass} (and of {@link plotMap}). */
export interface GlassOptions {
  /** Which views, left to right (default `"z"`, the view from above). */
  displayMode?: DisplayMode;
  /** Gaussian full width at half maximum in mm (default 12.5; 0 for none). */
  smooth?: number;
  /** Whether to draw a colour bar with ticks (default true). */
  colorbar?: boolean;
  /** The value drawn darkest, on the scale of the values (default: the largest value of the map). */
  vmax?: number;
  /**
   * The label of a colour-bar tick, given its value (default offspect's
   * `f"{t:3.0f}µV"`, for values in µV). Ticks are at 0, 1/4, ... of vmax.
   */
  tickLabel?: (value: number) => string;
  /** Text in the upper left corner (default none). */
  title?: string;
  /** Pixels per millimetre (default 2: a single axial view is about 500 x 500 pixels). */
  scale?: number;
  /**
   * Points to mark on every view that shows them, over the map: `{ name:
   * "cog" | "hotspot", mni, label }` (what `mapMarks` gives), each drawn as
   * its symbol (CoG a blue circled cross, hotspot a green diamond) with its
   * short name beside it. Default none. `plotMap` also takes the names and
   * computes the points from the traces it maps.
   */
  marks?: readonly MapMark[];
}

/** Where a view is drawn in a figure, in pixels. */
export interface Panel {
  view: View;
  /** Left and top edge of the view's MNI grid, in pixels. */
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * A glass-brain figure and the numbers it shows: what {@link plotGlass}
 * and {@link plotMap} resolve to.
 *
 * @example
 * ```ts
 * const fig = await plotGlass([[-37, -21, 58]], [800], { displayMode: "ortho" });
 * fig.views; // ["x", "y", "z"]
 * fig.locate([-37, -21, 58]); // the hotspot's pixel in each view
 * await fig.savefig("map.png");
 * ```
 */
export class MapFigure extends Figure {
  /** The views, left to right. */
  readonly views: readonly View[];
  /** The projection shown in each view (the same order as `views`). */
  readonly projections: readonly Projection[];
  /** Where each view is drawn. */
  readonly panels: readonly Panel[];
  /** Pixels per millimetre. */
  readonly scale: number;
  /** The value drawn darkest, on the scale of the values drawn. */
  readonly vmax: number;
  /** The colour bar's ticks (values on the scale drawn), when drawn. */
  readonly ticks: readonly number[];
  /** The colour bar's tick labels, as drawn (same order as `ticks`). */
  readonly tickLabels: readonly string[];
  /**
   * What a reader of the figure should know: e.g. that nothing on the map
   * reaches a visible colour because vmax is far above the values. Empty
   * when all is well.
   */
  readonly warnings: readonly string[];
  /** Points placed on the grid. */
  readonly placed: number;
  /** Points dropped: coordinates that are not three finite numbers. */
  readonly unusable: number;
  /** Points dropped: outside the MNI grid. */
  readonly outside: number;
  /** Where each mark (option `marks`) was drawn: one entry per mark and view that shows it. */
  readonly marks: readonly PlacedMark[];

  /** @internal */
  constructor(
    width: number,
    height: number,
    rgba: Uint8Array,
    props: {
      views: View[];
      projections: Projection[];
      panels: Panel[];
      scale: number;
      vmax: number;
      ticks: number[];
      tickLabels: string[];
      warnings: string[];
      placed: number;
      unusable: number;
      outside: number;
      marks: PlacedMark[];
    },
  ) {
    super(width, height, rgba);
    this.views = Object.freeze(props.views);
    this.projections = Object.freeze(props.projections);
    this.panels = Object.freeze(props.panels.map((p) => Object.freeze(p)));
    this.scale = props.scale;
    this.vmax = props.vmax;
    this.ticks = Object.freeze(props.ticks);
    this.tickLabels = Object.freeze(props.tickLabels);
    this.warnings = Object.freeze(props.warnings);
    this.placed = props.placed;
    this.unusable = props.unusable;
    this.outside = props.outside;
    this.marks = Object.freeze(props.marks.map((m) => Object.freeze({ ...m, box: [...m.box] as PlacedMark["box"] })));
  }

  /** Points dropped: unusable plus outside the grid. */
  get dropped(): number {
    return this.unusable + this.outside;
  }

  /**
   * The pixel at which an MNI coordinate is drawn in each view that shows it
   * (`l` shows x < 0 only, `r` x >= 0).
   */
  locate(xyz: readonly [number, number, number]): { view: View; x: number; y: number }[] {
    const out: { view: View; x: number; y: number }[] = [];
    for (const p of this.panels) {
      const at = pixelIn(p, xyz, this.scale);
      if (at) out.push({ view: p.view, ...at });
    }
    return out;
  }
}

/** The pixel at which an MNI coordinate is drawn in a panel; undefined where the view does not show it (`l`: x < 0 only, `r`: x >= 0). */
function pixelIn(p: Panel, xyz: readonly [number, number, number], scale: number): { x: number; y: number } | undefined {
  if ((p.view === "l" && xyz[0] >= 0) || (p.view === "r" && xyz[0] < 0)) return undefined;
  const g = GEOMETRY[p.view];
  const h = xyz[g.hAxis];
  const v = xyz[g.vAxis];
  const fx = (h - g.hMin + 0.5) * scale;
  const x = p.view === "l" ? p.x + p.width - fx : p.x + fx;
  const y = p.y + (g.vMin + g.nv - 1 + 0.5 - v) * scale;
  return { x, y };
}

interface Geometry {
  /** Which coordinate runs horizontally and vertically. */
  hAxis: 0 | 1 | 2;
  vAxis: 0 | 1 | 2;
  hMin: number;
  vMin: number;
  nh: number;
  nv: number;
}

const SAGITTAL: Geometry = { hAxis: 1, vAxis: 2, hMin: -126, vMin: -72, nh: 217, nv: 181 };
const GEOMETRY: Record<View, Geometry> = {
  z: { hAxis: 0, vAxis: 1, hMin: -90, vMin: -126, nh: 181, nv: 217 },
  y: { hAxis: 0, vAxis: 2, hMin: -90, vMin: -72, nh: 181, nv: 181 },
  x: SAGITTAL,
  l: SAGITTAL,
  r: SAGITTAL,
};

const OPTION_KEYS = ["displayMode", "smooth", "colorbar", "vmax", "tickLabel", "title", "scale", "marks"] as const;

/**
 * The colour level (of 256) a map must reach somewhere to be visible: 5% of
 * vmax. Below it the palest yellow is hard to tell from the white brain.
 */
export const VISIBLE_LEVEL = 13;

const PAD = 10;
const TITLE_SIZE = 16;
const TITLE_BAND = 28;
const GAP = 8;
const CB_GAP = 14;
const CB_WIDTH = 14;
const TICK = 4;
const LABEL_GAP = 3;
const LABEL_SIZE = 12;
const LR_SIZE = 13;

/**
 * The views of a display mode, left to right.
 *
 * @example
 * ```ts
 * viewsOf("ortho"); // ["x", "y", "z"]
 * viewsOf("lyrz"); // ["l", "y", "r", "z"]
 * ```
 */
export function viewsOf(mode: DisplayMode): View[] {
  return mode === "ortho" ? ["x", "y", "z"] : ([...mode] as View[]);
}

/** @internal */
export interface CheckedGlassOptions {
  displayMode: DisplayMode;
  smooth: number;
  colorbar: boolean;
  vmax: number | undefined;
  tickLabel: (value: number) => string;
  title: string;
  scale: number;
  marks: MapMark[];
}

/**
 * Checks the options of plotGlass, and rejects unknown ones (`extra` are
 * further keys the caller accepts).
 * @internal
 */
export function checkGlassOptions(options: unknown, extra: readonly string[] = []): CheckedGlassOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== "object" || Array.isArray(options)) throw optionError("options", "an options object", options);
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key) && !extra.includes(key)) {
      throw new PlotError("EPLOTOPTION", key, `unknown option ${key}: the options are ${[...OPTION_KEYS, ...extra].join(", ")}`);
    }
  }
  const displayMode = o["displayMode"] ?? "z";
  if (typeof displayMode !== "string" || !(DISPLAY_MODES as readonly string[]).includes(displayMode)) {
    throw optionError("displayMode", `one of ${DISPLAY_MODES.join(", ")}`, displayMode, "x is sagittal, y coronal, z axial, l and r the left and right hemisphere");
  }
  const smooth = checkSmooth(o["smooth"] ?? DEFAULT_SMOOTH);
  const colorbar = o["colorbar"] ?? true;
  if (typeof colorbar !== "boolean") throw optionError("colorbar", "true or false", colorbar);
  const vmax = o["vmax"];
  if (vmax !== undefined && (typeof vmax !== "number" || !Number.isFinite(vmax) || vmax <= 0)) {
    throw optionError("vmax", "a positive finite number (µV)", vmax, "leave it out to scale to the data");
  }
  const tickLabel = o["tickLabel"] ?? ((t: number) => `${formatTick(t)}µV`);
  if (typeof tickLabel !== "function") throw optionError("tickLabel", "a function of a tick's value returning its label", tickLabel);
  const title = o["title"] ?? "";
  if (typeof title !== "string") throw optionError("title", "a string", title);
  const scale = o["scale"] ?? 2;
  if (typeof scale !== "number" || !Number.isFinite(scale) || scale < 0.5 || scale > 10) {
    throw optionError("scale", "pixels per mm from 0.5 to 10", scale);
  }
  const marks = o["marks"] === undefined ? [] : checkMarks(o["marks"]);
  return {
    displayMode: displayMode as DisplayMode,
    smooth,
    colorbar,
    vmax: vmax as number | undefined,
    tickLabel: tickLabel as (value: number) => string,
    title,
    scale,
    marks,
  };
}

/**
 * A colour-bar tick as offspect labels it (`f"{t:3.0f}"`, before the unit):
 * rounded half to even, right-aligned in 3 characters.
 *
 * @example
 * ```ts
 * formatTick(371.66); // "372"
 * formatTick(2.5); // "  2"
 * ```
 */
export function formatTick(t: number): string {
  let r = Math.round(t);
  if (Math.abs(t - Math.trunc(t)) === 0.5) r = 2 * Math.round(t / 2);
  const s = Object.is(r, -0) || (r === 0 && (t < 0 || Object.is(t, -0))) ? "-0" : String(r);
  return s.padStart(3, " ");
}

/**
 * Plots values at MNI coordinates as a glass brain: the values are put on
 * the 1 mm MNI grid (summed per voxel), smoothed, rescaled (see
 * {@link projectMap}) and each view shows the maximum of the absolute value
 * along its axis, coloured white (0) through yellow and red to near-black
 * (`vmax`), over the outline of a brain (Colin27). Views are laid out left to
 * right, a colour bar with ticks at the right (labelled in µV unless
 * `tickLabel` says otherwise), the title upper left. Points with unusable
 * coordinates or outside the grid are dropped and counted (`fig.dropped`).
 * When nothing on the map reaches 5% of `vmax` (so the brain looks empty),
 * `fig.warnings` says so.
 *
 * @example
 * ```ts
 * const fig = await plotGlass([[-37, -21, 58], [-40, -15, 60]], [820, 400], { displayMode: "ortho", title: "S07" });
 * await fig.savefig("map.png");
 * await plotGlass(coords, values, { marks: [{ name: "cog", mni: [-38, -19, 59], label: "CoG (-38.0, -19.0, 59.0)" }] });
 * ```
 * @throws {PlotError} `EPLOTINPUT` when coords or values are not arrays, differ in length or a value is not finite;
 *   `EPLOTEMPTY` when there are no points or none lies on the grid; `EPLOTOPTION` for a bad or unknown option
 *   (a mark that is not `{ name: "cog" | "hotspot", mni: [x, y, z], label }` among them)
 */
export async function plotGlass(coords: Coords, values: ArrayLike<number>, options: GlassOptions = {}): Promise<MapFigure> {
  const opts = checkGlassOptions(options);
  const views = viewsOf(opts.displayMode);
  const g = glassData(coords, values, opts.smooth, views);
  const n = (coords as ArrayLike<unknown>).length;
  if (n === 0) throw new PlotError("EPLOTEMPTY", "coords", "there are no points to plot: pass at least one coordinate and value");
  if (g.vox.placed === 0) {
    throw new PlotError(
      "EPLOTEMPTY",
      "coords",
      `none of the ${n} points can be plotted (${g.vox.unusable} without three finite coordinates, ${g.vox.outside} outside the MNI grid x -90..90, y -126..90, z -72..108 mm): check that the coordinates are MNI millimetres`,
    );
  }
  const vmax = opts.vmax ?? (g.absMax > 0 ? g.absMax : 1);
  const warnings: string[] = [];
  if (colorLevel(g.absMax, vmax) < VISIBLE_LEVEL) {
    warnings.push(
      `nothing on the map is visibly coloured: its largest value (${label(opts.tickLabel, g.absMax)}) is below 5% of vmax (${label(opts.tickLabel, vmax)}); lower vmax, or leave it out to scale to the data`,
    );
  }
  return renderGlass(g.projections, views, opts, vmax, g.vox, warnings);
}

function label(tickLabel: (value: number) => string, value: number): string {
  return tickLabel(value).trim();
}

async function renderGlass(
  projections: Projection[],
  views: View[],
  opts: CheckedGlassOptions,
  vmax: number,
  counts: { placed: number; unusable: number; outside: number },
  warnings: string[],
): Promise<MapFigure> {
  const s = opts.scale;
  const top = PAD + (opts.title ? TITLE_BAND : 0);
  const sizes = views.map((v) => [Math.round(GEOMETRY[v].nh * s), Math.round(GEOMETRY[v].nv * s)] as const);
  const rowH = Math.max(...sizes.map(([, h]) => h));
  const panels: Panel[] = [];
  let x = PAD;
  views.forEach((view, t) => {
    const [w, h] = sizes[t]!;
    panels.push({ view, x, y: top + Math.round((rowH - h) / 2), width: w, height: h });
    x += w + GAP;
  });
  x -= GAP;

  const svg: string[] = [];
  // Outlines, under the map.
  for (const p of panels) {
    const geo = GEOMETRY[p.view];
    const a = p.view === "l" ? -s : s;
    const e = p.view === "l" ? p.x + p.width + (geo.hMin - 0.5) * s : p.x + (0.5 - geo.hMin) * s;
    const f = p.y + (geo.vMin + geo.nv - 1 + 0.5) * s;
    const o = OUTLINES[p.view];
    svg.push(
      `<g transform="matrix(${a} 0 0 ${-s} ${e} ${f})">` +
        `<path d="${o.silhouette}" fill="#f4f4f4" stroke="#8c8c8c" stroke-width="${(1.1 / s).toFixed(3)}" stroke-linejoin="round"/>` +
        `<path d="${o.inner}" fill="none" stroke="#c2c2c2" stroke-width="${(0.8 / s).toFixed(3)}" stroke-linejoin="round"/></g>`,
    );
    // Which side is which: left and right in the coronal and axial views, anterior and posterior in the
    // sagittal ones (anterior to the right in x and r, to the left in l, which is seen from the left).
    const sides = p.view === "y" || p.view === "z" ? ["L", "R"] : p.view === "l" ? ["A", "P"] : ["P", "A"];
    svg.push(`<path d="${textPath(sides[0]!, p.x + 4, p.y + LR_SIZE + 2, LR_SIZE).d}" fill="#404040"/>`);
    svg.push(`<path d="${textPath(sides[1]!, p.x + p.width - 4, p.y + LR_SIZE + 2, LR_SIZE, "end").d}" fill="#404040"/>`);
  }
  if (opts.title) svg.push(`<path d="${textPath(opts.title, PAD, PAD + TITLE_SIZE, TITLE_SIZE).d}" fill="black"/>`);

  let width = x + PAD;
  const ticks: number[] = [];
  const tickLabels: string[] = [];
  let bar: { x: number; y: number; w: number; h: number } | undefined;
  if (opts.colorbar) {
    const barH = Math.round(rowH * 0.7);
    bar = { x: x + CB_GAP, y: top + Math.round((rowH - barH) / 2), w: CB_WIDTH, h: barH };
    let labelW = 0;
    for (let m = 0; m <= 4; m++) {
      const t = (vmax * m) / 4;
      ticks.push(t);
      const ty = bar.y + bar.h - (m / 4) * bar.h;
      const text = opts.tickLabel(t);
      if (typeof text !== "string") throw optionError("tickLabel", "a function returning a string", text);
      tickLabels.push(text);
      const label = textPath(text, bar.x + bar.w + TICK + LABEL_GAP, ty + LABEL_SIZE * 0.36, LABEL_SIZE);
      labelW = Math.max(labelW, label.width);
      svg.push(`<path d="${label.d}" fill="black"/>`);
      svg.push(`<line x1="${bar.x + bar.w}" x2="${bar.x + bar.w + TICK}" y1="${ty}" y2="${ty}" stroke="black" stroke-width="1"/>`);
    }
    svg.push(`<rect x="${bar.x + 0.5}" y="${bar.y + 0.5}" width="${bar.w - 1}" height="${bar.h - 1}" fill="white" stroke="black" stroke-width="1"/>`);
    width = bar.x + bar.w + TICK + LABEL_GAP + Math.ceil(labelW) + PAD;
  }
  const height = top + rowH + PAD;
  const doc = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><rect width="${width}" height="${height}" fill="white"/>${svg.join("")}</svg>`;
  const rgba = await rasterSvg(doc, width, height);

  // The map, multiplied into the outline (white leaves it as it is).
  panels.forEach((p, t) => {
    const proj = projections[t]!;
    const geo = GEOMETRY[p.view];
    const cols = new Int32Array(p.width);
    for (let c = 0; c < p.width; c++) {
      const col = Math.min(geo.nh - 1, Math.floor((c + 0.5) / s));
      cols[c] = p.view === "l" ? geo.nh - 1 - col : col;
    }
    for (let r = 0; r < p.height; r++) {
      const row = geo.nv - 1 - Math.min(geo.nv - 1, Math.floor((r + 0.5) / s));
      const src = row * proj.width;
      let o = ((p.y + r) * width + p.x) * 4;
      for (let c = 0; c < p.width; c++, o += 4) {
        const v = proj.data[src + cols[c]!]!;
        if (v === 0) continue;
        const l = colorLevel(v, vmax) * 3;
        if (l === 0) continue;
        rgba[o] = (rgba[o]! * HOT_R[l]! + 127) / 255;
        rgba[o + 1] = (rgba[o + 1]! * HOT_R[l + 1]! + 127) / 255;
        rgba[o + 2] = (rgba[o + 2]! * HOT_R[l + 2]! + 127) / 255;
      }
    }
  });
  if (bar) {
    for (let r = bar.y + 1; r < bar.y + bar.h - 1; r++) {
      const tt = (bar.y + bar.h - (r + 0.5)) / bar.h;
      const l = Math.min(LUT_SIZE - 1, Math.max(0, Math.floor(tt * LUT_SIZE))) * 3;
      for (let c = bar.x + 1; c < bar.x + bar.w - 1; c++) {
        const o = (r * width + c) * 4;
        rgba[o] = HOT_R[l]!;
        rgba[o + 1] = HOT_R[l + 1]!;
        rgba[o + 2] = HOT_R[l + 2]!;
      }
    }
  }
  // The marks, over everything (only when asked for: an unmarked figure is drawn as before).
  const marks = await drawMarks(
    rgba,
    width,
    height,
    panels.map((p) => ({ ...p, pixel: (mni: readonly [number, number, number]) => pixelIn(p, mni, s) })),
    s,
    opts.marks,
  );
  return new MapFigure(width, height, rgba, {
    views,
    marks,
    projections,
    panels,
    scale: s,
    vmax,
    ticks: opts.colorbar ? ticks : [],
    tickLabels: opts.colorbar ? tickLabels : [],
    warnings,
    ...counts,
  });
}

