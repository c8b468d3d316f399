import { formatInspection, inspectRecording } from "../../recordings/inspect.js";
import type { Command } from "commander";

/** `cachefile inspect RECORDING [--stim CHANNEL] [--json]`: the recording's streams, channels and events (trigger values too). */
export async function runInspect(recording: string, opts: { json?: boolean; stim?: string }): Promise<void> {
  const info = await inspectRecording(recording, opts.stim !== undefined ? { stim: opts.stim } : {});
  process.stdout.write(opts.json ? `${JSON.stringify(info, null, 2)}\n` : `${formatInspection(info)}\n`);
}

/** Declares `cachefile inspect`: its arguments, options and action. */
export function register(program: Command): void {
  program
    .command("inspect")
      .description("list a recording's streams, channels and events (markers, annotations, trigger values), to choose --channel and --event for import")
      .argument("<recording>", "the recording: XDF, BrainVision .vhdr, EDF(+) or BDF(+)")
      .option("--stim <channel>", "EDF/BDF: also decode this trigger channel (channels named Status, Trigger, ... are decoded anyway)")
      .option("--json", "print JSON")
      .action((recording: string, opts: { json?: boolean; stim?: string }) => runInspect(recording, opts));;
}
