/**
 * The `cachefile` command line: offspect's CLI (peek, merge, plot) and what
 * batch users need beyond it (attrs, export, validate, annotate, stats,
 * import, inspect, plot-trace, review, demo).
 *
 * Each command is a module of its own (`commands/NAME.ts`: its options and
 * its action), loaded only when it runs: `cachefile peek` loads neither the
 * maps nor the recordings, `cachefile --version` none of them. Help lists
 * every command, and loads them all.
 *
 * The batch commands annotate, validate and peek take `--jobs N`: N files
 * at once, the output and exit code of one file after the other (see
 * ./jobs.ts and ../base/pool.ts).
 *
 * Exit codes: 0 success, 1 a user error (one line on stderr), 2 a usage
 * error (an unknown option, a missing argument, a value that is malformed
 * or out of its range), 130 / 143 interrupted (SIGINT / SIGTERM).
 * @module
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { CacheFileError } from "../base/errors.js";
import { UsageError, UserError } from "./errors.js";
import { interruptedExit } from "./interrupt.js";

/** Each command's module, by name, in the order help lists them. */
const COMMANDS: Record<string, () => Promise<{ register(program: Command): void }>> = {
  peek: () => import("./commands/peek.js"),
  merge: () => import("./commands/merge.js"),
  plot: () => import("./commands/plot.js"),
  attrs: () => import("./commands/attrs.js"),
  export: () => import("./commands/export.js"),
  validate: () => import("./commands/validate.js"),
  annotate: () => import("./commands/annotate.js"),
  stats: () => import("./commands/stats.js"),
  import: () => import("./commands/import.js"),
  inspect: () => import("./commands/inspect.js"),
  "plot-trace": () => import("./commands/plot-trace.js"),
  review: () => import("./commands/review.js"),
  demo: () => import("./commands/demo.js"),
};

/** This package's own version, from the package.json next to the built module (never the caller's project). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: unknown };
  if (typeof pkg.version !== "string") throw new Error("package.json has no version");
  return pkg.version;
}

/**
 * The program, with the commands `argv` may run: the one it names, none
 * for `--version`, every one otherwise (help, a mistyped name).
 */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command("cachefile")
    .description("Inspect, annotate, merge and map offspect CacheFiles (HDF5) of TMS/EMG evoked potentials")
    .version(packageVersion())
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  const first = argv[0];
  const names = first === "--version" || first === "-V" ? [] : first !== undefined && Object.hasOwn(COMMANDS, first) ? [first] : Object.keys(COMMANDS);
  for (const name of names) (await COMMANDS[name]!()).register(program);
  return program;
}

/** One line for stderr: the message's first line. */
function oneLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n")[0]!.trim();
}

/**
 * Runs the CLI and returns the exit code (0, 1 or 2). Output goes to
 * process.stdout / process.stderr.
 */
export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
  program.configureOutput({
    writeErr: (s) => process.stderr.write(s),
    writeOut: (s) => process.stdout.write(s),
  });
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    const interrupted = interruptedExit();
    if (interrupted) {
      process.stderr.write(`${interrupted.message}\n`);
      return interrupted.code;
    }
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
      return 2; // commander already printed its one-line message
    }
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${oneLine(e)}\n`);
      return 2;
    }
    if (e instanceof UserError || e instanceof CacheFileError || e instanceof TypeError || e instanceof RangeError) {
      process.stderr.write(`error: ${oneLine(e)}\n`);
      return 1;
    }
    const code = (e as NodeJS.ErrnoException)?.code;
    if (code === "EPIPE") return 0; // the reader of our output went away (e.g. piped into head)
    if (typeof code === "string" && /^E[A-Z]+$/.test(code)) {
      process.stderr.write(`error: ${oneLine(e)}\n`);
      return 1;
    }
    process.stderr.write(`internal error: ${oneLine(e)} (please report this)\n`);
    if (process.env["CACHEFILE_DEBUG"]) process.stderr.write(`${(e as Error)?.stack}\n`);
    return 1;
  }
}
