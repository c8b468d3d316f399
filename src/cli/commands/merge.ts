import { resolve } from "node:path";
import { SingleBar, Presets } from "cli-progress";
import { CacheFile } from "../../cachefile/index.js";
import type { ProgressEvent } from "../../files/build.js";
import { TargetFolderError } from "../../base/errors.js";
import { mergeFiles } from "../../files/merge.js";
import { interruption } from "../interrupt.js";
import { expandUser } from "../../base/paths.js";
import type { Command } from "commander";

/**
 * `cachefile merge -t TARGET -f SOURCE... [-v]`: merges with a progress bar
 * on a terminal; with -v, a line per tenth of the work when stderr is not a
 * TTY, and the peek of the result.
 * A target in a folder that does not exist is refused before anything is
 * read or written, naming the folder.
 */
export async function runMerge(opts: { to: string; from: string[]; verbose?: boolean }): Promise<void> {
  TargetFolderError.check(resolve(expandUser(opts.to)));
  const tty = process.stderr.isTTY === true;
  let bar: SingleBar | undefined;
  let lastTenth = -1;
  const onProgress = (e: ProgressEvent) => {
    if (e.phase === "check") return;
    if (e.phase === "done") {
      bar?.update(e.done);
      bar?.stop();
      if (!tty && opts.verbose) process.stderr.write(`merged ${e.done} traces\n`);
      return;
    }
    if (tty) {
      if (!bar) {
        bar = new SingleBar(
          { format: `merging [{bar}] {percentage}% | {value}/{total} ${e.unit ?? "traces"} | {origin}`, hideCursor: true, stream: process.stderr },
          Presets.shades_classic,
        );
        bar.start(e.total, 0, { origin: e.origin ?? "" });
      }
      bar.update(e.done, { origin: e.origin ?? "" });
    } else if (opts.verbose) {
      const tenth = e.total === 0 ? 10 : Math.floor((10 * e.done) / e.total);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        process.stderr.write(`merging: ${e.done}/${e.total} ${e.unit ?? "traces"}\n`);
      }
    }
  };
  let target: string;
  try {
    target = await mergeFiles(opts.to, opts.from, { onProgress, signal: interruption });
  } finally {
    bar?.stop();
  }
  if (opts.verbose) {
    process.stdout.write("Content of target file is now:\n");
    process.stdout.write(`${new CacheFile(target).toString()}\n`);
  }
}

/** Declares `cachefile merge`: its arguments, options and action. */
export function register(program: Command): void {
  program
    .command("merge")
      .description("merge CacheFiles into one (atomic; sources are never modified)")
      .requiredOption("-t, --to <target>", "the file to write (replaced if it exists)")
      .requiredOption("-f, --from <sources...>", "the files to merge")
      .option("-v, --verbose", "print the peek of the result")
      .action((opts: { to: string; from: string[]; verbose?: boolean }) => runMerge(opts));;
}
