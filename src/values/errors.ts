/**
 * The errors of the value layer: text that cannot be decoded, values that
 * cannot be encoded, text that is not a Python literal.
 * @module
 */
import { CacheFileError, describe } from "../base/errors.js";

/** Text shown in a message: JSON-quoted, cut to 80 characters. */
function shown(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

/**
 * The text is not valid YAML, or names an impossible date (`EDECODE`), so
 * offspect's `decode` (PyYAML) would raise on it too.
 * @example
 * try { decode("[a]b"); } catch (e) { if (e instanceof DecodeError) console.error(e.message); }
 */
export class DecodeError extends CacheFileError {
  /** The text that could not be decoded. */
  readonly text: string;
  constructor(text: string, why: string) {
    super("EDECODE", `cannot decode ${shown(text)}: ${why}; store text offspect can read (YAML 1.1), or read the raw text instead`);
    this.text = text;
  }
}

/**
 * A value that has no stored form (`EENCODE`): a function, a symbol, a Set,
 * a Map, bytes or a class instance at the top level (offspect's `encode`
 * refuses what PyYAML would tag with `!!`), or an invalid Date.
 * @example
 * try { encode(new Set([1])); } catch (e) { if (e instanceof EncodeError) console.error(e.message); }
 */
export class EncodeError extends CacheFileError {
  /** The value that could not be encoded. */
  readonly value: unknown;
  constructor(value: unknown, why: string) {
    super("EENCODE", `cannot encode ${describe(value)}: ${why}`);
    this.value = value;
  }
}

/**
 * The text is not a Python literal (`ELITERAL`): where Python's
 * `ast.literal_eval` raises SyntaxError or ValueError. offspect's
 * `parse_traceattrs` then keeps the text as it is; {@link parseAttrValue}
 * does the same.
 * @example
 * try { literalEval("[1, 2"); } catch (e) { if (e instanceof PyLiteralError) console.error(e.message); }
 */
export class PyLiteralError extends CacheFileError {
  /** Where in the text parsing stopped (0-based). */
  readonly offset: number;
  constructor(text: string, why: string, offset: number) {
    super("ELITERAL", `${shown(text)} is not a Python literal (${why} at offset ${offset}): pass a number, a quoted string, a list, a tuple, a dict, True, False or None`);
    this.offset = offset;
  }
}

const BRAND = Symbol.for("offspect-cachefile.error");

/**
 * An argument of the wrong type (`EARGTYPE`), e.g. `decode(5)` or a step
 * given something that is not trace data: a TypeError, as JavaScript's own
 * functions throw, that is also a CacheFileError (`instanceof` holds for
 * both), as IndexTypeError is.
 * @example
 * try { decode(5 as unknown as string); } catch (e) { e instanceof TypeError && e instanceof CacheFileError; } // true
 */
export class ArgumentTypeError extends TypeError {
  declare readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = "ArgumentTypeError";
    Object.defineProperty(this, "code", { value: "EARGTYPE", enumerable: true });
    (this as unknown as Record<symbol, unknown>)[BRAND] = true;
  }
}

/**
 * An argument outside its range (`EARGRANGE`), e.g. a correlation threshold
 * that is NaN or series of different lengths: a RangeError that is also a
 * CacheFileError.
 * @example
 * try { pearson(a, b); } catch (e) { if (e instanceof ArgumentRangeError) console.error(e.message); }
 */
export class ArgumentRangeError extends RangeError {
  declare readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = "ArgumentRangeError";
    Object.defineProperty(this, "code", { value: "EARGRANGE", enumerable: true });
    (this as unknown as Record<symbol, unknown>)[BRAND] = true;
  }
}
