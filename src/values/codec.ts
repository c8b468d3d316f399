/**
 * `encode` and `decode`: attribute values are stored as text and read with
 * YAML 1.1, exactly as offspect does with PyYAML (`decode`: `yaml.load(text,
 * Loader=yaml.Loader)` plus offspect's handling of lists, `nan` and `inf`;
 * `encode`: text as it is, a list as Python's `str()`, anything else as the
 * first line of `yaml.dump(value)`).
 *
 * The YAML parsing is the `yaml` package's YAML 1.1 schema with its scalar
 * resolvers replaced by PyYAML's own (values/yamlscalar.ts), so every plain
 * scalar resolves as offspect resolves it; the dump is PyYAML's emitter,
 * restated (values/yamldump.ts).
 *
 * Integers beyond 2^53 - 1 in magnitude decode as `bigint`, every digit
 * kept, and a bigint encodes as its exact digits (`12345678901234567890`),
 * as Python's int does. A JavaScript number that is an integer beyond 2^53
 * is a float, as JSON's `1e+21` is in Python (`1.0e+21`): pass a bigint to
 * store an exact large integer.
 * @module
 */
import type { Tags } from "yaml";
import { lazyModule } from "../base/lazy.js";

/** The yaml library, loaded when the first text that needs it is decoded. */
const yaml = lazyModule<typeof import("yaml")>("yaml");
import { describe } from "../base/errors.js";
import { ArgumentTypeError, DecodeError, EncodeError } from "./errors.js";
import { formatDateTime, pyRepr } from "./format.js";
import { jsToPy } from "./convert.js";
import { yamlFirstLine } from "./yamldump.js";
import {
  constructBool,
  constructFloat,
  constructInt,
  constructTimestamp,
  RE_BOOL,
  RE_FLOAT,
  RE_INT,
  RE_NULL,
  RE_TIMESTAMP,
} from "./yamlscalar.js";
import { plainNumber, plainNumberList } from "./plain.js";

export { DecodeError, EncodeError } from "./errors.js";
export { isYamlInt } from "./yamlscalar.js";

/** A value that text decodes to. Integers beyond 2^53 - 1 in magnitude are bigints. */
export type Decoded = null | boolean | number | bigint | string | Date | Decoded[] | { [key: string]: Decoded } | Uint8Array;

function pyyamlTags(tags: Tags): Tags {
  const replaced = new Set([
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
  ]);
  const kept = tags.filter((t) => typeof t === "string" || !replaced.has(t.tag));
  // Implicit: plain text matching `test`. Explicit (`!!float 1`): any text, constructed as PyYAML does.
  const scalar = (tag: string, test: RegExp, resolve: (s: string) => unknown) =>
    ({ tag, test, resolve, default: true, identify: () => false }) as unknown as Tags[number];
  const explicit = (tag: string, resolve: (s: string) => unknown) => ({ tag, resolve, identify: () => false }) as unknown as Tags[number];
  const noConstructor = (tag: string) => () => {
    throw new Error(`could not determine a constructor for the tag '${tag}'`);
  };
  return [
    ...kept,
    scalar("tag:yaml.org,2002:null", RE_NULL, () => null),
    scalar("tag:yaml.org,2002:bool", RE_BOOL, (s) => /^(?:yes|true|on)$/i.test(s)),
    scalar("tag:yaml.org,2002:int", RE_INT, constructInt),
    scalar("tag:yaml.org,2002:float", RE_FLOAT, constructFloat),
    scalar("tag:yaml.org,2002:timestamp", RE_TIMESTAMP, constructTimestamp),
    // PyYAML resolves a plain "=" to the value tag, which its Loader cannot construct.
    scalar("tag:yaml.org,2002:value", /^=$/, noConstructor("tag:yaml.org,2002:value")),
    explicit("tag:yaml.org,2002:null", () => null),
    explicit("tag:yaml.org,2002:bool", constructBool),
    explicit("tag:yaml.org,2002:int", constructInt),
    explicit("tag:yaml.org,2002:float", constructFloat),
    explicit("tag:yaml.org,2002:timestamp", constructTimestamp),
  ];
}

const PARSE_OPTIONS = {
  version: "1.1",
  schema: "yaml-1.1",
  customTags: pyyamlTags,
  uniqueKeys: false,
  maxAliasCount: 100,
  // Warnings (unknown directives or tags) would go to process.emitWarning, i.e. stderr.
  logLevel: "error",
} as const;

/**
 * PyYAML's scanner never skips a tab between tokens and ends a plain scalar
 * at one, so a tab outside quotes, comments and block scalars is an error
 * there ("found character '\\t' that cannot start any token"), where the
 * `yaml` package accepts it.
 */
function checkTabs(text: string): void {
  if (!text.includes("\t")) return;
  if (tabOutsideQuotes(text)) {
    throw new DecodeError(text, "found character '\\t' that cannot start any token (PyYAML allows tabs only inside quotes, comments and block scalars)");
  }
}

function tabOutsideQuotes(text: string): boolean {
  let scalarNext = false;
  let blockHeader = false;
  const { CST, Lexer } = yaml();
  for (const lexeme of new Lexer().lex(text)) {
    if (lexeme === CST.SCALAR) {
      scalarNext = true;
    } else if (scalarNext) {
      // The source of the scalar that follows the marker: plain, or a block scalar's body.
      scalarNext = false;
      if (!blockHeader && lexeme.includes("\t")) return true;
      blockHeader = false;
    } else {
      const type = CST.tokenType(lexeme);
      if (type === "block-scalar-header") blockHeader = true;
      else if (type !== "comment" && type !== "single-quoted-scalar" && type !== "double-quoted-scalar" && lexeme.includes("\t")) return true;
    }
  }
  return false;
}

/** The lexer's markers of a document, a scalar and a flow collection's end ("\x02", "\x1f", "\x18"... as yaml's CST names them), made on first use. */
let markers: Set<string> | undefined;
const FLOW_CLOSE = new Set(["comma", "flow-seq-end", "flow-map-end"]);

/**
 * PyYAML reads a `-` in a flow collection that a flow indicator follows at
 * once (`[a, -]`, `{a: -}`) as the plain scalar "-"; the `yaml` package takes
 * it for a block sequence and fails. The same text with that `-` quoted
 * (the same string to PyYAML), or undefined when there is no such `-`.
 */
function quoteFlowDashes(text: string): string | undefined {
  const { CST, Lexer } = yaml();
  markers ??= new Set<string>([CST.DOCUMENT, CST.SCALAR, CST.FLOW_END]);
  const lexemes = [...new Lexer().lex(text)].filter((l) => l !== "" && !markers!.has(l));
  // Only when the lexemes are the whole source, so that nothing else can change.
  if (lexemes.join("") !== text) return undefined;
  let depth = 0;
  let changed = false;
  const out = lexemes.map((lexeme, i) => {
    const type = CST.tokenType(lexeme);
    if (type === "flow-seq-start" || type === "flow-map-start") depth++;
    if (type === "flow-seq-end" || type === "flow-map-end") depth--;
    const next = lexemes[i + 1];
    if (type === "seq-item-ind" && depth > 0 && next !== undefined && FLOW_CLOSE.has(CST.tokenType(next) ?? "")) {
      changed = true;
      return "'-'";
    }
    return lexeme;
  });
  return changed ? out.join("") : undefined;
}

function parseLikePyYaml(text: string): unknown {
  try {
    return yaml().parse(text, PARSE_OPTIONS);
  } catch (e) {
    const quoted = text.includes("-") ? quoteFlowDashes(text) : undefined;
    if (quoted === undefined) throw e;
    try {
      return yaml().parse(quoted, PARSE_OPTIONS);
    } catch {
      throw e;
    }
  }
}

/** offspect's pass over a decoded list: text items decoded again, ints and floats kept, every other item dropped. */
function offspectList(items: unknown[]): Decoded[] {
  const out: Decoded[] = [];
  for (const item of items) {
    if (typeof item === "string") out.push(decode(item));
    else if (typeof item === "number" || typeof item === "bigint") out.push(item);
  }
  return out;
}

/**
 * Decodes stored attribute text, as offspect's `decode`: YAML 1.1 as PyYAML
 * reads it, then offspect's two extras:
 * - in a list, every item that is text is decoded again, integers and
 *   floats are kept, and every other item (booleans, null, nested lists,
 *   mappings, dates) is dropped: `[S  1]` gives `["S  1"]`, `['1', true, 2]`
 *   gives `[1, 2]`;
 * - a result that is exactly the text `nan` or `inf` (also quoted, `'nan'`)
 *   becomes NaN or Infinity; `-inf` stays text, as in offspect (YAML's own
 *   `.nan`, `.inf` and `-.inf` are floats anyway).
 *
 * @example
 * decode("66")                   // 66
 * decode("[37.0, 52.9, 21.2]")   // [37, 52.9, 21.2]
 * decode("None")                 // "None" (offspect's populate writes None for null)
 * decode("2020-01-01 10:00:00")  // Date (UTC)
 * decode("12345678901234567890") // 12345678901234567890n
 * @throws {DecodeError} the text is not YAML, or holds an impossible date
 * @throws {ArgumentTypeError} (a TypeError) the argument is not a string
 */
export function decode(text: string): Decoded {
  if (typeof text !== "string") throw new ArgumentTypeError(`expected a string for decode, got ${describe(text)}: decode reads stored text; encode turns values into it`);
  const plain = plainNumber(text) ?? plainNumberList(text);
  if (plain !== undefined) return plain;
  let value: unknown;
  try {
    value = parseLikePyYaml(text);
    checkTabs(text);
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError(text, (e as Error).message.split("\n")[0] ?? "invalid YAML");
  }
  if (Array.isArray(value)) return offspectList(value);
  if (value === "nan") return NaN;
  if (value === "inf") return Infinity;
  return value as Decoded;
}

/**
 * Encodes a value for storage, as offspect's `encode`: text stays as it is,
 * a Date becomes Python's `str(datetime)` (UTC), a list Python's `str()` of
 * it (`[37.0, 52.9, 21.2]`, `['EDC_L', 'APB_R']`), anything else the first
 * line of PyYAML's dump (`66`, `3.5`, `1.0e-07`, `true`, `null`, `.nan`; a
 * mapping `a: 1`, its first key in sorted order).
 *
 * JavaScript has one number type: safe integers encode as ints, other
 * numbers as floats, bigints as ints with every digit, and a list of
 * numbers with any non-integer encodes every number as a float (so `[37,
 * 52.9, 21.2]` gives `[37.0, 52.9, 21.2]`). `undefined` encodes as `null`.
 *
 * @example
 * encode(66)                    // "66"
 * encode(1e-7)                  // "1.0e-07"
 * encode(null)                  // "null"
 * encode(2n ** 64n)             // "18446744073709551616"
 * encode({ b: 1, a: "yes" })    // "a: 'yes'"
 * @throws {EncodeError} for a function, a symbol, an invalid Date, or what PyYAML would tag with `!!` (bytes, sets, class instances), which offspect refuses
 */
export function encode(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new EncodeError(value, "the Date is invalid; pass a valid Date or the date as text");
    return formatDateTime(value);
  }
  if (Array.isArray(value)) return pyRepr(jsToPy(value));
  const line = yamlFirstLine(value);
  if (line.includes("!!")) {
    throw new EncodeError(value, `its dump ${JSON.stringify(line)} holds "!!", which offspect's encode refuses; cast it to text, a number or a list`);
  }
  return line;
}
