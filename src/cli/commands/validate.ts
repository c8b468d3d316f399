import { OffspectCacheFile as CacheFile } from "../../cachefile/index.js";
import { CacheFileError } from "../../base/errors.js";
import { validate } from "../../cachefile/readouts.js";
import { UserError } from "../errors.js";
import type { Command } from "commander";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * `cachefile validate FILE...`: every problem in every trace of every file,
 * as `FILE:INDEX: message`; a file that cannot be read gets one line
 * (`FILE: cannot be read: ...`) and the others are still checked. Exit 1
 * at the end if anything was found.
 */
export function runValidate(files: string[]): void {
  let problems = 0;
  let traces = 0;
  let unreadable = 0;
  for (const file of files) {
    try {
      const cf = new CacheFile(file);
      for (let i = 0; i < cf.length; i++) {
        const found = validate(cf.getTraceAttrs(i));
        if (found.length > 0) traces++;
        for (const p of found) process.stdout.write(`${cf.fname}:${i}: ${p.message}\n`);
        problems += found.length;
      }
    } catch (e) {
      if (!(e instanceof CacheFileError)) throw e;
      unreadable++;
      process.stdout.write(`${file}: cannot be read: ${e.message.split("\n")[0]}\n`);
    }
  }
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
      .action((files: string[]) => runValidate(files));;
}
