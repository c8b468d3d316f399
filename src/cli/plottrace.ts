import { CacheFile } from "../cachefile/index.js";
import { TargetFolderError } from "../base/errors.js";
import { plotTrace, type TraceOptions } from "../map/index.js";
import { UsageError } from "./program.js";

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
