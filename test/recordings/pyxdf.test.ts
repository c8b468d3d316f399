/**
 * The XDF reader against pyxdf's `load_xdf` with its default options (the
 * reference implementation; its source in test/reference/pyxdf, run with
 * Debian's python3 and numpy): on the XDF project's example files and on
 * files written here with clock resets (forward, backward, several, as in
 * a real recording whose computer restarted), jitter, gaps, deduced time
 * stamps, a rate off its nominal value, a stream that can drop samples, a
 * sample the footer does not count (pylsl#67), clock offsets that cannot be
 * fitted, and a string stream with a nominal rate. For every stream: every
 * sample's time stamp within 1e-9 s of pyxdf's, the same segments and clock
 * segments, the same effective rate, every marker's time within 1e-9 s and
 * every marker on the data sample pyxdf's time stamps put it on (numpy's
 * argmin, as offspect's find_closest_samples).
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { XdfError } from "../../src/recordings/errors.js";
import { importRecordingSync } from "../../src/recordings/import.js";
import { formatInspection, inspectRecordingSync } from "../../src/recordings/inspect.js";
import { XdfFile } from "../../src/recordings/xdf.js";
import { CacheFile } from "../../src/offspect.js";
import { PYTHON, ROOT, tempDir } from "../helpers/fixtures.js";
import { XdfWriter } from "./writers.js";
import { rng, writeSession } from "./xdf-sessions.js";

const REC = join(ROOT, "test", "fixtures", "recordings");
const LOAD = join(ROOT, "test", "reference", "pyxdf_load.py");
const tmp = tempDir("ocf-pyxdf-");
afterAll(() => tmp.cleanup());

interface RefStream {
  id: number;
  name: string;
  srate: number;
  format: string;
  time_stamps: number[];
  effective_srate: number;
  segments: [number, number][];
  clock_segments: [number, number][];
  values?: string[];
}

function pyxdf(path: string): { streams: RefStream[]; warnings: string[] } {
  return JSON.parse(execFileSync(PYTHON, [LOAD, path], { encoding: "utf8", maxBuffer: 1 << 30 })) as { streams: RefStream[]; warnings: string[] };
}

/** numpy's argmin of |stamps - t|: the first closest. */
function argmin(stamps: readonly number[], t: number): number {
  let best = 0;
  for (let i = 1; i < stamps.length; i++) if (Math.abs(stamps[i]! - t) < Math.abs(stamps[best]! - t)) best = i;
  return best;
}

/** What the comparison measured, across the files (reported at the end). */
const measured = { files: 0, samples: 0, markers: 0, eventSamples: 0, worst: 0, worstFile: "" };

/**
 * Compares every stream of `path` with pyxdf; returns our reader's open file
 * for further checks. Marker streams' events are placed on each regular
 * stream's samples and compared with pyxdf's argmin.
 */
function compare(path: string): { worst: number; ref: { streams: RefStream[]; warnings: string[] } } {
  const ref = pyxdf(path);
  using x = XdfFile.open(path);
  let worst = 0;
  const regular: { ref: RefStream; sig: ReturnType<XdfFile["signal"]> }[] = [];
  expect(x.streams.map((s) => s.id).sort()).toEqual(ref.streams.map((s) => s.id).sort());
  for (const r of ref.streams) {
    const s = x.stream(r.id);
    if (s.markers) {
      const ev = x.markerEvents(s.id);
      expect(ev.map((e) => e.name), `${r.name}: values`).toEqual(r.values);
      ev.forEach((e, i) => (worst = Math.max(worst, Math.abs(e.time - r.time_stamps[i]!))));
      measured.markers += ev.length;
      continue;
    }
    expect(s.sync.samples, `${r.name}: samples`).toBe(r.time_stamps.length);
    if (r.time_stamps.length === 0) continue;
    const sig = x.signal(s.id);
    for (let i = 0; i < sig.nSamples; i++) worst = Math.max(worst, Math.abs(sig.timeOf(i) - r.time_stamps[i]!));
    measured.samples += sig.nSamples;
    expect(sig.segments.map((g) => [g.first, g.last]), `${r.name}: segments`).toEqual(r.segments);
    expect(sig.clockSegments, `${r.name}: clock segments`).toEqual(r.clock_segments);
    expect(Math.abs(sig.effectiveRate! - r.effective_srate) / r.effective_srate, `${r.name}: effective rate`).toBeLessThan(1e-9);
    regular.push({ ref: r, sig });
  }
  for (const { ref: d, sig } of regular) {
    for (const m of ref.streams.filter((q) => q.values !== undefined)) {
      m.time_stamps.forEach((t, i) => {
        expect(sig.sampleAt(t).index, `${m.name} sample ${i} on ${d.name}`).toBe(argmin(d.time_stamps, t));
        measured.eventSamples++;
      });
    }
  }
  expect(worst, `${path}: the largest difference from pyxdf's time stamps`).toBeLessThan(1e-9);
  measured.files++;
  if (worst > measured.worst) Object.assign(measured, { worst, worstFile: path });
  return { worst, ref };
}

afterAll(() => {
  // the figures README's XDF paragraph quotes
  console.log(`pyxdf comparison: ${measured.files} files, ${measured.samples} sample time stamps, ${measured.markers} marker time stamps, ${measured.eventSamples} event samples; largest difference ${measured.worst.toExponential(2)} s (${measured.worstFile.split("/").pop()})`);
});

/** A recording like the XDF project's clock_resets.xdf: a BioSemi stream at 93.24 Hz (nominal 100) and a marker stream whose computer restarted after 142 s. */
const CLOCK_RESETS = {
  nominal: 100,
  actual: 93.24,
  channels: 8,
  jitter: 0.0005,
  offsetJitter: 2e-6,
  stretches: [
    { start: 653150.31, seconds: 142, offset: -652340.284, drift: 1e-7 },
    { start: 119.5, seconds: 156, offset: 1121.166, drift: -2e-7 },
  ],
  markers: Array.from({ length: 27 }, (_, k) => [k < 12 ? 0 : 1, 3 + (k % 12) * 11.3 + ((k * 0.37) % 1), k % 5 === 0 ? "Marker" : `M${k % 3}`] as [number, number, string]),
};

describe("the XDF project's example files", () => {
  for (const name of ["minimal.xdf", "empty_streams.xdf"]) {
    it(`${name}: every time stamp, segment and marker as pyxdf gives them`, () => {
      compare(join(REC, name));
    });
  }
});

describe("files written here", () => {
  it("a clock reset (a computer restarted), jitter, a rate 7% off its nominal value: as pyxdf, and the markers on distinct samples", () => {
    const path = join(tmp.dir, "clock_resets.xdf");
    writeSession(path, CLOCK_RESETS);
    const { ref } = compare(path);
    using x = XdfFile.open(path);
    const sig = x.signal(2);
    expect(sig.clockSegments).toHaveLength(2);
    expect(sig.effectiveRate).toBeGreaterThan(93);
    expect(sig.effectiveRate).toBeLessThan(93.5);
    expect(sig.warnings).toEqual([]);
    // the markers named "Marker" fall on distinct samples, the ones pyxdf's time stamps give
    const data = ref.streams.find((s) => s.id === 2)!;
    const marks = ref.streams.find((s) => s.id === 1)!;
    const expected = marks.time_stamps.filter((_, i) => marks.values![i] === "Marker").map((t) => argmin(data.time_stamps, t));
    expect(new Set(expected).size).toBe(expected.length);
    const out = join(tmp.dir, "clock_resets.hdf5");
    const r = importRecordingSync(path, out, { channels: ["Ch1"], event: "Marker", preMs: 50, postMs: 50 });
    expect(r.traces).toBe(expected.length);
    expect(r.warnings).toEqual([]);
    const cf = new CacheFile(out);
    expect(Array.from({ length: cf.length }, (_, i) => Number(cf.getTraceAttrs(i)["event_sample"]))).toEqual(expected);
    // inspect: a positive rate, times from the recording's start with the LSL time beside
    const info = inspectRecordingSync(path);
    expect(Math.abs(info.start! - data.time_stamps[0]!)).toBeLessThan(1e-9);
    expect(info.signals[0]!.effectiveRate).toBeCloseTo(data.effective_srate, 6);
    const text = formatInspection(info);
    expect(text).toMatch(/stream 2 "BioSemi" \[EEG\]: 8 channel\(s\) of float32, 100 Hz \(effective 93\.2\d+\), 27785 samples \([0-9.]+ s\)/);
    expect(text).toContain("clock reset(s): 1; samples 0-13239, 13240-27784");
    const firstMarker = marks.time_stamps[0]!;
    expect(text).toContain(`"Marker" x 6 (first at ${(firstMarker - info.start!).toFixed(3)} s, LSL ${firstMarker.toFixed(3)} s)`);
  });

  it("several resets, forward and backward, with gaps between them", () => {
    const path = join(tmp.dir, "resets.xdf");
    writeSession(path, {
      nominal: 500,
      jitter: 0.0002,
      offsetJitter: 1e-6,
      chunk: 25,
      stretches: [
        { start: 5000, seconds: 40, offset: -4000.25, drift: 2e-6 },
        { start: 20, seconds: 35, offset: 1015.5 },
        { start: 90000, seconds: 30, offset: -88900.125, drift: -1e-6 },
        { start: 300, seconds: 25, offset: 800.75 },
      ],
      markers: [[0, 10, "TMS"], [1, 5.5, "TMS"], [2, 20.25, "TMS"], [3, 1, "TMS"], [3, 24.9, "end"]],
    });
    const { ref } = compare(path);
    expect(ref.streams.find((s) => s.id === 2)!.clock_segments).toHaveLength(4);
  });

  it("jitter and gaps (breaks) without resets, deduced time stamps, a slow drift", () => {
    const path = join(tmp.dir, "gaps.xdf");
    const R = rng(5);
    const w = new XdfWriter(path);
    w.header(1, { name: "EMG", format: "int16", channels: [{ label: "EDC_L", unit: "microvolts" }], srate: 1000 });
    w.header(2, { name: "Markers", format: "string", channels: 1, srate: 0, type: "Markers" });
    let t = 3000;
    let next = 3000;
    for (let chunk = 0; chunk < 900; chunk++) {
      // breaks: 2 s at chunk 300, 0.4 s at chunk 500 (below the threshold: no break), 7 s at chunk 700
      if (chunk === 300) t += 2;
      if (chunk === 500) t += 0.4;
      if (chunk === 700) t += 7;
      const stamps: (number | undefined)[] = [];
      for (let k = 0; k < 40; k++) {
        t += 0.001 * (1 + 3e-5);
        stamps.push(k % 4 === 1 ? undefined : t + (R() - 0.5) * 0.0006);
      }
      w.samples(1, stamps, Array.from({ length: 40 }, (_, k) => (chunk * 40 + k) % 300));
      if (t >= next) {
        w.clockOffset(1, t, 0.0125 + 1e-6 * (t - 3000) + (R() - 0.5) * 2e-6);
        w.clockOffset(2, t, 0.0125 + 1e-6 * (t - 3000));
        next += 5;
      }
      if (chunk % 90 === 45) w.samples(2, [t - 0.0123], [[`pulse ${chunk}`]]);
    }
    w.close();
    const { ref } = compare(path);
    expect(ref.streams.find((s) => s.id === 1)!.segments).toHaveLength(3);
  });

  it("a stream that can drop samples (desc/synchronization/can_drop_samples): stamps kept per sample", () => {
    const path = join(tmp.dir, "drops.xdf");
    const writer = new XdfWriter(path);
    // the header's desc carries the flag
    writer.chunk(
      2,
      Buffer.from(
        '<?xml version="1.0"?><info><name>Video</name><type>Video</type><channel_count>1</channel_count><nominal_srate>90</nominal_srate><channel_format>float32</channel_format><desc><synchronization><can_drop_samples>true</can_drop_samples></synchronization></desc></info>',
      ),
      1,
    );
    writer.specs.set(1, { name: "Video", format: "float32", channels: 1, srate: 90 });
    writer.header(2, { name: "Markers", format: "string", channels: 1, srate: 0 });
    const stamps: number[] = [];
    for (let i = 0; i < 1800; i++) if (i % 5 !== 0) stamps.push(50 + i / 90);
    for (let i = 0; i < stamps.length; i += 30) writer.samples(1, stamps.slice(i, i + 30), stamps.slice(i, i + 30).map((_, k) => k));
    writer.clockOffset(1, 60, 0.5);
    writer.clockOffset(1, 65, 0.5);
    writer.clockOffset(1, 70, 0.5);
    writer.samples(2, [55.55, 61.01], [["a"], ["b"]]);
    writer.close();
    compare(path);
    using x = XdfFile.open(path);
    expect(x.stream(1).canDropSamples).toBe(true);
    expect(x.signal(1).effectiveRate).toBeLessThan(90);
  });

  it("a sample the footer does not count and an anomalous last clock offset (pylsl#67): both left out, as pyxdf does", () => {
    const path = join(tmp.dir, "pylsl67.xdf");
    const w = new XdfWriter(path);
    w.header(1, { name: "EMG", format: "float32", channels: 1, srate: 100 });
    for (let c = 0; c < 20; c++) {
      w.samples(1, Array.from({ length: 50 }, (_, k) => 10 + (c * 50 + k) / 100), Array.from({ length: 50 }, () => c));
      w.clockOffset(1, 10 + c * 0.5, -0.001);
    }
    w.samples(1, [20.005], [99]);
    w.clockOffset(1, 10 + 19 * 0.5 + 800000, -750000);
    w.footer(1, 10, 19.99, 1000);
    w.close();
    const { ref } = compare(path);
    expect(ref.warnings.join("\n")).toMatch(/truncating/);
    using x = XdfFile.open(path);
    expect(x.stream(1).sampleCount).toBe(1001);
    expect(x.signal(1).nSamples).toBe(1000);
    expect(x.signal(1).warnings[0]).toMatch(/the extra sample\(s\) and that offset are left out, as pyxdf does \(the pylsl#67 bug\)/);
  });

  it("clock offsets that cannot be fitted (all measured at one time) leave the samples unsynchronised, as pyxdf does, and say so", () => {
    const path = join(tmp.dir, "linalg.xdf");
    const w = new XdfWriter(path);
    w.header(1, { name: "EMG", format: "float32", channels: 1, srate: 100 });
    w.samples(1, Array.from({ length: 300 }, (_, k) => 10 + k / 100), Array.from({ length: 300 }, () => 0));
    for (const v of [0.5, 0.6, 0.7]) w.clockOffset(1, 12, v);
    w.close();
    const { ref } = compare(path);
    expect(ref.warnings.join("\n")).toMatch(/cannot be used for synchronization/);
    using x = XdfFile.open(path);
    expect(x.signal(1).timeOf(0)).toBeCloseTo(10, 9);
    expect(x.signal(1).warnings[0]).toMatch(/clock offsets 0-2 cannot be fitted/);
  });

  it("a string stream with a nominal rate is dejittered, as pyxdf does with any stream that has one", () => {
    const path = join(tmp.dir, "strings.xdf");
    const R = rng(8);
    const w = new XdfWriter(path);
    w.header(1, { name: "Labels", format: "string", channels: 1, srate: 20 });
    w.header(2, { name: "EMG", format: "double64", channels: 2, srate: 200 });
    for (let c = 0; c < 40; c++) {
      w.samples(1, Array.from({ length: 5 }, (_, k) => 7 + (c * 5 + k) / 20 + (R() - 0.5) * 0.002), Array.from({ length: 5 }, (_, k) => [`l${(c * 5 + k) % 7}`]));
      w.samples(2, Array.from({ length: 50 }, (_, k) => 7 + (c * 50 + k) / 200 + (R() - 0.5) * 0.0004), Array.from({ length: 100 }, (_, k) => k));
      if (c % 8 === 0) {
        w.clockOffset(1, 7 + c / 4, -0.02);
        w.clockOffset(2, 7 + c / 4, -0.0199);
      }
    }
    w.close();
    compare(path);
  });
});

describe("time that runs backwards", () => {
  it("where pyxdf reports a negative effective rate, the reader refuses with ETIMEORDER and inspect says why, without a rate", () => {
    const path = join(tmp.dir, "backwards.xdf");
    const w = new XdfWriter(path);
    w.header(1, { name: "EMG", format: "float32", channels: [{ label: "EDC_L" }], srate: 1000 });
    w.header(2, { name: "Markers", format: "string", channels: 1, srate: 0 });
    // each stamp 1 ms before the one before: no break (|Δt| is small), one stretch whose line runs backwards
    w.samples(1, Array.from({ length: 2000 }, (_, k) => 100 - k / 1000), Array.from({ length: 2000 }, () => 0));
    w.samples(2, [99.5], [["TMS"]]);
    w.close();
    const ref = pyxdf(path);
    expect(ref.streams.find((s) => s.id === 1)!.effective_srate).toBeLessThan(0);
    let e: unknown;
    try {
      importRecordingSync(path, join(tmp.dir, "never.hdf5"), { channels: ["EDC_L"], event: "TMS" });
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(XdfError);
    expect((e as XdfError).reason).toBe("ETIMEORDER");
    expect((e as Error).message).toMatch(/stream 1 \(EMG\): pyxdf's synchronisation and dejittering make time run backwards over samples 0 to 1999 \(-0\.001000 s per sample\), so pyxdf's times for this stream are unusable/);
    const info = inspectRecordingSync(path);
    expect(info.signals[0]!.effectiveRate).toBeUndefined();
    expect(formatInspection(info)).toMatch(/stream 1 "EMG" \[EMG\]: 1 channel\(s\) of float32, 1000 Hz, 2000 samples \(time stamps unusable: .*run backwards/);
  });
});
