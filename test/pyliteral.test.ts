import { describe, expect, it } from "vitest";
import { CacheFileError } from "../src/base/errors.js";
import { formatFloat, literalEval, normalizeAttrValue, pyRepr, pyStr, pythonStr, pyToJs, PyLiteralError } from "../src/values/index.js";
import { EncodeError } from "../src/values/errors.js";
import { python } from "./helpers/fixtures.js";

// Texts as they occur in CacheFiles, and the corners of Python's literal syntax.
const CORPUS = [
  "66", "-7", "+1", "3.5", "-0.25", "1e3", "1E-3", "1.0e+3", "1.", ".5", "0.30000000000000004", "1e16", "1e15",
  "123456789.125", "1e-05", "0.0001", "-0.0", "1_000", "1_000.5", "0x1F", "0o17", "0b101", "017", "00", "0_0",
  "017.5", "1__0", "1_", "9007199254740993", "12345678901234567890", "1e400", "2j", "1+2j", "1-2j", "-1.5+0.5j",
  "2j+1", "1+2", "--1", "-(1)", "True", "False", "None", "true", "none", "inf", "nan", "-inf",
  "'EDC_L'", '"dq"', "'it''s'", "'a' 'b'", "'a' \"b\"", "r'\\n'", "b'ab'", "b'\\xff'", "u'x'", "f'x'", "'\\x41\\u00e9\\n'",
"'unterminated", "'''tri\nple'''", "'Gr\u00fc\u00dfe \u2713'",
  "[37.0, 22.8, 54.2]", "[37.1, 22.1, 54.4]", "['EDC_L']", "['EDC_L', 'APB_R']", "['E0', 'E1']", "[]", "[1,]", "[1, [2, [3]]]",
  "(1, 2)", "(1,)", "()", "(1)", "1, 2", "1,", "{'a': 1, 'b': [2.0]}", "{}", "{1, 2}", "set()", "set( )", "{1: 2, }",
  "[nan, nan, nan]", "[S  1]", "[S  2]", "EDC_L", "", " ", "  5", "\t5", "5 ", "5 # comment", "# only",
  "1970-01-01 00:01:01", "2020-05-17 18:02:00", "0.1.2", "0.0.1", "VnNn", "patient was tired", "algorithm_findpeaks",
  "subject fell asleep", "10.63", "-21.1", "None ", "[1, 'a', 2.5, None, True]", "[\n1,\n2]", "1\n", "\n1",
  "[1] [2]", "x", "a.b", "1 if 2 else 3", "not 1", "~1", "1 * 2", "...", "[...]", "{'a': {'b': (1,)}}", "[1e-07, 2.0]",
  "((((((1))))))", "[" + "[".repeat(150) + "]".repeat(150) + "]", "-0", "+0.0", "1.5e+300", "5e-324", "0e0",
];

describe("literalEval and str() against Python 3", () => {
  it("gives Python's answer for every text in the corpus", () => {
    const expected = python<{ ok: boolean; str?: string; repr?: string }[]>(
      `
import ast, json, sys
out = []
for s in json.loads(sys.argv[1]):
    try:
        v = ast.literal_eval(s)
        out.append({"ok": True, "str": str(v), "repr": repr(v)})
    except (SyntaxError, ValueError, MemoryError, RecursionError, TypeError):
        out.append({"ok": False})
print(json.dumps(out))
`,
      [JSON.stringify(CORPUS)],
    );
    const mismatches: string[] = [];
    CORPUS.forEach((text, i) => {
      const want = expected[i]!;
      let got: { ok: boolean; str?: string; repr?: string };
      try {
        const v = literalEval(text);
        got = { ok: true, str: pyStr(v), repr: pyRepr(v) };
      } catch (e) {
        if (!(e instanceof PyLiteralError)) throw e;
        got = { ok: false };
      }
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        mismatches.push(`${JSON.stringify(text)}: python ${JSON.stringify(want)}, ours ${JSON.stringify(got)}`);
      }
    });
    expect(mismatches).toEqual([]);
  });

  it("formats floats as Python's repr for many magnitudes", () => {
    const values = [0.1, 1 / 3, 2 / 3e10, 1e-4, 1e-5, 9.999e15, 1e16, 1.5e16, 123456.789, 5e-324, 1.7976931348623157e308, -2.5e-7];
    const want = python<string[]>(`import json,sys; print(json.dumps([repr(float(x)) for x in json.loads(sys.argv[1])]))`, [
      JSON.stringify(values),
    ]);
    expect(values.map((v) => formatFloat(v))).toEqual(want);
  });
});

describe("offspect's parse/str of attribute values", () => {
  it("normalizes values as str(parse_traceattrs(...)) does", () => {
    expect(normalizeAttrValue("reject", "False")).toBe("False");
    expect(normalizeAttrValue("time_since_last_pulse_in_s", "None")).toBe("None");
    expect(normalizeAttrValue("xyz_coords", "[37.00, 1]")).toBe("[37.0, 1]");
    expect(normalizeAttrValue("xyz_coords", "garbage")).toBe("[nan, nan, nan]");
    expect(normalizeAttrValue("event_time", "inf")).toBe("inf");
    expect(normalizeAttrValue("filedate", "1970-01-01 00:01:01")).toBe("1970-01-01 00:01:01");
    expect(normalizeAttrValue("id", "0x10")).toBe("16");
  });

  it("normalizes decimal texts and lists of them as Python does, floats already in repr form and all others", () => {
    // Fixed and scientific notation around the limits of repr's fixed form (1e-4, 1e16) and
    // of 15 and 17 significant digits, trailing and leading zeros, signs, and lists of them.
    const texts = new Set<string>(["0.0", "-0.0", "0.0001", "0.00010", "0.00001", "1.0", "1.50", "01.5", "12.0", "12.00", "-3.25"]);
    let x = 0x9e3779b9;
    const next = () => ((x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
    for (let i = 0; i < 1500; i++) {
      const v = (next() - 0.5) * 10 ** (Math.floor(next() * 40) - 20);
      texts.add(v.toPrecision(1 + Math.floor(next() * 17)));
      texts.add(v.toFixed(Math.floor(next() * 12)));
      texts.add(String(Math.round(v * 1000) / 1000));
    }
    const keys = [...texts];
    const lists = keys.slice(0, 300).map((t, i) => `[${t}, ${keys[i + 300]}, ${keys[i + 600]}]`);
    const want = python<string[]>(
      "import ast, json, sys\nprint(json.dumps([str(ast.literal_eval(t)) for t in json.loads(sys.argv[1])]))",
      [JSON.stringify([...keys, ...lists])],
    );
    const got = [...keys.map((t) => normalizeAttrValue("neg_peak_latency_ms", t)), ...lists.map((t) => normalizeAttrValue("xyz_coords", t))];
    const differ = got.flatMap((g, i) => (g === want[i] ? [] : [[[...keys, ...lists][i], g, want[i]]]));
    expect(differ).toEqual([]);
  });

  it("writes JavaScript values as Python's str() of the value they stand for", () => {
    expect(pythonStr(true)).toBe("True");
    expect(pythonStr(null)).toBe("None");
    expect(pythonStr(["EDC_L"])).toBe("['EDC_L']");
    expect(pythonStr([37, 22.8, 54.2])).toBe("[37.0, 22.8, 54.2]");
    expect(pythonStr(54)).toBe("54");
    expect(pythonStr(54, true)).toBe("54.0");
    expect(pythonStr("text")).toBe("text");
  });
});

describe("plain JavaScript values and JSON", () => {
  it("pyRepr and pyStr take plain JavaScript values too, as the Python values they stand for", () => {
    expect(pyRepr(5)).toBe("5");
    expect(pyRepr(5.5)).toBe("5.5");
    expect(pyRepr("it's")).toBe(`"it's"`);
    expect(pyRepr([37, 22.8, null, true])).toBe("[37, 22.8, None, True]");
    expect(pyRepr({ a: [1, 2.5] })).toBe("{'a': [1.0, 2.5]}");
    expect(pyRepr(new Date(Date.UTC(2020, 4, 17, 18, 2)))).toBe("datetime.datetime(2020, 5, 17, 18, 2)");
    expect(pyRepr(2n ** 64n)).toBe("18446744073709551616");
    expect(pyStr("EDC_L")).toBe("EDC_L");
    expect(pyStr(null)).toBe("None");
    expect(pyStr(new Date(Date.UTC(2020, 4, 17, 18, 2, 3, 250)))).toBe("2020-05-17 18:02:03.250000");
    // A parsed literal is printed as what it is.
    expect(pyStr(literalEval("'EDC_L'"))).toBe("EDC_L");
    expect(pyRepr(literalEval("(1,)"))).toBe("(1,)");
  });

  it("refuses values with no Python counterpart, with a CacheFileError", () => {
    expect(() => pyRepr(() => 1)).toThrow(EncodeError);
    expect(() => pyStr(Symbol("x"))).toThrow(expect.objectContaining({ code: "EENCODE" }));
  });

  it("literalEval keeps every digit as bigint; pyToJs makes JSON-ready values", () => {
    const v = literalEval("[12345678901234567890, 1.5, None]");
    expect(v).toEqual({ t: "list", items: [{ t: "int", v: 12345678901234567890n }, { t: "float", v: 1.5 }, { t: "none" }] });
    expect(() => JSON.stringify(v)).toThrow(TypeError);
    expect(JSON.stringify(pyToJs(literalEval("{'a': [66, 1.5, None, True]}")))).toBe('{"a":[66,1.5,null,true]}');
  });

  it("PyLiteralError is a CacheFileError (ELITERAL) that names the text and says what a literal is", () => {
    let e: unknown;
    try {
      literalEval("[1, 2");
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(PyLiteralError);
    expect(e).toBeInstanceOf(CacheFileError);
    expect(e).toMatchObject({ code: "ELITERAL", message: expect.stringMatching(/^"\[1, 2" is not a Python literal \(.* at offset \d+\): pass a number, a quoted string/) });
  });
});
