import { CacheFile } from "../../cachefile/index.js";
import { TargetFolderError } from "../../base/errors.js";
import { plotTrace, type TraceOptions } from "../../map/trace.js";
import { UsageError } from "../errors.js";
import { type Command, InvalidArgumentError, Option } from "commander";
import { integer } from "../options.js";

/**
 * `cachefile plot-trace FILE INDEX -o TRACE.png [--channel C] [--ylim LOW,HIGH]`:
 * one trace as offspect's `plot_trace` draws it, with the y axis fitted to
 * the trace unless `--ylim` says otherwise (`offspect` for -200,200).
 */
export async function runPlotTrace(
  file: string,
  index: number,
  opts: { output: string; channel?: string; ylim?: TraceOptions["ylim"]; title: string },
): Promise<void> {
  if (!/\.png$/i.test(opts.output)) throw new UsageError(`--output must name a .png file, got ${JSON.stringify(opts.output)}`);
  TargetFolderError.check(opts.output);
  const cf = new CacheFile(file);
  const channel = opts.channel === undefined ? undefined : /^[0-9]+$/.test(opts.channel) ? Number(opts.channel) : opts.channel;
  const fig = await plotTrace(cf, index, {
    ...(channel !== undefined ? { channel } : {}),
    ...(opts.ylim !== undefined ? { ylim: opts.ylim } : {}),
    ...(opts.title ? { title: opts.title } : {}),
  });
  await fig.toFile(opts.output);
  process.stderr.write(`wrote ${opts.output}\n`);
}

/** `LOW,HIGH` with LOW < HIGH, or the words auto and offspect. */
function ylim(value: string): [number, number] | "auto" | "offspect" {
  if (value === "auto" || value === "offspect") return value;
  const parts = value.split(",").map((p) => p.trim());
  const [lo, hi] = parts.map(Number) as [number, number];
  if (parts.length !== 2 || parts.some((p) => p === "") || !Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi)) {
    throw new InvalidArgumentError(`ylim must be LOW,HIGH in µV with LOW < HIGH (e.g. -200,200), auto or offspect, got ${JSON.stringify(value)}`);
  }
  return [lo, hi];
}

/** Declares `cachefile plot-trace`: its arguments, options and action. */
export function register(program: Command): void {
  program
    .command("plot-trace")
      .description("draw one trace (a channel against time, the event marked) as a PNG, as offspect's plot_trace")
      .argument("<file>", "a CacheFile (.hdf5)")
      .argument("<index>", "the trace index, 0-based", integer("index"))
      .requiredOption("-o, --output <png>", "the PNG file to write")
      .option("--channel <channel>", "the channel, by label or 0-based index (default: the channel of interest)")
      .addOption(new Option("--ylim <low,high>", "the y axis in µV, e.g. -200,200; auto (default) fits the trace, offspect is -200,200").argParser(ylim))
      .option("--title <text>", "a title above the plot", "")
      .action((file: string, index: number, opts: { output: string; channel?: string; ylim?: [number, number] | "auto" | "offspect"; title: string }) =>
        runPlotTrace(file, index, opts),
      );;
}
