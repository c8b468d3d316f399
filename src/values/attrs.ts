/**
 * Reading the attribute values annotation and statistics need, as offspect
 * decodes them, with the null forms FORMAT.md asks for (`None`, `null`, `~`,
 * the empty text, a missing key) and a memo so that a batch over 10,000
 * traces decodes each distinct text once.
 * @module
 * @internal
 */
import type { TraceAttributes } from "../cachefile/index.js";
import { decode, type Decoded } from "./codec.js";
import { plainNumber, plainNumberList } from "./plain.js";
import { yamlFloat } from "./yamldump.js";

const memo = new Map<string, Decoded | typeof UNDECODABLE>();
const MEMO_LIMIT = 50_000;
const UNDECODABLE = Symbol("undecodable");

/**
 * offspect's `decode` of a text, memoized; `undefined` for a missing key,
 * the text itself when it is not YAML. Plain integers and floats and lists
 * of them (most values a batch reads: peaks, rates, sample counts,
 * coordinates) are read without the YAML parser, to the same numbers.
 */
export function decodeText(text: string | undefined): Decoded | undefined {
  if (text === undefined) return undefined;
  const plain = plainNumber(text) ?? plainNumberList(text);
  if (plain !== undefined) return plain;
  let v = memo.get(text);
  if (v === undefined) {
    try {
      v = decode(text);
    } catch {
      v = UNDECODABLE;
    }
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(text, v);
  }
  // Decoded lists and dates are shared through the memo: hand out copies of lists.
  if (v === UNDECODABLE) return text;
  return Array.isArray(v) ? [...v] : v;
}

/** Whether a decoded value stands for null: missing, null, `None`, or the empty text. */
export function isNullish(v: Decoded | undefined): boolean {
  return v === undefined || v === null || v === "None" || v === "";
}

/** Whether an attribute holds null (missing, `None`, `null`, `~`, empty). */
export function attrIsNull(attrs: TraceAttributes, key: string): boolean {
  return isNullish(decodeText(attrs[key]));
}

/** A finite number stored under `key`, or null when it is null or not a finite number. */
export function finiteAttr(attrs: TraceAttributes, key: string): number | null {
  const v = decodeText(attrs[key]);
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** Python's truthiness of a decoded value, with `None` as null (offspect's `if decode(attrs["reject"])`). */
export function truthy(v: Decoded | undefined): boolean {
  if (isNullish(v)) return false;
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0;
  if (typeof v === "string") return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  return true;
}

/**
 * A number encoded as offspect's `encode(float(x))` stores it: PyYAML's dump
 * of a Python float, so `37.0` rather than `37`, `1.0e-07`, `.nan` (the
 * scalar that `encode` of a float dumps, and what the typed writes store
 * for float keys).
 * @example encodeFloat(37) // "37.0";  encodeFloat(-55.5) // "-55.5"
 */
export function encodeFloat(x: number): string {
  return yamlFloat(x);
}
