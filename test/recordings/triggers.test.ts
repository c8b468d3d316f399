/**
 * Trigger channels against MNE-Python (Debian's python3-mne 1.3): the
 * events MNE's `find_events` finds with its defaults on the channel as
 * `read_raw_bdf`/`read_raw_edf` read it as the stim channel, for BDF Status
 * channels with system bits above the trigger bits, EDF trigger channels
 * with a physical scaling, a trigger channel at half the data's rate,
 * several values, overlapping bits, a trigger at sample 0 and at the last
 * sample, and MNE's own test.bdf and test.edf; then the import (`--stim`,
 * detection of the usual names, the choice between an annotation and a
 * trigger value) and `inspect`'s listing.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CacheFile } from "../../src/offspect.js";
import { EdfRecording } from "../../src/recordings/edf.js";
import { ImportError } from "../../src/recordings/errors.js";
import { importRecordingSync } from "../../src/recordings/import.js";
import { formatInspection, inspectRecordingSync } from "../../src/recordings/inspect.js";
import { TriggerDecoder } from "../../src/recordings/triggers.js";
import { python, ROOT, tempDir } from "../helpers/fixtures.js";
import { type EdfSignal, writeEdf } from "./writers.js";

const REC = join(ROOT, "test", "fixtures", "recordings");
const tmp = tempDir("ocf-trig-");
afterAll(() => tmp.cleanup());

interface MneEvents {
  events: [number, number, number][];
  sfreq: number;
  error?: string;
}

/** MNE's find_events (defaults) on `channel` read as the stim channel; its error where it refuses. */
function mneEvents(path: string, channel: string): MneEvents {
  return python<MneEvents>(
    `
import json, sys, mne
mne.set_log_level("ERROR")
path, ch = sys.argv[1], sys.argv[2]
read = mne.io.read_raw_bdf if path.endswith(".bdf") else mne.io.read_raw_edf
raw = read(path, stim_channel=ch, preload=True)
try:
    ev = mne.find_events(raw, stim_channel=ch)
    print(json.dumps({"events": ev.tolist(), "sfreq": float(raw.info["sfreq"])}))
except ValueError as e:
    print(json.dumps({"events": [], "sfreq": float(raw.info["sfreq"]), "error": str(e)}))
`,
    [path, channel],
  );
}

function ours(path: string, channel: string) {
  using rec = EdfRecording.open(path);
  const t = rec.triggerEvents(rec.channels.findIndex((c) => c.label === channel));
  return { ...t, list: t.events.map((e) => [e.sample, e.from, e.value]) };
}

/** A trigger channel's values: code `v` from sample `a` to `b` (exclusive) over a background. */
function steps(n: number, background: number, spans: [number, number, number][]): Int32Array {
  const out = new Int32Array(n).fill(background);
  for (const [a, b, v] of spans) for (let i = a; i < Math.min(b, n); i++) out[i] = v;
  return out;
}

const EEG = (n: number, k: number) => Float64Array.from({ length: n }, (_, i) => Math.round(3000 * Math.sin((i + 17 * k) / 11)));

describe("trigger channels against MNE's find_events", () => {
  it("BDF Status: system bits above the trigger bits masked as MNE masks them (17 lowest bits), several values, overlapping bits, a trigger at sample 0 and at the last sample", () => {
    const spr = 256;
    const records = 12;
    const n = spr * records;
    // bits 17-23 change on their own (CMS, battery, ...): no events; bit 16 is kept by MNE's mask
    const sys = (i: number) => (i < 1000 ? 0xee0000 : 0xfc0000) - 0x1000000; // bit 23 set: negative in 24 bits
    const codes = steps(n, 0, [
      [0, 40, 5], // at sample 0: as MNE's initial_event=False, no event
      [300, 320, 1],
      [600, 610, 2],
      [610, 650, 3], // 2 -> 3: an increase, an event
      [650, 700, 1], // 3 -> 1: a decrease, no event
      [900, 930, 4],
      [930, 960, 6],
      [1500, 1510, 0x10001], // bit 16 kept by the mask
      [2000, 2030, 1],
      [2500, 2600, 255],
      [n - 1, n, 9], // at the last sample
    ]);
    const status = Float64Array.from(codes, (c, i) => c + sys(i));
    const signals: EdfSignal[] = [
      { label: "EXG1", dim: "uV", pmin: -262144, pmax: 262143, dmin: -8388608, dmax: 8388607, spr },
      { label: "Status", dim: "Boolean", pmin: -8388608, pmax: 8388607, dmin: -8388608, dmax: 8388607, spr },
    ];
    const path = join(tmp.dir, "status.bdf");
    writeEdf(path, { bdf: true, signals, data: [EEG(n, 0), status], records, duration: 1 });
    const ref = mneEvents(path, "Status");
    const mine = ours(path, "Status");
    expect(mine.list).toEqual(ref.events);
    expect(mine.rate).toBe(ref.sfreq);
    expect(ref.events.map((e) => e[2])).toEqual([1, 2, 3, 4, 6, 0x10001, 1, 255, 9]);
    expect(mine.initialValue).toBe(5);
    expect(mine.events[mine.events.length - 1]!.sample).toBe(n - 1);
  });

  it("EDF trigger channels: physical scaling, negative digital values, a channel named DIG DTRIG", () => {
    const spr = 500;
    const records = 8;
    const n = spr * records;
    const codes = steps(n, 0, [
      [100, 150, 10],
      [400, 402, 20],
      [1000, 1100, 10],
      [1100, 1200, 30],
      [2999, 3050, 1],
      [3999, 4000, 7],
    ]);
    // physical = digital + 32768 (physical 0..65535 over digital -32768..32767)
    const dig = Float64Array.from(codes, (c) => c - 32768);
    const signals: EdfSignal[] = [
      { label: "C3", dim: "uV", pmin: -3276.8, pmax: 3276.7, dmin: -32768, dmax: 32767, spr },
      { label: "DIG DTRIG", dim: "", pmin: 0, pmax: 65535, dmin: -32768, dmax: 32767, spr },
    ];
    const path = join(tmp.dir, "dtrig.edf");
    writeEdf(path, { signals, data: [EEG(n, 1), dig], records, duration: 1, annotations: [{ onset: 2.5, text: "TMS" }] });
    const ref = mneEvents(path, "DIG DTRIG");
    expect(ours(path, "DIG DTRIG").list).toEqual(ref.events);
    expect(ref.events.map((e) => e[2])).toEqual([10, 20, 10, 30, 1, 7]);
  });

  it("a trigger channel at half the data's rate is held onto the data's samples, as MNE resamples a stim channel", () => {
    const spr = 400;
    const records = 5;
    const codes = steps((spr / 2) * records, 0, [[10, 20, 3], [101, 150, 5], [399, 400, 6], [700, 710, 2]]);
    const signals: EdfSignal[] = [
      { label: "EMG", dim: "uV", pmin: -3276.8, pmax: 3276.7, dmin: -32768, dmax: 32767, spr },
      { label: "Trigger", dim: "", pmin: -32768, pmax: 32767, dmin: -32768, dmax: 32767, spr: spr / 2 },
    ];
    const path = join(tmp.dir, "half.edf");
    writeEdf(path, { signals, data: [EEG(spr * records, 2), Float64Array.from(codes)], records, duration: 1 });
    const ref = mneEvents(path, "Trigger");
    const mine = ours(path, "Trigger");
    expect(mine.list).toEqual(ref.events);
    expect(mine.rate).toBe(400);
    expect(ref.events.length).toBe(4);
  });

  it("events less than 2 samples apart: MNE refuses the channel; here they are found and reported", () => {
    const spr = 200;
    const codes = steps(spr * 2, 0, [[50, 51, 1], [51, 52, 2], [100, 140, 4]]);
    const path = join(tmp.dir, "short.edf");
    writeEdf(path, {
      signals: [{ label: "A1", dim: "uV", pmin: -100, pmax: 100, dmin: -32768, dmax: 32767, spr }, { label: "STATUS", dim: "", pmin: -32768, pmax: 32767, dmin: -32768, dmax: 32767, spr }],
      data: [EEG(spr * 2, 3), Float64Array.from(codes)],
      records: 2,
      duration: 1,
    });
    const ref = mneEvents(path, "STATUS");
    expect(ref.error).toMatch(/You have 1 events shorter than the shortest_event/);
    const mine = ours(path, "STATUS");
    expect(mine.list).toEqual([[50, 0, 1], [51, 1, 2], [100, 0, 4]]);
    expect(mine.short).toEqual([1]);
    const info = inspectRecordingSync(path);
    expect(info.events.find((e) => e.channel === "STATUS")!.notes).toEqual(["1 event(s) less than 2 samples after the one before (MNE's find_events refuses such a channel by default)"]);
  });

  for (const name of ["test.bdf", "test.edf"]) {
    it(`${name} (MNE's test data): the Status channel's events`, () => {
      const path = join(REC, name);
      const ref = mneEvents(path, "Status");
      expect(ours(path, "Status").list).toEqual(ref.events);
      expect(ref.events.length).toBe(name === "test.bdf" ? 1 : 13);
    });
  }

  it("the decoder: MNE's find_events docstring example and its consecutive='increasing' rules", () => {
    const d = new TriggerDecoder();
    d.push([0, 32, 32]);
    d.push([33, 32, 0]);
    expect(d.finish()).toEqual({ events: [{ sample: 1, from: 0, value: 32 }, { sample: 3, from: 32, value: 33 }], initialValue: 0, short: [], samples: 6 });
    const flat = new TriggerDecoder();
    flat.push([7, 7, 7]);
    expect(flat.finish().events).toEqual([]);
  });
});

describe("importing pulses from a trigger channel", () => {
  const spr = 1000;
  const records = 20;
  const n = spr * records;
  const pulses1 = [1500, 4200, 7000, 9900, 12345, 15000];
  const pulses2 = [3000, 11000];
  const codes = steps(n, 0, [...pulses1.map((p) => [p, p + 10, 1] as [number, number, number]), ...pulses2.map((p) => [p, p + 10, 2] as [number, number, number])]);
  const emg = Float64Array.from({ length: n }, (_, i) => Math.round(1000 * Math.sin(i / 7)));
  const bdf = join(tmp.dir, "session.bdf");
  writeEdf(bdf, {
    bdf: true,
    signals: [
      { label: "EDC_L", dim: "uV", pmin: -262144, pmax: 262143, dmin: -8388608, dmax: 8388607, spr },
      { label: "Status", dim: "Boolean", pmin: -8388608, pmax: 8388607, dmin: -8388608, dmax: 8388607, spr },
    ],
    // bits 17-23 set (0xFE0000), as a BioSemi Status channel's system bits often are: negative in 24 bits
    data: [emg, Float64Array.from(codes, (c) => c + 0xfe0000 - 0x1000000)],
    records,
    duration: 1,
    annotations: [{ onset: 5.5, text: "2" }, { onset: 8, text: "rest" }],
  });

  it("--stim Status -e 1: a trace at each onset MNE finds, named after the channel and value", () => {
    const ref = mneEvents(bdf, "Status");
    const out = join(tmp.dir, "stim.hdf5");
    const r = importRecordingSync(bdf, out, { channels: ["EDC_L"], stim: "Status", event: "1", preMs: 50, postMs: 100 });
    expect(r.traces).toBe(6);
    expect(r.warnings).toEqual([]);
    const cf = new CacheFile(out);
    const samples = Array.from({ length: cf.length }, (_, i) => Number(cf.getTraceAttrs(i)["event_sample"]));
    expect(samples).toEqual(ref.events.filter((e) => e[2] === 1).map((e) => e[0]));
    expect(samples).toEqual(pulses1);
    expect(cf.getTraceAttrs(0)["event_name"]).toBe("Status-1");
    expect(cf.getTraceAttrs(0)["event_time"]).toBe("1.5");
  });

  it("without --stim: the usual name is found where no annotation is the value; an annotation of the same name is an ambiguity that names the options; --no-stim takes the annotations", () => {
    const r = importRecordingSync(bdf, join(tmp.dir, "auto.hdf5"), { channels: ["EDC_L"], event: "1" });
    expect(r.traces).toBe(6);
    let e: unknown;
    try {
      importRecordingSync(bdf, join(tmp.dir, "never.hdf5"), { channels: ["EDC_L"], event: "2" });
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(ImportError);
    expect((e as ImportError).reason).toBe("EAMBIGUOUS");
    expect((e as ImportError).message).toMatch(/"2" is both an annotation and a value of trigger channel "Status": pass --stim Status for the channel, or --no-stim for the annotations/);
    const annotations = importRecordingSync(bdf, join(tmp.dir, "ann.hdf5"), { channels: ["EDC_L"], event: "2", stim: false });
    expect(annotations.traces).toBe(1);
    const stim = importRecordingSync(bdf, join(tmp.dir, "stim2.hdf5"), { channels: ["EDC_L"], event: "2", stim: "Status" });
    expect(stim.traces).toBe(2);
  });

  it("an unknown value or channel lists what there is; --stim on a BrainVision file or without --event is refused", () => {
    const msg = (f: () => unknown) => {
      try {
        f();
      } catch (x) {
        return `${(x as ImportError).reason}: ${(x as Error).message}`;
      }
      return "";
    };
    const o = join(tmp.dir, "never.hdf5");
    expect(msg(() => importRecordingSync(bdf, o, { channels: ["EDC_L"], stim: "Status", event: "7" }))).toMatch(/^ENOEVENT: .*trigger channel "Status" has no event of value "7"; its values are 1 \(6\), 2 \(2\)/);
    expect(msg(() => importRecordingSync(bdf, o, { channels: ["EDC_L"], stim: "Status" }))).toMatch(/^ENOEVENT: .*name the value of trigger channel "Status" that marks a pulse with --event; its values are 1 \(6\), 2 \(2\)/);
    expect(msg(() => importRecordingSync(bdf, o, { channels: ["EDC_L"], stim: "Trig", event: "1" }))).toMatch(/^ENOCHANNEL: .*has no channel "Trig" for --stim; its trigger channels are "Status"/);
    expect(msg(() => importRecordingSync(bdf, o, { channels: ["EDC_L"], event: "9" }))).toMatch(/^ENOEVENT: .*no annotation is "9"; its annotations are "2" \(1\), "rest" \(1\); trigger channel "Status" has values 1 \(6\), 2 \(2\) \(--stim Status\)/);
    expect(msg(() => importRecordingSync(join(REC, "test.vhdr"), o, { channels: ["C3"], stim: "Status", event: "1" }))).toMatch(/^EOPTION: .*--stim reads a trigger channel of an EDF or BDF file/);
    // the trigger channel itself is no voltage: refused as data unless asked for
    expect(msg(() => importRecordingSync(bdf, o, { channels: ["Status"], event: "1" }))).toMatch(/^EUNIT: .*channel "Status" is in "Boolean", not a voltage/);
  });

  it("inspect lists each trigger channel's values with counts and first times, as MNE finds them", () => {
    const info = inspectRecordingSync(bdf);
    const t = info.events.find((e) => e.channel === "Status")!;
    expect(t).toMatchObject({ source: 'trigger channel "Status"', total: 8, names: [{ name: "1", count: 6, first: 1.5 }, { name: "2", count: 2, first: 3 }] });
    expect(formatInspection(info)).toContain('trigger channel "Status": 8 event(s)\n  "1" x 6 (first at 1.500 s)\n  "2" x 2 (first at 3.000 s)');
    // MNE's own test.edf: the counts and first times of its find_events
    const ref = mneEvents(join(REC, "test.edf"), "Status");
    const edf = inspectRecordingSync(join(REC, "test.edf")).events.find((e) => e.channel === "Status")!;
    const values = [...new Set(ref.events.map((e) => e[2]))];
    expect(edf.names).toEqual(values.map((v) => ({ name: String(v), count: ref.events.filter((e) => e[2] === v).length, first: ref.events.find((e) => e[2] === v)![0] / ref.sfreq })));
  });
});
