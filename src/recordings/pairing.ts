/**
 * Pairing the pulses a neuronavigation system logged with the pulses found
 * in a recording: by order (the n-th with the n-th; the counts must agree),
 * or by time (the logged times, on the navigation's own clock, follow the
 * recording's pulse times within a tolerance, after aligning the first
 * recorded pulse with one of the first logged ones, and following a slow
 * drift between the two clocks).
 * @module
 */
import type { CoilPulse, CoilPulses } from "./coords.js";
import { CoordsError } from "./errors.js";

export type PairMode = "time" | "order";

export interface PairOptions {
  mode: PairMode;
  /** Largest difference between a recorded and a logged pulse's time after alignment, seconds (default 0.05). */
  tolerance?: number;
}

const fmt = (s: number) => `${s.toFixed(3)} s`;

/**
 * For each recorded pulse time (seconds from the recording's first sample),
 * the logged pulse paired with it.
 * @example
 * ```ts
 * const coils = readTriggerMarkers("TriggerMarkers_Coil0_1.xml");
 * pairPulses([1.2, 6.3, 11.1], coils, { mode: "time" }); // [CoilPulse, CoilPulse, CoilPulse]
 * ```
 * @throws {CoordsError} `ECOUNT` (order: the counts differ), `ENOTIMES` (time: the file logs no times), `ETIMES` (time: a pulse without a logged pulse near it)
 */
export function pairPulses(times: readonly number[], coils: CoilPulses, options: PairOptions): CoilPulse[] {
  const logged = coils.pulses;
  if (options.mode === "order") {
    if (logged.length !== times.length) {
      throw new CoordsError(
        "ECOUNT",
        coils.file,
        `logs ${logged.length} pulses but the recording has ${times.length}: the counts must agree to pair by order; check --event, or pair by time (--pair time)`,
      );
    }
    return [...logged];
  }
  if (logged.some((p) => p.time === undefined)) {
    throw new CoordsError("ENOTIMES", coils.file, "logs no time for its pulses: pair by order (--pair order)");
  }
  const tol = options.tolerance ?? 0.05;
  if (times.length === 0) return [];
  if (logged.length < times.length) {
    throw new CoordsError(
      "ECOUNT",
      coils.file,
      `logs ${logged.length} pulses but the recording has ${times.length}: every recorded pulse needs a logged one; check --event`,
    );
  }
  const lt = logged.map((p) => p.time!);
  /** Pairs with the first recorded pulse aligned to logged pulse `j0`; the index reached, or the pairing. */
  const attempt = (j0: number): { paired?: number[]; failedAt: number; nearest: number } => {
    const out: number[] = [j0];
    let offset = times[0]! - lt[j0]!;
    let j = j0;
    for (let i = 1; i < times.length; i++) {
      const predicted = times[i]! - offset;
      let k = j + 1;
      while (k + 1 < lt.length && Math.abs(lt[k + 1]! - predicted) <= Math.abs(lt[k]! - predicted)) k++;
      if (k >= lt.length || Math.abs(lt[k]! - predicted) > tol) {
        return { failedAt: i, nearest: k < lt.length ? lt[k]! + offset : NaN };
      }
      out.push(k);
      offset = times[i]! - lt[k]!;
      j = k;
    }
    return { paired: out, failedAt: times.length, nearest: NaN };
  };
  let best: { j0: number; failedAt: number; nearest: number } | undefined;
  const candidates = Math.min(lt.length - times.length + 1, 64);
  for (let j0 = 0; j0 < candidates; j0++) {
    const a = attempt(j0);
    if (a.paired) return a.paired.map((j) => logged[j]!);
    if (!best || a.failedAt > best.failedAt) best = { j0, failedAt: a.failedAt, nearest: a.nearest };
  }
  const b = best!;
  const i = b.failedAt;
  throw new CoordsError(
    "ETIMES",
    coils.file,
    `the logged pulse times do not follow the recording's: with the first recorded pulse on logged pulse ${b.j0 + 1}, recorded pulse ${i + 1} at ${fmt(times[i]!)} has no logged pulse within ${Math.round(tol * 1000)} ms` +
      (Number.isFinite(b.nearest) ? ` (the nearest is at ${fmt(b.nearest)})` : "") +
      "; check --event, widen --tolerance, or pair by order (--pair order)",
  );
}
