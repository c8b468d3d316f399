/**
 * pyxdf's own tests (test/reference/pyxdf/test: clock sync, clock resets,
 * jitter removal, breaks, segment indices, truncated offsets) restated
 * against this reader's synchronisation (src/recordings/xdf-sync.ts), case
 * by case, with their inputs and expected values. Where a pyxdf test draws
 * random numbers (numpy's default_rng(9)), numpy draws them here too.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { XdfFile } from "../../src/recordings/xdf.js";
import { type ClockOffset, clockRanges, ClockSync, corruptedLastOffset, Dejitter, detectClockResets, effectiveRate, segmentIndices, type SyncOptions, timeAt } from "../../src/recordings/xdf-sync.js";
import { python, tempDir } from "../helpers/fixtures.js";
import { XdfWriter } from "./writers.js";

const tmp = tempDir("ocf-pyxdf-restated-");
afterAll(() => tmp.cleanup());

/** pyxdf's `_clock_sync` on one stream: the synchronised stamps and the clock segments. */
function clockSync(stamps: readonly number[], times: readonly number[], values: readonly number[], options: SyncOptions = {}): { stamps: number[]; segments: [number, number][]; usable: boolean[] } {
  const offsets: ClockOffset[] = times.map((t, i) => ({ time: t, value: values[i]! }));
  if (stamps.length === 0) return { stamps: [], segments: [], usable: [] };
  const ranges = clockRanges(offsets, options);
  const sync = new ClockSync(offsets, ranges);
  const out = stamps.map((t) => sync.apply(t));
  return { stamps: out, segments: sync.segments, usable: ranges.map((r) => r.usable) };
}

/** pyxdf's `_jitter_removal` on one stream. */
function jitterRemoval(stamps: readonly number[], srate: number, thresholdSeconds: number, thresholdSamples: number) {
  const dj = new Dejitter(srate, thresholdSeconds, thresholdSamples);
  stamps.forEach((t, i) => dj.push(i, t));
  const lines = dj.finish();
  return { segments: lines.map((l) => [l.first, l.last]), stamps: stamps.map((_, i) => timeAt(lines, i)), rate: effectiveRate(lines) };
}

/** The breaks pyxdf's `_detect_breaks` finds, as the indices i of a break between stamps i and i + 1. */
function breaks(stamps: readonly number[], tdiff: number, thresholdSeconds: number, thresholdSamples: number): number[] {
  const { segments } = jitterRemoval(stamps, 1 / tdiff, thresholdSeconds, thresholdSamples);
  return segments.slice(1).map(([first]) => first! - 1);
}

/** numpy's arange: ceil((b - a) / step) values, the i-th a + i x ((a + step) - a). */
const range = (a: number, b: number, step = 1) => {
  const delta = a + step - a;
  return Array.from({ length: Math.max(0, Math.ceil((b - a) / step)) }, (_, i) => a + i * delta);
};

function expectClose(actual: readonly number[], expected: readonly number[], atol: number): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => expect(Math.abs(a - expected[i]!), `item ${i}: ${a} vs ${expected[i]}`).toBeLessThanOrEqual(atol));
}

/** numpy's default_rng(seed).standard_normal(n), drawn by numpy. */
function normals(seed: number, ...counts: number[]): number[][] {
  return python<number[][]>(`
import json, sys, numpy as np
rng = np.random.default_rng(int(sys.argv[1]))
print(json.dumps([rng.standard_normal(int(n)).tolist() for n in sys.argv[2:]]))
`, [String(seed), ...counts.map(String)]);
}

describe("pyxdf's test_clock_sync.py", () => {
  for (const handleClockResets of [true, false]) {
    for (let n = 0; n < 5; n++) {
      it(`test_sync_empty_stream (offsets ${n}, resets ${handleClockResets}) and test_sync_empty_offsets (stamps ${n})`, () => {
        expect(clockSync([], range(0, n * 5, 5), range(0, n).map(() => 0), { handleClockResets })).toEqual({ stamps: [], segments: [], usable: [] });
        const stamps = range(0, n);
        expect(clockSync(stamps, [], [], { handleClockResets })).toMatchObject({ stamps, segments: [] });
      });
    }
    for (let n = 2; n < 5; n++) {
      for (const value of [-10, -5, 0, 5, 10]) {
        it(`test_sync_no_resets and _bounds (offsets ${n}, value ${value}, resets ${handleClockResets})`, () => {
          let stamps = range(0, (n - 1) * 5);
          let r = clockSync(stamps, range(0, (n - 1) * 5 + 1, 5), range(0, n).map(() => value), { handleClockResets });
          expectClose(r.stamps, stamps.map((t) => t + value), 1e-14);
          expect(r.segments).toEqual([[0, stamps.length - 1]]);
          if (n < 4) {
            stamps = range(-5, n * 5);
            r = clockSync(stamps, range(0, n * 5, 5), range(0, n).map(() => value), { handleClockResets });
            expectClose(r.stamps, stamps.map((t) => t + value), 1e-14);
            expect(r.segments).toEqual([[0, stamps.length - 1]]);
          }
        });
      }
    }
    for (let n = 2; n < 4; n++) {
      it(`test_sync_no_resets_bounds_jitter (offsets ${n}, resets ${handleClockResets})`, () => {
        const [tj, vj] = normals(9, n, n);
        for (const value of [-10, -5, 0, 5, 10]) {
          const stamps = [...range(-5, 0), ...range(0, n * 5).map(() => 0), ...range(1, 6)];
          const times = range(0, n * 5, 5).map((t, i) => t + tj![i]! * 0.0001);
          const values = vj!.map((v) => value + v * 0.0001);
          const r = clockSync(stamps, times, values, { handleClockResets });
          expectClose(r.stamps, stamps.map((t) => t + value), 1e-3);
          expect(r.segments).toEqual([[0, stamps.length - 1]]);
        }
      });
    }
  }

  const thresholds = { resetThresholdStds: 0, resetThresholdSeconds: 4, resetThresholdOffsetStds: 0, resetThresholdOffsetSeconds: 9 };
  it("test_clock_sync_error_keep_segment: offsets that cannot be fitted leave their samples as they are", () => {
    const r = clockSync(range(0, 10), [0, 0, 10, 15], [0, 0, 10, 10], thresholds);
    expect(r.usable).toEqual([false, true]);
    expectClose(r.stamps, [0, 1, 2, 3, 4, 15, 16, 17, 18, 19], 1e-7);
    expect(r.segments).toEqual([[0, 4], [5, 9]]);
  });
  it("test_clock_sync_error_skip_segment: a range without samples is skipped", () => {
    const r = clockSync(range(5, 15), [0, 0, 10, 15], [0, 0, 10, 10], thresholds);
    expectClose(r.stamps, range(15, 25), 1e-7);
    expect(r.segments).toEqual([[0, 9]]);
  });

  const cases: [string, number[], number[], number[], number[], [number, number][]][] = [
    ["test_sync_clock_jumps_forward_break_at_reset", [1, 2, 3, 4, 5, 17, 18, 19, 20, 21], [1, 6, 17, 22], [-1, -1, -12, -12], range(0, 10), [[0, 4], [5, 9]]],
    ["test_sync_clock_jumps_forward_break_between_reset", range(4, 20), [1, 6, 17, 22], [-1, -1, -3, -3], [...range(3, 11), ...range(9, 17)], [[0, 7], [8, 15]]],
    ["test_sync_clock_jumps_backward_break_at_reset", [17, 18, 19, 20, 21, 1, 2, 3, 4, 5], [17, 22, 1, 6], [-12, -12, 9, 9], range(5, 15), [[0, 4], [5, 9]]],
    ["test_sync_clock_jumps_backward_break_between_reset", [...range(17, 25), ...range(1, 9)], [17, 22, 1, 6], [-12, -12, 9, 9], [...range(5, 13), ...range(10, 18)], [[0, 7], [8, 15]]],
  ];
  for (const [name, stamps, times, values, expected, segments] of cases) {
    it(name, () => {
      const r = clockSync(stamps, times, values);
      expectClose(r.stamps, expected, 1e-13);
      expect(r.segments).toEqual(segments);
    });
  }

  const jumps: [string, [number, number][][], boolean][] = [
    ["forward", [[[0, 1], [3, 4]], [[0, 3], [5, 8]], [[0, 4], [6, 10], [12, 16]]], true],
    ["backward", [[[3, 4], [0, 1]], [[5, 8], [0, 3]], [[12, 16], [6, 10], [0, 4]]], false],
    ["forward_backward", [[[3, 4], [0, 1], [3, 4]], [[5, 8], [0, 3], [5, 8]], [[12, 16], [6, 10], [0, 4], [6, 10], [12, 16]]], true],
  ];
  for (const [name, offsetSets, lowerThreshold] of jumps) {
    for (const clockOffsets of offsetSets) {
      for (const tdiff of [1, 1 / 10, 1 / 100]) {
        for (const clockTdiff of [5, 10]) {
          it(`test_sync_clock_jumps_${name}_tdiffs (${JSON.stringify(clockOffsets)}, tdiff ${tdiff}, clock ${clockTdiff})`, () => {
            const perRange = clockOffsets.map(([a, b]) => b - a + 1);
            const resetTimes = clockOffsets.map(([a, b]) => [a * clockTdiff, (b + 1) * clockTdiff] as const);
            const times = resetTimes.flatMap(([a, b]) => range(a, b, clockTdiff));
            const values = resetTimes.flatMap(([a], k) => Array.from({ length: perRange[k]! }, () => -a));
            const stamps = resetTimes.flatMap(([a, b]) => range(a, b, tdiff));
            const expected = perRange.flatMap((n) => range(0, clockTdiff * n, tdiff));
            const segments: [number, number][] = [];
            let start = 0;
            for (const n of perRange) {
              const len = range(0, clockTdiff * n, tdiff).length;
              segments.push([start, start + len - 1]);
              start += len;
            }
            const r = clockSync(stamps, times, values, lowerThreshold ? { resetThresholdSeconds: clockTdiff - 1 } : {});
            // pyxdf asks 1e-13, which its own result misses on Debian's numpy/OpenBLAS by up to 2.6e-11 (the fit's rounding): 1e-10 here
            expectClose(r.stamps, expected, 1e-10);
            expect(r.segments).toEqual(segments);
          });
        }
      }
    }
  }
});

describe("pyxdf's test_detect_clock_resets.py", () => {
  it("test_detect_resets_length_error: fewer than two offsets", () => {
    expect(() => detectClockResets([], [])).toThrow(RangeError);
    expect(() => detectClockResets([0], [0])).toThrow(RangeError);
  });
  it("test_clock_no_resets and _with_jitter", () => {
    for (let n = 2; n < 10; n++) expect(detectClockResets(range(0, n * 5, 5), range(0, n).map(() => 0))).toEqual([[0, n - 1]]);
    const [tj, vj] = normals(9, 5, 5);
    expect(detectClockResets(range(0, 25, 5).map((t, i) => t + tj![i]! * 0.02), vj!.map((v) => v * 0.02))).toEqual([[0, 4]]);
  });
  const opts = (a: number, b: number, c: number, d: number): SyncOptions => ({ resetThresholdStds: a, resetThresholdSeconds: b, resetThresholdOffsetStds: c, resetThresholdOffsetSeconds: d });
  it("test_clock_jumps_forward and _with_jitter and _with_jitter_eq_len", () => {
    const times = [-6, 5, 10, 15, 20];
    const values = [6, 0, 0, 0, 0];
    const plain: [number, number, number, number, [number, number][]][] = [
      [5, 5, 10, 5, [[0, 0], [1, 4]]],
      [2.71e16, 5, 10, 5, [[0, 4]]],
      [5, 6, 10, 5, [[0, 4]]],
      [5, 5, 2.71e16, 5, [[0, 4]]],
      [5, 5, 10, 6, [[0, 4]]],
    ];
    for (const [a, b, c, d, expected] of plain) expect(detectClockResets(times, values, opts(a, b, c, d))).toEqual(expected);
    const [tj, vj] = normals(9, 5, 5);
    const jt = range(0, 25, 5).map((t, i) => t + tj![i]! * 0.02);
    const jv = vj!.map((v) => v * 0.02);
    jt[0] = -6;
    jv[0] = 6;
    const jittered: [number, number, number, number, [number, number][]][] = [
      [5, 5, 10, 5, [[0, 0], [1, 4]]],
      [142, 5, 10, 5, [[0, 4]]],
      [5, 6, 10, 5, [[0, 4]]],
      [5, 5, 1285, 5, [[0, 4]]],
      [5, 5, 10, 6, [[0, 4]]],
    ];
    for (const [a, b, c, d, expected] of jittered) expect(detectClockResets(jt, jv, opts(a, b, c, d))).toEqual(expected);
    const [tj2, vj2] = normals(9, 10, 10);
    const et = range(0, 50, 5).map((t, i) => t + (i >= 5 ? 6 : 0) + tj2![i]! * 0.02);
    const ev = vj2!.map((v, i) => v * 0.02 - (i >= 5 ? 6 : 0));
    const eqLen: [number, number, number, number, [number, number][]][] = [
      [5, 5, 10, 5, [[0, 4], [5, 9]]],
      [312, 5, 10, 5, [[0, 9]]],
      [5, 6, 10, 5, [[0, 9]]],
      [5, 5, 101, 5, [[0, 9]]],
      [5, 5, 10, 6, [[0, 9]]],
    ];
    for (const [a, b, c, d, expected] of eqLen) expect(detectClockResets(et, ev, opts(a, b, c, d))).toEqual(expected);
  });
  it("test_clock_jumps_backward and _with_jitter and _with_jitter_eq_len: negative intervals are always resets", () => {
    const inf = opts(Infinity, Infinity, Infinity, Infinity);
    expect(detectClockResets([6, 5, 10, 15, 20], [-6, 0, 0, 0, 0], inf)).toEqual([[0, 0], [1, 4]]);
    const [tj, vj] = normals(9, 5, 5);
    const jt = range(0, 25, 5).map((t, i) => t + tj![i]! * 0.02);
    const jv = vj!.map((v) => v * 0.02);
    jt[0] = 6;
    jv[0] = -6;
    expect(detectClockResets(jt, jv, inf)).toEqual([[0, 0], [1, 4]]);
    const [tj2, vj2] = normals(9, 10, 10);
    const et = range(0, 50, 5).map((t, i) => t - (i >= 5 ? 6 : 0) + tj2![i]! * 0.02);
    const ev = vj2!.map((v, i) => v * 0.02 + (i >= 5 ? 6 : 0));
    expect(detectClockResets(et, ev, inf)).toEqual([[0, 4], [5, 9]]);
  });
});

describe("pyxdf's test_jitter_removal.py and test_detect_breaks.py", () => {
  it("test_jitter_removal: one segment, the stamps kept, the rate", () => {
    for (const [a, b] of [[1, 11], [-10, 0], [-10, 11]] as const) {
      const stamps = range(a, b);
      const r = jitterRemoval(stamps, 1, 1, 1);
      expect(r.segments).toEqual([[0, stamps.length - 1]]);
      expectClose(r.stamps, stamps, 1e-14);
      expect(r.rate).toBeCloseTo(1, 12);
    }
  });
  it("test_jitter_removal_two_segments and _non_monotonic", () => {
    const cases: [[number, number][], number[], number][] = [
      [[[0, 9], [10, 19]], [0, 11], 1e-14],
      [[[0, 9], [10, 19]], [-10, 1], 1e-14],
      [[[0, 19], [20, 39]], [-10, 11], 1e-14],
      [[[0, 9], [10, 19]], [11, 0], 1e-13],
      [[[0, 9], [10, 19]], [1, -10], 1e-13],
      [[[0, 19], [20, 39]], [11, -10], 1e-13],
    ];
    for (const [segments, starts, atol] of cases) {
      const stamps = segments.flatMap(([a, b], k) => range(starts[k]!, starts[k]! + (b - a) + 1));
      const r = jitterRemoval(stamps, 1, 1, 1);
      expect(r.segments).toEqual(segments);
      expectClose(r.stamps, stamps, atol);
      expect(r.rate).toBeCloseTo(1, 12);
    }
  });
  it("test_jitter_removal_glitch (an xfail in pyxdf): a segment that runs backwards is found, so the reader refuses to give it times", () => {
    const stamps = [1, 2, 3, 4, 6, 5, 7, 8, 9, 10];
    const dj = new Dejitter(1, 1, 1);
    stamps.forEach((t, i) => dj.push(i, t));
    const lines = dj.finish();
    expect(lines.map((l) => [l.first, l.last])).toEqual([[0, 3], [4, 5], [6, 9]]);
    expect(lines[1]!.slope).toBeLessThan(0);
  });
  it("test_jitter_removal_with_jitter: the true stamps within 1e-9 s + 1e-5 relative, the nominal rate", () => {
    for (const [a, b] of [[1, 1001], [-1000, 0], [-1000, 1001]] as const) {
      const orig = range(a, b, 0.002);
      const n = orig.length;
      const [noise] = normals(9, n);
      const stamps = orig.map((t, i) => t + noise![i]! * 0.002 * 0.001);
      const r = jitterRemoval(stamps, 500, 1, 500);
      expect(r.segments).toEqual([[0, n - 1]]);
      r.stamps.forEach((t, i) => expect(Math.abs(t - orig[i]!)).toBeLessThanOrEqual(1e-9 + 1e-5 * Math.abs(orig[i]!)));
      expect(r.rate).toBeCloseTo(500, 6);
    }
  });
  it("test_jitter_removal_can_drop_samples_preserves_timing: a stream that may drop samples keeps its stamps (an XDF file with the flag)", () => {
    const path = join(tmp.dir, "drop.xdf");
    const w = new XdfWriter(path);
    w.chunk(
      2,
      Buffer.from(
        '<?xml version="1.0"?><info><name>HMD</name><channel_count>1</channel_count><nominal_srate>90</nominal_srate><channel_format>double64</channel_format><desc><synchronization><can_drop_samples>true</can_drop_samples></synchronization></desc></info>',
      ),
      1,
    );
    w.specs.set(1, { name: "HMD", format: "double64", channels: 1, srate: 90 });
    const stamps = range(0, 1800).filter((i) => i % 5 !== 0).map((i) => i * (1 / 90));
    w.samples(1, stamps, stamps);
    w.close();
    using x = XdfFile.open(path);
    const sig = x.signal(1);
    expect(sig.segments).toEqual([{ first: 0, last: stamps.length - 1 }]);
    stamps.forEach((t, i) => expect(Math.abs(sig.timeOf(i) - t)).toBeLessThanOrEqual(1e-14));
    expect(sig.effectiveRate).toBeLessThan(90);
  });
  it("test_detect_breaks: |Δt| above the threshold, forwards or backwards", () => {
    for (const reverse of [false, true]) {
      const rev = (a: number[]) => (reverse ? [...a].reverse() : a);
      for (const seconds of [2, 1]) expect(breaks(rev(range(-5, 5)), 1, seconds, 0)).toEqual([]);
      for (const samples of [2, 1]) expect(breaks(rev(range(-5, 5)), 1, 0, samples)).toEqual([]);
      expect(breaks(rev([-2, -2, -1, 0, 0, 1, 2, 2]), 1, 1, 0)).toEqual([]);
      expect(breaks(rev(range(-5, 5, 2)), 1, 1, 0)).toHaveLength(4);
      expect(breaks(rev(range(-5, 5, 2)), 1, 0, 1)).toHaveLength(4);
      for (const offset of [-10, -1, 0, 10]) {
        const mono = rev([0, 2, 3, 4, 5, 8]).map((t) => t + offset);
        expect(breaks(mono, 1, 0.1, 0)).toHaveLength(5);
        expect(breaks(mono, 1, 1, 0)).toEqual([0, 4]);
        expect(breaks(mono, 1, 2, 0)).toEqual([reverse ? 0 : 4]);
        const non = rev([3, 0, 1, 2, 4, 5, 6, 5]).map((t) => t + offset);
        expect(breaks(non, 1, 0.1, 0)).toHaveLength(7);
        expect(breaks(non, 1, 1, 0)).toEqual(reverse ? [3, 6] : [0, 3]);
        expect(breaks(non, 1, 2, 0)).toEqual([reverse ? 6 : 0]);
      }
    }
  });
});

describe("pyxdf's test_segment_indices.py", () => {
  it("test_segments", () => {
    const cases: [boolean[], [number, number][]][] = [
      [[], [[0, 0]]],
      [[false], [[0, 1]]],
      [[true], [[0, 0], [1, 1]]],
      [[false, false], [[0, 2]]],
      [[true, false], [[0, 0], [1, 2]]],
      [[false, true], [[0, 1], [2, 2]]],
      [[true, true], [[0, 0], [1, 1], [2, 2]]],
    ];
    for (const [b, expected] of cases) expect(segmentIndices(b)).toEqual(expected);
  });
  it("test_segments_exhaustive: every pattern of breaks of length 3 to 5", () => {
    let n = 0;
    for (let size = 3; size < 6; size++) {
      for (let mask = 0; mask < 1 << size; mask++) {
        const b = range(0, size).map((i) => ((mask >> i) & 1) === 1);
        const at = range(0, size).filter((i) => b[i]);
        const expected = [0, ...at.map((i) => i + 1)].map((s, k) => [s, k < at.length ? at[k]! : size]);
        expect(segmentIndices(b)).toEqual(expected);
        n++;
      }
    }
    expect(n).toBe(8 + 16 + 32);
  });
});

describe("pyxdf's test_truncate_corrupted_offsets.py", () => {
  const offsets = (n: number, value: (i: number) => number): ClockOffset[] => range(0, n).map((i) => ({ time: i * 5, value: value(i) }));
  /** numpy's linspace(0, end, n). */
  const linspace = (end: number, n: number) => range(0, n).map((i) => (i === n - 1 ? end : i * (end / (n - 1))));
  /** An XDF stream of `samples` samples (pyxdf's linspace(0, 100 or 101, samples)), these clock offsets and a footer counting `footer`. */
  function file(name: string, samples: number, clock: ClockOffset[], footer: number | undefined): string {
    const path = join(tmp.dir, name);
    const w = new XdfWriter(path);
    w.header(1, { name: "S", format: "double64", channels: 1, srate: 1 });
    const stamps = linspace(samples > 100 ? 101 : 100, samples);
    w.samples(1, stamps, stamps);
    for (const o of clock) w.clockOffset(1, o.time, o.value);
    if (footer !== undefined) w.footer(1, 0, 100, footer);
    w.close();
    return path;
  }
  it("test_no_truncation_when_sample_count_matches, _when_clock_offsets_normal, _when_no_extra_samples", () => {
    const normal = offsets(20, (i) => 1e-6 * ((i % 3) - 1));
    const anomalous = [...offsets(20, () => -0.001), { time: 95 + 800000, value: -750000 }];
    expect(corruptedLastOffset(normal)).toBe(false);
    expect(corruptedLastOffset(anomalous)).toBe(true);
    for (const [name, samples, clock] of [["match.xdf", 100, normal], ["normal.xdf", 101, normal], ["noextra.xdf", 100, anomalous]] as const) {
      using x = XdfFile.open(file(name, samples, clock, 100));
      expect([x.stream(1).sync.samples, x.stream(1).sync.offsets.length], name).toEqual([samples, clock.length]);
      expect(x.stream(1).sync.warnings, name).toEqual([]);
    }
  });
  it("test_truncation_of_samples_and_corrupted_clock_offset: both truncated, then synchronised with the rest", () => {
    const clock = [...offsets(20, () => -0.001), { time: 95 + 800000, value: -750000 }];
    using x = XdfFile.open(file("trunc.xdf", 101, clock, 100));
    expect([x.stream(1).sync.samples, x.stream(1).sync.offsets.length]).toEqual([100, 20]);
    const sig = x.signal(1);
    // pyxdf's expectation: linspace(0, 101, 101)[:100] - 0.001, within 1e-6
    const expected = linspace(101, 101).slice(0, 100).map((t) => t - 0.001);
    expected.forEach((t, i) => expect(Math.abs(sig.timeOf(i) - t)).toBeLessThan(1e-6));
  });
  it("test_no_crash_when_footer_info_is_none: a footer without a sample count", () => {
    const path = join(tmp.dir, "nofooter.xdf");
    const w = new XdfWriter(path);
    w.header(1, { name: "S", format: "double64", channels: 1, srate: 1 });
    w.samples(1, range(0, 50), range(0, 50));
    w.chunk(6, Buffer.from('<?xml version="1.0"?><info></info>'), 1);
    w.close();
    using x = XdfFile.open(path);
    expect(x.stream(1).sync.samples).toBe(50);
  });
});
