import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheFile, ClosedError, H5File, hdf5Version, LayoutError, openObjectCount, readFile, writeFile } from "../../src/index.js";
import { native } from "../../src/native.js";
import { fixture, python, tempDir } from "../helpers/fixtures.js";

let dir: string;
let cleanup: () => void;
let odd: string;

beforeAll(() => {
  ({ dir, cleanup } = tempDir());
  odd = join(dir, "odd.hdf5");
  // One file with every unusual but legal (or illegal) thing a reader may meet.
  python(
    `import h5py, numpy as np, sys, json
with h5py.File(sys.argv[1], "w") as f:
    g = f.create_group("o.xdf")
    t = g.create_group("traces")
    t.create_dataset("0", data=np.arange(12, dtype="<i2").reshape(6, 2), chunks=(3, 2), compression="gzip")
    t.create_dataset("1", data=np.linspace(0, 1, 5, dtype="<f4"))
    t.create_dataset("2", data=np.arange(8, dtype=">f8").reshape(4, 2))
    t.create_dataset("3", data=np.zeros((2, 2, 2)))
    t.create_dataset("4", data=np.array([b"a", b"b"]))
    d = t["0"]
    d.attrs.create("fixed_ascii", np.bytes_(b"hello"), dtype=h5py.string_dtype("ascii", 10))
    d.attrs.create("vlen_ascii", "plain", dtype=h5py.string_dtype("ascii"))
    d.attrs["vlen_utf8"] = "Grüße"
    s = t["1"]
    s.attrs["number"] = 5
    a = t["2"]
    a.attrs["array"] = ["x", "y"]
    b = t["3"]
    b.attrs.create("latin1", np.bytes_("café".encode("latin-1")), dtype=h5py.string_dtype("ascii", 4))
    sp = h5py.h5t.C_S1.copy(); sp.set_size(6); sp.set_strpad(h5py.h5t.STR_SPACEPAD)
    aid = h5py.h5a.create(t["4"].id, b"spaced", sp, h5py.h5s.create(h5py.h5s.SCALAR))
    aid.write(np.array(b"ab    ", dtype="S6"), mtype=sp)
print(json.dumps(True))`,
    [odd],
  );
});
afterAll(() => cleanup());

describe("native binding: handles", () => {
  it("reports the libhdf5 version", () => {
    expect(hdf5Version()).toMatch(/^1\.\d+\.\d+$/);
  });

  it("refuses anything that is not a file handle", () => {
    for (const bad of [undefined, null, 1, "x", {}, [], () => 0]) {
      expect(() => native.list(bad as never, "/")).toThrow(TypeError);
      expect(() => native.close(bad as never)).toThrow(/expected a file handle/);
    }
  });

  it("close is idempotent and use after close throws ClosedError", () => {
    const f = readFile(fixture("template_R001.hdf5"));
    expect(f.isOpen).toBe(true);
    f.close();
    f.close();
    expect(f.isOpen).toBe(false);
    expect(() => f.keys()).toThrow(ClosedError);
    const h = native.open(fixture("template_R001.hdf5"), 0, true);
    native.close(h);
    native.close(h);
    expect(() => native.list(h, "/")).toThrow(/closed/);
  });

  it("using-declarations close the file", () => {
    {
      using f = readFile(fixture("template_R001.hdf5"));
      expect(f.keys()).toEqual(["template_R001.xdf"]);
      expect(openObjectCount()).toBeGreaterThan(0);
    }
    expect(openObjectCount()).toBe(0);
  });

  it("carries the HDF5 error stack on failures", () => {
    using f = readFile(fixture("template_R001.hdf5"));
    try {
      f.attrs("/nope");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(LayoutError);
      const frames = (e as LayoutError).hdf5!;
      expect(frames.length).toBeGreaterThan(1);
      expect(frames[0]!.func).toMatch(/^H5/);
      expect((e as Error).message).toMatch(/doesn't exist|not found/);
    }
  });

  it("the garbage collector closes forgotten handles", async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, "vitest runs with --expose-gc (vitest.config.ts)").toBeTypeOf("function");
    if (!gc) return;
    (() => {
      readFile(fixture("template_R001.hdf5"));
    })();
    for (let i = 0; i < 5 && openObjectCount() > 0; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(openObjectCount()).toBe(0);
  });
});

describe("native binding: attribute and data types", () => {
  it("reads fixed-length, ASCII, space-padded and UTF-8 strings as text", () => {
    using f = readFile(odd);
    expect(f.attrs("/o.xdf/traces/0")).toEqual({ fixed_ascii: "hello", vlen_ascii: "plain", vlen_utf8: "Grüße" });
    expect(f.attrs("/o.xdf/traces/4")).toEqual({ spaced: "ab" });
  });

  it("names numeric, array and non-UTF-8 attributes as layout errors", () => {
    using f = readFile(odd);
    const reason = (path: string) => {
      try {
        f.attrs(path);
      } catch (e) {
        return [(e as LayoutError).reason, (e as Error).message];
      }
      return undefined;
    };
    expect(reason("/o.xdf/traces/1")).toEqual(["EATTRTYPE", expect.stringMatching(/'number' .* holds integer data, not a string/)]);
    expect(reason("/o.xdf/traces/2")).toEqual(["EATTRSHAPE", expect.stringMatching(/'array' .* holds 2 strings/)]);
    expect(reason("/o.xdf/traces/3")).toEqual(["EATTRUTF8", expect.stringMatching(/'latin1' .* not UTF-8/)]);
  });

  it("reads integer, float32, big-endian, chunked and gzip data as float64", () => {
    using f = readFile(odd);
    const a = f.read("/o.xdf/traces/0");
    expect(a.shape).toEqual([6, 2]);
    expect(Array.from(a.data)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    const b = f.read("/o.xdf/traces/1");
    expect(b.shape).toEqual([5]);
    expect(Array.from(b.data)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    const c = f.read("/o.xdf/traces/2");
    expect(Array.from(c.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("refuses string datasets and declared sizes beyond the limit", () => {
    using f = readFile(odd);
    expect(() => f.read("/o.xdf/traces/4")).toThrow(/holds string data, not numbers/);
    expect(() => f.read("/o.xdf/traces/0", 11)).toThrow(/more than 11 elements/);
  });

  it("CacheFile presents 1-D traces as [n, 1] and refuses 3-D ones", () => {
    const { dir: d, cleanup: c } = tempDir();
    try {
      const path = join(d, "ranks.hdf5");
      python(
        `import h5py, numpy as np, sys, json
with h5py.File(sys.argv[1], "w") as f:
    t = f.create_group("o.xdf").create_group("traces")
    t.create_dataset("0", data=np.arange(4.0)); t.create_dataset("1", data=np.zeros((2, 2, 2)))
print(json.dumps(True))`,
        [path],
      );
      const cf = new CacheFile(path);
      expect(cf.getTraceData(0).shape).toEqual([4, 1]);
      expect(() => cf.getTraceData(1)).toThrow(/3 dimensions/);
    } finally {
      c();
    }
  });
});

describe("H5File writing", () => {
  it("creates groups, datasets and attributes that h5py reads back", () => {
    const path = join(dir, "made.hdf5");
    {
      using f = H5File.open(path, "w");
      f.createGroup("/g");
      f.createDataset("/g/d", Float64Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
      f.setAttrs("/g/d", { a: "1", b: "zwei" });
      f.setAttrs("/g/d", { a: "one" });
      using src = readFile(fixture("template_R001.hdf5"));
      src.copyTo("/template_R001.xdf", f, "/copied.xdf");
    }
    expect(() => H5File.open(path, "x")).toThrow();
    using w = writeFile(path);
    w.write("/g/d", Float64Array.from([6, 5, 4, 3, 2, 1]), [3, 2]);
    expect(() => w.write("/g/d", Float64Array.from([1, 2]), [2, 1])).toThrow(/another shape/);
    w.close();
    const seen = python<[unknown, Record<string, string>, string[], number]>(
      `import h5py, sys, json
with h5py.File(sys.argv[1], "r") as f:
    d = f["g/d"]
    print(json.dumps([d[:].tolist(), dict(d.attrs), sorted(f.keys()), len(f["copied.xdf/traces"])]))`,
      [path],
    );
    expect(seen).toEqual([[[6, 5], [4, 3], [2, 1]], { a: "one", b: "zwei" }, ["copied.xdf", "g"], 2]);
  });
});
