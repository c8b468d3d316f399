import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decode, DecodeError, encode, EncodeError } from "../src/values/codec.js";
import { fixture, PYTHON } from "./helpers/fixtures.js";

interface Case {
  value?: unknown;
  encoded?: string;
  string?: string;
  decoded?: unknown;
}

const table = JSON.parse(readFileSync(fixture("encode_decode.json"), "utf8")) as { encode: Case[]; decode: Case[] };

/** Turns the fixture's JSON notation for floats and dates into JS values. */
function fromFixture(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromFixture);
  if (v && typeof v === "object") {
    const o = v as Record<string, string>;
    if ("float" in o) return o.float === "nan" ? NaN : o.float === "inf" ? Infinity : -Infinity;
    if ("type" in o && "repr" in o) {
      const nums = (o.repr.match(/\d+/g) ?? []).map(Number);
      const [y, mo, d, h = 0, mi = 0, s = 0] = nums;
      return new Date(Date.UTC(y!, mo! - 1, d!, h, mi, s));
    }
  }
  return v;
}

describe("decode: offspect's answers (encode_decode.json)", () => {
  for (const c of table.decode) {
    it(`decode(${JSON.stringify(c.string)})`, () => {
      expect(decode(c.string!)).toEqual(fromFixture(c.decoded));
    });
  }
});

describe("encode: offspect's answers (encode_decode.json)", () => {
  for (const c of table.encode) {
    it(`encode(${JSON.stringify(c.value)})`, () => {
      expect(encode(fromFixture(c.value))).toBe(c.encoded);
    });
  }
});

describe("decode details", () => {
  it("keeps PyYAML's YAML 1.1 rules where the yaml package's differ", () => {
    expect(decode("1.0e3")).toBe("1.0e3"); // PyYAML wants a signed exponent
    expect(decode("1.0E+3")).toBe(1000);
    expect(decode("0_7")).toBe(7); // octal with underscore
    expect(decode("0X1F")).toBe("0X1F");
    expect(decode("-.5")).toBe("-.5");
    expect(decode("1:30.5")).toBe(90.5);
    // offspect turns only the exact texts "nan" and "inf" into floats: "-inf" stays text.
    expect(decode("-inf")).toBe("-inf");
  });

  it("decodes text items of a list again and drops null items", () => {
    expect(decode("['1', 'yes', x]")).toEqual([1, true, "x"]);
    expect(decode("[a, ~]")).toEqual(["a"]);
  });

  it("reads date-times with offsets as UTC instants", () => {
    expect(decode("2001-12-14t21:59:43.10-05:00")).toEqual(new Date(Date.UTC(2001, 11, 15, 2, 59, 43, 100)));
    expect(decode("2020-1-1 1:00:00")).toEqual(new Date(Date.UTC(2020, 0, 1, 1)));
  });

  it("throws DecodeError for invalid YAML and impossible dates", () => {
    expect(() => decode("[a]b")).toThrow(DecodeError);
    expect(() => decode("2020-13-01")).toThrow(/cannot decode/);
  });
});

describe("encode round trips", () => {
  it("encodes Dates as Python's str(datetime)", () => {
    expect(encode(new Date(Date.UTC(2020, 0, 1, 10)))).toBe("2020-01-01 10:00:00");
    expect(encode(new Date(Date.UTC(2020, 0, 1, 10, 0, 0, 250)))).toBe("2020-01-01 10:00:00.250000");
  });

  it("encodes lists of numbers with any float as floats", () => {
    expect(encode([37, 52.9, 21.2])).toBe("[37.0, 52.9, 21.2]");
    expect(encode([1, 2, 3])).toBe("[1, 2, 3]");
    expect(encode([1e-7, 2])).toBe("[1e-07, 2.0]");
  });

  it("decode(encode(x)) gives x back", () => {
    for (const v of [0, -7, 3.5, 1e-7, 1e21, true, false, null, "text", [1, 2], ["EDC_L"], NaN, Infinity]) {
      expect(decode(encode(v))).toEqual(v);
    }
  });
});

const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0) => new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));

/**
 * Every input class, with the answer read off offspect's decode (PyYAML's
 * yaml.load, then: a list keeps its text items decoded again and its ints
 * and floats, and drops every other item; the exact text "nan" or "inf" is
 * a float) and PyYAML's YAML 1.1 resolvers.
 */
const DECODE_CLASSES: [string, string, unknown][] = [
  // ints: decimal, signed, octal, hex, binary, underscores, sexagesimal
  ["int", "0", 0],
  ["int", "-00", 0],
  ["int", "+12", 12],
  ["int", "0_17", 15],
  ["int", "-0x1F", -31],
  ["int", "0b1010", 10],
  ["int", "1__000", 1000],
  ["int", "190:20:30", 685230],
  ["int", "08", "08"], // no octal 8: text
  ["int", "0o17", "0o17"], // YAML 1.2 octal: text in 1.1
  // big ints: bigint beyond 2^53 - 1, every digit
  ["big int", "9007199254740991", 9007199254740991],
  ["big int", "9007199254740993", 9007199254740993n],
  ["big int", "-12345678901234567890", -12345678901234567890n],
  ["big int", "0x1_0000_0000_0000_0000", 18446744073709551616n],
  ["big int", "[12345678901234567890, 1]", [12345678901234567890n, 1]],
  // floats: a dot, a signed exponent
  ["float", "1.", 1],
  ["float", "-0.0", -0],
  ["float", "1.e+3", 1000],
  ["float", "6.02E+23", 6.02e23],
  ["float", "1_000.5", 1000.5],
  ["float", "-1:30.5", -90.5],
  ["float", "1e3", "1e3"],
  ["float", "1.0e3", "1.0e3"],
  ["float", "+.5", "+.5"],
  // infinities and NaN, every spelling
  ["inf/nan", ".inf", Infinity],
  ["inf/nan", "+.Inf", Infinity],
  ["inf/nan", "-.INF", -Infinity],
  ["inf/nan", ".NAN", NaN],
  ["inf/nan", "-.nan", "-.nan"],
  ["inf/nan", "inf", Infinity],
  ["inf/nan", "'inf'", Infinity], // the decoded text is "inf"
  ["inf/nan", " nan ", NaN],
  ["inf/nan", "-inf", "-inf"],
  ["inf/nan", "+inf", "+inf"],
  ["inf/nan", "NaN", "NaN"],
  ["inf/nan", "Infinity", "Infinity"],
  ["inf/nan", "[nan, inf, -inf, .inf, -.inf]", [NaN, Infinity, "-inf", Infinity, -Infinity]],
  // booleans and null
  ["bool", "On", true],
  ["bool", "NO", false],
  ["bool", "Y", "Y"],
  ["null", "~", null],
  ["null", "NULL", null],
  ["null", "None", "None"],
  ["null", "nil", "nil"],
  // dates and date-times (UTC; zones converted to the instant)
  ["date", "2020-05-17", utc(2020, 5, 17)],
  ["date", "2020-5-17", "2020-5-17"], // a date alone needs two-digit month and day
  ["date-time", "2020-5-7 8:02:00", utc(2020, 5, 7, 8, 2)],
  ["date-time", "2020-05-17T18:02:00.5Z", utc(2020, 5, 17, 18, 2, 0, 500)],
  ["date-time", "2020-05-17 18:02:00 +02:00", utc(2020, 5, 17, 16, 2)],
  ["date-time", "2020-05-17 18:02", "2020-05-17 18:02"], // no seconds: text
  // text: plain, quoted, with indicators inside
  ["text", "S  1", "S  1"],
  ["text", "a: b c", { a: "b c" }],
  ["text", "'yes'", "yes"],
  ["text", '"\\u00e9"', "é"],
  ["text", "x # comment", "x"],
  ["text", "'a\tb'", "a\tb"],
  // lists: every item kind
  ["list", "[S  1, 'S  2']", ["S  1", "S  2"]],
  ["list", "['1', '2.5', 'yes', '~', 'None']", [1, 2.5, true, null, "None"]],
  ["list", "[1, 2.5, true, false, null, ~, 2020-01-01]", [1, 2.5]],
  ["list", "[.nan, '.nan', 'nan']", [NaN, NaN, NaN]],
  ["list", "[[1, 2], '[1, 2]', {a: 1}, '{a: 1}']", [[1, 2], { a: 1 }]],
  ["list", "[1, [2, [3]], '[2, [3]]']", [1, [2]]],
  ["list", "- a\n- 1\n- yes\n-", ["a", 1]],
  ["list", "-", []],
  ["list", "[a, -]", ["a", []]],
  ["list", "[]", []],
  // mappings: as YAML reads them (offspect's list pass does not go inside)
  ["dict", "{a: [1, yes], b: 'nan'}", { a: [1, true], b: "nan" }],
  ["dict", "{}", {}],
];

/** Exact equality that tells 0 from -0, NaN from NaN, bigint from number and Dates by instant. */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") return Object.is(a, b);
  if (typeof a !== typeof b) return false;
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (a && b && typeof a === "object") {
    const ka = Object.keys(a);
    const kb = Object.keys(b as object);
    return ka.length === kb.length && ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

const show = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? `${x}n` : typeof x === "number" && !Number.isFinite(x) ? String(x) : x));

describe("decode: every input class, as offspect's decode reads it", () => {
  for (const [kind, text, want] of DECODE_CLASSES) {
    it(`${kind}: decode(${JSON.stringify(text)}) is ${show(want)}`, () => {
      const got = decode(text);
      expect(same(got, want), `got ${show(got)}`).toBe(true);
    });
  }

  it("refuses what PyYAML refuses: tabs between tokens, impossible dates, the value tag, bad explicit tags", () => {
    for (const text of ["comment\t", "a\tb", "[1,\t2]", "2020-02-30", "0000-01-01", "=", "!!int abc", "!!float x", "!!bool maybe", "[a]b"]) {
      expect(() => decode(text), text).toThrow(DecodeError);
    }
    expect(decode("x # \tcomment")).toBe("x"); // a tab inside a comment is fine
    expect(decode("!!float 1")).toBe(1);
    expect(decode("!!str 12")).toBe("12");
  });

  it("says which text it could not decode and what to do, with code EDECODE", () => {
    expect(() => decode("[1, 2")).toThrow(expect.objectContaining({ code: "EDECODE", message: expect.stringMatching(/^cannot decode "\[1, 2": .*; store text offspect can read/) }));
  });
});

describe("encode: every input class, as offspect's encode stores it", () => {
  const cases: [string, unknown, string][] = [
    ["int", 0, "0"],
    ["int", -7, "-7"],
    ["int beyond 2^53 as bigint", 2n ** 64n, "18446744073709551616"],
    ["int beyond 2^53 as bigint", -(10n ** 20n), "-100000000000000000000"],
    ["a number beyond 2^53 is a float", 2 ** 60, "1.152921504606847e+18"],
    ["float", 1e16, "1.0e+16"],
    ["float", 1e15 + 0.5, "1000000000000000.5"],
    ["float", -0, "-0.0"],
    ["float", 0.1 + 0.2, "0.30000000000000004"],
    ["inf/nan", NaN, ".nan"],
    ["inf/nan", -Infinity, "-.inf"],
    ["bool", false, "false"],
    ["null", undefined, "null"],
    ["date", new Date(Date.UTC(2020, 4, 17, 18, 2)), "2020-05-17 18:02:00"],
    ["text", "1e3", "1e3"],
    ["list", [1, 2.5, "a", true, null], "[1, 2.5, 'a', True, None]"],
    ["list", [2n ** 64n, 1], "[18446744073709551616, 1]"],
    ["list", [NaN, Infinity, -Infinity], "[nan, inf, -inf]"],
    ["list", [[1, 2], { a: 1 }], "[[1, 2], {'a': 1}]"],
    ["list", [new Date(Date.UTC(2020, 0, 1, 10))], "[datetime.datetime(2020, 1, 1, 10, 0)]"],
    ["list", ["it's", 'say "hi"', "é"], "[\"it's\", 'say \"hi\"', 'é']"],
    ["dict", {}, "{}"],
    ["dict", { b: 1, a: 2 }, "a: 2"],
    ["dict", { a: "yes" }, "a: 'yes'"],
    ["dict", { a: "" }, "a: ''"],
    ["dict", { a: "Grüße" }, 'a: "Gr\\xFC\\xDFe"'],
    ["dict", { a: "x\ny" }, "a: 'x"],
    ["dict", { a: [1, 2] }, "a:"],
    ["dict", { a: [] }, "a: []"],
    ["dict", { a: { b: 1 } }, "a:"],
    ["dict", { a: null, b: 2 }, "a: null"],
    ["dict", { a: 2n ** 64n }, "a: 18446744073709551616"],
    ["dict", { a: new Date(Date.UTC(2020, 0, 1, 10, 0, 0, 250)) }, "a: 2020-01-01 10:00:00.250000"],
    ["dict", { "1": 2 }, "'1': 2"],
    ["dict", { "": 1 }, "? ''"],
    ["dict", { ["k".repeat(123)]: 1 }, `? ${"k".repeat(123)}`],
    ["dict", { a: "word ".repeat(20).trim() }, `a: ${"word ".repeat(16).trim()}`], // wrapped at column 80
  ];
  for (const [kind, value, want] of cases) {
    it(`${kind}: encode(${show(value)}) is ${JSON.stringify(want)}`, () => {
      expect(encode(value)).toBe(want);
    });
  }

  it("refuses what offspect refuses (a !! tag) and what has no stored form, with code EENCODE", () => {
    for (const value of [new Set([1]), new Uint8Array(2), { a: new Uint8Array(1) }, { a: "!!x" }, () => 1, Symbol("s"), new Date(NaN), new Map([["a", 1]])]) {
      expect(() => encode(value), String(value)).toThrow(EncodeError);
    }
    expect(() => encode(new Set([1]))).toThrow(expect.objectContaining({ code: "EENCODE", message: expect.stringMatching(/^cannot encode a Set: .*pass text, a number/) }));
  });

  it("gives big ints back exactly: decode(encode(x)) for bigints", () => {
    for (const v of [2n ** 53n + 1n, -(2n ** 63n), 10n ** 30n]) expect(decode(encode(v))).toBe(v);
    expect(encode(decode("123456789012345678901234567890"))).toBe("123456789012345678901234567890");
  });
});

const hasYaml = spawnSync(PYTHON, ["-c", "import yaml"]).status === 0;
if (!hasYaml) console.warn(`${PYTHON} has no PyYAML (apt-get install python3-yaml): the PyYAML comparisons are skipped`);

/** offspect's decode and encode restated on PyYAML, with typed JSON out and in. */
const OFFSPECT_CODEC = String.raw`
import datetime, json, math, sys, yaml
def decode(value):
    dec = yaml.load(value, Loader=yaml.Loader)
    if type(dec) == list:
        out = []
        for i in dec:
            if type(i) == str:
                out.append(decode(i))
            elif type(i) in (int, float):
                out.append(i)
        dec = out
    if dec == "nan":
        dec = math.nan
    if dec == "inf":
        dec = math.inf
    return dec
def encode(value):
    if type(value) == datetime.datetime:
        value = str(value)
    if type(value) == str:
        return value
    if type(value) == list:
        return str(value)
    enc = yaml.dump(value, Dumper=yaml.Dumper).splitlines()[0]
    if "!!" in enc:
        raise ValueError("Please use only literals")
    return enc
def out(v):
    if isinstance(v, bool): return {"bool": v}
    if isinstance(v, int): return {"int": str(v)}
    if isinstance(v, float): return {"float": repr(v)}
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None: v = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return {"datetime": v.isoformat()}
    if isinstance(v, datetime.date): return {"datetime": v.isoformat() + "T00:00:00"}
    if isinstance(v, list): return [out(x) for x in v]
    if isinstance(v, dict): return {"dict": [[str(k), out(x)] for k, x in v.items()]}
    if isinstance(v, bytes): return {"bytes": list(v)}
    return v
def inp(v):
    if isinstance(v, list): return [inp(x) for x in v]
    if isinstance(v, dict):
        if "float" in v: return float(v["float"])
        if "int" in v: return int(v["int"])
        if "datetime" in v: return datetime.datetime.fromisoformat(v["datetime"])
        if "dict" in v: return {k: inp(x) for k, x in v["dict"]}
    return v
req = json.load(sys.stdin)
res = {"decode": [], "encode": []}
for s in req["decode"]:
    try: res["decode"].append({"ok": True, "v": out(decode(s))})
    except Exception: res["decode"].append({"ok": False})
for v in req["encode"]:
    try: res["encode"].append({"ok": True, "s": encode(inp(v))})
    except Exception: res["encode"].append({"ok": False})
print(json.dumps(res))
`;

/** Our decoded value in the reference's typed JSON. */
function typed(v: unknown): unknown {
  if (typeof v === "boolean") return { bool: v };
  if (typeof v === "bigint") return { int: v.toString() };
  if (typeof v === "number") return v;
  if (v instanceof Date) return { datetime: v.toISOString().replace(/\.000Z$|Z$/, "").replace(/(\.\d{3})$/, "$1000") };
  if (Array.isArray(v)) return v.map(typed);
  if (v instanceof Uint8Array) return { bytes: [...v] };
  if (v && typeof v === "object") return { dict: Object.entries(v).map(([k, x]) => [k, typed(x)]) };
  return v;
}

/** The reference's typed JSON with ints as numbers where they are safe and floats as numbers. */
function untyped(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(untyped);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if ("int" in o) {
      const b = BigInt(o["int"] as string);
      return b > BigInt(Number.MAX_SAFE_INTEGER) || b < -BigInt(Number.MAX_SAFE_INTEGER) ? o : Number(b);
    }
    if ("float" in o) {
      const f = o["float"] as string;
      return f === "nan" ? NaN : f === "inf" ? Infinity : f === "-inf" ? -Infinity : f === "-0.0" ? -0 : Number(f);
    }
    if ("dict" in o) return { dict: (o["dict"] as [string, unknown][]).map(([k, x]) => [k, untyped(x)]) };
  }
  return v;
}

/** JSON in which NaN, the infinities and -0 are objects, apart from any text. */
const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === "number" && (!Number.isFinite(x) || Object.is(x, -0)) ? { number: Object.is(x, -0) ? "-0" : String(x) } : x));

/** A JavaScript value in the reference's typed JSON, int or float as encode sees it. */
function forPython(v: unknown, asFloat = false): unknown {
  const isFloat = (x: number) => !Number.isInteger(x) || Math.abs(x) >= 2 ** 53 || Object.is(x, -0);
  if (typeof v === "number") return asFloat || isFloat(v) ? { float: Object.is(v, -0) ? "-0.0" : String(v) } : { int: String(v) };
  if (typeof v === "bigint") return { int: v.toString() };
  if (v instanceof Date) return { datetime: v.toISOString().replace("Z", "") };
  if (Array.isArray(v)) {
    const floats = v.every((x) => typeof x === "number") && v.some((x) => isFloat(x as number));
    return v.map((x) => forPython(x, floats && typeof x === "number"));
  }
  if (v === undefined) return null;
  if (v && typeof v === "object") return { dict: Object.entries(v).map(([k, x]) => [k, forPython(x)]) };
  return v;
}

function pyyamlCorpus(): { texts: string[]; values: unknown[] } {
  const atoms = ["1", "-1", "017", "0x1F", "0b11", "1_0", "1:30", "1.5", "-.5", ".5", "1.0e+3", "1e3", ".nan", ".inf", "-.inf", "nan", "inf", "-inf", "NaN", "true", "yes", "no", "y", "on", "Off", "null", "~", "None", "", "a", "S  1", "EDC_L", "2020-01-01", "2020-01-01 10:00:00", "2020-1-1 1:2:03", "x:y", "a b", "'q'", '"d"', "'nan'", "'[1, 2]'", "'yes'", "12345678901234567890", "-", "[]", "{}", "[1, 2]", "{a: 1}", "-0.0", "+1", "1.", "Grüße", "''", "' '", "'-inf'", "!!float 2", "!!str 3"];
  let seed = 20261201;
  const rand = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  const pick = () => atoms[Math.floor(rand() * atoms.length)]!;
  const texts = [...atoms];
  // The texts decode reads without the parser (plain numbers and lists of them, as encode writes them), and their neighbours.
  const plain = ["0", "-0", "0.0", "-0.0", "123456789012345", "-123456789012345", "1234567890123456", "00.5", "1.0e+400", "1.0e-400", "5e-324", "2.5E+3", "[]", "[1]", "[1,2]", "[ 1, 2]", "[1, 2, ]", "[-0, 0.0]"];
  for (let i = 0; i < 300; i++) {
    const x = (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20);
    plain.push(encode(x), encode(Math.round(x)), String(x));
    if (i % 3 === 0) plain.push(encode([x, Math.round(x), -x]), encode([Math.round(x), 7]));
  }
  texts.push(...plain);
  for (let i = 0; i < 400; i++) {
    const k = rand();
    const n = Math.floor(rand() * 5);
    if (k < 0.45) texts.push(`[${Array.from({ length: n }, pick).join(", ")}]`);
    else if (k < 0.65) texts.push(`{${Array.from({ length: n + 1 }, (_, j) => `k${j}: ${pick()}`).join(", ")}}`);
    else if (k < 0.85) texts.push(`[${pick()}, [${pick()}, ${pick()}], ${pick()}]`);
    else texts.push(`- ${pick()}\n- ${pick()}`);
  }
  const strings = ["", "a", "yes", "1", "1e3", "null", "None", "2020-01-01", "x: y", "a #b", "#b", "- b", "-b", "---", "? x", "x:", "@x", "%x", "!x", "&x", "|x", "[x", "x]", "x,y", "it's", "'q'", '"dq"', "a\tb", "a\nb", "a\n b", "a \nb", " a", "a ", "Grüße", "😀", "\u2028", "\ufeff", "\xa0", "=", "<<", "word ".repeat(30), "é b ".repeat(30), "ab ".repeat(40) + "'"];
  const values: unknown[] = [0, -7, 3.5, 1e-7, 1e21, 1e16, 2 ** 60, 2n ** 70n, NaN, Infinity, -Infinity, true, null, {}, [], new Date(Date.UTC(2020, 0, 1, 10, 0, 0, 250))];
  for (const s of strings) values.push({ a: s }, [s], { [s]: 1 });
  for (const k of ["a", "k".repeat(100), "k".repeat(122), "k".repeat(123)]) {
    for (const v of [1.5, null, [], {}, [1], { b: 1 }, new Date(Date.UTC(2020, 0, 1, 10)), 2n ** 64n, "word ".repeat(20), "2020-01-01 10:00:00"]) values.push({ [k]: v });
  }
  values.push({ b: 1, a: 2 }, { B: 1, a: 2 }, { é: 1, z: 2 }, [1, 2.5], [true, null], [[1], { a: 1 }], [2n ** 64n], [1e-7, 2]);
  return { texts, values };
}

describe.skipIf(!hasYaml)("decode and encode against PyYAML (offspect's code restated)", () => {
  const { texts, values } = pyyamlCorpus();
  const ref = JSON.parse(
    execFileSync(PYTHON, ["-c", OFFSPECT_CODEC], { input: JSON.stringify({ decode: texts, encode: values.map((v) => forPython(v)) }), encoding: "utf8", maxBuffer: 1 << 26 }),
  ) as { decode: { ok: boolean; v?: unknown }[]; encode: { ok: boolean; s?: string }[] };

  it(`decodes ${texts.length} texts as offspect does (values, types, errors)`, () => {
    const mismatches: string[] = [];
    texts.forEach((text, i) => {
      let got: string;
      try {
        got = json({ ok: true, v: typed(decode(text)) });
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        got = json({ ok: false });
      }
      const want = ref.decode[i]!;
      const expected = json(want.ok ? { ok: true, v: untyped(want.v) } : { ok: false });
      if (got !== expected) mismatches.push(`${JSON.stringify(text)}: PyYAML ${expected}, ours ${got}`);
    });
    expect(mismatches).toEqual([]);
  });

  it(`encodes ${values.length} values as offspect does (text, or refused)`, () => {
    const mismatches: string[] = [];
    values.forEach((value, i) => {
      let got: { ok: boolean; s?: string };
      try {
        got = { ok: true, s: encode(value) };
      } catch (e) {
        if (!(e instanceof EncodeError)) throw e;
        got = { ok: false };
      }
      if (JSON.stringify(got) !== JSON.stringify(ref.encode[i])) mismatches.push(`${show(value)}: PyYAML ${JSON.stringify(ref.encode[i])}, ours ${JSON.stringify(got)}`);
    });
    expect(mismatches).toEqual([]);
  });
});
