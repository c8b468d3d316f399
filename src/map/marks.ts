/**
 * Marks on a glass-brain figure: points such as a motor map's centre of
 * gravity and hotspot (`mapMarks` of src/analysis/marks.ts), each drawn as
 * a symbol with its short label beside it, on every view that shows the
 * point, over the map: the CoG as a blue target (a ring with four ticks,
 * hollow, so that a hotspot at the same place shows inside it), the
 * hotspot as a green diamond with a dot, both with a white halo so that
 * they stand out on white, yellow, red and near-black alike. The labels
 * are placed beside their symbol where they overlap no other label or
 * symbol (right of it, else left, else above or below, else clear of every
 * symbol), inside the view.
 * @module
 */
import type { MapMark, MarkName } from "../analysis/marks.js";
import { describe } from "../base/errors.js";
import { PlotError } from "./errors.js";
import { rasterSvg } from "./figure.js";
import { textPath } from "./font.js";
import type { View } from "./project.js";

/** Where a mark was drawn: its view, the pixel of its point, and the pixels its symbol and label cover. */
export interface PlacedMark {
  name: MarkName;
  /** The mark's full label (e.g. `CoG (-37.0, -21.3, 57.9)`); the view shows its short name. */
  label: string;
  view: View;
  /** The pixel of the mark's point (the symbol's centre). */
  x: number;
  y: number;
  /** `[left, top, right, bottom]`, pixels, exclusive of right and bottom: everything the mark changed lies inside. */
  box: [number, number, number, number];
  /** The same of its label alone (with its halo): no other label of the view overlaps it where there is room. */
  labelBox: [number, number, number, number];
}

/** The rectangle of a view, and the pixel of a point in it (undefined where the view does not show it). @internal */
export interface MarkPanel {
  view: View;
  x: number;
  y: number;
  width: number;
  height: number;
  pixel: (mni: readonly [number, number, number]) => { x: number; y: number } | undefined;
}

const STYLE: Record<MarkName, { color: string; text: string }> = {
  cog: { color: "#1746d8", text: "CoG" },
  hotspot: { color: "#00843a", text: "hotspot" },
};

/** The mark names a figure draws. */
const NAMES = Object.keys(STYLE) as MarkName[];

/**
 * Checks a figure's `marks` option: an array of `{ name, mni, label }`
 * (name "cog" or "hotspot", mni three finite numbers, label text).
 * @throws {PlotError} `EPLOTOPTION` naming the first mark that is not one
 * @internal
 */
export function checkMarks(value: unknown): MapMark[] {
  if (!Array.isArray(value)) throw new PlotError("EPLOTOPTION", "marks", `expected an array of marks ({ name, mni, label }, e.g. from mapMarks) for marks, got ${describe(value)}`);
  return value.map((m: unknown, k) => {
    const mark = m as Partial<MapMark> | null;
    const mni = mark?.mni;
    const ok =
      mark !== null &&
      typeof mark === "object" &&
      NAMES.includes(mark.name as MarkName) &&
      Array.isArray(mni) &&
      mni.length === 3 &&
      mni.every((v) => typeof v === "number" && Number.isFinite(v)) &&
      typeof mark.label === "string";
    if (!ok) {
      throw new PlotError(
        "EPLOTOPTION",
        "marks",
        `expected { name: ${NAMES.map((n) => JSON.stringify(n)).join(" or ")}, mni: [x, y, z] in mm, label: text } for marks[${k}], got ${describe(m)}`,
      );
    }
    return { name: mark.name!, mni: [mni[0]!, mni[1]!, mni[2]!], label: mark.label! };
  });
}

type Box = [number, number, number, number];

const overlaps = (a: Box, b: Box) => a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
const inside = (a: Box, p: MarkPanel) => a[0] >= p.x && a[1] >= p.y && a[2] <= p.x + p.width && a[3] <= p.y + p.height;
const union = (a: Box, b: Box): Box => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
const f = (v: number) => v.toFixed(2);

/** A symbol's size: its outer radius in units of the scale (pixels per mm). */
const RADIUS: Record<MarkName, number> = { cog: 7.5, hotspot: 3.25 };

/**
 * The SVG of one symbol at (x, y): the CoG a ring with four ticks (a
 * target, hollow, so that a hotspot at the same place shows inside it), the
 * hotspot a diamond with a dot; `stroke` draws it in its colour, or as its
 * white halo.
 */
function symbol(name: MarkName, x: number, y: number, scale: number, line: number, halo: number | undefined): string {
  const color = halo === undefined ? STYLE[name].color : "white";
  const width = halo === undefined ? line : line + 2 * halo;
  let shape: string;
  if (name === "cog") {
    const ring = 5 * scale;
    const tip = RADIUS.cog * scale;
    shape =
      `<circle cx="${f(x)}" cy="${f(y)}" r="${f(ring)}"/>` +
      `<path d="M${f(x - tip)} ${f(y)}H${f(x - ring)}M${f(x + ring)} ${f(y)}H${f(x + tip)}M${f(x)} ${f(y - tip)}V${f(y - ring)}M${f(x)} ${f(y + ring)}V${f(y + tip)}"/>`;
  } else {
    const r = RADIUS.hotspot * scale;
    shape = `<path d="M${f(x)} ${f(y - r)}L${f(x + r)} ${f(y)}L${f(x)} ${f(y + r)}L${f(x - r)} ${f(y)}Z"/><circle cx="${f(x)}" cy="${f(y)}" r="${f(0.5 * scale)}" fill="${color}"/>`;
  }
  return `<g fill="none" stroke="${color}" stroke-width="${f(width)}" stroke-linejoin="round" stroke-linecap="round">${shape}</g>`;
}

/**
 * Draws the marks over a figure's pixels (in place) and says where each
 * went: on every panel whose view shows the mark's point. Every halo is
 * drawn before every symbol and label, so that no mark's halo hides
 * another mark.
 * @internal
 */
export async function drawMarks(rgba: Uint8Array, width: number, height: number, panels: readonly MarkPanel[], scale: number, marks: readonly MapMark[]): Promise<PlacedMark[]> {
  if (marks.length === 0) return [];
  const line = 1.25 * scale;
  const halo = 1.25 * scale;
  const size = 6 * scale;
  const gap = 1.5 * scale;
  const halos: string[] = [];
  const inks: string[] = [];
  const placed: PlacedMark[] = [];
  for (const p of panels) {
    const here = marks
      .map((m) => ({ m, at: p.pixel(m.mni) }))
      .filter((e): e is { m: MapMark; at: { x: number; y: number } } => e.at !== undefined && e.at.x >= p.x && e.at.x < p.x + p.width && e.at.y >= p.y && e.at.y < p.y + p.height);
    // Everything a symbol covers: its outer radius, half its line, the halo and a pixel of antialiasing.
    const reachOf = (m: MapMark) => RADIUS[m.name] * scale + line / 2 + halo + 1.5;
    const symbols: Box[] = here.map(({ m, at }) => {
      const reach = reachOf(m);
      return [at.x - reach, at.y - reach, at.x + reach, at.y + reach];
    });
    const labels: Box[] = [];
    here.forEach(({ m, at }, k) => {
      halos.push(symbol(m.name, at.x, at.y, scale, line, halo));
      inks.push(symbol(m.name, at.x, at.y, scale, line, undefined));
      const text = STYLE[m.name].text;
      const textWidth = textPath(text, 0, 0, size).width;
      // A label's box reaches `pad` beyond its text (the halo and a pixel of antialiasing).
      const pad = halo + 1.5;
      const boxOf = (x: number, y: number, anchor: "start" | "end"): Box => {
        const x0 = anchor === "start" ? x : x - textWidth;
        return [x0 - pad, y - size * 0.95 - pad, x0 + textWidth + pad, y + size * 0.3 + pad];
      };
      // Spots beside the symbol, right then left, level with it, then further up and down, then clear of
      // every symbol here (the text starting beyond the symbols' reach and its own box's pad).
      const near = reachOf(m) + pad + gap / 2;
      const clear = Math.max(...symbols.map((b) => Math.max(b[2] - at.x, at.x - b[0]))) + pad + gap / 2;
      const spots: { x: number; y: number; anchor: "start" | "end" }[] = [];
      for (const dx of [near, clear]) {
        for (const dy of [0, -1.1 * size, 1.1 * size, -2.2 * size, 2.2 * size, -3.3 * size, 3.3 * size]) {
          spots.push({ x: at.x + dx, y: at.y + size * 0.35 + dy, anchor: "start" });
          spots.push({ x: at.x - dx, y: at.y + size * 0.35 + dy, anchor: "end" });
        }
      }
      const free = (b: Box) => inside(b, p) && !labels.some((l) => overlaps(l, b)) && !symbols.some((s) => overlaps(s, b));
      const spot = spots.find((s) => free(boxOf(s.x, s.y, s.anchor))) ?? spots.find((s) => inside(boxOf(s.x, s.y, s.anchor), p)) ?? spots[0]!;
      const box = boxOf(spot.x, spot.y, spot.anchor);
      labels.push(box);
      const d = textPath(text, spot.x, spot.y, size, spot.anchor).d;
      halos.push(`<path d="${d}" fill="white" stroke="white" stroke-width="${f(2 * halo)}" stroke-linejoin="round"/>`);
      inks.push(`<path d="${d}" fill="${STYLE[m.name].color}"/>`);
      const all = union(symbols[k]!, box);
      placed.push({
        name: m.name,
        label: m.label,
        view: p.view,
        x: at.x,
        y: at.y,
        box: [Math.max(0, Math.floor(all[0])), Math.max(0, Math.floor(all[1])), Math.min(width, Math.ceil(all[2])), Math.min(height, Math.ceil(all[3]))],
        labelBox: [Math.max(0, Math.floor(box[0])), Math.max(0, Math.floor(box[1])), Math.min(width, Math.ceil(box[2])), Math.min(height, Math.ceil(box[3]))],
      });
    });
  }
  if (inks.length === 0) return placed;
  const doc = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${halos.join("")}${inks.join("")}</svg>`;
  const over = await rasterSvg(doc, width, height);
  for (let o = 0; o < over.length; o += 4) {
    const a = over[o + 3]!;
    if (a === 0) continue;
    const b = 255 - a;
    rgba[o] = (over[o]! * a + rgba[o]! * b + 127) / 255;
    rgba[o + 1] = (over[o + 1]! * a + rgba[o + 1]! * b + 127) / 255;
    rgba[o + 2] = (over[o + 2]! * a + rgba[o + 2]! * b + 127) / 255;
  }
  return placed;
}
