/**
 * The map of a file's current state (`GET /api/files/ID/map` and
 * `map.png`): plotMap's drawing (its values, marks and counts, CoG and
 * hotspot marked) of the review's table rather than of a new read of the
 * file, so that it follows every reject and re-annotation at once; and the
 * glass brain of the coil view (`GET /api/glass.png`), its views where the
 * map's are, with the pixel of every trace's coordinates in each view so
 * that the page marks the current coil position and lists a site's traces.
 * @module
 */
import { PlotError } from "../map/errors.js";
import { plotGlass, type MapFigure } from "../map/glass.js";
import { drawMap, planMap } from "../map/plotmap.js";
import { addMapValue, emptyMapValues, type MapCounts } from "../map/values.js";
import type { PlacedMark } from "../map/marks.js";
import type { ReviewFile } from "./reviewfile.js";
import type { FileTable } from "./table.js";

/** Every map and glass brain of the review: three views at 1.5 pixels per mm, no title. */
const GEOMETRY = { displayMode: "ortho", scale: 1.5 } as const;

/** Where something is drawn in each view. */
export type Pixels = { view: string; x: number; y: number }[];

/** What the page needs beside the PNG. */
export interface MapMeta {
  version: number;
  width: number;
  height: number;
  /** The size of the coil view's glass brain (`GET /api/glass.png`). */
  glassWidth: number;
  glassHeight: number;
  /** null when no trace can be mapped (the reason in `empty`). */
  counts: MapCounts | null;
  summary: string;
  empty: string | null;
  marks: PlacedMark[];
}

/** The pixel of each trace with coordinates, in each view of the map and the coil view (`GET /api/files/ID/points`). */
export interface MapPoints {
  version: number;
  points: { index: number; pixels: Pixels }[];
}

let glass: Promise<MapFigure> | undefined;

/** The glass brain of the coil view: the outline only. */
export function glassFigure(): Promise<MapFigure> {
  glass ??= plotGlass([[0, 0, 0]], [0], { ...GEOMETRY, colorbar: false });
  return glass;
}

/** The pixels of a coordinate in each view. */
export async function pixelsOf(xyz: readonly [number, number, number]): Promise<Pixels> {
  return (await glassFigure()).locate(xyz).map((p) => ({ view: p.view, x: Math.round(p.x * 10) / 10, y: Math.round(p.y * 10) / 10 }));
}

const cache = new WeakMap<ReviewFile, { version: number; made: Promise<{ meta: MapMeta; png: Buffer }> }>();

async function make(file: ReviewFile, table: FileTable, version: number): Promise<{ meta: MapMeta; png: Buffer }> {
  const plan = planMap({ ...GEOMETRY, marks: ["cog", "hotspot"] });
  const mv = emptyMapValues();
  mv.counts.total = table.rows.length;
  table.rows.forEach((r, index) => addMapValue(mv, r.mapText, file.path, index, (x) => x, true));
  const g = await glassFigure();
  try {
    const fig = await drawMap(mv, plan);
    return {
      meta: { version, width: fig.width, height: fig.height, glassWidth: g.width, glassHeight: g.height, counts: fig.counts, summary: fig.summary, empty: null, marks: [...fig.marks] },
      png: await fig.toBuffer(),
    };
  } catch (e) {
    if (!(e instanceof PlotError) || e.code !== "EPLOTEMPTY") throw e;
    return { meta: { version, width: g.width, height: g.height, glassWidth: g.width, glassHeight: g.height, counts: null, summary: "", empty: e.message, marks: [] }, png: await g.toBuffer() };
  }
}

const pointsCache = new WeakMap<ReviewFile, { version: number; made: Promise<MapPoints> }>();

/**
 * Where every trace with coordinates is drawn (once per version of the file).
 * @throws the errors of reading the file
 */
export async function pointsOf(file: ReviewFile): Promise<MapPoints> {
  const table = await file.ready();
  const version = file.version;
  const hit = pointsCache.get(file);
  if (hit && hit.version === version) return hit.made;
  const made = glassFigure().then((g) => ({
    version,
    points: table.rows.flatMap((r, index) => (r.coords ? [{ index, pixels: g.locate(r.coords).map((p) => ({ view: p.view, x: Math.round(p.x * 10) / 10, y: Math.round(p.y * 10) / 10 })) }] : [])),
  }));
  pointsCache.set(file, { version, made });
  made.catch(() => pointsCache.delete(file));
  return made;
}

/**
 * The map of `file` as it is now (made once per version of the file).
 * @throws the errors of reading the file
 */
export async function mapOf(file: ReviewFile): Promise<{ meta: MapMeta; png: Buffer }> {
  const table = await file.ready();
  const version = file.version;
  const hit = cache.get(file);
  if (hit && hit.version === version) return hit.made;
  const made = make(file, table, version);
  cache.set(file, { version, made });
  made.catch(() => cache.delete(file));
  return made;
}
