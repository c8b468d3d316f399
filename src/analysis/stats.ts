/**
 * `mapStats` (async) / `mapStatsSync`: the motor-map numbers papers
 * report, over the traces a map uses (`mapValues`: rejected traces left out
 * unless `ignoreRejected` is false, value = peak-to-peak amplitude, 0 while
 * not inspected, put on the scale of `transform` or `foo` as the plot does; traces
 * whose coordinates are unusable or outside the MNI grid left out, as the
 * map drops them). One implementation (a generator, see src/work.ts) runs
 * both ways.
 *
 * Definitions, for traces `i` with value `aᵢ` at MNI coordinates `xᵢ`:
 * - `cog_mni = Σ aᵢ xᵢ / Σ aᵢ` (amplitude-weighted centre of gravity;
 *   null when `Σ aᵢ = 0`); `cog_unweighted_mni = Σ xᵢ / n`.
 * - Sites: traces whose coordinates, each rounded to the nearest multiple
 *   of `siteMm` (halves to even, as numpy's `round`), are identical and
 *   which lie in the same hemisphere form a site at those rounded
 *   coordinates, with the mean of its traces' values. Sites are numbered in
 *   the order of their first trace.
 * - `excitable_sites`: sites whose mean ≥ `threshold` (50 µV);
 *   `hotspot_mni` / `hotspot_uv`: the site with the largest mean (ties: the
 *   earlier site); `volume_uv`: the sum of the excitable sites' means;
 *   `spread_mm`: the root-mean-square distance of the excitable sites from
 *   `cog_mni` (null without excitable sites).
 * - `area_mm2`: with `gridMm`, excitable sites × gridMm²; otherwise the
 *   projection area (see `./area.ts`: the plot's smoothed axial projection,
 *   pixels ≥ threshold, mm²).
 * - `left` / `right`: the same over the traces with x < 0 / x ≥ 0 (the
 *   map's hemispheres); their projection areas are the whole map's
 *   projection split at x = 0.
 * - `ci`: percentile bootstrap intervals at `level` (0.95) for each
 *   coordinate of `cog_mni`, for `area_mm2` and for `volume_uv`, from
 *   `bootstrap` resamples (default 1000) of the map's sites: each resample
 *   draws as many sites as the map has, with replacement, from
 *   `mulberry32(seed)` (see `./bootstrap.ts`); a drawn site brings all its
 *   traces, and a site drawn twice counts twice (in the centre of gravity,
 *   the volume, the excitable count and the projection). Each resample
 *   gives the whole map's and each hemisphere's numbers, so a seed gives the
 *   same intervals every time. Sites, not traces, are resampled because the
 *   volume and the area are sums over sites: resampling traces would leave
 *   about a third of single-trace sites out of every resample and bias both
 *   downwards.
 * @module
 */
import { CacheFile, CacheFileBase } from "../cachefile/index.js";
import { mapValuesSteps, type MapCounts, type MapFiles, type MapValues } from "../map/values.js";
import { mniToVoxel } from "../map/project.js";
import { resolveScale, type MapTransform, type ScaleErrors } from "../map/transform.js";
import { runAsync, runSync } from "../base/work.js";
import { projectionArea } from "./area.js";
import { percentileInterval, resampleInto } from "./bootstrap.js";
import { AnalysisError, analysisOptionError } from "./errors.js";
import { mulberry32 } from "./prng.js";

/** An MNI coordinate in mm. */
export type Mni = [number, number, number];

/** Options of {@link mapStats}. */
export interface StatsOptions {
  /**
   * The values' scale, as plotMap's `transform`: `"none"` (default, µV),
   * `"log"` (log10(µV + 1)) or `{ threshold: µV }` (1 above it, 0 at or
   * below); excludes `foo`.
   */
  transform?: MapTransform;
  /** Applied to each trace's value before anything is computed, as plotMap's `foo` (default: identity); excludes `transform`. */
  foo?: (value: number) => number;
  /** Leave out traces flagged `reject` (default true). */
  ignoreRejected?: boolean;
  /** A site is excitable when its mean is at least this (default 50 µV, in the transform's units). */
  threshold?: number;
  /** Coordinates are rounded to multiples of this to form sites, mm (default 1). */
  siteMm?: number;
  /** Grid spacing, mm: area = excitable sites × gridMm² (default: the projection area). */
  gridMm?: number;
  /** Smoothing of the projection area, FWHM mm (default 12.5, the plot's). */
  smooth?: number;
  /** Bootstrap resamples (default 1000; 0 for no intervals). */
  bootstrap?: number;
  /** Seed of the bootstrap's generator (default 0). */
  seed?: number;
  /** Confidence level of the intervals (default 0.95). */
  level?: number;
  /**
   * Resample the projection area too (default true). Each resample then
   * costs one projection (about 5–80 ms, by the map's extent); false leaves
   * `ci.area_mm2` null with the projection method and keeps the other
   * intervals. The grid method's area is always resampled (it is cheap).
   */
  areaBootstrap?: boolean;
}

/** One site: rounded coordinates, the mean of its traces' values, how many traces. */
export interface MapSite {
  mni: Mni;
  mean_uv: number;
  traces: number;
  excitable: boolean;
}

/** Bootstrap intervals of a scope: `[low, high]` each. */
export interface StatsIntervals {
  cog_mni: [[number, number], [number, number], [number, number]] | null;
  area_mm2: [number, number] | null;
  volume_uv: [number, number] | null;
}

/** The numbers of the whole map or of one hemisphere. */
export interface ScopeStats {
  traces_used: number;
  sites: number;
  excitable_sites: number;
  cog_mni: Mni | null;
  cog_unweighted_mni: Mni | null;
  hotspot_mni: Mni | null;
  hotspot_uv: number | null;
  volume_uv: number;
  spread_mm: number | null;
  area_mm2: number;
  /** Null when `bootstrap` is 0 or the scope has no trace. */
  ci: StatsIntervals | null;
}

/** What {@link mapStats} returns: the whole map's numbers, each hemisphere's, and how they were made. */
export interface MapStats extends ScopeStats {
  left: ScopeStats;
  right: ScopeStats;
  /** Every site of the whole map, in the order of their first trace. */
  site_list: MapSite[];
  area_method: "grid" | "projection";
  threshold: number;
  site_mm: number;
  grid_mm: number | null;
  smooth: number;
  /** How the intervals were made; `area`: whether the area was resampled. */
  bootstrap: { resamples: number; seed: number; level: number; method: "percentile"; unit: "site"; area: boolean };
  /** The map's counts (used, total, rejected, uninspected, dropped), as plotMap reports them. */
  counts: MapCounts;
  /** The files, in the order given. */
  files: string[];
}

interface Resolved {
  areaBootstrap: boolean;
  threshold: number;
  siteMm: number;
  gridMm: number | null;
  smooth: number;
  bootstrap: number;
  seed: number;
  level: number;
}

function positive(v: unknown, option: string, fallback: number, hint = ""): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw analysisOptionError(option, "a positive finite number", v, hint);
  return v;
}

function resolve(options: StatsOptions): Resolved {
  if (options === null || typeof options !== "object") throw analysisOptionError("options", "an options object", options);
  const bootstrap = options.bootstrap ?? 1000;
  if (!Number.isInteger(bootstrap) || bootstrap < 0 || bootstrap > 1_000_000) {
    throw analysisOptionError("bootstrap", "a whole number of resamples, 0 to 1000000", bootstrap, "0 turns the intervals off");
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || Math.abs(seed) > 2 ** 32) throw analysisOptionError("seed", "an integer", seed);
  const level = options.level ?? 0.95;
  if (typeof level !== "number" || !(level > 0 && level < 1)) throw analysisOptionError("level", "a number between 0 and 1", level, "e.g. 0.95");
  const smooth = options.smooth ?? 12.5;
  if (typeof smooth !== "number" || !Number.isFinite(smooth) || smooth < 0 || smooth > 1000) {
    throw analysisOptionError("smooth", "a full width at half maximum in mm, 0 to 1000", smooth);
  }
  const areaBootstrap = options.areaBootstrap ?? true;
  if (typeof areaBootstrap !== "boolean") throw analysisOptionError("areaBootstrap", "true or false", areaBootstrap);
  return {
    areaBootstrap,
    threshold: positive(options.threshold, "threshold", 50, "e.g. 50 (µV)"),
    siteMm: positive(options.siteMm, "siteMm", 1, "e.g. 1 (mm)"),
    gridMm: options.gridMm === undefined ? null : positive(options.gridMm, "gridMm", 0, "the spacing of the stimulation grid, e.g. 10 (mm)"),
    smooth,
    bootstrap,
    seed,
    level,
  };
}

/** numpy's `rint`: nearest integer, halves to even. */
function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The sites of a map with their sums, and the traces as flat arrays. */
interface Sites {
  /** Traces: coordinates and values. */
  coords: Mni[];
  values: Float64Array;
  /** Per site, in the order of their first trace. */
  mni: Mni[];
  left: Uint8Array;
  count: Float64Array;
  sumA: Float64Array;
  sumAX: Float64Array;
  sumAY: Float64Array;
  sumAZ: Float64Array;
  sumX: Float64Array;
  sumY: Float64Array;
  sumZ: Float64Array;
  mean: Float64Array;
  /** The traces of each site. */
  traces: number[][];
}

function sitesOf(coords: Mni[], values: number[], siteMm: number): Sites {
  const byKey = new Map<string, number>();
  const mni: Mni[] = [];
  const left: number[] = [];
  const traces: number[][] = [];
  coords.forEach((c, i) => {
    const r = c.map((v) => rint(v / siteMm) * siteMm + 0) as Mni;
    const isLeft = c[0] < 0;
    const key = `${r[0]},${r[1]},${r[2]},${isLeft ? "l" : "r"}`;
    let id = byKey.get(key);
    if (id === undefined) {
      id = mni.length;
      byKey.set(key, id);
      mni.push(r);
      left.push(isLeft ? 1 : 0);
      traces.push([]);
    }
    traces[id]!.push(i);
  });
  const n = mni.length;
  const s: Sites = {
    coords,
    values: Float64Array.from(values),
    mni,
    left: Uint8Array.from(left),
    count: new Float64Array(n),
    sumA: new Float64Array(n),
    sumAX: new Float64Array(n),
    sumAY: new Float64Array(n),
    sumAZ: new Float64Array(n),
    sumX: new Float64Array(n),
    sumY: new Float64Array(n),
    sumZ: new Float64Array(n),
    mean: new Float64Array(n),
    traces,
  };
  for (let k = 0; k < n; k++) {
    for (const i of traces[k]!) {
      const [x, y, z] = coords[i]!;
      const a = values[i]!;
      s.count[k]! += 1;
      s.sumA[k]! += a;
      s.sumAX[k]! += a * x;
      s.sumAY[k]! += a * y;
      s.sumAZ[k]! += a * z;
      s.sumX[k]! += x;
      s.sumY[k]! += y;
      s.sumZ[k]! += z;
    }
    s.mean[k] = s.sumA[k]! / s.count[k]!;
  }
  return s;
}

/** Running sums of one scope over a multiset of sites. */
class Tally {
  n = 0;
  a = 0;
  ax = 0;
  ay = 0;
  az = 0;
  x = 0;
  y = 0;
  z = 0;
  volume = 0;
  excitable = 0;
  add(s: Sites, k: number, threshold: number): void {
    this.n += s.count[k]!;
    this.a += s.sumA[k]!;
    this.ax += s.sumAX[k]!;
    this.ay += s.sumAY[k]!;
    this.az += s.sumAZ[k]!;
    this.x += s.sumX[k]!;
    this.y += s.sumY[k]!;
    this.z += s.sumZ[k]!;
    const m = s.mean[k]!;
    if (m >= threshold) {
      this.volume += m;
      this.excitable++;
    }
  }
  cog(): Mni | null {
    return this.n > 0 && this.a !== 0 ? [this.ax / this.a, this.ay / this.a, this.az / this.a] : null;
  }
  cogUnweighted(): Mni | null {
    return this.n > 0 ? [this.x / this.n, this.y / this.n, this.z / this.n] : null;
  }
}

type Scope = "all" | "left" | "right";
const SCOPES: readonly Scope[] = ["all", "left", "right"];

/** The three scopes' tallies and areas of a multiset of sites (`drawn`, site ids with repeats). */
function evaluate(s: Sites, drawn: ArrayLike<number>, r: Resolved, withArea = true): Record<Scope, { tally: Tally; area: number }> {
  const out = { all: { tally: new Tally(), area: 0 }, left: { tally: new Tally(), area: 0 }, right: { tally: new Tally(), area: 0 } };
  for (let t = 0; t < drawn.length; t++) {
    const k = drawn[t]!;
    out.all.tally.add(s, k, r.threshold);
    (s.left[k] ? out.left : out.right).tally.add(s, k, r.threshold);
  }
  if (r.gridMm !== null) {
    for (const scope of SCOPES) out[scope].area = out[scope].tally.excitable * r.gridMm * r.gridMm;
  } else if (withArea) {
    const cs: Mni[] = [];
    const vs: number[] = [];
    for (let t = 0; t < drawn.length; t++) {
      for (const i of s.traces[drawn[t]!]!) {
        cs.push(s.coords[i]!);
        vs.push(s.values[i]!);
      }
    }
    const areas = projectionArea(cs, vs, r.threshold, r.smooth);
    out.all.area = areas.all;
    out.left.area = areas.left;
    out.right.area = areas.right;
  }
  return out;
}

function scopeStats(s: Sites, ids: number[], tally: Tally, area: number, r: Resolved, ci: StatsIntervals | null): ScopeStats {
  let hotspot = -1;
  for (const k of ids) if (hotspot < 0 || s.mean[k]! > s.mean[hotspot]!) hotspot = k;
  const cog = tally.cog();
  let spread: number | null = null;
  if (cog && tally.excitable > 0) {
    let ss = 0;
    for (const k of ids) {
      if (s.mean[k]! < r.threshold) continue;
      const m = s.mni[k]!;
      ss += (m[0] - cog[0]) ** 2 + (m[1] - cog[1]) ** 2 + (m[2] - cog[2]) ** 2;
    }
    spread = Math.sqrt(ss / tally.excitable);
  }
  return {
    traces_used: tally.n,
    sites: ids.length,
    excitable_sites: tally.excitable,
    cog_mni: cog,
    cog_unweighted_mni: tally.cogUnweighted(),
    hotspot_mni: hotspot < 0 ? null : ([...s.mni[hotspot]!] as Mni),
    hotspot_uv: hotspot < 0 ? null : s.mean[hotspot]!,
    volume_uv: tally.volume,
    spread_mm: spread,
    area_mm2: area,
    ci: tally.n > 0 ? ci : null,
  };
}

/** The bootstrap intervals of the three scopes; yields between resamples (every one when each projects the map). */
function* intervals(s: Sites, r: Resolved): Generator<void, Record<Scope, StatsIntervals> | null> {
  const B = r.bootstrap;
  const nSites = s.mni.length;
  if (B === 0 || nSites === 0) return null;
  const random = mulberry32(r.seed);
  const rep = Object.fromEntries(
    SCOPES.map((scope) => [scope, { x: new Float64Array(B), y: new Float64Array(B), z: new Float64Array(B), area: new Float64Array(B), volume: new Float64Array(B) }]),
  ) as Record<Scope, { x: Float64Array; y: Float64Array; z: Float64Array; area: Float64Array; volume: Float64Array }>;
  const all = Int32Array.from({ length: nSites }, (_, k) => k);
  const drawn = new Int32Array(nSites);
  const every = r.gridMm === null && r.areaBootstrap ? 1 : 64;
  for (let b = 0; b < B; b++) {
    if (b > 0 && b % every === 0) yield;
    resampleInto(all, drawn, random);
    const e = evaluate(s, drawn, r, r.areaBootstrap);
    for (const scope of SCOPES) {
      const cog = e[scope].tally.cog();
      const v = rep[scope];
      v.x[b] = cog ? cog[0] : NaN;
      v.y[b] = cog ? cog[1] : NaN;
      v.z[b] = cog ? cog[2] : NaN;
      v.area[b] = e[scope].tally.n > 0 && (r.gridMm !== null || r.areaBootstrap) ? e[scope].area : NaN;
      v.volume[b] = e[scope].tally.n > 0 ? e[scope].tally.volume : NaN;
    }
  }
  const out = {} as Record<Scope, StatsIntervals>;
  for (const scope of SCOPES) {
    const v = rep[scope];
    const ix = percentileInterval(v.x, r.level);
    const iy = percentileInterval(v.y, r.level);
    const iz = percentileInterval(v.z, r.level);
    out[scope] = {
      cog_mni: ix && iy && iz ? [ix, iy, iz] : null,
      area_mm2: percentileInterval(v.area, r.level),
      volume_uv: percentileInterval(v.volume, r.level),
    };
  }
  return out;
}

function openAll(files: unknown): CacheFileBase[] {
  const list = Array.isArray(files) ? files : [files];
  if (list.length === 0) throw new AnalysisError("EANALYSISEMPTY", "files", "no CacheFile given: pass one or more CacheFiles or paths");
  return list.map((f, n) => {
    if (f instanceof CacheFileBase) return f;
    if (typeof f === "string") return new CacheFile(f);
    throw analysisOptionError(Array.isArray(files) ? `files[${n}]` : "files", "a CacheFile or a path to one", f);
  });
}

const STATS_ERRORS: ScaleErrors = {
  option: (option, expected, got) => analysisOptionError(option, expected, got),
  conflict: (option, message) => new AnalysisError("EANALYSISOPTION", option, message),
};

function checkStatsOptions(options: StatsOptions): Resolved & { foo?: (value: number) => number } {
  const r = resolve(options);
  const { foo } = resolveScale(options.transform, options.foo, STATS_ERRORS);
  if (options.ignoreRejected !== undefined && typeof options.ignoreRejected !== "boolean") {
    throw analysisOptionError("ignoreRejected", "true or false", options.ignoreRejected);
  }
  return foo ? { ...r, foo } : r;
}

function* statsWork(files: MapFiles, options: StatsOptions): Generator<void, MapStats> {
  const r = checkStatsOptions(options);
  const cfs = openAll(files);
  let mv: MapValues;
  try {
    mv = yield* mapValuesSteps(cfs, {
      ...(r.foo ? { foo: r.foo } : {}),
      ...(options.ignoreRejected !== undefined ? { ignoreRejected: options.ignoreRejected } : {}),
    });
  } finally {
    // Let go of the files now (not when the event loop turns): another process may want to write them.
    for (const cf of cfs) cf.close();
  }
  return yield* statsOfValues(mv, r, cfs.map((cf) => cf.fname));
}

/** The statistics of a map's values (as mapValues gives them), for the files named; without the area (0) unless `withArea`. */
function* statsOfValues(mv: MapValues, r: Resolved, files: string[], withArea = true): Generator<void, MapStats> {
  const coords: Mni[] = [];
  const values: number[] = [];
  mv.coords.forEach((c, t) => {
    if (c !== null && mniToVoxel(c) !== undefined) {
      coords.push(c);
      values.push(mv.values[t]!);
    }
  });
  if (coords.length === 0) {
    const c = mv.counts;
    throw new AnalysisError(
      "EANALYSISEMPTY",
      "files",
      `no trace can be used: of ${c.total} traces ${c.rejected} are rejected and ${c.dropped} have unusable or outside coordinates${c.rejected > 0 ? "; pass ignoreRejected: false (--include-rejected) to use rejected traces too" : ""}`,
    );
  }
  const s = sitesOf(coords, values, r.siteMm);
  const ids = Array.from({ length: s.mni.length }, (_, k) => k);
  const e = evaluate(s, ids, r, withArea);
  const ci = yield* intervals(s, r);
  const leftIds = ids.filter((k) => s.left[k] === 1);
  const rightIds = ids.filter((k) => s.left[k] === 0);
  return {
    ...scopeStats(s, ids, e.all.tally, e.all.area, r, ci?.all ?? null),
    left: scopeStats(s, leftIds, e.left.tally, e.left.area, r, ci?.left ?? null),
    right: scopeStats(s, rightIds, e.right.tally, e.right.area, r, ci?.right ?? null),
    site_list: ids.map((k) => ({ mni: [...s.mni[k]!] as Mni, mean_uv: s.mean[k]!, traces: s.count[k]!, excitable: s.mean[k]! >= r.threshold })),
    area_method: r.gridMm === null ? "projection" : "grid",
    threshold: r.threshold,
    site_mm: r.siteMm,
    grid_mm: r.gridMm,
    smooth: r.smooth,
    bootstrap: { resamples: r.bootstrap, seed: r.seed, level: r.level, method: "percentile", unit: "site", area: r.gridMm !== null || r.areaBootstrap },
    counts: { ...mv.counts },
    files,
  };
}

/**
 * The statistics of values a map has already read (`mapValues`), without
 * reading the files again and without the area (`area_mm2` 0): what
 * `plotMap`'s `marks` uses, so that its marks come from exactly the traces
 * it draws.
 * @internal
 */
export function statsOfMapValues(mv: MapValues, options: StatsOptions, files: string[]): MapStats {
  return runSync(statsOfValues(mv, checkStatsOptions(options), files, false));
}

/**
 * The motor-map statistics of one or more CacheFiles (see the module's
 * definitions): centre of gravity, sites, hotspot, volume, spread and area,
 * for the whole map and each hemisphere, with bootstrap intervals. Blocks
 * until done; {@link mapStats} is the same without blocking the event loop.
 *
 * @example
 * ```ts
 * const s = mapStatsSync(["S01_R001.hdf5", "S01_R002.hdf5"], { seed: 7 });
 * s.cog_mni;        // [-36.2, -17.9, 55.0]
 * s.ci?.cog_mni;    // [[-37.1, -35.3], [-18.8, -17.0], [54.3, 55.8]]
 * s.hotspot_mni;    // [-37, -18, 54]
 * s.area_mm2;       // 1104
 * mapStatsSync(cf, { gridMm: 10, bootstrap: 0 }).area_mm2; // excitable sites × 100 mm²
 * ```
 * @throws {AnalysisError} `EANALYSISOPTION` for a bad option; `EANALYSISEMPTY` when no trace can be used
 *   (every trace rejected, or no usable coordinates)
 * @throws {PlotError} as {@link mapValues} (transform returning something other than a finite number)
 * @throws the errors of opening the files
 */
export function mapStatsSync(files: MapFiles, options: StatsOptions = {}): MapStats {
  return runSync(statsWork(files, options));
}

/**
 * {@link mapStatsSync} without blocking the event loop for long: the loop
 * turns every 256 traces read and between bootstrap resamples (every one
 * when each resample projects the map, every 64 otherwise); `signal` stops
 * it there (AbortedError).
 *
 * @example
 * ```ts
 * const s = await mapStats("map_session.hdf5", { seed: 1, signal: AbortSignal.timeout(30_000) });
 * console.log(s.cog_mni, s.ci?.area_mm2);
 * ```
 * @throws as {@link mapStatsSync}; {@link AbortedError} when `signal` aborts
 */
export function mapStats(files: MapFiles, options: StatsOptions & { signal?: AbortSignal } = {}): Promise<MapStats> {
  return runAsync(statsWork(files, options), options.signal, "computing the map statistics");
}
