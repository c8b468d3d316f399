/**
 * Which Python value ({@link PyValue}) a JavaScript value stands for when it
 * is stored as offspect stores values.
 * @module
 */
import { EncodeError } from "./errors.js";
import type { PyValue } from "./literal.js";

const SCALAR_TAGS = new Set(["none", "ellipsis"]);

/**
 * Whether `value` is a parsed literal ({@link PyValue}, as `literalEval`
 * returns) rather than a plain JavaScript value. A plain object that happens
 * to look like one (`{ t: "str", v: "x" }`) counts as one.
 * @example
 * isPyValue(literalEval("1")) // true
 * isPyValue(1)                // false
 */
export function isPyValue(value: unknown): value is PyValue {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  switch (v["t"]) {
    case "int":
      return typeof v["v"] === "bigint";
    case "float":
      return typeof v["v"] === "number";
    case "complex":
      return typeof v["re"] === "number" && typeof v["im"] === "number";
    case "str":
      return typeof v["v"] === "string";
    case "bytes":
      return v["v"] instanceof Uint8Array;
    case "bool":
      return typeof v["v"] === "boolean";
    case "datetime":
      return v["v"] instanceof Date;
    case "list":
    case "tuple":
    case "set":
      return Array.isArray(v["items"]);
    case "dict":
      return Array.isArray(v["entries"]);
    default:
      return typeof v["t"] === "string" && SCALAR_TAGS.has(v["t"]);
  }
}

/**
 * Whether a JavaScript number stands for a Python float: not a safe integer, or -0.
 * @example isFloatNumber(37) // false;  isFloatNumber(37.5) // true;  isFloatNumber(2 ** 60) // true
 */
export function isFloatNumber(x: number): boolean {
  return !Number.isInteger(x) || Math.abs(x) >= 2 ** 53 || Object.is(x, -0);
}

/**
 * The Python value a JavaScript value stands for. Numbers are ints when they
 * are safe integers and floats otherwise (bigints are ints, every digit
 * kept); `asFloat` forces floats. In an array of numbers with any float,
 * every number is a float (as a numpy array or a list of measurements would
 * be). A Date is a `datetime` (UTC), a Uint8Array `bytes`, a Set a `set`, a
 * Map or plain object a `dict`, null and undefined `None`.
 * @example
 * jsToPy([37, 22.8]) // { t: "list", items: [{ t: "float", v: 37 }, { t: "float", v: 22.8 }] }
 * jsToPy(66)         // { t: "int", v: 66n }
 * @throws {EncodeError} for a function or a symbol, which have no Python value
 */
export function jsToPy(value: unknown, asFloat = false): PyValue {
  if (value === null || value === undefined) return { t: "none" };
  if (typeof value === "string") return { t: "str", v: value };
  if (typeof value === "boolean") return { t: "bool", v: value };
  if (typeof value === "bigint") return { t: "int", v: value };
  if (typeof value === "number") {
    return asFloat || isFloatNumber(value) ? { t: "float", v: value } : { t: "int", v: BigInt(value) };
  }
  if (typeof value === "function" || typeof value === "symbol") {
    throw new EncodeError(value, "a function or symbol has no Python value; pass text, a number, a boolean, null, a Date, a list or an object");
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new EncodeError(value, "the Date is invalid; pass a valid Date or the date as text");
    return { t: "datetime", v: value };
  }
  if (value instanceof Uint8Array) return { t: "bytes", v: value };
  if (Array.isArray(value)) {
    const floats = asFloat || (value.every((x) => typeof x === "number") && value.some((x) => isFloatNumber(x as number)));
    return { t: "list", items: value.map((x) => jsToPy(x, floats && typeof x === "number")) };
  }
  if (value instanceof Set) return { t: "set", items: [...value].map((x) => jsToPy(x)) };
  if (value instanceof Map) return { t: "dict", entries: [...value].map(([k, x]) => [jsToPy(k), jsToPy(x)] as [PyValue, PyValue]) };
  return {
    t: "dict",
    entries: Object.entries(value as Record<string, unknown>).map(([k, x]) => [{ t: "str", v: k }, jsToPy(x)] as [PyValue, PyValue]),
  };
}
