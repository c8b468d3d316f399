/**
 * The values of a motor map (the map's core: no figure): each trace's
 * peak-to-peak amplitude and coordinates, as offspect's `plot_map` takes
 * them. The statistics (src/analysis/stats.ts) and the rendering
 * (plotmap.ts) both start here.
 * @module
 */
import { CacheFile, CacheFileBase, sessionOf } from "../cachefile/index.js";
import type { Decoded } from "../values/codec.js";
import { decodeText, truthy } from "../values/attrs.js";
import { runSync } from "../base/work.js";
import { describe } from "../base/errors.js";
import { PlotError, optionError } from "./errors.js";
import { mniToVoxel } from "./project.js";

/** What the values of a map depend on besides the files (see {@link MapOptions} of plotMap). */
export interface MapValueOptions {
  /** Applied to each trace's value (peak-to-peak amplitude in µV, 0 when not inspected); must return a finite number. Default: identity. */
  foo?: (value: number) => number;
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
export type MapFiles = string | CacheFileBase | readonly (string | CacheFileBase)[];

/** The CacheFiles of `cachefiles`, the paths among them opened here (`opened`, which the caller closes). */
function openFiles(cachefiles: unknown): { files: CacheFileBase[]; opened: CacheFileBase[] } {
  const list: unknown[] = Array.isArray(cachefiles) ? cachefiles : [cachefiles];
  if (list.length === 0) throw new PlotError("EPLOTEMPTY", "cachefiles", "no CacheFile given: pass a CacheFile, a path or a non-empty array of them");
  list.forEach((cf, n) => {
    if (!(cf instanceof CacheFileBase) && typeof cf !== "string") {
      throw new PlotError(
        "EPLOTINPUT",
        "cachefiles",
        `expected a CacheFile or a path to one${Array.isArray(cachefiles) ? ` at cachefiles[${n}]` : ""}, got ${describe(cf)}`,
      );
    }
  });
  const opened: CacheFileBase[] = [];
  try {
    const files = list.map((cf) => {
      if (cf instanceof CacheFileBase) return cf;
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
export function mapValues(cachefiles: MapFiles, options: MapValueOptions = {}): MapValues {
  return runSync(mapValuesSteps(cachefiles, options));
}

/**
 * {@link mapValues} as a generator that yields every 256 traces, for the
 * async forms of its callers (see src/work.ts).
 * @internal
 */
export function* mapValuesSteps(cachefiles: MapFiles, options: MapValueOptions = {}): Generator<void, MapValues> {
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

function* valuesOf(files: CacheFileBase[], foo: (value: number) => number, ignoreRejected: boolean): Generator<void, MapValues> {
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
      const attrs = sessionOf(cf).getTraceAttrs(index);
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

