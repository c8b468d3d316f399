/**
 * Attribute text to typed values and back, by the kind each key has in its
 * readout (src/readouts.ts).
 *
 * Reading is offspect's `parse_traceattrs` (Python literals: `True`, `None`,
 * `36.4`, `[37.0, 22.8, 54.2]`), also accepting every spelling offspect's
 * `encode` writes (`true`, `null`, `.inf`); text keys (comment, subject,
 * ...) stay text. Writing stores the text offspect's own `set_trace_attrs`
 * stores for the value (its `encode`; numbers of float keys as floats), so
 * offspect's `decode` gives the value back.
 * @module
 */
import { encode } from "../values/codec.js";
import { type AttributeProblem, describe, InvalidAttributeError } from "../base/errors.js";
import { pythonStr } from "../values/index.js";
import { UnknownReadoutError } from "../base/errors.js";
import { getReadout, type KeySpec, ORIGIN_KEYS, traceKeySpecs } from "./readouts.js";
import { parseAttrValue } from "../values/attrvalue.js";
import { pyToJs } from "../values/tojs.js";
import { yamlFloat } from "../values/yamldump.js";
import type { TraceAttrs, TraceUpdate } from "./traceTypes.js";
import { setOwn } from "../base/own.js";

const NULL = /^(?:None|null|Null|NULL|~|)$/;
const TRUE = /^(?:True|true|TRUE|yes|Yes|YES|on|On|ON)$/;
const FALSE = /^(?:False|false|FALSE|no|No|NO|off|Off|OFF)$/;
const INT = /^[-+]?(?:0|[1-9][0-9]*)$/;
const FLOAT = /^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/;
const INFINITE = /^(?:[-+]?(?:inf|Infinity|\.inf|\.Inf|\.INF))$/;
const NOT_A_NUMBER = /^(?:nan|NaN|\.nan|\.NaN|\.NAN)$/;

/** Values read the general way (offspect's parse_traceattrs), memoized: most repeat from trace to trace. */
const parsed = new Map<string, unknown>();

function generic(key: string, text: string): unknown {
  const memo = key === "xyz_coords" ? `x\u0000${text}` : text;
  if (parsed.has(memo)) return parsed.get(memo);
  const value = pyToJs(parseAttrValue(key, text));
  if (parsed.size >= 100_000) parsed.clear();
  // Lists are shared between traces: frozen, so that one trace's change cannot reach another's.
  parsed.set(memo, Array.isArray(value) ? Object.freeze(value) : value);
  return parsed.get(memo);
}

function number(text: string): number | undefined {
  if (FLOAT.test(text)) return Number(text);
  if (INFINITE.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
  if (NOT_A_NUMBER.test(text)) return NaN;
  return undefined;
}

/** One value as its key's kind reads it; what does not read as that kind is read the general way. */
export function decodeValue(key: string, text: string, spec: KeySpec | undefined): unknown {
  if (spec === undefined) return generic(key, text);
  switch (spec.kind) {
    case "text":
    case "version":
    case "filedate":
    case "readout":
    case "readin":
      return text;
    case "int":
      if (INT.test(text)) return Number(text);
      break;
    case "number":
    case "positive-or-inf": {
      if (NULL.test(text)) return null;
      const n = number(text);
      if (n !== undefined) return n;
      break;
    }
    case "bool":
      if (TRUE.test(text)) return true;
      if (FALSE.test(text)) return false;
      if (NULL.test(text)) return null;
      break;
    case "coords":
    case "number-list":
    case "string-list":
    case "log":
      if (NULL.test(text)) return null;
      break;
  }
  return generic(key, text);
}

/** Key specs by readout (a readout registered again is another object, so it is looked up anew). */
const specsOf = new WeakMap<object, Record<string, KeySpec>>();
let genericSpecs: Record<string, KeySpec> | undefined;

/** The specs of every key a trace of this readin/readout carries (origin keys included); generic keys for an unknown readout. */
export function keySpecs(readin: string | undefined, readout: string | undefined): Record<string, KeySpec> {
  let readoutSpec;
  try {
    readoutSpec = getReadout(readin, readout);
  } catch (e) {
    if (!(e instanceof UnknownReadoutError)) throw e;
    if (!genericSpecs) {
      const cmep = getReadout("tms", "cmep");
      const specs = traceKeySpecs(cmep);
      for (const key of Object.keys(cmep.keys)) delete specs[key];
      genericSpecs = { ...ORIGIN_KEYS, ...specs };
    }
    return genericSpecs;
  }
  let specs = specsOf.get(readoutSpec);
  if (!specs) specsOf.set(readoutSpec, (specs = { ...ORIGIN_KEYS, ...traceKeySpecs(readoutSpec) }));
  return specs;
}

/**
 * A trace's stored attributes as values, key by key (see the module's
 * description); `origin`, `cache_file` and `cache_file_index`, which only
 * getTraceAttrs adds, are left out.
 * @example decodeTraceAttrs({ readin: "tms", readout: "cmep", reject: "True", xyz_coords: "[37.0, 22.8, 54.2]", neg_peak_magnitude_uv: "None" })
 * // { readin: "tms", readout: "cmep", reject: true, xyz_coords: [37, 22.8, 54.2], neg_peak_magnitude_uv: null }
 */
export function decodeTraceAttrs(text: Readonly<Record<string, string>>): TraceAttrs {
  const specs = keySpecs(text["readin"], text["readout"]);
  const out: Record<string, unknown> = {};
  for (const key in text) {
    if (key === "origin" || key === "cache_file" || key === "cache_file_index") continue;
    const value = decodeValue(key, text[key]!, Object.hasOwn(specs, key) ? specs[key] : undefined);
    setOwn(out, key, value);
  }
  return out as TraceAttrs;
}

const isNumber = (v: unknown): v is number => typeof v === "number";

/** Whether `value` is a value of `spec`'s kind; `what` it must be otherwise. */
function typeProblem(value: unknown, spec: KeySpec): string | undefined {
  if (value === null) return spec.nullable ? undefined : "a value (this key cannot be null)";
  switch (spec.kind) {
    case "int":
      return Number.isSafeInteger(value) ? undefined : "an integer";
    case "number":
      return isNumber(value) && !Number.isNaN(value) ? undefined : "a number";
    case "positive-or-inf":
      return isNumber(value) && value > 0 ? undefined : "a positive number or Infinity";
    case "bool":
      return typeof value === "boolean" ? undefined : "true or false";
    case "coords":
      // Three finite numbers, or three NaN (offspect's "no coordinates"): a mix reads back as neither.
      return Array.isArray(value) && value.length === 3 && value.every(isNumber) && (value.every(Number.isFinite) || value.every(Number.isNaN))
        ? undefined
        : "[x, y, z] in mm (three finite numbers, or three NaN for none)";
    case "number-list":
      return Array.isArray(value) && value.every(isNumber) ? undefined : "a list of numbers";
    case "string-list":
    case "log":
      return Array.isArray(value) && value.every((v) => typeof v === "string") ? undefined : "a list of texts";
    default:
      return typeof value === "string" ? undefined : "text";
  }
}

/** The text offspect's `set_trace_attrs` stores for a value of a key of `spec`'s kind (its `encode`, numbers of float keys as floats). */
export function encodeValue(value: unknown, spec: KeySpec): string {
  if (spec.float && typeof value === "number") return yamlFloat(value);
  if (spec.float && Array.isArray(value)) return pythonStr(value, true);
  return encode(value);
}

/**
 * A partial typed update as the text to store: each key must be a trace key
 * of the readout, each value of its key's kind.
 * @throws {InvalidAttributeError} a key the readout does not have, or a value of the wrong kind (listing every one; nothing is written)
 */
export function encodeTraceUpdate(update: TraceUpdate, specs: Record<string, KeySpec>, file?: string): Record<string, string> {
  if (update === null || typeof update !== "object" || Array.isArray(update)) {
    throw new TypeError(`expected the values to write (an object such as { reject: true }), got ${describe(update)}`);
  }
  const out: Record<string, string> = {};
  const problems: AttributeProblem[] = [];
  for (const [key, value] of Object.entries(update)) {
    if (value === undefined) continue;
    const spec = Object.hasOwn(specs, key) ? specs[key] : undefined;
    if (!spec || Object.hasOwn(ORIGIN_KEYS, key) || key === "id") {
      problems.push({ key, value: String(value), expected: "a trace key of this readout", message: `${key}: not a trace key this readout can write (origin keys and id are the origin's)` });
      continue;
    }
    const wrong = typeProblem(value, spec);
    if (wrong) {
      problems.push({ key, value: describe(value), expected: wrong, message: `${key}: expected ${wrong}, got ${describe(value)}` });
      continue;
    }
    out[key] = encodeValue(value, spec);
  }
  if (problems.length > 0) throw new InvalidAttributeError(problems, file);
  return out;
}
