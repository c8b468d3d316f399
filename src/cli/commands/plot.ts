import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import { AnalysisError } from "../../analysis/errors.js";
import { parseMarks, type MarkName } from "../../analysis/marks.js";
import { CacheFile } from "../../cachefile/index.js";
import { TargetFolderError } from "../../base/errors.js";
import { plotMap, type MapOptions } from "../../map/plotmap.js";
import type { DisplayMode } from "../../map/glass.js";
import { UsageError } from "../errors.js";
import { type Command, Option } from "commander";
import { number } from "../options.js";
import { DISPLAY_MODES } from "../../map/glass.js";
import { MAX_SMOOTH } from "../../map/project.js";

export interface PlotCliOptions {
  output: string;
  displayMode: string;
  smooth: number;
  vmax?: number;
  title: string;
  colorbar: boolean;
  log?: boolean;
  threshold?: number;
  includeRejected?: boolean;
  /** `--mark cog,hotspot`: the marks to draw. */
  mark?: string;
}

/** `--mark` text as mark names; an unknown name is a usage error. */
function markNames(text: string | undefined): MarkName[] {
  if (text === undefined) return [];
  const usage = () => new UsageError(`--mark expects names among cog, hotspot (comma-separated, e.g. cog,hotspot), got ${JSON.stringify(text)}`);
  let names: MarkName[];
  try {
    names = parseMarks(text);
  } catch (e) {
    if (e instanceof AnalysisError) throw usage();
    throw e;
  }
  if (names.length === 0) throw usage();
  return names;
}

/** The files, each once (by its real path), and those given again. */
function distinct(files: string[]): { once: string[]; again: string[] } {
  const seen = new Set<string>();
  const once: string[] = [];
  const again: string[] = [];
  for (const f of files) {
    let key: string;
    try {
      key = realpathSync(f);
    } catch {
      key = resolve(f); // opening it reports what is wrong
    }
    if (seen.has(key)) again.push(f);
    else {
      seen.add(key);
      once.push(f);
    }
  }
  return { once, again };
}

/**
 * `cachefile plot FILE... -o MAP.png`: the motor map of the files, written as
 * a PNG; offspect's summary (traces used, rejected, uninspected) and any
 * warning (nothing visibly coloured) on stderr. `--vmax` is in µV peak to
 * peak with `--log` and `--threshold` too. `--mark cog,hotspot` draws the
 * map's centre of gravity and hotspot on every view (computed from the
 * traces the map draws) and prints where they are. A file given more than
 * once is mapped once, with a warning.
 */
export async function runPlot(files: string[], opts: PlotCliOptions): Promise<void> {
  if (opts.log && opts.threshold !== undefined) throw new UsageError("--log and --threshold exclude each other; pick one");
  if (!/\.png$/i.test(opts.output)) throw new UsageError(`--output must name a .png file, got ${JSON.stringify(opts.output)}`);
  const marks = markNames(opts.mark);
  TargetFolderError.check(opts.output);
  const { once, again } = distinct(files);
  for (const f of again) process.stderr.write(`warning: ${f} is given more than once: its traces are counted once\n`);
  const cachefiles = once.map((f) => new CacheFile(f));
  const options: MapOptions = {
    displayMode: opts.displayMode as DisplayMode,
    smooth: opts.smooth,
    colorbar: opts.colorbar,
    title: opts.title,
    ignoreRejected: !opts.includeRejected,
    ...(opts.vmax !== undefined ? { vmax: opts.vmax } : {}),
    ...(opts.log ? { transform: "log" as const } : {}),
    ...(opts.threshold !== undefined ? { transform: { threshold: opts.threshold } } : {}),
    ...(marks.length > 0 ? { marks } : {}),
  };
  const fig = await plotMap(cachefiles, options);
  process.stderr.write(`${fig.summary}\n`);
  for (const warning of fig.warnings) process.stderr.write(`warning: ${warning.replace("lower vmax", "lower --vmax")}\n`);
  const shown = new Map<string, string>();
  for (const m of fig.marks) shown.set(m.name, m.label);
  for (const [name, label] of shown) process.stderr.write(`mark ${name}: ${label}\n`);
  for (const name of marks) {
    if (!shown.has(name)) process.stderr.write(`warning: the ${name} is on none of the views drawn (l and r show one hemisphere each), or the map has no amplitude to place it\n`);
  }
  await fig.toFile(opts.output);
  process.stderr.write(`wrote ${opts.output}\n`);
}

/** Declares `cachefile plot`: its arguments, options and action. */
export function register(program: Command): void {
  program
    .command("plot")
      .description("render the motor map of one or more CacheFiles as a PNG")
      .argument("<files...>", "CacheFiles (.hdf5)")
      .requiredOption("-o, --output <png>", "the PNG file to write")
      .addOption(new Option("--display-mode <mode>", "views to draw").choices([...DISPLAY_MODES]).default("z"))
      .addOption(new Option("--smooth <fwhm>", `Gaussian smoothing FWHM in mm, 0 to ${MAX_SMOOTH}`).argParser(number("smooth", { min: 0, max: MAX_SMOOTH })).default(12.5))
      .addOption(
        new Option("--vmax <uv>", "upper end of the colour scale, in µV peak to peak also with --log and --threshold (default: the data maximum)").argParser(
          number("vmax", { min: 0, open: true }),
        ),
      )
      .option("--title <text>", "a title in the upper left corner", "")
      .option("--no-colorbar", "leave out the colour bar")
      .option("--log", "plot log10(Vpp + 1) instead of Vpp (colour bar ticks in µV)")
      .addOption(new Option("--threshold <uv>", "plot 1 where Vpp exceeds the threshold in µV, else 0").argParser(number("threshold", { min: 0 })))
      .option("--include-rejected", "include traces flagged for rejection")
      .option("--mark <names>", "mark the map's centre of gravity and hotspot on every view: cog, hotspot or cog,hotspot")
      .action((files: string[], opts) => runPlot(files, opts));;
}
