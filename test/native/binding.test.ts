/**
 * The native binding (src/hdf5/native.ts over native/): type-tagged handles,
 * use after close, errors classified from libhdf5's error numbers and errno
 * (src/hdf5/errors.ts) for every way a user meets a file that cannot be
 * read or written, h5py's LZF filter both ways, and no libhdf5 object left
 * open after any of it.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CacheFile } from "../../src/offspect.js";
import { CacheFileError, ClosedError, CorruptFileError, DiskFullError, FileInUseError, FileNotFoundError, LayoutError, NotHdf5Error, PermissionError, ShapeMismatchError, TruncatedFileError } from "../../src/index.js";
import { H5File, hdf5Version, openObjectCount, readFile, writeFile } from "../../src/hdf5/index.js";
import { FilterUnavailableError, type NativeError } from "../../src/hdf5/errors.js";
import { type FileHandle, Kind, Mode, native } from "../../src/hdf5/native.js";
import { runNode } from "../helpers/cli.js";
import { dataSha256, fixture, python, ROOT, tempDir } from "../helpers/fixtures.js";

const TEMPLATE = fixture("template_R001.hdf5");
const isRoot = process.getuid?.() === 0;

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
// Every case, errors included, closes everything it opened.
afterEach(() => expect(openObjectCount()).toBe(0));

/** The error `fn` throws (failing the test when it throws none). */
function thrown(fn: () => unknown): NativeError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CacheFileError);
    expect((e as Error).message).not.toMatch(/\n/);
    return e as NativeError;
  }
  throw new Error("expected an error, got none");
}

/** The innermost frame of libhdf5's stack in the error. */
function innermost(e: CacheFileError): { major: string; minor: string } | undefined {
  return e.hdf5?.[e.hdf5.length - 1];
}

function openRead(path: string): FileHandle {
  return native.fileOpen(path, Mode.Read, true);
}

describe("native binding: handles", () => {
  it("reports the libhdf5 version", () => {
    expect(hdf5Version()).toMatch(/^1\.\d+\.\d+$/);
  });

  it("refuses anything that is not a handle of the right type with a TypeError", () => {
    const lock = native.lockAcquire(TEMPLATE, false, 1000, false);
    const file = openRead(TEMPLATE);
    try {
      for (const bad of [undefined, null, 1, "x", {}, [], () => 0, lock]) {
        expect(() => native.groupList(bad as never, "/")).toThrow(TypeError);
        expect(() => native.fileClose(bad as never)).toThrow(/expected a file handle/);
      }
      for (const bad of [undefined, {}, file]) {
        expect(() => native.lockRelease(bad as never)).toThrow(/expected a lock handle/);
        expect(() => native.lockFd(bad as never)).toThrow(TypeError);
      }
    } finally {
      native.fileClose(file);
      native.lockRelease(lock);
    }
  });

  it("keeps argument mistakes TypeErrors and RangeErrors", () => {
    expect(() => native.fileOpen(TEMPLATE, 7 as Mode, true)).toThrow(RangeError);
    expect(() => native.fileOpen(`${TEMPLATE}\0x`, Mode.Read, true)).toThrow(/must not contain NUL/);
    expect(() => native.lockAcquire(TEMPLATE, true, -1, false)).toThrow(RangeError);
    const path = join(dir, "args.hdf5");
    using f = H5File.open(path, "w");
    expect(() => f.createDataset("/d", Float64Array.of(1, 2, 3), [2, 2])).toThrow(/does not match the number of values/);
    expect(() => f.setAttrs("/", { a: 1 as unknown as string })).toThrow(TypeError);
    expect(() => f.setAttrs("/", { "": "x" })).toThrow(TypeError);
  });

  it("close is idempotent and use after close throws ClosedError", () => {
    const f = readFile(TEMPLATE);
    expect(f.isOpen).toBe(true);
    f.close();
    f.close();
    expect(f.isOpen).toBe(false);
    expect(() => f.keys()).toThrow(ClosedError);
    const h = openRead(TEMPLATE);
    native.fileClose(h);
    native.fileClose(h);
    expect(native.fileIsOpen(h)).toBe(false);
    const e = thrown(() => native.groupList(h, "/"));
    expect(e).toBeInstanceOf(ClosedError);
    expect(e.code).toBe("ECLOSED");
  });

  it("a released lock is idempotent; its descriptor is gone (ClosedError)", () => {
    const lock = native.lockAcquire(TEMPLATE, false, 1000, false);
    const fd = native.lockFd(lock);
    expect(fd).toBeGreaterThan(2);
    // The descriptor reads the locked file.
    const head = Buffer.alloc(8);
    expect(readSync(fd, head, 0, 8, 0)).toBe(8);
    expect(head.subarray(1, 4).toString()).toBe("HDF");
    native.lockRelease(lock);
    native.lockRelease(lock);
    expect(thrown(() => native.lockFd(lock))).toBeInstanceOf(ClosedError);
  });

  it("using-declarations close the file", () => {
    {
      using f = readFile(TEMPLATE);
      expect(f.keys()).toEqual(["template_R001.xdf"]);
      expect(openObjectCount()).toBeGreaterThan(0);
    }
    expect(openObjectCount()).toBe(0);
  });

  it("the garbage collector closes forgotten handles", async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, "vitest runs with --expose-gc (vitest.config.ts)").toBeTypeOf("function");
    if (!gc) return;
    (() => {
      readFile(TEMPLATE);
    })();
    for (let i = 0; i < 5 && openObjectCount() > 0; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(openObjectCount()).toBe(0);
  });

  it("a close during async work waits for it; the work still answers", async () => {
    const h = openRead(TEMPLATE);
    const reading = native.datasetReadManyAsync(h, ["/template_R001.xdf/traces/0", "/template_R001.xdf/traces/1"], 2 ** 28);
    native.fileClose(h);
    expect(native.fileIsOpen(h)).toBe(false);
    const read = await reading;
    expect(read.map(([, dims]) => dims)).toEqual([
      [200, 1],
      [200, 1],
    ]);
    expect(thrown(() => native.datasetRead(h, "/template_R001.xdf/traces/0", 10))).toBeInstanceOf(ClosedError);
  });
});

describe("errors from libhdf5's error numbers and errno", () => {
  it("a missing file: FileNotFoundError, errno ENOENT, frames named after H5Epubgen.h", () => {
    const path = join(dir, "missing.hdf5");
    const e = thrown(() => openRead(path));
    expect(e).toBeInstanceOf(FileNotFoundError);
    expect(e.file).toBe(path);
    expect(e.errno).toBe("ENOENT");
    expect(e.hdf5![0]).toMatchObject({ func: "H5Fopen", major: "H5E_FILE", minor: "H5E_CANTOPENFILE" });
    expect(innermost(e)).toMatchObject({ major: "H5E_FILE", minor: "H5E_CANTOPENFILE" });
    for (const f of e.hdf5!) expect(f.major).toMatch(/^H5E_[A-Z_]+$/);
  });

  it("a directory: NotHdf5Error (errno EISDIR)", () => {
    const path = join(dir, "folder.hdf5");
    mkdirSync(path);
    const e = thrown(() => openRead(path));
    expect(e).toBeInstanceOf(NotHdf5Error);
    expect(e.errno).toBe("EISDIR");
    expect(e.message).toMatch(/it is a directory/);
  });

  it("a text file: NotHdf5Error from (H5E_FILE, H5E_NOTHDF5), no errno", () => {
    const path = join(dir, "notes.hdf5");
    writeFileSync(path, "these are notes, not HDF5\n");
    const e = thrown(() => openRead(path));
    expect(e).toBeInstanceOf(NotHdf5Error);
    expect(innermost(e)).toMatchObject({ major: "H5E_FILE", minor: "H5E_NOTHDF5" });
    expect(e.errno).toBeUndefined();
  });

  it("a truncated file: TruncatedFileError, cut inside the superblock or after it", () => {
    const bytes = readFileSync(TEMPLATE);
    for (const length of [8, 40, 95, 1000, bytes.length - 1]) {
      const path = join(dir, `cut${length}.hdf5`);
      writeFileSync(path, bytes.subarray(0, length));
      const e = thrown(() => openRead(path));
      expect(e, `cut at ${length}`).toBeInstanceOf(TruncatedFileError);
      expect(e.code).toBe("ETRUNCATED");
      if (length >= 96) expect(innermost(e)).toMatchObject({ major: "H5E_FILE", minor: "H5E_TRUNCATED" });
    }
  });

  it("a file another holder locked: FileInUseError from H5E_CANTLOCKFILE (errno EAGAIN); a lock wait that times out: errno EBUSY", () => {
    const lock = native.lockAcquire(TEMPLATE, true, 1000, false);
    try {
      for (const mode of [Mode.Read, Mode.ReadWrite]) {
        const e = thrown(() => native.fileOpen(TEMPLATE, mode, true));
        expect(e).toBeInstanceOf(FileInUseError);
        expect(e.hdf5!.some((f) => f.minor === "H5E_CANTLOCKFILE")).toBe(true);
        expect(e.errno).toBe("EAGAIN");
      }
      const started = Date.now();
      const e = thrown(() => native.lockAcquire(TEMPLATE, false, 50, false));
      expect(Date.now() - started).toBeGreaterThanOrEqual(45);
      expect(e).toBeInstanceOf(FileInUseError);
      expect([e.errno, e.syscall]).toEqual(["EBUSY", "flock"]);
      expect(e.hdf5).toBeUndefined();
    } finally {
      native.lockRelease(lock);
    }
    // Released: both open again.
    native.lockRelease(native.lockAcquire(TEMPLATE, false, 0, false));
    native.fileClose(openRead(TEMPLATE));
  });

  it("a file open here read-only, opened for writing: FileInUseError", () => {
    const h = openRead(TEMPLATE);
    try {
      expect(thrown(() => native.fileOpen(TEMPLATE, Mode.ReadWrite, true))).toBeInstanceOf(FileInUseError);
    } finally {
      native.fileClose(h);
    }
  });

  it("a damaged file (an object header whose checksum fails): CorruptFileError from the metadata cache's numbers", () => {
    const h = openRead(join(ROOT, "test", "faults", "corpus", "latest_ohdr_checksum.hdf5"));
    try {
      const origin = native.groupList(h, "/")[0][0]!;
      const e = thrown(() => native.groupList(h, `/${origin}/traces`));
      expect(e).toBeInstanceOf(CorruptFileError);
      expect(e.hdf5!.some((f) => f.major === "H5E_CACHE" && f.minor === "H5E_CANTLOAD")).toBe(true);
    } finally {
      native.fileClose(h);
    }
  });

  it("a missing object: LayoutError (reason ENOTFOUND) from H5E_NOTFOUND", () => {
    const h = openRead(TEMPLATE);
    try {
      for (const fn of [() => native.attributesRead(h, "/nope"), () => native.datasetRead(h, "/nope", 10), () => native.groupList(h, "/nope/x")]) {
        const e = thrown(fn);
        expect(e).toBeInstanceOf(LayoutError);
        expect((e as LayoutError).reason).toBe("ENOTFOUND");
        expect(innermost(e)!.minor).toBe("H5E_NOTFOUND");
      }
      expect(native.objectKind(h, "/nope/x")).toBe(-1);
      expect(native.objectKind(h, "/template_R001.xdf/traces")).toBe(Kind.Group);
    } finally {
      native.fileClose(h);
    }
  });

  it("a filter libhdf5 does not have: FilterUnavailableError (EFILTER); damaged compressed chunks: CorruptFileError", () => {
    const path = join(dir, "filters.hdf5");
    python(
      `import h5py, numpy as np, sys, json
with h5py.File(sys.argv[1], "w") as f:
    d = f.create_dataset("blosc", shape=(10,), dtype="f8", chunks=(10,), compression=32001, allow_unknown_filter=True)
    d.id.write_direct_chunk((0,), b"not really blosc")
    for name, comp in (("lzf", "lzf"), ("gzip", "gzip")):
        f.create_dataset(name, data=np.arange(1000.0), chunks=(1000,), compression=comp)
    offsets = {n: f[n].id.get_chunk_info(0).byte_offset for n in ("lzf", "gzip")}
    sizes = {n: f[n].id.get_chunk_info(0).size for n in ("lzf", "gzip")}
with open(sys.argv[1], "r+b") as raw:
    for n in ("lzf", "gzip"):
        raw.seek(offsets[n]); raw.write(b"\\xff" * sizes[n])
print(json.dumps(True))`,
      [path],
    );
    const h = openRead(path);
    try {
      const e = thrown(() => native.datasetRead(h, "/blosc", 100));
      expect(e).toBeInstanceOf(FilterUnavailableError);
      expect(e.code).toBe("EFILTER");
      expect(e.message).toMatch(/: ask for a copy written with h5py's default filters/);
      for (const name of ["/lzf", "/gzip"]) {
        const d = thrown(() => native.datasetRead(h, name, 2000));
        expect(d, name).toBeInstanceOf(CorruptFileError);
        expect(d.hdf5!.some((f) => f.major === "H5E_PLINE")).toBe(true);
      }
    } finally {
      native.fileClose(h);
    }
  });

  it("async calls reject with the same classes", async () => {
    await expect(native.fileOpenAsync(join(dir, "missing.hdf5"), Mode.Read, true)).rejects.toBeInstanceOf(FileNotFoundError);
    const h = await native.fileOpenAsync(TEMPLATE, Mode.Read, true);
    try {
      const e = await native.datasetReadManyAsync(h, ["/template_R001.xdf/traces/0", "/nope"], 10).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(LayoutError);
      expect((e as LayoutError).reason).toBe("ETOOBIG");
      await expect(native.datasetReadManyAsync(h, ["/nope"], 10)).rejects.toMatchObject({ reason: "ENOTFOUND" });
      await expect(native.attributesWriteAsync(h, "/", ["a"], ["b"], true)).rejects.toBeInstanceOf(CacheFileError);
    } finally {
      native.fileClose(h);
    }
    const lock = native.lockAcquire(TEMPLATE, true, 1000, false);
    try {
      await expect(native.lockAcquireAsync(TEMPLATE, false, 30, false)).rejects.toMatchObject({ code: "EBUSY", errno: "EBUSY" });
    } finally {
      native.lockRelease(lock);
    }
  });

  describe.skipIf(!isRoot)("system refusals (root: tmpfs mounts and user nobody)", () => {
    let base: string;
    let full: string;
    let ro: string;
    let forbidden: string;
    const mounted: string[] = [];
    const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: "utf8" });

    beforeAll(() => {
      base = mkdtempSync(join(tmpdir(), "ocf-native-"));
      chmodSync(base, 0o755);
      [full, ro, forbidden] = ["full", "ro", "forbidden"].map((d) => join(base, d)) as [string, string, string];
      for (const d of [full, ro, forbidden]) mkdirSync(d);
      for (const d of [full, ro]) {
        const r = sh("mount", ["-t", "tmpfs", "-o", "size=256k,mode=1777", "tmpfs", d]);
        if (r.status !== 0) throw new Error(`cannot mount a tmpfs at ${d}: ${r.stderr}`);
        mounted.push(d);
      }
      copyFileSync(TEMPLATE, join(ro, "a.hdf5"));
      if (sh("mount", ["-o", "remount,ro", ro]).status !== 0) throw new Error(`cannot remount ${ro} read-only`);
      copyFileSync(TEMPLATE, join(full, "a.hdf5"));
      sh("sh", ["-c", `dd if=/dev/zero of=${join(full, "filler")} bs=1k 2>/dev/null; true`]);
      copyFileSync(TEMPLATE, join(forbidden, "a.hdf5"));
      chmodSync(join(forbidden, "a.hdf5"), 0o644);
      chmodSync(forbidden, 0o755);
    });

    afterAll(() => {
      for (const d of mounted.reverse()) if (sh("umount", [d]).status !== 0) sh("umount", ["-l", d]);
      if (base) rmSync(base, { recursive: true, force: true });
    });

    it("a read-only file system: PermissionError (errno EROFS) for writing, creating and announcing a writer; reading works", () => {
      for (const fn of [() => native.fileOpen(join(ro, "a.hdf5"), Mode.ReadWrite, true), () => native.fileOpen(join(ro, "new.hdf5"), Mode.CreateNew, true)]) {
        const e = thrown(fn);
        expect(e).toBeInstanceOf(PermissionError);
        expect(e.errno).toBe("EROFS");
      }
      const e = thrown(() => native.lockAcquire(join(ro, "a.hdf5"), true, 10, true));
      expect(e).toBeInstanceOf(PermissionError);
      expect([e.errno, e.syscall]).toEqual(["EROFS", "open"]);
      native.fileClose(openRead(join(ro, "a.hdf5")));
    });

    it("a file and directory user nobody may not write: PermissionError (errno EACCES)", () => {
      for (const [op, file] of [
        ["open-rw", join(forbidden, "a.hdf5")],
        ["create", join(forbidden, "new.hdf5")],
        ["lock", join(forbidden, "a.hdf5")],
      ] as const) {
        const r = runNode([join(ROOT, "test", "native", "child.mjs"), op, file], { uid: 65534, gid: 65534, env: { ...process.env, HOME: "/tmp", TMPDIR: "/tmp" } });
        expect(r.status, r.stderr).toBe(0);
        const out = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
        expect(out, op).toMatchObject({ ok: false, name: "PermissionError", code: "EACCES", errno: "EACCES", objects: 0 });
        if (op !== "lock") expect(out["innermost"], op).toMatchObject({ major: "H5E_FILE", minor: "H5E_CANTOPENFILE" });
      }
    });

    it("a full disk: DiskFullError (errno ENOSPC) from libhdf5's write or close, and the file released all the same", () => {
      const e = thrown(() => {
        const h = native.fileOpen(join(full, "new.hdf5"), Mode.CreateNew, true);
        try {
          native.datasetCreate(h, "/d", new Float64Array(100_000), [100_000]);
          native.fileFlush(h);
        } finally {
          native.fileClose(h);
        }
      });
      expect(e).toBeInstanceOf(DiskFullError);
      expect(e.errno).toBe("ENOSPC");
      expect(e.hdf5!.some((f) => f.minor === "H5E_WRITEERROR")).toBe(true);
      // libhdf5 keeps an attribute write in its cache: the disk refuses it at the close, which
      // fails, and the file is released anyway (libhdf5 would otherwise keep it open, and try again at exit).
      const file = join(full, "a.hdf5");
      const h = native.fileOpen(file, Mode.ReadWrite, true);
      const w = thrown(() => {
        try {
          native.attributesWrite(h, "/", ["comment"], ["x".repeat(200_000)]);
        } finally {
          native.fileClose(h);
        }
      });
      expect(w).toBeInstanceOf(DiskFullError);
      expect(w.errno).toBe("ENOSPC");
      expect(w.message).toMatch(/: free some space and try again$/);
      expect(openObjectCount()).toBe(0);
      expect(native.fileIsOpen(h)).toBe(false);
    });
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
      const e = thrown(() => f.attrs(path)) as unknown as LayoutError;
      return [e.reason, e.message];
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
    const s = thrown(() => f.read("/o.xdf/traces/4"));
    expect([s.constructor, (s as LayoutError).reason]).toEqual([LayoutError, "EDTYPE"]);
    expect(s.message).toMatch(/holds string data, not numbers/);
    const big = thrown(() => f.read("/o.xdf/traces/0", 11));
    expect((big as LayoutError).reason).toBe("ETOOBIG");
    expect(big.message).toMatch(/more than 11 elements/);
  });

  it("CacheFile presents 1-D traces as [n, 1] and refuses 3-D ones", () => {
    const path = join(dir, "ranks.hdf5");
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
    cf.close();
  });
});

describe("h5py's LZF filter (id 32000)", () => {
  it("reads what h5py wrote with compression='lzf' (with and without shuffle, any type) as h5py reads it", () => {
    const path = join(dir, "lzf_h5py.hdf5");
    const want = python<Record<string, { shape: number[]; values: number[]; filters: number[] }>>(
      `import h5py, numpy as np, sys, json
rng = np.random.default_rng(7)
data = {
    "smooth": np.sin(np.arange(6000) / 50.0).reshape(2000, 3),
    "noise": rng.normal(size=(777, 2)),
    "int16": (rng.normal(size=(1000, 4)) * 300).astype("<i2"),
    "float32": np.linspace(-1, 1, 4096, dtype="<f4"),
}
out = {}
with h5py.File(sys.argv[1], "w") as f:
    for name, d in data.items():
        f.create_dataset(name, data=d, chunks=True, compression="lzf", shuffle=(name == "int16"))
    for name in data:
        ds = f[name]; p = ds.id.get_create_plist()
        out[name] = {"shape": list(ds.shape), "values": ds[()].astype("f8").ravel().tolist(), "filters": [p.get_filter(i)[0] for i in range(p.get_nfilters())]}
print(json.dumps(out))`,
      [path],
    );
    using f = readFile(path);
    for (const [name, w] of Object.entries(want)) {
      expect(w.filters, name).toContain(32000);
      const got = f.read(`/${name}`);
      expect(got.shape, name).toEqual(w.shape);
      expect(dataSha256(got.data), name).toBe(dataSha256(Float64Array.from(w.values)));
    }
  });

  it("writes chunked LZF datasets that h5py reads, compressed as h5py compresses them", () => {
    const path = join(dir, "lzf_addon.hdf5");
    const smooth = Float64Array.from({ length: 30_000 }, (_, i) => Math.round(Math.sin(i / 40) * 100) / 4);
    const noise = Float64Array.from({ length: 3_000 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453);
    {
      using f = H5File.open(path, "x");
      f.createDataset("/smooth", smooth, [10_000, 3], { lzfChunks: [1000, 3] });
      f.createDataset("/noise", noise, [3_000], { lzfChunks: [512] });
      expect(Array.from(f.read("/smooth").data.subarray(0, 5))).toEqual(Array.from(smooth.subarray(0, 5)));
    }
    const seen = python<Record<string, { compression: string; opts: number[]; chunks: number[]; stored: number; raw: number; sha: string }>>(
      `import h5py, sys, json, hashlib, numpy as np
out = {}
with h5py.File(sys.argv[1], "r") as f:
    for name in ("smooth", "noise"):
        d = f[name]; p = d.id.get_create_plist(); filt = p.get_filter_by_id(32000)
        out[name] = {"compression": d.compression, "opts": list(filt[1]), "chunks": list(d.chunks), "stored": int(d.id.get_storage_size()),
                     "raw": int(d.size) * 8, "sha": hashlib.sha256(np.ascontiguousarray(d[()], dtype="<f8").tobytes()).hexdigest()}
print(json.dumps(out))`,
      [path],
    );
    expect(seen["smooth"]).toMatchObject({ compression: "lzf", opts: [4, 0x0105, 1000 * 3 * 8], chunks: [1000, 3], sha: dataSha256(smooth) });
    expect(seen["smooth"]!.stored).toBeLessThan(seen["smooth"]!.raw / 2);
    // Data LZF cannot shrink is stored as it is (the filter is optional), and still reads.
    expect(seen["noise"]).toMatchObject({ compression: "lzf", chunks: [512], sha: dataSha256(noise) });
  });
});

describe("H5File writing", () => {
  it("creates groups, datasets and attributes that h5py reads back; replaces attributes of another type", () => {
    const path = join(dir, "made.hdf5");
    {
      using f = H5File.open(path, "w");
      f.createGroup("/g");
      f.createDataset("/g/d", Float64Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
      f.setAttrs("/g/d", { a: "1", b: "zwei" });
      f.setAttrs("/g/d", { a: "one" });
      f.createGroup("/tmp");
      f.move("/tmp", "/moved");
      f.createGroup("/gone");
      f.remove("/gone");
      f.setAttrs("/g", { x: "1", y: "2" });
      f.deleteAttr("/g", "x");
      f.deleteAttr("/g", "never there");
    }
    python(
      `import h5py, sys, json
with h5py.File(sys.argv[1], "r+") as f:
    f["g/d"].attrs["n"] = 5
print(json.dumps(True))`,
      [path],
    );
    expect(thrown(() => H5File.open(path, "x"))).toBeInstanceOf(CacheFileError);
    {
      using w = writeFile(path);
      expect(w.members("/")).toEqual([
        { name: "g", kind: "group" },
        { name: "moved", kind: "group" },
      ]);
      w.write("/g/d", Float64Array.from([6, 5, 4, 3, 2, 1]), [3, 2]);
      expect(thrown(() => w.write("/g/d", Float64Array.from([1, 2]), [2, 1]))).toBeInstanceOf(ShapeMismatchError);
      expect(() => w.attrs("/g/d")).toThrow(/'n' .* holds integer data/);
      w.setAttrs("/g/d", { n: "five" });
      expect(w.shape("/g/d")).toEqual([3, 2]);
    }
    const seen = python<[unknown, Record<string, string>, Record<string, string>, string[]]>(
      `import h5py, sys, json
with h5py.File(sys.argv[1], "r") as f:
    d = f["g/d"]
    print(json.dumps([d[:].tolist(), dict(d.attrs), dict(f["g"].attrs), sorted(f.keys())]))`,
      [path],
    );
    expect(seen).toEqual([[[6, 5], [4, 3], [2, 1]], { a: "one", b: "zwei", n: "five" }, { y: "2" }, ["g", "moved"]]);
  });

  it("writes attributes on the thread pool, flushed", async () => {
    const path = join(dir, "async.hdf5");
    copyFileSync(TEMPLATE, path);
    const h = await native.fileOpenAsync(path, Mode.ReadWrite, true);
    try {
      await native.attributesWriteAsync(h, "/template_R001.xdf/traces/0", ["comment"], ["µV ✓"], true);
      expect(native.attributesRead(h, "/template_R001.xdf/traces/0")).toContain("comment\0µV ✓\0");
    } finally {
      native.fileClose(h);
    }
    const seen = python<string>(
      `import h5py, sys, json
with h5py.File(sys.argv[1], "r") as f:
    print(json.dumps(f["template_R001.xdf/traces/0"].attrs["comment"]))`,
      [path],
    );
    expect(seen).toBe("µV ✓");
  });
});
