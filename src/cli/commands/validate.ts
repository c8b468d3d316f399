import { OffspectCacheFile as CacheFile } from "../../cachefile/index.js";
import { CacheFileError } from "../../base/errors.js";
import { validate } from "../../cachefile/readouts.js";
import { UserError } from "../errors.js";
import type { Command } from "commander";
import { eachFile } from "../jobs.js";
import { jobsOption } from "../options.js";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** One file's validation: its lines, and what they count. */
export interface FileValidation {
  out: string;
  problems: number;
  traces: number;
  unreadable: number;
}

/** Every problem of one file as `FILE:INDEX: message` lines, or one line if it cannot be read (a worker of `--jobs` runs this too). */
export function validateFile({ file }: { file: string }): FileValidation {
  const r: FileValidation = { out: "", problems: 0, traces: 0, unreadable: 0 };
  try {
    const cf = new CacheFile(file);
    try {
      for (let i = 0; i < cf.length; i++) {
        const found = validate(cf.getTraceAttrs(i));
        if (found.length > 0) r.traces++;
        for (const p of found) r.out += `${cf.fname}:${i}: ${p.message}\n`;
        r.problems += found.length;
      }
    } finally {
      cf.close();
    }
  } catch (e) {
    if (!(e instanceof CacheFileError)) throw e;
    r.unreadable++;
    r.out += `${file}: cannot be read: ${e.message.split("\n")[0]}\n`;
  }
  return r;
}

/**
 * `cachefile validate FILE... [--jobs N]`: every problem in every trace of
 * every file, as `FILE:INDEX: message`; a file that cannot be read gets one
 * line (`FILE: cannot be read: ...`) and the others are still checked. Exit
 * 1 at the end if anything was found. With `--jobs`, files are checked at
 * once in worker processes, and printed in their order.
 */
export async function runValidate(files: string[], opts: { jobs?: number } = {}): Promise<void> {
  let problems = 0;
  let traces = 0;
  let unreadable = 0;
  await eachFile<FileValidation>(files, opts.jobs ?? 1, new URL(import.meta.url), "validateFile", undefined, (r) => {
    process.stdout.write(r.out);
    problems += r.problems;
    traces += r.traces;
    unreadable += r.unreadable;
  });
  const found = [
    ...(problems > 0 ? [`${plural(problems, "problem")} in ${plural(traces, "trace")}`] : []),
    ...(unreadable > 0 ? [`${unreadable} of ${plural(files.length, "file")} could not be read`] : []),
  ];
  if (found.length > 0) throw new UserError(found.join("; "));
  process.stdout.write(`${files.length === 1 ? "the file is" : `all ${files.length} files are`} valid\n`);
}

/** Declares `cachefile validate`: its arguments, options and action. */
export function register(program: Command): void {
  program
    .command("validate")
      .description("report every readout-validation problem in every trace; exit 1 if there is any")
      .argument("<files...>", "CacheFiles (.hdf5)")
      .addOption(jobsOption())
      .action((files: string[], opts: { jobs: number }) => runValidate(files, opts));;
}
