/**
 * offspect's module functions of `offspect.cache.file`, beside the
 * CacheFile class: read_trace, update_trace_attributes, write_tracedata,
 * sort_keys, asdict, parse_traceattrs, parse_tracedata.
 * @module
 */
import { resolve } from "node:path";
import { ClosedError, describe, ForeignAttributesError, IndexTypeError } from "../base/errors.js";
import { ArgumentRangeError } from "../values/errors.js";
import type { RawData } from "../hdf5/file.js";
import { parseAttrValue, pyToJs } from "../values/index.js";
import { type CacheFileBase, sessionOf } from "./cachefile.js";
import { CacheFileSession, toTraceData } from "./session.js";
import type { TraceAttributes, TraceData, WriteResult } from "./types.js";
import { setOwn } from "../base/own.js";
import { isIndexText } from "./writes.js";

// A few recently used sessions, so that module functions taking only
// attributes (updateTraceAttributes) keep their O(1) index between calls.
const recent = new Map<string, CacheFileSession>();

function sessionFor(fname: string): CacheFileSession {
  const abs = resolve(fname);
  const hit = recent.get(abs);
  if (hit) {
    recent.delete(abs);
    recent.set(abs, hit);
    return hit;
  }
  const cf = new CacheFileSession(abs);
  recent.set(abs, cf);
  if (recent.size > 8) recent.delete(recent.keys().next().value!);
  return cf;
}

/**
 * offspect's `read_trace`: the attributes (`what = "attrs"`, default) or the
 * data (`"data"`) of one trace.
 */
export function readTrace(cf: CacheFileBase, idx: number, what: "attrs"): TraceAttributes;
export function readTrace(cf: CacheFileBase, idx: number, what: "data"): TraceData;
export function readTrace(cf: CacheFileBase, idx: number): TraceAttributes;
export function readTrace(cf: CacheFileBase, idx: number, what: "attrs" | "data" = "attrs"): TraceAttributes | TraceData {
  if (what === "attrs") return sessionOf(cf).getTraceAttrs(idx);
  if (what === "data") return sessionOf(cf).getTraceData(idx);
  throw new ArgumentRangeError(`expected "attrs" or "data" for what, got ${describe(what)}`);
}

/**
 * offspect's `update_trace_attributes`: writes attributes to the file and
 * trace named by their own `cache_file` and `cache_file_index`, with the
 * readout filter and checks of `CacheFile.setTraceAttrs`.
 * @throws {IndexTypeError} cache_file_index is not a non-negative integer
 * @throws {ForeignAttributesError} cache_file is missing
 */
export function updateTraceAttributes(attrs: TraceAttributes): WriteResult {
  if (attrs === null || typeof attrs !== "object") throw new TypeError(`expected trace attributes, got ${describe(attrs)}`);
  if (!isIndexText(attrs["cache_file_index"])) throw new IndexTypeError(attrs["cache_file_index"]);
  if (typeof attrs["cache_file"] !== "string") {
    throw new ForeignAttributesError("cache_file is missing: these attributes do not name the file to write to");
  }
  return sessionFor(attrs["cache_file"]).writeAttrs(Number(attrs["cache_file_index"]), attrs);
}

/**
 * offspect's `write_tracedata`: overwrites the data of trace `idx`.
 * @throws {ShapeMismatchError} the shape differs from the stored one (nothing written)
 */
export function writeTraceData(cf: CacheFileBase, data: TraceData | Float64Array | number[][], idx: number): void {
  cf.writeData(idx, data);
}

/**
 * offspect's `sort_keys`: trace names sorted by their numeric value,
 * returned as decimal text.
 * @example sortKeys(["10", "2", "1"]) // ["1", "2", "10"]
 */
export function sortKeys(keys: Iterable<string>): string[] {
  const values = [...keys].map((k) => {
    if (typeof k !== "string" || !/^\s*[-+]?[0-9]+\s*$/.test(k)) throw new TypeError(`invalid literal for int(): ${describe(k)}`);
    return BigInt(k.trim());
  });
  values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return values.map(String);
}

/** offspect's `asdict`: attributes as a plain object. */
export function asDict(attrs: Record<string, string> | Map<string, string> | Iterable<[string, string]>): Record<string, string> {
  const entries = attrs instanceof Map || Symbol.iterator in Object(attrs) ? [...(attrs as Iterable<[string, string]>)] : Object.entries(attrs);
  const out: Record<string, string> = {};
  for (const [k, v] of entries) setOwn(out, k, v);
  return out;
}

/**
 * offspect's `parse_traceattrs`: every value read as a Python literal (numbers,
 * lists, True/False, None), text that is not one staying text, `inf`/`nan` as
 * numbers, and an unreadable `xyz_coords` as three NaNs.
 * @example parseTraceAttrs({ reject: "False", xyz_coords: "[37.0, 22.8, 54.2]" }) // { reject: false, xyz_coords: [37, 22.8, 54.2] }
 */
export function parseTraceAttrs(attrs: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(asDict(attrs))) {
    setOwn(out, k, pyToJs(parseAttrValue(k, v)));
  }
  return out;
}

/** What {@link parseTraceData} reads from: an open file (an `H5File`, or the reader of `CacheFile.withReader`). */
export interface DatasetReader {
  readonly path: string;
  readonly isOpen?: boolean;
  read(path: string): RawData;
}

/** offspect's `parse_tracedata`: a dataset of an open file as {@link TraceData}. */
export function parseTraceData(file: DatasetReader, path: string): TraceData {
  if (file.isOpen === false) throw new ClosedError(`the HDF5 file ${file.path}`);
  return toTraceData(file.read(path), file.path, path);
}
