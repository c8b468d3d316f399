import { sessionOf } from "../src/cachefile/cachefile.js";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setImmediate as tick } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CacheFile, decode, encode, readTrace, sortKeys, updateTraceAttributes, writeTraceData } from "../src/offspect.js";
import { CacheFileError, FileNotFoundError, ForeignAttributesError, IndexRangeError, IndexTypeError, InvalidAttributeError, InvalidSuffixError, LayoutError, NotHdf5Error, ShapeMismatchError, TruncatedFileError } from "../src/index.js";
import { openObjectCount, readFile } from "../src/hdf5/index.js";
import { FormatFile } from "../src/hdf5/format/file.js";
import { copyFixture, dataSha256, expected, fileSha256, fixture, fixtureNames, python, tempDir } from "./helpers/fixtures.js";

describe("every offspect fixture reads with offspect's answers", () => {
  for (const name of fixtureNames()) {
    it(name, () => {
      const want = expected(name);
      const cf = new CacheFile(fixture(name));
      expect(cf.length).toBe(want.len);
      expect(cf.origins).toEqual(want.origins);
      expect(cf.toString()).toBe(want.str);
      expect(want.traces).toHaveLength(want.len);
      want.traces.forEach((t, i) => {
        const attrs = cf.getTraceAttrs(i);
        expect(attrs).toEqual({ ...t.attrs, cache_file: cf.fname });
        expect(Object.keys(attrs)).toEqual(Object.keys(t.attrs)); // same order as h5py
        const data = cf.getTraceData(i);
        expect(data.shape).toEqual(t.shape);
        expect(data.data.length).toBe(t.shape[0] * t.shape[1]);
        expect(Array.from(data.data.slice(0, t.head.length))).toEqual(t.head);
        expect(data.data.reduce((a, b) => a + b, 0)).toBeCloseTo(t.sum, 9);
        expect(dataSha256(data.data)).toBe(t.sha256_f64le);
      });
      // The iterator yields the same as indexed access.
      let i = 0;
      for (const [data, attrs] of cf) {
        expect(attrs).toEqual({ ...want.traces[i]!.attrs, cache_file: cf.fname });
        expect(dataSha256(data.data)).toBe(want.traces[i]!.sha256_f64le);
        i++;
      }
      expect(i).toBe(want.len);
    });
  }
});

describe("CacheFile basics", () => {
  it("fname is absolute and readTrace reads attrs or data", () => {
    const cf = new CacheFile("test/fixtures/offspect/template_R001.hdf5");
    expect(cf.fname).toBe(fixture("template_R001.hdf5"));
    expect(readTrace(cf, 1)).toEqual(cf.getTraceAttrs(1));
    expect(readTrace(cf, 1, "data").shape).toEqual([200, 1]);
    expect(() => readTrace(cf, 1, "other" as "data")).toThrow(expect.objectContaining({ code: "EARGRANGE", message: 'expected "attrs" or "data" for what, got "other"' }));
  });

  it("trace data is a fresh, frozen copy", () => {
    const cf = new CacheFile(fixture("template_R001.hdf5"));
    const a = cf.getTraceData(0);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.shape)).toBe(true);
    const before = a.data[100];
    a.data[100] = 12345;
    expect(cf.getTraceData(0).data[100]).toBe(before);
  });

  it("orders traces by the numeric value of their names", () => {
    const cf = new CacheFile(fixture("unsorted_ids_and_empty_origin.hdf5"));
    const ids = Array.from({ length: cf.length }, (_, i) => cf.getTraceAttrs(i)["id"]);
    expect(ids).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"]);
    expect(cf.originCounts).toEqual([0, 13]);
  });

  it("sortKeys sorts trace names numerically", () => {
    expect(sortKeys(["10", "2", "1", "0"])).toEqual(["0", "1", "2", "10"]);
    expect(() => sortKeys(["a"])).toThrow(TypeError);
  });
});

describe("errors a user can cause", () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it("missing file: FileNotFoundError with code ENOENT", () => {
    const e = catchError(() => new CacheFile(join(dir, "missing.hdf5")));
    expect(e).toBeInstanceOf(FileNotFoundError);
    expect(e).toBeInstanceOf(CacheFileError);
    expect((e as CacheFileError).code).toBe("ENOENT");
  });

  it("wrong suffix: InvalidSuffixError", () => {
    const path = copyFixture("template_R001.hdf5", dir, "template.h5");
    const e = catchError(() => new CacheFile(path));
    expect(e).toBeInstanceOf(InvalidSuffixError);
    expect((e as Error).message).toMatch(/\.h5 is not a valid suffix.*\.hdf5/);
  });

  it("a text file named .hdf5: NotHdf5Error", () => {
    const path = join(dir, "notes.hdf5");
    writeFileSync(path, "these are notes, not HDF5\n");
    const e = catchError(() => new CacheFile(path));
    expect(e).toBeInstanceOf(NotHdf5Error);
    expect((e as CacheFileError).code).toBe("ENOTHDF5");
  });

  it("a truncated HDF5 file: TruncatedFileError", () => {
    const bytes = readFileSync(fixture("map_session.hdf5"));
    for (const length of [100, 4096, bytes.length >> 1, bytes.length - 8]) {
      const path = join(dir, `cut${length}.hdf5`);
      writeFileSync(path, bytes.subarray(0, length));
      const e = catchError(() => new CacheFile(path));
      expect(e, `cut at ${length}`).toBeInstanceOf(TruncatedFileError);
      expect((e as CacheFileError).code).toBe("ETRUNCATED");
    }
  });

  it("an HDF5 file without traces groups: LayoutError", () => {
    const path = join(dir, "other.hdf5");
    python(
      `import h5py,sys,json
with h5py.File(sys.argv[1], "w") as f:
    g = f.create_group("run.xdf"); g.attrs["readout"] = "cmep"; g.create_dataset("data", data=[1.0, 2.0])
print(json.dumps(True))`,
      [path],
    );
    const e = catchError(() => new CacheFile(path));
    expect(e).toBeInstanceOf(LayoutError);
    expect((e as LayoutError).reason).toBe("ENOTRACES");
    expect((e as Error).message).toMatch(/has no "traces" group/);
  });

  it("non-integer indices are TypeErrors, out-of-range ones RangeErrors", () => {
    const cf = new CacheFile(fixture("template_R001.hdf5"));
    for (const bad of [1.5, "0", NaN, null, undefined, 1n]) {
      const e = catchError(() => cf.getTraceAttrs(bad as number));
      expect(e).toBeInstanceOf(IndexTypeError);
      expect(e).toBeInstanceOf(TypeError);
      expect((e as IndexTypeError).code).toBe("EINDEXTYPE");
      expect(catchError(() => cf.getTraceData(bad as number))).toBeInstanceOf(TypeError);
    }
    for (const bad of [-1, 2, 1000]) {
      const e = catchError(() => cf.getTraceAttrs(bad));
      expect(e).toBeInstanceOf(IndexRangeError);
      expect(e).toBeInstanceOf(RangeError);
      expect(e).toBeInstanceOf(CacheFileError);
      expect(catchError(() => cf.getTraceData(bad))).toBeInstanceOf(RangeError);
    }
  });

  it("attributes from another file, another index, or none at all are refused; nothing is written", () => {
    const a = copyFixture("template_R001.hdf5", dir, "a.hdf5");
    const b = copyFixture("template_R002.hdf5", dir, "b.hdf5");
    const before = fileSha256(a);
    const cfa = new CacheFile(a);
    const cfb = new CacheFile(b);
    const fromB = { ...cfb.getTraceAttrs(0), comment: "x" };
    expect(() => cfa.setTraceAttrs(0, fromB)).toThrow(ForeignAttributesError);
    const fromIndex1 = { ...cfa.getTraceAttrs(1), comment: "x" };
    expect(() => cfa.setTraceAttrs(0, fromIndex1)).toThrow(/different trace/);
    const bare = { comment: "x" };
    expect(() => cfa.setTraceAttrs(0, bare)).toThrow(/do not originate from a CacheFile/);
    expect(fileSha256(a)).toBe(before);
  });

  it("invalid readout values are refused with key, value and expectation; nothing is written", () => {
    const path = copyFixture("template_R001.hdf5", dir, "a.hdf5");
    const before = fileSha256(path);
    const cf = new CacheFile(path);
    const attrs = cf.getTraceAttrs(0);
    attrs["reject"] = "maybe";
    attrs["xyz_coords"] = "[1, 2]";
    attrs["neg_peak_magnitude_uv"] = "small";
    attrs["comment"] = "this alone would be fine";
    const e = catchError(() => cf.setTraceAttrs(0, attrs)) as InvalidAttributeError;
    expect(e).toBeInstanceOf(InvalidAttributeError);
    expect(e.code).toBe("EINVALID");
    expect(e.problems.map((p) => p.key).sort()).toEqual(["neg_peak_magnitude_uv", "reject", "xyz_coords"]);
    expect(e.message).toMatch(/reject: expected True or False, got "maybe"/);
    expect(e.message).toMatch(/nothing was written/);
    expect(fileSha256(path)).toBe(before);
  });
});

describe("writing attributes and data", () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it("setTraceAttrs writes only valid trace keys of the readout, and h5py reads them as vlen UTF-8 str", () => {
    const path = copyFixture("template_R001.hdf5", dir, "a.hdf5");
    const cf = new CacheFile(path);
    const attrs = cf.getTraceAttrs(1);
    attrs["stimulation_intensity_mso"] = encode(66);
    attrs["reject"] = encode(true);
    attrs["comment"] = "Grüße ✓ — checked";
    attrs["neg_peak_magnitude_uv"] = "None";
    attrs["_log"] = encode(["baseline on 2020-05-17 18:02:00", "flipsign on 2020-05-17 18:03:00"]);
    attrs["subject"] = "someone else"; // an origin key: not a trace key, not written
    attrs["nonsense_key"] = "x";
    const result = cf.setTraceAttrs(1, attrs);
    expect(result.written.sort()).toEqual(["_log", "comment", "neg_peak_magnitude_uv", "reject", "stimulation_intensity_mso"]);
    expect(result.ignored.sort()).toEqual(["nonsense_key", "subject"]);
    const back = cf.getTraceAttrs(1);
    expect(decode(back["stimulation_intensity_mso"]!)).toBe(66);
    expect(decode(back["reject"]!)).toBe(true);
    expect(back["subject"]).toBe("VnNn");
    expect("nonsense_key" in back).toBe(false);
    const seen = python<Record<string, { value: string; vlen: boolean; utf8: boolean; scalar: boolean }>>(
      `import h5py, sys, json
with h5py.File(sys.argv[1], "r") as f:
    d = f["template_R001.xdf/traces/1"]
    out = {}
    for k in ["stimulation_intensity_mso", "reject", "comment", "_log", "subject", "neg_peak_magnitude_uv"]:
        a = d.attrs.get_id(k); t = a.get_type()
        out[k] = {"value": d.attrs[k], "vlen": t.is_variable_str(), "utf8": t.get_cset() == h5py.h5t.CSET_UTF8, "scalar": a.shape == ()}
    print(json.dumps(out))`,
      [path],
    );
    expect(seen["stimulation_intensity_mso"]).toEqual({ value: "66", vlen: true, utf8: true, scalar: true });
    expect(seen["comment"]!.value).toBe("Grüße ✓ — checked");
    expect(seen["_log"]!.value).toBe("['baseline on 2020-05-17 18:02:00', 'flipsign on 2020-05-17 18:03:00']");
    expect(seen["subject"]!.value).toBe("VnNn");
    expect(seen["neg_peak_magnitude_uv"]!.value).toBe("None");
    expect(Object.values(seen).every((v) => v.vlen && v.utf8 && v.scalar)).toBe(true);
  });

  it("updateTraceAttributes writes through cache_file and cache_file_index", () => {
    const path = copyFixture("map_session.hdf5", dir, "m.hdf5");
    const cf = new CacheFile(path);
    const attrs = cf.getTraceAttrs(57);
    attrs["examiner"] = "batch script";
    expect(updateTraceAttributes(attrs).written).toEqual(["examiner"]);
    expect(cf.getTraceAttrs(57)["examiner"]).toBe("batch script");
    expect(() => updateTraceAttributes({ ...attrs, cache_file_index: "1.5" })).toThrow(IndexTypeError);
    expect(() => updateTraceAttributes({ ...attrs, cache_file_index: "120" })).toThrow(IndexRangeError);
  });

  it("values that are not text are stored as offspect's encode gives them, as offspect's update_trace_attributes encodes every value", () => {
    const path = copyFixture("template_R001.hdf5", dir, "encode.hdf5");
    const cf = new CacheFile(path);
    const attrs: Record<string, unknown> = cf.getTraceAttrs(1);
    attrs["comment"] = new Date(Date.UTC(2024, 4, 2, 10, 14, 3, 250));
    attrs["onset_shift"] = 5;
    attrs["reject"] = true;
    expect(cf.setTraceAttrs(1, attrs as Record<string, string>).written.sort()).toEqual(["comment", "onset_shift", "reject"]);
    const stored = cf.getTraceAttrs(1);
    expect([stored["comment"], stored["onset_shift"], stored["reject"]]).toEqual([encode(attrs["comment"]), "5", "true"]);
    // A value encode refuses (a function) writes nothing.
    const before = fileSha256(path);
    expect(() => cf.setTraceAttrs(1, { ...cf.getTraceAttrs(1), comment: (() => 1) as unknown as string })).toThrow(expect.objectContaining({ code: "EENCODE" }));
    expect(fileSha256(path)).toBe(before);
  });

  it("the batch loop of offspect's docs: shift every onset by 5", () => {
    const path = copyFixture("merged_R001_R003.hdf5", dir, "merged.hdf5");
    const cf = new CacheFile(path);
    const old = Array.from({ length: cf.length }, (_, i) => decode(cf.getTraceAttrs(i)["onset_shift"]!) as number);
    let ix = 0;
    for (const [, attrs] of cf) {
      attrs["onset_shift"] = encode((decode(attrs["onset_shift"]!) as number) + 5);
      cf.setTraceAttrs(ix, attrs);
      expect(decode(cf.getTraceAttrs(ix)["onset_shift"]!)).toBe(old[ix]! + 5);
      ix++;
    }
    expect(ix).toBe(4);
    const onH5py = python<string[]>(
      `import h5py,sys,json
with h5py.File(sys.argv[1],"r") as f:
    print(json.dumps([f[o]["traces"][k].attrs["onset_shift"] for o in f for k in sorted(f[o]["traces"], key=int)]))`,
      [path],
    );
    expect(onH5py.map(Number)).toEqual(old.map((o) => o + 5));
  });

  it("writeTraceData overwrites data of the same shape, refuses another shape", () => {
    const path = copyFixture("erp_multichannel.hdf5", dir, "e.hdf5");
    const cf = new CacheFile(path);
    const t = cf.getTraceData(3);
    const data = t.data.map((x, i) => x * 2 + i);
    writeTraceData(cf, { data, shape: t.shape }, 3);
    expect(Array.from(cf.getTraceData(3).data)).toEqual(Array.from(data));
    const fromH5py = python<number[]>(
      `import h5py,sys,json
with h5py.File(sys.argv[1],"r") as f:
    d = f["erp_block1.vhdr/traces/3"]; print(json.dumps([list(d.shape), float(d[:].sum()), float(d[5, 3])]))`,
      [path],
    );
    expect(fromH5py[0]).toEqual([1500, 8]);
    expect(fromH5py[1]).toBeCloseTo(data.reduce((a, b) => a + b, 0), 6);
    expect(fromH5py[2]).toBe(data[5 * 8 + 3]);
    const before = fileSha256(path);
    expect(() => writeTraceData(cf, { data: new Float64Array(1500), shape: [1500, 1] }, 3)).toThrow(ShapeMismatchError);
    expect(() => writeTraceData(cf, [[1, 2], [3, 4]], 3)).toThrow(/has shape \[1500, 8\]/);
    expect(fileSha256(path)).toBe(before);
  });
});

describe("freshness, handle release and leaks", () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it("sees a change another process made, without a new CacheFile", async () => {
    const path = copyFixture("template_R001.hdf5", dir, "a.hdf5");
    const cf = new CacheFile(path);
    expect(cf.getTraceAttrs(0)["comment"]).toBe("");
    await tick(); // the read handle is released once the event loop turns
    python(
      `import h5py,sys,json
with h5py.File(sys.argv[1], "r+", libver="latest") as f:
    f["template_R001.xdf/traces/0"].attrs["comment"] = "from python"
    g = f.create_group("template_R009.xdf"); g.create_group("traces")
print(json.dumps(True))`,
      [path],
    );
    expect(cf.getTraceAttrs(0)["comment"]).toBe("from python");
    expect(cf.origins).toEqual(["template_R001.xdf", "template_R009.xdf"]);
  });

  it("holds the shared lock only during a call (and a stream), never between two calls, with no libhdf5 handle", async () => {
    const path = copyFixture("map_session.hdf5", dir);
    const cf = new CacheFile(path);
    const writerCanLock = () => spawnSync("flock", ["-n", "-x", path, "true"]).status === 0;
    for (let i = 0; i < cf.length; i++) cf.getTraceAttrs(i);
    // Between calls of one synchronous run a writer elsewhere gets in, as with offspect.
    expect(writerCanLock()).toBe(true);
    expect(openObjectCount()).toBe(0); // read by the format module: libhdf5 holds nothing
    let inStream: boolean | undefined;
    for await (const _ of sessionOf(cf).tuplesAsync({ batch: 16 })) inStream ??= writerCanLock();
    expect(inStream).toBe(false); // a stream keeps the file consistent while it runs
    expect(writerCanLock()).toBe(true);
    await tick();
    expect(openObjectCount()).toBe(0);
  });

  it("leaves the file free for a writer in another process once idle", async () => {
    const path = copyFixture("template_R001.hdf5", dir, "a.hdf5");
    const cf = new CacheFile(path);
    cf.getTraceAttrs(0);
    await tick();
    const ok = python<boolean>(
      `import h5py,sys,json
with h5py.File(sys.argv[1], "r+") as f: pass
print(json.dumps(True))`,
      [path],
    );
    expect(ok).toBe(true);
  });

  it("a child process started while the file is open does not keep it locked", async () => {
    const path = copyFixture("template_R001.hdf5", dir, "a.hdf5");
    const cf = new CacheFile(path);
    cf.getTraceAttrs(0); // the read handle is open now
    const child = spawn("sleep", ["5"], { stdio: "ignore" });
    try {
      await tick();
      const ok = python<boolean>(
        `import h5py,sys,json
with h5py.File(sys.argv[1], "r+") as f: pass
print(json.dumps(True))`,
        [path],
      );
      expect(ok).toBe(true);
    } finally {
      child.kill();
    }
  });

  it("no handle stays open after thousands of operations, failures included", async () => {
    const path = copyFixture("map_session.hdf5", dir, "m.hdf5");
    await tick();
    const start = openObjectCount();
    const cf = new CacheFile(path);
    for (let round = 0; round < 20; round++) {
      for (const [, attrs] of cf) void attrs;
      for (let i = 0; i < cf.length; i += 7) {
        cf.getTraceData(i);
        expect(() => cf.getTraceAttrs(i + 0.5)).toThrow();
      }
      expect(() => cf.getTraceAttrs(cf.length)).toThrow(RangeError);
      const attrs = cf.getTraceAttrs(round);
      attrs["comment"] = `round ${round}`;
      cf.setTraceAttrs(round, attrs);
      expect(() => cf.setTraceAttrs(round, { ...attrs, reject: "perhaps" })).toThrow(InvalidAttributeError);
      cf.toString();
      await tick();
      expect(openObjectCount()).toBe(start);
    }
    expect(statSync(path).size).toBeGreaterThan(0);
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error");
}

describe("reads in every pattern (single, sequential, iterated, streamed) equal libhdf5's", () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  /** Every trace's collapsed attributes as libhdf5 reads them. */
  function libhdf5Reads(cf: CacheFile): Record<string, string>[] {
    using f = readFile(cf.fname);
    let i = 0;
    const out: Record<string, string>[] = [];
    for (const origin of f.keys("/")) {
      const names = f.keys(`/${origin}/traces`).sort((a, b) => Number(a) - Number(b));
      for (const name of names) out.push({ ...f.attrs(`/${origin}/traces/${name}`), origin, cache_file: cf.fname, cache_file_index: String(i++) });
    }
    return out;
  }

  /** Every trace's attributes one trace per event-loop turn. */
  async function singleReads(cf: CacheFile): Promise<Record<string, string>[]> {
    const out: Record<string, string>[] = [];
    for (let i = 0; i < cf.length; i++) {
      await tick();
      out.push(cf.getTraceAttrs(i));
    }
    return out;
  }

  function oddFile(originSuffix: string): string {
    // 3 origins x 40 traces, values h5py writes: unicode, empty, long, quotes, newlines.
    const path = join(dir, "odd.hdf5");
    python(
      `import h5py, sys, json, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    for o in range(3):
        t = f.create_group(f"run_{o}{sys.argv[2]}.xdf").create_group("traces")
        for i in range(40):
            d = t.create_dataset(str(i), data=np.arange(200.0).reshape(200, 1) * i)
            d.attrs["id"] = str(i)
            d.attrs["comment"] = ["", "µV ✓ 漢字", "x" * 5000, "line\\nbreak", "'q' \\"d\\""][i % 5]
            d.attrs["readin"] = "tms"; d.attrs["readout"] = "cmep"
            for k in range(25):
                d.attrs[f"key_{k:02d}"] = f"{o}-{i}-{k}"
print(json.dumps(True))`,
      [path, originSuffix],
    );
    return path;
  }

  it.each([["map_session.hdf5"], ["odd values"], ["UTF-8 origin names (new-style groups)"]])("of %s give what libhdf5 reads", async (name) => {
    const path = name.endsWith(".hdf5") ? copyFixture(name, dir) : oddFile(name.startsWith("UTF-8") ? "_ÄÖ" : "");
    const cf = new CacheFile(path);
    // The format module reads the file (it does not decline it to libhdf5).
    const fallbacks: unknown[] = [];
    sessionOf(cf).onFallback = (e) => fallbacks.push(e);
    const single = await singleReads(cf);
    expect(fallbacks).toEqual([]);
    expect(single).toEqual(libhdf5Reads(cf));
    expect(single.map((a) => Object.keys(a))).toEqual(libhdf5Reads(cf).map((a) => Object.keys(a)));
    await tick();
    const sequential = Array.from({ length: cf.length }, (_, i) => cf.getTraceAttrs(i));
    expect(sequential).toEqual(single);
    await tick();
    const iterated = [...cf].map(([, attrs]) => attrs);
    expect(iterated).toEqual(single);
    const streamed: Record<string, string>[] = [];
    for await (const [, attrs] of sessionOf(cf).tuplesAsync({ batch: 16 })) streamed.push(attrs);
    expect(streamed).toEqual(single);
    // Key order too (offspect's dicts keep the file's order).
    expect(iterated.map((a) => Object.keys(a))).toEqual(single.map((a) => Object.keys(a)));
  });

  it("random reads are O(1): each parses the one trace it reads, never the whole file", async () => {
    const path = copyFixture("map_session.hdf5", dir);
    // A file that is not changing (one changed in the last instant is read again on every call).
    await new Promise((resolve) => setTimeout(resolve, 150));
    const cf = new CacheFile(path);
    const objects = vi.spyOn(FormatFile.prototype, "object");
    try {
      cf.getTraceAttrs(0);
      await tick();
      objects.mockClear();
      cf.getTraceAttrs(7); // a new turn: the file is read again, its index too
      const perFirstRead = objects.mock.calls.length;
      objects.mockClear();
      const read = new Set<number>();
      for (let k = 0; k < 200; k++) read.add((k * 37) % cf.length);
      for (let k = 0; k < 200; k++) cf.getTraceAttrs((k * 37) % cf.length);
      // Within the turn: the object headers of the traces read, and no other, whatever the file's size.
      const headers = new Set(objects.mock.calls.map((c) => c[1]));
      expect(headers.size, JSON.stringify([...headers])).toBe(read.size);
      expect([...headers].every((p) => /\/traces\/[0-9]+$/.test(String(p)))).toBe(true);
      expect(perFirstRead).toBeLessThan(cf.length);
    } finally {
      objects.mockRestore();
    }
  });

  it("see a write made in the middle of a loop, by this CacheFile and by another", () => {
    const path = copyFixture("map_session.hdf5", dir);
    const cf = new CacheFile(path);
    const other = new CacheFile(path);
    for (let i = 0; i < 100; i++) {
      const attrs = cf.getTraceAttrs(i);
      if (i === 50) {
        attrs["comment"] = "written mid-loop";
        cf.setTraceAttrs(i, attrs);
        const a70 = other.getTraceAttrs(70);
        a70["comment"] = "by the other";
        other.setTraceAttrs(70, a70);
      }
    }
    expect(cf.getTraceAttrs(50)["comment"]).toBe("written mid-loop");
    expect(cf.getTraceAttrs(70)["comment"]).toBe("by the other");
    expect([...cf][70]![1]["comment"]).toBe("by the other");
  });
});
