/**
 * `writeMeasures`: the one place where a batch of measures goes into a file.
 * @module
 */
import { CacheFile } from "../cachefile.js";
import { encode } from "../codec.js";
import { describe, IndexRangeError, IndexTypeError } from "../errors.js";
import { getReadout, traceKeySpecs } from "../readouts.js";
import { attrIsNull, encodeFloat } from "./attrs.js";
import { AnalysisError, PartialWriteError } from "./errors.js";

/**
 * The values to store on one trace: numbers are stored as floats (offspect's
 * `encode(float(x))`: `37.0`, `-55.48`), null as `null` (offspect's
 * `encode(None)`), booleans as `True` / `False` (what offspect's populate
 * writes: both offspect's `decode` and its `parse_traceattrs` read them as
 * booleans, while the `true` of offspect's `encode` stays text for
 * `parse_traceattrs`).
 */
export interface MeasureUpdate {
  index: number;
  values: Record<string, number | boolean | null>;
}

/** What {@link writeMeasures} did. */
export interface WriteMeasuresResult {
  /** Indices of the traces whose stored values changed, ascending by update order. */
  changed: number[];
  /** Attribute values written, over all traces. */
  values: number;
}

/** A value as stored (see {@link MeasureUpdate}). */
function encodeValue(v: number | boolean | null): string {
  if (typeof v === "number") return encodeFloat(v);
  if (typeof v === "boolean") return v ? "True" : "False";
  return encode(v);
}

/**
 * Stores measures on traces of one file, with `setTraceAttrs`' checks (only
 * trace keys of the trace's readout, every value checked). Every update is
 * checked before the first write: an unknown key, an index out of range or a
 * non-finite number writes nothing. Should a write fail part-way (the file
 * locked by another process, a full disk), the traces already written are
 * put back as they were and the error is thrown; if that fails too, a
 * {@link PartialWriteError} lists the traces left changed.
 *
 * This is the batch's only write path; it calls `setTraceAttrs` once per
 * trace (one open, lock, write, flush and close each).
 *
 * @example
 * ```ts
 * writeMeasures(new CacheFile("S01.hdf5"), [
 *   { index: 0, values: { neg_peak_magnitude_uv: -212.4, neg_peak_latency_ms: 21, zcr_latency_ms: null } },
 * ]); // { changed: [0], values: 3 }
 * ```
 * @throws {AnalysisError} `EANALYSISINPUT` for a key that is not a trace key of the trace's readout or a value that is not a finite number, a boolean or null
 * @throws {IndexRangeError} / {IndexTypeError} an index that is not a trace of the file
 * @throws {PartialWriteError} a write failed and the traces written before could not be restored
 * @throws the error of a failed write (e.g. {@link FileInUseError}) when they could
 */
export function writeMeasures(cf: CacheFile, updates: readonly MeasureUpdate[]): WriteMeasuresResult {
  if (!(cf instanceof CacheFile)) throw new TypeError(`expected a CacheFile, got ${describe(cf)}`);
  if (!Array.isArray(updates)) throw new TypeError(`expected an array of { index, values } for updates, got ${describe(updates)}`);
  const length = cf.length;
  // 1. Plan every write: the new attributes and the stored values they replace.
  const plans: { index: number; attrs: Record<string, string>; before: Record<string, string | undefined> }[] = [];
  for (const u of updates) {
    if (u === null || typeof u !== "object" || u.values === null || typeof u.values !== "object") {
      throw new TypeError(`expected { index, values } in updates, got ${describe(u)}`);
    }
    if (!Number.isInteger(u.index)) throw new IndexTypeError(u.index);
    if (u.index < 0 || u.index >= length) throw new IndexRangeError(u.index, length, cf.fname);
    const attrs = cf.getTraceAttrs(u.index);
    const specs = traceKeySpecs(getReadout(attrs["readin"], attrs["readout"]));
    const before: Record<string, string | undefined> = {};
    let changed = false;
    for (const [key, value] of Object.entries(u.values)) {
      if (!(key in specs)) {
        throw new AnalysisError(
          "EANALYSISINPUT",
          key,
          `${key} is not a trace attribute of readout ${attrs["readout"]} (trace ${u.index} of ${cf.fname}): nothing was written; store only the readout's keys`,
          cf.fname,
        );
      }
      if (!(value === null || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value)))) {
        throw new AnalysisError(
          "EANALYSISINPUT",
          key,
          `expected a finite number, a boolean or null for ${key} of trace ${u.index}, got ${describe(value)}: nothing was written`,
          cf.fname,
        );
      }
      if (value === null && attrIsNull(attrs, key)) continue; // already null (None, null, empty)
      const text = encodeValue(value);
      if (attrs[key] !== text) {
        before[key] = attrs[key];
        attrs[key] = text;
        changed = true;
      }
    }
    if (changed) plans.push({ index: u.index, attrs, before });
  }
  // 2. Write, putting back what was written should a write fail.
  const done: typeof plans = [];
  let values = 0;
  try {
    for (const p of plans) {
      values += cf.setTraceAttrs(p.index, p.attrs).written.length;
      done.push(p);
    }
  } catch (e) {
    const left: number[] = [];
    for (const p of done.reverse()) {
      try {
        const attrs = cf.getTraceAttrs(p.index);
        for (const [key, text] of Object.entries(p.before)) {
          if (text === undefined) throw new Error(`${key} did not exist before`);
          attrs[key] = text;
        }
        cf.setTraceAttrs(p.index, attrs);
      } catch {
        left.push(p.index);
      }
    }
    if (left.length > 0) throw new PartialWriteError(cf.fname, left.sort((x, y) => x - y), e);
    throw e;
  }
  return { changed: done.map((p) => p.index), values };
}
