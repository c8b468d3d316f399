import { CacheFile } from "../cachefile.js";
import { formatSimilarPair, similarTraces } from "../steps.js";

/**
 * `cachefile peek FILE [-s THRESHOLD]`: offspect's peek text; with `-s`, a
 * warning line for each pair of traces sharing an id whose processed data
 * correlate with |r| above the threshold (offspect's `peek -s`).
 */
export function runPeek(file: string, opts: { similarity?: number }): void {
  const cf = new CacheFile(file);
  process.stdout.write(`${cf.toString()}\n`);
  if (opts.similarity !== undefined) {
    for (const pair of similarTraces(cf, opts.similarity)) process.stdout.write(`${formatSimilarPair(pair)}\n`);
  }
}
