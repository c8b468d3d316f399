/**
 * offspect's reading of one stored attribute value (`parse_traceattrs`):
 * `ast.literal_eval` of the text, with offspect's fallbacks, and the text
 * offspect writes back after such a reading (`merge`, `populate`).
 * @module
 */
import { PyLiteralError } from "./errors.js";
import { pyStr } from "./format.js";
import { literalEval, type PyValue } from "./literal.js";

/**
 * offspect's `parse_traceattrs` for one value, as a parsed literal: the text's
 * literal, or on failure the text itself, except "inf" and "nan" (floats) and
 * any unparseable `xyz_coords` (three NaNs).
 * @example
 * parseAttrValue("reject", "False")         // { t: "bool", v: false }
 * parseAttrValue("comment", "S  1")         // { t: "str", v: "S  1" }
 * parseAttrValue("xyz_coords", "[nan, 1]")  // three NaN floats
 */
export function parseAttrValue(key: string, text: string): PyValue {
  try {
    return literalEval(text);
  } catch (e) {
    if (!(e instanceof PyLiteralError)) throw e;
    if (key === "xyz_coords") {
      const nan: PyValue = { t: "float", v: NaN };
      return { t: "list", items: [nan, nan, nan] };
    }
    if (text === "inf") return { t: "float", v: Infinity };
    if (text === "nan") return { t: "float", v: NaN };
    return { t: "str", v: text };
  }
}

const RE_PLAIN_INT = /^(?:0|-?[1-9][0-9]*)$/;
const RE_WORD = /^[A-Za-z_][A-Za-z0-9_]*$/;
const normalized = new Map<string, string>();

/**
 * What offspect stores when it parses a value and writes it back (`merge`
 * and `populate` write `str(parse_traceattrs(...)[key])`). Common forms take
 * a shortcut with the same result, and answers are memoized, since merging
 * normalizes every attribute of every trace.
 * @example
 * normalizeAttrValue("xyz_coords", "[37.00, 1]") // "[37.0, 1]"
 * normalizeAttrValue("id", "0x10")               // "16"
 */
export function normalizeAttrValue(key: string, text: string): string {
  if (key !== "xyz_coords") {
    // Decimal integers print as themselves; a bare word is a Python name
    // (literal_eval fails, the text stays) unless it is True, False or None,
    // which also print as themselves.
    if (RE_PLAIN_INT.test(text) || RE_WORD.test(text)) return text;
  }
  const memoKey = key === "xyz_coords" ? "x\u0000" + text : text;
  let out = normalized.get(memoKey);
  if (out === undefined) {
    out = pyStr(parseAttrValue(key, text));
    if (normalized.size >= 100_000) normalized.clear();
    normalized.set(memoKey, out);
  }
  return out;
}
