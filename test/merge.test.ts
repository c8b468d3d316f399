import { spawn } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AnnotationFactory, CacheFile, encode, merge, populate, recoverAnnotations, recoverParts } from "../src/offspect.js";
import { checkConsistency, ConsistencyError, type ProgressEvent } from "../src/index.js";
import { copyFixture, expected, fileSha256, fixture, fixtureNames, python, PYTHON, ROOT, tempDir } from "./helpers/fixtures.js";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";

const REFERENCE = join(ROOT, "test", "helpers", "offspect_reference.py");

function dump(path: string): unknown {
  return JSON.parse(execFileSync(PYTHON, [REFERENCE, "dump", path], { encoding: "utf8", maxBuffer: 512 * 1024 * 1024 }));
}

function referenceMerge(target: string, sources: string[]): void {
  execFileSync(PYTHON, [REFERENCE, "merge", target, ...sources], { encoding: "utf8" });
}

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir()));
afterAll(() => cleanup());

describe("merge equals offspect's merge", () => {
  it("of template_R001 and template_R003: merged_R001_R003.hdf5, read by h5py and by this library", () => {
    const sources = [fixture("template_R001.hdf5"), fixture("template_R003.hdf5")];
    const before = sources.map(fileSha256);
    const target = join(dir, "merged.hdf5");
    expect(merge(target, sources)).toBe(target);
    expect(dump(target)).toEqual(dump(fixture("merged_R001_R003.hdf5")));
    const ours = new CacheFile(target);
    const theirs = new CacheFile(fixture("merged_R001_R003.hdf5"));
    expect(ours.toString()).toBe(theirs.toString());
    expect(ours.length).toBe(theirs.length);
    for (let i = 0; i < ours.length; i++) {
      const { cache_file: _a, ...a } = ours.getTraceAttrs(i);
      const { cache_file: _b, ...b } = theirs.getTraceAttrs(i);
      expect(a).toEqual(b);
      expect(Array.from(ours.getTraceData(i).data)).toEqual(Array.from(theirs.getTraceData(i).data));
    }
    expect(sources.map(fileSha256)).toEqual(before); // sources are never touched
  });

  it.each([26, 30, 54, 98])(
    "of two 2-origin sources of %i chunked, gzip-compressed, track_order or latest-format traces (libhdf5's H5Ocopy once failed on these): offspect's result, sources untouched",
    (n) => {
      const a = join(dir, `chunked_a_${n}.hdf5`);
      const b = join(dir, `chunked_b_${n}.hdf5`);
      python(
        `import h5py, numpy as np, sys, json
def write(path, runs, **file_kw):
    with h5py.File(path, "w", **file_kw) as f:
        for run in runs:
            g = f.create_group(run, track_order=True)
            g.attrs["readin"] = "tms"; g.attrs["readout"] = "cmep"; g.attrs["samplingrate"] = "1000"
            t = g.create_group("traces", track_order=True)
            for i in range(int(sys.argv[3])):
                d = t.create_dataset(str(i), data=np.arange(50.0).reshape(50, 1) * (i + 1), chunks=(10, 1), compression="gzip", shuffle=True)
                d.attrs["id"] = str(i); d.attrs["readin"] = "tms"; d.attrs["readout"] = "cmep"; d.attrs["samplingrate"] = "1000"
                d.attrs["comment"] = f"{run} {i}"
write(sys.argv[1], ["R001.xdf", "R002.xdf"])
write(sys.argv[2], ["R003.xdf", "R004.xdf"], libver="latest")
print(json.dumps(True))`,
        [a, b, String(n)],
      );
      const before = [a, b].map(fileSha256);
      const ours = join(dir, `chunked_ours_${n}.hdf5`);
      const theirs = join(dir, `chunked_theirs_${n}.hdf5`);
      merge(ours, [a, b]);
      referenceMerge(theirs, [a, b]);
      expect(dump(ours)).toEqual(dump(theirs));
      // h5py lists origins, traces and attributes in offspect's order (the result tracks no creation order).
      const order = (path: string) =>
        python<string[][]>(
          `import h5py, sys, json
with h5py.File(sys.argv[1], "r") as f:
    out = [list(f.keys())]
    for o in f: out += [list(f[o]["traces"].keys()), list(f[o]["traces"]["1"].attrs.keys())]
print(json.dumps(out))`,
          [path],
        );
      expect(order(ours)).toEqual(order(theirs));
      expect(new CacheFile(ours).length).toBe(4 * n);
      expect([a, b].map(fileSha256)).toEqual(before);
    },
  );

  it("of sources offspect would rewrite: odd values, types, layouts and names", () => {
    const a = join(dir, "odd_a.hdf5");
    const b = join(dir, "odd_b.hdf5");
    python(
      `import h5py, numpy as np, sys, json, shutil
shutil.copy(sys.argv[3], sys.argv[1]); shutil.copy(sys.argv[4], sys.argv[2])
with h5py.File(sys.argv[1], "r+") as f:
    o = f["template_R001.xdf"]; t = o["traces"]
    t["0"].attrs["xyz_coords"] = "[37.00, 22.80, +54.2]"      # str(parse) rewrites it
    t["0"].attrs["onset_shift"] = "+1"
    t["0"].attrs["comment"] = "'quoted'"
    t["1"].attrs["neg_peak_latency_ms"] = "1_5.0"
    t["1"].attrs.create("examiner", np.bytes_(b"HiWi"), dtype=h5py.string_dtype("ascii", 8))  # fixed-length ASCII
    del t["0"].attrs["subject"]                                  # origin value missing on a trace
    t["1"].attrs["subject"] = "someone else"                     # origin value differing on a trace
    o.attrs["global_comment"] = "[1, 2]"
    data = t["1"][()]
    del t["1"]
    d = t.create_dataset("1", data=(data * 10).astype("<i2"), chunks=(50, 1), compression="gzip")  # not float64
    d.attrs.update({k: v for k, v in t["0"].attrs.items()})
    d.attrs["id"] = "7"                                          # named otherwise than its id
    o.create_dataset("extra", data=[1, 2, 3])                    # offspect drops what is not a trace
    t.attrs["note"] = "on the traces group"
with h5py.File(sys.argv[2], "r+") as f:
    t = f["template_R003.xdf"]["traces"]
    t["0"].attrs["id"] = "1"; t["1"].attrs["id"] = "0"           # swapped ids
    t["0"].attrs["xyz_coords"] = "not coordinates"
    t["1"].attrs["time_since_last_pulse_in_s"] = "inf"
print(json.dumps(True))`,
      [a, b, fixture("template_R001.hdf5"), fixture("template_R003.hdf5")],
    );
    const before = [fileSha256(a), fileSha256(b)];
    const ours = join(dir, "odd_ours.hdf5");
    const theirs = join(dir, "odd_theirs.hdf5");
    merge(ours, [a, b]);
    referenceMerge(theirs, [a, b]);
    expect(dump(ours)).toEqual(dump(theirs));
    expect([fileSha256(a), fileSha256(b)]).toEqual(before);
  });

  it("of many fixture copies with distinct origins: the map session split and merged back", () => {
    // map_session holds three origins; split it into three files with this library, merge them again.
    const cf = new CacheFile(fixture("map_session.hdf5"));
    const [annotations, traces] = recoverParts(cf);
    const parts = annotations.map((anno, i) => populate(join(dir, `part${i}.hdf5`), [anno], [traces[i]!]));
    const ours = join(dir, "map_merged.hdf5");
    const theirs = join(dir, "map_merged_ref.hdf5");
    merge(ours, parts);
    referenceMerge(theirs, parts);
    expect(dump(ours)).toEqual(dump(theirs));
    expect(dump(ours)).toEqual(dump(fixture("map_session.hdf5")));
  });

  it("reports progress in traces", () => {
    const events: ProgressEvent[] = [];
    merge(join(dir, "progress.hdf5"), [fixture("map_session.hdf5"), fixture("template_R001.hdf5")].slice(0, 1), {
      onProgress: (e) => events.push(e),
    });
    expect(events[0]).toMatchObject({ phase: "check", done: 1, total: 1 });
    const writes = events.filter((e) => e.phase === "write");
    expect(writes.map((e) => e.done)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect(writes.every((e) => e.total === 120)).toBe(true);
    expect(events.at(-1)).toMatchObject({ phase: "done", done: 120, total: 120 });
  });
});

/**
 * A copy of template_R002.hdf5 named `name`, changed by the Python `change`
 * (`f`: the file, `o`: its origin group, renamed to `origin` when given).
 */
function edited(name: string, change: string, origin = "template_R002.xdf"): string {
  const path = join(dir, name);
  python(
    `import h5py, sys, json, shutil
shutil.copy(sys.argv[2], sys.argv[1])
with h5py.File(sys.argv[1], "r+") as f:
    if sys.argv[3] != "template_R002.xdf":
        f.move("template_R002.xdf", sys.argv[3])
    o = f[sys.argv[3]]
    ${change}
print(json.dumps(True))`,
    [path, fixture("template_R002.hdf5"), origin],
  );
  return path;
}

/** The error of a merge into `target` that must fail having written nothing: no target, sources unchanged, no temporary file. */
function failedMerge(target: string, sources: string[]): unknown {
  const before = sources.map(fileSha256);
  let error: unknown;
  try {
    merge(target, sources);
  } catch (e) {
    error = e;
  }
  expect(error, "the merge fails").toBeDefined();
  expect(existsSync(target)).toBe(false);
  expect(sources.map(fileSha256)).toEqual(before);
  expect(readdirSync(dir).filter((n) => n.includes(".partial-"))).toEqual([]);
  return error;
}

describe("merge refuses inconsistent sources and writes nothing", () => {
  const cases: [string, () => string[], RegExp][] = [
    ["the same origin twice", () => [fixture("template_R001.hdf5"), fixture("merged_R001_R003.hdf5")], /Origins are not unique: "template_R001.xdf"/],
    ["another readout", () => [fixture("template_R001.hdf5"), edited("erp.hdf5", 'o.attrs["readout"] = "erp"', "x1.xdf")], /readout is inconsistent: "cmep" in template_R001.xdf.*; "erp" in x1.xdf/],
    ["other channel labels", () => [fixture("template_R001.hdf5"), edited("ch.hdf5", `o.attrs["channel_labels"] = "['APB_R']"`, "x2.xdf")], /channel_labels is inconsistent: "\['EDC_L'\]".*"\['APB_R'\]"/],
    ["another sampling rate", () => [fixture("template_R001.hdf5"), edited("fs.hdf5", 'o.attrs["samplingrate"] = "5000"', "x3.xdf")], /samplingrate is inconsistent/],
    ["a missing readin", () => [fixture("template_R001.hdf5"), edited("ri.hdf5", 'del o.attrs["readin"]', "x4.xdf")], /readin is inconsistent: "tms" in .*; \(missing\) in x4.xdf/],
    ["no sources", () => [], /no source files/],
  ];
  for (const [what, sources, message] of cases) {
    it(what, () => {
      const error = failedMerge(join(dir, `never-${what.replace(/\W/g, "_")}.hdf5`), sources());
      expect(error).toBeInstanceOf(ConsistencyError);
      expect((error as Error).message).toMatch(message);
    });
  }

  it("leaves an existing target as it was when the merge fails midway", () => {
    const target = copyFixture("template_R002.hdf5", dir, "existing.hdf5");
    const before = fileSha256(target);
    // Two traces that claim the same id: found while writing, after the checks passed.
    const dup = join(dir, "dup.hdf5");
    python(
      `import h5py, sys, json, shutil
shutil.copy(sys.argv[2], sys.argv[1])
with h5py.File(sys.argv[1], "r+") as f:
    f["template_R003.xdf/traces/1"].attrs["id"] = "0"
print(json.dumps(True))`,
      [dup, fixture("template_R003.hdf5")],
    );
    expect(() => merge(target, [fixture("template_R001.hdf5"), dup])).toThrow(/two traces of origin "template_R003.xdf" have id 0/);
    expect(fileSha256(target)).toBe(before);
    expect(readdirSync(dir).filter((n) => n.includes(".partial-"))).toEqual([]);
  });

  it("refuses to merge into one of its sources", () => {
    const target = copyFixture("template_R001.hdf5", dir, "self.hdf5");
    expect(() => merge(target, [target, fixture("template_R003.hdf5")])).toThrow(/also a source/);
  });
});

describe("merge names what is wrong with a source as opening it does", () => {
  // The check reads the first levels of each source; what it cannot see (a trace that is
  // not a dataset) the copy finds. Either way the error is the one the CacheFile gives.
  const cases: [string, () => string, string][] = [
    ["a trace that is a group", () => edited("group-trace.hdf5", 'del o["traces/1"]; o["traces"].create_group("1")'), "ENOTDATASET"],
    ["a trace not named by an integer", () => edited("named-trace.hdf5", 'o["traces"].move("1", "one")'), "ETRACENAME"],
    ["an origin without traces", () => edited("no-traces.hdf5", 'o.move("traces", "other")'), "ENOTRACES"],
    ["a dataset at the root", () => edited("root-dataset.hdf5", 'f.create_dataset("stray", data=[1.0])'), "ENOTORIGIN"],
    ["an attribute that is not a string", () => edited("int-attr.hdf5", 'o["traces/1"].attrs["reject"] = 1'), "EATTRTYPE"],
  ];
  for (const [what, make, reason] of cases) {
    it(what, () => {
      const source = make();
      let opened: unknown;
      try {
        const cf = new CacheFile(source);
        try {
          for (const _ of cf) void _;
        } finally {
          cf.close();
        }
      } catch (e) {
        opened = e;
      }
      expect(opened, "opening it fails").toBeInstanceOf(Error);
      const error = failedMerge(join(dir, `never-${reason}.hdf5`), [fixture("template_R001.hdf5"), source]);
      expect(error).toBeInstanceOf((opened as Error).constructor);
      expect({ reason: (error as { reason?: string }).reason, message: (error as Error).message }).toEqual({ reason, message: (opened as Error).message });
    });
  }
});

describe("merge survives SIGKILL at any moment", () => {
  it("leaves the target complete, absent, or as it was, over many kills", async () => {
    const srcDir = join(dir, "kill-sources");
    execFileSync("mkdir", ["-p", srcDir]);
    const sources = makeSources(srcDir, 60, 50);
    const target = join(dir, "killed.hdf5");
    const reference = join(dir, "killed-reference.hdf5");
    merge(reference, sources);
    const want = summary(reference);
    const script = `import { merge } from ${JSON.stringify(join(ROOT, "dist", "offspect.js"))};
process.stdout.write("start\\n");
merge(process.argv[2], process.argv.slice(3));
process.stdout.write("done\\n");`;
    writeFileSync(join(dir, "killme.mjs"), script);
    let completed = 0;
    let absent = 0;
    for (let round = 0; round < 12; round++) {
      const delay = Math.floor(Math.random() * 400);
      const outcome = await runAndKill(join(dir, "killme.mjs"), [target, ...sources], delay);
      if (existsSync(target)) {
        expect(summary(target), `round ${round}, killed after ${delay} ms (${outcome})`).toEqual(want);
        completed++;
      } else {
        absent++;
      }
    }
    // A later merge cleans up what killed ones left behind.
    merge(target, sources);
    expect(summary(target)).toEqual(want);
    expect(readdirSync(dir).filter((n) => n.includes(".partial-"))).toEqual([]);
    expect(completed + absent).toBe(12);
  });
});

describe("populate, recover and the annotation factory", () => {
  it("recoverAnnotations gives offspect's answer for every fixture", () => {
    for (const name of fixtureNames()) {
      const got = recoverAnnotations(new CacheFile(fixture(name)));
      expect(JSON.parse(JSON.stringify(got)), name).toEqual(expected(name).recover_annotations);
    }
  });

  it("recoverParts then populate rebuilds every fixture as h5py sees it", () => {
    for (const name of fixtureNames()) {
      const [annotations, traces] = recoverParts(new CacheFile(fixture(name)));
      const copy = populate(join(dir, `rebuilt-${name}`), annotations, traces);
      expect(dump(copy), name).toEqual(dump(fixture(name)));
    }
  });

  it("the factory builds annotations that populate stores as offspect would", () => {
    const factory = new AnnotationFactory({ readin: "tms", readout: "cmep", origin: "S01_run1.xdf" });
    factory.setOriginAttrs({
      channel_labels: ["EDC_L"],
      channel_of_interest: "EDC_L",
      samplingrate: 1000,
      samples_pre_event: 100,
      samples_post_event: 100,
      subject: "S01",
      filedate: "2020-05-17 18:02:00",
    });
    factory.appendTrace({ event_name: "S  1", event_sample: 1200, event_time: 1.2, xyz_coords: [37, 22.8, 54.2], stimulation_intensity_mso: 54 });
    factory.appendTrace({ event_name: "S  1", event_sample: 2200, event_time: 2, xyz_coords: [37.1, 22.1, 54.4], pos_peak_magnitude_uv: 36 });
    expect(factory.traceKeys).toContain("zcr_latency_ms");
    const target = populate(join(dir, "factory.hdf5"), [factory.anno], [[new Float64Array(200), { data: new Float64Array(200), shape: [200, 1] }]]);
    const cf = new CacheFile(target);
    expect(cf.length).toBe(2);
    const a0 = cf.getTraceAttrs(0);
    expect(a0).toMatchObject({
      id: "0",
      xyz_coords: "[37.0, 22.8, 54.2]",
      event_time: "1.2",
      reject: "False",
      neg_peak_magnitude_uv: "None",
      stimulation_intensity_mso: "54",
      channel_of_interest: "EDC_L",
      subject: "S01",
      readout: "cmep",
      readin: "tms",
      time_since_last_pulse_in_s: "None",
    });
    expect(cf.getTraceAttrs(1)).toMatchObject({ id: "1", event_time: "2.0", pos_peak_magnitude_uv: "36.0" });
    expect(cf.getTraceData(0).shape).toEqual([200, 1]);
    expect(() => factory.appendTrace({ event_name: "x", event_sample: 1, event_time: 1, reject: "maybe" })).toThrow(/reject/);
    expect(() => factory.appendTrace({ event_name: "x", event_time: 1 })).toThrow(/event_sample: missing/);
    expect(() => factory.setOriginAttrs({ samplingrate: "fast" })).toThrow(/samplingrate: expected an integer/);
    expect(() => new AnnotationFactory({ readin: "tms", readout: "nope", origin: "x" })).toThrow(/not registered/);
    // The file's trace attributes pass validation, and set/get round trips work on it.
    const attrs = cf.getTraceAttrs(1);
    attrs["neg_peak_magnitude_uv"] = encode(-20.5);
    expect(cf.setTraceAttrs(1, attrs).written).toEqual(["neg_peak_magnitude_uv"]);
  });

  it("populate refuses mismatched inputs and duplicate ids", () => {
    const t = join(dir, "bad.hdf5");
    const anno = { origin: "a.xdf", attrs: { readout: "cmep" }, traces: [{ id: 0 }, { id: 0 }] };
    expect(() => populate(t, [anno], [[new Float64Array(2)]])).toThrow(/2 trace annotations but 1 traces/);
    expect(() => populate(t, [anno], [[new Float64Array(2), new Float64Array(2)]])).toThrow(/two traces with id 0/);
    expect(() => populate(t, [anno, anno], [[], []])).toThrow(/trace annotations/);
    expect(() => populate(join(dir, "bad.h5"), [], [])).toThrow(/not a valid suffix/);
    expect(existsSync(t)).toBe(false);
  });

  it("checkConsistency names the key and the differing values", () => {
    const a = { origin: "a.xdf", attrs: { readout: "cmep", readin: "tms", samplingrate: 1000 }, traces: [] };
    const b = { origin: "b.xdf", attrs: { readout: "cmep", readin: "tms", samplingrate: 5000 }, traces: [] };
    expect(() => checkConsistency([a, a])).toThrow(/Origins are not unique/);
    try {
      checkConsistency([a, b]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConsistencyError);
      expect((e as ConsistencyError).key).toBe("samplingrate");
      expect((e as ConsistencyError).values).toEqual(["1000", "5000"]);
    }
    expect(() => checkConsistency([a, { ...b, origin: "c.xdf", attrs: { ...a.attrs } }])).not.toThrow();
  });
});

/** Synthetic single-origin sources made with this library's populate. */
function makeSources(where: string, count: number, traces: number): string[] {
  const out: string[] = [];
  for (let s = 0; s < count; s++) {
    const factory = new AnnotationFactory({ readin: "tms", readout: "cmep", origin: `run_${String(s).padStart(3, "0")}.xdf` });
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
      factory.appendTrace({ event_name: "S  1", event_sample: 1000 * t, event_time: t, xyz_coords: [s, t, 50.5] });
      const d = new Float64Array(2000);
      for (let i = 0; i < d.length; i++) d[i] = Math.sin((i + s * 7 + t) / 30);
      data.push({ data: d, shape: [2000, 1] as [number, number] });
    }
    out.push(populate(join(where, `source_${s}.hdf5`), [factory.anno], [data], { fsync: false }));
  }
  return out;
}

/** Everything that makes a merged file what it is, compactly. */
function summary(path: string): unknown {
  const cf = new CacheFile(path);
  let attrText = "";
  let dataSum = 0;
  for (const [data, attrs] of cf) {
    const { cache_file: _c, ...rest } = attrs;
    attrText += JSON.stringify(rest);
    for (const x of data.data) dataSum += x;
  }
  return { length: cf.length, origins: cf.origins, attrs: attrText.length, attrsHash: hash(attrText), dataSum };
}

function hash(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

function runAndKill(script: string, args: string[], delay: number): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("start") && !timer) timer = setTimeout(() => child.kill("SIGKILL"), delay);
    });
    child.on("exit", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve(signal ? `killed by ${signal}` : `exited ${code}${out.includes("done") ? " after finishing" : ""}`);
    });
  });
}
