/**
 * What a recording holds, so that a user can choose the channel, the data
 * stream and the event to import: streams (XDF) or the signal, their
 * channels, and the events with their counts.
 * @module
 */
import { runAsync, runSync } from "../work.js";
import { openRecording } from "./open.js";
import { LOCALITE_STREAMS, localiteStreamPulses } from "./localite.js";
import type { RecordingEvent } from "./types.js";

/** One signal (a BrainVision/EDF recording, or an XDF stream). */
export interface InspectedSignal {
  /** XDF stream id. */
  id?: number;
  name: string;
  type?: string;
  format?: string;
  samplingRate: number;
  /** pyxdf's effective rate (XDF regular streams). */
  effectiveRate?: number;
  nSamples: number;
  /** Seconds. */
  duration: number;
  channels: { label: string; unit: string; samplingRate?: number }[];
}

/** The distinct event names of one source, with their counts and first times. */
export interface InspectedEvents {
  /** "markers" (BrainVision), "annotations" (EDF+), or the XDF marker stream's name. */
  source: string;
  id?: number;
  total: number;
  names: { name: string; count: number; first: number }[];
  /** Localite's stream: the pulses offspect's XDF protocol finds. */
  localitePulses?: number;
}

export interface Inspection {
  file: string;
  format: string;
  date?: string;
  signals: InspectedSignal[];
  events: InspectedEvents[];
}

function summarise(source: string, events: readonly RecordingEvent[], id?: number): InspectedEvents {
  const by = new Map<string, { count: number; first: number }>();
  for (const e of events) {
    const v = by.get(e.name);
    if (v) v.count++;
    else by.set(e.name, { count: 1, first: e.time });
  }
  return { source, ...(id !== undefined ? { id } : {}), total: events.length, names: [...by.entries()].map(([name, v]) => ({ name, ...v })) };
}

/**
 * Lists a recording's signals, channels and events. Blocks until done;
 * {@link inspectRecording} is the same without blocking the event loop for
 * long.
 * @example
 * ```ts
 * const info = inspectRecordingSync("S01.vhdr");
 * info.signals[0].channels.map((c) => c.label); info.events[0].names; // [{ name: "S  1", count: 600, first: 12.3 }, ...]
 * console.log(formatInspection(info));
 * ```
 * @throws {RecordingError} as the readers do
 */
export function inspectRecordingSync(path: string): Inspection {
  return runSync(inspectWork(path));
}

/**
 * {@link inspectRecordingSync}, with a turn of the event loop after the
 * recording is opened (one pass over an XDF file's chunks) and after each
 * stream; `signal` stops it there (AbortedError).
 * @example
 * ```ts
 * const info = await inspectRecording("run1.xdf");
 * console.log(formatInspection(info));
 * ```
 * @throws as {@link inspectRecordingSync}; {@link AbortedError} when `signal` aborts
 */
export function inspectRecording(path: string, options: { signal?: AbortSignal } = {}): Promise<Inspection> {
  return runAsync(inspectWork(path), options.signal, `inspecting ${path}`);
}

function* inspectWork(path: string): Generator<void, Inspection> {
  const rec = openRecording(path);
  try {
    yield;
    if (rec.format === "xdf") {
      const x = rec.xdf;
      const signals: InspectedSignal[] = [];
      const events: InspectedEvents[] = [];
      for (const s of x.streams) {
        if (s.markers) {
          const ev = x.markerEvents(s.id);
          const sum = summarise(s.name, ev, s.id);
          if (LOCALITE_STREAMS.includes(s.name)) sum.localitePulses = localiteStreamPulses(ev).length;
          events.push(sum);
          yield;
          continue;
        }
        const base = {
          id: s.id,
          name: s.name,
          type: s.type,
          format: s.channelFormat,
          samplingRate: s.nominalSrate,
          nSamples: s.sampleCount,
          channels: Array.from({ length: s.channelCount }, (_, c) => ({ label: s.channels[c]?.label || `${c}`, unit: s.channels[c]?.unit ?? "" })),
        };
        if (s.sampleCount === 0) signals.push({ ...base, duration: 0 });
        else {
          const sig = x.signal(s.id);
          signals.push({ ...base, effectiveRate: sig.effectiveRate, duration: sig.timeOf(s.sampleCount - 1) - sig.timeOf(0) + 1 / s.nominalSrate });
        }
        yield;
      }
      return { file: path, format: "xdf", date: x.recordingDate, signals, events };
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
    return {
      file: path,
      format: rec.format,
      ...(date ? { date } : {}),
      signals: [signal],
      events: [summarise(rec.format === "brainvision" ? "markers" : "annotations", r.events)],
    };
  } finally {
    rec.close();
  }
}

/** The inspection as text for a terminal. */
export function formatInspection(info: Inspection): string {
  const lines: string[] = [`${info.file}: ${info.format}${info.date ? `, recorded ${info.date}` : ""}`];
  for (const s of info.signals) {
    const rate = `${s.samplingRate} Hz${s.effectiveRate ? ` (effective ${s.effectiveRate.toFixed(4)})` : ""}`;
    lines.push(
      `${s.id !== undefined ? `stream ${s.id} ` : "signal "}${JSON.stringify(s.name)}${s.type ? ` [${s.type}]` : ""}: ${s.channels.length} channel(s)${s.format ? ` of ${s.format}` : ""}, ${rate}, ${s.nSamples} samples (${s.duration.toFixed(1)} s)`,
    );
    lines.push(`  channels: ${s.channels.map((c) => `${c.label}${c.unit ? ` (${c.unit}${c.samplingRate ? `, ${c.samplingRate} Hz` : ""})` : ""}`).join(", ")}`);
  }
  for (const e of info.events) {
    lines.push(`${e.id !== undefined ? `marker stream ${e.id} ${JSON.stringify(e.source)}` : e.source}: ${e.total} event(s)${e.localitePulses !== undefined ? `, ${e.localitePulses} Localite pulse(s)` : ""}`);
    for (const n of e.names.slice(0, 50)) {
      const name = n.name.length > 60 ? `${JSON.stringify(n.name.slice(0, 57))}...` : JSON.stringify(n.name);
      lines.push(`  ${name} x ${n.count} (first at ${n.first.toFixed(3)} s)`);
    }
    if (e.names.length > 50) lines.push(`  ... ${e.names.length - 50} more distinct values`);
  }
  return lines.join("\n");
}
