/**
 * The index of a CacheFile: its origins and, for each trace, its origin and
 * dataset path, in offspect's order (origins by name, traces by the numeric
 * value of their names), with the layout checked on the way.
 * @internal
 * @module
 */
import { LayoutError } from "../errors.js";
import type { ObjectKind } from "../hdf5/file.js";
import type { Hdf5Source } from "../hdf5/source.js";
import { runSync } from "../work.js";

/** A trace dataset's name: a decimal integer, as offspect names them. */
export const TRACE_NAME = /^-?[0-9]+$/;

export interface TraceIndex {
  origins: string[];
  /** Index of each trace's origin in `origins`. */
  traceOrigin: number[];
  /** HDF5 path of each trace's dataset. */
  tracePath: string[];
  /** Number of traces per origin. */
  counts: number[];
}

/** offspect's order of trace names: by numeric value (then by name, for "7" and "07"). */
export function compareTraceNames(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  if (x !== y) return x < y ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

type Members = { name: string; kind: ObjectKind }[];

/** How many traces the index takes in between two yields of {@link buildIndexSteps}. */
const TRACES_PER_STEP = 256;

/**
 * Builds the index from a file's first three levels.
 * @throws {LayoutError} the file is HDF5 but not laid out as a CacheFile
 */
export function buildIndex(source: Hdf5Source): TraceIndex {
  return runSync(buildIndexSteps(source));
}

/**
 * {@link buildIndex} as a generator that yields every few hundred traces
 * (parsing a trace's header to learn that it is a dataset costs about 10
 * µs), so that an async open of a large file does not hold the event loop.
 * @throws {LayoutError} as buildIndex
 */
export function* buildIndexSteps(source: Hdf5Source): Generator<void, TraceIndex> {
  let sinceYield = 0;
  const file = source.path;
  const index: TraceIndex = { origins: [], traceOrigin: [], tracePath: [], counts: [] };
  const root: Members = source.members("/");
  for (const { name, kind } of root) {
    if (kind !== "group") throw new LayoutError(file, `/${name} is a ${kind}, but the root may only hold origin groups`, "ENOTORIGIN");
    const tracesPath = `/${name}/traces`;
    const tracesKind = source.members(`/${name}`).find((m) => m.name === "traces")?.kind;
    if (tracesKind !== "group") {
      throw new LayoutError(
        file,
        tracesKind === undefined ? `origin ${JSON.stringify(name)} has no "traces" group` : `${tracesPath} is a ${tracesKind}, expected a group of traces`,
        "ENOTRACES",
      );
    }
    if (sinceYield >= TRACES_PER_STEP) {
      sinceYield = 0;
      yield;
    }
    const traces = source.members(tracesPath);
    sinceYield += traces.length;
    for (const t of traces) {
      if (t.kind !== "dataset") throw new LayoutError(file, `${tracesPath}/${t.name} is a ${t.kind}, expected a trace dataset`, "ENOTDATASET");
      if (!TRACE_NAME.test(t.name)) throw new LayoutError(file, `${tracesPath}/${t.name} is not named by an integer trace id`, "ETRACENAME");
    }
    const names = traces.map((t) => t.name).sort(compareTraceNames);
    const o = index.origins.length;
    index.origins.push(name);
    index.counts.push(names.length);
    for (const n of names) {
      index.traceOrigin.push(o);
      index.tracePath.push(`${tracesPath}/${n}`);
    }
  }
  return index;
}
