/**
 * `--jobs N` of the read-only batch commands (validate, peek): each file's
 * work is a function of a command module that returns what the file
 * prints; with N above 1 and more than one file, this process and N - 1
 * worker processes (see ../base/pool.ts) run it, and the results are printed in the order of the
 * files, each as soon as every file before it is printed: the output is
 * that of `--jobs 1` byte for byte. An error of a file is thrown when its
 * turn comes (what the files before it print is printed first), as
 * `--jobs 1` would; an interrupt (SIGINT, SIGTERM) ends the workers at
 * once (these commands write nothing), and this process once its file is done.
 * @module
 */
import { AbortedError } from "../base/abort.js";
import { builtModule, ProcessPool, type Lane } from "../base/pool.js";
import { interruption } from "./interrupt.js";

/**
 * Runs `fn(file, args)` of `module` (an `import.meta.url`-relative URL of a
 * command module) for every file, `jobs` at a time, and hands each result
 * to `print` in the order of the files.
 */
export async function eachFile<T>(
  files: readonly string[],
  jobs: number,
  module: URL,
  fn: string,
  args: unknown,
  print: (result: T, file: string) => void,
): Promise<void> {
  const what = `working on ${files.length} file(s)`;
  if (jobs <= 1 || files.length <= 1) {
    const local = (await import(module.href)) as Record<string, (a: { file: string; args: unknown }) => T | Promise<T>>;
    for (const file of files) {
      if (interruption.aborted) throw new AbortedError(what, interruption.reason);
      print(await local[fn]!({ file, args }), file);
    }
    return;
  }
  const built = builtModule(module);
  // This process is one of the lanes: `jobs - 1` worker processes.
  const here = (await import(module.href)) as Record<string, (a: unknown) => unknown>;
  const local: Lane = { call: async <R>(_module: string, name: string, a: unknown) => (await here[name]!(a)) as R };
  const pool = new ProcessPool(Math.min(jobs, files.length), local);
  const stop = () => pool.kill();
  interruption.addEventListener("abort", stop);
  const settled: (PromiseSettledResult<T> | undefined)[] = new Array(files.length);
  let printed = 0;
  let failure: { error: unknown } | undefined;
  // Print what is ready, in order; stop at the first error (thrown after the pool is done).
  const flush = () => {
    while (!failure && printed < files.length && settled[printed]) {
      const s = settled[printed]!;
      if (s.status === "rejected") failure = { error: s.reason };
      else print(s.value, files[printed]!);
      printed++;
    }
  };
  try {
    await pool.run(files.length, async (lane, i) => {
      // Past a failure nothing more is printed: the files after it need not be worked on.
      if (failure) return;
      try {
        settled[i] = { status: "fulfilled", value: await lane.call<T>(built, fn, { file: files[i], args }) };
      } catch (e) {
        settled[i] = { status: "rejected", reason: e };
      }
      flush();
    });
    if (interruption.aborted) throw new AbortedError(what, interruption.reason);
    if (failure) throw failure.error;
  } finally {
    interruption.removeEventListener("abort", stop);
    pool.release();
  }
}
