/**
 * The XDF reader against the XDF project's example files (their README's
 * listing) and against files written here with known truth: every channel
 * format, variable-length lengths of every width, deduced time stamps,
 * clock offsets (pyxdf's synchronisation), jitter, breaks and clock resets;
 * and a typed error, never a crash or a hang, for malformed files.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RecordingError, XdfError } from "../../src/recordings/errors.js";
import { XdfFile } from "../../src/recordings/xdf.js";
import { robustFit } from "../../src/recordings/xdf-sync.js";
import { python, ROOT, tempDir } from "../helpers/fixtures.js";
import { XdfWriter, type XdfFormat } from "./writers.js";

const REC = join(ROOT, "test", "fixtures", "recordings");
const tmp = tempDir("ocf-xdf-");
afterAll(() => tmp.cleanup());

function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

function expectXdfError(fn: () => unknown, reason: string): XdfError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${reason}`).toBeInstanceOf(XdfError);
  expect((caught as XdfError).reason).toBe(reason);
  expect((caught as XdfError).code).toBe("EXDF");
  return caught as XdfError;
}

describe("the XDF project's example files", () => {
  it("minimal.xdf: both streams' headers, footers, samples and synchronised time stamps", () => {
    using xdf = XdfFile.open(join(REC, "minimal.xdf"));
    expect(xdf.streams.map((s) => s.id)).toEqual([0, 0x02c0ffee]);
    const [eeg, str] = xdf.streams;
    expect([eeg!.name, eeg!.type, eeg!.channelCount, eeg!.nominalSrate, eeg!.channelFormat, eeg!.sampleCount]).toEqual(["SendDataC", "EEG", 3, 10, "int16", 9]);
    expect(eeg!.header["uid"]).toBe("xdfwriter_11_int");
    expect(eeg!.footer?.["sample_count"]).toBe("9");
    expect(eeg!.clockOffsets.map((o) => [o.time, o.value])).toEqual([[6.1, -0.1], [7.1, -0.1]]);
    const sig = xdf.signal(0);
    const values = [[192, 255, 238], [12, 22, 32], [13, 23, 33], [14, 24, 34], [15, 25, 35], [12, 22, 32], [13, 23, 33], [14, 24, 34], [15, 25, 35]];
    expect(Array.from(sig.readWindow([0, 1, 2], 0, 9))).toEqual(values.flat());
    // the listed time stamps 5.1 .. 5.9, shifted by the one clock segment's offset of -0.1
    for (let i = 0; i < 9; i++) expect(sig.timeOf(i)).toBeCloseTo(5.1 + i / 10 - 0.1, 10);
    expect(sig.effectiveRate).toBeCloseTo(10, 8);
    expect([str!.name, str!.type, str!.channelFormat, str!.sampleCount]).toEqual(["SendDataString", "StringMarker", "string", 9]);
    const ev = xdf.markerEvents(str!.id);
    expect(ev[0]!.name).toMatch(/^<\?xml version="1.0"\?><info><writer>LabRecorder xdfwriter<\/writer>/);
    expect(ev.slice(1).map((e) => e.name)).toEqual(["Hello", "World", "from", "LSL", "Hello", "World", "from", "LSL"]);
    // no clock offsets: the time stamps stay as listed
    ev.forEach((e, i) => expect(e.time).toBeCloseTo(5.1 + i / 10, 10));
  });

  it("empty_streams.xdf: empty and non-empty data and marker streams", () => {
    using xdf = XdfFile.open(join(REC, "empty_streams.xdf"));
    const by = new Map(xdf.streams.map((s) => [s.id, s]));
    expect([...by.keys()].sort()).toEqual([1, 2, 3, 4]);
    expect([by.get(1)!.name, by.get(1)!.sampleCount, by.get(2)!.sampleCount, by.get(3)!.sampleCount, by.get(4)!.sampleCount]).toEqual(["ctrl", 1, 0, 0, 10]);
    expect(by.get(3)!.channels).toEqual([{ label: "ch:00", unit: "", type: "misc" }]);
    for (const s of xdf.streams) expect(s.clockOffsets).toHaveLength(7);
    const ctrl = xdf.markerEvents(1);
    expect(ctrl.map((e) => e.name)).toEqual(['{"state": 2}']);
    expect(Math.abs(ctrl[0]!.time - 91725.014004)).toBeLessThan(1e-4); // the offsets are about -2e-5 s
    expect(xdf.markerEvents(2)).toEqual([]);
    expectXdfError(() => xdf.signal(3), "EEMPTY");
    const sig = xdf.signal(4);
    expect(Array.from(sig.readWindow([0], 0, 10))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (let i = 0; i < 10; i++) expect(Math.abs(sig.timeOf(i) - (91725.213948 + i))).toBeLessThan(1e-4);
  });
});

describe("files written here", () => {
  const FORMATS: XdfFormat[] = ["int8", "int16", "int32", "int64", "float32", "double64"];
  it("every channel format, length fields of 1, 4 and 8 bytes, deduced time stamps, boundaries, footers", () => {
    const path = join(tmp.dir, "formats.xdf");
    const w = new XdfWriter(path);
    FORMATS.forEach((f, k) => w.header(k + 1, { name: `s_${f}`, format: f, channels: [{ label: "a" }, { label: "b" }], srate: 100 }));
    w.header(10, { name: "markers", format: "string", channels: 2, srate: 0, type: "Markers" });
    const truth = (k: number, i: number, c: number) => {
      const v = ((i * 37 + c * 11 + k) % 200) - 100;
      return FORMATS[k] === "float32" || FORMATS[k] === "double64" ? v + 0.25 : v;
    };
    const widths = [0, 1, 4, 8] as const;
    for (let chunk = 0; chunk < 4; chunk++) {
      w.lengthWidth = chunk === 0 ? 0 : widths[chunk]!;
      FORMATS.forEach((_, k) => {
        const stamps = Array.from({ length: 5 }, (_, j) => (j % 2 === 0 ? 10 + (chunk * 5 + j) / 100 : undefined));
        const values = Array.from({ length: 10 }, (_, q) => truth(k, chunk * 5 + (q >> 1), q & 1));
        w.samples(k + 1, stamps, values, widths[(chunk + k) % 4]!);
      });
      w.samples(10, [10 + chunk], [[`m${chunk}`, "ü€"]], widths[chunk]!);
      w.boundary();
    }
    FORMATS.forEach((_, k) => w.footer(k + 1, 10, 10.19, 20));
    w.close();
    using xdf = XdfFile.open(path);
    expect(xdf.streams).toHaveLength(7);
    expect(xdf.fileHeader["datetime"]).toBe("2020-05-17T18:02:00+0200");
    expect(xdf.recordingDate).toBe("2020-05-17 18:02:00");
    FORMATS.forEach((f, k) => {
      const sig = xdf.signal(k + 1);
      expect(sig.stream.channelFormat).toBe(f);
      expect(sig.nSamples).toBe(20);
      const data = sig.readWindow([0, 1], 0, 20);
      for (let i = 0; i < 20; i++) for (let c = 0; c < 2; c++) expect(data[i * 2 + c]).toBe(truth(k, i, c));
      for (let i = 0; i < 20; i++) expect(sig.timeOf(i)).toBeCloseTo(10 + i / 100, 9);
      expect(sig.stream.footer?.["sample_count"]).toBe("20");
    });
    expect(xdf.markerEvents(10).map((e) => [e.name, e.time])).toEqual([["m0", 10], ["m1", 11], ["m2", 12], ["m3", 13]]);
  });

  /** An EMG stream of `n` samples at `rate` with jittered raw stamps and clock offsets value = a + b t. */
  function session(path: string, opts: { n: number; rate: number; chunk: number; a: number; b: number; gapAt?: number; resetAt?: number }) {
    const R = rng(7);
    const w = new XdfWriter(path);
    w.header(1, { name: "EMG", format: "float32", channels: [{ label: "EDC_L", unit: "microvolts" }, { label: "FDI_L", unit: "mV" }], srate: opts.rate });
    let lastOffset = -Infinity;
    const raw: number[] = [];
    for (let i0 = 0; i0 < opts.n; i0 += opts.chunk) {
      const m = Math.min(opts.chunk, opts.n - i0);
      const stamps: number[] = [];
      const values: number[] = [];
      for (let i = i0; i < i0 + m; i++) {
        let t = 100 + i / opts.rate + (opts.gapAt !== undefined && i >= opts.gapAt ? 3 : 0);
        if (opts.resetAt !== undefined && i >= opts.resetAt) t -= 80; // the clock restarted
        t += (R() - 0.5) * 0.0004;
        stamps.push(t);
        raw.push(t);
        values.push(Math.fround(Math.sin(i / 10)), Math.fround(Math.cos(i / 10) / 1000));
      }
      w.samples(1, stamps, values);
      const t = stamps[stamps.length - 1]!;
      if (t - lastOffset >= 5 || (opts.resetAt !== undefined && i0 + m > opts.resetAt && lastOffset > t)) {
        const reset = opts.resetAt !== undefined && i0 + m > opts.resetAt;
        w.clockOffset(1, t, (reset ? opts.a + 1000 : opts.a) + opts.b * t + (R() - 0.5) * 1e-6);
        lastOffset = t;
      }
    }
    w.close();
    return raw;
  }

  it("synchronises with the clock offsets and dejitters: known truth", () => {
    const path = join(tmp.dir, "sync.xdf");
    const rate = 1000;
    session(path, { n: 60000, rate, chunk: 32, a: 0.5, b: 1e-5 });
    using xdf = XdfFile.open(path);
    const s = xdf.stream(1);
    expect(s.clockOffsets.length).toBeGreaterThan(10);
    expect(s.checkpoints.length).toBeGreaterThan(10); // a seek point every 64 KiB
    const seg = s.sync.ranges;
    expect(seg).toHaveLength(1);
    expect(seg[0]!.intercept).toBeCloseTo(0.5, 4);
    expect(seg[0]!.slope).toBeCloseTo(1e-5, 6);
    const sig = xdf.signal(1);
    expect(sig.segments).toHaveLength(1);
    for (const i of [0, 1, 12345, 59999]) {
      const rawTrue = 100 + i / rate;
      expect(Math.abs(sig.timeOf(i) - (rawTrue + 0.5 + 1e-5 * rawTrue))).toBeLessThan(2e-5);
    }
    expect(sig.effectiveRate).toBeCloseTo(rate * (1 / (1 + 1e-5)), 2);
    expect(sig.sampleAt(sig.timeOf(4321) + 0.0003).index).toBe(4321);
    expect(sig.sampleAt(0).index).toBe(0);
    expect(sig.sampleAt(1e9).index).toBe(59999);
    // windows anywhere, in and out of order, equal the written values; microvolts and millivolts to µV
    for (const start of [0, 31, 32, 30000, 59000, 17, 45000]) {
      const win = sig.readWindow([1, 0], start, 1000);
      for (let k = 0; k < 1000; k += 97) {
        expect(win[k * 2 + 1]).toBe(Math.fround(Math.sin((start + k) / 10)));
        expect(win[k * 2]).toBeCloseTo(Math.fround(Math.cos((start + k) / 10) / 1000) * 1000, 9);
      }
    }
    expect(sig.channels.map((c) => [c.label, c.gain, c.microvolts])).toEqual([["EDC_L", 1, true], ["FDI_L", 1000, true]]);
  });

  it("breaks in a regular stream start new dejittering segments", () => {
    const path = join(tmp.dir, "gap.xdf");
    session(path, { n: 20000, rate: 1000, chunk: 50, a: 0, b: 0, gapAt: 10000 });
    using xdf = XdfFile.open(path);
    const sig = xdf.signal(1);
    expect(sig.segments.map((s) => [s.first, s.last])).toEqual([[0, 9999], [10000, 19999]]);
    expect(sig.timeOf(10000) - sig.timeOf(9999)).toBeCloseTo(3.001, 3);
    expect(sig.sampleAt(sig.timeOf(9999) + 1).index).toBe(9999); // in the gap, nearer the first segment's end
    expect(sig.sampleAt(sig.timeOf(10000) - 1).index).toBe(10000);
  });

  it("a clock reset splits the synchronisation into segments", () => {
    const path = join(tmp.dir, "reset.xdf");
    session(path, { n: 60000, rate: 1000, chunk: 50, a: 0.5, b: 0, resetAt: 30000 });
    using xdf = XdfFile.open(path);
    const seg = xdf.stream(1).sync.ranges;
    expect(seg).toHaveLength(2);
    expect(seg[0]!.intercept).toBeCloseTo(0.5, 4);
    expect(seg[1]!.intercept).toBeCloseTo(1000.5, 3);
    // the samples after the reset are closer in time to the next range's first clock offset: they are its samples
    const sig = xdf.signal(1);
    expect(sig.clockSegments).toEqual([[0, 29999], [30000, 59999]]);
    expect(sig.segments.map((g) => [g.first, g.last])).toEqual([[0, 29999], [30000, 59999]]);
  });

  it("robustFit equals pyxdf's _robust_fit (its source in test/reference/pyxdf) and resists a moderate outlier", () => {
    const x = Array.from({ length: 50 }, (_, i) => 1000 + 5 * i);
    const cases = [x.map((t) => 0.25 + 2e-6 * t), x.map((t, i) => 0.25 + 2e-6 * t + (i === 20 ? 0.0005 : 0)), x.map((t, i) => 0.25 + 2e-6 * t + (i === 20 ? 4.75 : 0))];
    const ref = python<number[][]>(
      `
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[2])
import pyxdf
x, cases = json.loads(sys.argv[1])
x = np.array(x, float); w = 1e-4
out = []
for y in cases:
    c = pyxdf._robust_fit(np.column_stack([np.ones(len(x)), x / w]), np.array(y, float) / w)
    out.append([float(c[0] * w), float(c[1])])
print(json.dumps(out))
`,
      [JSON.stringify([x, cases]), join(ROOT, "test", "reference", "pyxdf", "src", "pyxdf")],
    );
    cases.forEach((y, k) => {
      const [a, b] = robustFit(x, y)!;
      // the fitted offsets at the measurement times agree to rounding (the intercept at t = 0 extrapolates far)
      for (const t of x) expect(Math.abs(a + b * t - (ref[k]![0]! + ref[k]![1]! * t))).toBeLessThan(1e-12);
    });
    const [a, b] = robustFit(x, cases[1]!)!;
    expect(a).toBeCloseTo(0.25, 4);
    expect(b).toBeCloseTo(2e-6, 7);
    // all times equal: numpy's Cholesky fails (pyxdf's LinAlgError)
    expect(robustFit([3, 3, 3], [1, 2, 3])).toBeUndefined();
  });
});

describe("malformed files give typed errors", () => {
  const base = join(tmp.dir, "base.xdf");
  const w = new XdfWriter(base);
  w.header(1, { name: "EMG", format: "int16", channels: [{ label: "EDC_L" }], srate: 100 });
  w.header(2, { name: "markers", format: "string", channels: 1, srate: 0 });
  for (let c = 0; c < 5; c++) {
    w.samples(1, Array.from({ length: 10 }, (_, i) => c + i / 100), Array.from({ length: 10 }, (_, i) => i));
    w.samples(2, [c], [[`pulse ${c}`]]);
    w.clockOffset(1, c, 0.01);
  }
  w.footer(1, 0, 4.09, 50);
  w.close();
  const bytes = readFileSync(base);
  /** Chunk boundaries, to tell a cut inside a chunk from one between chunks. */
  const boundaries = new Set<number>();
  for (let p = 4; p < bytes.length; ) {
    boundaries.add(p);
    const nb = bytes[p]!;
    const len = nb === 1 ? bytes[p + 1]! : bytes.readUInt32LE(p + 1);
    p += 1 + nb + len;
  }
  const variant = (name: string, f: (b: Buffer) => Buffer) => {
    const p = join(tmp.dir, name);
    writeFileSync(p, f(Buffer.from(bytes)));
    return p;
  };
  const open = (p: string) => {
    using x = XdfFile.open(p);
    const sig = x.signal(1);
    sig.readWindow([0], 0, sig.nSamples);
  };

  it("truncated anywhere inside a chunk: ETRUNCATED", () => {
    open(base);
    let inside = 0;
    for (let cut = 5; cut < bytes.length; cut += 3) {
      const p = variant("cut.xdf", (b) => b.subarray(0, cut));
      if (boundaries.has(cut)) continue;
      inside++;
      const e = expectXdfError(() => open(p), "ETRUNCATED");
      expect(e.offset).toBeLessThanOrEqual(cut);
    }
    expect(inside).toBeGreaterThan(100);
  });
  it("not XDF, a length field of 3 bytes, a chunk shorter than its tag", () => {
    expectXdfError(() => open(variant("magic.xdf", (b) => (b.write("XDX", 0), b))), "ENOTXDF");
    expectXdfError(() => open(variant("nb.xdf", (b) => ((b[4] = 3), b))), "EBADLENGTH");
    expectXdfError(() => open(variant("short.xdf", (b) => Buffer.concat([b.subarray(0, 4), Buffer.from([1, 1, 0])]))), "EBADLENGTH");
  });
  it("a samples chunk whose count does not fit its length, a wrong clock offset length", () => {
    const samplesAt = [...boundaries].find((p) => bytes.readUInt16LE(p + 2) === 3 && bytes.readUInt32LE(p + 4) === 1)!;
    // the sample count sits after the stream id: 1-byte width, then the count
    expectXdfError(() => open(variant("count.xdf", (b) => ((b[samplesAt + 9] = 11), b))), "EBADCHUNK");
    expectXdfError(() => open(variant("count0.xdf", (b) => ((b[samplesAt + 9] = 9), b))), "EBADCHUNK");
    const marksAt = [...boundaries].find((p) => bytes.readUInt16LE(p + 2) === 3 && bytes.readUInt32LE(p + 4) === 2)!;
    expectXdfError(() => open(variant("mcount.xdf", (b) => ((b[marksAt + 9] = 2), b))), "EBADCHUNK");
    const clockAt = [...boundaries].find((p) => bytes.readUInt16LE(p + 2) === 4)!;
    expectXdfError(
      () => open(variant("clock.xdf", (b) => Buffer.concat([b.subarray(0, clockAt), Buffer.from([1, 23]), b.subarray(clockAt + 2, clockAt + 24), Buffer.from([0]), b.subarray(clockAt + 24)]))),
      "EBADLENGTH",
    );
  });
  it("a broken, incomplete or unknown stream header; samples before the header", () => {
    const replace = (from: string, to: string) => (b: Buffer) => {
      const s = b.toString("latin1").replace(from, to);
      return Buffer.from(s, "latin1");
    };
    expectXdfError(() => open(variant("xml.xdf", replace("<channel_count>1</channel_count>", "<channel_count>1</channel_cnt>!!!!"))), "EBADHEADER");
    expectXdfError(() => open(variant("fmt.xdf", replace("<channel_format>int16</channel_format>", "<channel_format>int12</channel_format>"))), "EBADHEADER");
    expectXdfError(() => open(variant("nch.xdf", replace("<channel_count>1</channel_count>", "<channel_count>0</channel_count>"))), "EBADHEADER");
    expectXdfError(() => open(variant("rate.xdf", replace("<nominal_srate>100</nominal_srate>", "<nominal_srate>-1e0</nominal_srate>"))), "EBADHEADER");
    const order = join(tmp.dir, "order.xdf");
    const w2 = new XdfWriter(order);
    w2.specs.set(1, { name: "EMG", format: "int16", channels: 1, srate: 100 });
    w2.samples(1, [0], [1]);
    w2.close();
    expectXdfError(() => open(order), "EBADCHUNK");
  });
  it("random damage: every outcome is a result or a RecordingError (a hang would hit the test's timeout)", () => {
    const R = rng(2024);
    let errors = 0;
    for (let k = 0; k < 400; k++) {
      const b = Buffer.from(bytes);
      const flips = 1 + Math.floor(R() * 4);
      for (let f = 0; f < flips; f++) b[4 + Math.floor(R() * (b.length - 4))] = Math.floor(R() * 256);
      const p = join(tmp.dir, "fuzz.xdf");
      writeFileSync(p, b);
      try {
        using x = XdfFile.open(p);
        for (const s of x.streams) {
          if (s.markers) x.markerEvents(s.id);
          else if (s.sampleCount > 0 && s.nominalSrate > 0) {
            const sig = x.signal(s.id);
            sig.readWindow([0], 0, sig.nSamples);
          }
        }
      } catch (e) {
        if (!(e instanceof RecordingError)) throw e;
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(50);
  });
});
