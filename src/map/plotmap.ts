/**
 * `plotMap`: the motor map of one or more CacheFiles, as offspect's
 * `plot_map`, with its faults fixed (uninspected traces, `None` values,
 * unusable coordinates).
 * @module
 */
import { CacheFile } from "../cachefile/index.js";
import type { Decoded } from "../values/codec.js";
import { decodeText, truthy } from "../analysis/attrs.js";
import { runSync } from "../base/work.js";
import { describe } from "../base/errors.js";
import { PlotError, optionError } from "./errors.js";
import { MARK_NAMES, mapMarks, type MapMark, type MarkName } from "../analysis/marks.js";
import { checkGlassOptions, plotGlass, type GlassOptions, type MapFigure } from "./glass.js";
import { checkMarks } from "./marks.js";
import { mniToVoxel } from "./project.js";
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

/** How many traces a map used and why the others were left out. */
export interface MapCounts {
  /** Traces whose value is on the map. */
  used: number;
  /** Traces in the files. */
  total: number;
  /** Traces left out because they are flagged `reject` (0 when `ignoreRejected` is false). */
  rejected: number;
  /** Traces on the map, or dropped, with a null peak (not yet inspected): their value is 0. */
  uninspected: number;
  /** Traces left out because `xyz_coords` is not three finite numbers or lies outside the MNI grid. */
  dropped: number;
}

/** The values of a map, before smoothing. */
export interface MapValues {
  /** `xyz_coords` of each trace considered (decoded; null where unusable). */
  coords: ([number, number, number] | null)[];
  /** The value of each trace considered, after `foo`. */
  values: number[];
  /** For each trace considered: its file and index in that file. */
  traces: { file: string; index: number }[];
  counts: MapCounts;
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

function peak(v: Decoded | undefined): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function coordsOf(v: Decoded | undefined): [number, number, number] | null {
  if (!Array.isArray(v) || v.length !== 3) return null;
  const [x, y, z] = v;
  if (typeof x !== "number" || typeof y !== "number" || typeof z !== "number") return null;
  if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z)) return null;
  return [x, y, z];
}

/** What a map is made from: a CacheFile, a path to one, or a non-empty array of them. */
export type MapFiles = string | CacheFile | readonly (string | CacheFile)[];

/** The CacheFiles of `cachefiles`, the paths among them opened here (`opened`, which the caller closes). */
function openFiles(cachefiles: unknown): { files: CacheFile[]; opened: CacheFile[] } {
  const list: unknown[] = Array.isArray(cachefiles) ? cachefiles : [cachefiles];
  if (list.length === 0) throw new PlotError("EPLOTEMPTY", "cachefiles", "no CacheFile given: pass a CacheFile, a path or a non-empty array of them");
  list.forEach((cf, n) => {
    if (!(cf instanceof CacheFile) && typeof cf !== "string") {
      throw new PlotError(
        "EPLOTINPUT",
        "cachefiles",
        `expected a CacheFile or a path to one${Array.isArray(cachefiles) ? ` at cachefiles[${n}]` : ""}, got ${describe(cf)}`,
      );
    }
  });
  const opened: CacheFile[] = [];
  try {
    const files = list.map((cf) => {
      if (cf instanceof CacheFile) return cf;
      const own = new CacheFile(cf as string);
      opened.push(own);
      return own;
    });
    return { files, opened };
  } catch (e) {
    for (const cf of opened) cf.close();
    throw e;
  }
}

/**
 * The value and coordinates of each trace of one or more CacheFiles, as a
 * map uses them: the peak-to-peak amplitude `pos_peak_magnitude_uv -
 * neg_peak_magnitude_uv` (0 when either is null, i.e. not yet inspected,
 * `None` in offspect's files), passed through `foo`, at `xyz_coords`;
 * traces flagged `reject` are left out unless `ignoreRejected` is false.
 *
 * @example
 * ```ts
 * const { coords, values, counts } = mapValues("map.hdf5"); // or a CacheFile, or an array of either
 * ```
 * @throws {PlotError} `EPLOTINPUT` when an argument is not a CacheFile or a path, or foo returns something other than a finite number;
 *   `EPLOTEMPTY` for an empty list; `EPLOTOPTION` for a bad option
 * @throws the errors of opening a path (FileNotFoundError, NotHdf5Error, ...)
 */
export function mapValues(cachefiles: MapFiles, options: Pick<MapOptions, "foo" | "ignoreRejected"> = {}): MapValues {
  return runSync(mapValuesSteps(cachefiles, options));
}

/**
 * {@link mapValues} as a generator that yields every 256 traces, for the
 * async forms of its callers (see src/work.ts).
 * @internal
 */
export function* mapValuesSteps(cachefiles: MapFiles, options: Pick<MapOptions, "foo" | "ignoreRejected"> = {}): Generator<void, MapValues> {
  if (options === null || typeof options !== "object") throw optionError("options", "an options object", options);
  const foo = options.foo ?? ((x: number) => x);
  if (typeof foo !== "function") throw optionError("foo", "a function of one number returning a number", foo);
  const ignoreRejected = options.ignoreRejected ?? true;
  if (typeof ignoreRejected !== "boolean") throw optionError("ignoreRejected", "true or false", ignoreRejected);
  const { files, opened } = openFiles(cachefiles);
  try {
    return yield* valuesOf(files, foo, ignoreRejected);
  } finally {
    for (const cf of opened) cf.close();
  }
}

function* valuesOf(files: CacheFile[], foo: (value: number) => number, ignoreRejected: boolean): Generator<void, MapValues> {
  const out = emptyMapValues();
  for (const cf of files) {
    const n = cf.length;
    out.counts.total += n;
    for (let index = 0; index < n; index++) {
      if ((index & 255) === 255) {
        // Let go of the file between batches: a writer elsewhere can get in, and a read
        // session that is let go now and then reads faster than one long one.
        cf.close();
        yield;
      }
      const attrs = cf.getTraceAttrs(index);
      addMapValue(out, attrs, attrs["cache_file"] ?? String(cf), index, foo, ignoreRejected);
    }
  }
  return out;
}

/** Map values with no trace yet. @internal */
export function emptyMapValues(): MapValues {
  return { coords: [], values: [], traces: [], counts: { used: 0, total: 0, rejected: 0, uninspected: 0, dropped: 0 } };
}

/**
 * Adds one trace, given its stored attributes (text), to map values as
 * {@link mapValues} does (the caller counts it in `counts.total`): left
 * out when rejected (and `ignoreRejected`), its value `foo(ptp)` (0 when a
 * peak is null), its coordinates or null (dropped).
 * @internal
 */
export function addMapValue(
  out: MapValues,
  attrs: Readonly<Record<string, string | undefined>>,
  file: string,
  index: number,
  foo: (value: number) => number,
  ignoreRejected: boolean,
): void {
  const c = out.counts;
  if (ignoreRejected && truthy(decodeText(attrs["reject"]))) {
    c.rejected++;
    return;
  }
  const pos = peak(decodeText(attrs["pos_peak_magnitude_uv"]));
  const neg = peak(decodeText(attrs["neg_peak_magnitude_uv"]));
  let raw = 0;
  if (pos === null || neg === null) c.uninspected++;
  else raw = pos - neg;
  const value = foo(raw);
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new PlotError(
      "EPLOTINPUT",
      "foo",
      `foo returned ${describe(value)} for the value ${raw} of trace ${index} of ${file}${pos === null || neg === null ? " (not inspected, so its value is 0)" : ""}: make foo return a finite number for every value, e.g. x => Math.log10(x + 1)`,
    );
  }
  const xyz = coordsOf(decodeText(attrs["xyz_coords"]));
  if (xyz === null || mniToVoxel(xyz) === undefined) c.dropped++;
  else c.used++;
  out.coords.push(xyz);
  out.values.push(value);
  out.traces.push({ file, index });
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
    // Loaded when needed: the statistics module reads maps through this one.
    const { statsOfMapValues } = await import("../analysis/stats.js");
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
