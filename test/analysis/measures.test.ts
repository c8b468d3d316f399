/**
 * annotateTrace against an independent numpy reference (reference_measures.py,
 * written from the definitions) and against offspect's GUI estimate, on
 * synthetic MEPs with known peaks, onsets, noise and background activity and
 * on the shipped fixtures.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheFile } from "../../src/offspect.js";
import { AnalysisError, annotateFileSync, annotateTrace, type MeasureOptions, type TraceMeasures } from "../../src/analysis/index.js";
import { fixture, fixtureNames, PYTHON, ROOT, tempDir } from "../helpers/fixtures.js";
import { traceSamples, variedTraces, writeSession, type SyntheticTrace } from "./synthetic.js";

const REFERENCE = join(ROOT, "test", "analysis", "reference_measures.py");

type Ref = Omit<TraceMeasures, never> & { offspect_estimate: Pick<TraceMeasures, "neg_peak_magnitude_uv" | "pos_peak_magnitude_uv" | "neg_peak_latency_ms" | "pos_peak_latency_ms"> | null };

function reference(file: string, opts: Record<string, unknown> = {}): Ref[] {
  return JSON.parse(execFileSync(PYTHON, [REFERENCE, file, JSON.stringify(opts)], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })) as Ref[];
}

const KEYS: (keyof TraceMeasures)[] = [
  "neg_peak_magnitude_uv",
  "neg_peak_latency_ms",
  "pos_peak_magnitude_uv",
  "pos_peak_latency_ms",
  "ptp_uv",
  "zcr_latency_ms",
  "onset_latency_ms",
  "mep_present",
  "prestim_rms_uv",
  "background_active",
];

function expectSame(ours: TraceMeasures, ref: Ref, where: string): void {
  for (const k of KEYS) {
    const a = ours[k];
    const b = ref[k];
    if (typeof a === "number" && typeof b === "number") expect(a, `${where} ${k}`).toBeCloseTo(b, 9);
    else expect(a, `${where} ${k}`).toBe(b);
  }
}

let dir: string;
let cleanup: () => void;
let session1000: string;
let session5000: string;
const traces1000 = variedTraces(11, 36);
const traces5000 = variedTraces(12, 18);

beforeAll(() => {
  ({ dir, cleanup } = tempDir("ocf-measures-"));
  session1000 = writeSession(join(dir, "s1000.hdf5"), { samplingrate: 1000, preMs: 150, postMs: 150, origins: [{ name: "run1.xdf", traces: traces1000 }], seed: 3 });
  session5000 = writeSession(join(dir, "s5000.hdf5"), { samplingrate: 5000, preMs: 120, postMs: 130, origins: [{ name: "run1.xdf", traces: traces5000 }], seed: 4 });
});
afterAll(() => cleanup());

describe("annotateTrace against the numpy reference", () => {
  for (const [label, opts] of [
    ["defaults", {}],
    ["cusum onsets", { onsetMethod: "cusum" }],
    ["another window, baseline and k", { window: [10, 60], baselineWindow: [-50, -2], k: 5, mepThreshold: 500, backgroundThreshold: 10 }],
  ] as [string, MeasureOptions][]) {
    it(`gives the reference's measures for every synthetic trace (1000 and 5000 Hz), ${label}`, () => {
      const py: Record<string, unknown> = {
        ...(opts.window ? { window: opts.window } : {}),
        ...(opts.baselineWindow ? { baseline: opts.baselineWindow } : {}),
        ...(opts.onsetMethod ? { method: opts.onsetMethod } : {}),
        ...(opts.k !== undefined ? { k: opts.k } : {}),
        ...(opts.mepThreshold !== undefined ? { mep_threshold: opts.mepThreshold } : {}),
        ...(opts.backgroundThreshold !== undefined ? { background_threshold: opts.backgroundThreshold } : {}),
      };
      for (const file of [session1000, session5000]) {
        const ours = annotateFileSync(file, { ...opts, dryRun: true });
        const ref = reference(file, py);
        expect(ours).toHaveLength(ref.length);
        ours.forEach((m, i) => expectSame(m, ref[i]!, `${file} trace ${i}`));
      }
    });
  }

  it("gives the reference's measures for every trace of every shipped fixture", () => {
    for (const name of fixtureNames()) {
      const ours = annotateFileSync(fixture(name), { dryRun: true });
      const ref = reference(fixture(name));
      expect(ours.length, name).toBe(ref.length);
      ours.forEach((m, i) => expectSame(m, ref[i]!, `${name} trace ${i}`));
    }
  });
});

describe("annotateTrace finds what was put in", () => {
  it("peaks, zero crossing and onset of noisy MEPs lie where the MEP was made", () => {
    const rows = annotateFileSync(session1000, { dryRun: true });
    let checked = 0;
    traces1000.forEach((t, i) => {
      const m = rows[i]!;
      if (t.onsetMs === null || t.offset !== 0 || t.noise > 10 || t.amplitude < 300) return;
      checked++;
      // -A sin(2π (t - onset) / T): the minimum at T/4, the crossing at T/2, the maximum at 3T/4.
      expect(Math.abs(m.neg_peak_latency_ms - (t.onsetMs + t.periodMs / 4))).toBeLessThanOrEqual(1);
      expect(Math.abs(m.pos_peak_latency_ms - (t.onsetMs + (3 * t.periodMs) / 4))).toBeLessThanOrEqual(1);
      // Sampled at 1 ms, the peak sample lies up to 0.5 ms off the true peak: up to 1 - cos(π / 8) = 7.6% lower for T >= 8 ms.
      expect(Math.abs(m.neg_peak_magnitude_uv + t.amplitude)).toBeLessThan(0.08 * t.amplitude + 3 * t.noise);
      expect(Math.abs(m.pos_peak_magnitude_uv - t.amplitude)).toBeLessThan(0.08 * t.amplitude + 3 * t.noise);
      expect(Math.abs(m.zcr_latency_ms! - (t.onsetMs + t.periodMs / 2))).toBeLessThan(0.2);
      expect(Math.abs(m.onset_latency_ms! - t.onsetMs)).toBeLessThanOrEqual(1);
      expect(m.mep_present).toBe(true);
      expect(Math.abs(m.prestim_rms_uv! - t.noise)).toBeLessThan(0.3 * t.noise);
      expect(m.background_active).toBe(false);
    });
    expect(checked).toBeGreaterThanOrEqual(12);
  });

  it("CUSUM onsets lie within 2 ms of the true onset", () => {
    const rows = annotateFileSync(session1000, { dryRun: true, onsetMethod: "cusum" });
    traces1000.forEach((t, i) => {
      if (t.onsetMs === null || t.noise > 10 || t.amplitude < 300 || t.offset !== 0) return;
      expect(Math.abs(rows[i]!.onset_latency_ms! - t.onsetMs), `trace ${i}`).toBeLessThanOrEqual(2);
    });
  });

  it("no MEP: absent, no onset (k = 5: white noise passes 5σ with p < 1e-6 a sample); background activity: flagged; a window that never crosses the baseline mean: no zero crossing", () => {
    const rows = annotateFileSync(session1000, { dryRun: true, k: 5 });
    traces1000.forEach((t, i) => {
      const m = rows[i]!;
      if (t.amplitude === 0) {
        expect(m.mep_present, `trace ${i}`).toBe(false);
        expect(m.onset_latency_ms, `trace ${i}`).toBeNull();
      }
      if (t.noise > 10) {
        expect(m.background_active, `trace ${i}`).toBe(true);
        expect(m.prestim_rms_uv!).toBeGreaterThan(20);
      }
      if (t.offset !== 0) expect(m.zcr_latency_ms, `trace ${i}`).toBeNull();
    });
  });
});

describe("offspect's GUI estimate (click_estimate_parameters)", () => {
  it("gives the same peaks where offspect's and this convention agree (onset_shift 0)", () => {
    for (const file of [session1000, session5000, fixture("map_session.hdf5"), fixture("template_R001.hdf5")]) {
      const ours = annotateFileSync(file, { dryRun: true });
      const ref = reference(file);
      const cf = new CacheFile(file);
      let compared = 0;
      ours.forEach((m, i) => {
        if (cf.getTraceAttrs(i)["onset_shift"] !== "0") return;
        const est = ref[i]!.offspect_estimate!;
        expect(m.neg_peak_magnitude_uv).toBe(est.neg_peak_magnitude_uv);
        expect(m.pos_peak_magnitude_uv).toBe(est.pos_peak_magnitude_uv);
        expect(m.neg_peak_latency_ms).toBeCloseTo(est.neg_peak_latency_ms, 9);
        expect(m.pos_peak_latency_ms).toBeCloseTo(est.pos_peak_latency_ms, 9);
        compared++;
      });
      expect(compared).toBeGreaterThan(0);
    }
  });

  it("with onset_shift s, offspect's estimate equals this library's with -s (offspect's estimate counts the shift the other way)", () => {
    let compared = 0;
    for (const file of [session1000, fixture("template_R002.hdf5"), fixture("merged_R001_R003.hdf5")]) {
      const ref = reference(file);
      const cf = new CacheFile(file);
      for (let i = 0; i < cf.length; i++) {
        const attrs = cf.getTraceAttrs(i);
        const s = Number(attrs["onset_shift"]);
        if (s === 0) continue;
        const m = annotateTrace(cf.getTraceData(i), { ...attrs, onset_shift: String(-s) });
        const est = ref[i]!.offspect_estimate!;
        expect(m.neg_peak_magnitude_uv).toBe(est.neg_peak_magnitude_uv);
        expect(m.pos_peak_magnitude_uv).toBe(est.pos_peak_magnitude_uv);
        expect(m.neg_peak_latency_ms).toBeCloseTo(est.neg_peak_latency_ms, 9);
        expect(m.pos_peak_latency_ms).toBeCloseTo(est.pos_peak_latency_ms, 9);
        compared++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(10);
  });
});

describe("annotateTrace's inputs", () => {
  const fs = 1000;
  const mep: SyntheticTrace = { onsetMs: 20, amplitude: 500, periodMs: 10, noise: 2, onsetShift: 0, offset: 0, xyz: [0, 0, 0] };
  let seed = 0;
  const gauss = () => Math.sin(++seed * 12.9898) * 0.5;
  const attrs = { samplingrate: "1000", samples_pre_event: "200", onset_shift: "0", channel_labels: "['EDC_L']", channel_of_interest: "EDC_L" };

  it("replays the _log steps first: a logged flipsign measures the negated trace", () => {
    const data = traceSamples(mep, fs, 200, 200, 1, 0, gauss);
    const flipped = annotateTrace(data, { ...attrs, _log: "['flipsign on 2024-05-02 10:14:03']" });
    const negated = annotateTrace({ data: data.data.map((v) => -v), shape: data.shape }, attrs);
    expect(flipped).toEqual(negated);
    expect(flipped.neg_peak_latency_ms).toBe(annotateTrace(data, attrs).pos_peak_latency_ms);
    expect(annotateTrace(data, { ...attrs, _log: "['flipsign on 2024-05-02 10:14:03']" }, { processSteps: false })).toEqual(annotateTrace(data, attrs));
  });

  it("measures the channel of interest of multi-channel data, or the channel asked for", () => {
    const data = traceSamples(mep, fs, 200, 200, 3, 1, gauss);
    const multi = { ...attrs, channel_labels: "['A', 'EDC_L', 'C']" };
    const m = annotateTrace(data, multi);
    expect(m.mep_present).toBe(true);
    expect(annotateTrace(data, multi, { channel: "A" }).mep_present).toBe(false);
    expect(annotateTrace(data, multi, { channel: 1 })).toEqual(m);
    expect(() => annotateTrace(data, { ...multi, channel_of_interest: "Z" })).toThrow(/expected "Z" among the channel_labels/);
  });

  it("refuses bad options and unusable traces with AnalysisError codes", () => {
    const data = traceSamples(mep, fs, 200, 200, 1, 0, gauss);
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(AnalysisError);
        return (e as AnalysisError).code + ":" + (e as AnalysisError).option;
      }
      return "no error";
    };
    expect(code(() => annotateTrace(data, attrs, { window: [120, 15] }))).toBe("EANALYSISOPTION:window");
    expect(code(() => annotateTrace(data, attrs, { window: [-5, 15] }))).toBe("EANALYSISOPTION:window");
    expect(code(() => annotateTrace(data, attrs, { onsetMethod: "magic" as "cusum" }))).toBe("EANALYSISOPTION:onsetMethod");
    expect(code(() => annotateTrace(data, attrs, { k: 0 }))).toBe("EANALYSISOPTION:k");
    expect(code(() => annotateTrace(data, attrs, { window: [300, 400] }))).toBe("EANALYSISINPUT:window");
    expect(code(() => annotateTrace(data, { ...attrs, samplingrate: "None" }))).toBe("EANALYSISINPUT:samplingrate");
    expect(code(() => annotateTrace(data, { ...attrs, onset_shift: "1.5" }))).toBe("EANALYSISINPUT:onset_shift");
    const nan = { data: data.data.map((v, i) => (i === 230 ? NaN : v)), shape: data.shape };
    expect(code(() => annotateTrace(nan, attrs))).toBe("EANALYSISINPUT:data");
  });

  it("a trace with no pre-stimulus samples has no baseline measures, and None onset_shift counts as 0", () => {
    const data = traceSamples(mep, fs, 0, 200, 1, 0, gauss);
    const m = annotateTrace(data, { ...attrs, samples_pre_event: "0", onset_shift: "None" });
    expect(m.prestim_rms_uv).toBeNull();
    expect(m.background_active).toBeNull();
    expect(m.onset_latency_ms).toBeNull();
    expect(m.zcr_latency_ms).toBeNull();
    expect(m.mep_present).toBe(true);
  });
});
