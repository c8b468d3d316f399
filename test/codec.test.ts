import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decode, DecodeError, encode } from "../src/codec.js";
import { fixture } from "./helpers/fixtures.js";

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
    expect(decode("-inf")).toBe(-Infinity);
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
