/**
 * The overview of an origin (`GET /api/files/ID/origins/O/overview`): every
 * trace's channel of interest after its `_log` steps, on a common time axis
 * in ms from each trace's pulse, for the butterfly plot; with each trace's
 * index, reject state and flags.
 * @module
 */
import { decodeText, truthy } from "../values/attrs.js";
import { loggedSteps, processData } from "../steps/process.js";
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
  await file.settled();
  for (const [k, index] of indices.entries()) {
    if (k % 64 === 63) {
      await new Promise<void>((r) => setImmediate(r));
      await file.settled();
    }
    // The stored text and the samples (no typed decoding of every attribute: a few are needed).
    const attrs = file.cf.getTraceAttrs(index);
    const trace = file.cf.getTraceData(index);
    const num = (key: string) => {
      const v = decodeText(attrs[key]);
      return typeof v === "number" && Number.isFinite(v) ? v : NaN;
    };
    const fs = num("samplingrate");
    const pre = num("samples_pre_event");
    const shift = Number.isInteger(num("onset_shift")) ? num("onset_shift") : 0;
    out.reject.push(truthy(decodeText(attrs["reject"])));
    if (!(fs > 0) || !Number.isInteger(pre)) {
      out.values.push([]);
      continue;
    }
    if (!dtSet) {
      const samples = Math.max(1, Math.round(((to - from) * fs) / 1000));
      out.columns = Math.min(samples, MAX_COLUMNS);
      out.dt = (to - from) / out.columns;
      dtSet = true;
    }
    let data = trace.data;
    try {
      if (loggedSteps(attrs).length > 0) data = processData(trace, attrs).data;
    } catch {
      // A _log that cannot be replayed: the raw samples (the trace view says why).
    }
    const labels = decodeText(attrs["channel_labels"]);
    const channels = trace.shape[1];
    const at = Array.isArray(labels) ? labels.map(String).indexOf(attrs["channel_of_interest"] ?? "") : -1;
    const coi = at >= 0 && at < channels ? at : 0;
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
