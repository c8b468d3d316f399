/**
 * offspect's own test suite for its CacheFile API (tests/cache/test_file.py
 * of neuromti/tool-offspect), restated against this package: one `it` per
 * Python test, same name, same inputs (the fixtures of offspect's conftest,
 * built from its template with this package's populate, see
 * test/offspect-suite/conftest.ts), asserting what the Python test asserts;
 * where it expects an exception, the typed error class and code of this
 * package. Each test then runs the Python test's own assertions with h5py
 * and offspect's semantics on the same files (test/offspect-suite/
 * offspect_suite.py) and checks that Python reads what this package read.
 *
 * As in pytest, the fixtures are made once for the module and the tests run
 * in the Python file's order on them (test_update_trace_attributes changes
 * trace 0 of cachefile0 for the tests after it, as it does in offspect).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArgumentRangeError, CacheFileError, ConsistencyError, FileNotFoundError, ForeignAttributesError, IndexRangeError, IndexTypeError, InvalidSuffixError, type TraceAttributes, type TraceData } from "../src/index.js";
import { CacheFile, checkValidSuffix, encode, merge, pythonStr, readTrace, recoverAnnotations, recoverParts, updateTraceAttributes } from "../src/offspect.js";
import { fileSha256, tempDir } from "./helpers/fixtures.js";
import { type Fixture, makeFixtures } from "./offspect-suite/conftest.js";
import { dataJson, offspectCheck } from "./offspect-suite/python.js";

const tmp = tempDir("ocf-offspect-suite-");
let fx: { cachefile0: Fixture; cachefile1: Fixture; cachefile0inconsistent: Fixture };

beforeAll(() => {
  fx = makeFixtures(tmp.dir);
});
afterAll(() => tmp.cleanup());

/** The fixtures as the Python checks take them. */
function fixturesJson(): Record<string, { file: string; artefacts: number[][][] }> {
  return Object.fromEntries(Object.entries(fx).map(([name, f]) => [name, { file: f.file, artefacts: f.artefacts }]));
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error, got none");
}

/** The typed error of this package: its class, a CacheFileError, its code. */
function expectTyped(e: unknown, type: abstract new (...args: never[]) => Error, code: string): void {
  expect(e).toBeInstanceOf(type);
  expect(e).toBeInstanceOf(CacheFileError);
  expect((e as { code?: unknown }).code).toBe(code);
  expect((e as Error).message).not.toMatch(/\n/);
}

/** numpy's `data[a:b].mean()` of samples a..b-1 over every channel. */
function meanOfRows(t: TraceData, a: number, b: number): number {
  const ch = t.shape[1];
  let s = 0;
  for (let i = a * ch; i < b * ch; i++) s += t.data[i]!;
  return s / ((b - a) * ch);
}

/** Python's `str(datetime)` of a Date taken as UTC: "YYYY-MM-DD HH:MM:SS", then ".ffffff" unless the microseconds are 0. */
function pythonDateTimeStr(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const base = `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  return d.getUTCMilliseconds() === 0 ? base : `${base}.${p(d.getUTCMilliseconds() * 1000, 6)}`;
}

function partials(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.includes("partial"));
}

describe("offspect's tests/cache/test_file.py, restated", () => {
  // Intent: a CacheFile made from one origin's annotations has that origin and its number of traces.
  it("test_cachefile_creation (offspect tests/cache/test_file.py)", () => {
    const ts: Record<string, unknown> = {};
    for (const [name, { file, settings }] of [["cachefile0", fx.cachefile0], ["cachefile1", fx.cachefile1]] as const) {
      expect(existsSync(file)).toBe(true);
      const cf = new CacheFile(file);
      expect(cf.origins.length).toBe(1);
      expect(recoverAnnotations(cf)[0]!.origin).toBe(settings.origin);
      expect(cf.length).toBe(settings.traces.length);
      ts[name] = { origins: cf.origins, length: cf.length, recover_annotations: recoverAnnotations(cf) };
    }
    expect(offspectCheck("test_cachefile_creation", { fixtures: fixturesJson(), ts })).toEqual({
      cachefile0: { traces: 2 },
      cachefile1: { traces: 2 },
    });
  });

  // Intent: opening a file that does not exist fails with FileNotFoundError.
  it("test_cachefile_doesnotexist (offspect tests/cache/test_file.py)", () => {
    expect(existsSync("doesnotexist.hdf5")).toBe(false);
    const e = thrown(() => new CacheFile("doesnotexist.hdf5"));
    expectTyped(e, FileNotFoundError, "ENOENT");
    expect((e as Error).message).toContain(resolve("doesnotexist.hdf5"));
  });

  // Intent: only names ending in .hdf5 are CacheFile names (ValueError otherwise, None when valid).
  it("test_check_valid_suffix (offspect tests/cache/test_file.py)", () => {
    expectTyped(thrown(() => checkValidSuffix("test.wrong")), InvalidSuffixError, "ESUFFIX");
    expect(checkValidSuffix("test.hdf5")).toBeUndefined();
  });

  // Intent: recover_parts gives back the origin, its attributes, every trace's attributes and the traces it was made from.
  it("test_cachefile_recover (offspect tests/cache/test_file.py)", () => {
    const { file, settings } = fx.cachefile0;
    const cf = new CacheFile(file);
    const [allEvents, allTraces] = recoverParts(cf);
    expect(allEvents.length).toBe(1); // a single source file
    expect(allTraces.length).toBe(1);
    const events = allEvents[0]!;
    const traces = allTraces[0]!;
    expect(events.origin).toBe(settings.origin);
    for (const key of Object.keys(events.attrs)) expect([key, events.attrs[key]]).toEqual([key, settings.attrs[key]]);
    expect(events.traces.length).toBe(settings.traces.length);
    events.traces.forEach((rec, i) => {
      const orig = settings.traces[i]!;
      for (const key of Object.keys(rec)) expect([i, key, rec[key]]).toEqual([i, key, orig[key]]);
    });
    expect(traces.length).toBe(settings.traces.length);
    expect(
      offspectCheck("test_cachefile_recover", {
        fixtures: fixturesJson(),
        ts: { events: allEvents, traces: allTraces.map((o) => o.map(dataJson)) },
      }),
    ).toEqual({ origins: 1, traces: 2 });
  });

  // Intent: the printout of a CacheFile names its origin and every origin attribute with its value.
  it("test_print_cachefile (offspect tests/cache/test_file.py)", () => {
    const { file, settings: a } = fx.cachefile0;
    const s = new CacheFile(file).toString();
    expect(s).toContain(a.origin);
    for (const [k, v] of Object.entries(a.attrs)) {
      expect(s).toContain(k);
      expect(s).toContain(pythonStr(v)); // Python's str(v)
    }
    expect(offspectCheck("test_print_cachefile", { fixtures: fixturesJson(), ts: { str: s } })).toEqual({ chars: s.length });
  });

  // Intent: two consistent sources merge into one file holding both origins' annotations unchanged, in order.
  it("test_merge_in_order (offspect tests/cache/test_file.py)", () => {
    const { file: cf0, settings: a0 } = fx.cachefile0;
    const { file: cf1, settings: a1 } = fx.cachefile1;
    const to = join(tmp.dir, "merge_in_order.hdf5");
    writeFileSync(to, ""); // NamedTemporaryFile: the target exists (empty) when merge is called
    const sources = [cf0, cf1];
    merge(to, sources);
    const cf = new CacheFile(to);
    const a = recoverAnnotations(cf);
    expect(a.length).toBe(2);
    expect(a[0]).toEqual(a0);
    expect(a[1]).toEqual(a1);
    expect(cf.length).toBe(4);
    expect(
      offspectCheck("test_merge_in_order", { fixtures: fixturesJson(), merged: to, sources, ts: { recover_annotations: a, length: cf.length } }),
    ).toEqual({ origins: 2, traces: 4 });
  });

  // Intent: merging a source with itself (origins not unique) fails and leaves no target file.
  it("test_merge_inconsistent_origins (offspect tests/cache/test_file.py)", () => {
    const { file: cf0 } = fx.cachefile0;
    const sources = [cf0, cf0];
    const before = fileSha256(cf0);
    const to = join(tmp.dir, "merge_inconsistent_origins.hdf5");
    const e = thrown(() => merge(to, sources));
    expectTyped(e, ConsistencyError, "EINCONSISTENT");
    expect((e as ConsistencyError).key).toBe("origin");
    expect(existsSync(to)).toBe(false);
    expect(partials(tmp.dir)).toEqual([]);
    expect(fileSha256(cf0)).toBe(before);
    // offspect deletes a target that exists (its NamedTemporaryFile) before it checks the sources;
    // this package's merge is atomic and leaves an existing target as it was.
    writeFileSync(to, "kept");
    expectTyped(thrown(() => merge(to, sources)), ConsistencyError, "EINCONSISTENT");
    expect(readFileSync(to, "utf8")).toBe("kept");
    expect(partials(tmp.dir)).toEqual([]);
    const target = join(tmp.dir, "merge_inconsistent_origins_never.hdf5");
    expect(offspectCheck("test_merge_inconsistent", { sources, target })).toEqual({ refused: true });
  });

  // Intent: merging sources whose must-be-identical attributes differ (channel_labels) fails and leaves no target file.
  it("test_merge_inconsistent_attrs (offspect tests/cache/test_file.py)", () => {
    const sources = [fx.cachefile0.file, fx.cachefile0inconsistent.file];
    const before = sources.map(fileSha256);
    const to = join(tmp.dir, "merge_inconsistent_attrs.hdf5");
    const e = thrown(() => merge(to, sources));
    expectTyped(e, ConsistencyError, "EINCONSISTENT");
    expect((e as ConsistencyError).key).toBe("channel_labels");
    expect((e as Error).message).toContain("INVALID");
    expect(existsSync(to)).toBe(false);
    expect(partials(tmp.dir)).toEqual([]);
    expect(sources.map(fileSha256)).toEqual(before);
    expect(offspectCheck("test_merge_inconsistent", { sources, target: to })).toEqual({ refused: true });
  });

  // Intent: a trace attribute changed in the attributes read (a datetime, encoded) and written back with update_trace_attributes is stored as its text.
  it("test_update_trace_attributes (offspect tests/cache/test_file.py)", () => {
    const cf = new CacheFile(fx.cachefile0.file);
    const attrs = readTrace(cf, 0, "attrs");
    const now = new Date();
    // offspect's update_trace_attributes encodes each value itself; here attributes are text, so the value is encoded first
    attrs["comment"] = encode(now);
    updateTraceAttributes(attrs);
    const newAttrs = readTrace(cf, 0, "attrs");
    expect(newAttrs["comment"]).toBe(pythonDateTimeStr(now)); // str(now)
    expect(offspectCheck("test_update_trace_attributes", { fixtures: fixturesJson(), now: pythonDateTimeStr(now), ts: { attrs: newAttrs } })).toEqual({
      comment: pythonDateTimeStr(now),
    });
  });

  // Intent: read_trace(what="data") gives every trace as an array: no signal in the baseline, a signal after it.
  it("test_read_index_tracedata (offspect tests/cache/test_file.py)", () => {
    const cf = new CacheFile(fx.cachefile0.file);
    const read: TraceData[] = [];
    for (let i = 0; i < cf.length; i++) {
      const data = readTrace(cf, i, "data");
      expect(data.data).toBeInstanceOf(Float64Array);
      expect(data.shape).toEqual([200, 1]);
      expect(meanOfRows(data, 0, 50)).toBe(0); // baseline model, no signal
      expect(meanOfRows(data, 50, 150)).not.toBe(0); // a modelled signal
      read.push(data);
    }
    expect(offspectCheck("test_read_index_tracedata", { fixtures: fixturesJson(), ts: { data: read.map(dataJson) } })).toEqual({ traces: 2 });
  });

  // Intent: read_trace refuses to load anything but "attrs" or "data" (NotImplementedError).
  it("test_read_index_raises (offspect tests/cache/test_file.py)", () => {
    const cf = new CacheFile(fx.cachefile0.file);
    const e = thrown(() => readTrace(cf, 0, "notimplemented" as "data"));
    expectTyped(e, ArgumentRangeError, "EARGRANGE");
    expect((e as Error).message).toContain("notimplemented");
    expect(offspectCheck("test_read_index_raises", { fixtures: fixturesJson() })).toEqual({ raised: "NotImplementedError" });
  });

  // Intent: every trace's attributes name this file and their index; a non-integer index is a ValueError, one out of range an IndexError.
  it("test_read_index_errors (offspect tests/cache/test_file.py)", () => {
    const cf = new CacheFile(fx.cachefile0.file);
    const read: TraceAttributes[] = [];
    for (let i = 0; i < cf.length; i++) {
      const attrs = readTrace(cf, i);
      expect(attrs["cache_file_index"]).toBe(String(i));
      expect(attrs["cache_file"]).toBe(cf.fname);
      read.push(attrs);
    }
    expect(cf.fname).toBe(resolve(fx.cachefile0.file));
    expectTyped(thrown(() => readTrace(cf, 0.1)), IndexTypeError, "EINDEXTYPE");
    expectTyped(thrown(() => readTrace(cf, -1)), IndexRangeError, "ERANGE");
    expectTyped(thrown(() => readTrace(cf, cf.length)), IndexRangeError, "ERANGE");
    expect(offspectCheck("test_read_index_errors", { fixtures: fixturesJson(), ts: { attrs: read } })).toEqual({ traces: 2 });
  });

  // Intent: update_trace_attributes refuses a cache_file_index that is not a non-negative integer text, or out of range.
  it("test_update_index_errors (offspect tests/cache/test_file.py)", () => {
    const cf = new CacheFile(fx.cachefile0.file);
    const attrs: Record<string, unknown> = readTrace(cf, 0); // need this for overwriting
    const before = fileSha256(cf.fname);
    attrs["cache_file_index"] = 0.1;
    expectTyped(thrown(() => updateTraceAttributes(attrs as TraceAttributes)), IndexTypeError, "EINDEXTYPE");
    attrs["cache_file_index"] = -1;
    expectTyped(thrown(() => updateTraceAttributes(attrs as TraceAttributes)), IndexTypeError, "EINDEXTYPE");
    attrs["cache_file_index"] = "-1"; // as text too: isindex refuses negative indices
    expectTyped(thrown(() => updateTraceAttributes(attrs as TraceAttributes)), IndexTypeError, "EINDEXTYPE");
    attrs["cache_file_index"] = String(cf.length);
    expectTyped(thrown(() => updateTraceAttributes(attrs as TraceAttributes)), IndexRangeError, "ERANGE");
    expect(fileSha256(cf.fname)).toBe(before); // nothing written
    expect(offspectCheck("test_update_index_errors", { fixtures: fixturesJson() })).toEqual({ refused: 3 });
  });

  // Intent: len(cf) counts the traces.
  it("test_cachefile_len (offspect tests/cache/test_file.py)", () => {
    const cf = new CacheFile(fx.cachefile0.file);
    expect(cf.length).toBe(2);
    expect(offspectCheck("test_cachefile_len", { fixtures: fixturesJson(), ts: { length: cf.length } })).toEqual({ len: 2 });
  });

  // Intent: attributes read from trace 0 can be written back to trace 0, and are refused (ValueError) for any other trace.
  it("test_cachefile_getter_setter (offspect tests/cache/test_file.py)", () => {
    const cf = new CacheFile(fx.cachefile0.file);
    const data = cf.getTraceData(0);
    const attrs = cf.getTraceAttrs(0);
    const read = { ...attrs };
    expect(cf.setTraceAttrs(0, attrs)).toEqual({ written: [], ignored: [] });
    const before = fileSha256(cf.fname);
    expectTyped(thrown(() => cf.setTraceAttrs(1, attrs)), ForeignAttributesError, "EFOREIGN");
    attrs["original_file"] = "invalid_filename.hdf5";
    expectTyped(thrown(() => cf.setTraceAttrs(1, attrs)), ForeignAttributesError, "EFOREIGN");
    delete attrs["original_file"];
    expectTyped(thrown(() => cf.setTraceAttrs(1, attrs)), ForeignAttributesError, "EFOREIGN");
    // original_file is what offspect once called cache_file: attributes of another file, or of none, are refused too
    expectTyped(thrown(() => cf.setTraceAttrs(0, { ...attrs, cache_file: "invalid_filename.hdf5" })), ForeignAttributesError, "EFOREIGN");
    const { cache_file: _dropped, ...withoutFile } = attrs;
    expectTyped(thrown(() => cf.setTraceAttrs(0, withoutFile)), ForeignAttributesError, "EFOREIGN");
    expect(fileSha256(cf.fname)).toBe(before);
    expect(cf.getTraceAttrs(0)).toEqual(read);
    expect(offspectCheck("test_cachefile_getter_setter", { fixtures: fixturesJson(), ts: { attrs: read, data: dataJson(data) } })).toEqual({ refused: 3 });
  });
});
