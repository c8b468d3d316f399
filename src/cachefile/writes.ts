/**
 * The rules of writing to a CacheFile: attributes must come from this file
 * and this trace (offspect's checks), only the readout's trace keys are
 * written and only when they changed, a value that is not text is stored
 * as offspect's `encode` gives it (as offspect's `update_trace_attributes`
 * encodes every value), every changed value is checked against its key's type, and nothing is written when anything is refused;
 * data keeps its shape.
 * @internal
 * @module
 */
import { decode, encode } from "../values/codec.js";
import { type AttributeProblem, describe, ForeignAttributesError, InvalidAttributeError, ShapeMismatchError } from "../base/errors.js";
import { checkValue, getReadout, isLabel, type KeySpec, type ReadoutSpec, traceKeySpecs, TRANSIENT_KEYS } from "./readouts.js";
import type { TraceAttributes, TraceData } from "./types.js";
import { setOwn } from "../base/own.js";

/** offspect's `isindex`: text of a non-negative integer. */
export function isIndexText(x: unknown): x is string {
  return typeof x === "string" && /^\s*\+?[0-9]+\s*$/.test(x);
}

/** The trace keys of each registered readout (frozen; a replaced readout is a new object), made once: a batch checks thousands of traces of one readout. */
const traceSpecs = new WeakMap<ReadoutSpec, Record<string, KeySpec>>();

function specsOf(readout: ReadoutSpec): Record<string, KeySpec> {
  let specs = traceSpecs.get(readout);
  if (!specs) traceSpecs.set(readout, (specs = traceKeySpecs(readout)));
  return specs;
}

/**
 * Which of `attrs` a write stores: the changed trace keys of the readout,
 * checked; the other changed keys are reported as ignored. `same` tells
 * values that are equal though their text differs (a typed update of
 * `reject: true` where `True` is stored): those are not written.
 * @throws {InvalidAttributeError} a changed value is invalid for its key (nothing is written)
 * @throws {UnknownReadoutError} the trace's readin/readout is not registered
 */
export function plannedWrite(
  stored: Record<string, string>,
  attrs: TraceAttributes,
  readoutOf: (key: string) => string | undefined,
  fname: string,
  same?: (key: string, stored: string, next: string) => boolean,
): { changed: Record<string, string>; ignored: string[] } {
  const specs = specsOf(getReadout(readoutOf("readin"), readoutOf("readout")));
  const changed: Record<string, string> = {};
  const ignored: string[] = [];
  const problems: AttributeProblem[] = [];
  for (const [key, given] of Object.entries(attrs)) {
    if (TRANSIENT_KEYS.includes(key)) continue;
    const value: unknown = typeof given === "string" ? given : encode(given);
    const before = Object.hasOwn(stored, key) ? stored[key] : undefined;
    if (before === value) continue;
    const spec = Object.hasOwn(specs, key) ? specs[key] : undefined;
    if (!spec) {
      ignored.push(key);
      continue;
    }
    if (before !== undefined && typeof value === "string" && same?.(key, before, value)) continue;
    const problem = checkValue(key, value, spec) ?? writeProblem(key, value as string, before, stored, readoutOf);
    if (problem) problems.push(problem);
    else setOwn(changed, key, value as string);
  }
  if (problems.length > 0) throw new InvalidAttributeError(problems, fname);
  return { changed, ignored };
}

/**
 * What a valid value still cannot be as a change: text with a NUL (HDF5
 * strings end there), a new `id` (the trace's dataset is named after it),
 * a `channel_of_interest` that is not one of the trace's `channel_labels`
 * (offspect looks it up there).
 */
function writeProblem(key: string, value: string, before: string | undefined, stored: Record<string, string>, readoutOf: (key: string) => string | undefined): AttributeProblem | undefined {
  if (value.includes("\0")) return { key, value, expected: "text without NUL characters", message: `${key}: expected text without NUL characters (HDF5 strings end at one), got one with NUL` };
  if (key === "id" && before !== undefined) {
    return { key, value, expected: `${before} (the trace's dataset is named after its id)`, message: `id: a trace's id is the name of its dataset and cannot change (it is ${before}); give another trace another id by building a new file` };
  }
  if (key === "channel_of_interest") {
    const labels = channelLabels(stored["channel_labels"] ?? readoutOf("channel_labels"));
    if (labels && !isLabel(labels, value)) {
      return { key, value, expected: `one of channel_labels ${JSON.stringify(labels)}`, message: `channel_of_interest: expected one of the channel_labels ${JSON.stringify(labels)}, got ${JSON.stringify(value)}` };
    }
  }
  return undefined;
}

/** A channel_labels text as offspect decodes it (text items decoded again), or undefined when it is not a list. */
function channelLabels(text: string | undefined): unknown[] | undefined {
  if (text === undefined) return undefined;
  try {
    const v = decode(text);
    return Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The checks of offspect's `set_trace_attrs`: the attributes come from this
 * file (`cache_file`) and this trace (`cache_file_index`).
 * @throws {ForeignAttributesError} they do not
 */
export function checkOrigin(fname: string, i: number, attrs: TraceAttributes): void {
  if (attrs === null || typeof attrs !== "object") {
    throw new TypeError(`expected trace attributes (an object), got ${describe(attrs)}`);
  }
  if (!("cache_file" in attrs) || !("cache_file_index" in attrs)) {
    throw new ForeignAttributesError(
      "These attributes do not originate from a CacheFile: cache_file and cache_file_index are missing; start from getTraceAttrs()",
      fname,
    );
  }
  if (attrs["cache_file"] !== fname) {
    throw new ForeignAttributesError(`These attributes did not originate from this CacheFile: they come from ${attrs["cache_file"]}, not ${fname}`, fname);
  }
  if (!isIndexText(attrs["cache_file_index"]) || Number(attrs["cache_file_index"]) !== i) {
    throw new ForeignAttributesError(
      `These attributes did originate from a different trace in this CacheFile: trace ${attrs["cache_file_index"]}, not ${i}`,
      fname,
    );
  }
}

/**
 * Trace data to write as float64 and its [rows, columns] shape.
 * @throws {ShapeMismatchError} rows of different lengths, or a shape that does not match the values
 */
export function normalizeData(data: TraceData | Float64Array | number[][]): { data: Float64Array; shape: [number, number] } {
  if (data instanceof Float64Array) return { data, shape: [data.length, 1] };
  if (Array.isArray(data)) {
    const rows = data.length;
    const cols = rows === 0 ? 0 : (data[0]?.length ?? 0);
    const out = new Float64Array(rows * cols);
    data.forEach((row, r) => {
      if (!Array.isArray(row) || row.length !== cols) {
        throw new ShapeMismatchError(`row ${r} of the data has ${Array.isArray(row) ? row.length : 0} values, expected ${cols}`);
      }
      row.forEach((v, c) => {
        if (typeof v !== "number") throw new TypeError(`data[${r}][${c}] is not a number`);
        out[r * cols + c] = v;
      });
    });
    return { data: out, shape: [rows, cols] };
  }
  if (data && typeof data === "object" && data.data instanceof Float64Array && Array.isArray(data.shape)) {
    const [rows, cols] = data.shape;
    if (data.shape.length !== 2 || rows! * cols! !== data.data.length) {
      throw new ShapeMismatchError(`shape [${data.shape.join(", ")}] does not match ${data.data.length} values`);
    }
    return { data: data.data, shape: [rows!, cols!] };
  }
  throw new TypeError(`expected trace data ({ data: Float64Array, shape }), a Float64Array or rows of numbers, got ${describe(data)}`);
}
