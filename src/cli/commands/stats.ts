import { stringify } from "csv-stringify/sync";
import { mapStats, type MapStats, type ScopeStats, type StatsOptions } from "../../analysis/stats.js";
import { UsageError } from "../errors.js";
import { type Command, Option } from "commander";
import { integer, number } from "../options.js";

export interface StatsCliOptions {
  json?: boolean;
  csv?: boolean;
  threshold: number;
  siteMm: number;
  grid?: number;
  smooth: number;
  bootstrap: number;
  seed: number;
  level: number;
  areaCi: boolean;
  log?: boolean;
  includeRejected?: boolean;
}

/** The columns of `--csv`: one row per scope (all, left, right). */
export const STATS_COLUMNS = [
  "scope",
  "traces_used",
  "sites",
  "excitable_sites",
  "cog_x",
  "cog_y",
  "cog_z",
  "cog_unweighted_x",
  "cog_unweighted_y",
  "cog_unweighted_z",
  "hotspot_x",
  "hotspot_y",
  "hotspot_z",
  "hotspot_uv",
  "volume_uv",
  "area_mm2",
  "spread_mm",
  "cog_x_low",
  "cog_x_high",
  "cog_y_low",
  "cog_y_high",
  "cog_z_low",
  "cog_z_high",
  "area_low",
  "area_high",
  "volume_low",
  "volume_high",
] as const;

function csvRow(scope: string, s: ScopeStats): (number | string | null)[] {
  const c = s.ci;
  return [
    scope,
    s.traces_used,
    s.sites,
    s.excitable_sites,
    ...(s.cog_mni ?? [null, null, null]),
    ...(s.cog_unweighted_mni ?? [null, null, null]),
    ...(s.hotspot_mni ?? [null, null, null]),
    s.hotspot_uv,
    s.volume_uv,
    s.area_mm2,
    s.spread_mm,
    ...(c?.cog_mni ? c.cog_mni.flat() : [null, null, null, null, null, null]),
    ...(c?.area_mm2 ?? [null, null]),
    ...(c?.volume_uv ?? [null, null]),
  ];
}

const f = (v: number | null | undefined, d = 1) => (v === null || v === undefined ? "-" : v.toFixed(d));
const xyz = (v: readonly number[] | null) => (v ? `(${v.map((x) => f(x)).join(", ")})` : "-");
const pair = (v: readonly [number, number] | null | undefined, d = 1) => (v ? ` [${f(v[0], d)}, ${f(v[1], d)}]` : "");

function text(s: MapStats, log: boolean): string {
  const lines: string[] = [];
  // The values are Vpp in µV, or log10(Vpp + 1) with --log (no unit then).
  const unit = log ? " (log10(µV + 1))" : " µV";
  const level = `${Math.round(s.bootstrap.level * 100)}%`;
  const scope = (name: string, x: ScopeStats) => {
    const c = x.ci;
    const cog = c?.cog_mni ? ` [${c.cog_mni.map((p) => `${f(p[0])}..${f(p[1])}`).join(", ")}]` : "";
    lines.push(`${name}: ${x.traces_used} traces at ${x.sites} sites, ${x.excitable_sites} excitable (mean >= ${s.threshold}${unit})`);
    if (x.traces_used === 0) return;
    lines.push(`  CoG (amplitude-weighted) ${xyz(x.cog_mni)} mm${cog}`);
    lines.push(`  CoG (unweighted)         ${xyz(x.cog_unweighted_mni)} mm`);
    lines.push(`  hotspot                  ${xyz(x.hotspot_mni)} mm, ${f(x.hotspot_uv)}${unit}`);
    lines.push(`  volume                   ${f(x.volume_uv)}${unit}${pair(c?.volume_uv)} (the sum of the excitable sites' means)`);
    const method = s.area_method === "grid" ? `grid ${s.grid_mm} mm` : `projection, FWHM ${s.smooth} mm`;
    lines.push(`  area                     ${f(x.area_mm2)} mm²${pair(c?.area_mm2)} (${method})`);
    lines.push(`  spread                   ${f(x.spread_mm)} mm`);
  };
  scope("map", s);
  scope("left (x < 0)", s.left);
  scope("right (x >= 0)", s.right);
  if (s.bootstrap.resamples > 0) lines.push(`[...]: ${level} percentile bootstrap intervals, ${s.bootstrap.resamples} resamples of the sites, seed ${s.bootstrap.seed}`);
  return `${lines.join("\n")}\n`;
}

/** JSON with non-finite numbers as null (JSON has no NaN). */
function json(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 1);
}

/**
 * `cachefile stats FILE... [--json | --csv] [--threshold 50] [--site-mm 1]
 * [--grid MM] [--bootstrap N] [--seed S]`: the motor-map numbers of the
 * files (mapStats), as text, one JSON object, or CSV rows per scope.
 */
export async function runStats(files: string[], opts: StatsCliOptions): Promise<void> {
  if (opts.json && opts.csv) throw new UsageError("--json and --csv exclude each other; pick one");
  if (!Number.isInteger(opts.bootstrap)) throw new UsageError(`--bootstrap expects a whole number of resamples, got ${opts.bootstrap}`);
  if (!Number.isInteger(opts.seed)) throw new UsageError(`--seed expects an integer, got ${opts.seed}`);
  const options: StatsOptions = {
    threshold: opts.threshold,
    siteMm: opts.siteMm,
    smooth: opts.smooth,
    bootstrap: opts.bootstrap,
    seed: opts.seed,
    level: opts.level,
    areaBootstrap: opts.areaCi,
    ignoreRejected: !opts.includeRejected,
    ...(opts.grid !== undefined ? { gridMm: opts.grid } : {}),
    ...(opts.log ? { transform: "log" as const } : {}),
  };
  const s = await mapStats(files, options);
  if (opts.json) process.stdout.write(`${json(s)}\n`);
  else if (opts.csv) {
    process.stdout.write(stringify([[...STATS_COLUMNS], csvRow("all", s), csvRow("left", s.left), csvRow("right", s.right)]));
  } else process.stdout.write(text(s, opts.log === true));
}

/** Declares `cachefile stats`: its arguments, options and action. */
export function register(program: Command): void {
  program
    .command("stats")
      .description("the motor-map numbers: centre of gravity, hotspot, sites, volume, area, spread, per hemisphere, with bootstrap intervals")
      .argument("<files...>", "CacheFiles (.hdf5)")
      .option("--json", "print one JSON object")
      .option("--csv", "print CSV, one row per scope (all, left, right)")
      .addOption(new Option("--threshold <uv>", "a site is excitable when its mean amplitude is at least this").argParser(number("threshold")).default(50))
      .addOption(new Option("--site-mm <mm>", "coordinates rounded to multiples of this form a site").argParser(number("site-mm")).default(1))
      .addOption(new Option("--grid <mm>", "grid spacing: area = excitable sites x mm² (default: area on the map's projection)").argParser(number("grid")))
      .addOption(new Option("--smooth <fwhm>", "smoothing of the projection area, FWHM in mm").argParser(number("smooth")).default(12.5))
      .addOption(new Option("--bootstrap <n>", "bootstrap resamples of the sites (0: no intervals)").argParser(integer("bootstrap")).default(1000))
      .addOption(new Option("--seed <s>", "seed of the bootstrap").argParser(number("seed")).default(0))
      .addOption(new Option("--level <p>", "confidence level of the intervals").argParser(number("level")).default(0.95))
      .option("--no-area-ci", "do not resample the projection area (one projection per resample)")
      .option("--log", "use log10(Vpp + 1) instead of Vpp, as plot --log")
      .option("--include-rejected", "include traces flagged for rejection")
      .action((files: string[], opts) => runStats(files, opts));;
}
