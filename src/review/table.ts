/**
 * What the review keeps of every trace of a file: its stored annotations
 * (reject, peaks, coordinates), the automatic estimate (`annotateTrace`) and
 * the flags, built by one pass over the file that lets the event loop turn
 * every few traces, and brought up to date row by row after the review's
 * own writes.
 * @module
 */
import { annotateTrace, type TraceMeasures } from "../analysis/measures.js";
import type { OffspectCacheFile as CacheFile } from "../cachefile/index.js";
import { mniToVoxel } from "../map/project.js";
import type { Trace } from "../cachefile/traceTypes.js";
import { computeFlags, type FlagName } from "./flags.js";


/** One trace's row. */
export interface Row {
  /** Index of its origin in the file's origins. */
  origin: number;
  id: number;
  reject: boolean;
  /** Whether any of the four peak fields is set (offspect: a trace whose peaks are None was not inspected). */
  inspected: boolean;
  negMag: number | null;
  negLat: number | null;
  posMag: number | null;
  posLat: number | null;
  /** The coordinates when they are three finite numbers on the MNI grid. */
  coords: [number, number, number] | null;
  /** The stored text a map reads (reject, the peak magnitudes, xyz_coords). */
  mapText: Record<string, string | undefined>;
  /** The automatic estimate, null when the trace cannot be measured. */
  estimate: TraceMeasures | null;
  /** Why it cannot be measured. */
  estimateError: string | null;
  flags: FlagName[];
}

/** Review status of a file: every trace is one of these. */
export interface ReviewStatus {
  /** Not rejected, no peak set. */
  uninspected: number;
  rejected: number;
  /** Not rejected, peaks set. */
  annotated: number;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The estimate of a trace, or why there is none. */
export function estimateOf(trace: Trace): { estimate: TraceMeasures | null; error: string | null } {
  try {
    return { estimate: annotateTrace({ data: trace.data, shape: trace.shape }, trace.text), error: null };
  } catch (e) {
    return { estimate: null, error: e instanceof Error ? e.message : String(e) };
  }
}

/** A trace's row (its flags filled in later, per origin). */
export function rowOf(trace: Trace, origin: number): Row {
  const a = trace.attrs as Record<string, unknown>;
  const negMag = num(a["neg_peak_magnitude_uv"]);
  const negLat = num(a["neg_peak_latency_ms"]);
  const posMag = num(a["pos_peak_magnitude_uv"]);
  const posLat = num(a["pos_peak_latency_ms"]);
  const xyz = a["xyz_coords"];
  const coords = Array.isArray(xyz) && xyz.length === 3 && xyz.every((v) => typeof v === "number" && Number.isFinite(v)) && mniToVoxel(xyz) ? ([xyz[0], xyz[1], xyz[2]] as [number, number, number]) : null;
  const { estimate, error } = estimateOf(trace);
  const t = trace.text;
  return {
    origin,
    id: trace.id,
    reject: a["reject"] === true,
    inspected: negMag !== null || negLat !== null || posMag !== null || posLat !== null,
    negMag,
    negLat,
    posMag,
    posLat,
    coords,
    mapText: { reject: t["reject"], pos_peak_magnitude_uv: t["pos_peak_magnitude_uv"], neg_peak_magnitude_uv: t["neg_peak_magnitude_uv"], xyz_coords: t["xyz_coords"] },
    estimate,
    estimateError: error,
    flags: [],
  };
}

/** Traces read between two turns of the event loop while a table is built. */
const SLICE = 16;

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The rows of every trace of a file, with its origins; built by {@link FileTable.build}. */
export class FileTable {
  readonly rows: Row[] = [];
  readonly origins: string[];
  /** First index of each origin. */
  readonly originStart: number[];
  readonly originCounts: number[];

  private constructor(origins: string[], counts: number[]) {
    this.origins = origins;
    this.originCounts = counts;
    this.originStart = [];
    let start = 0;
    for (const n of counts) {
      this.originStart.push(start);
      start += n;
    }
  }

  get length(): number {
    return this.originCounts.reduce((a, b) => a + b, 0);
  }

  /** The origin index of trace `index`. */
  originOf(index: number): number {
    let o = 0;
    while (o + 1 < this.originStart.length && this.originStart[o + 1]! <= index) o++;
    return o;
  }

  /**
   * Reads every trace of `cf` (the event loop turns every few traces;
   * `onProgress` gets the fraction done; each slice of reads waits for
   * `settled`, see ReviewFile.settled), then computes the flags.
   * @throws the errors of reading the file
   */
  static async build(cf: CacheFile, onProgress?: (done: number, total: number) => void, settled: () => Promise<void> = async () => undefined): Promise<FileTable> {
    await turn();
    await settled();
    const table = new FileTable(cf.origins, cf.originCounts);
    const total = table.length;
    for (let i = 0; i < total; i++) {
      if (i % SLICE === 0 && i > 0) {
        onProgress?.(i, total);
        await turn();
        await settled();
      }
      table.rows.push(rowOf(cf.traceSync(i), table.originOf(i)));
    }
    table.flag();
    onProgress?.(total, total);
    return table;
  }

  /** Reads the rows of `indices` again (after a write), and the flags. */
  refresh(cf: CacheFile, indices: Iterable<number>): void {
    for (const i of indices) this.rows[i] = rowOf(cf.traceSync(i), this.originOf(i));
    this.flag();
  }

  /** Sets every row's flags. */
  flag(): void {
    computeFlags(this.rows, this.originStart.map((start, o) => ({ start, count: this.originCounts[o]! })));
  }

  /** The review status counts. */
  status(): ReviewStatus {
    const s: ReviewStatus = { uninspected: 0, rejected: 0, annotated: 0 };
    for (const r of this.rows) {
      if (r.reject) s.rejected++;
      else if (r.inspected) s.annotated++;
      else s.uninspected++;
    }
    return s;
  }
}
