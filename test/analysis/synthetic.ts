/**
 * Synthetic MEP sessions with known peaks, onsets, noise and background
 * activity, written with populate (seeded: the same arguments give the same
 * file). Shared by the analysis tests and scripts/bench/analysis.ts.
 */
import { populate } from "../../src/offspect.js";
import { type Annotation, type TraceData } from "../../src/index.js";
import { mulberry32 } from "../../src/analysis/prng.js";

/** One synthetic trace: what was put in. */
export interface SyntheticTrace {
  /** Onset of the MEP, ms after the pulse (null: no MEP). */
  onsetMs: number | null;
  /** Amplitude of each lobe, µV (the MEP is -A sin(2π (t - onset) / period) for one period). */
  amplitude: number;
  /** Period of the biphasic MEP, ms. */
  periodMs: number;
  /** Standard deviation of the white noise, µV. */
  noise: number;
  /** Samples by which the pulse lies after samples_pre_event. */
  onsetShift: number;
  /** A constant added after the pulse (so that a window may never cross the baseline mean). */
  offset: number;
  xyz: [number, number, number];
  /** Stored peak fields (null: not annotated). */
  peaks?: { neg: number; pos: number } | null;
  reject?: boolean;
}

export interface SessionSpec {
  samplingrate: number;
  preMs: number;
  postMs: number;
  origins: { name: string; traces: SyntheticTrace[] }[];
  channels?: string[];
  channelOfInterest?: string;
  seed?: number;
}

/** Standard normal numbers from a seeded generator (Box–Muller). */
export function gaussian(seed: number): () => number {
  const r = mulberry32(seed);
  return () => {
    const u = Math.max(r(), 1e-300);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  };
}

/** The samples of one synthetic trace (channel of interest; other channels get noise). */
export function traceSamples(t: SyntheticTrace, fs: number, pre: number, post: number, channels: number, coi: number, g: () => number): TraceData {
  const n = pre + post;
  const data = new Float64Array(n * channels);
  const p0 = pre + t.onsetShift;
  for (let i = 0; i < n; i++) {
    const ms = ((i - p0) * 1000) / fs;
    for (let c = 0; c < channels; c++) {
      let v = t.noise * g();
      if (c === coi) {
        if (t.onsetMs !== null && ms >= t.onsetMs && ms <= t.onsetMs + t.periodMs) v += -t.amplitude * Math.sin((2 * Math.PI * (ms - t.onsetMs)) / t.periodMs);
        if (ms > 0) v += t.offset;
      }
      data[i * channels + c] = v;
    }
  }
  return { data, shape: [n, channels] };
}

/** Writes the session to `path` with populate; returns the path. */
export function writeSession(path: string, spec: SessionSpec): string {
  const fs = spec.samplingrate;
  const pre = Math.round((spec.preMs * fs) / 1000);
  const post = Math.round((spec.postMs * fs) / 1000);
  const channels = spec.channels ?? ["EDC_L"];
  const coiName = spec.channelOfInterest ?? channels[0]!;
  const coi = channels.indexOf(coiName);
  const g = gaussian(spec.seed ?? 1);
  const annotations: Annotation[] = [];
  const traces: TraceData[][] = [];
  for (const o of spec.origins) {
    annotations.push({
      origin: o.name,
      attrs: {
        channel_labels: channels,
        channel_of_interest: coiName,
        samplingrate: fs,
        samples_pre_event: pre,
        samples_post_event: post,
        subject: "S01",
        readin: "tms",
        readout: "cmep",
        version: "0.1.2",
        global_comment: "",
        filedate: "2020-05-17 18:02:00",
        history: "",
      },
      traces: o.traces.map((t, id) => ({
        id,
        event_name: "S  1",
        event_sample: 5000 * (id + 1),
        event_time: 5 * (id + 1),
        onset_shift: t.onsetShift,
        time_since_last_pulse_in_s: id === 0 ? Infinity : 5,
        reject: t.reject ?? false,
        comment: "",
        examiner: "",
        stimulation_intensity_mso: 60,
        stimulation_intensity_didt: null,
        neg_peak_magnitude_uv: t.peaks ? t.peaks.neg : null,
        neg_peak_latency_ms: t.peaks ? 20.0 : null,
        pos_peak_magnitude_uv: t.peaks ? t.peaks.pos : null,
        pos_peak_latency_ms: t.peaks ? 30.0 : null,
        zcr_latency_ms: null,
        xyz_coords: t.xyz,
        channel_of_interest: coiName,
      })),
    });
    traces.push(o.traces.map((t) => traceSamples(t, fs, pre, post, channels.length, coi, g)));
  }
  return populate(path, annotations, traces);
}

/** A varied set of traces: MEPs of several sizes, onsets and shifts, no MEP, background activity, no crossing. */
export function variedTraces(seed: number, count: number): SyntheticTrace[] {
  const r = mulberry32(seed);
  const out: SyntheticTrace[] = [];
  for (let k = 0; k < count; k++) {
    const kind = k % 6;
    out.push({
      onsetMs: kind === 3 ? null : 16 + Math.floor(r() * 14),
      amplitude: kind === 3 ? 0 : [800, 300, 60, 0, 1500, 400][kind]!,
      periodMs: 8 + Math.floor(r() * 10),
      noise: kind === 4 ? 35 : 1 + r() * 4,
      onsetShift: [0, 3, -2, 0, 1, 0][kind]!,
      offset: kind === 5 ? 2000 : 0,
      xyz: [-37 + r() * 6, -20 + r() * 6, 55 + r() * 6],
    });
  }
  return out;
}

/** Clear MEPs of random size, onset and period, a little noise: `count` traces from `seed` (the --jobs tests and benchmark). */
export function randomMeps(seed: number, count: number): SyntheticTrace[] {
  const r = mulberry32(seed);
  return Array.from({ length: count }, () => ({
    onsetMs: 18 + Math.floor(r() * 6),
    amplitude: 1200 * (0.6 + 0.8 * r()),
    periodMs: 10 + Math.floor(r() * 6),
    noise: 2 + 3 * r(),
    onsetShift: 0,
    offset: 0,
    xyz: [-60 + 10 * r(), -45 + 10 * r(), 58 + r()],
  }));
}
