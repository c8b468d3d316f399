/**
 * The `cachefile` command line: offspect's CLI (peek, merge, plot) and what
 * batch users need beyond it (attrs, export, validate, demo).
 *
 * Exit codes: 0 success, 1 a user error (one line on stderr), 2 a usage error.
 * @module
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { CacheFileError } from "../errors.js";
import { DISPLAY_MODES as MAP_DISPLAY_MODES } from "../map/index.js";
import { runAttrs } from "./attrs.js";
import { runDemo } from "./demo.js";
import { runExport } from "./export.js";
import { runMerge } from "./merge.js";
import { runPeek } from "./peek.js";
import { runPlot } from "./plot.js";
import { runValidate } from "./validate.js";

/** A user error: printed as one line, exit code 1. */
export class UserError extends Error {}

/** A usage error found after parsing: printed as one line, exit code 2. */
export class UsageError extends Error {}

function number(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got ${JSON.stringify(value)}`);
    return n;
  };
}

function integer(name: string) {
  return (value: string): number => {
    if (!/^[0-9]+$/.test(value.trim())) throw new InvalidArgumentError(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
    return Number(value);
  };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

const DISPLAY_MODES = [...MAP_DISPLAY_MODES];

export function buildProgram(): Command {
  const program = new Command("cachefile")
    .description("Inspect, annotate, merge and map offspect CacheFiles (HDF5) of TMS/EMG evoked potentials")
    .version(process.env["npm_package_version"] ?? "0.1.0")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();

  program
    .command("peek")
    .description("print the origins, their attributes and trace counts (offspect's peek)")
    .argument("<file>", "a CacheFile (.hdf5)")
    .addOption(
      new Option("-s, --similarity <threshold>", "warn about traces sharing an id whose Pearson r exceeds the threshold in absolute value").argParser(
        number("threshold"),
      ),
    )
    .action((file: string, opts: { similarity?: number }) => runPeek(file, opts));

  program
    .command("merge")
    .description("merge CacheFiles into one (atomic; sources are never modified)")
    .requiredOption("-t, --to <target>", "the file to write (replaced if it exists)")
    .requiredOption("-f, --from <sources...>", "the files to merge")
    .option("-v, --verbose", "print the peek of the result")
    .action((opts: { to: string; from: string[]; verbose?: boolean }) => runMerge(opts));

  program
    .command("plot")
    .description("render the motor map of one or more CacheFiles as a PNG")
    .argument("<files...>", "CacheFiles (.hdf5)")
    .requiredOption("-o, --output <png>", "the PNG file to write")
    .addOption(new Option("--display-mode <mode>", "views to draw").choices(DISPLAY_MODES).default("z"))
    .addOption(new Option("--smooth <fwhm>", "Gaussian smoothing FWHM in mm").argParser(number("smooth")).default(12.5))
    .addOption(new Option("--vmax <value>", "upper end of the colour scale in µV (default: the data maximum)").argParser(number("vmax")))
    .option("--title <text>", "a title in the upper left corner", "")
    .option("--no-colorbar", "leave out the colour bar")
    .option("--log", "plot log10(Vpp + 1) instead of Vpp")
    .addOption(new Option("--threshold <uv>", "plot 1 where Vpp exceeds the threshold, else 0").argParser(number("threshold")))
    .option("--include-rejected", "include traces flagged for rejection")
    .action((files: string[], opts) => runPlot(files, opts));

  program
    .command("attrs")
    .description("show one trace's attributes decoded, or set them (checked as setTraceAttrs does)")
    .argument("<file>", "a CacheFile (.hdf5)")
    .argument("<index>", "the trace index, 0-based", integer("index"))
    .option("--set <key=value>", "set an attribute (repeatable); the value is read as YAML and stored as offspect encodes it", collect)
    .option("--json", "print the decoded attributes as JSON")
    .action((file: string, index: number, opts: { set?: string[]; json?: boolean }) => runAttrs(file, index, opts));

  program
    .command("export")
    .description("every trace's attributes, one row per trace with its index and origin, decoded (streams)")
    .argument("<file>", "a CacheFile (.hdf5)")
    .addOption(new Option("--format <format>", "output format").choices(["csv", "json"]).default("csv"))
    .option("-o, --output <file>", "write to a file instead of stdout")
    .action((file: string, opts: { format: "csv" | "json"; output?: string }) => runExport(file, opts));

  program
    .command("validate")
    .description("report every readout-validation problem in every trace; exit 1 if there is any")
    .argument("<files...>", "CacheFiles (.hdf5)")
    .action((files: string[]) => runValidate(files));

  program
    .command("demo")
    .description("write an example session (two runs of synthetic MEPs around a hotspot), peek, merge and map it")
    .option("-o, --output <dir>", "directory to write into", "cachefile-demo")
    .action((opts: { output: string }) => runDemo(opts.output));

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
  const program = buildProgram();
  program.configureOutput({
    writeErr: (s) => process.stderr.write(s),
    writeOut: (s) => process.stdout.write(s),
  });
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
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
