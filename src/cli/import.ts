import { Presets, SingleBar } from "cli-progress";
import { annotateFile } from "../analysis/annotate.js";
import { type ImportProgress, importRecording } from "../recordings/import.js";
import type { PairMode } from "../recordings/pairing.js";

/** Options of `cachefile import`. */
export interface ImportCliOptions {
  output: string;
  channel: string[];
  pre: number;
  post: number;
  event?: string;
  eventStream?: string;
  stream?: string;
  readout: string;
  pair: PairMode;
  tolerance?: number;
  subject?: string;
  subtractBaseline?: boolean;
  dropIncomplete?: boolean;
  annotate?: boolean;
}

/**
 * `cachefile import RECORDING [COORDS] -o OUT.hdf5 --channel EDC_L [...]`:
 * cuts the recording into a CacheFile with a progress bar on a terminal (a
 * line per phase otherwise), prints what it wrote and any warning, and
 * annotates the file with `--annotate`.
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
      if (e.done === e.total && e.phase !== "read") process.stderr.write(`${e.phase === "cut" ? "cut" : "wrote"} ${e.total} traces\n`);
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
      ...(opts.tolerance !== undefined ? { toleranceMs: opts.tolerance } : {}),
      ...(opts.subject !== undefined ? { subject: opts.subject } : {}),
      ...(opts.subtractBaseline ? { subtractBaseline: true } : {}),
      ...(opts.dropIncomplete ? { dropIncomplete: true } : {}),
      onProgress,
    });
  } finally {
    bar?.stop();
  }
  for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
  process.stdout.write(
    `${result.file}: ${result.traces} traces of ${opts.channel.join(", ")} from ${result.origin}, ${result.samplesPreEvent} + ${result.samplesPostEvent} samples at ${result.samplingRate} Hz\n`,
  );
  if (opts.annotate) {
    const rows = await annotateFile(result.file);
    process.stdout.write(`annotated ${rows.filter((r) => r.written).length} of ${rows.length} traces\n`);
  }
}
