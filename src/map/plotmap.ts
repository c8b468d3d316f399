/**
 * `plotMap`: the motor map of one or more CacheFiles, as offspect's
 * `plot_map`, with its faults fixed (uninspected traces, `None` values,
 * unusable coordinates).
 * @module
 */
import { describe } from "../base/errors.js";
import { PlotError, optionError } from "./errors.js";
import { MARK_NAMES, mapMarks, type MapMark, type MarkName } from "../analysis/marks.js";
import { checkGlassOptions, plotGlass, type GlassOptions, type MapFigure } from "./glass.js";
import { checkMarks } from "./marks.js";
import { mapValues, type MapCounts, type MapFiles, type MapValues } from "./values.js";
import { statsOfMapValues } from "../analysis/stats.js";
import { resolveScale, short, type MapTransform, type ScaleErrors } from "./transform.js";

export type { MapTransform } from "./transform.js";

const PLOT_ERRORS: ScaleErrors = {
  option: (option, expected, got) => optionError(option, expected, got),
  conflict: (option, message) => new PlotError("EPLOTOPTION", option, message),
};


/**
 * Options of {@link plotMap}: those of {@link plotGlass} and three more.
 *
 * `vmax` is in µV (peak to peak, the values before any transform) whatever
 * the transform: with `transform: "log"` or a `foo`, the map is drawn up to
 * `foo(vmax)`, so `vmax: 500` means 500 µV on every scale.
 */
export interface MapOptions extends Omit<GlassOptions, "marks"> {
  /**
   * Applied to each trace's value (peak-to-peak amplitude in µV, 0 when not
   * inspected) before plotting, e.g. `x => Math.log10(x + 1)` or a threshold
   * `x => (x > 50 ? 1 : 0)`. Must return a finite number and grow with its
   * argument. Default: identity. The colour bar is then labelled in foo's
   * values (no unit) unless `tickLabel` says otherwise; `transform` does the
   * same for the usual transforms and labels them as what they are.
   */
  foo?: (value: number) => number;
  /** The transform of the values (default `"none"`); excludes `foo`. */
  transform?: MapTransform;
  /** Leave out traces flagged `reject` (default true). */
  ignoreRejected?: boolean;
  /**
   * Points to mark on every view (see {@link GlassOptions.marks}): `"cog"`
   * (the amplitude-weighted centre of gravity) and `"hotspot"` (the site
   * with the largest mean), computed as `mapStats` computes them from the
   * very traces and values this map draws (after `transform` or `foo`,
   * rejected traces left out unless `ignoreRejected` is false), or marks
   * given as `{ name, mni, label }` (e.g. from `mapMarks`). Default none.
   */
  marks?: readonly (MarkName | MapMark)[];
}

/**
 * A map figure, with the counts of the traces it used and offspect's summary
 * of them. Its `vmax` and `ticks` are on the scale drawn (`log10(µV + 1)`
 * for `transform: "log"`); `tickLabels` say what they are.
 */
export interface MapPlot extends MapFigure {
  readonly counts: MapCounts;
  /** offspect's printout: "This plot is based on 108/120 traces." and so on, one line each. */
  readonly summary: string;
}

/** The `marks` option of plotMap: names of marks or marks. */
function checkMapMarks(value: unknown): (MarkName | MapMark)[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw optionError("marks", `an array of mark names (${MARK_NAMES.map((n) => JSON.stringify(n)).join(", ")}) or marks`, value);
  return value.map((m: unknown, k) => {
    if (typeof m === "string") {
      if ((MARK_NAMES as readonly string[]).includes(m)) return m as MarkName;
      throw optionError(`marks[${k}]`, `one of ${MARK_NAMES.map((n) => JSON.stringify(n)).join(", ")} or a mark { name, mni, label }`, m);
    }
    return checkMarks([m])[0]!;
  });
}

/** The marks to draw: names computed from the map's own values (as mapStats does), marks as given. */
async function resolveMarks(marks: readonly (MarkName | MapMark)[], mv: MapValues, labels: ((value: number) => string) | undefined): Promise<MapMark[]> {
  const names = marks.filter((m): m is MarkName => typeof m === "string");
  let computed: MapMark[] = [];
  if (names.length > 0) {
    const stats = statsOfMapValues(mv, { bootstrap: 0 }, [...new Set(mv.traces.map((t) => t.file))]);
    computed = mapMarks(stats, [...new Set(names)], labels ? { value: (v) => labels(v).trim() } : {});
  }
  return marks.flatMap((m) => (typeof m === "string" ? computed.filter((c) => c.name === m).slice(0, 1) : [m]));
}

/**
 * offspect's printout of a map's counts, one line each, plus a line for
 * dropped traces when there are any.
 *
 * @example
 * ```ts
 * mapSummary({ used: 108, total: 120, rejected: 12, uninspected: 9, dropped: 0 });
 * // This plot is based on 108/120 traces.
 * //  12 traces were rejected.
 * //   9 traces were not inspected.
 * ```
 */
export function mapSummary(counts: MapCounts): string {
  const f = (n: number) => String(n).padStart(3, " ");
  const lines = [
    `This plot is based on ${counts.used}/${counts.total} traces.`,
    `${f(counts.rejected)} traces were rejected.`,
    `${f(counts.uninspected)} traces were not inspected.`,
  ];
  if (counts.dropped > 0) lines.push(`${f(counts.dropped)} traces were left out: their xyz_coords are not three finite numbers or lie outside the MNI grid.`);
  return lines.join("\n");
}

/**
 * Plots the motor map of one or more CacheFiles (or paths to them) as a glass brain (see
 * {@link plotGlass} for the figure and its options, {@link mapValues} for
 * the values). `vmax` is in µV on every scale (see {@link MapOptions}).
 * Prints nothing: the counts are on the result, `summary` holds offspect's
 * printout of them, and `warnings` says when nothing on the map is visibly
 * coloured (a vmax far above the values).
 *
 * @example
 * ```ts
 * const fig = await plotMap(new CacheFile("map_session.hdf5"), { transform: "log", vmax: 500, title: "S07" });
 * console.log(fig.summary);
 * await fig.savefig("map.png");
 * const marked = await plotMap(cf, { displayMode: "ortho", marks: ["cog", "hotspot"] });
 * marked.marks[0]; // { name: "cog", label: "CoG (-36.9, -21.3, 57.9)", view: "x", x: 220.4, y: 175.2, box: [...] }
 * ```
 * @throws {PlotError} `EPLOTEMPTY` when no trace can be mapped (all rejected, or no usable coordinates);
 *   `EPLOTINPUT` / `EPLOTOPTION` as {@link mapValues} and {@link plotGlass}; `EPLOTOPTION` for a mark name
 *   other than "cog" or "hotspot"
 */
export async function plotMap(cachefiles: MapFiles, options: MapOptions = {}): Promise<MapPlot> {
  const plan = planMap(options);
  const mv = mapValues(cachefiles, { ...(plan.foo !== undefined ? { foo: plan.foo } : {}), ...(options.ignoreRejected !== undefined ? { ignoreRejected: options.ignoreRejected } : {}) });
  return drawMap(mv, plan);
}

/** plotMap's options, checked and resolved. @internal */
export interface MapPlan {
  foo: ((value: number) => number) | undefined;
  marks: (MarkName | MapMark)[];
  drawnVmax: number | undefined;
  labels: ((value: number) => string) | undefined;
  glass: Omit<GlassOptions, "marks" | "vmax" | "tickLabel">;
}

/**
 * Checks and resolves plotMap's options (the values' `foo`, the drawn vmax, the labels).
 * @throws {PlotError} `EPLOTOPTION` for a bad option
 * @internal
 */
export function planMap(options: MapOptions): MapPlan {
  if (options === null || typeof options !== "object" || Array.isArray(options)) throw optionError("options", "an options object", options);
  const { marks: wantedMarks, ...rest } = options;
  checkGlassOptions(rest, ["foo", "transform", "ignoreRejected", "marks"]);
  const marks = checkMapMarks(wantedMarks);
  const { foo: userFoo, transform, ignoreRejected: _ignoreRejected, vmax, tickLabel, ...glass } = rest;
  const scaled = resolveScale(transform, userFoo, PLOT_ERRORS);
  const foo = scaled.foo;
  let drawnVmax: number | undefined;
  if (vmax !== undefined) {
    drawnVmax = foo ? foo(vmax) : vmax;
    if (typeof drawnVmax !== "number" || !Number.isFinite(drawnVmax) || drawnVmax <= 0) {
      throw new PlotError(
        "EPLOTOPTION",
        "vmax",
        `vmax ${vmax} µV is ${describe(drawnVmax)} on the map's scale, where it must be positive: pick a vmax in µV${transform !== undefined && typeof transform === "object" ? ` above the threshold (${transform.threshold} µV)` : " whose transform is above 0"}`,
      );
    }
  }
  const labels = tickLabel ?? scaled.tickLabel ?? (foo ? short : undefined);
  return { foo, marks, drawnVmax, labels, glass };
}

/**
 * Draws map values (from {@link mapValues}, or made with {@link addMapValue}) as plotMap draws them.
 * @throws {PlotError} `EPLOTEMPTY` when no trace can be mapped
 * @internal
 */
export async function drawMap(mv: MapValues, plan: MapPlan): Promise<MapPlot> {
  const counts = mv.counts;
  if (counts.used === 0) {
    throw new PlotError(
      "EPLOTEMPTY",
      "cachefiles",
      `no trace can be mapped: of ${counts.total} traces ${counts.rejected} are rejected and ${counts.dropped} have unusable or outside coordinates${counts.rejected > 0 ? "; pass ignoreRejected: false to map rejected traces too" : ""}`,
    );
  }
  const drawnMarks = await resolveMarks(plan.marks, mv, plan.labels);
  const fig = await plotGlass(mv.coords, mv.values, {
    ...plan.glass,
    ...(plan.drawnVmax !== undefined ? { vmax: plan.drawnVmax } : {}),
    ...(plan.labels !== undefined ? { tickLabel: plan.labels } : {}),
    ...(drawnMarks.length > 0 ? { marks: drawnMarks } : {}),
  });
  return Object.defineProperties(fig, {
    counts: { value: Object.freeze({ ...counts }), enumerable: true },
    summary: { value: mapSummary(counts), enumerable: true },
  }) as MapPlot;
}
