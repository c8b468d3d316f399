/**
 * The flags the review badges a trace with, computed from the rows of a
 * file's table:
 * - `background`: the estimate finds background EMG before the pulse
 *   (`background_active` of `annotateTrace`: baseline RMS above 20 µV);
 * - `outlier`: its peak-to-peak amplitude (stored, else estimated) lies more
 *   than {@link OUTLIER_Z} standard deviations from the mean of its origin's
 *   traces that are not rejected (at least 3 of them);
 * - `nocoords`: no usable coordinates (not three finite numbers on the MNI grid);
 * - `uninspected`: none of the four peak fields is set.
 * @module
 */
import type { TraceMeasures } from "../analysis/measures.js";

/** The flags, in the order they are shown. */
export const FLAG_NAMES = ["background", "outlier", "nocoords", "uninspected"] as const;

/** A flag. */
export type FlagName = (typeof FLAG_NAMES)[number];

/** |z| of the peak-to-peak amplitude within its origin from which a trace is an outlier. */
export const OUTLIER_Z = 3;

/** What the flags of a trace are computed from (a row of the review's table). */
export interface Flagged {
  reject: boolean;
  inspected: boolean;
  negMag: number | null;
  posMag: number | null;
  coords: readonly [number, number, number] | null;
  estimate: Pick<TraceMeasures, "ptp_uv" | "background_active"> | null;
  flags: FlagName[];
}

/** The peak-to-peak amplitude a row shows: the stored one, else the estimate's. */
export function ptpOf(row: Flagged): number | null {
  if (row.negMag !== null && row.posMag !== null) return row.posMag - row.negMag;
  return row.estimate ? row.estimate.ptp_uv : null;
}

/** Sets the flags of every row; `origins` gives each origin's first row and count. */
export function computeFlags(rows: Flagged[], origins: readonly { start: number; count: number }[]): void {
  const z = new Float64Array(rows.length);
  origins.forEach(({ start, count }) => {
    const end = start + count;
    let n = 0;
    let sum = 0;
    let sq = 0;
    for (let i = start; i < end && i < rows.length; i++) {
      const v = ptpOf(rows[i]!);
      if (rows[i]!.reject || v === null) continue;
      n++;
      sum += v;
      sq += v * v;
    }
    const mean = n > 0 ? sum / n : 0;
    const sd = n > 1 ? Math.sqrt(Math.max(0, (sq - n * mean * mean) / (n - 1))) : 0;
    for (let i = start; i < end && i < rows.length; i++) {
      const v = ptpOf(rows[i]!);
      z[i] = n >= 3 && sd > 0 && v !== null ? (v - mean) / sd : 0;
    }
  });
  rows.forEach((r, i) => {
    const flags: FlagName[] = [];
    if (r.estimate?.background_active === true) flags.push("background");
    if (Math.abs(z[i]!) > OUTLIER_Z) flags.push("outlier");
    if (r.coords === null) flags.push("nocoords");
    if (!r.inspected) flags.push("uninspected");
    r.flags = flags;
  });
}
