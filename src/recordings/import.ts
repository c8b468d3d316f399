/**
 * From a recording to a CacheFile: find the pulses (a BrainVision marker, an
 * EDF+ annotation, an XDF marker-stream sample, or the pulses of Localite's
 * stream in an XDF file), attach coordinates and intensities (from the XDF's
 * Localite stream, or a Localite/Brainsight export paired by time or order),
 * cut the window around each pulse from the channel(s) of interest, and
 * write it all with `populate`, filling the fields offspect's readins fill.
 * @module
 */
import { basename, extname } from "node:path";
import { NOTHING_WRITTEN } from "../base/abort.js";
import { AnnotationFactory, createCacheFileSync, createCacheFile, type Annotation, type ProgressEvent } from "../files/build.js";
import { checkValidSuffix } from "../cachefile/index.js";
import { TargetFolderError } from "../base/errors.js";
import { runAsync, runSync } from "../base/work.js";
import type { ArtifactDetection } from "./artifact.js";
import { readBrainsight } from "./brainsight.js";
import { type CoilPulses, NAN_XYZ } from "./coords.js";
import { CoordsError, ImportError } from "./errors.js";
import { readTriggerMarkers } from "./localite.js";
import { openRecording } from "./open.js";
import { type PairMode, pairPulses } from "./pairing.js";
import { type LeftOut, type Prepared, type Pulse, type PulseOptions, preparePulses } from "./prepare.js";
import { quote } from "./types.js";

export type { LeftOut, Pulse, PulseOptions } from "./prepare.js";

/** Options of {@link importRecording} and {@link importRecordingSync}: the recording's channels and pulses ({@link PulseOptions}), the window, the coordinates, the fields. */
export interface ImportOptions extends PulseOptions {
  /** Milliseconds before each pulse (default 100). */
  preMs?: number;
  /** Milliseconds after each pulse (default 100). */
  postMs?: number;
  /** The readout (default "cmep"; readin "tms"). */
  readout?: string;
  /** A Localite TriggerMarker XML or Brainsight text export with coordinates and intensities. */
  coords?: string;
  /** How to pair the export's pulses with the recording's (default "time"). */
  pair?: PairMode;
  /** Tolerance of pairing by time, ms (default 50). */
  toleranceMs?: number;
  /** The subject (default ""). */
  subject?: string;
  /** Subtract each trace's pre-event mean, as offspect's XDF cmep readin does (default false). */
  subtractBaseline?: boolean;
  /** Leave out pulses whose window does not fit in the recording, instead of refusing (default false). */
  dropIncomplete?: boolean;
  onProgress?: (event: ImportProgress) => void;
}

/** Progress of an import. */
export interface ImportProgress {
  phase: "read" | "cut" | "write" | "done";
  done: number;
  total: number;
}

/** What {@link importRecording} did. */
export interface ImportResult {
  /** The CacheFile written (absolute path). */
  file: string;
  origin: string;
  traces: number;
  samplingRate: number;
  samplesPreEvent: number;
  samplesPostEvent: number;
  /** 0-based indices (in the recording's pulse order) of pulses left out by `dropIncomplete`. */
  dropped: number[];
  /** Every pulse the recording names that is not in the file, and why (each one is also in {@link warnings}). */
  leftOut: LeftOut[];
  /** The pulses found from the TMS artifact (`artifact`): how many, where, with which threshold. */
  artifact?: ArtifactDetection;
  /** Things the user should know: every pulse left out, a file cut short, a date unknown, a unit not converted, a rounded rate, ... */
  warnings: string[];
}

/** Reads a coordinates export by its content: Localite XML or Brainsight text. */
export function readCoords(path: string): CoilPulses {
  const ext = extname(path).toLowerCase();
  if (ext === ".xml") return readTriggerMarkers(path);
  if (ext === ".txt" || ext === ".tsv") return readBrainsight(path);
  throw new CoordsError("EFORMAT", path, `${ext || "a name without suffix"} is not a coordinates format this library reads: expected Localite's TriggerMarker .xml or Brainsight's .txt export`);
}

/**
 * Cuts a recording into a CacheFile. Values are stored as offspect's readins
 * store them: `event_name`, `event_sample` (0-based), `event_time` (seconds
 * from the first sample), `time_since_last_pulse_in_s` (inf for the first),
 * `xyz_coords`, `stimulation_intensity_mso`/`_didt` (NaN where unknown),
 * `reject` False, `onset_shift` 0; the origin's `channel_labels`,
 * `channel_of_interest`, `samplingrate`, `samples_pre_event`/`_post_event`
 * (the milliseconds at the recording's rate, truncated), `subject`,
 * `filedate`. A trace is the samples from pulse - pre to pulse + post
 * (exclusive) of the channels, in µV. The file is written whole or not at
 * all (`createCacheFileSync`: beside the target, then renamed into place).
 * Blocks until done; {@link importRecording} is the same without blocking
 * the event loop.
 *
 * @example
 * ```ts
 * importRecordingSync("S01_run1.vhdr", "S01_run1.hdf5", { channels: ["EDC_L"], event: "S  1", coords: "TriggerMarkers_Coil0_1.xml" });
 * importRecordingSync("map_R004.xdf", "map.hdf5", { channels: ["EDC_L"], preMs: 100, postMs: 100 }); // Localite's stream
 * ```
 * @throws {InvalidSuffixError} / {TargetFolderError} `out` does not end in .hdf5, or its folder does not exist (checked before the recording is read)
 * @throws {ImportError} an unknown format, channel, event or stream, a window outside the recording
 * @throws {CoordsError} coordinates that cannot be read or paired
 * @throws {XdfError | BrainVisionError | EdfError} a malformed recording
 */
export function importRecordingSync(recording: string, out: string, options: ImportOptions): ImportResult {
  const cut = runSync(cutWork(recording, out, options));
  const file = createCacheFileSync(out, [cut.anno], [cut.traces], { onProgress: writeProgress(options) });
  return finish(cut, file, options);
}

/**
 * {@link importRecordingSync} without blocking the event loop for long: the
 * loop turns every 32 pulses cut and every 32 traces written; `signal`
 * stops it there (AbortedError), leaving `out` as it was (absent, or the
 * old file) and no temporary file.
 *
 * @example
 * ```ts
 * const r = await importRecording("S01.vhdr", "S01.hdf5", { channels: ["APB_R"], event: "S  1", signal: AbortSignal.timeout(60_000) });
 * console.log(r.traces, r.warnings);
 * ```
 * @throws as {@link importRecordingSync}; {@link AbortedError} when `signal` aborts
 */
export async function importRecording(recording: string, out: string, options: ImportOptions & { signal?: AbortSignal }): Promise<ImportResult> {
  const cut = await runAsync(cutWork(recording, out, options), options.signal, `importing ${recording}`, NOTHING_WRITTEN);
  const file = await createCacheFile(out, [cut.anno], [cut.traces], { onProgress: writeProgress(options), ...(options.signal ? { signal: options.signal } : {}) });
  return finish(cut, file, options);
}

/** A recording cut into traces, ready to be written. */
interface Cut {
  anno: Annotation;
  traces: { data: Float64Array; shape: readonly [number, number] }[];
  result: Omit<ImportResult, "file">;
}

function writeProgress(options: ImportOptions): (e: ProgressEvent) => void {
  const progress = options.onProgress;
  return (e) => {
    if (e.phase === "write") progress?.({ phase: "write", done: e.done, total: e.total });
  };
}

function finish(cut: Cut, file: string, options: ImportOptions): ImportResult {
  options.onProgress?.({ phase: "done", done: cut.result.traces, total: cut.result.traces });
  return { file, ...cut.result };
}

/** Everything but the write: the pulses found, paired and cut, the annotation filled. Yields every 32 pulses cut. */
function* cutWork(recording: string, out: string, options: ImportOptions): Generator<void, Cut> {
  if (options === null || typeof options !== "object") throw new ImportError("EOPTION", recording, "expected an options object with channels (e.g. { channels: [\"EDC_L\"] })");
  // The target first: a name or a folder that cannot be written is refused before the (longer) read.
  checkValidSuffix(out);
  TargetFolderError.check(out);
  const warnings: string[] = [];
  const progress = options.onProgress;
  const readout = options.readout ?? "cmep";
  const preMs = options.preMs ?? 100;
  const postMs = options.postMs ?? 100;
  for (const [name, v] of [["--pre", preMs], ["--post", postMs]] as const) {
    if (!Number.isFinite(v) || v < 0) throw new ImportError("EOPTION", recording, `expected a non-negative number of milliseconds for ${name}, got ${v}`);
  }
  // check the readout and the coordinates file before the (longer) read of the recording
  const factory = new AnnotationFactory({ readin: "tms", readout, origin: basename(recording) });
  const coils = options.coords !== undefined ? readCoords(options.coords) : undefined;
  progress?.({ phase: "read", done: 0, total: 1 });
  const opened = openRecording(recording);
  let prepared: Prepared;
  try {
    prepared = preparePulses(opened, options, warnings);
  } catch (e) {
    opened.close();
    throw e;
  }
  try {
    progress?.({ phase: "read", done: 1, total: 1 });
    const { signal, channelIndices: idx } = prepared;
    const fs = signal.samplingRate;
    const rate = Math.round(fs);
    if (Math.abs(rate - fs) > 1e-6 * fs) warnings.push(`the sampling rate ${fs} Hz is stored as ${rate} (offspect stores whole numbers)`);
    const pre = Math.trunc((preMs * fs) / 1000);
    const post = Math.trunc((postMs * fs) / 1000);
    if (pre + post === 0) throw new ImportError("EOPTION", recording, `--pre ${preMs} and --post ${postMs} ms are no sample at ${fs} Hz: cut a longer window`);
    let pulses = [...prepared.pulses].sort((a, b) => a.sample - b.sample);
    const leftOut = [...prepared.leftOut];
    if (pulses.length === 0) {
      throw new ImportError(
        "ENOEVENT",
        recording,
        leftOut.length > 0
          ? `none of the ${leftOut.length} pulse(s) can be cut: ${leftOut[0]!.reason}`
          : prepared.artifact
            ? `no jump of ${prepared.artifact.channel} exceeds ${prepared.artifact.thresholdUv.toFixed(1)} µV${prepared.artifact.sigmaUv > 0 ? ` (${(prepared.artifact.thresholdUv / prepared.artifact.sigmaUv).toFixed(1)} σ)` : ""}: lower --threshold, or check --artifact`
            : "no pulse found: check --event",
      );
    }
    if (coils) {
      if (pulses.some((p) => p.coil)) warnings.push(`the coordinates of ${basename(coils.file)} replace those of the recording's Localite stream`);
      const paired = pairPulses(
        pulses.map((p) => p.time),
        coils,
        { mode: options.pair ?? "time", ...(options.toleranceMs !== undefined ? { tolerance: options.toleranceMs / 1000 } : {}) },
      );
      pulses = pulses.map((p, i) => ({ ...p, coil: paired[i]! }));
    }
    const dropped: number[] = [];
    const windowLeftOut: LeftOut[] = [];
    pulses = pulses.filter((p, i) => {
      const fits = p.sample - pre >= 0 && p.sample + post <= signal.nSamples;
      if (fits) return true;
      if (!options.dropIncomplete) {
        throw new ImportError(
          "EWINDOW",
          recording,
          `pulse ${i + 1} at sample ${p.sample} needs samples ${p.sample - pre} to ${p.sample + post - 1}, but the recording holds 0 to ${signal.nSamples - 1}: shorten --pre/--post, or leave such pulses out with --drop-incomplete`,
        );
      }
      dropped.push(i);
      windowLeftOut.push({ eventName: p.eventName, time: p.time, sample: p.sample, reason: "their window does not fit in the recording (--drop-incomplete)" });
      return false;
    });
    if (dropped.length > 0) {
      warnings.push(
        `${dropped.length} pulse(s) left out: their window does not fit in the recording (--drop-incomplete): ${dropped.map((i, k) => `pulse ${i + 1} at sample ${windowLeftOut[k]!.sample}, ${windowLeftOut[k]!.time.toFixed(3)} s`).join("; ")}`,
      );
      leftOut.push(...windowLeftOut);
    }
    if (pulses.length === 0) throw new ImportError("ENOEVENT", recording, "no pulse is left to cut: every window reaches outside the recording; shorten --pre/--post");
    const coi = options.channels[0]!;
    factory.setOriginAttrs({
      channel_labels: [...options.channels],
      channel_of_interest: coi,
      samplingrate: rate,
      samples_pre_event: pre,
      samples_post_event: post,
      subject: options.subject ?? "",
      filedate: prepared.filedate,
    });
    const traces: { data: Float64Array; shape: readonly [number, number] }[] = [];
    const values = (p: Pulse, i: number): Record<string, unknown> => {
      const since = i === 0 ? Infinity : p.time - pulses[i - 1]!.time;
      if (!(since > 0)) {
        const q = pulses[i - 1]!;
        throw new ImportError(
          "EDUPLICATE",
          recording,
          `pulses ${i} and ${i + 1} (${quote(q.eventName)} and ${quote(p.eventName)}) both fall on sample ${p.sample} at ${fs} Hz: a pulse is marked twice, or two events lie closer than a sample; check --event`,
        );
      }
      const coil = p.coil;
      return {
        event_name: p.eventName,
        event_sample: p.sample,
        event_time: p.time,
        time_since_last_pulse_in_s: since,
        xyz_coords: coil ? [...coil.xyz] : [...NAN_XYZ],
        stimulation_intensity_mso: coil ? coil.mso : NaN,
        stimulation_intensity_didt: coil ? coil.didt : NaN,
      };
    };
    // the factory checks the first trace's keys and types and fills the readout's defaults;
    // the others take the same keys with values of the same kinds
    factory.appendTrace(values(pulses[0]!, 0));
    const anno = factory.anno;
    const template = anno.traces[0]!;
    for (const [i, p] of pulses.entries()) {
      const data = signal.readWindow(idx, p.sample - pre, pre + post);
      if (options.subtractBaseline && pre > 0) {
        for (let c = 0; c < idx.length; c++) {
          let sum = 0;
          for (let k = 0; k < pre; k++) sum += data[k * idx.length + c]!;
          const mean = sum / pre;
          for (let k = 0; k < pre + post; k++) data[k * idx.length + c]! -= mean;
        }
      }
      traces.push({ data, shape: [pre + post, idx.length] });
      if (i > 0) anno.traces.push({ ...template, id: i, ...values(p, i) });
      progress?.({ phase: "cut", done: i + 1, total: pulses.length });
      if ((i & 31) === 31) yield;
    }
    return {
      anno,
      traces,
      result: {
        origin: anno.origin,
        traces: pulses.length,
        samplingRate: rate,
        samplesPreEvent: pre,
        samplesPostEvent: post,
        dropped,
        leftOut,
        ...(prepared.artifact ? { artifact: prepared.artifact } : {}),
        warnings,
      },
    };
  } finally {
    prepared.close();
  }
}
