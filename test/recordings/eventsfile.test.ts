/**
 * Pulses from an events file (`--events FILE`): CSV, TSV and semicolon
 * tables of sample indices or times with an optional name column, for
 * BrainVision, EDF+ (records with gaps) and XDF; the rows `--event` picks;
 * a typed error with the line for a malformed file.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CacheFile } from "../../src/offspect.js";
import { FileNotFoundError } from "../../src/base/errors.js";
import { ImportError } from "../../src/recordings/errors.js";
import { readEventsFile } from "../../src/recordings/eventsfile.js";
import { importRecordingSync } from "../../src/recordings/import.js";
import { tempDir } from "../helpers/fixtures.js";
import { writeBrainVision, writeEdf, XdfWriter } from "./writers.js";

const tmp = tempDir("ocf-events-");
afterAll(() => tmp.cleanup());

function file(name: string, text: string): string {
  const p = join(tmp.dir, name);
  writeFileSync(p, text);
  return p;
}

function error(f: () => unknown): ImportError {
  try {
    f();
  } catch (e) {
    if (e instanceof ImportError) return e;
    throw e;
  }
  throw new Error("no error");
}

const samples = (n: number) => Float64Array.from({ length: n }, (_, i) => i % 30000);

describe("readEventsFile", () => {
  it("CSV, TSV and semicolons; sample or time columns; a name column; comments, a BOM, blank lines", () => {
    expect(readEventsFile(file("a.csv", "sample,name\n1200,TMS\n3400,sham\n"))).toEqual({
      file: join(tmp.dir, "a.csv"),
      unit: "sample",
      named: true,
      events: [{ at: 1200, name: "TMS", line: 2 }, { at: 3400, name: "sham", line: 3 }],
    });
    expect(readEventsFile(file("b.tsv", "\uFEFF# exported by hand\nTime (s)\tcomment\n\n1.25\tfirst\n2.5\t\n")).events).toEqual([{ at: 1.25, line: 4 }, { at: 2.5, line: 5 }]);
    expect(readEventsFile(file("c.csv", "onset;label\n0.5;a\n")).events).toEqual([{ at: 0.5, name: "a", line: 2 }]);
  });
  it("typed errors with the line: no pulse column, both columns, a value that is not a sample or a time", () => {
    expect(error(() => readEventsFile(file("d.csv", "when,what\n1,2\n"))).message).toMatch(/its header "when", "what" names no column of pulses: name one "sample" \(0-based sample indices\) or "time"/);
    expect(error(() => readEventsFile(file("e.csv", "sample,time\n1,2\n"))).message).toMatch(/names both a "sample" and a "time" column/);
    const e = error(() => readEventsFile(file("f.csv", "sample\n10\n12.5\n")));
    expect([e.reason, e.line]).toEqual(["EEVENTSFILE", 3]);
    expect(e.message).toMatch(/at line 3: expected a 0-based sample index \(a whole number, 0 or more\) in column "sample", got "12.5"/);
    expect(error(() => readEventsFile(file("g.csv", "time\n-1\n"))).message).toMatch(/expected a time in seconds \(0 or more\)/);
    expect(error(() => readEventsFile(file("h.csv", ""))).message).toMatch(/holds no rows/);
    expect(() => readEventsFile(join(tmp.dir, "none.csv"))).toThrow(FileNotFoundError);
  });
});

describe("import --events", () => {
  const rate = 1000;
  const vhdr = writeBrainVision(join(tmp.dir, "plain"), { channels: [{ label: "EDC_L", resolution: 1, unit: "µV" }], rate, data: samples(20000) });

  it("sample indices and times in seconds give the same traces; --event picks named rows", () => {
    const bySample = file("s.csv", "sample,name\n2000,TMS\n5000,sham\n9000,TMS\n");
    const byTime = file("t.tsv", "time\tname\n2.0\tTMS\n5.0\tsham\n9.0\tTMS\n");
    const a = join(tmp.dir, "s.hdf5");
    const b = join(tmp.dir, "t.hdf5");
    expect(importRecordingSync(vhdr, a, { channels: ["EDC_L"], eventsFile: bySample, event: "TMS" }).traces).toBe(2);
    expect(importRecordingSync(vhdr, b, { channels: ["EDC_L"], eventsFile: byTime, event: "TMS" }).traces).toBe(2);
    const ca = new CacheFile(a);
    const cb = new CacheFile(b);
    for (const i of [0, 1]) {
      expect(ca.getTraceAttrs(i)["event_sample"]).toBe(cb.getTraceAttrs(i)["event_sample"]);
      expect(Array.from(ca.getTraceData(i).data)).toEqual(Array.from(cb.getTraceData(i).data));
    }
    expect(ca.getTraceAttrs(1)["event_sample"]).toBe("9000");
    expect(ca.getTraceAttrs(1)["event_name"]).toBe("TMS");
    expect(ca.getTraceData(0).data[0]).toBe(1900); // the samples are their own indices
    // all rows without --event
    expect(importRecordingSync(vhdr, join(tmp.dir, "all.hdf5"), { channels: ["EDC_L"], eventsFile: bySample }).traces).toBe(3);
  });

  it("a pulse beyond the recording is refused, or with --drop-incomplete left out and listed", () => {
    const f = file("late.csv", "sample\n1000\n19950\n");
    expect(error(() => importRecordingSync(vhdr, join(tmp.dir, "never.hdf5"), { channels: ["EDC_L"], eventsFile: f })).reason).toBe("EWINDOW");
    const r = importRecordingSync(vhdr, join(tmp.dir, "late.hdf5"), { channels: ["EDC_L"], eventsFile: f, dropIncomplete: true });
    expect(r.traces).toBe(1);
    expect(r.leftOut).toEqual([{ eventName: "pulse", sample: 19950, time: 19.95, reason: "their window does not fit in the recording (--drop-incomplete)" }]);
  });

  it("--event without a name column, or naming no row, is refused; --events with --artifact too", () => {
    const f = file("u.csv", "sample\n1000\n");
    expect(error(() => importRecordingSync(vhdr, join(tmp.dir, "never.hdf5"), { channels: ["EDC_L"], eventsFile: f, event: "TMS" })).message).toMatch(/--event picks rows of an events file by their name, but u\.csv has no name column/);
    const g = file("v.csv", "sample,name\n1000,a\n");
    expect(error(() => importRecordingSync(vhdr, join(tmp.dir, "never.hdf5"), { channels: ["EDC_L"], eventsFile: g, event: "b" })).message).toMatch(/no row is named "b"; its names are "a" \(1\)/);
    expect(error(() => importRecordingSync(vhdr, join(tmp.dir, "never.hdf5"), { channels: ["EDC_L"], eventsFile: g, artifact: "EDC_L" })).reason).toBe("EOPTION");
  });

  it("EDF+D: times through the records' start times; XDF: times from the stream's first sample, samples as they are", () => {
    const edf = join(tmp.dir, "gaps.edf");
    writeEdf(edf, {
      signals: [{ label: "EDC_L", dim: "uV", pmin: -32768, pmax: 32767, dmin: -32768, dmax: 32767, spr: 500 }],
      data: [Float64Array.from({ length: 3000 }, (_, i) => i)],
      records: 6,
      duration: 1,
      recordStarts: [0, 1, 2, 20, 21, 22],
      annotations: [],
    });
    const out = join(tmp.dir, "gaps.hdf5");
    importRecordingSync(edf, out, { channels: ["EDC_L"], eventsFile: file("gaps.csv", "time\n1.5\n20.5\n"), preMs: 10, postMs: 10 });
    const cf = new CacheFile(out);
    expect([cf.getTraceAttrs(0)["event_sample"], cf.getTraceAttrs(1)["event_sample"]]).toEqual(["750", "1750"]);

    const xdf = join(tmp.dir, "ev.xdf");
    const w = new XdfWriter(xdf);
    w.header(1, { name: "EMG", format: "int32", channels: [{ label: "EDC_L" }], srate: 1000 });
    w.samples(1, Array.from({ length: 10000 }, (_, k) => 500 + k / 1000), Array.from({ length: 10000 }, (_, k) => k));
    w.close();
    const o1 = join(tmp.dir, "ev1.hdf5");
    const o2 = join(tmp.dir, "ev2.hdf5");
    importRecordingSync(xdf, o1, { channels: ["EDC_L"], eventsFile: file("x1.csv", "time\n2.5\n7.25\n") });
    importRecordingSync(xdf, o2, { channels: ["EDC_L"], eventsFile: file("x2.csv", "sample\n2500\n7250\n") });
    for (const o of [o1, o2]) {
      const c = new CacheFile(o);
      expect([c.getTraceAttrs(0)["event_sample"], c.getTraceAttrs(1)["event_sample"]]).toEqual(["2500", "7250"]);
      expect(Number(c.getTraceAttrs(1)["event_time"])).toBeCloseTo(7.25, 9);
    }
  });
});
