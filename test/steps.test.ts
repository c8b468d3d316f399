/**
 * The preprocessing steps against values computed independently: analytic
 * expectations, a direct DFT, and numpy (Debian's /usr/bin/python3, run on the
 * same input) restating offspect's steps for one channel as a 1-D array.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CacheFile } from "../src/index.js";
import { CacheFileError } from "../src/base/errors.js";
import { mulberry32 } from "../src/analysis/prng.js";
import { baseline, detrend, flipsign, formatSimilarPair, similarPairs, linenoise, linenoiseBin, loggedSteps, pearson, processData, similarTraces, STEP_NAMES, StepError, STEPS, type StepName } from "../src/steps/index.js";
import { fft, fftfreq, ifft } from "../src/steps/fft.js";
import type { TraceAttributes, TraceData } from "../src/index.js";
import { fixture, PYTHON, python } from "./helpers/fixtures.js";

const hasNumpy = spawnSync(PYTHON, ["-c", "import numpy"]).status === 0;
const hasH5py = spawnSync(PYTHON, ["-c", "import h5py, numpy"]).status === 0;
if (!hasNumpy) console.warn(`${PYTHON} has no numpy (apt-get install python3-numpy): the numpy comparisons are skipped`);

/** Builds a trace of `samples` x `channels` from a function of (sample, channel). */
function trace(samples: number, channels: number, f: (n: number, c: number) => number): TraceData {
  const data = new Float64Array(samples * channels);
  for (let n = 0; n < samples; n++) for (let c = 0; c < channels; c++) data[n * channels + c] = f(n, c);
  return { data, shape: [samples, channels] };
}

function channel(t: TraceData, c: number): number[] {
  const [s, ch] = t.shape;
  return Array.from({ length: s }, (_, n) => t.data[n * ch + c]!);
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-9): void {
  expect(actual.length).toBe(expected.length);
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e)) {
      expect(a, `index ${i}`).toBeNaN();
      continue;
    }
    const d = Math.abs(a - e);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  expect(worst, `largest difference at index ${at}: ${actual[at]} vs ${expected[at]}`).toBeLessThanOrEqual(tol * scale);
}

/** A direct DFT, with the angle reduced exactly (k*m mod n): independent of the FFT under test. */
function dft(re: ArrayLike<number>, im: ArrayLike<number> = new Float64Array(re.length)): { re: number[]; im: number[] } {
  const n = re.length;
  const outRe: number[] = [];
  const outIm: number[] = [];
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let m = 0; m < n; m++) {
      const angle = (-2 * Math.PI * ((k * m) % n)) / n;
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      sr += re[m]! * c - im[m]! * s;
      si += re[m]! * s + im[m]! * c;
    }
    outRe.push(sr);
    outIm.push(si);
  }
  return { re: outRe, im: outIm };
}

/**
 * What zeroing bin k of an n-point FFT and keeping the real part of the
 * inverse does, computed without an FFT: y[m] = x[m] - Re(X[k] e^{2πikm/n}) / n.
 */
function notchByHand(x: number[], k: number): number[] {
  const n = x.length;
  let xr = 0;
  let xi = 0;
  for (let m = 0; m < n; m++) {
    const angle = (-2 * Math.PI * ((k * m) % n)) / n;
    xr += x[m]! * Math.cos(angle);
    xi += x[m]! * Math.sin(angle);
  }
  return x.map((v, m) => {
    const angle = (2 * Math.PI * ((k * m) % n)) / n;
    return v - (xr * Math.cos(angle) - xi * Math.sin(angle)) / n;
  });
}

// numpy restating offspect's steps for ONE channel given as a 1-D array (the
// form offspect's code is written for), applied to every channel in turn.
const NUMPY_STEPS = String.raw`
import json, sys
import numpy as np

def baseline(x, case):
    return x - x[: case["pre"] + case["shift"]].mean()

def detrend(x, case):
    return x - np.arange(len(x)) * np.mean(np.diff(x))

def linenoise(x, case):
    fs = case["fs"]
    sig = x.copy()
    while len(sig) < fs:
        sig = np.concatenate(([0.0], sig))
    spec = np.fft.fft(sig)
    freq = np.fft.fftfreq(len(sig), d=1 / fs)
    spec[np.where(freq == 50)[0][0]] = 0
    return np.real(np.fft.ifft(spec))[-len(x):]

def flipsign(x, case):
    return -x

STEPS = {"baseline": baseline, "detrend": detrend, "linenoise": linenoise, "flipsign": flipsign}
out = []
for case in json.load(sys.stdin):
    data = np.array(case["data"], dtype=float).reshape(case["shape"])
    cols = []
    for c in range(data.shape[1]):
        x = data[:, c].copy()
        for step in case["steps"]:
            x = STEPS[step](x, case)
        cols.append(x)
    out.append(np.stack(cols, axis=1).ravel().tolist())
print(json.dumps(out))
`;

interface NumpyCase {
  data: number[];
  shape: readonly [number, number];
  steps: StepName[];
  pre: number;
  shift: number;
  fs: number;
}

function numpySteps(cases: NumpyCase[]): number[][] {
  const r = spawnSync(PYTHON, ["-c", NUMPY_STEPS], { input: JSON.stringify(cases), encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`numpy reference failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as number[][];
}

function attrsFor(c: Pick<NumpyCase, "pre" | "shift" | "fs">): TraceAttributes {
  return { samples_pre_event: String(c.pre), onset_shift: String(c.shift), samplingrate: String(c.fs) };
}

const TWO_PI = 2 * Math.PI;

describe("baseline", () => {
  it("subtracts each channel's mean over the first samples_pre_event + onset_shift samples", () => {
    // x = a + b*n: the mean of the first m samples is a + b(m - 1)/2
    const input = trace(200, 2, (n, c) => (c === 0 ? 5 + 0.5 * n : -3 - 2 * n));
    const out = baseline(input, { samples_pre_event: "100", onset_shift: "-1" });
    const m = 99;
    expectClose(channel(out, 0), channel(input, 0).map((v) => v - (5 + (0.5 * (m - 1)) / 2)), 1e-12);
    expectClose(channel(out, 1), channel(input, 1).map((v) => v - (-3 - (2 * (m - 1)) / 2)), 1e-12);
    expect(out.shape).toEqual([200, 2]);
  });

  it("treats onset_shift missing, null, None and empty as 0", () => {
    const input = trace(50, 1, (n) => n * n);
    const expected = channel(input, 0).map((v) => v - (0 + 1 + 4 + 9) / 4);
    for (const shift of [undefined, "None", "null", "", "~", "0"]) {
      const attrs: TraceAttributes = { samples_pre_event: "4" };
      if (shift !== undefined) attrs["onset_shift"] = shift;
      expectClose(channel(baseline(input, attrs), 0), expected, 1e-12);
    }
  });

  it("follows Python's slicing: a negative end leaves samples out at the end; an empty window gives NaN", () => {
    const input = trace(10, 1, (n) => n);
    // data[:-2] is the first 8 samples, mean 3.5
    expectClose(channel(baseline(input, { samples_pre_event: "0", onset_shift: "-2" }), 0), channel(input, 0).map((v) => v - 3.5), 0);
    // beyond the end: every sample
    expectClose(channel(baseline(input, { samples_pre_event: "100", onset_shift: "0" }), 0), channel(input, 0).map((v) => v - 4.5), 0);
    expect([...baseline(input, { samples_pre_event: "0", onset_shift: "0" }).data].every(Number.isNaN)).toBe(true);
  });

  it("refuses missing or non-integer attributes with a StepError", () => {
    const input = trace(10, 1, (n) => n);
    expect(() => baseline(input, {})).toThrow(/samples_pre_event: the attribute is missing/);
    expect(() => baseline(input, { samples_pre_event: "1.5" })).toThrow(StepError);
    expect(() => baseline(input, { samples_pre_event: "abc" })).toThrow(/expected an integer, got "abc"/);
    expect(() => baseline(input, { samples_pre_event: "5", onset_shift: "two" })).toThrow(/onset_shift: expected an integer or None/);
  });
});

describe("detrend", () => {
  it("removes the slope given by the mean of first differences", () => {
    // x = a + b*n + sin: mean(diff) = b + (sin[N-1] - sin[0]) / (N - 1)
    const N = 300;
    const s = (n: number) => 3 * Math.sin(n / 7);
    const input = trace(N, 2, (n, c) => (c === 0 ? 10 + 0.25 * n + s(n) : -1 - 4 * n));
    const out = detrend(input, {});
    const slope0 = 0.25 + (s(N - 1) - s(0)) / (N - 1);
    expectClose(channel(out, 0), channel(input, 0).map((v, n) => v - n * slope0), 1e-12);
    expectClose(channel(out, 1), new Array(N).fill(-1), 1e-12);
  });

  it("gives NaN for a single sample, as numpy's mean of no differences", () => {
    expect(detrend(trace(1, 1, () => 4), {}).data[0]).toBeNaN();
  });
});

describe("linenoise", () => {
  it("halves a 50 Hz sine on an exact bin and keeps the offset (offspect zeroes only the +50 Hz bin)", () => {
    const fs = 1000;
    const phase = 0.3;
    const input = trace(2000, 1, (n) => 7 + 4 * Math.sin((TWO_PI * 50 * n) / fs + phase) + 0.5 * Math.sin((TWO_PI * 10 * n) / fs));
    const out = linenoise(input, { samplingrate: String(fs) });
    const expected = Array.from({ length: 2000 }, (_, n) => 7 + 2 * Math.sin((TWO_PI * 50 * n) / fs + phase) + 0.5 * Math.sin((TWO_PI * 10 * n) / fs));
    expectClose(out.data, expected, 1e-12);
  });

  it("pads at the front up to samplingrate samples and keeps the last ones (checked without an FFT)", () => {
    const fs = 1000;
    const r = mulberry32(7);
    const input = trace(300, 2, (n, c) => (c + 1) * Math.sin((TWO_PI * 50 * n) / fs) + r() - 0.5);
    const out = linenoise(input, { samplingrate: String(fs) });
    expect(linenoiseBin(1000, fs)).toEqual({ bin: 50, frequency: 50, exact: true });
    for (let c = 0; c < 2; c++) {
      const padded = [...new Array(700).fill(0), ...channel(input, c)];
      expectClose(channel(out, c), notchByHand(padded, 50).slice(700), 1e-10);
    }
  });

  it("zeroes the nearest bin when none is exactly 50 Hz (where offspect crashes)", () => {
    const fs = 1000;
    const r = mulberry32(11);
    const input = trace(1001, 1, (n) => Math.sin((TWO_PI * 50 * n) / fs) + r());
    const bin = linenoiseBin(1001, fs);
    expect(bin).toMatchObject({ bin: 50, exact: false });
    expect(bin.frequency).toBeCloseTo((50 * 1000) / 1001, 10);
    expectClose(linenoise(input, { samplingrate: "1000" }).data, notchByHand(channel(input, 0), 50), 1e-10);
    // a non-integer sampling rate: padded to ceil(fs) samples
    expect(linenoiseBin(1000, 999.5)).toMatchObject({ bin: 50, exact: false });
    const odd = linenoise(trace(400, 1, (n) => Math.cos(n)), { samplingrate: "999.5" });
    const padded = [...new Array(600).fill(0), ...Array.from({ length: 400 }, (_, n) => Math.cos(n))];
    expectClose(odd.data, notchByHand(padded, 50).slice(600), 1e-10);
  });

  it("finds the exact bin as numpy's fftfreq computes it", () => {
    expect(linenoiseBin(2000, 1000)).toEqual({ bin: 100, frequency: 50, exact: true });
    expect(linenoiseBin(2500, 1000)).toEqual({ bin: 125, frequency: 50, exact: true });
    expect(linenoiseBin(5000, 5000)).toEqual({ bin: 50, frequency: 50, exact: true });
    expect(linenoiseBin(100, 100).exact).toBe(false); // 50 Hz is Nyquist: numpy calls it -50
    expect(() => linenoiseBin(0, 1000)).toThrow(RangeError);
  });

  it("refuses a missing or invalid samplingrate", () => {
    const input = trace(10, 1, (n) => n);
    expect(() => linenoise(input, {})).toThrow(/samplingrate: the attribute is missing/);
    expect(() => linenoise(input, { samplingrate: "0" })).toThrow(/expected a positive number, got "0"/);
    expect(() => linenoise(input, { samplingrate: "None" })).toThrow(StepError);
  });
});

describe("flipsign", () => {
  it("negates", () => {
    const input = trace(5, 2, (n, c) => n - c * 10);
    expectClose(flipsign(input, {}).data, [...input.data].map((v) => -v), 0);
  });
});

describe("every step", () => {
  it("returns a new TraceData and leaves its input alone", () => {
    const input = trace(1200, 2, (n, c) => Math.sin(n / 3) + c);
    const copy = Float64Array.from(input.data);
    const attrs = { samples_pre_event: "100", onset_shift: "2", samplingrate: "1000" };
    for (const name of STEP_NAMES) {
      const out = STEPS[name](input, attrs);
      expect(out).not.toBe(input);
      expect(out.data).not.toBe(input.data);
      expect(out.shape).toEqual([1200, 2]);
      expect(Object.isFrozen(out)).toBe(true);
      expect(input.data).toEqual(copy);
    }
  });

  it("refuses data that is not a TraceData", () => {
    expect(() => flipsign({ data: [1, 2] as unknown as Float64Array, shape: [2, 1] }, {})).toThrow(TypeError);
    expect(() => flipsign({ data: new Float64Array(3), shape: [2, 1] }, {})).toThrow(RangeError);
  });

  it.skipIf(!hasNumpy)("matches numpy restating offspect's steps, per channel", () => {
    const r = mulberry32(1234);
    const cases: NumpyCase[] = [];
    const shapes: [number, number][] = [
      [2000, 1],
      [1500, 3],
      [200, 1], // padded to 1000 for linenoise
      [1000, 2],
    ];
    for (const [samples, channels] of shapes) {
      const fs = 1000;
      const t = trace(samples, channels, (n, c) => 20 * c + 0.01 * n + 5 * Math.sin((TWO_PI * 50 * n) / fs + c) + 10 * (r() - 0.5));
      for (const steps of [["baseline"], ["detrend"], ["linenoise"], ["flipsign"], ["baseline", "linenoise", "detrend", "flipsign"]] as StepName[][]) {
        cases.push({ data: [...t.data], shape: t.shape, steps, pre: Math.floor(samples / 2), shift: 3, fs });
      }
    }
    const expected = numpySteps(cases);
    cases.forEach((c, i) => {
      let out: TraceData = { data: Float64Array.from(c.data), shape: c.shape };
      for (const s of c.steps) out = STEPS[s](out, attrsFor(c));
      expectClose(out.data, expected[i]!, 1e-10);
    });
  });
});

describe("processData", () => {
  const input = trace(1000, 2, (n, c) => 3 + c + 0.02 * n + Math.sin((TWO_PI * 50 * n) / 1000));
  const base = { samples_pre_event: "500", onset_shift: "None", samplingrate: "1000" };

  it("replays the logged steps in order", () => {
    const attrs = { ...base, _log: "['baseline on 2020-01-01 10:00:00', 'linenoise on 2020-01-01 10:00:01', 'flipsign on 2020-01-02 08:00:00']" };
    expect(loggedSteps(attrs)).toEqual(["baseline", "linenoise", "flipsign"]);
    const expected = flipsign(linenoise(baseline(input, attrs), attrs), attrs);
    expect(processData(input, attrs).data).toEqual(expected.data);
  });

  it.skipIf(!hasNumpy)("gives numpy's answer for a logged sequence", () => {
    const attrs = { ...base, _log: "['detrend on 2021-03-04 11:12:13', 'baseline on 2021-03-04 11:12:14']" };
    const [expected] = numpySteps([{ data: [...input.data], shape: input.shape, steps: ["detrend", "baseline"], pre: 500, shift: 0, fs: 1000 }]);
    expectClose(processData(input, attrs).data, expected!, 1e-10);
  });

  it("returns a copy when nothing is logged", () => {
    for (const log of [undefined, "[]", "None", "", "null"]) {
      const attrs: TraceAttributes = { ...base };
      if (log !== undefined) attrs["_log"] = log;
      const out = processData(input, attrs);
      expect(out).not.toBe(input);
      expect(out.data).not.toBe(input.data);
      expect(out.data).toEqual(input.data);
    }
  });

  it("reads another key with another delimiter", () => {
    const attrs = { ...base, steps: "['flipsign at noon']" };
    expect(processData(input, attrs, { key: "steps", delim: " at " }).data).toEqual(flipsign(input, {}).data);
  });

  it("throws StepError (ESTEP) naming the entry and the valid steps", () => {
    const cases: [string, RegExp][] = [
      ["['lowpass on 2020-01-01 10:00:00']", /unknown preprocessing step "lowpass" in _log entry "lowpass on 2020-01-01 10:00:00": valid steps are baseline, detrend, linenoise, flipsign/],
      ["['baseline']", /malformed _log entry "baseline": expected "STEP on YYYY-mm-dd HH:MM:SS"; valid steps are baseline, detrend, linenoise, flipsign/],
      ["['baseline on 2020 on 2021']", /malformed _log entry "baseline on 2020 on 2021"/],
      ["['Baseline on 2020-01-01 10:00:00']", /unknown preprocessing step "Baseline"/],
      ["[1, 2]", /malformed _log entry 1/],
      ["baseline on 2020-01-01 10:00:00", /expected a list of "STEP on DATE" texts for _log, got "baseline on 2020-01-01 10:00:00"; valid steps are/],
      ["[unclosed", /cannot decode _log/],
    ];
    for (const [log, message] of cases) {
      let error: unknown;
      try {
        processData(input, { ...base, _log: log });
      } catch (e) {
        error = e;
      }
      expect(error, log).toBeInstanceOf(StepError);
      expect(error).toBeInstanceOf(CacheFileError);
      expect((error as StepError).code).toBe("ESTEP");
      expect((error as StepError).message).toMatch(message);
    }
  });

  it("passes a step's missing attribute on as a StepError", () => {
    expect(() => processData(input, { _log: "['baseline on 2020-01-01 10:00:00']" })).toThrow(/baseline needs samples_pre_event/);
  });
});

describe("fft", () => {
  it("matches a direct DFT for lengths of every kind", () => {
    const r = mulberry32(99);
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 97, 100, 128, 200, 255, 256, 1000, 1001]) {
      const re = Array.from({ length: n }, () => r() - 0.5);
      const im = Array.from({ length: n }, () => r() - 0.5);
      const got = fft(re, im);
      const want = dft(re, im);
      expectClose(got.re, want.re, 1e-12);
      expectClose(got.im, want.im, 1e-12);
      const back = ifft(got.re, got.im);
      expectClose(back.re, re, 1e-13);
      expectClose(back.im, im, 1e-13);
    }
  });

  it("is O(N log N) for awkward lengths (a prime of 100,003 points in well under a second)", () => {
    const x = Array.from({ length: 100_003 }, (_, n) => Math.sin(n));
    const t0 = performance.now();
    const X = fft(x);
    expect(performance.now() - t0).toBeLessThan(1000);
    expectClose(ifft(X.re, X.im).re, x, 1e-12);
  });

  it.skipIf(!hasNumpy)("stays within 1e-12 of numpy.fft (relative to the largest bin) for power-of-two and other lengths, both ways", () => {
    const r = mulberry32(2026);
    const lengths = [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 64, 97, 100, 127, 128, 255, 256, 257, 500, 511, 512, 513, 777, 1000, 1023, 1024, 1025, 1030, 2000, 4096, 5000];
    const inputs = lengths.map((n) => ({ re: Array.from({ length: n }, () => r() * 200 - 100), im: Array.from({ length: n }, () => r() * 2 - 1) }));
    const ref = JSON.parse(
      spawnSync(
        PYTHON,
        [
          "-c",
          `import json, sys, numpy as np
out = []
for x in json.load(sys.stdin):
    z = np.array(x["re"]) + 1j * np.array(x["im"])
    f, b = np.fft.fft(z), np.fft.ifft(z)
    out.append({"re": f.real.tolist(), "im": f.imag.tolist(), "ire": b.real.tolist(), "iim": b.imag.tolist()})
print(json.dumps(out))`,
        ],
        { input: JSON.stringify(inputs), encoding: "utf8", maxBuffer: 1 << 28 },
      ).stdout,
    ) as { re: number[]; im: number[]; ire: number[]; iim: number[] }[];
    const worst = (gotRe: Float64Array, gotIm: Float64Array, wantRe: number[], wantIm: number[]) => {
      let scale = 0;
      let diff = 0;
      for (let k = 0; k < wantRe.length; k++) {
        scale = Math.max(scale, Math.hypot(wantRe[k]!, wantIm[k]!));
        diff = Math.max(diff, Math.hypot(gotRe[k]! - wantRe[k]!, gotIm[k]! - wantIm[k]!));
      }
      return diff / scale;
    };
    const report = lengths.map((n, i) => {
      const x = inputs[i]!;
      const f = fft(x.re, x.im);
      const b = ifft(x.re, x.im);
      return { n, forward: worst(f.re, f.im, ref[i]!.re, ref[i]!.im), inverse: worst(b.re, b.im, ref[i]!.ire, ref[i]!.iim) };
    });
    expect(report.filter((e) => !(e.forward <= 1e-12 && e.inverse <= 1e-12))).toEqual([]);
  });

  it("gives numpy's fftfreq", () => {
    expect([...fftfreq(4, 0.25)]).toEqual([0, 1, -2, -1]);
    expect([...fftfreq(5)]).toEqual([0, 0.2, 0.4, -0.4, -0.2]);
  });

  it.skipIf(!hasNumpy)("matches numpy.fft.fft and fftfreq", () => {
    const r = mulberry32(5);
    const lengths = [7, 64, 300, 1000, 2000];
    const inputs = lengths.map((n) => Array.from({ length: n }, () => r() * 100 - 50));
    const ref = python<{ re: number[]; im: number[]; freq: number[] }[]>(
      `import json, sys, numpy as np
xs = json.loads(sys.argv[1])
print(json.dumps([{"re": np.fft.fft(x).real.tolist(), "im": np.fft.fft(x).imag.tolist(), "freq": np.fft.fftfreq(len(x), d=1/1000).tolist()} for x in xs]))`,
      [JSON.stringify(inputs)],
    );
    inputs.forEach((x, i) => {
      const X = fft(x);
      expectClose(X.re, ref[i]!.re, 1e-12);
      expectClose(X.im, ref[i]!.im, 1e-12);
      expect([...fftfreq(x.length, 1 / 1000)]).toEqual(ref[i]!.freq); // bit for bit
    });
  });
});

describe("pearson", () => {
  it("is 1 and -1 for linear relations and NaN for a constant series", () => {
    const x = Float64Array.from({ length: 100 }, (_, n) => Math.sin(n));
    expect(pearson(x, x.map((v) => 2 * v + 3))).toBeCloseTo(1, 14);
    expect(pearson(x, x.map((v) => -0.5 * v))).toBeCloseTo(-1, 14);
    expect(pearson(x, new Float64Array(100).fill(0.1))).toBeNaN();
    expect(pearson(Float64Array.of(1), Float64Array.of(2))).toBeNaN();
    expect(() => pearson(x, new Float64Array(3))).toThrow(RangeError);
  });

  it("matches the textbook formula", () => {
    const a = Float64Array.of(1, 2, 3, 4, 6);
    const b = Float64Array.of(2, 1, 4, 3, 7);
    // means 3.2 and 3.4; sxy = 15.6, sxx = 14.8, syy = 21.2
    expect(pearson(a, b)).toBeCloseTo(15.6 / Math.sqrt(14.8 * 21.2), 14);
  });

  it.skipIf(!hasNumpy)("matches numpy.corrcoef", () => {
    const r = mulberry32(3);
    const pairs = Array.from({ length: 5 }, () => {
      const a = Array.from({ length: 500 }, () => r());
      return [a, a.map((v) => v * 0.3 + r())];
    });
    const ref = python<number[]>(
      `import json, sys, numpy as np
print(json.dumps([float(np.corrcoef(a, b)[0, 1]) for a, b in json.loads(sys.argv[1])]))`,
      [JSON.stringify(pairs)],
    );
    pairs.forEach(([a, b], i) => expect(pearson(Float64Array.from(a!), Float64Array.from(b!))).toBeCloseTo(ref[i]!, 13));
  });
});

describe("similarTraces", () => {
  const r = mulberry32(42);
  const shape = [400, 1] as const;
  const wave = Float64Array.from({ length: 400 }, (_, n) => Math.sin(n / 9) + 0.3 * Math.sin(n / 2));
  const noise = () => Float64Array.from({ length: 400 }, () => r() - 0.5);
  const attrs = (id: string, extra: TraceAttributes = {}): TraceAttributes => ({ id, samples_pre_event: "200", onset_shift: "0", samplingrate: "1000", ...extra });
  const traces: [TraceData, TraceAttributes][] = [
    [{ data: wave, shape }, attrs("0")], // 1
    [{ data: noise(), shape }, attrs("1")], // 2
    [{ data: wave.map((v) => 2 * v + 1), shape }, attrs("0")], // 3: r = 1 with 1
    [{ data: wave.map((v, n) => -v + 0.05 * Math.cos(n)), shape }, attrs("0")], // 4: r ≈ -1 with 1 and 3
    [{ data: noise(), shape }, attrs("1")], // 5: uncorrelated with 2
    [{ data: wave, shape }, attrs("7", { _log: "['flipsign on 2020-01-01 10:00:00']" })], // 6
    [{ data: wave, shape }, attrs("7")], // 7: r = -1 with 6 once 6 is processed
    [{ data: wave, shape }, attrs("9")], // 8: alone
  ];

  it("reports pairs sharing an id with |r| above the threshold, in offspect's loop order", () => {
    const pairs = similarTraces(traces, 0.9);
    expect(pairs.map((p) => [p.id, p.first, p.second])).toEqual([
      ["0", 1, 3],
      ["0", 1, 4],
      ["0", 3, 4],
      ["7", 6, 7],
    ]);
    expect(pairs[0]!.r).toBeCloseTo(1, 12);
    expect(pairs[1]!.r).toBeLessThan(-0.99);
    expect(pairs[3]!.r).toBeCloseTo(-1, 12);
    for (const p of pairs) {
      const a = traces[p.first - 1]!;
      const b = traces[p.second - 1]!;
      expect(p.r).toBe(pearson(processData(a[0], a[1]).data, processData(b[0], b[1]).data));
    }
    expect(similarTraces(traces, 2)).toEqual([]);
    expect(similarTraces(traces, -1).filter((p) => p.id === "1")).toHaveLength(1);
  });

  it("similarPairs yields the same pairs one at a time, so a caller can stop early", () => {
    expect([...similarPairs(traces, 0.9)]).toEqual(similarTraces(traces, 0.9));
    const many: [TraceData, TraceAttributes][] = Array.from({ length: 60 }, () => [{ data: wave, shape }, attrs("0")]);
    const it = similarPairs(many, 0.5);
    const first = [it.next().value, it.next().value];
    expect(first.map((p) => p && [p.first, p.second])).toEqual([
      [1, 2],
      [1, 3],
    ]);
    let rest = 0;
    for (const _ of it) rest++;
    expect(rest + 2).toBe((60 * 59) / 2);
  });

  it("argument errors are CacheFileErrors too (TypeError and RangeError with a code)", () => {
    let e: unknown;
    try {
      similarTraces(traces, Number.NaN);
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(RangeError);
    expect(e).toBeInstanceOf(CacheFileError);
    expect(e).toMatchObject({ code: "EARGRANGE" });
    expect(() => flipsign({ data: [1] as unknown as Float64Array, shape: [1, 1] }, {})).toThrow(expect.objectContaining({ code: "EARGTYPE" }));
  });

  it("formats offspect's warning line exactly (Python's {r:3.2f})", () => {
    const line = (r: number) => formatSimilarPair({ id: "12", first: 3, second: 40, r });
    expect(line(0.9712)).toBe("WARNING: traces [3, 40] share ID 12 and are similar with r = 0.97");
    expect(line(-1)).toBe("WARNING: traces [3, 40] share ID 12 and are similar with r = -1.00");
    expect(line(1)).toBe("WARNING: traces [3, 40] share ID 12 and are similar with r = 1.00");
    // exact binary ties round to even, as Python: 0.125 -> 0.12, 0.375 -> 0.38
    expect(line(0.125)).toMatch(/r = 0\.12$/);
    expect(line(-0.125)).toMatch(/r = -0\.12$/);
    expect(line(0.375)).toMatch(/r = 0\.38$/);
    expect(line(0.975)).toMatch(/r = 0\.97$/); // 0.97499999999999997779...
    expect(line(0.995)).toMatch(/r = 0\.99$/);
    expect(line(-0.001)).toMatch(/r = -0\.00$/);
  });

  it("names the trace whose _log cannot be replayed", () => {
    const bad: [TraceData, TraceAttributes][] = [traces[0]!, [{ data: wave, shape }, attrs("0", { _log: "['smooth on 2020-01-01 10:00:00']" })]];
    expect(() => similarTraces(bad, 0.5)).toThrow(/trace 2 \(id 0\): unknown preprocessing step "smooth"/);
    expect(() => similarTraces(traces, Number.NaN)).toThrow(RangeError);
  });

  it.skipIf(!hasH5py)("gives offspect's lines on an offspect file (h5py + numpy reference)", () => {
    const file = fixture("map_session.hdf5");
    const threshold = 0.998; // splits the pairs of this file about in half
    const ref = python<{ lines: string[]; pairs: number }>(
      `import json, sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
traces = []
for origin in f:  # libhdf5's name order
    group = f[origin]["traces"]
    for name in sorted(group, key=int):
        traces.append((group[name].attrs["id"], group[name][()].flatten()))
ids = {}
for ix, (tid, data) in enumerate(traces):
    ids.setdefault(tid, []).append(ix)
lines, pairs = [], 0
for tid, members in ids.items():
    for row, r_ix in enumerate(members):
        for col, c_ix in enumerate(members):
            if row > col:
                pairs += 1
                r = np.corrcoef(traces[c_ix][1], traces[r_ix][1])[0, 1]
                if abs(r) > float(sys.argv[2]):
                    lines.append(f"WARNING: traces [{c_ix + 1}, {r_ix + 1}] share ID {tid} and are similar with r = {r:3.2f}")
print(json.dumps({"lines": lines, "pairs": pairs}))`,
      [file, String(threshold)],
    );
    const lines = similarTraces(new CacheFile(file), threshold).map(formatSimilarPair);
    expect(ref.pairs).toBeGreaterThan(lines.length);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines).toEqual(ref.lines);
  });
});
