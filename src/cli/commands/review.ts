/**
 * `cachefile review FILE... [--port N] [--host H] [--open]`: serves the
 * review page (src/review/, loaded only when the command runs) and prints
 * one line, `review: http://127.0.0.1:PORT/#token=TOKEN`, on stdout; serves
 * until Ctrl-C (SIGINT) or SIGTERM, then waits for a write under way and
 * exits 0.
 * @module
 */
import { spawn } from "node:child_process";
import { type Command, InvalidArgumentError } from "commander";

/** The port the command serves on unless told otherwise. */
export const DEFAULT_PORT = 8765;

function port(value: string): number {
  if (!/^[0-9]{1,5}$/.test(value.trim()) || Number(value) > 65535) throw new InvalidArgumentError(`port must be 0 to 65535 (0: a free one), got ${JSON.stringify(value)}`);
  return Number(value);
}

/** Opens `url` in the desktop's browser, if there is one; says so when not. */
function openBrowser(url: string): void {
  const command = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  const child = spawn(command, [url], { stdio: "ignore", detached: true });
  child.on("error", () => process.stderr.write(`warning: could not start a browser (${command}): open the URL yourself\n`));
  child.unref();
}

/** Resolves on the first SIGINT or SIGTERM. */
function interrupted(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(signal);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}

/**
 * Serves the review until interrupted: `cachefile review S01.hdf5 --port 0`.
 * @example
 * ```ts
 * await runReview(["S01.hdf5"], { port: 0 }); // prints "review: http://127.0.0.1:PORT/#token=...", returns after Ctrl-C
 * ```
 * @throws the errors of startReview (ReviewError EREVIEWLISTEN for a port in use, FileNotFoundError, ...)
 */
export async function runReview(files: string[], opts: { port: number; host?: string; open?: boolean }): Promise<void> {
  const { startReview } = await import("../../review/index.js");
  const review = await startReview(files, { port: opts.port, ...(opts.host !== undefined ? { host: opts.host } : {}) });
  const stop = interrupted();
  for (const d of review.duplicates) process.stderr.write(`warning: ${d} was given more than once: it is reviewed once\n`);
  if (opts.host !== undefined && !["127.0.0.1", "localhost", "::1"].includes(opts.host)) {
    process.stderr.write(`warning: listening on ${opts.host}: whoever reaches it and has the token can change the files; prefer the default (127.0.0.1) with ssh -L\n`);
  }
  process.stdout.write(`review: ${review.url}\n`);
  if (opts.open) openBrowser(review.url);
  await stop;
  await review.close();
}

/**
 * Adds the `review` command to the program (its module is loaded only when it runs).
 * @example
 * ```ts
 * const program = new Command("cachefile");
 * register(program);
 * ```
 */
export function register(program: Command): void {
  program
    .command("review")
    .description("review traces in the browser: a local page to look at every trace, reject, and set peaks (serves until Ctrl-C)")
    .argument("<files...>", "CacheFiles (.hdf5)")
    .option("--port <n>", `the port (0: a free one)`, port, DEFAULT_PORT)
    .option("--host <host>", "listen on another address than 127.0.0.1 (prints a warning; prefer ssh -L)")
    .option("--open", "open the page in the desktop's browser")
    .action((files: string[], opts: { port: number; host?: string; open?: boolean }) => runReview(files, opts));
}
