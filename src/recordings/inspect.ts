/**
 * What a recording holds, so that a user can choose the channel, the data
 * stream and the event to import: streams (XDF) or the signal, their
 * channels, and the events with their counts.
 * @module
 */
import { runAsync, runSync } from "../base/work.js";
import type { EdfRecording } from "./edf.js";
import { ImportError } from "./errors.js";
import { LOCALITE_STREAMS, localiteStreamPulses } from "./localite.js";
import { openRecording } from "./open.js";
import { isTriggerName, triggerValues } from "./triggers.js";
import { quote, type RecordingEvent } from "./types.js";
import { channelLabels } from "./xdf.js";

/** One signal (a BrainVision/EDF recording, or an XDF stream). */
export interface InspectedSignal {
  /** XDF stream id. */
  id?: number;
  name: string;
  type?: string;
  format?: string;
  samplingRate: number;
  /** pyxdf's effective rate (XDF regular streams; absent where time runs backwards). */
  effectiveRate?: number;
  nSamples: number;
  /** Seconds. */
  duration: number;
  channels: { label: string; unit: string; samplingRate?: number }[];
  /** XDF: the sample ranges between clock resets, when there are several (pyxdf's clock segments). */
  clockSegments?: [number, number][];
  /** XDF: why pyxdf's times cannot be used (time runs backwards). */
  timeProblem?: string;
}

/** The distinct event names of one source, with their counts and first times. */
export interface InspectedEvents {
  /** "markers" (BrainVision), "annotations" (EDF+), `trigger channel "Status"` (EDF/BDF), or the XDF marker stream's name. */
  source: string;
  id?: number;
  /** A trigger channel's label (its events are MNE's find_events onsets; `name` is the value). */
  channel?: string;
  total: number;
  /** `first`: seconds from the recording's start; XDF: `firstLsl`, the same on the LSL clock. */
  names: { name: string; count: number; first: number; firstLsl?: number }[];
  /** Localite's stream: the pulses offspect's XDF protocol finds. */
  localitePulses?: number;
  /** What MNE's defaults leave out (a non-zero first value) or refuse (events closer than 2 samples). */
  notes?: string[];
}

export interface Inspection {
  file: string;
  format: string;
  /** The recording's date; absent when it states none. */
  date?: string;
  /** XDF: the recording's start on the LSL clock (the first sample of the earliest data stream); event times count from it. */
  start?: number;
  signals: InspectedSignal[];
  events: InspectedEvents[];
  /** A file cut short, markers beyond the data, what pyxdf warns about. */
  warnings: string[];
}

function summarise(source: string, events: readonly RecordingEvent[], start: number, lsl: boolean, id?: number): InspectedEvents {
  const by = new Map<string, { count: number; first: number; firstLsl?: number }>();
  for (const e of events) {
    const v = by.get(e.name);
    if (v) v.count++;
    else by.set(e.name, { count: 1, first: e.time - start, ...(lsl ? { firstLsl: e.time } : {}) });
  }
  return { source, ...(id !== undefined ? { id } : {}), total: events.length, names: [...by.entries()].map(([name, v]) => ({ name, ...v })) };
}

/** Options of {@link inspectRecording}. */
export interface InspectOptions {
  /** EDF/BDF: a trigger channel to decode besides those with a usual trigger name (Status, Trigger, ...). */
  stim?: string;
  signal?: AbortSignal;
}

/**
 * Lists a recording's signals, channels and events (markers, annotations,
 * XDF marker streams, and the values of EDF/BDF trigger channels as MNE's
 * find_events decodes them). Blocks until done; {@link inspectRecording}
 * is the same without blocking the event loop for long.
 * @example
 * ```ts
 * const info = inspectRecordingSync("S01.vhdr");
 * info.signals[0].channels.map((c) => c.label); info.events[0].names; // [{ name: "S  1", count: 600, first: 12.3 }, ...]
 * console.log(formatInspection(info));
 * ```
 * @throws {RecordingError} as the readers do; {@link ImportError} `ENOCHANNEL`/`EOPTION` for a `stim` channel the recording does not have, or a recording without trigger channels
 */
export function inspectRecordingSync(path: string, options: Omit<InspectOptions, "signal"> = {}): Inspection {
  return runSync(inspectWork(path, options));
}

/**
 * {@link inspectRecordingSync}, with a turn of the event loop after the
 * recording is opened (one pass over an XDF file's chunks) and after each
 * stream or trigger channel; `signal` stops it there (AbortedError).
 * @example
 * ```ts
 * const info = await inspectRecording("run1.xdf");
 * console.log(formatInspection(info));
 * ```
 * @throws as {@link inspectRecordingSync}; {@link AbortedError} when `signal` aborts
 */
export function inspectRecording(path: string, options: InspectOptions = {}): Promise<Inspection> {
  return runAsync(inspectWork(path, options), options.signal, `inspecting ${path}`);
}

function* inspectWork(path: string, options: Omit<InspectOptions, "signal">): Generator<void, Inspection> {
  const rec = openRecording(path);
  try {
    yield;
    if (rec.format === "xdf") {
      if (options.stim !== undefined) throw new ImportError("EOPTION", path, "--stim decodes a trigger channel of an EDF or BDF file; an XDF file's events are its marker streams, listed without it");
      const x = rec.xdf;
      const signals: InspectedSignal[] = [];
      const marks: { s: (typeof x.streams)[number]; ev: RecordingEvent[] }[] = [];
      const warnings: string[] = [];
      const firsts: number[] = [];
      for (const s of x.streams) {
        warnings.push(...s.sync.warnings);
        if (s.markers) {
          const ev = x.markerEvents(s.id);
          marks.push({ s, ev });
          yield;
          continue;
        }
        const base = {
          id: s.id,
          name: s.name,
          type: s.type,
          format: s.channelFormat,
          samplingRate: s.nominalSrate,
          nSamples: s.sync.samples,
          channels: channelLabels(s).map((label, c) => ({ label, unit: s.channels[c]?.unit ?? "" })),
        };
        if (s.sync.samples === 0) signals.push({ ...base, duration: 0 });
        else {
          const sig = x.signal(s.id);
          warnings.push(...sig.warnings.filter((w) => !s.sync.warnings.includes(w)));
          const clock = sig.clockSegments.length > 1 ? { clockSegments: sig.clockSegments.map((c) => [...c] as [number, number]) } : {};
          if (sig.timeProblem) signals.push({ ...base, ...clock, duration: NaN, timeProblem: sig.timeProblem.message.replace(/^.*?: /, "") });
          else {
            firsts.push(sig.timeOf(0));
            signals.push({ ...base, ...clock, effectiveRate: sig.effectiveRate!, duration: sig.timeOf(sig.nSamples - 1) - sig.timeOf(0) + 1 / s.nominalSrate });
          }
        }
        yield;
      }
      // the recording's start: the earliest data stream's first sample (else the earliest marker)
      const start = firsts.length > 0 ? Math.min(...firsts) : Math.min(...marks.flatMap((m) => (m.ev.length > 0 ? [m.ev[0]!.time] : [])), Infinity);
      const t0 = Number.isFinite(start) ? start : 0;
      const events = marks.map(({ s, ev }) => {
        const sum = summarise(s.name, ev, t0, true, s.id);
        if (LOCALITE_STREAMS.includes(s.name)) sum.localitePulses = localiteStreamPulses(ev).length;
        return sum;
      });
      const date = x.recordingDate;
      return { file: path, format: "xdf", ...(date ? { date } : {}), ...(Number.isFinite(start) ? { start } : {}), signals, events, warnings };
    }
    const r = rec.recording;
    const signal: InspectedSignal = {
      name: r.name,
      samplingRate: r.samplingRate,
      nSamples: r.nSamples,
      duration: r.nSamples / r.samplingRate,
      channels: r.channels.map((c) => ({ label: c.label, unit: c.unit, ...(c.samplingRate !== undefined && c.samplingRate !== r.samplingRate ? { samplingRate: c.samplingRate } : {}) })),
    };
    const date = r.startDate;
    const events = [summarise(rec.format === "brainvision" ? "markers" : "annotations", r.events, 0, false)];
    if (rec.format === "brainvision") {
      if (options.stim !== undefined) throw new ImportError("EOPTION", path, "--stim decodes a trigger channel of an EDF or BDF file; a BrainVision recording's events are its markers, listed without it");
    } else {
      for (const t of triggerSummaries(rec.recording, options.stim)) {
        events.push(t);
        yield;
      }
    }
    return { file: path, format: rec.format, ...(date ? { date } : {}), signals: [signal], events, warnings: [...r.warnings] };
  } finally {
    rec.close();
  }
}

/** The trigger channels of an EDF/BDF file (usual names, and `stim`), decoded as MNE's find_events does. */
function triggerSummaries(edf: EdfRecording, stim: string | undefined): InspectedEvents[] {
  const idx = edf.channels.flatMap((c, i) => (isTriggerName(c.label) || c.label === stim ? [i] : []));
  if (stim !== undefined && !edf.channels.some((c) => c.label === stim)) {
    throw new ImportError("ENOCHANNEL", edf.file, `${edf.name} has no channel ${quote(stim)} for --stim; its channels are ${edf.channels.slice(0, 40).map((c) => quote(c.label)).join(", ")}`);
  }
  return idx.map((i) => {
    const label = edf.channels[i]!.label;
    const t = edf.triggerEvents(i);
    const notes: string[] = [];
    if (t.initialValue !== 0) notes.push(`starts at value ${t.initialValue}: no event (MNE's initial_event=False)`);
    if (t.short.length > 0) notes.push(`${t.short.length} event(s) less than 2 samples after the one before (MNE's find_events refuses such a channel by default)`);
    return {
      source: `trigger channel ${quote(label)}`,
      channel: label,
      total: t.events.length,
      names: triggerValues(t.events).map((v) => ({ name: String(v.value), count: v.count, first: v.first / t.rate })),
      ...(notes.length > 0 ? { notes } : {}),
    };
  });
}

/**
 * The inspection as text for a terminal (what `cachefile inspect` prints).
 * @example
 * ```ts
 * console.log(formatInspection(inspectRecordingSync("S01.bdf")));
 * // S01.bdf: bdf, recorded 2024-06-11 09:30:00
 * // ...
 * // trigger channel "Status": 120 event(s)
 * //   "1" x 120 (first at 3.100 s)
 * ```
 */
export function formatInspection(info: Inspection): string {
  const lines: string[] = [`${info.file}: ${info.format}, ${info.date ? `recorded ${info.date}` : "date unknown"}${info.start !== undefined ? `; times from the first sample, LSL ${info.start.toFixed(3)} s` : ""}`];
  for (const s of info.signals) {
    const rate = `${s.samplingRate} Hz${s.effectiveRate ? ` (effective ${s.effectiveRate.toFixed(4)})` : ""}`;
    const duration = s.timeProblem ? `time stamps unusable: ${s.timeProblem}` : `${s.duration.toFixed(1)} s`;
    lines.push(
      `${s.id !== undefined ? `stream ${s.id} ` : "signal "}${JSON.stringify(s.name)}${s.type ? ` [${s.type}]` : ""}: ${s.channels.length} channel(s)${s.format ? ` of ${s.format}` : ""}, ${rate}, ${s.nSamples} samples (${duration})`,
    );
    lines.push(`  channels: ${s.channels.map((c) => `${c.label}${c.unit ? ` (${c.unit}${c.samplingRate ? `, ${c.samplingRate} Hz` : ""})` : ""}`).join(", ")}`);
    if (s.clockSegments) lines.push(`  clock reset(s): ${s.clockSegments.length - 1}; samples ${s.clockSegments.map(([a, b]) => `${a}-${b}`).join(", ")}`);
  }
  for (const e of info.events) {
    lines.push(`${e.id !== undefined ? `marker stream ${e.id} ${JSON.stringify(e.source)}` : e.source}: ${e.total} event(s)${e.localitePulses !== undefined ? `, ${e.localitePulses} Localite pulse(s)` : ""}`);
    for (const n of e.names.slice(0, 50)) {
      const name = n.name.length > 60 ? `${JSON.stringify(n.name.slice(0, 57))}...` : JSON.stringify(n.name);
      lines.push(`  ${name} x ${n.count} (first at ${n.first.toFixed(3)} s${n.firstLsl !== undefined ? `, LSL ${n.firstLsl.toFixed(3)} s` : ""})`);
    }
    if (e.names.length > 50) lines.push(`  ... ${e.names.length - 50} more distinct values`);
    for (const note of e.notes ?? []) lines.push(`  note: ${note}`);
  }
  for (const w of info.warnings) lines.push(`warning: ${w}`);
  return lines.join("\n");
}
