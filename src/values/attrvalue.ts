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

const ZERO = 0x30;
const NINE = 0x39;

/**
 * Whether `text[start, end)` is a float exactly as Python's `repr` (and
 * `str`) prints it, so that parsing and printing it gives it back: fixed
 * notation (Python's for magnitudes from 1e-4 to below 1e16), no leading
 * zeros, no trailing zeros but the one of "12.0", and at most 15
 * significant digits (so no shorter text reads as the same double) or 16
 * to 17 that are the shortest for their double.
 */
export function isFloatRepr(text: string, start: number, end: number): boolean {
  let i = start;
  if (i < end && text.charCodeAt(i) === 0x2d) i++; // "-"
  const intStart = i;
  while (i < end && text.charCodeAt(i) >= ZERO && text.charCodeAt(i) <= NINE) i++;
  const intDigits = i - intStart;
  if (intDigits === 0 || (intDigits > 1 && text.charCodeAt(intStart) === ZERO)) return false;
  if (i >= end || text.charCodeAt(i) !== 0x2e) return false; // "."
  const fracStart = ++i;
  while (i < end && text.charCodeAt(i) >= ZERO && text.charCodeAt(i) <= NINE) i++;
  const fracDigits = i - fracStart;
  if (i !== end || fracDigits === 0) return false;
  if (fracDigits > 1 && text.charCodeAt(end - 1) === ZERO) return false;
  let significant: number;
  if (intDigits === 1 && text.charCodeAt(intStart) === ZERO) {
    if (fracDigits === 1 && text.charCodeAt(fracStart) === ZERO) return true; // 0.0, -0.0
    let zeros = 0;
    while (zeros < fracDigits && text.charCodeAt(fracStart + zeros) === ZERO) zeros++;
    if (zeros > 3) return false; // below 1e-4: Python writes 1e-05
    significant = fracDigits - zeros;
  } else {
    significant = intDigits + fracDigits;
  }
  if (significant <= 15) return true;
  // 16 or 17 digits: Python's repr when they are the shortest that read back
  // as the same double, as JavaScript prints it too (both the shortest digits
  // nearest the value); JavaScript leaves out the ".0" of a whole number.
  if (significant > 17) return false;
  const sub = text.slice(start, end);
  const shortest = String(Number(sub));
  return shortest === sub || (fracDigits === 1 && text.charCodeAt(fracStart) === ZERO && shortest.length === sub.length - 2 && sub.startsWith(shortest));
}

/** Whether `text` is a list of floats and integers as Python's `str()` prints it (`[37.0, 22.8, 54.2]`). */
function isFloatReprList(text: string): boolean {
  const n = text.length;
  if (n < 3 || text.charCodeAt(0) !== 0x5b || text.charCodeAt(n - 1) !== 0x5d) return false;
  for (let start = 1; ; ) {
    let end = text.indexOf(", ", start);
    if (end < 0) end = n - 1;
    if (!isFloatRepr(text, start, end) && !RE_PLAIN_INT.test(text.slice(start, end))) return false;
    if (end === n - 1) return true;
    start = end + 2;
  }
}
const RE_WORD = /^[A-Za-z_][A-Za-z0-9_]*$/;
const normalized = new Map<string, string>();

/**
 * Forgets the texts {@link normalizeAttrValue} memoized (for benchmarks that
 * must not carry them from one run to the next).
 * @internal
 */
export function clearNormalizedMemo(): void {
  normalized.clear();
}

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
    // which also print as themselves; so does a float as Python prints it.
    if (RE_PLAIN_INT.test(text) || RE_WORD.test(text) || isFloatRepr(text, 0, text.length)) return text;
  } else if (isFloatReprList(text)) {
    return text;
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
