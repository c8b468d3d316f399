/**
 * Synthetic TMS sessions with known truth, cut into CacheFiles: an XDF file
 * with an EMG stream, Localite's marker stream and clock offsets; a
 * BrainVision recording with a Localite TriggerMarker export; an EDF+ file.
 * The files are read back with h5py through the restated offspect code
 * (test/helpers/offspect_reference.py), merged by it, and read here.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CacheFile } from "../../src/offspect.js";
import { AbortedError } from "../../src/base/abort.js";
import { TargetFolderError, UnknownReadoutError } from "../../src/base/errors.js";
import { CoordsError, ImportError, XdfError } from "../../src/recordings/errors.js";
import { importRecording, importRecordingSync } from "../../src/recordings/import.js";
import { inspectRecording, inspectRecordingSync } from "../../src/recordings/inspect.js";
import { python, ROOT, tempDir } from "../helpers/fixtures.js";
import { writeBrainVision, writeEdf, writeTriggerMarkers, XdfWriter } from "./writers.js";

const tmp = tempDir("ocf-import-");
afterAll(() => tmp.cleanup());
const REFERENCE = join(ROOT, "test", "helpers");

function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

/** What offspect's recover_parts reads (h5py, ast.literal_eval), with NaN and inf as text for JSON. */
interface Recovered {
  annotations: { origin: string; attrs: Record<string, unknown>; traces: Record<string, unknown>[] }[];
  traces: number[][][][];
}
function recover(file: string): Recovered {
  return python<Recovered>(
    `
import json, math, sys
sys.path.insert(0, sys.argv[2])
from offspect_reference import recover_parts
def clean(v):
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return [clean(x) for x in v]
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items()}
    return v
a, t = recover_parts(sys.argv[1])
# h5py lists the traces by name as text ("10" before "2"); order them by id as offspect's CacheFile does
for o, traces in zip(a, t):
    order = sorted(range(len(o["traces"])), key=lambda i: o["traces"][i]["id"])
    o["traces"] = [o["traces"][i] for i in order]
    traces[:] = [traces[i] for i in order]
print(json.dumps({"annotations": clean(a), "traces": [[x.tolist() for x in o] for o in t]}))
`,
    [file, REFERENCE],
  );
}

const EMG = (i: number) => Math.fround(50 * Math.sin(i / 7) + 10 * Math.cos(i / 31));
const FDI = (i: number) => Math.fround(Math.sin(i / 3) / 100);

/** The pulses of the XDF session: samples, coordinates, intensities; pulse 4 untracked. */
const PULSES = Array.from({ length: 20 }, (_, k) => ({
  sample: 3000 + k * 5000 + ((k * 37) % 400),
  xyz: k === 4 ? null : ([37 + k, 22.8 - k / 2, 54.2 + k / 4] as [number, number, number]),
  mso: 50 + k,
  didt: 30 + (k % 5),
}));

/** EMG at 1 kHz with jittered stamps and clock offsets (0.5 s + 10 ppm); Localite's stream with its own offset (0.2 s). */
function writeXdfSession(path: string): { t: (i: number) => number } {
  const R = rng(11);
  const rate = 1000;
  const n = 104000;
  const a = 0.5, b = 1e-5;
  const synced = (raw: number) => raw + a + b * raw;
  const w = new XdfWriter(path);
  w.header(1, { name: "EMG", format: "float32", channels: [{ label: "EDC_L", unit: "microvolts" }, { label: "FDI_L", unit: "mV" }], srate: rate });
  w.header(7, { name: "localite_marker", format: "string", channels: 1, srate: 0, type: "Markers" });
  w.samples(7, [110], [["Starte freien Modus"]]);
  let next = 0;
  let lastOffset = -Infinity;
  for (let i0 = 0; i0 < n; i0 += 40) {
    const stamps: number[] = [];
    const values: number[] = [];
    for (let i = i0; i < i0 + 40; i++) {
      stamps.push(100 + i / rate + (R() - 0.5) * 0.0004);
      values.push(EMG(i), FDI(i));
    }
    w.samples(1, stamps, values);
    const tt = stamps[stamps.length - 1]!;
    if (tt - lastOffset >= 5) {
      w.clockOffset(1, tt, a + b * tt);
      w.clockOffset(7, tt, 0.2);
      lastOffset = tt;
    }
    // Localite's messages for the pulses in this chunk, on its own clock
    while (next < PULSES.length && PULSES[next]!.sample < i0 + 40) {
      const p = PULSES[next]!;
      const t = synced(100 + p.sample / rate) - 0.2;
      const pos = p.xyz ? `"x": ${p.xyz[0]}, "y": ${p.xyz[1]}, "z": ${p.xyz[2]}` : `"x": null, "y": null, "z": null`;
      w.samples(7, [t, t + 0.012], [[`{"coil_0_didt": ${p.didt}}`], [`{"amplitude": ${p.mso}, ${pos}}`]]);
      next++;
    }
  }
  w.close();
  return { t: (i) => synced(100 + i / rate) };
}

function expectThrows<T extends Error>(fn: () => unknown, cls: new (...a: never[]) => T, reason: string): T {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${cls.name} ${reason}`).toBeInstanceOf(cls);
  expect((caught as { reason: string }).reason).toBe(reason);
  return caught as T;
}

describe("an XDF session with Localite's stream", () => {
  const xdf = join(tmp.dir, "map_R001.xdf");
  const truth = writeXdfSession(xdf);
  const out = join(tmp.dir, "map_R001.hdf5");

  it("imports to a CacheFile whose traces, times and coordinates equal the known truth, as offspect reads it", () => {
    const phases = new Set<string>();
    const result = importRecordingSync(xdf, out, { channels: ["EDC_L"], subject: "S01", onProgress: (e) => phases.add(e.phase) });
    expect(result).toMatchObject({ traces: 20, origin: "map_R001.xdf", samplingRate: 1000, samplesPreEvent: 100, samplesPostEvent: 100, dropped: [] });
    expect([...phases]).toEqual(["read", "cut", "write", "done"]);
    const { annotations, traces } = recover(out);
    expect(annotations).toHaveLength(1);
    const [a] = annotations;
    expect(a!.origin).toBe("map_R001.xdf");
    expect(a!.attrs).toMatchObject({
      channel_labels: ["EDC_L"],
      channel_of_interest: "EDC_L",
      samplingrate: 1000,
      samples_pre_event: 100,
      samples_post_event: 100,
      subject: "S01",
      readin: "tms",
      readout: "cmep",
      filedate: "2020-05-17 18:02:00",
    });
    PULSES.forEach((p, k) => {
      const t = a!.traces[k]!;
      expect(t).toMatchObject({
        id: k,
        event_name: "localite_marker-coil_0_didt",
        event_sample: p.sample,
        reject: false,
        onset_shift: 0,
        stimulation_intensity_mso: p.mso,
        stimulation_intensity_didt: p.didt,
        channel_of_interest: "EDC_L",
        comment: "",
      });
      expect(t["event_time"] as number).toBeCloseTo(truth.t(p.sample) - truth.t(0), 4);
      if (k === 0) expect(t["time_since_last_pulse_in_s"]).toBe("inf");
      else expect(t["time_since_last_pulse_in_s"] as number).toBeCloseTo((t["event_time"] as number) - (a!.traces[k - 1]!["event_time"] as number), 9);
      expect(t["xyz_coords"]).toEqual(p.xyz ?? ["nan", "nan", "nan"]);
      expect(t["neg_peak_magnitude_uv"]).toBeNull(); // stored "None", as offspect stores it
      const data = traces[0]![k]!;
      expect(data).toHaveLength(200);
      data.forEach((row, j) => expect(row).toEqual([EMG(p.sample - 100 + j)]));
    });
    // read here too
    const cf = new CacheFile(out);
    expect(cf.length).toBe(20);
    expect(cf.getTraceData(3).shape).toEqual([200, 1]);
  });

  it("two channels, µV from millivolts, a named event of a marker stream, the baseline subtracted", () => {
    const o = join(tmp.dir, "two.hdf5");
    importRecordingSync(xdf, o, { channels: ["FDI_L", "EDC_L"], preMs: 20, postMs: 50, event: "Starte freien Modus", dropIncomplete: true });
    const cf = new CacheFile(o);
    expect(cf.length).toBe(1);
    const attrs = cf.getTraceAttrs(0);
    expect(attrs["event_name"]).toBe("localite_marker-Starte freien Modus");
    const d = cf.getTraceData(0);
    expect(d.shape).toEqual([70, 2]);
    const s = Number(attrs["event_sample"]);
    expect(d.data[0]).toBeCloseTo(FDI(s - 20) * 1000, 6);
    expect(d.data[1]).toBe(EMG(s - 20));
    const b = join(tmp.dir, "baseline.hdf5");
    importRecordingSync(xdf, b, { channels: ["EDC_L"], subtractBaseline: true });
    const tr = new CacheFile(b).getTraceData(0).data;
    let mean = 0;
    for (let j = 0; j < 100; j++) mean += tr[j]! / 100;
    expect(Math.abs(mean)).toBeLessThan(1e-9);
  });

  it("offspect merges two imported runs, and the merged file reads here", () => {
    const xdf2 = join(tmp.dir, "map_R002.xdf");
    writeXdfSession(xdf2);
    const o2 = join(tmp.dir, "map_R002.hdf5");
    importRecordingSync(xdf2, o2, { channels: ["EDC_L"], subject: "S01" });
    const merged = join(tmp.dir, "merged.hdf5");
    const r = spawnSync("/usr/bin/python3", [join(REFERENCE, "offspect_reference.py"), "merge", merged, out, o2], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const cf = new CacheFile(merged);
    expect(cf.origins).toEqual(["map_R001.xdf", "map_R002.xdf"]);
    expect(cf.length).toBe(40);
    expect(cf.toString()).toContain("In total, there are 40 traces from 2 origins");
    expect(Array.from(cf.getTraceData(25).data)).toEqual(Array.from(new CacheFile(o2).getTraceData(5).data));
  });

  it("inspect lists the streams, channels and Localite's pulses", () => {
    const info = inspectRecordingSync(xdf);
    expect(info.signals.map((s) => [s.id, s.name, s.samplingRate, s.nSamples, s.channels.map((c) => c.label)])).toEqual([[1, "EMG", 1000, 104000, ["EDC_L", "FDI_L"]]]);
    expect(info.events).toHaveLength(1);
    expect(info.events[0]).toMatchObject({ source: "localite_marker", id: 7, total: 41, localitePulses: 20 });
  });

  it("refuses, writing nothing: an unknown channel, event or stream; a window outside the recording", () => {
    const o = join(tmp.dir, "never.hdf5");
    expect(expectThrows(() => importRecordingSync(xdf, o, { channels: ["APB_R"] }), XdfError, "ENOCHANNEL").message).toMatch(/stream 1 "EMG": EDC_L, FDI_L: pick one with --channel/);
    expect(expectThrows(() => importRecordingSync(xdf, o, { channels: ["EDC_L"], event: "S  1" }), ImportError, "ENOEVENT").message).toMatch(/"Starte freien Modus" \(1\)/);
    expectThrows(() => importRecordingSync(xdf, o, { channels: ["EDC_L"], stream: "EEG" }), ImportError, "ENOSTREAM");
    expect(expectThrows(() => importRecordingSync(xdf, o, { channels: ["EDC_L"], preMs: 5000 }), ImportError, "EWINDOW").message).toMatch(/--drop-incomplete/);
    expect(() => importRecordingSync(xdf, o, { channels: ["EDC_L"], readout: "nope" })).toThrow(UnknownReadoutError);
    expect(() => importRecordingSync(xdf, join(tmp.dir, "no-such-folder", "x.hdf5"), { channels: ["EDC_L"] })).toThrow(TargetFolderError);
    expect(existsSync(o)).toBe(false);
  });

  it("the async forms: importRecording writes what importRecordingSync writes; inspectRecording lists what inspectRecordingSync lists", async () => {
    const o = join(tmp.dir, "async.hdf5");
    const phases: string[] = [];
    const r = await importRecording(xdf, o, { channels: ["EDC_L"], subject: "S01", onProgress: (e) => phases.push(e.phase) });
    expect(r).toEqual({ ...importRecordingSync(xdf, join(tmp.dir, "sync.hdf5"), { channels: ["EDC_L"], subject: "S01" }), file: o });
    expect([...new Set(phases)]).toEqual(["read", "cut", "write", "done"]);
    const a = new CacheFile(o);
    const b = new CacheFile(join(tmp.dir, "sync.hdf5"));
    expect(a.length).toBe(20);
    for (let i = 0; i < a.length; i++) {
      expect({ ...a.getTraceAttrs(i), cache_file: "" }).toEqual({ ...b.getTraceAttrs(i), cache_file: "" });
      expect(Array.from(a.getTraceData(i).data)).toEqual(Array.from(b.getTraceData(i).data));
    }
    expect(await inspectRecording(xdf)).toEqual(inspectRecordingSync(xdf));
    await expect(inspectRecording(xdf, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortedError);
  });
});

describe("aborting an import", () => {
  const rate = 1000;
  const pulses = Array.from({ length: 100 }, (_, k) => 1000 + k * 600);
  const dir = join(tmp.dir, "abort");
  mkdirSync(dir, { recursive: true });
  const data = Float64Array.from({ length: 62000 }, (_, i) => Math.round(1000 * Math.sin(i / 11)));
  const vhdr = writeBrainVision(join(dir, "long"), {
    channels: [{ label: "EDC_L", resolution: 0.1, unit: "µV" }],
    rate,
    data,
    markers: pulses.map((sample) => ({ type: "Stimulus", description: "S  1", sample })),
  });

  it("while cutting or while writing: AbortedError, the old target as it was, no temporary file", async () => {
    const out = join(dir, "S01.hdf5");
    writeFileSync(out, "the old file");
    for (const [phase, at] of [["cut", 10], ["write", 40]] as const) {
      const controller = new AbortController();
      let last = 0;
      const run = importRecording(vhdr, out, {
        channels: ["EDC_L"],
        event: "S  1",
        signal: controller.signal,
        onProgress: (e) => {
          if (e.phase !== phase) return;
          last = e.done;
          if (e.done === at) controller.abort(new Error("stop"));
        },
      });
      await expect(run, phase).rejects.toBeInstanceOf(AbortedError);
      expect(last, phase).toBeLessThan(100); // stopped at the next turn (every 32 pulses cut or traces written)
      expect(readdirSync(dir).sort(), phase).toEqual(["S01.hdf5", "long.eeg", "long.vhdr", "long.vmrk"]);
    }
    expect(readFileSync(out, "utf8")).toBe("the old file");
    expect((await importRecording(vhdr, out, { channels: ["EDC_L"], event: "S  1" })).traces).toBe(100);
    expect(new CacheFile(out).length).toBe(100);
  });
});

describe("a BrainVision recording with a Localite TriggerMarker export", () => {
  const rate = 2000;
  const n = 2000 * 80;
  const pulses = Array.from({ length: 12 }, (_, k) => 4000 + k * 12000 + ((k * 53) % 700));
  const base = join(tmp.dir, "S02_run1");
  const data = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    data[i * 2] = Math.round(3000 * Math.sin(i / 9));
    data[i * 2 + 1] = Math.round(1000 * Math.cos(i / 5));
  }
  const vhdr = writeBrainVision(base, {
    channels: [{ label: "APB_R", resolution: 0.1, unit: "µV" }, { label: "EDC_R", resolution: 0.5, unit: "µV" }],
    rate,
    data,
    markers: [...pulses.map((s) => ({ type: "Stimulus", description: "S  1", sample: s })), { type: "Stimulus", description: "S  2", sample: 100 }].sort((a, b) => a.sample - b.sample),
    date: "20200517180200123456",
  });
  const xml = join(tmp.dir, "TriggerMarkers_Coil0_20200517180100000.xml");
  // Localite's clock: started 40 s before the amplifier; pulse 6 untracked
  writeTriggerMarkers(xml, pulses.map((s, k) => ({ timeMs: Math.round((s / rate + 40) * 1000), ...(k === 6 ? {} : { xyz: [k, -k, 50 + k] as [number, number, number] }), mso: 60 + k, didt: 40 + k })));

  it("imports with coordinates paired by time, as offspect reads it", () => {
    const out = join(tmp.dir, "S02_run1.hdf5");
    const r = importRecordingSync(vhdr, out, { channels: ["APB_R"], event: "S  1", coords: xml, preMs: 50, postMs: 100 });
    expect(r).toMatchObject({ traces: 12, samplingRate: 2000, samplesPreEvent: 100, samplesPostEvent: 200 });
    const { annotations, traces } = recover(out);
    const a = annotations[0]!;
    expect(a.attrs).toMatchObject({ channel_labels: ["APB_R"], samplingrate: 2000, filedate: "2020-05-17 18:02:00", subject: "" });
    pulses.forEach((s, k) => {
      expect(a.traces[k]).toMatchObject({ event_name: "S  1", event_sample: s, event_time: s / rate, stimulation_intensity_mso: 60 + k, stimulation_intensity_didt: 40 + k, reject: false, onset_shift: 0 });
      expect(a.traces[k]!["xyz_coords"]).toEqual(k === 6 ? ["nan", "nan", "nan"] : [k, k === 0 ? 0 : -k, 50 + k]);
      traces[0]![k]!.forEach((row, j) => expect(row[0]).toBeCloseTo(Math.round(3000 * Math.sin((s - 100 + j) / 9)) * 0.1, 9));
    });
    expect(a.traces[1]!["time_since_last_pulse_in_s"] as number).toBeCloseTo((pulses[1]! - pulses[0]!) / rate, 9);
  });

  it("pairs by order; refuses counts or times that do not pair", () => {
    const out = join(tmp.dir, "order.hdf5");
    importRecordingSync(vhdr, out, { channels: ["EDC_R"], event: "S  1", coords: xml, pair: "order" });
    expect(new CacheFile(out).getTraceAttrs(11)["xyz_coords"]).toBe("[11.0, -11.0, 61.0]");
    const never = join(tmp.dir, "never.hdf5");
    expectThrows(() => importRecordingSync(vhdr, never, { channels: ["EDC_R"], event: "S  2", coords: xml, pair: "order" }), CoordsError, "ECOUNT");
    const skewed = join(tmp.dir, "skewed.xml");
    writeTriggerMarkers(skewed, pulses.map((s, k) => ({ timeMs: Math.round((s / rate) * 1000 * (k === 7 ? 1.05 : 1)), xyz: [k, k, k], mso: 1, didt: 1 })));
    expect(expectThrows(() => importRecordingSync(vhdr, never, { channels: ["EDC_R"], event: "S  1", coords: skewed }), CoordsError, "ETIMES").message).toMatch(/recorded pulse 8/);
    expect(existsSync(never)).toBe(false);
  });
});

describe("an EDF+ recording", () => {
  it("cuts around the annotations, at the channel's rate", () => {
    const path = join(tmp.dir, "S03.edf");
    const spr = 1000;
    const records = 30;
    const dig = Float64Array.from({ length: spr * records }, (_, i) => Math.round(10000 * Math.sin(i / 13)));
    writeEdf(path, {
      signals: [{ label: "EDC_L", dim: "mV", pmin: -32.768, pmax: 32.767, dmin: -32768, dmax: 32767, spr }],
      data: [dig],
      records,
      duration: 1,
      annotations: [2.5, 7.25, 12, 20.125].map((onset) => ({ onset, text: "TMS" })),
    });
    const out = join(tmp.dir, "S03.hdf5");
    importRecordingSync(path, out, { channels: ["EDC_L"], event: "TMS" });
    const cf = new CacheFile(out);
    expect(cf.length).toBe(4);
    expect([0, 1, 2, 3].map((i) => cf.getTraceAttrs(i)["event_sample"])).toEqual(["2500", "7250", "12000", "20125"]);
    expect(cf.getTraceAttrs(0)["filedate"]).toBe("2020-05-17 18:02:00");
    const d = cf.getTraceData(1).data;
    expect(d[0]).toBeCloseTo(dig[7150]! * 1e-3 * 1000, 6); // mV to µV
  });
  it("EDF+D: pulses in records after a gap are found through the records' start times", () => {
    const path = join(tmp.dir, "S04.edf");
    const spr = 500;
    const dig = Float64Array.from({ length: spr * 6 }, (_, i) => i);
    // records at 0-5 s, then a pause: the last three start at 20, 21, 22 s
    writeEdf(path, {
      signals: [{ label: "EDC_L", dim: "uV", pmin: -32768, pmax: 32767, dmin: -32768, dmax: 32767, spr }],
      data: [dig],
      records: 6,
      duration: 1,
      recordStarts: [0, 1, 2, 20, 21, 22],
      annotations: [1.5, 20.5, 22.25].map((onset) => ({ onset, text: "TMS" })),
    });
    const out = join(tmp.dir, "S04.hdf5");
    importRecordingSync(path, out, { channels: ["EDC_L"], event: "TMS", preMs: 10, postMs: 10 });
    const cf = new CacheFile(out);
    expect([0, 1, 2].map((i) => cf.getTraceAttrs(i)["event_sample"])).toEqual(["750", "1750", "2625"]);
    expect(cf.getTraceData(1).data[5]).toBe(1750); // the samples are their own indices
  });
});
