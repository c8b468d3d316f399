/**
 * The memoized decode of the analysis (and of the map's values): its fast
 * paths for plain numbers and lists of them give exactly what offspect's
 * decode gives, and floats are stored as offspect's encode(float(x)).
 */
import { describe, expect, it } from "vitest";
import { decodeText, encodeFloat } from "../../src/values/attrs.js";
import { mulberry32 } from "../../src/analysis/prng.js";
import { decode, encode } from "../../src/values/codec.js";
import { pythonStr } from "../../src/values/index.js";
import { encodeValue } from "../../src/cachefile/typedValues.js";

function offspect(text: string): unknown {
  try {
    return decode(text);
  } catch {
    return text;
  }
}

describe("decodeText", () => {
  it("reads numbers, lists of numbers and every other text exactly as offspect's decode", () => {
    const r = mulberry32(11);
    const texts = [
      "0", "-0", "7", "-12", "017", "0x1F", "1_000", "123456789012345", "1234567890123456789", "+5",
      "-0.0", "0.0", "1.", "1.0e-07", "1.5e3", "1e3", "72.0", "-637.5788149316284", "00.5", "1_000.5", "1.0e+3", "1.5E+03", "12345678901234567890.5", "0.1e-400", ".5", "nan", "inf", "-inf", ".inf",
      "[]", "[1]", "[1.0, 2]", "[37.0, 22.8, 54.2]", "[nan, nan, nan]", "[1.0,2.0]", "[1.0,  2.0]", "[ 1.0, 2.0]", "[1.0, 2.0, ]", "[-0, 1]", "[017, 1]", "['EDC_L']", "[S  1]", "[1.0, [2.0]]",
      "None", "True", "False", "", "1:30", "2020-01-01", "text",
    ];
    for (let k = 0; k < 3000; k++) {
      const x = (r() - 0.5) * 10 ** Math.floor(r() * 30 - 15);
      texts.push(encodeFloat(x), String(Math.round(x)), pythonStr([x, Math.round(x * 1000) / 1000, -x], true), pythonStr([Math.round(x), 3]));
    }
    for (const t of texts) {
      const ours = decodeText(t);
      const theirs = offspect(t);
      expect(Object.is(ours, -0) ? "-0" : ours, JSON.stringify(t)).toEqual(Object.is(theirs, -0) ? "-0" : theirs);
    }
  });
});

describe("encodeFloat", () => {
  it("is offspect's encode of a float, and the text the typed write stores for a float key", () => {
    const r = mulberry32(5);
    const values = [0, -0, 1, -1, 37, 2 ** 53, 2 ** 53 + 2, 2 ** 60, 1e-7, 1e16, 1e21, 5e-324, 1.7976931348623157e308, 0.1, -637.5788149316284, NaN, Infinity, -Infinity];
    for (let k = 0; k < 20000; k++) values.push((r() - 0.5) * 10 ** Math.floor(r() * 40 - 20), Math.round((r() - 0.5) * 10 ** Math.floor(r() * 20)));
    for (const v of values) {
      const text = encodeFloat(v);
      // offspect's encode(float(x)): a float's dump, so 37.0 for 37
      expect(text, String(v)).toBe(Number.isInteger(v) && !Object.is(v, -0) && Math.abs(v) < 2 ** 53 ? `${v}.0` : encode(v));
      expect(encodeValue(v, { kind: "number", nullable: true, float: true })).toBe(text);
    }
  });
});
