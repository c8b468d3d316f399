import { Presets, SingleBar } from "cli-progress";
import { annotateFile } from "../../analysis/annotate.js";
import type { ArtifactDetection, ArtifactThreshold } from "../../recordings/artifact.js";
import { type ImportProgress, importRecording } from "../../recordings/import.js";
import type { PairMode } from "../../recordings/pairing.js";
import { type Command, InvalidArgumentError, Option } from "commander";
import { collect, number } from "../options.js";
import { parseThreshold } from "../../recordings/artifact.js";

/** Options of `cachefile import`. */
export interface ImportCliOptions {
  output: string;
  channel: string[];
  pre: number;
  post: number;
  event?: string;
  eventStream?: string;
  stream?: string;
  /** A channel (--stim), false (--no-stim), or undefined. */
  stim?: string | false;
  events?: string;
  artifact?: string;
  threshold?: ArtifactThreshold;
  refractory?: number;
  allowNonVoltage?: boolean;
  readout: string;
  pair: PairMode;
  tolerance?: number;
  subject?: string;
  subtractBaseline?: boolean;
  dropIncomplete?: boolean;
  annotate?: boolean;
}

/** "1 trace", "2 traces". */
function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * What the artifact detector found, in one line: the count, the threshold, the intervals (so a wrong threshold shows at once).
 * @example
 * ```ts
 * formatDetection(result.artifact!, result.samplingRate);
 * // "found 8 pulses in FDI_L (jumps above 30 σ = 346.9 µV, 100 ms apart at least); intervals 4.350 to 4.850 s, median 4.500 s: 4.50 4.45 ..."
 * ```
 */
export function formatDetection(d: ArtifactDetection, rate: number): string {
  const t = d.samples.map((s) => s / rate);
  const iv = t.slice(1).map((x, i) => x - t[i]!);
  const threshold = "sd" in d.threshold ? `${d.threshold.sd} σ = ${d.thresholdUv.toFixed(1)} µV` : `${d.thresholdUv} µV${d.sigmaUv > 0 ? ` = ${(d.thresholdUv / d.sigmaUv).toFixed(1)} σ` : ""}`;
  let text = `found ${count(d.samples.length, "pulse")} in ${d.channel} (jumps above ${threshold}, ${d.refractoryMs} ms apart at least)`;
  if (iv.length > 0) {
    const sorted = [...iv].sort((a, b) => a - b);
    const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
    const shown = iv.slice(0, 40).map((x) => x.toFixed(2)).join(" ");
    text += `; intervals ${sorted[0]!.toFixed(3)} to ${sorted[sorted.length - 1]!.toFixed(3)} s, median ${median.toFixed(3)} s: ${shown}${iv.length > 40 ? " ..." : ""}`;
  }
  return text;
}

/**
 * `cachefile import RECORDING [COORDS] -o OUT.hdf5 --channel EDC_L [...]`:
 * cuts the recording into a CacheFile with a progress bar on a terminal (a
 * line per phase otherwise), prints what the artifact detector found, every
 * warning (each pulse left out among them), what it wrote, and annotates the
 * file with `--annotate`.
 */
export async function runImport(recording: string, coords: string | undefined, opts: ImportCliOptions): Promise<void> {
  const tty = process.stderr.isTTY === true;
  let bar: SingleBar | undefined;
  let phase = "";
  const onProgress = (e: ImportProgress) => {
    if (e.phase === "done") return;
    if (tty && e.phase !== "read") {
      if (phase !== e.phase) {
        bar?.stop();
        bar = new SingleBar({ format: `${e.phase === "cut" ? "cutting" : "writing"} [{bar}] {percentage}% | {value}/{total} traces`, hideCursor: true, stream: process.stderr }, Presets.shades_classic);
        bar.start(e.total, 0);
        phase = e.phase;
      }
      bar!.update(e.done);
    } else if (phase !== `${e.phase}${e.done === e.total ? "." : ""}`) {
      phase = `${e.phase}${e.done === e.total ? "." : ""}`;
      if (e.done === e.total && e.phase !== "read") process.stderr.write(`${e.phase === "cut" ? "cut" : "wrote"} ${count(e.total, "trace")}\n`);
    }
  };
  let result;
  try {
    result = await importRecording(recording, opts.output, {
      channels: opts.channel,
      preMs: opts.pre,
      postMs: opts.post,
      readout: opts.readout,
      pair: opts.pair,
      ...(coords !== undefined ? { coords } : {}),
      ...(opts.event !== undefined ? { event: opts.event } : {}),
      ...(opts.eventStream !== undefined ? { eventStream: opts.eventStream } : {}),
      ...(opts.stream !== undefined ? { stream: opts.stream } : {}),
      ...(opts.stim !== undefined ? { stim: opts.stim } : {}),
      ...(opts.events !== undefined ? { eventsFile: opts.events } : {}),
      ...(opts.artifact !== undefined ? { artifact: opts.artifact } : {}),
      ...(opts.threshold !== undefined ? { threshold: opts.threshold } : {}),
      ...(opts.refractory !== undefined ? { refractoryMs: opts.refractory } : {}),
      ...(opts.allowNonVoltage ? { allowNonVoltage: true } : {}),
      ...(opts.tolerance !== undefined ? { toleranceMs: opts.tolerance } : {}),
      ...(opts.subject !== undefined ? { subject: opts.subject } : {}),
      ...(opts.subtractBaseline ? { subtractBaseline: true } : {}),
      ...(opts.dropIncomplete ? { dropIncomplete: true } : {}),
      onProgress,
    });
  } finally {
    bar?.stop();
  }
  if (result.artifact) process.stderr.write(`${formatDetection(result.artifact, result.samplingRate)}\n`);
  for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
  process.stdout.write(
    `${result.file}: ${count(result.traces, "trace")} of ${opts.channel.join(", ")} from ${result.origin}, ${result.samplesPreEvent} + ${result.samplesPostEvent} samples at ${result.samplingRate} Hz\n`,
  );
  if (opts.annotate) {
    const rows = await annotateFile(result.file);
    process.stdout.write(`annotated ${rows.filter((r) => r.written).length} of ${count(rows.length, "trace")}\n`);
  }
}

/** An artifact threshold: µV or robust standard deviations (parseThreshold's forms). */
function threshold(value: string): ArtifactThreshold {
  try {
    return parseThreshold(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** Declares `cachefile import`: its arguments, options and action. */
export function register(program: Command): void {
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
      .action((recording: string, coords: string | undefined, opts) => runImport(recording, coords, opts));;
}
