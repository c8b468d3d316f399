/**
 * Localite TriggerMarker XML and Brainsight text exports, and pairing their
 * pulses with a recording's by time (with an offset and a drift between the
 * clocks) and by order, with a typed error when they do not pair.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readBrainsight } from "../../src/recordings/brainsight.js";
import { CoordsError } from "../../src/recordings/errors.js";
import { localiteStreamPulses, readTriggerMarkers } from "../../src/recordings/localite.js";
import { pairPulses } from "../../src/recordings/pairing.js";
import { FileNotFoundError } from "../../src/base/errors.js";
import { tempDir } from "../helpers/fixtures.js";
import { writeBrainsight, writeTriggerMarkers } from "./writers.js";

const tmp = tempDir("ocf-coords-");
afterAll(() => tmp.cleanup());

function expectCoords(fn: () => unknown, reason: string): CoordsError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${reason}`).toBeInstanceOf(CoordsError);
  expect([(caught as CoordsError).code, (caught as CoordsError).reason]).toEqual(["ECOORDS", reason]);
  return caught as CoordsError;
}

describe("Localite TriggerMarker XML", () => {
  it("one pulse per marker, in time order: position, %MSO, di/dt; the untracked coil's placeholder is NaN", () => {
    const p = join(tmp.dir, "TriggerMarkers_Coil0_20200517180200123.xml");
    writeTriggerMarkers(p, [
      { timeMs: 1000, xyz: [37, 22.8, 54.2], mso: 54, didt: 36 },
      { timeMs: 6000, mso: 55, didt: 37 },
      { timeMs: 11500, xyz: [-40.5, 10, 60], mso: 56, didt: 38 },
    ]);
    const { pulses, format } = readTriggerMarkers(p);
    expect(format).toBe("localite");
    expect(pulses.map((q) => [q.time, q.xyz, q.mso, q.didt, q.tracked])).toEqual([
      [1, [37, 22.8, 54.2], 54, 36, true],
      [6, [NaN, NaN, NaN], 55, 37, false],
      [11.5, [-40.5, 10, 60], 56, 38, true],
    ]);
    expect(pulses[0]!.matrix).toHaveLength(16);
  });
  it("LPS files are turned to RAS", () => {
    const p = join(tmp.dir, "lps.xml");
    writeTriggerMarkers(p, [{ timeMs: 0, xyz: [37, 22.8, 54.2], mso: 50, didt: 30 }], "LPS");
    expect(readTriggerMarkers(p).pulses[0]!.xyz).toEqual([-37, -22.8, 54.2]);
  });
  it("not XML, another Localite file, a marker without a matrix, a missing file", () => {
    const bad = join(tmp.dir, "bad.xml");
    writeFileSync(bad, "<TriggerMarkerList><TriggerMarker></TriggerMarkerList>");
    expectCoords(() => readTriggerMarkers(bad), "EBADXML");
    writeFileSync(bad, '<?xml version="1.0"?><InstrumentMarkerList coordinateSpace="RAS"></InstrumentMarkerList>');
    expectCoords(() => readTriggerMarkers(bad), "EBADXML");
    writeFileSync(bad, '<?xml version="1.0"?><TriggerMarkerList coordinateSpace="RAS"><TriggerMarker recordingTime="1"/></TriggerMarkerList>');
    expectCoords(() => readTriggerMarkers(bad), "EBADMARKER");
    expect(() => readTriggerMarkers(join(tmp.dir, "none.xml"))).toThrow(FileNotFoundError);
  });
});

describe("Localite's stream in an XDF file", () => {
  it("pulses as offspect's XDF protocol finds them", () => {
    const ev = (time: number, name: string) => ({ name, time });
    const pulses = localiteStreamPulses([
      ev(1, "Starte freien Modus"),
      ev(2, '{"coil_0_didt": 36}'),
      ev(2.01, '{"amplitude": 54, "x": 37.0, "y": 22.8, "z": 54.2}'),
      ev(3, "plain text"),
      ev(5, '{"amplitude": 55, "x": null, "y": null, "z": null}'),
      ev(6, '{"amplitude": 0, "x": 1, "y": 2, "z": 3}'),
      ev(7, '{"coil_0_didt": 40}'),
      ev(7.02, '{"amplitude": 60, "x": 1.5, "y": 2.5, "z": 3.5}'),
    ]);
    expect(pulses.map((p) => [p.time, p.xyz, p.mso, p.didt, p.tracked])).toEqual([
      [2, [37, 22.8, 54.2], 54, 36, true],
      [5, [NaN, NaN, NaN], 55, NaN, false],
      [7, [1.5, 2.5, 3.5], 60, 40, true],
    ]);
  });
});

describe("Brainsight text export", () => {
  it("samples with positions, power and times from the first", () => {
    const p = join(tmp.dir, "export.txt");
    writeBrainsight(p, [
      { time: 0.5, xyz: [-46.889, 44.464, 73.812], mso: 54 },
      { time: 5.75, mso: 55 },
      { time: 11.125, xyz: [-44.198, 75.81, 65.742], mso: 56 },
    ]);
    const { pulses, format } = readBrainsight(p);
    expect(format).toBe("brainsight");
    expect(pulses.map((q) => [q.time, q.xyz, q.mso, q.didt, q.tracked])).toEqual([
      [0, [-46.889, 44.464, 73.812], 54, NaN, true],
      [5.25, [NaN, NaN, NaN], 55, NaN, false],
      [10.625, [-44.198, 75.81, 65.742], 56, NaN, true],
    ]);
  });
  it("not an export, no samples table, a malformed row", () => {
    const p = join(tmp.dir, "bad.txt");
    writeFileSync(p, "hello\n");
    expectCoords(() => readBrainsight(p), "EBADTEXT");
    writeFileSync(p, "# Version: 12\n# Target Name\tLoc. X\tLoc. Y\tLoc. Z\nT\t1\t2\t3\n");
    expectCoords(() => readBrainsight(p), "ENOSAMPLES");
    writeFileSync(p, "# Version: 12\n# Sample Name\tLoc. X\tLoc. Y\tLoc. Z\nS1\t1\tabc\t3\n");
    expect(expectCoords(() => readBrainsight(p), "EBADROW").line).toBe(3);
  });
});

describe("pairing", () => {
  const coils = (times: (number | undefined)[]) => ({
    file: "nav.xml",
    format: "localite" as const,
    pulses: times.map((t, i) => ({ ...(t === undefined ? {} : { time: t }), xyz: [i, i, i] as [number, number, number], mso: i, didt: i, tracked: true })),
  });
  it("by time: an offset between the clocks, a drift, extra logged pulses before the recording started", () => {
    const rec = Array.from({ length: 100 }, (_, i) => 2 + i * 5 + (i % 3) * 0.7);
    // the navigation's clock: started 40 s earlier, runs 20 ppm slow; 3 pulses logged before the recording
    const logged = [1, 6, 11, ...rec.map((t) => (t + 40) * (1 - 2e-5))];
    const paired = pairPulses(rec, coils(logged), { mode: "time" });
    expect(paired.map((p) => p.mso)).toEqual(rec.map((_, i) => i + 3));
  });
  it("by time: a recorded pulse without a logged one is an error naming it", () => {
    const rec = [1, 6, 11, 16];
    const e = expectCoords(() => pairPulses(rec, coils([0, 5, 10.5, 15.2, 20]), { mode: "time" }), "ETIMES");
    expect(e.message).toMatch(/recorded pulse 3 at 11\.000 s has no logged pulse within 50 ms/);
    expect(pairPulses(rec, coils([0, 5, 10.2, 15.2]), { mode: "time", tolerance: 0.25 }).map((p) => p.mso)).toEqual([0, 1, 2, 3]);
    expectCoords(() => pairPulses(rec, coils([0, 5, 10]), { mode: "time" }), "ECOUNT");
    expectCoords(() => pairPulses(rec, coils([0, undefined, 10, 15]), { mode: "time" }), "ENOTIMES");
  });
  it("by order: the counts must agree", () => {
    expect(pairPulses([1, 2], coils([undefined, undefined]), { mode: "order" }).map((p) => p.mso)).toEqual([0, 1]);
    expect(expectCoords(() => pairPulses([1, 2, 3], coils([0, 1]), { mode: "order" }), "ECOUNT").message).toMatch(/logs 2 pulses but the recording has 3/);
  });
});
