/**
 * The first line of PyYAML's `yaml.dump(value)` (default Dumper: block
 * style, keys sorted, `allow_unicode` off, width 80), which offspect's
 * `encode` stores for every value that is neither text nor a list.
 *
 * For scalars that line is the whole dump. For a mapping it is its first
 * key (in sorted order) and, when that fits, the start of its value, quoted
 * and wrapped exactly as PyYAML's emitter quotes and wraps it
 * (`analyze_scalar`, `choose_scalar_style`, `write_plain`,
 * `write_single_quoted`, `write_double_quoted`).
 * @module
 */
import { formatDateTime, formatFloat } from "./format.js";
import { EncodeError } from "./errors.js";
import { isFloatNumber } from "./convert.js";
import { resolvesToStr } from "./yamlscalar.js";

const BEST_WIDTH = 80;
/** check_simple_key: a key with its tag ("!!str", 5 characters) must stay under 128. */
const SIMPLE_KEY_LIMIT = 128;
const STR_TAG_LENGTH = 5;

const BREAKS = "\n\x85\u2028\u2029";
const WHITESPACE = "\0 \t\r\n\x85\u2028\u2029";

/**
 * PyYAML's `represent_float`: Python's repr, lower case, with `.0` before a
 * bare exponent.
 * @example yamlFloat(1e-7) // "1.0e-07";  yamlFloat(-Infinity) // "-.inf"
 */
export function yamlFloat(x: number): string {
  if (Number.isNaN(x)) return ".nan";
  if (x === Infinity) return ".inf";
  if (x === -Infinity) return "-.inf";
  const value = formatFloat(x).toLowerCase();
  return !value.includes(".") && value.includes("e") ? value.replace("e", ".0e") : value;
}

interface Analysis {
  empty: boolean;
  multiline: boolean;
  allowBlockPlain: boolean;
  allowSingleQuoted: boolean;
}

/** PyYAML's `Emitter.analyze_scalar`, the parts block context needs (allow_unicode off). */
function analyze(chars: string[]): Analysis {
  const n = chars.length;
  if (n === 0) return { empty: true, multiline: false, allowBlockPlain: true, allowSingleQuoted: true };
  let blockIndicators = false;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  const text = chars.join("");
  if (text.startsWith("---") || text.startsWith("...")) blockIndicators = true;
  let precededByWhitespace = true;
  let followedByWhitespace = n === 1 || WHITESPACE.includes(chars[1]!);
  let previousSpace = false;
  let previousBreak = false;
  for (let index = 0; index < n; index++) {
    const ch = chars[index]!;
    if (index === 0) {
      if ("#,[]{}&*!|>'\"%@`".includes(ch)) blockIndicators = true;
      if ((ch === "?" || ch === ":") && followedByWhitespace) blockIndicators = true;
      if (ch === "-" && followedByWhitespace) blockIndicators = true;
    } else {
      if (ch === ":" && followedByWhitespace) blockIndicators = true;
      if (ch === "#" && precededByWhitespace) blockIndicators = true;
    }
    if (BREAKS.includes(ch)) lineBreaks = true;
    const cp = ch.codePointAt(0)!;
    // allow_unicode is off: anything but printable ASCII and "\n" is special (double-quoted, escaped).
    if (!(ch === "\n" || (cp >= 0x20 && cp <= 0x7e))) special = true;
    if (ch === " ") {
      if (index === 0) leadingSpace = true;
      if (index === n - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (BREAKS.includes(ch)) {
      if (index === 0) leadingBreak = true;
      if (index === n - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = WHITESPACE.includes(ch);
    followedByWhitespace = index + 2 >= n || WHITESPACE.includes(chars[index + 2]!);
  }
  let allowBlockPlain = true;
  let allowSingleQuoted = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) allowBlockPlain = false;
  if (breakSpace) allowBlockPlain = allowSingleQuoted = false;
  if (spaceBreak || special) allowBlockPlain = allowSingleQuoted = false;
  if (lineBreaks) allowBlockPlain = false;
  if (blockIndicators) allowBlockPlain = false;
  return { empty: false, multiline: lineBreaks, allowBlockPlain, allowSingleQuoted };
}

/** The line ended: what was written so far is the first line. */
class LineEnd extends Error {}

const ESCAPES: Record<string, string> = {
  "\0": "0",
  "\x07": "a",
  "\x08": "b",
  "\x09": "t",
  "\x0a": "n",
  "\x0b": "v",
  "\x0c": "f",
  "\x0d": "r",
  "\x1b": "e",
  '"': '"',
  "\\": "\\",
  "\x85": "N",
  "\xa0": "_",
  "\u2028": "L",
  "\u2029": "P",
};

/** The emitter's state for one line: the text, the column (in code points), whether it ends in whitespace. */
class Line {
  text = "";
  column = 0;
  whitespace = true;

  write(data: string): void {
    this.text += data;
    this.column += [...data].length;
  }

  indicator(indicator: string, needWhitespace: boolean, whitespace = false): void {
    this.write(needWhitespace && !this.whitespace ? ` ${indicator}` : indicator);
    this.whitespace = whitespace;
  }

  /** A new line starts: stop. */
  indent(): never {
    throw new LineEnd();
  }

  plain(chars: string[], split: boolean): void {
    if (chars.length === 0) return;
    if (!this.whitespace) this.write(" ");
    this.whitespace = false;
    let spaces = false;
    let start = 0;
    for (let end = 0; end <= chars.length; end++) {
      const ch = end < chars.length ? chars[end] : undefined;
      if (spaces) {
        if (ch !== " ") {
          if (start + 1 === end && this.column > BEST_WIDTH && split) this.indent();
          this.write(chars.slice(start, end).join(""));
          start = end;
        }
      } else if (ch === undefined || ch === " ") {
        this.write(chars.slice(start, end).join(""));
        start = end;
      }
      if (ch !== undefined) spaces = ch === " ";
    }
  }

  singleQuoted(chars: string[], split: boolean): void {
    this.indicator("'", true);
    let spaces = false;
    let breaks = false;
    let start = 0;
    for (let end = 0; end <= chars.length; end++) {
      const ch = end < chars.length ? chars[end] : undefined;
      if (spaces) {
        if (ch === undefined || ch !== " ") {
          if (start + 1 === end && this.column > BEST_WIDTH && split && start !== 0 && end !== chars.length) this.indent();
          this.write(chars.slice(start, end).join(""));
          start = end;
        }
      } else if (breaks) {
        if (ch === undefined || !BREAKS.includes(ch)) this.indent();
      } else if (ch === undefined || " ".includes(ch) || BREAKS.includes(ch) || ch === "'") {
        if (start < end) {
          this.write(chars.slice(start, end).join(""));
          start = end;
        }
      }
      if (ch === "'") {
        this.write("''");
        start = end + 1;
      }
      if (ch !== undefined) {
        spaces = ch === " ";
        breaks = BREAKS.includes(ch);
      }
    }
    this.indicator("'", false);
  }

  doubleQuoted(chars: string[], split: boolean): void {
    this.indicator('"', true);
    let start = 0;
    for (let end = 0; end <= chars.length; end++) {
      const ch = end < chars.length ? chars[end] : undefined;
      const cp = ch === undefined ? 0 : ch.codePointAt(0)!;
      if (ch === undefined || '"\\\x85\u2028\u2029\ufeff'.includes(ch) || !(cp >= 0x20 && cp <= 0x7e)) {
        if (start < end) {
          this.write(chars.slice(start, end).join(""));
          start = end;
        }
        if (ch !== undefined) {
          const escape = ESCAPES[ch];
          const hex = (width: number) => cp.toString(16).toUpperCase().padStart(width, "0");
          this.write(escape !== undefined ? `\\${escape}` : cp <= 0xff ? `\\x${hex(2)}` : cp <= 0xffff ? `\\u${hex(4)}` : `\\U${hex(8)}`);
          start = end + 1;
        }
      }
      if (end > 0 && end < chars.length - 1 && (ch === " " || start >= end) && this.column + (end - start) > BEST_WIDTH && split) {
        this.write(`${chars.slice(start, end).join("")}\\`);
        this.indent();
      }
    }
    this.indicator('"', false);
  }

  /** A scalar of the given text; `implicitPlain` is whether its plain form reads back as the same type. */
  scalar(text: string, implicitPlain: boolean, simpleKey: boolean): void {
    const chars = [...text];
    const a = analyze(chars);
    const split = !simpleKey;
    if (implicitPlain && !(simpleKey && (a.empty || a.multiline)) && a.allowBlockPlain) this.plain(chars, split);
    else if (a.allowSingleQuoted && !(simpleKey && a.multiline)) this.singleQuoted(chars, split);
    else this.doubleQuoted(chars, split);
  }
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Python's ordering of text: by code point. */
function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** A scalar value's text as PyYAML represents it, or undefined for collections. */
function scalarText(value: unknown): { text: string; str: boolean } | undefined {
  if (value === null || value === undefined) return { text: "null", str: false };
  if (typeof value === "boolean") return { text: value ? "true" : "false", str: false };
  if (typeof value === "bigint") return { text: value.toString(), str: false };
  if (typeof value === "number") return { text: isFloatNumber(value) ? yamlFloat(value) : String(value), str: false };
  if (typeof value === "string") return { text: value, str: true };
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new EncodeError(value, "the Date is invalid; pass a valid Date or the date as text");
    // represent_datetime: isoformat(" "), which is str(datetime) for a naive one.
    return { text: formatDateTime(value), str: false };
  }
  return undefined;
}

/** What PyYAML cannot represent without a `!!` tag, which offspect's encode refuses. */
function refuse(value: unknown): never {
  if (typeof value === "function" || typeof value === "symbol") {
    throw new EncodeError(value, "a function or symbol has no stored form; pass text, a number, a boolean, null, a Date, a list or a plain object");
  }
  throw new EncodeError(
    value,
    "PyYAML would tag it with !! (bytes, sets and class instances), which offspect's encode refuses; pass text, a number, a boolean, null, a Date, a list or a plain object",
  );
}

/** The entries of a mapping as PyYAML orders them (sorted keys), or undefined when the value is not a mapping. */
function mappingEntries(value: unknown): [string, unknown][] | undefined {
  if (typeof value === "object" && value !== null && !Array.isArray(value) && isPlainObject(value)) {
    return Object.keys(value)
      .sort(byCodePoint)
      .map((k) => [k, (value as Record<string, unknown>)[k]]);
  }
  return undefined;
}

/** The rest of a mapping entry's first line after `key:`, for its value. */
function writeValue(line: Line, value: unknown): void {
  const s = scalarText(value);
  if (s) {
    line.scalar(s.text, !s.str || resolvesToStr(s.text), false);
    return;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) {
      line.indicator("[", true, true);
      line.indicator("]", false);
      return;
    }
    line.indent(); // a block sequence starts on the next line
  }
  const entries = mappingEntries(value);
  if (entries) {
    if (entries.length === 0) {
      line.indicator("{", true, true);
      line.indicator("}", false);
      return;
    }
    line.indent(); // a block mapping starts on the next line
  }
  refuse(value);
}

/**
 * The first line of PyYAML's `yaml.dump(value)` for a scalar (null,
 * boolean, number, bigint, Date, text) or a mapping (a plain object);
 * a JavaScript number is a Python int when it is a safe integer and a float
 * otherwise.
 * @example
 * yamlFirstLine(1e-7)                 // "1.0e-07"
 * yamlFirstLine({ b: 1, a: "yes" })   // "a: 'yes'"
 * yamlFirstLine({ a: [1, 2] })        // "a:"
 * @throws {EncodeError} for what PyYAML would tag with `!!` (bytes, sets, class instances) or cannot represent (functions, symbols, invalid Dates)
 */
export function yamlFirstLine(value: unknown): string {
  const line = new Line();
  try {
    const s = scalarText(value);
    if (s) {
      line.scalar(s.text, !s.str || resolvesToStr(s.text), false);
      return line.text;
    }
    if (Array.isArray(value) && value.length === 0) return "[]";
    const entries = mappingEntries(value);
    if (!entries) refuse(value);
    if (entries.length === 0) return "{}";
    const [key, item] = entries[0]!;
    const keyLength = [...key].length + STR_TAG_LENGTH;
    const keyAnalysis = analyze([...key]);
    if (keyLength < SIMPLE_KEY_LIMIT && !keyAnalysis.empty && !keyAnalysis.multiline) {
      line.scalar(key, resolvesToStr(key), true);
      line.indicator(":", false);
      writeValue(line, item);
    } else {
      line.indicator("?", true);
      line.scalar(key, resolvesToStr(key), false);
      line.indent(); // the value follows on the next line, after ":"
    }
    return line.text;
  } catch (e) {
    if (e instanceof LineEnd) return line.text;
    throw e;
  }
}
