/**
 * The overview of an origin (`GET /api/files/ID/origins/O/overview`): every
 * trace's channel of interest after its `_log` steps, on a common time axis
 * in ms from each trace's pulse, for the butterfly plot; with each trace's
 * index, reject state and flags.
 * @module
 */
import { channelsOf, processedSamples } from "./traceview.js";
import type { ReviewFile } from "./reviewfile.js";

/** The butterfly of an origin. */
export interface Overview {
  origin: string;
  /** The trace indices, in order. */
  indices: number[];
  /** Time of each column, ms from the pulse: `t0 + k * dt`, k < `columns`. */
  t0: number;
  dt: number;
  columns: number;
  /** Per trace, `columns` values (null where the trace has no sample there), µV. */
  values: (number | null)[][];
  reject: boolean[];
}

/** Columns at most; longer windows are resampled at the nearest sample. */
const MAX_COLUMNS = 600;

/**
 * The overview of origin `origin` over the window [from, to] ms around the pulse.
 * @throws the errors of reading the file
 */
export async function overview(file: ReviewFile, origin: number, from: number, to: number): Promise<Overview> {
  const s = file.summary();
  let start = 0;
  for (let o = 0; o < origin; o++) start += s.originCounts[o]!;
  const count = s.originCounts[origin]!;
  const indices = Array.from({ length: count }, (_, k) => start + k);
  const out: Overview = { origin: s.origins[origin]!, indices, t0: from, dt: 1, columns: 0, values: [], reject: [] };
  let dtSet = false;
  for (const [k, index] of indices.entries()) {
    if (k % 64 === 63) await new Promise<void>((r) => setImmediate(r));
    const trace = file.cf.traceSync(index);
    const a = trace.attrs as Record<string, unknown>;
    const fs = typeof a["samplingrate"] === "number" ? (a["samplingrate"] as number) : NaN;
    const pre = typeof a["samples_pre_event"] === "number" ? (a["samples_pre_event"] as number) : NaN;
    const shift = typeof a["onset_shift"] === "number" ? (a["onset_shift"] as number) : 0;
    out.reject.push(a["reject"] === true);
    if (!(fs > 0) || !Number.isFinite(pre)) {
      out.values.push([]);
      continue;
    }
    if (!dtSet) {
      const samples = Math.max(1, Math.round(((to - from) * fs) / 1000));
      out.columns = Math.min(samples, MAX_COLUMNS);
      out.dt = (to - from) / out.columns;
      dtSet = true;
    }
    const { data } = processedSamples(trace);
    const { coi } = channelsOf(trace);
    const channels = trace.shape[1];
    const p0 = pre + shift;
    const row: (number | null)[] = new Array(out.columns);
    for (let c = 0; c < out.columns; c++) {
      const n = Math.round(p0 + ((from + c * out.dt) * fs) / 1000);
      const v = n >= 0 && n < trace.shape[0] ? data[n * channels + coi]! : NaN;
      row[c] = Number.isFinite(v) ? Math.round(v * 100) / 100 : null;
    }
    out.values.push(row);
  }
  return out;
}
