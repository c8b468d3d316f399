import { SingleBar, Presets } from "cli-progress";
import { stringify } from "csv-stringify/sync";
// The annotate module itself, not the analysis index (which loads the maps, and sharp with them: 0.2 s of CPU at start).
import { annotateFiles, type AnnotateOptions, type AnnotateProgress, type AnnotatedTrace } from "../../analysis/annotate.js";
import type { OnsetMethod } from "../../analysis/measures.js";
import { UsageError } from "../errors.js";
import { type Command, Option } from "commander";
import { jobsOption, number } from "../options.js";
import { interruption } from "../interrupt.js";

export interface AnnotateCliOptions {
  dryRun?: boolean;
  overwrite?: boolean;
  method: string;
  window: string;
  baseline: string;
  k: number;
  mepThreshold: number;
  backgroundThreshold: number;
  rejectBackground?: boolean;
  channel?: string;
  json?: boolean;
  csv?: boolean;
  /** Files at once (--jobs; default 1 here, the machine's cores on the command line). */
  jobs?: number;
}

/** The columns of `--json` / `--csv`, in order. */
export const ANNOTATE_COLUMNS = [
  "file",
  "index",
  "origin",
  "neg_peak_magnitude_uv",
  "neg_peak_latency_ms",
  "pos_peak_magnitude_uv",
  "pos_peak_latency_ms",
  "ptp_uv",
  "zcr_latency_ms",
  "onset_latency_ms",
  "mep_present",
  "prestim_rms_uv",
  "background_active",
  "written",
  "rejected",
  "status",
] as const;

/** "15,120" as [15, 120]. */
export function parsePair(text: string, option: string): [number, number] {
  const parts = text.split(",").map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.length !== 2 || parts.some((p) => p === "") || !nums.every(Number.isFinite)) {
    throw new UsageError(`${option} expects START,END in ms (e.g. 15,120), got ${JSON.stringify(text)}`);
  }
  return [nums[0]!, nums[1]!];
}

function progressReporter(): { shown: boolean; onProgress: (e: AnnotateProgress) => void; stop: () => void } {
  if (process.stderr.isTTY !== true) return { shown: false, onProgress: () => undefined, stop: () => undefined };
  let bar: SingleBar | undefined;
  let phase = "";
  return {
    shown: true,
    onProgress: (e) => {
      if (e.phase !== phase) {
        bar?.stop();
        phase = e.phase;
        bar = new SingleBar(
          { format: `${e.phase === "measure" ? "measuring" : "writing  "} [{bar}] {percentage}% | {value}/{total} traces`, hideCursor: true, stream: process.stderr },
          Presets.shades_classic,
        );
        bar.start(e.total, 0);
      }
      // With --jobs, the total is known once every file was opened; until then it is an estimate.
      if (bar && bar.getTotal() !== e.total) bar.setTotal(e.total);
      bar?.update(e.done);
    },
    stop: () => bar?.stop(),
  };
}

function row(r: AnnotatedTrace): Record<string, unknown> {
  return Object.fromEntries(ANNOTATE_COLUMNS.map((c) => [c, r[c]]));
}

const fmt = (v: number | null, digits = 1) => (v === null ? "-" : v.toFixed(digits));

/**
 * `cachefile annotate FILE... [--dry-run] [--overwrite] [--method threshold|cusum]
 * [--window 15,120] [--json | --csv] [--jobs N]`: measures every trace,
 * stores the peaks and zero crossing on traces not yet annotated; a table
 * (or JSON, CSV) of every trace on stdout, a summary on stderr, a progress
 * bar on a terminal. `--jobs N`: N files at once (annotateFiles'
 * `concurrency`), the same output in the same order.
 */
export async function runAnnotate(files: string[], opts: AnnotateCliOptions): Promise<void> {
  if (opts.json && opts.csv) throw new UsageError("--json and --csv exclude each other; pick one");
  const options: AnnotateOptions = {
    window: parsePair(opts.window, "--window"),
    baselineWindow: parsePair(opts.baseline, "--baseline"),
    onsetMethod: opts.method as OnsetMethod,
    k: opts.k,
    mepThreshold: opts.mepThreshold,
    backgroundThreshold: opts.backgroundThreshold,
    dryRun: opts.dryRun === true,
    overwrite: opts.overwrite === true,
    rejectBackground: opts.rejectBackground === true,
    ...(opts.channel !== undefined ? { channel: /^[0-9]+$/.test(opts.channel) ? Number(opts.channel) : opts.channel } : {}),
  };
  const progress = progressReporter();
  let rows: AnnotatedTrace[];
  try {
    rows = await annotateFiles(files, { ...options, ...(progress.shown ? { onProgress: progress.onProgress } : {}), signal: interruption, concurrency: opts.jobs ?? 1 });
  } finally {
    progress.stop();
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(rows.map(row))}\n`);
  } else if (opts.csv) {
    process.stdout.write(stringify(rows.map(row), { header: true, columns: [...ANNOTATE_COLUMNS], cast: { boolean: (b) => (b ? "true" : "false") } }));
  } else {
    process.stdout.write("file\tindex\tneg_uv\tneg_ms\tpos_uv\tpos_ms\tptp_uv\tzcr_ms\tonset_ms\tmep\trms_uv\tstatus\n");
    for (const r of rows) {
      process.stdout.write(
        `${r.file}\t${r.index}\t${fmt(r.neg_peak_magnitude_uv)}\t${fmt(r.neg_peak_latency_ms)}\t${fmt(r.pos_peak_magnitude_uv)}\t${fmt(r.pos_peak_latency_ms)}\t` +
          `${fmt(r.ptp_uv)}\t${fmt(r.zcr_latency_ms, 2)}\t${fmt(r.onset_latency_ms)}\t${r.mep_present ? "yes" : "no"}\t${fmt(r.prestim_rms_uv)}\t${r.status}\n`,
      );
    }
  }
  const count = (s: string) => rows.filter((r) => r.status === s).length;
  const parts = [
    options.dryRun ? `${count("dry-run")} would be written` : `${count("written")} written`,
    `${count("kept")} kept (annotated by a person${options.overwrite ? "" : "; --overwrite replaces them"})`,
  ];
  if (count("unchanged") > 0) parts.push(`${count("unchanged")} already held these values`);
  if (count("not-stored") > 0) parts.push(`${count("not-stored")} of a readout without peak fields`);
  const rejected = rows.filter((r) => r.rejected).length;
  if (rejected > 0) parts.push(`${rejected} rejected for background EMG`);
  process.stderr.write(`annotated ${rows.length} traces in ${files.length} file(s): ${parts.join(", ")}\n`);
}

/** Declares `cachefile annotate`: its arguments, options and action. */
export function register(program: Command): void {
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
      .addOption(jobsOption())
      .action((files: string[], opts) => runAnnotate(files, opts));;
}
