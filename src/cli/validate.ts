import { CacheFile } from "../cachefile.js";
import { validate } from "../readouts.js";
import { UserError } from "./program.js";

/** `cachefile validate FILE...`: every problem in every trace; exit 1 if any. */
export function runValidate(files: string[]): void {
  let problems = 0;
  let traces = 0;
  for (const file of files) {
    const cf = new CacheFile(file);
    for (let i = 0; i < cf.length; i++) {
      const found = validate(cf.getTraceAttrs(i));
      if (found.length > 0) traces++;
      for (const p of found) process.stdout.write(`${cf.fname}:${i}: ${p.message}\n`);
      problems += found.length;
    }
  }
  if (problems > 0) throw new UserError(`${problems} problem${problems === 1 ? "" : "s"} in ${traces} trace${traces === 1 ? "" : "s"}`);
  process.stdout.write(`${files.length === 1 ? "the file is" : `all ${files.length} files are`} valid\n`);
}
