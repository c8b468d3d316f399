/**
 * What a neuronavigation export says about each pulse: when, where the coil
 * was, and how strong the pulse was.
 * @module
 */

/** One pulse as a neuronavigation system logged it. */
export interface CoilPulse {
  /** Seconds from the start of the navigation's own recording (its clock), when it logs times. */
  time?: number;
  /** The coil's position (the translation of its matrix), mm; NaN when the coil was not tracked. */
  xyz: [number, number, number];
  /** Stimulator output, % of its maximum; NaN when not logged. */
  mso: number;
  /** The realised rate of change of the coil current, A/µs; NaN when not logged. */
  didt: number;
  /** The coil was tracked (false: the system logged its placeholder matrix). */
  tracked: boolean;
  /** The coil's 4 x 4 matrix, row-major, when the export has one. */
  matrix?: number[];
}

/** A neuronavigation export read. */
export interface CoilPulses {
  file: string;
  format: "localite" | "brainsight";
  pulses: CoilPulse[];
}

/** Three NaNs: a pulse without coordinates, as offspect stores it. */
export const NAN_XYZ: [number, number, number] = [NaN, NaN, NaN];
