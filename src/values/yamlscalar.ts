/**
 * PyYAML's plain scalars (YAML 1.1, `yaml/resolver.py` and
 * `yaml/constructor.py`): which text resolves to which type, and the value it
 * constructs. The `yaml` package's own 1.1 schema differs in places (it reads
 * `1e3`, `y` and `n` as values and allows an unsigned exponent); these are
 * PyYAML's rules, which offspect's files are written and read with.
 *
 * Integers beyond JavaScript's safe range (|n| > 2^53 - 1) construct as
 * `bigint`, every digit kept, as Python's int keeps them.
 * @module
 */

/** `tag:yaml.org,2002:bool`: these spellings only (`y`, `n` stay text). */
export const RE_BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
/** `tag:yaml.org,2002:int`: binary, octal (leading 0), decimal, hex, sexagesimal; `_` allowed. */
export const RE_INT =
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
/** `tag:yaml.org,2002:float`: a dot is required, an exponent needs its sign (`1e3` is text). */
export const RE_FLOAT =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
/** `tag:yaml.org,2002:null`: `~`, `null`, `Null`, `NULL` and the empty text (`None` is text). */
export const RE_NULL = /^(?:~|null|Null|NULL|)$/;
/** `tag:yaml.org,2002:timestamp`: a date, or a date and time with optional fraction and zone. */
export const RE_TIMESTAMP =
  /^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$/;
/** PyYAML's other implicit resolvers: merge `<<`, value `=`, and the YAML indicators `!`, `&`, `*`. */
const RE_OTHER = /^(?:<<|=|!|&|\*)$/;

/**
 * Whether PyYAML reads the plain text as an integer (not a float, not text).
 * @example isYamlInt("0x1F") // true;  isYamlInt("1.0") // false;  isYamlInt("1e3") // false
 */
export function isYamlInt(text: string): boolean {
  return RE_INT.test(text.trim());
}

/**
 * Whether PyYAML reads the text, written plain, as a string (so a dump may leave it unquoted).
 * @example resolvesToStr("EDC_L") // true;  resolvesToStr("yes") // false (a boolean)
 */
export function resolvesToStr(text: string): boolean {
  return !(RE_NULL.test(text) || RE_BOOL.test(text) || RE_INT.test(text) || RE_FLOAT.test(text) || RE_TIMESTAMP.test(text) || RE_OTHER.test(text));
}

/** A bigint as a number when that is exact, else the bigint. */
function exactInt(n: bigint): number | bigint {
  return n >= -BigInt(Number.MAX_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/**
 * PyYAML's `construct_yaml_int`: the integer, as a number when safe and a
 * bigint beyond.
 * @example constructInt("0_17") // 15;  constructInt("190:20:30") // 685230;  constructInt("9007199254740993") // 9007199254740993n
 * @throws {SyntaxError} the text (given an explicit `!!int` tag) is not an integer
 */
export function constructInt(text: string): number | bigint {
  let value = text.replace(/_/g, "");
  if (value === "") throw new SyntaxError("an integer needs digits");
  let sign = 1n;
  if (value[0] === "-") sign = -1n;
  if (value[0] === "+" || value[0] === "-") value = value.slice(1);
  if (value === "0") return 0;
  let n: bigint;
  if (value.startsWith("0b")) n = BigInt(`0b${value.slice(2)}`);
  else if (value.startsWith("0x")) n = BigInt(`0x${value.slice(2)}`);
  else if (value[0] === "0") n = BigInt(`0o${value.slice(1)}`);
  else if (value.includes(":")) {
    n = 0n;
    for (const part of value.split(":")) n = n * 60n + BigInt(part);
  } else n = BigInt(value);
  return exactInt(sign * n);
}

const RE_PYTHON_FLOAT = /^\s*[-+]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[-+]?[0-9]+)?|inf|infinity|nan)\s*$/;

/**
 * PyYAML's `construct_yaml_float` (for a text the float resolver matched, or
 * any text given an explicit `!!float` tag, which Python's `float()` reads).
 * @example constructFloat("1_000.5") // 1000.5;  constructFloat("-.INF") // -Infinity;  constructFloat("1:30.5") // 90.5
 * @throws {SyntaxError} the text is not a float to Python
 */
export function constructFloat(text: string): number {
  let value = text.replace(/_/g, "").toLowerCase();
  let sign = 1;
  if (value[0] === "-") sign = -1;
  if (value[0] === "+" || value[0] === "-") value = value.slice(1);
  if (value === ".inf") return sign * Infinity;
  if (value === ".nan") return NaN;
  if (value.includes(":")) {
    // PyYAML's order of operations: from the last part, times 1, 60, 3600, ...
    const parts = value.split(":");
    let x = 0;
    let base = 1;
    for (let i = parts.length - 1; i >= 0; i--) {
      x += Number(parts[i]) * base;
      base *= 60;
    }
    return sign * x;
  }
  if (!RE_PYTHON_FLOAT.test(value)) throw new SyntaxError(`could not convert string to float: ${JSON.stringify(text)}`);
  const word = value.trim().replace(/^[-+]/, "");
  const inner = value.trim().startsWith("-") ? -1 : 1;
  if (word === "inf" || word === "infinity") return sign * inner * Infinity;
  if (word === "nan") return NaN;
  return sign * Number(value.trim());
}

/**
 * PyYAML's `construct_yaml_bool` for an explicit `!!bool` tag.
 * @example constructBool("Yes") // true
 * @throws {SyntaxError} not one of yes, no, true, false, on, off (any case)
 */
export function constructBool(text: string): boolean {
  const v = text.toLowerCase();
  if (v === "yes" || v === "true" || v === "on") return true;
  if (v === "no" || v === "false" || v === "off") return false;
  throw new SyntaxError(`${JSON.stringify(text)} is not a boolean`);
}

/**
 * PyYAML's `construct_yaml_timestamp`, as a JavaScript Date: a date at UTC
 * midnight, a date-time without zone as UTC, one with a zone as that
 * instant; the fraction to the millisecond.
 * @example constructTimestamp("2020-05-17 18:02:00 +02:00") // Date 2020-05-17T16:02:00.000Z
 * @throws {RangeError} the date or time does not exist (PyYAML raises ValueError)
 */
export function constructTimestamp(text: string): Date {
  const m =
    /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:[Tt]|[ \t]+)([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]*))?(?:[ \t]*(Z|([-+])([0-9]{1,2})(?::([0-9]{2}))?))?)?$/.exec(
      text,
    );
  if (!m) throw new RangeError("not a timestamp");
  const [, y, mo, d, h, mi, s, frac, tz, tzSign, tzH, tzM] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(s ?? 0);
  const daysInMonth = month >= 1 && month <= 12 ? new Date(Date.UTC(year, month, 0)).getUTCDate() : 0;
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
    throw new RangeError("the date or time is out of range");
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
