/**
 * From an opened recording to what the import cuts: the signal and its
 * channel(s) of interest, the pulses (from markers, annotations, an XDF
 * marker stream or Localite's stream, a trigger channel, an events file, or
 * the TMS artifact on a channel), the recording's date, and everything the
 * user should know about what was read (warnings). Nothing is left out in
 * silence: a pulse that lies beyond the data, in a gap of an XDF stream, or
 * where MNE or pyxdf would not put it, is listed.
 * @module
 */
import { basename } from "node:path";
import { type ArtifactDetection, type ArtifactThreshold, detectArtifacts } from "./artifact.js";
import type { BrainVisionRecording } from "./brainvision.js";
import type { CoilPulse } from "./coords.js";
import type { EdfRecording } from "./edf.js";
import { ImportError } from "./errors.js";
import { type EventsFile, type FileEvent, readEventsFile } from "./eventsfile.js";
import { LOCALITE_STREAMS, localiteStreamPulses } from "./localite.js";
import type { OpenedRecording } from "./open.js";
import { isTriggerName, type TriggerEvents } from "./triggers.js";
import { quote, type RecordingEvent, type Signal } from "./types.js";
import type { XdfFile, XdfSignal } from "./xdf.js";

/** How the pulses and channels of a recording are chosen (the import's options that concern the recording). */
export interface PulseOptions {
  /** The channel(s) to cut, by label as `cachefile inspect` lists them (an unlabelled XDF channel: its 0-based index); the first is the channel of interest. */
  channels: string[];
  /** The event marking a pulse: a BrainVision marker's description (`S  1`), an EDF+ annotation's text, a trigger value (`1`), an XDF marker sample, an events file's name. Default for XDF: the pulses of Localite's stream. */
  event?: string;
  /** XDF: the marker stream (name or id) to look for `event` in. */
  eventStream?: string;
  /** XDF: the data stream (name or id) holding the channels; default: the stream with the first channel. */
  stream?: string;
  /** EDF/BDF: the trigger channel whose value `event` is (default: a channel with a usual trigger name, where the value is no annotation); false: annotations only. */
  stim?: string | false;
  /** A CSV/TSV file of pulse samples or times (seconds from the first sample), instead of the recording's events. */
  eventsFile?: string;
  /** Find the pulses from the TMS artifact on this channel. */
  artifact?: string;
  /** The artifact's jump threshold (default 30 robust standard deviations of the channel's jumps). */
  threshold?: ArtifactThreshold;
  /** Milliseconds after a detected pulse in which no other is found (default 100). */
  refractoryMs?: number;
  /** Cut channels whose unit is not a voltage too, storing their values in their own unit (not µV). */
  allowNonVoltage?: boolean;
}

/** One pulse found in a recording. */
export interface Pulse {
  /** The event_name offspect stores. */
  eventName: string;
  /** 0-based sample of the signal. */
  sample: number;
  /** Seconds from the signal's first sample. */
  time: number;
  coil?: CoilPulse;
}

/** A pulse left out before any window is cut, and why. */
export interface LeftOut {
  eventName: string;
  /** Seconds from the signal's first sample (or the events file's time). */
  time: number;
  sample?: number;
  reason: string;
}

/** A recording opened for cutting. */
export interface Prepared {
  signal: Signal;
  channelIndices: number[];
  /** The pulses to cut, in time order (their windows are checked later). */
  pulses: Pulse[];
  /** Pulses the recording names but that cannot be cut (beyond the data, in a gap): each one listed. */
  leftOut: LeftOut[];
  /** "YYYY-MM-DD HH:MM:SS", or "" when the recording states no date. */
  filedate: string;
  artifact?: ArtifactDetection;
  close(): void;
}

const fmt = (t: number) => `${t.toFixed(3)} s`;

/** Names and counts of events, for messages. */
function listing(events: readonly { name: string }[], what: string): string {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.name, (counts.get(e.name) ?? 0) + 1);
  return counts.size === 0
    ? `the recording has no ${what}s`
    : `its ${what}s are ${[...counts.entries()].slice(0, 20).map(([n, c]) => `${quote(n)} (${c})`).join(", ")}${counts.size > 20 ? ", ..." : ""}`;
}

function channelIndices(file: string, signal: Signal, labels: readonly string[], where: string): number[] {
  if (labels.length === 0) throw new ImportError("ENOCHANNEL", file, "name the channel of interest with --channel");
  return labels.map((label) => {
    const i = signal.channels.findIndex((c) => c.label === label);
    if (i === -1) {
      throw new ImportError(
        "ENOCHANNEL",
        file,
        `${where} has no channel ${quote(label)}; its channels are ${signal.channels.slice(0, 40).map((c) => quote(c.label)).join(", ")}${signal.channels.length > 40 ? ", ..." : ""}: pick one with --channel`,
      );
    }
    return i;
  });
}

/** Refuses channels whose unit is not a voltage, unless asked for (then says how they are stored). */
function checkUnits(file: string, signal: Signal, idx: readonly number[], allow: boolean, warnings: string[]): void {
  for (const i of idx) {
    const c = signal.channels[i]!;
    if (c.microvolts) continue;
    const unit = quote(c.unit);
    const what = c.unit === "" ? "states no unit, so it cannot be taken as a voltage" : `is in ${unit}, not a voltage`;
    const stored = c.unit === "" ? "in the file's own (unstated) unit" : `in ${unit}`;
    if (!allow) {
      throw new ImportError(
        "EUNIT",
        file,
        `channel ${quote(c.label)} ${what}, and a CacheFile's traces are µV: pick a voltage channel, or pass --allow-non-voltage to store its values unconverted, ${stored}`,
      );
    }
    warnings.push(`channel ${quote(c.label)} ${what}: its values are stored as they are, ${stored}, not in µV (--allow-non-voltage)`);
  }
}

function optionError(file: string, message: string): ImportError {
  return new ImportError("EOPTION", file, message);
}

/** The checks of option combinations that do not depend on the recording's content. */
function checkOptions(file: string, format: OpenedRecording["format"], o: PulseOptions): void {
  if (o.artifact !== undefined && o.eventsFile !== undefined) throw optionError(file, "--artifact and --events both give the pulses: use one");
  if (o.artifact !== undefined && o.event !== undefined) throw optionError(file, "--artifact finds the pulses itself: leave out --event");
  if (o.artifact === undefined && (o.threshold !== undefined || o.refractoryMs !== undefined)) throw optionError(file, "--threshold and --refractory tune --artifact: name the channel with --artifact");
  if (o.stim !== undefined && o.stim !== false && (o.artifact !== undefined || o.eventsFile !== undefined)) throw optionError(file, "--stim reads the pulses from a trigger channel: leave out --artifact and --events");
  if (typeof o.stim === "string" && format !== "edf" && format !== "bdf") {
    throw optionError(file, `--stim reads a trigger channel of an EDF or BDF file; a ${format === "xdf" ? "XDF file's pulses are marker-stream samples (--event, --event-stream)" : "BrainVision recording's pulses are its markers (--event)"}`);
  }
  if (format !== "xdf" && (o.stream !== undefined || o.eventStream !== undefined)) throw optionError(file, "--stream and --event-stream choose streams of an XDF file: leave them out");
  if (o.refractoryMs !== undefined && !(Number.isFinite(o.refractoryMs) && o.refractoryMs >= 0)) throw optionError(file, `expected a non-negative number of milliseconds for --refractory, got ${o.refractoryMs}`);
}

/**
 * Opens what the import cuts from a recording: its signal and channels, its
 * pulses (and those left out), its date. Adds what the user should know to
 * `warnings`.
 * @example
 * ```ts
 * const rec = openRecording("S01.bdf");
 * const warnings: string[] = [];
 * const p = preparePulses(rec, { channels: ["EXG1"], stim: "Status", event: "1" }, warnings);
 * p.pulses.length; p.close();
 * ```
 * @throws {ImportError} an unknown channel, event, stream or trigger value; options that do not go together; a channel that is not a voltage
 * @throws {XdfError} `EAMBIGUOUS`/`ENOCHANNEL` (XDF channels), `ETIMEORDER` (a stream whose time runs backwards)
 */
export function preparePulses(opened: OpenedRecording, options: PulseOptions, warnings: string[]): Prepared {
  const file = opened.format === "xdf" ? opened.xdf.file : opened.recording.file;
  checkOptions(file, opened.format, options);
  const p = opened.format === "xdf" ? prepareXdf(opened.xdf, options, warnings) : prepareSampled(opened.recording, opened.format, options, warnings);
  if (p.filedate === "") warnings.push("the recording states no date: filedate is stored empty (unknown), not guessed");
  if (p.leftOut.length > 0) {
    const by = new Map<string, LeftOut[]>();
    for (const l of p.leftOut) by.set(l.reason, [...(by.get(l.reason) ?? []), l]);
    for (const [reason, list] of by) {
      warnings.push(`${list.length} pulse(s) left out: ${reason}: ${list.map((l) => `${quote(l.eventName)} at ${l.sample !== undefined ? `sample ${l.sample}, ` : ""}${fmt(l.time)}`).join("; ")}`);
    }
  }
  return p;
}

/** A BrainVision or EDF/BDF recording. */
function prepareSampled(rec: BrainVisionRecording | EdfRecording, format: "brainvision" | "edf" | "bdf", options: PulseOptions, warnings: string[]): Prepared {
  const file = rec.file;
  const edf = format !== "brainvision" ? (rec as EdfRecording) : undefined;
  const idx = channelIndices(file, rec, options.channels, rec.name);
  let rate = rec.samplingRate;
  let nSamples = rec.nSamples;
  if (edf) {
    rate = edf.rateOf(idx[0]!);
    nSamples = edf.samplesOf(idx[0]!);
    if (idx.some((i) => edf.rateOf(i) !== rate)) {
      throw new ImportError("ERATE", file, `the channels ${options.channels.map(quote).join(", ")} have different sampling rates (${idx.map((i) => edf.rateOf(i)).join(", ")} Hz): cut channels of one rate`);
    }
  }
  checkUnits(file, rec, idx, options.allowNonVoltage === true, warnings);
  warnings.push(...rec.warnings);
  const signal: Signal = edf
    ? { file: rec.file, name: rec.name, samplingRate: rate, nSamples, channels: rec.channels, readWindow: (c, s, l) => edf.readWindow(c, s, l) }
    : rec;
  const leftOut: LeftOut[] = [];
  let pulses: Pulse[];
  let artifact: ArtifactDetection | undefined;
  if (options.artifact !== undefined) {
    const a = channelIndices(file, rec, [options.artifact], rec.name)[0]!;
    const aRate = edf ? edf.rateOf(a) : rate;
    const aSignal: Signal = edf ? { ...signal, samplingRate: aRate, nSamples: edf.samplesOf(a) } : signal;
    artifact = detectArtifacts(aSignal, a, artifactOptions(options));
    pulses = artifact.samples.map((s) => {
      const sample = aRate === rate ? s : Math.round((s * rate) / aRate);
      return { eventName: `artifact-${options.artifact}`, sample, time: sample / rate };
    });
  } else if (options.eventsFile !== undefined) {
    const ef = readEventsFile(options.eventsFile);
    pulses = eventsFileRows(file, ef, options).map((r) => {
      const sample = ef.unit === "sample" ? r.at : edf ? edf.sampleOf(idx[0]!, r.at) : Math.round(r.at * rate);
      return { eventName: r.name || "pulse", sample, time: ef.unit === "sample" ? r.at / rate : r.at };
    });
  } else {
    const what = format === "brainvision" ? "marker" : "annotation";
    const trigger = edf ? triggerChoice(edf, options) : undefined;
    if (trigger) {
      const t = trigger;
      if (t.events.initialValue !== 0) {
        warnings.push(`trigger channel ${quote(t.label)} starts at value ${t.events.initialValue}: as MNE's find_events (initial_event=False), that is no event`);
      }
      if (t.events.short.length > 0) {
        warnings.push(
          `trigger channel ${quote(t.label)} has ${t.events.short.length} event(s) less than 2 samples after the one before (first at sample ${t.events.events[t.events.short[0]!]!.sample}): MNE's find_events refuses such a channel by default; they are kept here`,
        );
      }
      const found = t.events.events.filter((e) => String(e.value) === options.event);
      pulses = found.map((e) => {
        const sample = t.events.rate === rate ? e.sample : Math.round((e.sample * rate) / t.events.rate);
        return { eventName: `${t.label}-${e.value}`, sample, time: sample / rate };
      });
    } else {
      const omitted = edf ? [] : (rec as BrainVisionRecording).omitted;
      const events = findEvents(file, [...rec.events, ...omitted], options.event, what, edf ? triggerListing(edf, options) : "");
      pulses = [];
      for (const e of events) {
        const sample = edf ? edf.sampleOf(idx[0]!, e.time) : e.sample!;
        if (omitted.includes(e)) {
          leftOut.push({ eventName: e.name, time: e.time, sample, reason: `beyond the data's last sample ${rec.nSamples - 1} (the data file is shorter than its marker file says)` });
        } else pulses.push({ eventName: e.name, sample, time: sample / rate });
      }
    }
  }
  const filedate = edf ? edf.startDate : (rec.startDate?.slice(0, 19) ?? "");
  return { signal, channelIndices: idx, pulses, leftOut, filedate, ...(artifact ? { artifact } : {}), close: () => rec.close() };
}

function artifactOptions(o: PulseOptions) {
  return { ...(o.threshold !== undefined ? { threshold: o.threshold } : {}), ...(o.refractoryMs !== undefined ? { refractoryMs: o.refractoryMs } : {}) };
}

/** The events named `name` among `events`, or an error listing what there is. */
function findEvents(file: string, events: readonly RecordingEvent[], name: string | undefined, what: string, also: string): RecordingEvent[] {
  if (name === undefined) throw new ImportError("ENOEVENT", file, `name the ${what} that marks a pulse with --event; ${listing(events, what)}${also}`);
  const found = events.filter((e) => e.name === name);
  if (found.length === 0) throw new ImportError("ENOEVENT", file, `no ${what} is ${quote(name)}; ${listing(events, what)}${also} (cachefile inspect lists them)`);
  return found;
}

/** The trigger channels of an EDF/BDF file by their usual names. */
function triggerChannels(edf: EdfRecording): number[] {
  return edf.channels.flatMap((c, i) => (isTriggerName(c.label) ? [i] : []));
}

function triggerListing(edf: EdfRecording, options: PulseOptions): string {
  if (options.stim === false) return "";
  return triggerChannels(edf)
    .map((i) => {
      const t = edf.triggerEvents(i);
      const values = new Map<number, number>();
      for (const e of t.events) values.set(e.value, (values.get(e.value) ?? 0) + 1);
      return `; trigger channel ${quote(edf.channels[i]!.label)} has ${values.size === 0 ? "no events" : `values ${[...values].slice(0, 20).map(([v, c]) => `${v} (${c})`).join(", ")}`} (--stim ${edf.channels[i]!.label})`;
    })
    .join("");
}

/**
 * The trigger channel to take `--event` from: the one `--stim` names; else,
 * unless `--no-stim`, the one channel with a usual trigger name that has the
 * value, where no annotation has that name. Undefined: take annotations.
 */
function triggerChoice(edf: EdfRecording, options: PulseOptions): { label: string; events: TriggerEvents & { rate: number } } | undefined {
  const file = edf.file;
  if (options.stim === false) return undefined;
  if (typeof options.stim === "string") {
    const i = edf.channels.findIndex((c) => c.label === options.stim);
    if (i === -1) {
      const usual = triggerChannels(edf).map((c) => quote(edf.channels[c]!.label));
      throw new ImportError("ENOCHANNEL", file, `${edf.name} has no channel ${quote(options.stim)} for --stim; ${usual.length ? `its trigger channels are ${usual.join(", ")}` : `its channels are ${edf.channels.slice(0, 40).map((c) => quote(c.label)).join(", ")}`}`);
    }
    const events = edf.triggerEvents(i);
    const label = edf.channels[i]!.label;
    const counts = new Map<number, number>();
    for (const e of events.events) counts.set(e.value, (counts.get(e.value) ?? 0) + 1);
    const values = counts.size === 0 ? "it has no events" : `its values are ${[...counts].slice(0, 20).map(([v, c]) => `${v} (${c})`).join(", ")}`;
    if (options.event === undefined) throw new ImportError("ENOEVENT", file, `name the value of trigger channel ${quote(label)} that marks a pulse with --event; ${values}`);
    if (!counts.has(Number(options.event)) || String(Number(options.event)) !== options.event.trim()) {
      throw new ImportError("ENOEVENT", file, `trigger channel ${quote(label)} has no event of value ${quote(options.event)}; ${values} (cachefile inspect --stim ${label} lists them)`);
    }
    return { label, events };
  }
  if (options.event === undefined) return undefined;
  const annotated = edf.events.some((e) => e.name === options.event);
  const having = triggerChannels(edf)
    .map((i) => ({ label: edf.channels[i]!.label, events: edf.triggerEvents(i) }))
    .filter((t) => t.events.events.some((e) => String(e.value) === options.event));
  if (having.length === 0) return undefined;
  if (annotated || having.length > 1) {
    const names = having.map((t) => quote(t.label)).join(", ");
    throw new ImportError(
      "EAMBIGUOUS",
      file,
      annotated
        ? `${quote(options.event)} is both an annotation and a value of trigger channel ${names}: pass --stim ${having[0]!.label} for the channel, or --no-stim for the annotations`
        : `${quote(options.event)} is a value of ${having.length} trigger channels (${names}): name one with --stim`,
    );
  }
  return having[0];
}

/** The rows of an events file that `--event` picks (all without it). */
function eventsFileRows(file: string, ef: EventsFile, options: PulseOptions): FileEvent[] {
  let rows = ef.events;
  if (options.event !== undefined) {
    if (!ef.named) throw optionError(file, `--event picks rows of an events file by their name, but ${basename(ef.file)} has no name column ("name")`);
    rows = rows.filter((r) => r.name === options.event);
    if (rows.length === 0) {
      throw new ImportError("ENOEVENT", ef.file, `no row is named ${quote(options.event)}; ${listing(ef.events.map((r) => ({ name: r.name ?? "" })), "name")}`);
    }
  }
  if (rows.length === 0) throw new ImportError("ENOEVENT", ef.file, "lists no pulse: write one sample or time per line under the header");
  return rows;
}

function streamByKey(xdf: XdfFile, key: string, what: string) {
  const byId = /^[0-9]+$/.test(key) ? xdf.streams.find((s) => s.id === Number(key)) : undefined;
  const found = byId ?? xdf.streams.find((s) => s.name === key);
  if (!found) throw new ImportError("ENOSTREAM", xdf.file, `no stream is named ${quote(key)}; the streams are ${xdf.streams.map((s) => `${s.id} ${quote(s.name)}`).join(", ")}: name the ${what} by name or id`);
  return found;
}

/** An XDF file: a regular stream, its pulses from a marker stream, Localite's stream, an events file or the artifact. */
function prepareXdf(xdf: XdfFile, options: PulseOptions, warnings: string[]): Prepared {
  const file = xdf.file;
  if (options.channels.length === 0) throw new ImportError("ENOCHANNEL", file, "name the channel of interest with --channel");
  const dataStream = options.stream !== undefined ? streamByKey(xdf, options.stream, "data stream (--stream)") : xdf.streamWithChannel(options.channels[0]!);
  const signal: XdfSignal = xdf.signal(dataStream.id);
  const idx = channelIndices(file, signal, options.channels, `stream ${dataStream.id} ${quote(signal.name)}`);
  checkUnits(file, signal, idx, options.allowNonVoltage === true, warnings);
  warnings.push(...signal.warnings);
  if (signal.timeProblem) throw signal.timeProblem;
  const t0 = signal.timeOf(0);
  const rate = signal.samplingRate;
  const leftOut: LeftOut[] = [];
  let artifact: ArtifactDetection | undefined;
  let pulses: Pulse[];
  /** A pulse at `t` (LSL clock): at the closest sample, unless no sample lies within two sampling intervals (outside the stream, or in a gap). */
  const at = (t: number, eventName: string, coil?: CoilPulse): Pulse | undefined => {
    const { index, delta } = signal.sampleAt(t);
    if (delta > 2 / rate) {
      leftOut.push({ eventName, time: t - t0, reason: `no sample of ${quote(signal.name)} lies within two sampling intervals (outside the stream's data, or in a gap)` });
      return undefined;
    }
    return { eventName, sample: index, time: signal.timeOf(index) - t0, ...(coil ? { coil } : {}) };
  };
  if (options.artifact !== undefined) {
    const a = channelIndices(file, signal, [options.artifact], `stream ${dataStream.id} ${quote(signal.name)}`)[0]!;
    artifact = detectArtifacts(signal, a, artifactOptions(options));
    pulses = artifact.samples.map((s) => ({ eventName: `artifact-${options.artifact}`, sample: s, time: signal.timeOf(s) - t0 }));
  } else if (options.eventsFile !== undefined) {
    const ef = readEventsFile(options.eventsFile);
    pulses = eventsFileRows(file, ef, options).flatMap((r) => {
      const name = r.name || "pulse";
      if (ef.unit === "time") return at(t0 + r.at, name) ?? [];
      return [{ eventName: name, sample: r.at, time: r.at < signal.nSamples ? signal.timeOf(r.at) - t0 : r.at / rate }];
    });
  } else if (options.event !== undefined) {
    const streams = options.eventStream !== undefined ? [streamByKey(xdf, options.eventStream, "marker stream (--event-stream)")] : xdf.streams.filter((s) => s.markers);
    const per = streams.filter((s) => s.markers).map((s) => ({ s, events: xdf.markerEvents(s.id).filter((e) => e.name === options.event) }));
    const hit = per.filter((q) => q.events.length > 0);
    if (hit.length > 1) {
      throw new ImportError("EAMBIGUOUS", file, `${quote(options.event)} is a sample of ${hit.length} marker streams (${hit.map((q) => quote(q.s.name)).join(", ")}): name one with --event-stream`);
    }
    if (hit.length === 0) findEvents(file, streams.filter((s) => s.markers).flatMap((s) => xdf.markerEvents(s.id)), options.event, "marker", "");
    const { s, events } = hit[0]!;
    warnings.push(...s.sync.warnings);
    pulses = events.flatMap((e) => at(e.time, `${s.name}-${options.event}`) ?? []);
  } else {
    const loc = xdf.streams.find((s) => LOCALITE_STREAMS.includes(s.name) && s.markers);
    if (!loc) findEvents(file, xdf.streams.filter((s) => s.markers).flatMap((s) => xdf.markerEvents(s.id)), undefined, "marker", "");
    warnings.push(...loc!.sync.warnings);
    const found = localiteStreamPulses(xdf.markerEvents(loc!.id));
    if (found.length === 0) throw new ImportError("ENOEVENT", file, `Localite's stream ${quote(loc!.name)} holds no pulse (no message with an amplitude): name the event with --event`);
    pulses = found.flatMap((q) => at(q.time, `${loc!.name}-coil_0_didt`, q) ?? []);
  }
  return { signal, channelIndices: idx, pulses, leftOut, filedate: xdf.recordingDate ?? "", ...(artifact ? { artifact } : {}), close: () => xdf.close() };
}
