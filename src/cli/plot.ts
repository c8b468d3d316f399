import { CacheFile } from "../cachefile.js";
import { TargetFolderError } from "../errors.js";
import { plotMap, type DisplayMode, type MapOptions } from "../map/index.js";
import { UsageError } from "./program.js";

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
}

/**
 * `cachefile plot FILE... -o MAP.png`: the motor map of the files, written as
 * a PNG; offspect's summary (traces used, rejected, uninspected) and any
 * warning (nothing visibly coloured) on stderr. `--vmax` is in µV peak to
 * peak with `--log` and `--threshold` too.
 */
export async function runPlot(files: string[], opts: PlotCliOptions): Promise<void> {
  if (opts.log && opts.threshold !== undefined) throw new UsageError("--log and --threshold exclude each other; pick one");
  if (!/\.png$/i.test(opts.output)) throw new UsageError(`--output must name a .png file, got ${JSON.stringify(opts.output)}`);
  TargetFolderError.check(opts.output);
  const cachefiles = files.map((f) => new CacheFile(f));
  const options: MapOptions = {
    displayMode: opts.displayMode as DisplayMode,
    smooth: opts.smooth,
    colorbar: opts.colorbar,
    title: opts.title,
    ignoreRejected: !opts.includeRejected,
    ...(opts.vmax !== undefined ? { vmax: opts.vmax } : {}),
    ...(opts.log ? { transform: "log" as const } : {}),
    ...(opts.threshold !== undefined ? { transform: { threshold: opts.threshold } } : {}),
  };
  const fig = await plotMap(cachefiles, options);
  process.stderr.write(`${fig.summary}\n`);
  for (const warning of fig.warnings) process.stderr.write(`warning: ${warning.replace("lower vmax", "lower --vmax")}\n`);
  await fig.toFile(opts.output);
  process.stderr.write(`wrote ${opts.output}\n`);
}
