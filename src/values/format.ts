/**
 * Python's text of values: `repr()` and `str()` of parsed literals and of the
 * JavaScript values they stand for, as offspect's `populate` stores values
 * (`str()`) and Python prints lists (`repr()` of each item).
 * @module
 */
import { isPyValue, jsToPy } from "./convert.js";
import type { PyValue } from "./literal.js";

/**
 * Python's `repr(float)`: shortest round-trip digits, exponent outside
 * 1e-4..1e16; `addDotZero: false` leaves out the `.0` of whole numbers (as
 * inside a complex number's repr).
 * @example formatFloat(37) // "37.0";  formatFloat(1e-7) // "1e-07";  formatFloat(NaN) // "nan"
 */
export function formatFloat(x: number, addDotZero = true): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return (Object.is(x, -0) ? "-0" : "0") + (addDotZero ? ".0" : "");
  const abs = Math.abs(x);
  if (abs >= 1e-4 && abs < 1e16) {
    // Where Python writes no exponent, JavaScript neither (1e-7..1e21), with the same shortest
    // round-trip digits (the closest of them): only the ".0" of whole numbers differs.
    const text = String(x);
    return addDotZero && !text.includes(".") ? text + ".0" : text;
  }
  const [mantissa, expText] = Math.abs(x).toExponential().split("e") as [string, string];
  const digits = mantissa.replace(".", "");
  const exp = Number(expText);
  const sign = x < 0 ? "-" : "";
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : String(Math.abs(exp));
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${e}`;
  }
  let body: string;
  if (exp < 0) body = `0.${"0".repeat(-exp - 1)}${digits}`;
  else if (digits.length <= exp + 1) body = digits + "0".repeat(exp + 1 - digits.length) + (addDotZero ? ".0" : "");
  else body = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  return sign + body;
}

const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/**
 * Python's `repr(str)`: quoted with `'` unless the text holds `'` and no `"`,
 * non-printable characters escaped.
 * @example reprString("EDC_L") // "'EDC_L'";  reprString("it's") // "\"it's\""
 */
export function reprString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (cp < 0x20 || cp === 0x7f) out += "\\x" + cp.toString(16).padStart(2, "0");
    else if (cp < 0x7f || ch === " ") out += ch;
    else if (!NON_PRINTABLE.test(ch)) out += ch;
    else if (cp <= 0xff) out += "\\x" + cp.toString(16).padStart(2, "0");
    else if (cp <= 0xffff) out += "\\u" + cp.toString(16).padStart(4, "0");
    else out += "\\U" + cp.toString(16).padStart(8, "0");
  }
  return out + quote;
}

function reprBytes(b: Uint8Array): string {
  let hasSingle = false;
  let hasDouble = false;
  for (const c of b) {
    if (c === 0x27) hasSingle = true;
    if (c === 0x22) hasDouble = true;
  }
  const quote = hasSingle && !hasDouble ? '"' : "'";
  let out = "b" + quote;
  for (const c of b) {
    const ch = String.fromCharCode(c);
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (c < 0x20 || c >= 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + quote;
}

function reprComplex(re: number, im: number): string {
  const imText = formatFloat(im, false) + "j";
  if (re === 0 && !Object.is(re, -0)) return imText;
  const sign = im < 0 || Object.is(im, -0) ? "" : "+";
  return `(${formatFloat(re, false)}${sign}${imText})`;
}

function repr(v: PyValue): string {
  switch (v.t) {
    case "int":
      return v.v.toString();
    case "float":
      return formatFloat(v.v);
    case "complex":
      return reprComplex(v.re, v.im);
    case "str":
      return reprString(v.v);
    case "bytes":
      return reprBytes(v.v);
    case "bool":
      return v.v ? "True" : "False";
    case "none":
      return "None";
    case "ellipsis":
      return "Ellipsis";
    case "datetime":
      return reprDateTime(v.v);
    case "list":
      return `[${v.items.map(repr).join(", ")}]`;
    case "tuple":
      return v.items.length === 1 ? `(${repr(v.items[0]!)},)` : `(${v.items.map(repr).join(", ")})`;
    case "set":
      return v.items.length === 0 ? "set()" : `{${v.items.map(repr).join(", ")}}`;
    case "dict":
      return `{${v.entries.map(([k, x]) => `${repr(k)}: ${repr(x)}`).join(", ")}}`;
  }
}

/** A parsed literal as it is, any other value as the Python value it stands for. */
function asPy(value: unknown, asFloat = false): PyValue {
  return isPyValue(value) ? value : jsToPy(value, asFloat);
}

/**
 * Python's `repr()` of a parsed literal ({@link PyValue}, from `literalEval`),
 * or of the Python value a JavaScript value stands for (see `jsToPy`).
 * @example
 * pyRepr(literalEval("['EDC_L', 1.0]")) // "['EDC_L', 1.0]"
 * pyRepr([37, 22.8])                    // "[37.0, 22.8]"
 * pyRepr("it's")                        // "\"it's\""
 * @throws {EncodeError} for a function or a symbol
 */
export function pyRepr(value: unknown): string {
  return repr(asPy(value));
}

function str(v: PyValue): string {
  if (v.t === "str") return v.v;
  if (v.t === "datetime") return formatDateTime(v.v);
  return repr(v);
}

/**
 * Python's `str()` of a parsed literal ({@link PyValue}) or of the Python
 * value a JavaScript value stands for: text as itself, a datetime as
 * `YYYY-MM-DD HH:MM:SS`, everything else as its repr.
 * @example
 * pyStr(literalEval("'EDC_L'")) // "EDC_L"
 * pyStr(null)                   // "None"
 * pyStr(true)                   // "True"
 * @throws {EncodeError} for a function or a symbol
 */
export function pyStr(value: unknown): string {
  return str(asPy(value));
}

/**
 * Python's `str(value)` for a JavaScript value (see `jsToPy`), as offspect's
 * `populate` stores it; `asFloat` makes numbers floats (`54` as `54.0`).
 * @example pythonStr([37, 22.8, 54.2]) // "[37.0, 22.8, 54.2]";  pythonStr(54, true) // "54.0"
 * @throws {EncodeError} for a function or a symbol
 */
export function pythonStr(value: unknown, asFloat = false): string {
  return str(jsToPy(value, asFloat));
}

/**
 * Python's `str(datetime)` for a JavaScript Date (UTC): "YYYY-MM-DD HH:MM:SS[.ffffff]".
 * @example formatDateTime(new Date(Date.UTC(2020, 4, 17, 18, 2))) // "2020-05-17 18:02:00"
 */
export function formatDateTime(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const base = `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(
    d.getUTCMinutes(),
  )}:${p(d.getUTCSeconds())}`;
  const ms = d.getUTCMilliseconds();
  return ms === 0 ? base : `${base}.${p(ms * 1000, 6)}`;
}

/** Python's `repr(datetime)` for a JavaScript Date (UTC): `datetime.datetime(2020, 5, 17, 18, 2)`. */
function reprDateTime(d: Date): string {
  const parts = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds() * 1000];
  // Python leaves out microseconds when 0, and then seconds when 0.
  if (parts[6] === 0) {
    parts.pop();
    if (parts[5] === 0) parts.pop();
  }
  return `datetime.datetime(${parts.join(", ")})`;
}
