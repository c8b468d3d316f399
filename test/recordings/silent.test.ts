/**
 * Nothing is dropped in silence: each case where an import used to leave
 * something out, or invent something, without a word. A data file cut short
 * (its pulses beyond the data listed, as MNE counts them), a file shorter
 * than its header says, pulses whose window does not fit, XDF markers
 * outside the data stream, channels that are not voltages (refused, or
 * stored in their own unit and said so), a recording without a date (stored
 * unknown, never the file's time). Each is checked in the result's
 * `warnings` and `leftOut`, and on the CLI's stderr, a line each.
 */
import { readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CacheFile } from "../../src/offspect.js";
import { ImportError } from "../../src/recordings/errors.js";
import { importRecordingSync } from "../../src/recordings/import.js";
import { inspectRecordingSync } from "../../src/recordings/inspect.js";
import { python, tempDir } from "../helpers/fixtures.js";
import { cliIn } from "../helpers/cli.js";
import { writeBrainVision, writeEdf, XdfWriter } from "./writers.js";

const tmp = tempDir("ocf-silent-");
afterAll(() => tmp.cleanup());

const cli = cliIn(() => tmp.dir);

function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return `${(e as ImportError).reason}: ${(e as Error).message}`;
  }
  return "";
}

const rate = 1000;
const wave = (n: number, ch = 1) => Float64Array.from({ length: n * ch }, (_, i) => Math.round(500 * Math.sin(i / 9)));

describe("a BrainVision data file cut short", () => {
  const base = join(tmp.dir, "cut");
  const pulses = [1000, 2000, 3000, 4000, 5000];
  writeBrainVision(base, { channels: [{ label: "EDC_L", resolution: 0.1, unit: "µV" }], rate, data: wave(6000), markers: pulses.map((sample) => ({ type: "Stimulus", description: "S  1", sample })) });
  // the .eeg file cut after 2500 samples, in the middle of a sample: pulses 3, 4 and 5 lie beyond its end
  truncateSync(`${base}.eeg`, 2500 * 2 + 1);

  it("imports the pulses within the data and lists each one beyond it (MNE omits them too, with a count)", () => {
    const mne = python<{ n: number; onsets: number[] }>(
      `
import json, sys, mne, warnings
mne.set_log_level("ERROR")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    r = mne.io.read_raw_brainvision(sys.argv[1])
print(json.dumps({"n": int(r.n_times), "onsets": [float(o) for o, d in zip(r.annotations.onset, r.annotations.description) if d == "Stimulus/S  1"]}))
`,
      [`${base}.vhdr`],
    );
    const out = join(tmp.dir, "cut.hdf5");
    const r = importRecordingSync(`${base}.vhdr`, out, { channels: ["EDC_L"], event: "S  1" });
    expect(r.traces).toBe(2);
    expect(mne).toEqual({ n: 2500, onsets: [1, 2] });
    expect(r.leftOut.map((l) => l.sample)).toEqual([3000, 4000, 5000]);
    expect(r.warnings).toEqual([
      "the data file ends 1 bytes into sample 2500 (a sample of 1 channels is 2 bytes): it was cut short; the 2500 whole samples are read, as MNE does",
      "3 marker(s) of the marker file lie beyond the data's last sample 2499: left out, as MNE does (first: \"S  1\" at sample 3000)",
      '3 pulse(s) left out: beyond the data\'s last sample 2499 (the data file is shorter than its marker file says): "S  1" at sample 3000, 3.000 s; "S  1" at sample 4000, 4.000 s; "S  1" at sample 5000, 5.000 s',
    ]);
    expect(new CacheFile(out).length).toBe(2);
  });

  it("the CLI says so on stderr, a line each, and writes the traces", () => {
    const out = join(tmp.dir, "cut-cli.hdf5");
    const r = cli("import", `${base}.vhdr`, "-o", out, "-c", "EDC_L", "-e", "S  1");
    expect(r.status).toBe(0);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toEqual(["cut 2 traces", "wrote 2 traces", expect.stringMatching(/^warning: the data file ends 1 bytes into sample 2500/), expect.stringMatching(/^warning: 3 marker\(s\) of the marker file lie beyond/), expect.stringMatching(/^warning: 3 pulse\(s\) left out: beyond the data's last sample 2499/)]);
    expect(r.stdout).toBe(`${out}: 2 traces of EDC_L from cut.vhdr, 100 + 100 samples at 1000 Hz\n`);
  });

  it("when every pulse lies beyond the data: an error that says why", () => {
    const b = join(tmp.dir, "allcut");
    writeBrainVision(b, { channels: [{ label: "EDC_L" }], rate, data: wave(6000), markers: [{ type: "Stimulus", description: "S  2", sample: 5000 }] });
    truncateSync(`${b}.eeg`, 2000);
    expect(reason(() => importRecordingSync(`${b}.vhdr`, join(tmp.dir, "never.hdf5"), { channels: ["EDC_L"], event: "S  2" }))).toMatch(
      /^ENOEVENT: .*none of the 1 pulse\(s\) can be cut: beyond the data's last sample 999 \(the data file is shorter than its marker file says\)$/,
    );
  });

  it("inspect reports it", () => {
    expect(inspectRecordingSync(`${base}.vhdr`).warnings).toHaveLength(2);
  });
});

describe("an EDF file shorter than its header says", () => {
  it("imports the records it holds, as MNE reads them, and reports the cut; a pulse past the end is listed (with --drop-incomplete) or refused", () => {
    const path = join(tmp.dir, "short.edf");
    writeEdf(path, {
      signals: [{ label: "EDC_L", dim: "uV", pmin: -3276.8, pmax: 3276.7, dmin: -32768, dmax: 32767, spr: 500 }],
      data: [wave(5000)],
      records: 10,
      duration: 1,
      annotations: [1.5, 3.95, 9.5].map((onset) => ({ onset, text: "TMS" })),
    });
    const bytes = readFileSync(path);
    const recordBytes = 500 * 2 + 120;
    writeFileSync(path, bytes.subarray(0, bytes.length - 5 * recordBytes - 7)); // 4 whole records and a piece
    const r = importRecordingSync(path, join(tmp.dir, "short.hdf5"), { channels: ["EDC_L"], event: "TMS", dropIncomplete: true });
    expect(r.traces).toBe(1);
    expect(r.warnings[0]).toMatch(/^the header declares 10 data records but the file holds 4 and 1113 bytes of the next: the file was cut short; the 4 whole records are read, as MNE does, and anything recorded after 4.000 s is missing$/);
    // the annotation at 9.5 s lay in a record that is gone (the warning says what is missing); the one at 3.95 s cannot be cut: listed
    expect(r.leftOut).toEqual([{ eventName: "TMS", time: 3.95, sample: 1975, reason: "their window does not fit in the recording (--drop-incomplete)" }]);
    expect(r.warnings[1]).toBe("1 pulse(s) left out: their window does not fit in the recording (--drop-incomplete): pulse 2 at sample 1975, 3.950 s");
    expect(reason(() => importRecordingSync(path, join(tmp.dir, "never.hdf5"), { channels: ["EDC_L"], event: "TMS" }))).toMatch(/^EWINDOW: .*pulse 2 at sample 1975 needs samples 1925 to 2024, but the recording holds 0 to 1999/);
  });
});

describe("XDF markers outside the data stream", () => {
  it("are left out and listed, not cut at the stream's first or last sample", () => {
    const path = join(tmp.dir, "outside.xdf");
    const w = new XdfWriter(path);
    w.header(1, { name: "EMG", format: "float32", channels: [{ label: "EDC_L", unit: "microvolts" }], srate: 1000 });
    w.header(2, { name: "Markers", format: "string", channels: 1, srate: 0 });
    w.samples(2, [95], [["TMS"]]); // before the data
    for (let c = 0; c < 100; c++) w.samples(1, Array.from({ length: 100 }, (_, k) => 100 + (c * 100 + k) / 1000), Array.from({ length: 100 }, (_, k) => k));
    w.samples(2, [103.5, 108.25, 130], [["TMS"], ["TMS"], ["TMS"]]); // two within, one after
    w.close();
    const r = importRecordingSync(path, join(tmp.dir, "outside.hdf5"), { channels: ["EDC_L"], event: "TMS" });
    expect(r.traces).toBe(2);
    expect(r.leftOut.map((l) => [l.eventName, l.time])).toEqual([["Markers-TMS", -5], ["Markers-TMS", 30]]);
    expect(r.warnings).toEqual([
      '2 pulse(s) left out: no sample of "EMG" lies within two sampling intervals (outside the stream\'s data, or in a gap): "Markers-TMS" at -5.000 s; "Markers-TMS" at 30.000 s',
    ]);
  });
});

describe("channels that are not voltages", () => {
  const units = ["BS", "ARU", "S", "C"];
  const base = join(tmp.dir, "units");
  writeBrainVision(base, {
    channels: [{ label: "EDC_L", resolution: 0.5, unit: "µV" }, ...units.map((u) => ({ label: `X_${u}`, resolution: 0.25, unit: u }))],
    rate,
    data: wave(3000, 5),
    markers: [{ type: "Stimulus", description: "S  1", sample: 1500 }],
  });
  it("are refused, naming the option that stores them anyway", () => {
    for (const u of units) {
      expect(reason(() => importRecordingSync(`${base}.vhdr`, join(tmp.dir, "never.hdf5"), { channels: [`X_${u}`], event: "S  1" }))).toMatch(
        new RegExp(`^EUNIT: .*channel "X_${u}" is in "${u}", not a voltage, and a CacheFile's traces are µV: pick a voltage channel, or pass --allow-non-voltage to store its values unconverted, in "${u}"$`),
      );
    }
  });
  it("an EDF channel that states no unit is no voltage either: refused, naming the option", () => {
    const path = join(tmp.dir, "nounit.edf");
    writeEdf(path, { signals: [{ label: "EMG", dim: "", pmin: -100, pmax: 100, dmin: -32768, dmax: 32767, spr: 1000 }], data: [wave(3000)], records: 3, duration: 1, annotations: [{ onset: 1.5, text: "TMS" }] });
    expect(reason(() => importRecordingSync(path, join(tmp.dir, "never.hdf5"), { channels: ["EMG"], event: "TMS" }))).toMatch(
      /^EUNIT: .*channel "EMG" states no unit, so it cannot be taken as a voltage, and a CacheFile's traces are µV: pick a voltage channel, or pass --allow-non-voltage to store its values unconverted, in the file's own \(unstated\) unit$/,
    );
    const r = importRecordingSync(path, join(tmp.dir, "nounit.hdf5"), { channels: ["EMG"], event: "TMS", allowNonVoltage: true });
    expect(r.warnings).toEqual(['channel "EMG" states no unit, so it cannot be taken as a voltage: its values are stored as they are, in the file\'s own (unstated) unit, not in µV (--allow-non-voltage)']);
  });
  it("with --allow-non-voltage: stored in their own unit (the resolution applied, no conversion), and said so", () => {
    const out = join(tmp.dir, "units.hdf5");
    const r = importRecordingSync(`${base}.vhdr`, out, { channels: ["EDC_L", "X_ARU"], event: "S  1", allowNonVoltage: true });
    expect(r.warnings).toEqual(['channel "X_ARU" is in "ARU", not a voltage: its values are stored as they are, in "ARU", not in µV (--allow-non-voltage)']);
    const d = new CacheFile(out).getTraceData(0);
    const raw = wave(3000, 5);
    expect(d.data[0]).toBe(raw[(1400) * 5]! * 0.5);
    expect(d.data[1]).toBe(raw[1400 * 5 + 2]! * 0.25);
  });
});

describe("a recording without a date", () => {
  it("BrainVision without a New Segment date, EDF+ 'Startdate X', XDF without <datetime>: filedate stored empty (unknown), and said so", () => {
    const bv = join(tmp.dir, "nodate");
    writeBrainVision(bv, { channels: [{ label: "EDC_L" }], rate, data: wave(3000), markers: [{ type: "Stimulus", description: "S  1", sample: 1500 }] });
    writeFileSync(`${bv}.vmrk`, readFileSync(`${bv}.vmrk`, "utf8").replace(/,20200517180200000000/, ""));
    const edf = join(tmp.dir, "nodate.edf");
    writeEdf(edf, { signals: [{ label: "EDC_L", dim: "uV", pmin: -100, pmax: 100, dmin: -32768, dmax: 32767, spr: 1000 }], data: [wave(3000)], records: 3, duration: 1, annotations: [{ onset: 1.5, text: "S  1" }] });
    const b = readFileSync(edf);
    b.write("Startdate X X X X".padEnd(80, " "), 88, "latin1");
    writeFileSync(edf, b);
    const xdf = join(tmp.dir, "nodate.xdf");
    const w = new XdfWriter(xdf, '<?xml version="1.0"?><info><version>1.0</version></info>');
    w.header(1, { name: "EMG", format: "float32", channels: [{ label: "EDC_L" }], srate: 1000 });
    w.header(2, { name: "Markers", format: "string", channels: 1, srate: 0 });
    w.samples(1, Array.from({ length: 3000 }, (_, k) => 10 + k / 1000), Array.from({ length: 3000 }, () => 0));
    w.samples(2, [11.5], [["S  1"]]);
    w.close();
    for (const path of [`${bv}.vhdr`, edf, xdf]) {
      const out = join(tmp.dir, `${path.split("/").pop()}.hdf5`);
      const r = importRecordingSync(path, out, { channels: ["EDC_L"], event: "S  1" });
      expect(r.warnings, path).toEqual(["the recording states no date: filedate is stored empty (unknown), not guessed"]);
      expect(new CacheFile(out).getTraceAttrs(0)["filedate"], path).toBe("");
      expect(inspectRecordingSync(path).date, path).toBeUndefined();
    }
    // offspect reads the empty text as None (unknown)
    const none = python<unknown>(`
import json, sys, h5py, yaml
with h5py.File(sys.argv[1], "r") as f:
    v = f[list(f.keys())[0]].attrs["filedate"]
print(json.dumps(yaml.load(v, Loader=yaml.Loader)))
`, [join(tmp.dir, "nodate.xdf.hdf5")]);
    expect(none).toBeNull();
  });
});
