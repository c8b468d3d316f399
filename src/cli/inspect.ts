import { formatInspection, inspectRecording } from "../recordings/inspect.js";

/** `cachefile inspect RECORDING [--json]`: the recording's streams, channels and events. */
export async function runInspect(recording: string, opts: { json?: boolean }): Promise<void> {
  const info = await inspectRecording(recording);
  process.stdout.write(opts.json ? `${JSON.stringify(info, null, 2)}\n` : `${formatInspection(info)}\n`);
}
