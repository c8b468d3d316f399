/**
 * The plain JavaScript value of a parsed Python literal.
 * @module
 */
import { pyStr } from "./format.js";
import type { PyValue } from "./literal.js";
import { setOwn } from "../base/own.js";

/**
 * The plain JavaScript value of a parsed literal: numbers (ints beyond 2^53
 * become the nearest number), strings, booleans, null, arrays (lists,
 * tuples, sets), objects (dicts; a key is Python's `str()` of the key),
 * Dates; a complex number becomes `{ real, imag }`, bytes a Uint8Array,
 * Ellipsis the text "Ellipsis". What a parsed text gives is JSON-ready,
 * bytes aside.
 * @example
 * pyToJs(literalEval("{'a': [1, 2.5, None]}")) // { a: [1, 2.5, null] }
 * JSON.stringify(pyToJs(literalEval("[66, 1e3]"))) // "[66,1000]"
 */
export function pyToJs(v: PyValue): unknown {
  switch (v.t) {
    case "int":
      return Number(v.v);
    case "float":
      return v.v;
    case "complex":
      return { real: v.re, imag: v.im };
    case "str":
      return v.v;
    case "bytes":
      return v.v;
    case "bool":
      return v.v;
    case "none":
      return null;
    case "ellipsis":
      return "Ellipsis";
    case "datetime":
      return new Date(v.v.getTime());
    case "list":
    case "tuple":
    case "set":
      return v.items.map(pyToJs);
    case "dict": {
      const out: Record<string, unknown> = {};
      for (const [k, x] of v.entries) {
        setOwn(out, pyStr(k), pyToJs(x));
      }
      return out;
    }
  }
}
