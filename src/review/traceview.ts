/**
 * What the page shows of one trace (`GET /api/files/ID/traces/I`): where it
 * is, its attributes typed and as stored, its samples after its `_log`
 * steps (as `processData`), the automatic estimate beside the stored
 * peaks, its flags and its coil position.
 * @module
 */
import { MEASURE_DEFAULTS, type TraceMeasures } from "../analysis/measures.js";
import { loggedSteps, processData } from "../steps/process.js";
import type { Trace } from "../cachefile/traceTypes.js";
import type { ReviewFile } from "./reviewfile.js";
import { estimateOf, rowOf } from "./table.js";
import type { FlagName } from "./flags.js";

/** A trace as the page shows it. */
export interface TraceView {
  file: number;
  index: number;
  /** Traces in the file. */
  count: number;
  origin: string;
  /** 0-based index of the origin, its traces, and this trace's 0-based place among them. */
  originIndex: number;
  originCount: number;
  originPosition: number;
  id: number;
  /** Samples x channels. */
  shape: readonly [number, number];
  channels: string[];
  /** Column of the channel of interest (the one measured). */
  channelOfInterest: number;
  samplingrate: number | null;
  /** The pulse's sample: samples_pre_event + onset_shift (the library's convention, as the baseline step). */
  pulseSample: number | null;
  attrs: Record<string, unknown>;
  text: Record<string, string>;
  /** The `_log` steps replayed on the samples, in order. */
  steps: string[];
  /** Why the steps could not be replayed (the samples are then the raw ones). */
  stepError: string | null;
  estimate: TraceMeasures | null;
  estimateError: string | null;
  flags: FlagName[];
  /** Whether the flags include those computed over the origin (`outlier`): false while the file's table is built. */
  flagsFinal: boolean;
  /** The peak and baseline windows of the estimate, ms from the pulse. */
  windows: { peak: readonly [number, number]; baseline: readonly [number, number] };
  globalComment: string;
  coords: [number, number, number] | null;
  /** The samples after the steps, row-major (absent with `?samples=none`). */
  samples?: number[];
}

const int = (v: unknown): number | null => (typeof v === "number" && Number.isInteger(v) ? v : null);

/** The samples after the trace's `_log` steps, or the raw ones and why not. */
export function processedSamples(trace: Trace): { data: Float64Array; steps: string[]; error: string | null } {
  try {
    const steps = loggedSteps(trace.text);
    return { data: processData({ data: trace.data, shape: trace.shape }, trace.text).data, steps, error: null };
  } catch (e) {
    return { data: trace.data, steps: [], error: e instanceof Error ? e.message : String(e) };
  }
}

/** The channel labels and the column of the channel of interest. */
export function channelsOf(trace: Trace): { channels: string[]; coi: number } {
  const n = trace.shape[1];
  const labels = Array.isArray(trace.attrs.channel_labels) ? trace.attrs.channel_labels.map(String) : [];
  const channels = Array.from({ length: n }, (_, c) => labels[c] ?? `channel ${c}`);
  const at = labels.indexOf(String(trace.attrs.channel_of_interest));
  return { channels, coi: at >= 0 && at < n ? at : 0 };
}

/** The view of a trace read from `file`. */
export function traceView(file: ReviewFile, trace: Trace, withSamples: boolean): TraceView {
  const summary = file.summary();
  const originIndex = summary.origins.indexOf(trace.origin);
  let start = 0;
  for (let o = 0; o < originIndex; o++) start += summary.originCounts[o]!;
  const attrs = trace.attrs as Record<string, unknown>;
  const pre = int(attrs["samples_pre_event"]);
  const shift = int(attrs["onset_shift"]) ?? 0;
  const fs = typeof attrs["samplingrate"] === "number" && (attrs["samplingrate"] as number) > 0 ? (attrs["samplingrate"] as number) : null;
  const { data, steps, error } = processedSamples(trace);
  const { estimate, error: estimateError } = estimateOf(trace);
  const { channels, coi } = channelsOf(trace);
  const table = file.table;
  const row = table && table.rows.length === summary.traces ? table.rows[trace.index] : undefined;
  let flags: FlagName[];
  if (row) flags = row.flags;
  else {
    const own = rowOf(trace, Math.max(0, originIndex));
    flags = [...(own.estimate?.background_active ? ["background" as const] : []), ...(own.coords ? [] : ["nocoords" as const]), ...(own.inspected ? [] : ["uninspected" as const])];
  }
  const coords = attrs["xyz_coords"];
  const view: TraceView = {
    file: file.id,
    index: trace.index,
    count: summary.traces,
    origin: trace.origin,
    originIndex,
    originCount: summary.originCounts[originIndex] ?? 0,
    originPosition: trace.index - start,
    id: trace.id,
    shape: trace.shape,
    channels,
    channelOfInterest: coi,
    samplingrate: fs,
    pulseSample: pre === null ? null : pre + shift,
    attrs,
    text: { ...trace.text },
    steps,
    stepError: error,
    estimate,
    estimateError,
    flags,
    flagsFinal: row !== undefined,
    windows: { peak: MEASURE_DEFAULTS.window, baseline: MEASURE_DEFAULTS.baselineWindow },
    globalComment: trace.text["global_comment"] ?? "",
    coords: Array.isArray(coords) && coords.length === 3 && coords.every((v) => typeof v === "number" && Number.isFinite(v)) ? (coords as [number, number, number]) : null,
  };
  if (withSamples) view.samples = Array.from(data);
  return view;
}
