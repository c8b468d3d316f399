/**
 * The `cachefile` command line: offspect's CLI (peek, merge, plot) and what
 * batch users need beyond it (attrs, export, validate, plot-trace, demo).
 *
 * Exit codes: 0 success, 1 a user error (one line on stderr), 2 a usage
 * error (an unknown option, a missing argument, a value that is malformed
 * or out of its range).
 * @module
 */
import { interruptedExit } from "./interrupt.js";
import { readFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { CacheFileError } from "../base/errors.js";
import { DISPLAY_MODES as MAP_DISPLAY_MODES } from "../map/index.js";
import { MAX_SMOOTH } from "../map/project.js";
import { type ArtifactThreshold, parseThreshold } from "../recordings/artifact.js";
import { runAttrs } from "./attrs.js";
import { runDemo } from "./demo.js";
import { runExport } from "./export.js";
import { runMerge } from "./merge.js";
import { runPeek } from "./peek.js";
import { runPlot } from "./plot.js";
import { runPlotTrace } from "./plottrace.js";
import { addReviewCommand } from "./review.js";
import { runValidate } from "./validate.js";

/** A user error: printed as one line, exit code 1. */
export class UserError extends Error {}

/** A usage error found after parsing: printed as one line, exit code 2. */
export class UsageError extends Error {}

/**
 * A parser of a number option: a finite number, within [min, max] where
 * given (`open` leaves min itself out); anything else is a usage error.
 */
function number(name: string, range: { min?: number; max?: number; open?: boolean; what?: string } = {}) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got ${JSON.stringify(value)}`);
    const { min, max, open } = range;
    if ((min !== undefined && (open ? n <= min : n < min)) || (max !== undefined && n > max)) {
      const span =
        range.what ?? (min !== undefined && max !== undefined ? `from ${min} to ${max}` : min !== undefined ? (open ? `above ${min}` : `at least ${min}`) : `at most ${max}`);
      throw new InvalidArgumentError(`${name} must be ${span}, got ${value}`);
    }
    return n;
  };
}

/** `LOW,HIGH` with LOW < HIGH, or the words auto and offspect. */
function ylim(value: string): [number, number] | "auto" | "offspect" {
  if (value === "auto" || value === "offspect") return value;
  const parts = value.split(",").map((p) => p.trim());
  const [lo, hi] = parts.map(Number) as [number, number];
  if (parts.length !== 2 || parts.some((p) => p === "") || !Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi)) {
    throw new InvalidArgumentError(`ylim must be LOW,HIGH in µV with LOW < HIGH (e.g. -200,200), auto or offspect, got ${JSON.stringify(value)}`);
  }
  return [lo, hi];
}

/** This package's own version, from the package.json next to the built module (never the caller's project). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: unknown };
  if (typeof pkg.version !== "string") throw new Error("package.json has no version");
  return pkg.version;
}

/** An artifact threshold: µV or robust standard deviations (parseThreshold's forms). */
function threshold(value: string): ArtifactThreshold {
  try {
    return parseThreshold(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
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
    .version(packageVersion())
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();

  program
    .command("peek")
    .description("print the origins, their attributes and trace counts (offspect's peek)")
    .argument("<file>", "a CacheFile (.hdf5)")
    .addOption(
      new Option("-s, --similarity <threshold>", "warn about traces sharing an id whose Pearson r exceeds the threshold (-1 to 1) in absolute value").argParser(
        number("threshold", { min: -1, max: 1, what: "from -1 to 1 (a correlation)" }),
      ),
    )
    .option("--all", "with -s, list every similar pair (by default a summary follows the first ones when there are many)")
    .action((file: string, opts: { similarity?: number; all?: boolean }) => runPeek(file, opts));

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
    .addOption(new Option("--smooth <fwhm>", `Gaussian smoothing FWHM in mm, 0 to ${MAX_SMOOTH}`).argParser(number("smooth", { min: 0, max: MAX_SMOOTH })).default(12.5))
    .addOption(
      new Option("--vmax <uv>", "upper end of the colour scale, in µV peak to peak also with --log and --threshold (default: the data maximum)").argParser(
        number("vmax", { min: 0, open: true }),
      ),
    )
    .option("--title <text>", "a title in the upper left corner", "")
    .option("--no-colorbar", "leave out the colour bar")
    .option("--log", "plot log10(Vpp + 1) instead of Vpp (colour bar ticks in µV)")
    .addOption(new Option("--threshold <uv>", "plot 1 where Vpp exceeds the threshold in µV, else 0").argParser(number("threshold", { min: 0 })))
    .option("--include-rejected", "include traces flagged for rejection")
    .option("--mark <names>", "mark the map's centre of gravity and hotspot on every view: cog, hotspot or cog,hotspot")
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
    .command("annotate")
    .description("measure every trace's MEP (peaks, zero crossing, onset, background EMG) and store the peaks where nobody annotated yet")
    .argument("<files...>", "CacheFiles (.hdf5)")
    .option("--dry-run", "measure and report, write nothing")
    .option("--overwrite", "also replace peak values a person set")
    .addOption(new Option("--method <method>", "how the onset latency is found").choices(["threshold", "cusum"]).default("threshold"))
    .option("--window <start,end>", "peak window in ms after the pulse", "15,120")
    .option("--baseline <start,end>", "pre-stimulus baseline in ms relative to the pulse", "-100,-5")
    .addOption(new Option("--k <factor>", "onset criterion: k baseline SDs (threshold) or k x the baseline CUSUM range (cusum)").argParser(number("k")).default(3))
    .addOption(new Option("--mep-threshold <uv>", "peak-to-peak amplitude from which an MEP is present").argParser(number("mep-threshold")).default(50))
    .addOption(new Option("--background-threshold <uv>", "baseline RMS above which the muscle is active").argParser(number("background-threshold")).default(20))
    .option("--reject-background", "set reject on written traces with active background EMG")
    .option("--channel <label|index>", "the channel to measure (default: channel_of_interest)")
    .option("--json", "print one JSON array, one object per trace")
    .option("--csv", "print CSV, one row per trace")
    .action(async (files: string[], opts) => (await import("./annotate.js")).runAnnotate(files, opts));

  program
    .command("stats")
    .description("the motor-map numbers: centre of gravity, hotspot, sites, volume, area, spread, per hemisphere, with bootstrap intervals")
    .argument("<files...>", "CacheFiles (.hdf5)")
    .option("--json", "print one JSON object")
    .option("--csv", "print CSV, one row per scope (all, left, right)")
    .addOption(new Option("--threshold <uv>", "a site is excitable when its mean amplitude is at least this").argParser(number("threshold")).default(50))
    .addOption(new Option("--site-mm <mm>", "coordinates rounded to multiples of this form a site").argParser(number("site-mm")).default(1))
    .addOption(new Option("--grid <mm>", "grid spacing: area = excitable sites x mm² (default: area on the map's projection)").argParser(number("grid")))
    .addOption(new Option("--smooth <fwhm>", "smoothing of the projection area, FWHM in mm").argParser(number("smooth")).default(12.5))
    .addOption(new Option("--bootstrap <n>", "bootstrap resamples of the sites (0: no intervals)").argParser(integer("bootstrap")).default(1000))
    .addOption(new Option("--seed <s>", "seed of the bootstrap").argParser(number("seed")).default(0))
    .addOption(new Option("--level <p>", "confidence level of the intervals").argParser(number("level")).default(0.95))
    .option("--no-area-ci", "do not resample the projection area (one projection per resample)")
    .option("--log", "use log10(Vpp + 1) instead of Vpp, as plot --log")
    .option("--include-rejected", "include traces flagged for rejection")
    .action(async (files: string[], opts) => (await import("./stats.js")).runStats(files, opts));

  program
    .command("import")
    .description("cut a recording (.xdf, .vhdr, .edf, .bdf) into a CacheFile: a trace around each pulse, with coordinates and intensities")
    .argument("<recording>", "the recording: XDF, BrainVision .vhdr, EDF(+) or BDF(+)")
    .argument("[coords]", "coordinates: Localite TriggerMarker .xml or Brainsight .txt export")
    .requiredOption("-o, --output <file>", "the CacheFile to write (.hdf5, replaced if it exists)")
    .requiredOption("-c, --channel <label>", "the channel of interest as cachefile inspect lists it (an XDF channel without a label: its index, 0, 1, ...; repeatable: more channels per trace)", collect)
    .addOption(new Option("--pre <ms>", "milliseconds before each pulse").argParser(number("pre", { min: 0 })).default(100))
    .addOption(new Option("--post <ms>", "milliseconds after each pulse").argParser(number("post", { min: 0 })).default(100))
    .option("-e, --event <name>", "the event marking a pulse: a marker's description (S  1), an annotation, a trigger channel's value (1), an XDF marker, an --events file's name (default for XDF: Localite's pulses)")
    .option("--event-stream <name|id>", "XDF: the marker stream holding the event (needed where several have it)")
    .option("--stream <name|id>", "XDF: the data stream holding the channels (needed where several streams have the channel)")
    .option("--stim <channel>", "EDF/BDF: the trigger channel whose value --event is (default: a channel named Status, Trigger, ... where no annotation is that event)")
    .option("--no-stim", "EDF/BDF: take --event from the annotations only, never from a trigger channel")
    .option("--events <file>", "the pulses from a CSV/TSV file: a column \"sample\" (0-based) or \"time\" (s from the first sample), optionally \"name\" (picked by --event)")
    .option("--artifact <channel>", "find the pulses from the TMS artifact on this channel (prints how many it found and their intervals)")
    .addOption(new Option("--threshold <jump>", "--artifact: the jump from one sample to the next that marks a pulse: µV (500, 500uV) or robust standard deviations (30sd, the default)").argParser(threshold))
    .addOption(new Option("--refractory <ms>", "--artifact: milliseconds after a pulse in which no other is found (default 100)").argParser(number("refractory", { min: 0 })))
    .option("--allow-non-voltage", "cut channels whose unit is not a voltage too, storing their values in that unit (not µV)")
    .addOption(new Option("-r, --readout <readout>", "the readout").choices(["cmep", "imep", "pdmep", "erp"]).default("cmep"))
    .addOption(new Option("--pair <mode>", "pair the coordinates with the pulses by time or by order").choices(["time", "order"]).default("time"))
    .addOption(new Option("--tolerance <ms>", "pairing by time: the largest difference between a recorded and a logged pulse").argParser(number("tolerance", { min: 0 })))
    .option("--subject <id>", "the subject")
    .option("--subtract-baseline", "subtract each trace's pre-event mean (as offspect's XDF cmep readin)")
    .option("--drop-incomplete", "leave out pulses whose window does not fit in the recording (each one is listed)")
    .option("--annotate", "annotate the traces right away (as cachefile annotate)")
    .action(async (recording: string, coords: string | undefined, opts) => (await import("./import.js")).runImport(recording, coords, opts));

  program
    .command("inspect")
    .description("list a recording's streams, channels and events (markers, annotations, trigger values), to choose --channel and --event for import")
    .argument("<recording>", "the recording: XDF, BrainVision .vhdr, EDF(+) or BDF(+)")
    .option("--stim <channel>", "EDF/BDF: also decode this trigger channel (channels named Status, Trigger, ... are decoded anyway)")
    .option("--json", "print JSON")
    .action(async (recording: string, opts: { json?: boolean; stim?: string }) => (await import("./inspect.js")).runInspect(recording, opts));

  program
    .command("plot-trace")
    .description("draw one trace (a channel against time, the event marked) as a PNG, as offspect's plot_trace")
    .argument("<file>", "a CacheFile (.hdf5)")
    .argument("<index>", "the trace index, 0-based", integer("index"))
    .requiredOption("-o, --output <png>", "the PNG file to write")
    .option("--channel <channel>", "the channel, by label or 0-based index (default: the channel of interest)")
    .addOption(new Option("--ylim <low,high>", "the y axis in µV, e.g. -200,200; auto (default) fits the trace, offspect is -200,200").argParser(ylim))
    .option("--title <text>", "a title above the plot", "")
    .action((file: string, index: number, opts: { output: string; channel?: string; ylim?: [number, number] | "auto" | "offspect"; title: string }) =>
      runPlotTrace(file, index, opts),
    );

  addReviewCommand(program);

  program
    .command("demo")
    .description("write an example session (two runs of synthetic MEPs around a hotspot), peek, merge and map it")
    .option("-o, --output <dir>", "directory to write into (made if missing)", "cachefile-demo")
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
