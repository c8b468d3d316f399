import { formatInspection, inspectRecording } from "../recordings/inspect.js";

/** `cachefile inspect RECORDING [--stim CHANNEL] [--json]`: the recording's streams, channels and events (trigger values too). */
export async function runInspect(recording: string, opts: { json?: boolean; stim?: string }): Promise<void> {
  const info = await inspectRecording(recording, opts.stim !== undefined ? { stim: opts.stim } : {});
  process.stdout.write(opts.json ? `${JSON.stringify(info, null, 2)}\n` : `${formatInspection(info)}\n`);
}
