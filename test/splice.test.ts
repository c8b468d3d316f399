import { spawnSync, execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AnnotationFactory, merge, populate } from "../src/offspect.js";
import { CacheFile, CacheFileError, ConsistencyError, CorruptFileError, FileInUseError, type ProgressEvent } from "../src/index.js";
import { readFile } from "../src/hdf5/index.js";
import type { MergeSourceEvent } from "../src/files/merge.js";
import { native } from "../src/hdf5/native.js";
import { openSpliced, spliceScan, Splicer, type SplicedObject } from "../src/hdf5/splice.js";
import { runNode } from "./helpers/cli.js";
import { fileSha256, fixture, fixtureNames, python, PYTHON, ROOT, tempDir } from "./helpers/fixtures.js";

const REFERENCE = join(ROOT, "test", "helpers", "offspect_reference.py");

function dump(path: string): unknown {
  return JSON.parse(execFileSync(PYTHON, [REFERENCE, "dump", path], { encoding: "utf8", maxBuffer: 1024 * 1024 * 1024 }));
}

function referenceMerge(target: string, sources: string[]): void {
  rmSync(target, { force: true });
  execFileSync(PYTHON, [REFERENCE, "merge", target, ...sources], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}

function h5dumpOk(path: string): void {
  execFileSync("h5dump", [path], { maxBuffer: 1024 * 1024 * 1024, stdio: ["ignore", "ignore", "pipe"] });
}

/** Merges with the given engine, recording which engine took each source. */
function mergeWith(engine: "auto" | "splice" | "values", target: string, sources: string[]): MergeSourceEvent[] {
  const events: MergeSourceEvent[] = [];
  rmSync(target, { force: true });
  merge(target, sources, { engine, fsync: false, onSource: (e) => events.push(e) });
  return events;
}

/** How h5py sees every object's storage: attributes not stored as a str, and whether a dataset is plain float64. */
function h5pyStorage(path: string): Record<string, { nonStandard: string[]; plainFloat64: boolean | null }> {
  return python(
    `import h5py, sys, json
out = {}
def visit(name, obj):
    non = []
    for k in obj.attrs:
        a = obj.attrs.get_id(k)
        t = a.get_type()
        std = isinstance(t, h5py.h5t.TypeStringID) and t.is_variable_str() and t.get_cset() == h5py.h5t.CSET_UTF8 and a.get_space().get_simple_extent_type() == h5py.h5s.SCALAR
        if not std: non.append(k)
    plain = None
    if isinstance(obj, h5py.Dataset):
        plain = obj.dtype == "<f8" and obj.chunks is None and obj.id.get_create_plist().get_layout() == h5py.h5d.CONTIGUOUS
    out["/" + name if name else "/"] = {"nonStandard": non, "plainFloat64": plain}
with h5py.File(sys.argv[1], "r") as f:
    visit("", f)
    f.visititems(visit)
print(json.dumps(out))`,
    [path],
  );
}

/** What libhdf5 (and, for how things are stored, h5py) says about every object the splice parser reported. */
function expectSameAsLibhdf5(path: string, objects: SplicedObject[]): void {
  using f = readFile(path);
  const storage = h5pyStorage(path);
  const children = new Map<string, string[]>();
  for (const o of objects) {
    if (o.path === "/") continue;
    const parent = o.path.slice(0, o.path.lastIndexOf("/")) || "/";
    children.set(parent, [...(children.get(parent) ?? []), o.path.slice(o.path.lastIndexOf("/") + 1)]);
  }
  for (const o of objects) {
    const attrs = f.attrs(o.path);
    expect(o.attrs, `${path}:${o.path} attributes`).toEqual(attrs);
    expect(Object.keys(o.attrs!), `${path}:${o.path} attribute order`).toEqual(Object.keys(attrs));
    expect([...o.nonStandard].sort(), `${path}:${o.path} non-standard attributes`).toEqual([...storage[o.path]!.nonStandard].sort());
    expect(o.plainFloat64, `${path}:${o.path} plain`).toBe(storage[o.path]!.plainFloat64);
    expect(o.kind, `${path}:${o.path} kind`).toBe(f.kind(o.path));
    if (o.kind === "group") expect(children.get(o.path) ?? [], `${path}:${o.path} members`).toEqual(f.keys(o.path));
  }
}

/** A source of `traces` traces in one origin, written by this library's populate. */
function populated(where: string, origin: string, traces: number, samples = 2000, seed = 0): string {
  const factory = new AnnotationFactory({ readin: "tms", readout: "cmep", origin });
  factory.setOriginAttrs({
    channel_labels: ["EDC_L"],
    channel_of_interest: "EDC_L",
    samplingrate: 1000,
    samples_pre_event: 1000,
    samples_post_event: 1000,
    subject: "S01",
    filedate: "2020-05-17 18:02:00",
  });
  const data = [];
  for (let t = 0; t < traces; t++) {
    factory.appendTrace({ event_name: "S  1", event_sample: 1000 * t, event_time: t + 0.5, xyz_coords: [seed, t, 50.5], comment: t % 3 ? "" : "ok" });
    const d = new Float64Array(samples);
    for (let i = 0; i < d.length; i++) d[i] = Math.sin((i + seed * 7 + t) / 30);
    data.push({ data: d, shape: [samples, 1] as [number, number] });
  }
  return populate(join(where, `${origin}.hdf5`), [factory.anno], [data], { fsync: false });
}

/**
 * Sources written by h5py as offspect's populate writes them (str() of every
 * value), one origin each; `variant` makes some of them unsupported.
 */
function h5pySources(where: string, names: string[], traces: number, samples: number, variant: "plain" | "chunked" | "latest" | "track_order" = "plain"): string[] {
  mkdirSync(where, { recursive: true });
  python(
    `import h5py, numpy as np, sys, json
where, traces, samples, variant = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
origin_attrs = {"channel_labels": "['EDC_L']", "channel_of_interest": "EDC_L", "samples_post_event": "1000",
    "samples_pre_event": "1000", "samplingrate": "1000", "subject": "S01", "readout": "cmep", "readin": "tms",
    "version": "0.1.2", "history": "", "global_comment": ""}
for k, name in enumerate(sys.argv[5:]):
    kw = {"libver": "latest"} if variant == "latest" else {}
    with h5py.File(f"{where}/{name}.hdf5", "w", **kw) as f:
        g = f.create_group(name + ".xdf", track_order=(variant == "track_order") or None)
        o = dict(origin_attrs, filedate=f"2020-05-{1 + k % 28:02d} 10:00:00", global_comment=f"run {k}")
        for key, v in o.items(): g.attrs[key] = v
        t = g.create_group("traces")
        rng = np.random.default_rng(k)
        for i in range(traces):
            dkw = {"chunks": (min(50, samples), 1), "compression": "gzip"} if variant == "chunked" else {}
            d = t.create_dataset(str(i), data=rng.normal(size=(samples, 1)), **dkw)
            a = {"id": str(i), "event_name": "[S  1]", "event_sample": str(1000 * i), "event_time": str(i + 0.25),
                 "onset_shift": "0", "time_since_last_pulse_in_s": "None" if i == 0 else "1.5", "reject": "False",
                 "comment": "", "examiner": "HiWi", "stimulation_intensity_mso": "None", "stimulation_intensity_didt": "None",
                 "neg_peak_magnitude_uv": "None", "neg_peak_latency_ms": "None", "pos_peak_magnitude_uv": str(round(rng.normal(), 3)),
                 "pos_peak_latency_ms": "None", "zcr_latency_ms": "None", "xyz_coords": f"[{k}.0, {i}.5, 50.0]"}
            for key, v in dict(a, **o).items(): d.attrs[key] = v
print(json.dumps(True))`,
    [where, String(traces), String(samples), variant, ...names],
  );
  return names.map((n) => join(where, `${n}.hdf5`));
}

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir("ocf-splice-")));
afterAll(() => cleanup());

describe("the splice parser", () => {
  it("reads every fixture as libhdf5 does: members, kinds, attributes, non-standard attributes, plain float64", () => {
    for (const name of fixtureNames()) {
      const report = spliceScan(fixture(name));
      expect(report.supported, name).toBe(true);
      if (!report.supported) continue;
      expect(report.objects[0]!.path).toBe("/");
      expectSameAsLibhdf5(fixture(name), report.objects);
    }
  });

  it("reads every supported string and dataset form as libhdf5 does", () => {
    const path = join(dir, "forms.hdf5");
    python(
      `import h5py, numpy as np, sys, json
with h5py.File(sys.argv[1], "w") as f:
    g = f.create_group("g")
    g.attrs["vlen_utf8"] = "Grüße"
    g.attrs["empty"] = ""
    g.attrs.create("vlen_ascii", "plain", dtype=h5py.string_dtype("ascii"))
    g.attrs.create("fixed_nullpad", np.bytes_(b"HiWi"), dtype=h5py.string_dtype("ascii", 8))
    g.attrs.create("fixed_utf8", "é".encode(), dtype=h5py.string_dtype("utf-8", 6))
    g.attrs.create("one_of_array", ["x"], dtype=h5py.string_dtype())
    g.attrs["ünïcode name"] = "value"
    sp = h5py.h5t.C_S1.copy(); sp.set_size(6); sp.set_strpad(h5py.h5t.STR_SPACEPAD)
    aid = h5py.h5a.create(g.id, b"spaced", sp, h5py.h5s.create(h5py.h5s.SCALAR))
    aid.write(np.array(b"ab    ", dtype="S6"), mtype=sp)
    nt = h5py.h5t.C_S1.copy(); nt.set_size(5); nt.set_strpad(h5py.h5t.STR_NULLTERM)
    aid = h5py.h5a.create(g.id, b"nullterm", nt, h5py.h5s.create(h5py.h5s.SCALAR))
    aid.write(np.array(b"abc", dtype="S5"), mtype=nt)
    t = g.create_group("traces")
    t.create_dataset("f64", data=np.arange(6.0).reshape(3, 2))
    t.create_dataset("f32", data=np.arange(6, dtype="<f4"))
    t.create_dataset("i16", data=np.arange(6, dtype="<i2"))
    t.create_dataset("be", data=np.arange(4, dtype=">f8"))
    t.create_dataset("empty", data=np.zeros((0, 1)))
    t.create_dataset("unallocated", shape=(3,), dtype="f8")
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE); dcpl.set_layout(h5py.h5d.COMPACT)
    sid = h5py.h5s.create_simple((4,))
    h5py.h5d.create(t.id, b"compact", h5py.h5t.IEEE_F64LE, sid, dcpl=dcpl).write(h5py.h5s.ALL, h5py.h5s.ALL, np.arange(4.0))
    for i in range(300):
        d = t.create_dataset(f"m{i:03d}", data=[float(i)])
        d.attrs["i"] = str(i)
    deep = f.create_group("a/b/c/d/e")
    deep.attrs["depth"] = "5"
    f.attrs["root attribute"] = "kept out of a splice"
print(json.dumps(True))`,
      [path],
    );
    const report = spliceScan(path);
    expect(report.supported).toBe(true);
    if (!report.supported) return;
    expectSameAsLibhdf5(path, report.objects);
    const g = report.objects.find((o) => o.path === "/g")!;
    expect(g.attrs).toMatchObject({ spaced: "ab", nullterm: "abc", fixed_nullpad: "HiWi", empty: "", "ünïcode name": "value", one_of_array: "x" });
    expect(g.nonStandard.sort()).toEqual(["fixed_nullpad", "fixed_utf8", "nullterm", "one_of_array", "spaced", "vlen_ascii"]);
    const plain = Object.fromEntries(report.objects.filter((o) => o.kind === "dataset").map((o) => [o.path.split("/").pop(), o.plainFloat64]));
    expect(plain).toMatchObject({ f64: true, f32: false, i16: false, be: false, empty: true, unallocated: true, compact: false });
  });

  it("limits what it reports by depth", () => {
    const report = spliceScan(fixture("map_session.hdf5"), { maxDepth: 2, attrDepth: 1 });
    expect(report.supported).toBe(true);
    if (!report.supported) return;
    expect(Math.max(...report.objects.map((o) => o.depth))).toBe(2);
    expect(report.objects.filter((o) => o.depth === 2).every((o) => o.attrs === null)).toBe(true);
    expect(report.objects.filter((o) => o.depth === 1).every((o) => o.attrs !== null)).toBe(true);
  });

  it("says why it does not support a file, without writing anything", () => {
    const variants: [string, RegExp][] = [
      ["chunked", /filtered data|chunked layout/],
      ["latest", /superblock version 3/],
      ["track_order", /version 2 object header/],
    ];
    for (const [variant, reason] of variants) {
      const [path] = h5pySources(join(dir, `why-${variant}`), ["w"], 2, 10, variant as "chunked");
      const report = spliceScan(path!);
      expect(report.supported, variant).toBe(false);
      if (!report.supported) {
        expect(report.reason).toMatch(reason);
        expect(report.damaged).toBe(false);
      }
    }
    const text = join(dir, "text.hdf5");
    writeFileSync(text, "not an HDF5 file at all, but long enough to hold a superblock ".repeat(4));
    expect(spliceScan(text)).toMatchObject({ supported: false, damaged: false, reason: /no HDF5 superblock/ });
    const empty = join(dir, "empty.hdf5");
    writeFileSync(empty, "");
    expect(spliceScan(empty)).toMatchObject({ supported: false });
    expect(spliceScan(dir)).toMatchObject({ supported: false, reason: /not a regular file/ });
    expect(() => spliceScan(join(dir, "missing.hdf5"))).toThrow(/does not exist/);
  });

  it("takes a shared lock: a writer's exclusive lock makes it fail with FileInUseError", () => {
    const path = join(dir, "locked.hdf5");
    copyFileSync(fixture("template_R001.hdf5"), path);
    const lock = native.lockAcquire(path, true, 1000, false);
    try {
      expect(() => spliceScan(path)).toThrow(FileInUseError);
    } finally {
      native.lockRelease(lock);
    }
    // Readers share: libhdf5 holding it open read-only does not get in the way.
    using f = readFile(path);
    expect(spliceScan(path).supported).toBe(true);
    expect(f.keys()).toEqual(["template_R001.xdf"]);
  });
});

describe("splicing files", () => {
  it("gives a file whose root holds every source's members, read by h5py as the sources, h5dump-clean, spliceable again", () => {
    const sources = ["template_R001.hdf5", "template_R002.hdf5", "template_R003.hdf5", "map_session.hdf5", "erp_multichannel.hdf5", "unsorted_ids_and_empty_origin.hdf5"].map(fixture);
    const target = join(dir, "spliced.hdf5");
    {
      using s = Splicer.begin(target);
      for (const source of sources) {
        expect(s.add(source).supported).toBe(true);
        s.commit();
      }
      expect(s.finish()).toBe(statSync(target).size);
    }
    const want: Record<string, unknown> = { "/": { attrs: {} } };
    for (const source of sources) {
      const { "/": _root, ...rest } = dump(source) as Record<string, unknown>;
      Object.assign(want, rest);
    }
    expect(dump(target)).toEqual(want);
    h5dumpOk(target);
    const again = spliceScan(target);
    expect(again.supported).toBe(true);
    if (again.supported) expectSameAsLibhdf5(target, again.objects);
  });

  it("builds a multi-level root B-tree that libhdf5 can insert into and remove from", () => {
    const where = join(dir, "many");
    const names = Array.from({ length: 300 }, (_, i) => `r${String(i).padStart(3, "0")}`);
    const sources = h5pySources(where, names, 1, 4);
    const target = join(dir, "many.hdf5");
    {
      using s = Splicer.begin(target);
      for (const source of sources) {
        s.add(source);
        s.commit();
      }
      s.finish();
    }
    const result = python<{ keys: number; sorted: boolean; value: number[] }>(
      `import h5py, sys, json
with h5py.File(sys.argv[1], "r+") as f:
    for i in range(0, 300, 2): f.create_group("r%03d.xdf_added" % i)
    for i in range(0, 300, 3): del f["r%03d.xdf" % i]
with h5py.File(sys.argv[1], "r") as f:
    keys = list(f.keys())
    print(json.dumps({"keys": len(keys), "sorted": keys == sorted(keys), "value": f["r299.xdf/traces/0"][:, 0].tolist()}))`,
      [target],
    );
    expect(result).toMatchObject({ keys: 300 + 150 - 100, sorted: true });
    expect(result.value).toHaveLength(4);
    h5dumpOk(target);
    expect(spliceScan(target).supported).toBe(true);
  });

  it("refuses duplicate root members, an existing target, and out-of-order calls", () => {
    const target = join(dir, "dup.hdf5");
    using s = Splicer.begin(target);
    expect(() => Splicer.begin(target)).toThrow(/EEXIST|exist/);
    s.add(fixture("template_R001.hdf5"));
    s.commit();
    expect(() => s.commit()).toThrow(/no source is staged/);
    s.add(fixture("merged_R001_R003.hdf5"));
    expect(() => s.commit()).toThrow(/already holds a root member named 'template_R001.xdf'/);
    s.abort();
    expect(() => s.add(fixture("template_R002.hdf5"))).toThrow(/closed/);
  });
});

describe("merge with the splice engine", () => {
  it("equals the merge written from values and offspect's merge, for every fixture", () => {
    const sets = [...fixtureNames().map((n) => [n]), ["template_R001.hdf5", "template_R002.hdf5", "template_R003.hdf5"], ["merged_R001_R003.hdf5", "template_R002.hdf5"]];
    for (const set of sets) {
      const sources = set.map(fixture);
      const before = sources.map(fileSha256);
      const ours = join(dir, "fx-splice.hdf5");
      const old = join(dir, "fx-values.hdf5");
      const ref = join(dir, "fx-ref.hdf5");
      const events = mergeWith("splice", ours, sources);
      expect(events.every((e) => e.engine === "splice"), set.join()).toBe(true);
      mergeWith("values", old, sources);
      referenceMerge(ref, sources);
      const d = dump(ours);
      expect(d, set.join()).toEqual(dump(old));
      expect(d, set.join()).toEqual(dump(ref));
      h5dumpOk(ours);
      expect(sources.map(fileSha256)).toEqual(before);
    }
  });

  it("equals the merge written from values and offspect's merge for sources made by populate and by h5py", () => {
    const where = join(dir, "gen");
    mkdirSync(where, { recursive: true });
    const ours = populatedSet(where);
    const theirs = h5pySources(join(where, "py"), ["py_a", "py_b", "py_c"], 7, 300);
    const sources = [...ours, ...theirs];
    const a = join(dir, "gen-splice.hdf5");
    const b = join(dir, "gen-values.hdf5");
    const r = join(dir, "gen-ref.hdf5");
    expect(mergeWith("splice", a, sources).map((e) => e.engine)).toEqual(sources.map(() => "splice"));
    mergeWith("values", b, sources);
    referenceMerge(r, sources);
    const d = dump(a);
    expect(d).toEqual(dump(b));
    expect(d).toEqual(dump(r));
    h5dumpOk(a);
    // The merged file is itself spliceable, and merging it again changes nothing.
    const again = join(dir, "gen-again.hdf5");
    expect(mergeWith("splice", again, [a]).map((e) => e.engine)).toEqual(["splice"]);
    expect(dump(again)).toEqual(d);
  });

  it("falls back to libhdf5 for chunked, latest-format and creation-ordered sources, with the same result", () => {
    const where = join(dir, "fallback");
    const plain = h5pySources(join(where, "plain"), ["p1", "p2"], 4, 120);
    const chunked = h5pySources(join(where, "chunked"), ["c1"], 4, 120, "chunked");
    const latest = h5pySources(join(where, "latest"), ["l1"], 4, 120, "latest");
    const ordered = h5pySources(join(where, "ordered"), ["o1"], 4, 120, "track_order");
    const sources = [chunked[0]!, plain[0]!, latest[0]!, ordered[0]!, plain[1]!];
    const ours = join(dir, "fb-auto.hdf5");
    const ref = join(dir, "fb-ref.hdf5");
    const events = mergeWith("auto", ours, sources);
    expect(events.map((e) => [e.file, e.engine])).toEqual([
      [chunked[0], "values"],
      [plain[0], "splice"],
      [latest[0], "values"],
      [ordered[0], "values"],
      [plain[1], "splice"],
    ]);
    referenceMerge(ref, sources);
    const d = dump(ours);
    expect(d).toEqual(dump(ref));
    h5dumpOk(ours);
    // The same mix, spliced where possible and written from values: the same file.
    const mixed = [chunked[0]!, plain[0]!, plain[1]!];
    const a = join(dir, "fb-mixed-auto.hdf5");
    const b = join(dir, "fb-mixed-values.hdf5");
    expect(mergeWith("auto", a, mixed).map((e) => e.engine)).toEqual(["values", "splice", "splice"]);
    mergeWith("values", b, mixed);
    expect(dump(a)).toEqual(dump(b));
    // The strict engine refuses instead of falling back.
    expect(() => merge(join(dir, "fb-strict.hdf5"), sources, { engine: "splice", fsync: false })).toThrow(/cannot be spliced: filtered data|cannot be spliced: chunked/);
    expect(existsSync(join(dir, "fb-strict.hdf5"))).toBe(false);
  });

  it("applies offspect's rewrite to spliced sources: values, types, layouts, names, extra members", () => {
    const a = join(dir, "odd_a.hdf5");
    const b = join(dir, "odd_b.hdf5");
    python(
      `import h5py, numpy as np, sys, json, shutil
shutil.copy(sys.argv[3], sys.argv[1]); shutil.copy(sys.argv[4], sys.argv[2])
with h5py.File(sys.argv[1], "r+") as f:
    o = f["template_R001.xdf"]; t = o["traces"]
    t["0"].attrs["xyz_coords"] = "[37.00, 22.80, +54.2]"
    t["0"].attrs["onset_shift"] = "+1"
    t["1"].attrs.create("examiner", np.bytes_(b"HiWi"), dtype=h5py.string_dtype("ascii", 8))
    del t["0"].attrs["subject"]
    t["1"].attrs["subject"] = "someone else"
    o.attrs["global_comment"] = "[1, 2]"
    data = t["1"][()]
    attrs = dict(t["1"].attrs)
    del t["1"]
    d = t.create_dataset("1", data=(data * 10).astype("<i2"))      # contiguous, not float64: spliced, then rewritten
    for k, v in attrs.items(): d.attrs[k] = v
    d.attrs["id"] = "7"
    o.create_dataset("extra", data=[1, 2, 3])
    o.create_group("more").attrs["x"] = "y"
    t.attrs["note"] = "on the traces group"
with h5py.File(sys.argv[2], "r+") as f:
    t = f["template_R003.xdf"]["traces"]
    t["0"].attrs["id"] = "1"; t["1"].attrs["id"] = "0"
    t["1"].attrs["time_since_last_pulse_in_s"] = "inf"
print(json.dumps(True))`,
      [a, b, fixture("template_R001.hdf5"), fixture("template_R003.hdf5")],
    );
    const ours = join(dir, "odd-splice.hdf5");
    const old = join(dir, "odd-values.hdf5");
    const ref = join(dir, "odd-ref.hdf5");
    expect(mergeWith("splice", ours, [a, b]).map((e) => e.engine)).toEqual(["splice", "splice"]);
    mergeWith("values", old, [a, b]);
    referenceMerge(ref, [a, b]);
    const d = dump(ours) as Record<string, { attrs: Record<string, [string, string]> }>;
    expect(d).toEqual(dump(old));
    // offspect reads a fixed-length string as bytes and stores str(b'HiWi'); this library reads text.
    const theirs = dump(ref) as typeof d;
    expect(theirs["template_R001.xdf/traces/7"]!.attrs["examiner"]).toEqual(["b'HiWi'", "vlen-utf8"]);
    theirs["template_R001.xdf/traces/7"]!.attrs["examiner"] = ["HiWi", "vlen-utf8"];
    expect(d).toEqual(theirs);
    h5dumpOk(ours);
  });

  it("keeps merge's checks, errors and progress", () => {
    // Consistency is checked before anything is written.
    const target = join(dir, "never.hdf5");
    expect(() => merge(target, [fixture("template_R001.hdf5"), fixture("merged_R001_R003.hdf5")], { engine: "splice" })).toThrow(ConsistencyError);
    expect(() => merge(target, [fixture("template_R001.hdf5"), fixture("erp_multichannel.hdf5")], { engine: "splice" })).toThrow(/is inconsistent/);
    expect(existsSync(target)).toBe(false);
    // Duplicate ids are found while writing; the target stays as it was.
    const dup = join(dir, "dup-ids.hdf5");
    python(
      `import h5py, sys, json, shutil
shutil.copy(sys.argv[2], sys.argv[1])
with h5py.File(sys.argv[1], "r+") as f:
    f["template_R003.xdf/traces/1"].attrs["id"] = "0"
print(json.dumps(True))`,
      [dup, fixture("template_R003.hdf5")],
    );
    expect(() => merge(target, [fixture("template_R001.hdf5"), dup], { engine: "splice" })).toThrow(/two traces of origin "template_R003.xdf" have id 0/);
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.includes(".partial-"))).toEqual([]);
    // Progress: check per source, write per trace, done.
    const events: ProgressEvent[] = [];
    merge(join(dir, "progress.hdf5"), [fixture("map_session.hdf5")], { engine: "splice", onProgress: (e) => events.push(e) });
    expect(events[0]).toMatchObject({ phase: "check", done: 1, total: 1 });
    const writes = events.filter((e) => e.phase === "write");
    expect(writes.map((e) => e.done)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect(writes.every((e) => e.total === 120 && e.file === fixture("map_session.hdf5"))).toBe(true);
    expect(events.at(-1)).toMatchObject({ phase: "done", done: 120, total: 120 });
    // The result reads as a CacheFile with offspect's answers.
    expect(new CacheFile(join(dir, "progress.hdf5")).toString()).toBe(new CacheFile(fixture("map_session.hdf5")).toString());
  });

  it("fails with FileInUseError when a writer holds a source", () => {
    const a = join(dir, "busy_a.hdf5");
    const b = join(dir, "busy_b.hdf5");
    copyFileSync(fixture("template_R001.hdf5"), a);
    copyFileSync(fixture("template_R002.hdf5"), b);
    // Taken after the check, before the copy.
    let lock: ReturnType<typeof native.lockAcquire> | undefined;
    try {
      expect(() =>
        merge(join(dir, "busy.hdf5"), [a, b], {
          engine: "splice",
          onProgress: (e) => {
            if (e.phase === "check" && e.done === 2) lock = native.lockAcquire(a, true, 1000, false);
          },
        }),
      ).toThrow(FileInUseError);
    } finally {
      if (lock) native.lockRelease(lock);
    }
    expect(existsSync(join(dir, "busy.hdf5"))).toBe(false);
  });
});

/** Three populate-made sources with distinct origins. */
function populatedSet(where: string): string[] {
  return [populated(where, "pop_a.xdf", 5, 200, 1), populated(where, "pop_b.xdf", 0, 200, 2), populated(where, "pop_c.xdf", 12, 64, 3)];
}

describe("damaged sources", () => {
  const child = () => join(dir, "merge-child.mjs");
  beforeAll(() => {
    writeFileSync(
      child(),
      `import { merge } from ${JSON.stringify(join(ROOT, "dist", "offspect.js"))};
import { CacheFileError } from ${JSON.stringify(join(ROOT, "dist", "index.js"))};
const [target, engine, ...sources] = process.argv.slice(2);
try {
  merge(target, sources, { fsync: false, engine });
  process.stdout.write("OK\\n");
} catch (e) {
  if (e instanceof CacheFileError) { process.stdout.write("ERR " + e.constructor.name + " " + e.message + "\\n"); process.exit(2); }
  process.stdout.write("UNEXPECTED " + (e && e.stack) + "\\n");
  process.exit(3);
}
`,
    );
  });

  const runChild = (target: string, engine: string, sources: string[]) => {
    rmSync(target, { force: true });
    return runNode([child(), target, engine, ...sources]);
  };

  /**
   * Merges `damaged` with a good source in a child process: it must end with
   * a CacheFileError, or give offspect's result (or, where offspect's own
   * merge fails, e.g. on a trace without an id, the values engine's).
   */
  function expectCleanOutcome(damaged: string, what: string): string {
    const target = join(dir, "damaged-out.hdf5");
    const sources = [damaged, fixture("template_R002.hdf5")];
    const r = runChild(target, "auto", sources);
    expect(r.signal, `${what}: ${r.stderr}`).toBeNull();
    expect([0, 2], `${what}: ${r.stdout}${r.stderr}`).toContain(r.status);
    if (r.status === 0) {
      const ref = join(dir, "damaged-ref.hdf5");
      rmSync(ref, { force: true });
      const py = spawnSync(PYTHON, [REFERENCE, "merge", ref, ...sources], { encoding: "utf8" });
      if (py.status === 0) {
        expect(dump(target), what).toEqual(dump(ref));
      } else {
        const old = join(dir, "damaged-old.hdf5");
        const h = runChild(old, "values", sources);
        expect(h.status, `${what}: succeeded where both offspect's merge and the values engine fail: ${py.stderr.slice(-200)}`).toBe(0);
        expect(dump(target), what).toEqual(dump(old));
      }
    }
    return r.stdout.trim();
  }

  /** File positions of structures in template_R001.hdf5 (see h5debug). */
  const template = () => readFileSync(fixture("template_R001.hdf5"));
  const spots: [string, number, number][] = [
    ["superblock: root object header address", 64, 0x40],
    ["superblock: end of file address", 40, 0x01],
    ["root object header version", 96, 0x02],
    ["root B-tree signature", 136, 0x20],
    ["root B-tree child address", 136 + 32, 0x40],
    ["local heap data address", 680 + 24, 0x08],
    ["origin object header message count", 800 + 2, 0x01],
    ["origin continuation length", 800 + 16 + 8 + 8, 0x80],
    ["symbol table node entry count", 1504 + 6, 0x10],
    ["symbol table entry cache type", 1504 + 8 + 16, 0x07],
    ["global heap collection size", 2048 + 8, 0x10],
    ["global heap object size", 2048 + 16 + 8, 0x40],
    ["trace dataspace rank", 7952 + 16 + 8 + 1, 0x04],
    ["trace datatype class", 7952 + 16 + 48 + 8, 0x02],
    ["trace layout address", 7952 + 16 + 104 + 2, 0x10],
    ["trace layout size", 7952 + 16 + 104 + 10, 0x01],
    ["attribute message version", 7952 + 16 + 136, 0x20],
    ["attribute name length", 7952 + 16 + 136 + 2, 0x10],
    ["attribute vlen heap address", 7952 + 16 + 136 + 52, 0x01],
    ["attribute vlen length", 7952 + 16 + 136 + 48, 0x03],
    ["attribute value text", 2048 + 16 + 16, 0x80],
  ];

  it("never crash the process: a specific error or offspect's result, for flips in every structure", () => {
    const outcomes: string[] = [];
    for (const [what, at, mask] of spots) {
      const bytes = template();
      bytes[at] = bytes[at]! ^ mask;
      const path = join(dir, "damaged.hdf5");
      writeFileSync(path, bytes);
      outcomes.push(`${what}: ${expectCleanOutcome(path, what)}`);
    }
    // Damage found by the splice parser is reported as such, never handed to libhdf5.
    expect(outcomes.some((o) => /CorruptFileError/.test(o))).toBe(true);
  });

  it("never crash the process when truncated anywhere", () => {
    const bytes = template();
    for (const length of [0, 50, 96, 700, 1600, 2100, 8000, 12000, bytes.length - 8]) {
      const path = join(dir, "truncated.hdf5");
      writeFileSync(path, bytes.subarray(0, length));
      const out = expectCleanOutcome(path, `truncated to ${length}`);
      expect(out, `truncated to ${length}`).toMatch(/^ERR (TruncatedFileError|NotHdf5Error|CorruptFileError)/);
    }
  });

  it("never crash the process for random flips (seeded)", () => {
    let state = 20240611;
    const rand = (m: number) => {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % m;
    };
    for (let i = 0; i < 24; i++) {
      const bytes = template();
      const flips: number[] = [];
      for (let k = 0; k < 1 + rand(3); k++) {
        const at = rand(bytes.length);
        bytes[at] = bytes[at]! ^ (1 << rand(8));
        flips.push(at);
      }
      const path = join(dir, "random.hdf5");
      writeFileSync(path, bytes);
      expectCleanOutcome(path, `flips at ${flips.join(", ")}`);
    }
  });

  it("merge reports parser-found damage as CorruptFileError, before libhdf5 reads the file", () => {
    const bytes = template();
    bytes[2048 + 16 + 8] = bytes[2048 + 16 + 8]! ^ 0x40; // a global heap object larger than its collection
    const path = join(dir, "bad-heap.hdf5");
    writeFileSync(path, bytes);
    const report = spliceScan(path);
    expect(report).toMatchObject({ supported: false, damaged: true });
    expect(() => merge(join(dir, "bad-heap-out.hdf5"), [path])).toThrow(CorruptFileError);
    expect(() => merge(join(dir, "bad-heap-out.hdf5"), [path])).toThrow(/global heap/);
  });
});

describe("structures reached twice", () => {
  /** A copy of template_R001.hdf5 changed by a Python snippet (`f` is the file, opened r+). */
  function changedTemplate(name: string, code: string): string {
    const path = join(dir, name);
    python(
      `import h5py, sys, json, shutil
shutil.copy(sys.argv[2], sys.argv[1])
with h5py.File(sys.argv[1], "r+") as f:
${code
  .split("\n")
  .map((l) => `    ${l}`)
  .join("\n")}
print(json.dumps(True))`,
      [path, fixture("template_R001.hdf5")],
    );
    return path;
  }

  it("declines a hard link (valid HDF5, not damage), and merge copies that source through libhdf5 with offspect's result", () => {
    const linked = changedTemplate("hardlink.hdf5", `f["template_R001.xdf/extra"] = f["template_R001.xdf/traces/0"]`);
    const report = spliceScan(linked);
    expect(report).toMatchObject({ supported: false, damaged: false });
    if (!report.supported) expect(report.reason).toMatch(/\/template_R001\.xdf\/traces\/0 is reached twice \(a hard link/);
    {
      using s = Splicer.begin(join(dir, "hardlink-spliced.hdf5"));
      expect(s.add(linked).supported).toBe(false);
      expect(() => s.commit()).toThrow(/no source is staged/);
    }
    const sources = [linked, fixture("template_R002.hdf5")];
    const ours = join(dir, "hardlink-merged.hdf5");
    expect(mergeWith("auto", ours, sources).map((e) => e.engine)).toEqual(["values", "splice"]);
    const ref = join(dir, "hardlink-ref.hdf5");
    referenceMerge(ref, sources);
    expect(dump(ours)).toEqual(dump(ref));
    h5dumpOk(ours);
  });

  it("declines a group that contains itself (a cycle of hard links) without following it", () => {
    const cyclic = changedTemplate("cycle.hdf5", `f["template_R001.xdf/traces/loop"] = f["template_R001.xdf"]`);
    const report = spliceScan(cyclic);
    expect(report).toMatchObject({ supported: false, damaged: false });
    if (!report.supported) expect(report.reason).toMatch(/\/template_R001\.xdf\/traces\/loop is reached twice/);
  });

  it("reports structures that overlap without being the same structure as damage", () => {
    // Point trace 1's data at trace 0's data: exactly (the same bytes reached twice), or 8 bytes in (an overlap).
    const offsets = python<number[]>(
      `import h5py, sys, json
with h5py.File(sys.argv[1], "r") as f:
    t = f["template_R001.xdf/traces"]
    print(json.dumps([t["0"].id.get_offset(), t["1"].id.get_offset()]))`,
      [fixture("template_R001.hdf5")],
    );
    const [first, second] = offsets as [number, number];
    const pointing = (to: number): string => {
      const bytes = template();
      const needle = Buffer.alloc(8);
      needle.writeBigUInt64LE(BigInt(second));
      const at = bytes.indexOf(needle);
      expect(at).toBeGreaterThan(0);
      expect(bytes.indexOf(needle, at + 1)).toBe(-1);
      bytes.writeBigUInt64LE(BigInt(to), at);
      const path = join(dir, `data-at-${to}.hdf5`);
      writeFileSync(path, bytes);
      return path;
    };
    const overlapping = pointing(first + 8);
    const overlapReport = spliceScan(overlapping);
    expect(overlapReport).toMatchObject({ supported: false, damaged: true });
    if (!overlapReport.supported) expect(overlapReport.reason).toMatch(/raw data .* overlaps the raw data/);
    expect(() => merge(join(dir, "overlap-out.hdf5"), [overlapping], { fsync: false })).toThrow(CorruptFileError);
    const shared = spliceScan(pointing(first));
    expect(shared).toMatchObject({ supported: false, damaged: false });
    if (!shared.supported) expect(shared.reason).toMatch(/raw data at address \d+ is reached twice/);
  });

  function template(): Buffer {
    return readFileSync(fixture("template_R001.hdf5"));
  }
});

describe("locks", () => {
  it("holds a source's shared lock while it is staged, and lets go when it is committed or discarded", () => {
    const path = join(dir, "staged.hdf5");
    copyFileSync(fixture("template_R001.hdf5"), path);
    const writerGetsIn = () => {
      try {
        native.lockRelease(native.lockAcquire(path, true, 0, false));
        return true;
      } catch (e) {
        expect((e as { code?: string }).code).toBe("EBUSY");
        return false;
      }
    };
    using s = Splicer.begin(join(dir, "staged-out.hdf5"));
    expect(s.add(path).supported).toBe(true);
    expect(writerGetsIn()).toBe(false);
    s.discard();
    expect(writerGetsIn()).toBe(true);
    expect(s.add(path).supported).toBe(true);
    expect(writerGetsIn()).toBe(false);
    s.commit();
    expect(writerGetsIn()).toBe(true);
    // A scan holds it only while it parses.
    expect(spliceScan(path).supported).toBe(true);
    expect(writerGetsIn()).toBe(true);
  });
});

describe("memory", () => {
  it("stays bounded whatever the number of sources: a child merging 400 sources", () => {
    const where = join(dir, "mem");
    const names = Array.from({ length: 400 }, (_, i) => `s${String(i).padStart(3, "0")}`);
    // A few unsupported ones among them, which libhdf5 inserts into the spliced root (two B-tree levels).
    const sources = [...h5pySources(where, names.slice(0, 392), 6, 500), ...h5pySources(join(where, "c"), names.slice(392), 6, 500, "chunked")];
    const script = join(dir, "mem-child.mjs");
    writeFileSync(
      script,
      `import { merge } from ${JSON.stringify(join(ROOT, "dist", "offspect.js"))};
const [target, list] = process.argv.slice(2);
const sources = JSON.parse((await import("node:fs")).readFileSync(list, "utf8"));
merge(target, sources, { fsync: false });
process.stdout.write(JSON.stringify({ maxRSS: process.resourceUsage().maxRSS }));`,
    );
    const run = (count: number) => {
      const list = join(dir, `mem-${count}.json`);
      writeFileSync(list, JSON.stringify(sources.slice(400 - count)));
      const target = join(dir, `mem-${count}.hdf5`);
      rmSync(target, { force: true });
      const r = runNode([script, target, list]);
      expect(r.status, r.stderr).toBe(0);
      const out = r.stdout;
      return (JSON.parse(out) as { maxRSS: number }).maxRSS / 1024;
    };
    const rss100 = run(100);
    const rss400 = run(400);
    console.log(`peak RSS of a child merging 100 sources: ${rss100.toFixed(0)} MiB, 400 sources: ${rss400.toFixed(0)} MiB`);
    expect(rss400).toBeLessThan(250);
    expect(rss400 - rss100).toBeLessThan(40);
    // And the 400-source result is right.
    const ref = join(dir, "mem-ref.hdf5");
    referenceMerge(ref, sources);
    expect(dump(join(dir, "mem-400.hdf5"))).toEqual(dump(ref));
    h5dumpOk(join(dir, "mem-400.hdf5"));
  });
});

describe("openSpliced", () => {
  it("opens a spliced file for libhdf5 writes with the default (earliest) format", () => {
    const target = join(dir, "reopen.hdf5");
    {
      using s = Splicer.begin(target);
      s.add(fixture("template_R001.hdf5"));
      s.commit();
      s.finish();
    }
    {
      using f = openSpliced(target);
      f.createDataset("/template_R001.xdf/traces/9", new Float64Array(4), [4, 1]);
      f.setAttrs("/template_R001.xdf/traces/9", { id: "9" });
    }
    // Objects libhdf5 added are in the format the splice parser supports.
    expect(spliceScan(target).supported).toBe(true);
    expect(() => openSpliced(join(dir, "nope.hdf5"))).toThrow(CacheFileError);
  });
});
