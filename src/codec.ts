/**
 * `encode` and `decode`: attribute values are stored as text and read with
 * YAML 1.1, exactly as offspect does with PyYAML (`yaml.load(text,
 * Loader=yaml.Loader)` and the first line of `yaml.dump(value)`).
 *
 * The YAML parsing is the `yaml` package's YAML 1.1 schema with its scalar
 * resolvers replaced by PyYAML's own (PyYAML keeps `1e3`, `y` and `n` as text
 * and requires a signed exponent), so every plain scalar resolves as offspect
 * resolves it.
 * @module
 */
import { parse, type Tags } from "yaml";
import { CacheFileError } from "./errors.js";
import { formatDateTime, formatFloat, jsToPy, pyRepr } from "./pyliteral.js";

/** A value that text decodes to. */
export type Decoded = null | boolean | number | string | Date | Decoded[] | { [key: string]: Decoded } | Uint8Array;

/** The text is not valid YAML, or names an impossible date (`EDECODE`). */
export class DecodeError extends CacheFileError {
  constructor(text: string, why: string) {
    super("EDECODE", `cannot decode ${JSON.stringify(text)}: ${why}`);
  }
}

// PyYAML's implicit resolvers (yaml/resolver.py), YAML 1.1.
const RE_BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const RE_INT =
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const RE_FLOAT =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const RE_NULL = /^(?:~|null|Null|NULL|)$/;
const RE_TIMESTAMP =
  /^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$/;

/** Whether PyYAML reads the text as an integer (not a float, not text). */
export function isYamlInt(text: string): boolean {
  return RE_INT.test(text.trim());
}

function sexagesimal(parts: string[]): number {
  let value = 0;
  let base = 1;
  for (let i = parts.length - 1; i >= 0; i--) {
    value += Number(parts[i]) * base;
    base *= 60;
  }
  return value;
}

function constructInt(text: string): number {
  let value = text.replace(/_/g, "");
  let sign = 1;
  if (value[0] === "-") sign = -1;
  if (value[0] === "+" || value[0] === "-") value = value.slice(1);
  if (value === "0") return 0;
  if (value.startsWith("0b")) return sign * parseInt(value.slice(2), 2);
  if (value.startsWith("0x")) return sign * parseInt(value.slice(2), 16);
  if (value[0] === "0") return sign * parseInt(value, 8);
  if (value.includes(":")) return sign * sexagesimal(value.split(":"));
  return sign * Number(value);
}

function constructFloat(text: string): number {
  let value = text.replace(/_/g, "").toLowerCase();
  let sign = 1;
  if (value[0] === "-") sign = -1;
  if (value[0] === "+" || value[0] === "-") value = value.slice(1);
  if (value === ".inf") return sign * Infinity;
  if (value === ".nan") return NaN;
  if (value.includes(":")) return sign * sexagesimal(value.split(":"));
  return sign * Number(value);
}

function constructTimestamp(text: string): Date {
  const m =
    /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:[Tt]|[ \t]+)([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]*))?(?:[ \t]*(Z|([-+])([0-9]{1,2})(?::([0-9]{2}))?))?)?$/.exec(
      text,
    )!;
  const [, y, mo, d, h, mi, s, frac, tz, tzSign, tzH, tzM] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(s ?? 0);
  const daysInMonth = month >= 1 && month <= 12 ? new Date(Date.UTC(year, month, 0)).getUTCDate() : 0;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
    throw new Error("the date or time is out of range");
  }
  const ms = frac ? Math.floor(Number(`0.${frac.slice(0, 6).padEnd(6, "0")}`) * 1e6) / 1000 : 0;
  let t = Date.UTC(year, month - 1, day, hour, minute, second) + ms;
  if (year < 100) t = new Date(t).setUTCFullYear(year);
  if (tz && tz !== "Z") {
    const offset = (Number(tzH) * 60 + Number(tzM ?? 0)) * 60000;
    t -= tzSign === "-" ? -offset : offset;
  }
  return new Date(t);
}

function pyyamlTags(tags: Tags): Tags {
  const replaced = new Set([
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
  ]);
  const kept = tags.filter((t) => typeof t === "string" || !replaced.has(t.tag));
  const scalar = (tag: string, test: RegExp, resolve: (s: string) => unknown) =>
    ({ tag, test, resolve, default: true, identify: () => false }) as unknown as Tags[number];
  return [
    ...kept,
    scalar("tag:yaml.org,2002:null", RE_NULL, () => null),
    scalar("tag:yaml.org,2002:bool", RE_BOOL, (s) => /^(?:yes|true|on)$/i.test(s)),
    scalar("tag:yaml.org,2002:int", RE_INT, constructInt),
    scalar("tag:yaml.org,2002:float", RE_FLOAT, constructFloat),
    scalar("tag:yaml.org,2002:timestamp", RE_TIMESTAMP, constructTimestamp),
  ];
}

const PARSE_OPTIONS = {
  version: "1.1",
  schema: "yaml-1.1",
  customTags: pyyamlTags,
  uniqueKeys: false,
  maxAliasCount: 100,
} as const;

function redecodeList(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  const out: unknown[] = [];
  for (const item of value) {
    if (item === null || item === undefined) continue;
    out.push(typeof item === "string" ? decode(item) : redecodeList(item));
  }
  return out;
}

/**
 * Decodes stored attribute text, as offspect's `decode`: YAML 1.1 as PyYAML
 * reads it, plus offspect's extras: text items of a list are decoded again
 * (null items dropped), and `nan`, `inf`, `-inf` are the float values.
 *
 * @example
 * decode("66")                 // 66
 * decode("[37.0, 52.9, 21.2]") // [37, 52.9, 21.2]
 * decode("None")               // "None" (offspect's populate writes None for null)
 * decode("2020-01-01 10:00:00")// Date (UTC)
 * @throws {DecodeError} the text is not YAML, or holds an impossible date
 */
export function decode(text: string): Decoded {
  if (typeof text !== "string") throw new TypeError(`decode expects a string, got ${typeof text}`);
  if (text === "nan") return NaN;
  if (text === "inf") return Infinity;
  if (text === "-inf") return -Infinity;
  let value: unknown;
  try {
    value = parse(text, PARSE_OPTIONS);
  } catch (e) {
    throw new DecodeError(text, (e as Error).message.split("\n")[0] ?? "invalid YAML");
  }
  return redecodeList(value) as Decoded;
}

/** PyYAML's representation of a float (`represent_float`). */
function yamlFloat(x: number): string {
  if (Number.isNaN(x)) return ".nan";
  if (x === Infinity) return ".inf";
  if (x === -Infinity) return "-.inf";
  const value = formatFloat(x).toLowerCase();
  return !value.includes(".") && value.includes("e") ? value.replace("e", ".0e") : value;
}

function isFloat(x: number): boolean {
  return !Number.isInteger(x) || Math.abs(x) >= 2 ** 53 || Object.is(x, -0);
}

/**
 * Encodes a value for storage, as offspect's `encode`: text stays as it is,
 * a Date becomes Python's `str(datetime)` (UTC), a list its Python repr
 * (`[37.0, 52.9, 21.2]`, `['EDC_L', 'APB_R']`), anything else the first line
 * of PyYAML's dump (`66`, `3.5`, `1.0e-07`, `true`, `null`, `.nan`).
 *
 * JavaScript has one number type: safe integers encode as ints, others as
 * floats, and a list of numbers with any non-integer encodes every number as
 * a float (so `[37, 52.9, 21.2]` gives `[37.0, 52.9, 21.2]`).
 *
 * @example encode(66) // "66";  encode(1e-7) // "1.0e-07";  encode(null) // "null"
 */
export function encode(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return isFloat(value) ? yamlFloat(value) : String(value);
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new TypeError("cannot encode an invalid Date");
    return formatDateTime(value);
  }
  if (Array.isArray(value)) return pyRepr(jsToPy(value));
  if (typeof value === "object") {
    const keys = Object.keys(value as object).sort();
    if (keys.length === 0) return "{}";
    const first = (value as Record<string, unknown>)[keys[0]!];
    const scalar = first === null || ["string", "number", "boolean", "bigint"].includes(typeof first);
    return scalar ? `${keys[0]}: ${encode(first)}` : `${keys[0]}:`;
  }
  throw new TypeError(`cannot encode a ${typeof value}`);
}
