/** The types of probe.mjs (a plain-JS child run under node on dist/). */
export declare const OPS: readonly ["open", "iterate", "peek", "validate", "async", "merge"];
export type Op = (typeof OPS)[number];

export interface ProbeResult {
  op: Op;
  ok: boolean;
  name?: string;
  code?: string;
  reason?: string;
  message?: string;
  generic?: boolean;
  traces?: number;
  problems?: number;
  sourcesChanged?: boolean;
  leftovers?: string[];
  /** HDF5 files and objects still open after the operation (leaks). */
  open?: number;
  ms?: number;
}

/** Runs one operation and describes the outcome; never throws. */
export declare function probe(op: Op, file: string, partner?: string): Promise<ProbeResult>;
