/**
 * What the steps share: checks of their input, a new frozen TraceData, and
 * the attributes they read (decoded as offspect decodes them).
 * @internal
 * @module
 */
import type { TraceAttributes, TraceData } from "../cachefile/index.js";
import { decode, type Decoded } from "../values/codec.js";
import { describe } from "../base/errors.js";
import { ArgumentRangeError, ArgumentTypeError } from "../values/errors.js";
import { StepError } from "./errors.js";

export function checkTraceData(data: TraceData, what: string): [number, number] {
  const shape = (data as { shape?: unknown } | null)?.shape;
  const values = (data as { data?: unknown } | null)?.data;
  if (
    !(values instanceof Float64Array) ||
    !Array.isArray(shape) ||
    shape.length !== 2 ||
    !shape.every((n) => Number.isInteger(n) && n >= 0)
  ) {
    throw new ArgumentTypeError(`expected TraceData { data: Float64Array, shape: [samples, channels] } for ${what}, got ${describe(data)}`);
  }
  const [samples, channels] = shape as [number, number];
  if (values.length !== samples * channels) {
    throw new ArgumentRangeError(`expected ${samples * channels} values for ${what} of shape [${samples}, ${channels}], got ${values.length}`);
  }
  return [samples, channels];
}

export function checkAttrs(attrs: TraceAttributes, what: string): void {
  if (attrs === null || typeof attrs !== "object") throw new ArgumentTypeError(`expected trace attributes (an object of texts) for ${what}, got ${describe(attrs)}`);
}

export function makeTrace(values: Float64Array, samples: number, channels: number): TraceData {
  return Object.freeze({ data: values, shape: Object.freeze([samples, channels] as [number, number]) });
}

export function decodeAttr(attrs: TraceAttributes, key: string, step: string): { text: string | undefined; value: Decoded | undefined } {
  const text = attrs[key];
  if (text === undefined) return { text, value: undefined };
  if (typeof text !== "string") {
    throw new StepError(`${step} needs ${key}: expected text, got ${describe(text)}`, { entry: text, step });
  }
  try {
    return { text, value: decode(text) };
  } catch (e) {
    throw new StepError(`${step} needs ${key}: cannot decode ${JSON.stringify(text)}`, { entry: text, step, cause: e });
  }
}

export function integerAttr(attrs: TraceAttributes, key: string, step: string): number {
  const { text, value } = decodeAttr(attrs, key, step);
  if (text === undefined) throw new StepError(`${step} needs ${key}: the attribute is missing`, { step });
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new StepError(`${step} needs ${key}: expected an integer, got ${JSON.stringify(text)}`, { entry: text, step });
  }
  return value;
}

/** @internal offspect's `decode(attrs["onset_shift"]) or 0`, with missing and the text `None` as null. */
export function onsetShift(attrs: TraceAttributes): number {
  const { text, value } = decodeAttr(attrs, "onset_shift", "baseline");
  if (text === undefined || value === null || value === "None" || value === 0 || value === false) return 0;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new StepError(`baseline needs onset_shift: expected an integer or None, got ${JSON.stringify(text)}`, {
      entry: text,
      step: "baseline",
    });
  }
  return value;
}

/** Python's `len(x[:stop])` for a list of `length` items. */
export function sliceLength(stop: number, length: number): number {
  if (stop < 0) return Math.max(0, length + stop);
  return Math.min(stop, length);
}
