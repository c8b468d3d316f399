/**
 * `plotMap`: the motor map of one or more CacheFiles, as offspect's
 * `plot_map`, with its faults fixed (uninspected traces, `None` values,
 * unusable coordinates).
 * @module
 */
import { CacheFile } from "../cachefile.js";
import { decode, type Decoded } from "../codec.js";
import { describe } from "../errors.js";
import { PlotError, optionError } from "./errors.js";
import { checkGlassOptions, plotGlass, type GlassOptions, type MapFigure } from "./glass.js";
import { mniToVoxel } from "./project.js";

/**
 * What a map draws of each trace's peak-to-peak amplitude: the amplitude in
 * µV (`none`), `log10(µV + 1)` (`log`, colour bar ticks labelled in µV), or
 * 1 above a threshold in µV and 0 at or below it (`{ threshold }`, ticks
 * "0 (≤50µV)" to "1 (>50µV)").
 */
export type MapTransform = "none" | "log" | { threshold: number };

/**
 * Options of {@link plotMap}: those of {@link plotGlass} and three more.
 *
 * `vmax` is in µV (peak to peak, the values before any transform) whatever
 * the transform: with `transform: "log"` or a `foo`, the map is drawn up to
 * `foo(vmax)`, so `vmax: 500` means 500 µV on every scale.
 */
export interface MapOptions extends GlassOptions {
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

/** A number with three significant digits, as short as it gets: 0.675, 21.4, 1230. */
function short(x: number): string {
  return String(Number(x.toPrecision(3)));
}

/** What a transform is: its function and its tick labels. */
function resolveTransform(transform: unknown): { foo?: (value: number) => number; tickLabel?: (value: number) => string } {
  if (transform === undefined || transform === "none") return {};
  if (transform === "log") {
    return { foo: (x) => Math.log10(x + 1), tickLabel: (t) => `${short(10 ** t - 1)}µV` };
  }
  const threshold = (transform as { threshold?: unknown } | null)?.threshold;
  if (transform !== null && typeof transform === "object" && typeof threshold === "number" && Number.isFinite(threshold)) {
    const uv = short(threshold);
    return {
      foo: (x) => (x > threshold ? 1 : 0),
      tickLabel: (t) => (t === 0 ? `0 (≤${uv}µV)` : t === 1 ? `1 (>${uv}µV)` : short(t)),
    };
  }
  throw optionError("transform", `"none", "log" or { threshold: µV }`, transform);
}

function safeDecode(text: string | undefined): Decoded | undefined {
  if (text === undefined) return undefined;
  try {
    return decode(text);
  } catch {
    return text;
  }
}

/** null for what offspect's populate writes for null (the text None) and for the empty text. */
function nullish(v: Decoded | undefined): boolean {
  return v === undefined || v === null || v === "None" || v === "";
}

/** Python's truthiness of a decoded value, with None as null. */
function truthy(v: Decoded | undefined): boolean {
  if (nullish(v)) return false;
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0; // NaN is true, as in Python
  if (typeof v === "string") return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  return true;
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

function checkFiles(cachefiles: unknown): CacheFile[] {
  const list = Array.isArray(cachefiles) ? cachefiles : [cachefiles];
  if (list.length === 0) throw new PlotError("EPLOTEMPTY", "cachefiles", "no CacheFile given: pass a CacheFile or a non-empty array of them");
  list.forEach((cf, n) => {
    if (!(cf instanceof CacheFile)) {
      throw new PlotError(
        "EPLOTINPUT",
        "cachefiles",
        `expected a CacheFile${Array.isArray(cachefiles) ? ` at cachefiles[${n}]` : ""}, got ${describe(cf)}: open the file with new CacheFile(path)`,
      );
    }
  });
  return list as CacheFile[];
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
 * const { coords, values, counts } = mapValues(new CacheFile("map.hdf5"));
 * ```
 * @throws {PlotError} `EPLOTINPUT` when an argument is not a CacheFile or foo returns something other than a finite number;
 *   `EPLOTEMPTY` for an empty list; `EPLOTOPTION` for a bad option
 */
export function mapValues(cachefiles: CacheFile | readonly CacheFile[], options: Pick<MapOptions, "foo" | "ignoreRejected"> = {}): MapValues {
  const files = checkFiles(cachefiles);
  if (options === null || typeof options !== "object") throw optionError("options", "an options object", options);
  const foo = options.foo ?? ((x: number) => x);
  if (typeof foo !== "function") throw optionError("foo", "a function of one number returning a number", foo);
  const ignoreRejected = options.ignoreRejected ?? true;
  if (typeof ignoreRejected !== "boolean") throw optionError("ignoreRejected", "true or false", ignoreRejected);

  const out: MapValues = { coords: [], values: [], traces: [], counts: { used: 0, total: 0, rejected: 0, uninspected: 0, dropped: 0 } };
  const c = out.counts;
  for (const cf of files) {
    const n = cf.length;
    c.total += n;
    for (let index = 0; index < n; index++) {
      const attrs = cf.getTraceAttrs(index);
      const file = attrs["cache_file"] ?? String(cf);
      if (ignoreRejected && truthy(safeDecode(attrs["reject"]))) {
        c.rejected++;
        continue;
      }
      const pos = peak(safeDecode(attrs["pos_peak_magnitude_uv"]));
      const neg = peak(safeDecode(attrs["neg_peak_magnitude_uv"]));
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
      const xyz = coordsOf(safeDecode(attrs["xyz_coords"]));
      if (xyz === null || mniToVoxel(xyz) === undefined) c.dropped++;
      else c.used++;
      out.coords.push(xyz);
      out.values.push(value);
      out.traces.push({ file, index });
    }
  }
  return out;
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
 * Plots the motor map of one or more CacheFiles as a glass brain (see
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
 * ```
 * @throws {PlotError} `EPLOTEMPTY` when no trace can be mapped (all rejected, or no usable coordinates);
 *   `EPLOTINPUT` / `EPLOTOPTION` as {@link mapValues} and {@link plotGlass}
 */
export async function plotMap(cachefiles: CacheFile | readonly CacheFile[], options: MapOptions = {}): Promise<MapPlot> {
  checkGlassOptions(options, ["foo", "transform", "ignoreRejected"]);
  const { foo: userFoo, transform, ignoreRejected, vmax, tickLabel, ...glass } = options;
  if (transform !== undefined && userFoo !== undefined) {
    throw new PlotError("EPLOTOPTION", "transform", "transform and foo exclude each other: transform picks foo (log10(µV + 1) or a threshold); pass one of them");
  }
  const scaled = resolveTransform(transform);
  const foo = userFoo ?? scaled.foo;
  if (foo !== undefined && typeof foo !== "function") throw optionError("foo", "a function of one number returning a number", foo);
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
  const mv = mapValues(cachefiles, { ...(foo !== undefined ? { foo } : {}), ...(ignoreRejected !== undefined ? { ignoreRejected } : {}) });
  const counts = mv.counts;
  if (counts.used === 0) {
    throw new PlotError(
      "EPLOTEMPTY",
      "cachefiles",
      `no trace can be mapped: of ${counts.total} traces ${counts.rejected} are rejected and ${counts.dropped} have unusable or outside coordinates${counts.rejected > 0 ? "; pass ignoreRejected: false to map rejected traces too" : ""}`,
    );
  }
  const fig = await plotGlass(mv.coords, mv.values, {
    ...glass,
    ...(drawnVmax !== undefined ? { vmax: drawnVmax } : {}),
    ...(labels !== undefined ? { tickLabel: labels } : {}),
  });
  return Object.defineProperties(fig, {
    counts: { value: Object.freeze({ ...counts }), enumerable: true },
    summary: { value: mapSummary(counts), enumerable: true },
  }) as MapPlot;
}
