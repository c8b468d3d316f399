/**
 * XDF files as LabRecorder writes them, with what goes wrong in real
 * recordings: clock resets (a computer restarted: the stream's clock starts
 * again near 0 and its offset to the recorder jumps), jitter, gaps, a rate
 * off its nominal value, samples the footer does not count, streams that
 * can drop samples. Chunks are written in time order, interleaved across
 * streams, with a ClockOffset per stream every 5 s, as LabRecorder does.
 */
import { XdfWriter } from "./writers.js";

/** A deterministic generator of uniform numbers in [0, 1). */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

/** One stretch of a stream's own clock: from `start` (the stream's clock) for `seconds`, with the offset to the recorder `offset` (+ `drift` x t). */
export interface ClockStretch {
  start: number;
  seconds: number;
  offset: number;
  drift?: number;
}

export interface SessionSpec {
  /** The data stream's nominal rate, and its true one (samples per second of its clock). */
  nominal: number;
  actual?: number;
  channels?: number;
  /** Samples per chunk. */
  chunk?: number;
  /** Uniform jitter of each time stamp, ± seconds. */
  jitter?: number;
  /** The stretches of the data stream's clock, in recording order (a new stretch: a clock reset or a gap). */
  stretches: ClockStretch[];
  /** Marker times, seconds from the start of each stretch's own time, as [stretch, seconds, text]. */
  markers?: [number, number, string][];
  /** Clock offsets every this many seconds (LabRecorder: 5). */
  offsetEvery?: number;
  /** Jitter of the clock offset values, ± seconds. */
  offsetJitter?: number;
  /** Extra XML for the data stream's header (e.g. a `desc/synchronization`). */
  headerExtra?: string;
  /** Write the stamps of every other sample as deduced (0-byte) ones. */
  deduce?: boolean;
  seed?: number;
}

/** What was written: each data sample's raw stamp and true synchronised time, and each marker's. */
export interface SessionTruth {
  raw: number[];
  truth: number[];
  markers: { raw: number; truth: number; text: string }[];
}

/**
 * Writes a data stream (id 2, "BioSemi", float32) and a marker stream (id 1,
 * "Markers", string, rate 0) through the given clock stretches.
 */
export function writeSession(path: string, spec: SessionSpec): SessionTruth {
  const R = rng(spec.seed ?? 1);
  const nch = spec.channels ?? 4;
  const chunk = spec.chunk ?? 10;
  const actual = spec.actual ?? spec.nominal;
  const every = spec.offsetEvery ?? 5;
  const w = new XdfWriter(path);
  w.header(1, { name: "Markers", type: "Markers", format: "string", channels: 1, srate: 0 });
  w.header(2, { name: "BioSemi", type: "EEG", format: "float32", channels: Array.from({ length: nch }, (_, c) => ({ label: `Ch${c + 1}`, unit: "microvolts" })), srate: spec.nominal }, spec.headerExtra ?? "");
  const truth: SessionTruth = { raw: [], truth: [], markers: [] };
  let index = 0;
  const pending = [...(spec.markers ?? [])].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  spec.stretches.forEach((st, k) => {
    const n = Math.floor(st.seconds * actual);
    const offsetAt = (t: number) => st.offset + (st.drift ?? 0) * t;
    let nextOffset = st.start + every * 0.3;
    for (let i0 = 0; i0 < n; i0 += chunk) {
      const m = Math.min(chunk, n - i0);
      const stamps: (number | undefined)[] = [];
      const values: number[] = [];
      for (let i = i0; i < i0 + m; i++) {
        const clean = st.start + i / actual;
        const t = clean + (spec.jitter ? (R() - 0.5) * 2 * spec.jitter : 0);
        const deduced = spec.deduce === true && i % 2 === 1 && i > i0;
        // a deduced stamp is the previous stamp + 1 / nominal rate, as readers compute it
        const written = deduced ? truth.raw[truth.raw.length - 1]! + 1 / spec.nominal : t;
        stamps.push(deduced ? undefined : t);
        truth.raw.push(written);
        truth.truth.push(clean + offsetAt(clean));
        for (let c = 0; c < nch; c++) values.push(Math.fround(Math.sin((index + c) / 7)));
        index++;
      }
      w.samples(2, stamps, values);
      const tEnd = st.start + (i0 + m) / actual;
      while (pending.length > 0 && pending[0]![0] === k && st.start + pending[0]![1] <= tEnd) {
        const [, sec, text] = pending.shift()!;
        const raw = st.start + sec;
        w.samples(1, [raw], [[text]]);
        truth.markers.push({ raw, truth: raw + offsetAt(raw), text });
      }
      if (tEnd >= nextOffset) {
        const j = () => (spec.offsetJitter ? (R() - 0.5) * 2 * spec.offsetJitter : 0);
        w.clockOffset(1, tEnd + 0.0001, offsetAt(tEnd) + j());
        w.clockOffset(2, tEnd, offsetAt(tEnd) + j());
        nextOffset += every;
      }
    }
  });
  w.footer(2, truth.raw[0] ?? 0, truth.raw[truth.raw.length - 1] ?? 0, truth.raw.length);
  w.close();
  return truth;
}
