/**
 * The typed API: traces as objects with attributes as values, partial typed
 * updates stored as offspect's own `set_trace_attrs` stores them, the async
 * twins, and AbortSignal.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AbortedError, InvalidAttributeError } from "../src/index.js";
import { CacheFile as OffspectCacheFile, parseTraceAttrs } from "../src/offspect.js";
import { CacheFile } from "../src/index.js";
import { readFile } from "../src/hdf5/index.js";
import { decodeTraceAttrs } from "../src/cachefile/typedValues.js";
import { copyFixture, fileSha256, fixtureNames, fixture, PYTHON, python, tempDir } from "./helpers/fixtures.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

/** Keys whose typed value is text (the raw stored text), not a parsed literal. */
const TEXT_KEYS = new Set(["event_name", "comment", "examiner", "channel_of_interest", "subject", "readin", "readout", "version", "global_comment", "filedate", "history", "estimation_method"]);

describe("reading traces as values", () => {
  it.each(fixtureNames())("%s: every attribute equals offspect's parse_traceattrs (text keys stay text)", (name) => {
    const cf = new CacheFile(fixture(name));
    const traces = [...cf.eachSync()];
    expect(traces.length).toBe(cf.length);
    const offspect = new OffspectCacheFile(fixture(name));
    for (const t of traces) {
      const text = offspect.getTraceAttrs(t.index);
      expect(t.text).toEqual(text);
      expect(t.origin).toBe(text["origin"]);
      expect(Array.from(t.data)).toEqual(Array.from(offspect.getTraceData(t.index).data));
      const parsed = parseTraceAttrs(text);
      for (const [key, value] of Object.entries(t.attrs)) {
        if (TEXT_KEYS.has(key)) expect(value, `${name} ${t.index} ${key}`).toBe(text[key]);
        else expect(value, `${name} ${t.index} ${key}`).toEqual(parsed[key]);
      }
      expect(t.id).toBe(Number(text["id"]));
    }
  });

  it("treats every spelling offspect writes as the value it means", () => {
    const spellings: [string, string, unknown][] = [
      ["reject", "True", true],
      ["reject", "true", true],
      ["reject", "False", false],
      ["reject", "false", false],
      ["neg_peak_magnitude_uv", "None", null],
      ["neg_peak_magnitude_uv", "null", null],
      ["neg_peak_magnitude_uv", "", null],
      ["neg_peak_magnitude_uv", "-55.5", -55.5],
      ["neg_peak_magnitude_uv", "1.0e-07", 1e-7],
      ["time_since_last_pulse_in_s", "inf", Infinity],
      ["time_since_last_pulse_in_s", ".inf", Infinity],
      ["time_since_last_pulse_in_s", "None", null],
      ["xyz_coords", "[37.0, 22.8, 54.2]", [37, 22.8, 54.2]],
      ["xyz_coords", "None", null],
      ["xyz_coords", "[nan, nan, nan]", [NaN, NaN, NaN]],
      ["onset_shift", "5", 5],
      ["channel_labels", "['EDC_L', 'APB_R']", ["EDC_L", "APB_R"]],
      ["comment", "0", "0"],
      ["comment", "None", "None"],
    ];
    for (const [key, text, value] of spellings) {
      const attrs = decodeTraceAttrs({ readin: "tms", readout: "cmep", [key]: text });
      expect(attrs[key], `${key}=${JSON.stringify(text)}`).toEqual(value);
    }
  });

  it("the async forms give the same traces, and each() stops when its signal aborts", async () => {
    const cf = await CacheFile.open(fixture("map_session.hdf5"));
    const sync = [...cf.eachSync()];
    const asynchronous = [];
    for await (const t of cf.each({ batch: 7 })) asynchronous.push(t);
    expect(asynchronous).toEqual(sync);
    expect(await cf.trace(5)).toEqual(cf.traceSync(5));
    const iterated = [];
    for await (const t of cf) iterated.push(t);
    expect(iterated).toEqual(sync);

    const controller = new AbortController();
    let seen = 0;
    const stream = async () => {
      for await (const _ of cf.each({ batch: 8, signal: controller.signal })) if (++seen === 10) controller.abort();
    };
    await expect(stream()).rejects.toBeInstanceOf(AbortedError);
    expect(seen).toBe(10);
  });
});

/** offspect's `encode` (offspect/cache/attrs.py) of Python values, as the text it stores. */
function offspectEncode(pythonValues: string): Record<string, string> {
  return python(
    `import yaml, json, math, sys
def encode(value):
    if type(value) == str: return value
    if type(value) == list: return str(value)
    enc = yaml.dump(value, Dumper=yaml.Dumper).splitlines()[0]
    if "!!" in enc: raise ValueError("Please use only literals")
    return enc
values = ${pythonValues}
print(json.dumps({k: encode(v) for k, v in values.items()}))`,
  );
}

function h5pyAttrs(path: string, trace: string): Record<string, [string, string]> {
  return python(
    `import h5py, sys, json
with h5py.File(sys.argv[1], "r") as f:
    d = f[sys.argv[2]]
    out = {}
    for k in d.attrs:
        t = d.attrs.get_id(k).get_type()
        out[k] = [d.attrs[k], "vlen-utf8" if t.is_variable_str() and t.get_cset() == 1 else str(t)]
print(json.dumps(out))`,
    [path, trace],
  );
}

describe("typed partial updates", () => {
  it("store what offspect's set_trace_attrs stores for the same values, and offspect's decode gives them back", () => {
    const path = copyFixture("map_session.hdf5", dir);
    const cf = new CacheFile(path);
    const before = cf.traceSync(4).text;
    const result = cf.updateSync(4, {
      reject: true,
      comment: "double pulse?",
      neg_peak_magnitude_uv: -55.5,
      pos_peak_latency_ms: 23,
      xyz_coords: [37, 22.8, 54.2],
      time_since_last_pulse_in_s: null,
      onset_shift: 3,
    });
    expect(result.written.sort()).toEqual(["comment", "neg_peak_magnitude_uv", "onset_shift", "pos_peak_latency_ms", "reject", "time_since_last_pulse_in_s", "xyz_coords"]);
    const stored = h5pyAttrs(path, `/${before["origin"]}/traces/${before["id"]}`);
    // offspect's GUI holds floats for the float keys (23.0, [37.0, 22.8, 54.2]), ints for onset_shift.
    const theirs = offspectEncode(
      `{"reject": True, "comment": "double pulse?", "neg_peak_magnitude_uv": -55.5, "pos_peak_latency_ms": 23.0, "xyz_coords": [37.0, 22.8, 54.2], "time_since_last_pulse_in_s": None, "onset_shift": 3}`,
    );
    for (const [key, text] of Object.entries(theirs)) {
      expect(stored[key], key).toEqual([text, "vlen-utf8"]);
    }
    // Everything else as it was.
    for (const [key, text] of Object.entries(before)) {
      if (key in theirs || key === "origin" || key === "cache_file" || key === "cache_file_index") continue;
      expect(stored[key]?.[0], key).toBe(text);
    }
    // offspect's decode (yaml.load) gives the values back; this library's typed read too.
    const decoded = python<Record<string, unknown>>(
      `import yaml, json, sys
d = json.loads(sys.argv[1])
print(json.dumps({k: yaml.load(v, Loader=yaml.Loader) for k, v in d.items()}))`,
      [JSON.stringify(Object.fromEntries(Object.keys(theirs).map((k) => [k, stored[k]![0]])))],
    );
    expect(decoded).toMatchObject({ reject: true, comment: "double pulse?", neg_peak_magnitude_uv: -55.5, pos_peak_latency_ms: 23, xyz_coords: [37, 22.8, 54.2], time_since_last_pulse_in_s: null, onset_shift: 3 });
    const t = cf.traceSync(4);
    expect(t.attrs).toMatchObject({ reject: true, comment: "double pulse?", neg_peak_magnitude_uv: -55.5, pos_peak_latency_ms: 23, xyz_coords: [37, 22.8, 54.2], time_since_last_pulse_in_s: null, onset_shift: 3 });
  });

  it("refuses values of the wrong kind, keys the readout does not have, and origin keys: nothing is written", () => {
    const path = copyFixture("map_session.hdf5", dir);
    const cf = new CacheFile(path);
    const sha = fileSha256(path);
    const refused = (values: Record<string, unknown>) => {
      try {
        cf.updateSync(2, values);
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidAttributeError);
        return (e as InvalidAttributeError).problems.map((p) => p.key);
      }
      throw new Error("expected InvalidAttributeError");
    };
    expect(refused({ reject: "yes" })).toEqual(["reject"]);
    expect(refused({ comment: "fine", neg_peak_magnitude_uv: "-55" })).toEqual(["neg_peak_magnitude_uv"]);
    expect(refused({ xyz_coords: [1, 2] })).toEqual(["xyz_coords"]);
    expect(refused({ onset_shift: 1.5 })).toEqual(["onset_shift"]);
    expect(refused({ no_such_key: 1 })).toEqual(["no_such_key"]);
    expect(refused({ samplingrate: 2000, id: 3 })).toEqual(["samplingrate", "id"]);
    expect(refused({ reject: null })).toEqual(["reject"]);
    expect(fileSha256(path)).toBe(sha);
  });

  it("updateMany checks every update first and writes with one open; one refused update writes nothing", async () => {
    const path = copyFixture("map_session.hdf5", dir);
    const cf = new CacheFile(path);
    const sha = fileSha256(path);
    expect(() => cf.updateManySync([{ index: 0, values: { comment: "a" } }, { index: 1, values: { reject: 1 as unknown as boolean } }])).toThrow(InvalidAttributeError);
    expect(fileSha256(path)).toBe(sha);
    const results = cf.updateManySync(Array.from({ length: cf.length }, (_, i) => ({ index: i, values: { comment: `trace ${i}` } })));
    expect(results.every((r) => r.written.join() === "comment")).toBe(true);
    {
      using f = readFile(path);
      for (let i = 0; i < cf.length; i++) {
        const a = cf.traceSync(i).text;
        expect(f.attrs(`/${a["origin"]}/traces/${a["id"]}`)["comment"]).toBe(`trace ${i}`);
      }
    }
    // Trace 3 is stored with reject "True": the same value in the typed API's spelling is not written again.
    expect(cf.traceSync(3).text["reject"]).toBe("True");
    const same = fileSha256(path);
    expect((await cf.updateMany([{ index: 3, values: { reject: true } }]))[0]!.written).toEqual([]);
    expect(fileSha256(path)).toBe(same);
    const asyncResults = await cf.updateMany([{ index: 3, values: { reject: false } }]);
    expect(asyncResults[0]!.written).toEqual(["reject"]);
    expect((await cf.trace(3)).attrs.reject).toBe(false);
    const controller = new AbortController();
    controller.abort();
    const sha2 = fileSha256(path);
    await expect(cf.updateMany([{ index: 3, values: { reject: false } }], { signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
    expect(fileSha256(path)).toBe(sha2);
  });

  it("an updated file reads, plots and merges in offspect's algorithm as before", () => {
    const path = copyFixture("template_R001.hdf5", dir);
    new CacheFile(path).updateSync(0, { reject: true, neg_peak_magnitude_uv: -20.5, xyz_coords: [1, 2, 3] });
    const target = join(dir, "merged.hdf5");
    execFileSync(PYTHON, [join(__dirname, "helpers", "offspect_reference.py"), "merge", target, path], { encoding: "utf8" });
    const merged = new CacheFile(target);
    expect(merged.traceSync(0).attrs).toMatchObject({ reject: true, neg_peak_magnitude_uv: -20.5, xyz_coords: [1, 2, 3] });
  });
});
