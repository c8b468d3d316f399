import { CacheFile } from "../../cachefile/index.js";
import { type Command, Option } from "commander";
import { jobsOption, number } from "../options.js";
import { eachFile } from "../jobs.js";

/** Up to this many pairs, every warning line is printed (as offspect does); beyond, the first FIRST and a summary. */
const ALL_UP_TO = 100;
const FIRST = 20;
/** IDs listed by name in the summary. */
const IDS_SHOWN = 10;

/**
 * `cachefile peek FILE [-s THRESHOLD [--all]]`: offspect's peek text; with
 * `-s`, a warning line for each pair of traces sharing an id whose processed
 * data correlate with |r| above the threshold (offspect's `peek -s`). A file
 * of many copies of one trace has millions of such pairs: beyond 100, the
 * first 20 lines are followed by the number of pairs per id, and `--all`
 * prints every line. Several files: each one's text in turn (`--jobs`: made
 * at once in worker processes, printed in their order).
 */
export async function runPeek(files: string[], opts: { similarity?: number; all?: boolean; jobs?: number }): Promise<void> {
  const { similarity, all } = opts;
  await eachFile<string>(files, opts.jobs ?? 1, new URL(import.meta.url), "peekText", { ...(similarity !== undefined ? { similarity } : {}), ...(all ? { all } : {}) }, (text) =>
    process.stdout.write(text),
  );
}

/** What `cachefile peek` prints for one file (a worker of `--jobs` runs this too). */
export async function peekText({ file, args: opts }: { file: string; args: { similarity?: number; all?: boolean } }): Promise<string> {
  const cf = new CacheFile(file);
  try {
    return await peekOpened(cf, opts);
  } finally {
    cf.close();
  }
}

async function peekOpened(cf: CacheFile, opts: { similarity?: number; all?: boolean }): Promise<string> {
  let text = "";
  const out = (line: string) => void (text += `${line}\n`);
  out(cf.toString());
  if (opts.similarity === undefined) return text;
  // The preprocessing steps (and their FFT) only for -s.
  const { formatSimilarPair, similarPairs } = await import("../../steps/index.js");
  if (opts.all) {
    for (const pair of similarPairs(cf, opts.similarity)) out(formatSimilarPair(pair));
    return text;
  }
  const held: string[] = [];
  const perId = new Map<string, number>();
  let total = 0;
  for (const pair of similarPairs(cf, opts.similarity)) {
    total++;
    perId.set(pair.id, (perId.get(pair.id) ?? 0) + 1);
    if (held.length < ALL_UP_TO) held.push(formatSimilarPair(pair));
  }
  if (total <= ALL_UP_TO) {
    for (const line of held) out(line);
    return text;
  }
  for (const line of held.slice(0, FIRST)) out(line);
  const ids = [...perId.entries()];
  const listed = ids
    .slice(0, IDS_SHOWN)
    .map(([id, n]) => `ID ${id}: ${n} pair${n === 1 ? "" : "s"}`)
    .join(", ");
  const more = ids.length > IDS_SHOWN ? `, and ${ids.length - IDS_SHOWN} more IDs` : "";
  out(`... ${total - FIRST} more pairs not shown: ${total} similar pairs in all, sharing ${ids.length} ID${ids.length === 1 ? "" : "s"} (${listed}${more})`);
  out("(run with --all to list every pair)");
  return text;
}

/** Declares `cachefile peek`: its arguments, options and action. */
export function register(program: Command): void {
  program
    .command("peek")
      .description("print the origins, their attributes and trace counts (offspect's peek)")
      .argument("<files...>", "CacheFiles (.hdf5)")
      .addOption(
        new Option("-s, --similarity <threshold>", "warn about traces sharing an id whose Pearson r exceeds the threshold (-1 to 1) in absolute value").argParser(
          number("threshold", { min: -1, max: 1, what: "from -1 to 1 (a correlation)" }),
        ),
      )
      .option("--all", "with -s, list every similar pair (by default a summary follows the first ones when there are many)")
      .addOption(jobsOption())
      .action((files: string[], opts: { similarity?: number; all?: boolean; jobs: number }) => runPeek(files, opts));;
}
