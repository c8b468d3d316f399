/**
 * Opening a recording by its file name: `.xdf` (XDF), `.vhdr` (BrainVision),
 * `.edf` (EDF/EDF+), `.bdf` (BDF/BDF+).
 * @module
 */
import { extname } from "node:path";
import { BrainVisionRecording } from "./brainvision.js";
import { EdfRecording } from "./edf.js";
import { ImportError } from "./errors.js";
import { XdfFile } from "./xdf.js";

export type OpenedRecording =
  | { format: "xdf"; xdf: XdfFile; close(): void }
  | { format: "brainvision"; recording: BrainVisionRecording; close(): void }
  | { format: "edf" | "bdf"; recording: EdfRecording; close(): void };

/** The suffixes of recordings this library reads. */
export const RECORDING_SUFFIXES = [".xdf", ".vhdr", ".edf", ".bdf"] as const;

/**
 * Opens a recording, choosing the reader by suffix.
 * @example
 * ```ts
 * const rec = openRecording("S01.vhdr");
 * try { if (rec.format === "brainvision") console.log(rec.recording.events.length); } finally { rec.close(); }
 * ```
 * @throws {ImportError} `EFORMAT` for another suffix; the reader's errors otherwise
 */
export function openRecording(path: string): OpenedRecording {
  const ext = extname(path).toLowerCase();
  switch (ext) {
    case ".xdf": {
      const xdf = XdfFile.open(path);
      return { format: "xdf", xdf, close: () => xdf.close() };
    }
    case ".vhdr": {
      const recording = BrainVisionRecording.open(path);
      return { format: "brainvision", recording, close: () => recording.close() };
    }
    case ".edf":
    case ".bdf": {
      const recording = EdfRecording.open(path);
      return { format: recording.header.format, recording, close: () => recording.close() };
    }
    default:
      throw new ImportError(
        "EFORMAT",
        path,
        `${ext === "" ? "a name without suffix" : ext} is not a recording format this library reads: expected ${RECORDING_SUFFIXES.join(", ")}` +
          (ext === ".eeg" || ext === ".vmrk" ? " (pass the BrainVision .vhdr file)" : ext === ".xdfz" || ext === ".gz" ? " (decompress the file first)" : ""),
      );
  }
}
