/**
 * annotateFile / annotateFiles / writeMeasures: what is written, what is
 * kept, nothing written on failure, and offspect reading, plotting and
 * merging an annotated file (test/analysis/offspect_interop.py).
 */
import { sessionOf } from "../../src/cachefile/cachefile.js";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheFile, merge, parseTraceAttrs } from "../../src/offspect.js";
import { FileInUseError } from "../../src/index.js";
import { ANNOTATOR, AnalysisError, PartialWriteError, annotateFile, annotateFileSync, annotateFiles, annotateFilesSync, writeMeasures, writeMeasuresSync } from "../../src/analysis/index.js";
import { AbortedError, DiskFullError } from "../../src/index.js";
import { copyFixture, fileSha256, fixtureNames, python, PYTHON, ROOT, tempDir } from "../helpers/fixtures.js";
import { variedTraces, writeSession } from "./synthetic.js";

const INTEROP = join(ROOT, "test", "analysis", "offspect_interop.py");
const STORED = ["neg_peak_magnitude_uv", "neg_peak_latency_ms", "pos_peak_magnitude_uv", "pos_peak_latency_ms", "zcr_latency_ms"] as const;

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir("ocf-annotate-")));
afterAll(() => cleanup());

/** A session of 12 traces: 0-5 not annotated, 6-11 with a person's peaks. */
function session(name: string): string {
  const traces = variedTraces(5, 12).map((t, i) => (i >= 6 ? { ...t, peaks: { neg: -111.5, pos: 222.5 } } : t));
  return writeSession(join(dir, name), { samplingrate: 1000, preMs: 120, postMs: 130, origins: [{ name: "run1.xdf", traces }], seed: 9 });
}

/** Every attribute of every trace, as h5py reads them. */
function h5attrs(file: string): Record<string, string>[] {
  return python<Record<string, string>[]>(
    `import h5py, json, sys
f = h5py.File(sys.argv[1], "r")
out = []
for o in f:
    for n in sorted(f[o]["traces"], key=int):
        out.append({k: v for k, v in f[o]["traces"][n].attrs.items()})
print(json.dumps(out))`,
    [file],
  );
}

describe("annotateFile", () => {
  it("stores the measures as offspect's encode stores floats, only on traces whose peaks are still null", () => {
    const file = session("rules.hdf5");
    const before = h5attrs(file);
    const rows = annotateFileSync(file);
    const after = h5attrs(file);
    rows.forEach((r, i) => {
      if (i < 6) {
        expect(r.status).toBe("written");
        expect(r.written).toBe(true);
        expect(after[i]!["examiner"]).toBe(ANNOTATOR); // who wrote them: the next run may replace them
        for (const k of STORED) {
          const v = r[k];
          if (v === null) expect(after[i]![k], `${i} ${k}`).toBe(before[i]![k]);
          else {
            expect(Number(after[i]![k])).toBe(v); // full precision, read back exactly
            expect(after[i]![k]).toMatch(/\./); // a float, e.g. 37.0, never 37
          }
        }
      } else {
        expect(r.status).toBe("kept");
        expect(r.written).toBe(false);
        expect(after[i]).toEqual(before[i]); // a person's values untouched
      }
      // Only the readout's keys changed; ptp, onset, rms are not stored.
      const changed = Object.keys(after[i]!).filter((k) => after[i]![k] !== before[i]![k]);
      for (const k of changed) expect([...STORED, "examiner"]).toContain(k);
      expect(Object.keys(after[i]!).sort()).toEqual(Object.keys(before[i]!).sort());
    });
    // A second run finds nothing left to do: its own values measured again and unchanged, a person's kept.
    expect(annotateFileSync(file).map((r) => r.status)).toEqual(rows.map((_, i) => (i < 6 ? "unchanged" : "kept")));
  });

  it("overwrite replaces a person's values; dryRun writes nothing; a zero crossing that no longer exists is stored as null", () => {
    const file = session("overwrite.hdf5");
    const sha = fileSha256(file);
    const dry = annotateFileSync(file, { dryRun: true, overwrite: true });
    expect(fileSha256(file)).toBe(sha);
    expect(dry.every((r) => r.status === "dry-run" && !r.written)).toBe(true);
    // Put a zero crossing on a trace whose window never crosses (variedTraces kind 5: index 5 and 11).
    const cf = new CacheFile(file);
    const a = cf.getTraceAttrs(11);
    a["zcr_latency_ms"] = "25.0";
    cf.setTraceAttrs(11, a);
    const rows = annotateFileSync(file, { overwrite: true });
    expect(rows.every((r) => r.status === "written")).toBe(true);
    const after = h5attrs(file);
    expect(rows[11]!.zcr_latency_ms).toBeNull();
    expect(after[11]!["zcr_latency_ms"]).toBe("null");
    expect(Number(after[8]!["neg_peak_magnitude_uv"])).toBe(rows[8]!.neg_peak_magnitude_uv);
    expect(rows.map((r) => r.status)).toEqual(dry.map(() => "written"));
  });

  it("rejectBackground sets reject only on written traces whose background EMG is active", () => {
    const file = session("reject.hdf5");
    const rows = annotateFileSync(file, { rejectBackground: true });
    const after = h5attrs(file);
    rows.forEach((r, i) => {
      const expectReject = i < 6 && r.background_active === true;
      expect(r.rejected, `trace ${i}`).toBe(expectReject);
      expect(after[i]!["reject"], `trace ${i}`).toBe(expectReject ? "True" : "False");
    });
    expect(rows.some((r) => r.rejected)).toBe(true);
    expect(rows.some((r) => r.background_active && !r.rejected)).toBe(true); // trace 10: annotated by a person, kept
  });

  it("measures every file before writing: an unusable trace in the second file leaves the first untouched", () => {
    const good = session("good.hdf5");
    const bad = session("bad.hdf5");
    const cf = new CacheFile(bad);
    const a = cf.getTraceAttrs(3);
    a["onset_shift"] = "5000"; // the peak window lies past the trace's end
    cf.setTraceAttrs(3, a);
    const shas = [fileSha256(good), fileSha256(bad)];
    expect(() => annotateFilesSync([good, bad])).toThrow(AnalysisError);
    try {
      annotateFilesSync([good, bad]);
    } catch (e) {
      expect((e as AnalysisError).code).toBe("EANALYSISINPUT");
      expect((e as Error).message).toMatch(/^trace 3 of .*bad\.hdf5: the peak window 15–120 ms/);
    }
    expect([fileSha256(good), fileSha256(bad)]).toEqual(shas);
  });

  it("a write that fails in the second file puts back the first: nothing of the run stays", () => {
    const first = new CacheFile(session("first.hdf5"));
    const second = new CacheFile(session("second.hdf5"));
    const before = [h5attrs(first.fname), h5attrs(second.fname)];
    sessionOf(second).writeTextsSync = () => {
      throw new DiskFullError(second.fname, "no space left on device");
    };
    expect(() => annotateFilesSync([first, second])).toThrow(DiskFullError);
    expect([h5attrs(first.fname), h5attrs(second.fname)]).toEqual(before);
    // When the first cannot be put back either (its write goes through, the put-back is refused), PartialWriteError names it.
    const write = sessionOf(first).writeTextsSync.bind(sessionOf(first));
    let calls = 0;
    sessionOf(first).writeTextsSync = (updates) => {
      if (++calls > 1) throw new FileInUseError(first.fname, "taken by another writer");
      return write(updates);
    };
    let error: unknown;
    try {
      annotateFilesSync([first, second]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PartialWriteError);
    expect((error as PartialWriteError).file).toBe(first.fname);
    expect((error as PartialWriteError).changed).toEqual([0, 1, 2, 3, 4, 5]);
    expect((error as Error).message).toMatch(/no space left on device/);
  });

  it("reports erp traces without storing anything (the readout has no peak fields)", () => {
    const file = copyFixture("erp_multichannel.hdf5", dir);
    const sha = fileSha256(file);
    const rows = annotateFileSync(file);
    expect(rows).toHaveLength(12);
    expect(rows.every((r) => r.status === "not-stored" && !r.written)).toBe(true);
    expect(fileSha256(file)).toBe(sha);
  });

  it("calls onProgress through the measuring and the writing", () => {
    const file = session("progress.hdf5");
    const events: string[] = [];
    annotateFileSync(file, { onProgress: (e) => events.push(`${e.phase}:${e.done}/${e.total}`) });
    expect(events.at(-1)).toBe("write:6/6");
    expect(events).toContain("measure:12/12");
  });
});

describe("writeMeasures", () => {
  it("checks every update before the first write: an unknown key or a non-finite value writes nothing", () => {
    const file = session("checks.hdf5");
    const cf = new CacheFile(file);
    const sha = fileSha256(file);
    expect(() => writeMeasuresSync(cf, [{ index: 0, values: { neg_peak_magnitude_uv: -5 } }, { index: 1, values: { ptp_uv: 5 } }])).toThrow(
      /ptp_uv is not a trace attribute of readout cmep/,
    );
    expect(() => writeMeasuresSync(cf, [{ index: 0, values: { neg_peak_magnitude_uv: -5 } }, { index: 1, values: { neg_peak_magnitude_uv: NaN } }])).toThrow(
      /expected a finite number, a boolean or null for neg_peak_magnitude_uv of trace 1/,
    );
    expect(() => writeMeasuresSync(cf, [{ index: 0, values: { neg_peak_magnitude_uv: -5 } }, { index: 99, values: {} }])).toThrow(RangeError);
    expect(fileSha256(file)).toBe(sha);
    expect(writeMeasuresSync(cf, [{ index: 2, values: { neg_peak_magnitude_uv: -5, zcr_latency_ms: null } }])).toEqual({ changed: [2], values: 1 });
    expect(cf.getTraceAttrs(2)["neg_peak_magnitude_uv"]).toBe("-5.0");
  });

  it("writes the batch in one write that is all or nothing: a write refused (the file locked by another writer, a full disk) leaves the file as it was", () => {
    const file = session("locked.hdf5");
    const sha = fileSha256(file);
    const cf = new CacheFile(file);
    const batches: number[] = [];
    for (const error of [new FileInUseError(cf.fname, "taken by another writer"), new DiskFullError(cf.fname, "it needs 1.0 MiB free on its disk and 12 KiB are; nothing was written")]) {
      sessionOf(cf).writeTextsSync = (updates) => {
        batches.push([...updates].length);
        throw error;
      };
      const updates = [0, 1, 2, 3, 4].map((index) => ({ index, values: { neg_peak_magnitude_uv: -1000 - index } }));
      expect(() => writeMeasuresSync(cf, updates)).toThrow(error.constructor as typeof Error);
    }
    expect(batches).toEqual([5, 5]);
    expect(fileSha256(file)).toBe(sha);
  });

  it("writes the batch with one writeTextsSync call, and exactly the text it stored before: True/False for booleans, 66.0 for numbers of int-like keys", () => {
    const file = session("exact.hdf5");
    const cf = new CacheFile(file);
    const batches: number[] = [];
    const batch = sessionOf(cf).writeTextsSync.bind(sessionOf(cf));
    sessionOf(cf).writeTextsSync = (updates) => {
      const list = [...updates];
      batches.push(list.length);
      return batch(list);
    };
    const result = writeMeasuresSync(cf, [
      { index: 0, values: { neg_peak_magnitude_uv: -5.25, pos_peak_latency_ms: 21, zcr_latency_ms: null } },
      { index: 1, values: { neg_peak_magnitude_uv: 1e-7, reject: true } },
      { index: 2, values: { stimulation_intensity_mso: 66 } },
      { index: 3, values: { pos_peak_magnitude_uv: 2 ** 60, reject: false } },
    ]);
    expect(result.changed).toEqual([0, 1, 2, 3]);
    expect(batches).toEqual([4]);
    const after = h5attrs(file);
    expect(after[0]).toMatchObject({ neg_peak_magnitude_uv: "-5.25", pos_peak_latency_ms: "21.0" });
    expect(after[1]).toMatchObject({ neg_peak_magnitude_uv: "1.0e-07", reject: "True" });
    expect(after[2]).toMatchObject({ stimulation_intensity_mso: "66.0" });
    expect(after[3]).toMatchObject({ pos_peak_magnitude_uv: "1.152921504606847e+18", reject: "False" });
  });
});

describe("the async forms", () => {
  it("annotateFile and annotateFiles give the rows of the Sync forms and write the same text", async () => {
    const a = session("async-a.hdf5");
    const b = session("async-b.hdf5"); // the same session
    const syncRows = annotateFilesSync([a], { rejectBackground: true });
    const asyncRows = await annotateFiles([b], { rejectBackground: true });
    expect(asyncRows.map((r) => ({ ...r, file: "" }))).toEqual(syncRows.map((r) => ({ ...r, file: "" })));
    expect(asyncRows.filter((r) => r.written)).toHaveLength(6);
    expect(h5attrs(b)).toEqual(h5attrs(a));
    expect((await annotateFile(a, { dryRun: true })).map((r) => r.status)).toEqual(syncRows.map((r) => (r.written ? "dry-run" : "kept")));
  });

  it("turns the event loop while it measures; an abort there, or before the writing, writes nothing (AbortedError)", async () => {
    const traces = Array.from({ length: 3 }, (_, k) => variedTraces(40 + k, 100)).flat();
    const file = writeSession(join(dir, "abort.hdf5"), { samplingrate: 1000, preMs: 120, postMs: 130, origins: [{ name: "run1.xdf", traces }], seed: 4 });
    const sha = fileSha256(file);
    const controller = new AbortController();
    let measured = 0;
    let turned = false;
    setImmediate(() => (turned = measured > 0 && measured < traces.length));
    let error: unknown;
    try {
      await annotateFile(file, {
        signal: controller.signal,
        onProgress: (e) => {
          measured = e.done;
          if (e.phase === "measure" && e.done === 200) controller.abort(new Error("stop"));
        },
      });
    } catch (e) {
      error = e;
    }
    expect(turned).toBe(true); // the event loop ran between the measured traces
    expect(error).toBeInstanceOf(AbortedError);
    expect((error as AbortedError).code).toBe("ABORT_ERR");
    expect((error as Error).message).toMatch(/annotating 1 file\(s\) was aborted: nothing was written/);
    expect(measured).toBe(256); // it stopped at the next turn (every 128 traces), before measuring on
    expect(fileSha256(file)).toBe(sha);
    // Aborted after the measuring (at the turn before the writing): still nothing written.
    const late = new AbortController();
    const run = annotateFile(file, { signal: late.signal, onProgress: (e) => e.phase === "measure" && e.done === traces.length && late.abort() });
    await expect(run).rejects.toBeInstanceOf(AbortedError);
    await expect(annotateFile(file, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortedError);
    expect(fileSha256(file)).toBe(sha);
    expect((await annotateFile(file)).filter((r) => r.written)).toHaveLength(traces.length);
  });

  it("writeMeasures is writeMeasuresSync without blocking; an aborted signal writes nothing", async () => {
    const file = session("wm-async.hdf5");
    const cf = new CacheFile(file);
    const sha = fileSha256(file);
    await expect(writeMeasures(cf, [{ index: 0, values: { neg_peak_magnitude_uv: -5 } }], { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortedError);
    expect(fileSha256(file)).toBe(sha);
    expect(await writeMeasures(cf, [{ index: 0, values: { neg_peak_magnitude_uv: -5 } }])).toEqual({ changed: [0], values: 1 });
    expect(cf.getTraceAttrs(0)["neg_peak_magnitude_uv"]).toBe("-5.0");
  });
});

describe("offspect reads, plots and merges an annotated file", () => {
  const cmep = () => fixtureNames().filter((n) => n !== "erp_multichannel.hdf5");
  it.each([...fixtureNames(), "synthetic"])("annotated copy of %s (with overwrite)", (name) => {
    const file = name === "synthetic" ? session("interop.hdf5") : copyFixture(name, dir, `annotated_${name}`);
    const rows = annotateFileSync(file, { overwrite: true, rejectBackground: true });
    const target = join(dir, `merged_${name.replace(/\.hdf5$/, "")}.hdf5`);
    const out = JSON.parse(execFileSync(PYTHON, [INTEROP, file, "--self", target], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })) as {
      parsed: Record<string, unknown>[];
      plot_values?: number[];
      merged_traces: number;
      merged_parsed: Record<string, unknown>[];
    };
    expect(out.parsed).toHaveLength(rows.length);
    rows.forEach((r, i) => {
      const p = out.parsed[i]!;
      if (r.status !== "written") return;
      for (const k of STORED) if (r[k] !== null) expect(p[k], `${name} ${i} ${k}`).toBe(r[k]); // parse_traceattrs: the float itself
      expect(typeof p["reject"]).toBe("boolean");
    });
    if (cmep().includes(name) || name === "synthetic") {
      // plot_map's values: ptp of every trace not rejected, the numbers this library maps.
      const expected = rows.filter((r) => !parseTraceAttrs(new CacheFile(file).getTraceAttrs(r.index))["reject"]).map((r) => r.ptp_uv);
      expect(out.plot_values).toHaveLength(expected.length);
      out.plot_values!.forEach((v, k) => expect(v).toBeCloseTo(expected[k]!, 9));
    }
    expect(out.merged_traces).toBe(2 * rows.length);
    // This library reads offspect's merge of it, and merges the annotated file the same way.
    expect(new CacheFile(target).length).toBe(2 * rows.length);
    const ours = merge(join(dir, `ours_${name.replace(/\.hdf5$/, "")}.hdf5`), [file, target.replace(".hdf5", ".renamed.hdf5")]);
    expect(new CacheFile(ours).length).toBe(2 * rows.length);
  });
});
