/**
 * The TMS artifact detector against synthetic EMG with known pulses: at
 * rates from 1 to 10 kHz, resting noise of 3 to 30 µV, voluntary bursts of
 * up to 500 µV, MEPs of up to 4 mV, artifacts of 1.5 to 12 mV: every pulse
 * found within one sample and no false pulse at the default threshold; an
 * artifact that rises over a few samples (a low-pass filter before the
 * converter); thresholds in µV and σ, the refractory time; the import with
 * `--artifact`, and the CLI's report of what it found.
 */
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { CacheFile } from "../../src/offspect.js";
import { ARTIFACT_DEFAULTS, detectArtifacts, jumpSigma, parseThreshold } from "../../src/recordings/artifact.js";
import { ImportError } from "../../src/recordings/errors.js";
import { importRecordingSync } from "../../src/recordings/import.js";
import { ROOT, tempDir } from "../helpers/fixtures.js";
import { runCli } from "../helpers/cli.js";
import { makeTmsSession, TMS_SESSION_PULSES } from "../fixtures/recordings/make-tms-session.js";
import { memorySignal, syntheticEmg } from "./emg.js";
import { writeBrainVision } from "./writers.js";

const tmp = tempDir("ocf-artifact-");
afterAll(() => tmp.cleanup());

/** Pulses every 4.7 s, jittered by up to 2 s, from 2 s on. */
const times = (count: number) => Array.from({ length: count }, (_, k) => 2 + k * 4.7 + ((k * 7919) % 1000) / 500);

describe("detectArtifacts on synthetic EMG", () => {
  for (const rate of [1000, 2000, 5000, 10000]) {
    for (const noise of [3, 10, 30]) {
      it(`${rate} Hz, ${noise} µV noise, bursts and MEPs: every pulse within one sample, no false pulse (default threshold)`, () => {
        const { data, pulses } = syntheticEmg({ rate, seconds: 300, pulses: times(60), noise, burstsPerMinute: 10, seed: rate + noise });
        const found = detectArtifacts(memorySignal(data, rate), 0);
        expect(found.threshold).toEqual(ARTIFACT_DEFAULTS.threshold);
        expect(found.samples).toHaveLength(pulses.length);
        found.samples.forEach((s, i) => expect(Math.abs(s - pulses[i]!), `pulse ${i}`).toBeLessThanOrEqual(1));
        expect(found.sigmaUv).toBeGreaterThan(noise);
        expect(found.sigmaUv).toBeLessThan(2 * noise);
      });
    }
  }

  it("an artifact that rises over three samples (filtered before the converter) is found within one sample of its start", () => {
    const rate = 1000;
    const { data, pulses } = syntheticEmg({ rate, seconds: 120, pulses: times(24), noise: 8, burstsPerMinute: 0, artifact: [3000, 6000], seed: 4 });
    // smear every sample over three (a moving average), which spreads each jump over three samples
    const smooth = data.map((_, i) => (data[i]! + (data[i - 1] ?? data[i]!) + (data[i - 2] ?? data[i]!)) / 3);
    const found = detectArtifacts(memorySignal(Float64Array.from(smooth), rate), 0);
    expect(found.samples).toHaveLength(pulses.length);
    found.samples.forEach((s, i) => expect(Math.abs(s - pulses[i]!)).toBeLessThanOrEqual(1));
  });

  it("a threshold in µV, one too high (nothing found), one far too low (only jumps that stand out from the 20 ms before them count), the refractory time", () => {
    const rate = 5000;
    const { data, pulses } = syntheticEmg({ rate, seconds: 60, pulses: times(12), noise: 10, burstsPerMinute: 0, artifact: [2000, 2000], mep: [3000, 3000], seed: 9 });
    const sig = memorySignal(data, rate);
    expect(detectArtifacts(sig, 0, { threshold: { uv: 1000 } }).samples).toEqual(pulses);
    expect(detectArtifacts(sig, 0, { threshold: { uv: 50000 } }).samples).toEqual([]);
    expect(detectArtifacts(sig, 0, { threshold: { sd: 2 } }).samples).toEqual(pulses);
    // a refractory time shorter than the MEP's delay (20 ms) lets its jumps, or the artifact's swing back, count as pulses too
    const short = detectArtifacts(sig, 0, { threshold: { uv: 300 }, refractoryMs: 0.1 });
    expect(short.samples.length).toBeGreaterThan(pulses.length);
    expect(detectArtifacts(sig, 0, { threshold: { uv: 300 } }).samples).toEqual(pulses);
  });

  it("σ: 1.4826 x the median absolute deviation of the sample-to-sample differences", () => {
    const data = Float64Array.from([0, 1, 3, 6, 10, 15, 21, 28]); // differences 1..7: median 4, deviations 3,2,1,0,1,2,3: MAD 2
    expect(jumpSigma(memorySignal(data, 1000), 0)).toBeCloseTo(1.4826 * 2, 12);
  });

  it("a flat channel with a threshold in σ is an EARTIFACT error that says to give µV", () => {
    let e: unknown;
    try {
      detectArtifacts(memorySignal(new Float64Array(5000).fill(12), 1000), 0);
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(ImportError);
    expect((e as ImportError).reason).toBe("EARTIFACT");
    expect((e as Error).message).toMatch(/give the threshold in µV \(e\.g\. --threshold 500uV\)/);
  });

  it("parseThreshold: µV and σ forms; anything else is a RangeError", () => {
    expect(parseThreshold("500")).toEqual({ uv: 500 });
    expect(parseThreshold("500uV")).toEqual({ uv: 500 });
    expect(parseThreshold("250.5 µV")).toEqual({ uv: 250.5 });
    expect(parseThreshold("30sd")).toEqual({ sd: 30 });
    expect(parseThreshold("12σ")).toEqual({ sd: 12 });
    expect(parseThreshold("8 sigma")).toEqual({ sd: 8 });
    for (const bad of ["", "abc", "-5", "0", "5mV", "30 sd sd"]) expect(() => parseThreshold(bad), bad).toThrow(RangeError);
  });
});

describe("import --artifact", () => {
  const rate = 2000;
  const { data, pulses } = syntheticEmg({ rate, seconds: 90, pulses: times(18), noise: 6, burstsPerMinute: 8, seed: 21 });
  const vhdr = writeBrainVision(join(tmp.dir, "nomarkers"), {
    channels: [{ label: "EDC_L", resolution: 0.1, unit: "µV" }, { label: "FDI_L", resolution: 0.1, unit: "µV" }],
    rate,
    data: Float64Array.from({ length: data.length * 2 }, (_, k) => Math.max(-32768, Math.min(32767, Math.round((k % 2 === 0 ? data[k >> 1]! : data[k >> 1]! / 2) * 10)))),
  });

  it("cuts a trace at each pulse found on the artifact channel, and reports what it found", () => {
    const out = join(tmp.dir, "artifact.hdf5");
    const r = importRecordingSync(vhdr, out, { channels: ["FDI_L"], artifact: "EDC_L", preMs: 50, postMs: 100 });
    expect(r.traces).toBe(pulses.length);
    expect(r.artifact!.samples.map((s, i) => Math.abs(s - pulses[i]!) <= 1)).toEqual(pulses.map(() => true));
    const cf = new CacheFile(out);
    expect(cf.getTraceAttrs(0)["event_name"]).toBe("artifact-EDC_L");
    expect(Number(cf.getTraceAttrs(3)["event_sample"])).toBe(r.artifact!.samples[3]);
  });

  it("refuses options that do not go together", () => {
    const msg = (o: Parameters<typeof importRecordingSync>[2]) => {
      try {
        importRecordingSync(vhdr, join(tmp.dir, "never.hdf5"), o);
      } catch (x) {
        return `${(x as ImportError).reason}: ${(x as Error).message}`;
      }
      return "";
    };
    expect(msg({ channels: ["EDC_L"], artifact: "EDC_L", event: "S  1" })).toMatch(/^EOPTION: .*--artifact finds the pulses itself: leave out --event/);
    expect(msg({ channels: ["EDC_L"], threshold: { uv: 5 } })).toMatch(/^EOPTION: .*--threshold and --refractory tune --artifact/);
    expect(msg({ channels: ["EDC_L"], artifact: "XX" })).toMatch(/^ENOCHANNEL: .*has no channel "XX"/);
    expect(msg({ channels: ["EDC_L"], artifact: "EDC_L", threshold: { uv: 1e9 } })).toMatch(/^ENOEVENT: .*no jump of EDC_L exceeds 1000000000\.0 µV .*lower --threshold/);
  });

  it("the CLI prints how many pulses it found and their intervals", () => {
    const out = join(tmp.dir, "cli.hdf5");
    const r = runCli(["import", vhdr, "-o", out, "-c", "EDC_L", "--artifact", "EDC_L", "--threshold", "40sd", "--refractory", "150"]);
    expect(r.status).toBe(0);
    const iv = pulses.slice(1).map((p, i) => (p - pulses[i]!) / rate);
    const sorted = [...iv].sort((a, b) => a - b);
    expect(r.stderr).toMatch(new RegExp(`^found 18 pulses in EDC_L \\(jumps above 40 σ = [0-9.]+ µV, 150 ms apart at least\\); intervals ${sorted[0]!.toFixed(3)} to ${sorted[sorted.length - 1]!.toFixed(3)} s, median [0-9.]+ s: ${iv.map((x) => x.toFixed(2)).join(" ")}$`, "m"));
    expect(r.stdout).toBe(`${out}: 18 traces of EDC_L from nomarkers.vhdr, 200 + 200 samples at 2000 Hz\n`);
  });
});

describe("the shipped fixture tms_session.vhdr (README's artifact example)", () => {
  it("is what make-tms-session.ts writes, and the default threshold finds its 8 pulses within one sample", () => {
    makeTmsSession(tmp.dir);
    const shipped = join(ROOT, "test", "fixtures", "recordings");
    for (const ext of [".vhdr", ".vmrk", ".eeg"]) expect(readFileSync(join(tmp.dir, `tms_session${ext}`)).equals(readFileSync(join(shipped, `tms_session${ext}`))), ext).toBe(true);
    const r = importRecordingSync(join(shipped, "tms_session.vhdr"), join(tmp.dir, "fixture.hdf5"), { channels: ["FDI_L", "EDC_L"], artifact: "FDI_L" });
    expect(r.artifact!.samples.map((s, i) => Math.abs(s - Math.round(TMS_SESSION_PULSES[i]! * 2000)) <= 1)).toEqual(TMS_SESSION_PULSES.map(() => true));
    expect(r.traces).toBe(8);
  });
});
