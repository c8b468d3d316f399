/**
 * The index of a CacheFile: its origins and, for each trace, its origin and
 * dataset path, in offspect's order (origins by name, traces by the numeric
 * value of their names), with the layout checked on the way.
 * @internal
 * @module
 */
import { LayoutError } from "../base/errors.js";
import type { ObjectKind } from "../hdf5/file.js";
import type { Hdf5Source } from "../hdf5/source.js";
import { runSync } from "../base/work.js";

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
  /**
   * Per trace, 1 once it was found to be a dataset: the index is built from
   * the groups' member names alone (no trace's object header parsed), and
   * each trace is checked when it is first read ({@link checkedTracePath}).
   */
  checked: Uint8Array;
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
 * Builds the index from a file's first levels: the origin groups, their
 * `traces` groups and the names in them.
 * @throws {LayoutError} the file is HDF5 but not laid out as a CacheFile
 */
export function buildIndex(source: Hdf5Source): TraceIndex {
  return runSync(buildIndexSteps(source));
}

/**
 * {@link buildIndex} as a generator that yields every few hundred traces,
 * so that an async open of a large file does not hold the event loop.
 * @throws {LayoutError} as buildIndex
 */
export function* buildIndexSteps(source: Hdf5Source): Generator<void, TraceIndex> {
  let sinceYield = 0;
  const file = source.path;
  const index: TraceIndex = { origins: [], traceOrigin: [], tracePath: [], counts: [], checked: new Uint8Array(0) };
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
    // The names alone: each trace's header is parsed (and its kind checked) when it is first read.
    const names = source.keys(tracesPath);
    sinceYield += names.length;
    for (const n of names) {
      if (!TRACE_NAME.test(n)) throw new LayoutError(file, `${tracesPath}/${n} is not named by an integer trace id`, "ETRACENAME");
    }
    names.sort(compareTraceNames);
    const o = index.origins.length;
    index.origins.push(name);
    index.counts.push(names.length);
    for (const n of names) {
      index.traceOrigin.push(o);
      index.tracePath.push(`${tracesPath}/${n}`);
    }
  }
  index.checked = new Uint8Array(index.tracePath.length);
  return index;
}

/**
 * The path of trace `i`, checked (the first time) to be a dataset.
 * @throws {LayoutError} (reason ENOTDATASET) it is a group, a link, or anything but a dataset
 */
export function checkedTracePath(source: Hdf5Source, index: TraceIndex, i: number): string {
  const path = index.tracePath[i]!;
  if (index.checked[i] === 1) return path;
  const kind = source.kind(path);
  if (kind !== "dataset") throw new LayoutError(source.path, `${path} is ${kind === undefined ? "not an object of the file (a link)" : `a ${kind}`}, expected a trace dataset`, "ENOTDATASET");
  index.checked[i] = 1;
  return path;
}
