/**
 * Synthetic EMG with TMS pulses of known samples: Gaussian noise, bursts of
 * voluntary activity (in surface EMG's band, 20-150 Hz), and at each pulse the stimulator's artifact (a jump
 * of millivolts, its ringing and an exponential decay) followed by an MEP
 * 20 ms later; as an in-memory Signal for the readers' consumers.
 */
import type { Signal } from "../../src/recordings/types.js";
import { rng } from "./xdf-sessions.js";

export interface EmgSpec {
  rate: number;
  seconds: number;
  /** Pulse times, seconds. */
  pulses: number[];
  /** Noise standard deviation, µV (default 10). */
  noise?: number;
  /** Artifact jump, µV, per pulse [min, max] (default [1500, 12000]). */
  artifact?: [number, number];
  /** MEP peak-to-peak, µV, per pulse [min, max] (default [50, 4000]). */
  mep?: [number, number];
  /** Voluntary bursts per minute (default 6), each 150-400 ms of 100-500 µV (peak of the envelope, per sine sum's standard deviation scale). */
  burstsPerMinute?: number;
  seed?: number;
}

/** The samples (µV) and the true pulse samples. */
export function syntheticEmg(spec: EmgSpec): { data: Float64Array; pulses: number[] } {
  const R = rng(spec.seed ?? 3);
  const n = Math.round(spec.rate * spec.seconds);
  const data = new Float64Array(n);
  const sd = spec.noise ?? 10;
  const gauss = () => {
    const u = Math.max(R(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * R());
  };
  for (let i = 0; i < n; i++) data[i] = sd * gauss();
  // voluntary bursts: surface EMG's band (20-150 Hz) as a sum of sines with random frequencies and phases, 100-500 µV peak
  const bursts = Math.round(((spec.burstsPerMinute ?? 6) * spec.seconds) / 60);
  for (let b = 0; b < bursts; b++) {
    const start = Math.floor(R() * n);
    const len = Math.floor((0.15 + 0.25 * R()) * spec.rate);
    const amp = 100 + 400 * R();
    const parts = Array.from({ length: 12 }, () => ({ f: 20 + 130 * R(), phase: 2 * Math.PI * R() }));
    for (let i = start; i < Math.min(n, start + len); i++) {
      const t = (i - start) / spec.rate;
      let v = 0;
      for (const p of parts) v += Math.sin(2 * Math.PI * p.f * t + p.phase);
      const env = Math.sin((Math.PI * (i - start)) / len);
      data[i]! += (amp / Math.sqrt(parts.length * 2)) * env * v;
    }
  }
  const [amin, amax] = spec.artifact ?? [1500, 12000];
  const [mmin, mmax] = spec.mep ?? [50, 4000];
  const pulses = spec.pulses.map((t) => Math.round(t * spec.rate));
  for (const p of pulses) {
    const a = (amin + (amax - amin) * R()) * (R() < 0.5 ? -1 : 1);
    // the discharge: a jump, a swing back, and a decay over ~5 ms
    const tau = 0.002 * spec.rate;
    for (let k = 0; k < 0.02 * spec.rate && p + k < n; k++) {
      const v = k === 0 ? a : k === 1 ? -0.6 * a : 0.3 * a * Math.exp(-(k - 2) / tau);
      data[p + k]! += v;
    }
    // the MEP: two periods of a 60 Hz sine under a Hann window, 20 ms after the pulse
    const m = (mmin + (mmax - mmin) * R()) / 2;
    const start = p + Math.round(0.02 * spec.rate);
    const len = Math.round(0.03 * spec.rate);
    for (let k = 0; k < len && start + k < n; k++) {
      const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * k) / len);
      data[start + k]! += m * w * Math.sin((2 * Math.PI * 60 * k) / spec.rate);
    }
  }
  return { data, pulses };
}

/** One channel of samples as a Signal. */
export function memorySignal(data: Float64Array, rate: number, label = "EDC_L"): Signal {
  return {
    file: "memory",
    name: "memory",
    samplingRate: rate,
    nSamples: data.length,
    channels: [{ label, unit: "µV", gain: 1, offset: 0, microvolts: true }],
    readWindow: (channels, start, length) => {
      const out = new Float64Array(length * channels.length);
      for (let i = 0; i < length; i++) for (let c = 0; c < channels.length; c++) out[i * channels.length + c] = data[start + i]!;
      return out;
    },
  };
}
