/**
 * The marks `cachefile plot --mark cog,hotspot` draws on a map: MNI points
 * from {@link mapStats}, and where each falls in a view of the glass brain.
 * @module
 */
import type { View } from "../map/project.js";
import { analysisOptionError } from "./errors.js";
import type { MapStats, Mni } from "./stats.js";

/** The marks a map can carry. */
export type MarkName = "cog" | "hotspot";

/** The mark names. */
export const MARK_NAMES: readonly MarkName[] = Object.freeze(["cog", "hotspot"] as const);

/** One mark: what it is, where (MNI mm), and its label. */
export interface MapMark {
  name: MarkName;
  mni: Mni;
  /** A short legend text, e.g. `CoG (-36.2, -17.9, 55.0)` or `hotspot 1204 µV`. */
  label: string;
}

/**
 * Parses `--mark` text: names separated by commas (`"cog,hotspot"`).
 * @example parseMarks("cog, hotspot") // ["cog", "hotspot"]
 * @throws {AnalysisError} `EANALYSISOPTION` for a name other than cog or hotspot
 */
export function parseMarks(text: string): MarkName[] {
  const names = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  for (const n of names) {
    if (!(MARK_NAMES as readonly string[]).includes(n)) throw analysisOptionError("mark", `a comma-separated list of ${MARK_NAMES.join(", ")}`, text);
  }
  return [...new Set(names)] as MarkName[];
}

const fmt = (v: number) => v.toFixed(1);

/**
 * The marks of a map: its amplitude-weighted centre of gravity (`cog`) and
 * its hotspot (`hotspot`, the site with the largest mean amplitude), as MNI
 * points; a mark whose point is undefined (no amplitude at all) is left out.
 * `value` writes the hotspot's mean in its label (default `1204 µV`; a map
 * of transformed values passes its colour bar's label).
 *
 * @example
 * ```ts
 * const marks = mapMarks(mapStats(cf, { bootstrap: 0 }), ["cog", "hotspot"]);
 * // [{ name: "cog", mni: [-36.2, -17.9, 55], label: "CoG (-36.2, -17.9, 55.0)" },
 * //  { name: "hotspot", mni: [-37, -18, 54], label: "hotspot (-37.0, -18.0, 54.0) 1204 µV" }]
 * ```
 * @throws {AnalysisError} `EANALYSISOPTION` for an unknown mark name
 */
export function mapMarks(
  stats: Pick<MapStats, "cog_mni" | "hotspot_mni" | "hotspot_uv">,
  names: readonly MarkName[] = MARK_NAMES,
  options: { value?: (value: number) => string } = {},
): MapMark[] {
  const value = options.value ?? ((v: number) => `${v.toFixed(0)} µV`);
  const out: MapMark[] = [];
  for (const name of names) {
    if (!(MARK_NAMES as readonly string[]).includes(name)) throw analysisOptionError("marks", `names among ${MARK_NAMES.join(", ")}`, name);
    if (name === "cog" && stats.cog_mni) {
      out.push({ name, mni: [...stats.cog_mni] as Mni, label: `CoG (${stats.cog_mni.map(fmt).join(", ")})` });
    }
    if (name === "hotspot" && stats.hotspot_mni) {
      const uv = stats.hotspot_uv === null ? "" : ` ${value(stats.hotspot_uv)}`;
      out.push({ name, mni: [...stats.hotspot_mni] as Mni, label: `hotspot (${stats.hotspot_mni.map(fmt).join(", ")})${uv}` });
    }
  }
  return out;
}

/**
 * Where an MNI point falls in a view, in the view's own millimetre axes
 * (those of `projectMap`'s `xmm`/`ymm`): `z` (axial) `[x, y]`, `y` (coronal)
 * `[x, z]`, `x`, `l`, `r` (sagittal) `[y, z]`. Undefined for `l` when the
 * point is in the right hemisphere (x ≥ 0) and for `r` when it is in the left.
 * @example markPosition([-37, -18, 54], "z") // [-37, -18]
 */
export function markPosition(mni: Mni, view: View): [number, number] | undefined {
  const [x, y, z] = mni;
  switch (view) {
    case "z":
      return [x, y];
    case "y":
      return [x, z];
    case "x":
      return [y, z];
    case "l":
      return x < 0 ? [y, z] : undefined;
    case "r":
      return x >= 0 ? [y, z] : undefined;
  }
}
