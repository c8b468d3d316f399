/**
 * `cachefile import` and `cachefile inspect` as a user runs them: a child
 * process, exit codes, one-line errors.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CacheFile } from "../../src/offspect.js";
import { ROOT, tempDir } from "../helpers/fixtures.js";
import { cliIn } from "../helpers/cli.js";
import { writeTriggerMarkers, XdfWriter } from "./writers.js";

const tmp = tempDir("ocf-rcli-");
afterAll(() => tmp.cleanup());
const REC = join(ROOT, "test", "fixtures", "recordings");
const cli = cliIn(() => tmp.dir);

describe("cachefile inspect and import", () => {
  it("inspect lists the channels and markers of a BrainVision recording", () => {
    const r = cli("inspect", join(REC, "test.vhdr"));
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('signal "test.vhdr": 32 channel(s), 1000 Hz, 7900 samples (7.9 s)');
    expect(r.stdout).toContain('"S255" x 5 (first at 0.496 s)');
    const j = cli("inspect", join(REC, "minimal.xdf"), "--json");
    expect(JSON.parse(j.stdout).signals[0]).toMatchObject({ id: 0, name: "SendDataC", samplingRate: 10, nSamples: 9 });
  });

  it("import writes the CacheFile, with coordinates from a TriggerMarker export", () => {
    const xml = join(tmp.dir, "tm.xml");
    // the five S255 markers of test.vhdr, logged by Localite 10 s earlier on its clock
    const times = [0.496, 1.779, 3.262, 4.945, 6.629];
    writeTriggerMarkers(xml, times.map((t, k) => ({ timeMs: Math.round((t + 10) * 1000), xyz: [k, k, k] as [number, number, number], mso: 50, didt: 20 })));
    const out = join(tmp.dir, "out.hdf5");
    const r = cli("import", join(REC, "test.vhdr"), xml, "-o", out, "--channel", "FP1", "--event", "S255", "--pre", "100", "--post", "200");
    expect(r.stderr).not.toMatch(/error/);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${out}: 5 traces of FP1 from test.vhdr, 100 + 200 samples at 1000 Hz\n`);
    const cf = new CacheFile(out);
    expect(cf.length).toBe(5);
    expect(cf.getTraceAttrs(4)["xyz_coords"]).toBe("[4.0, 4.0, 4.0]");
    expect(cf.getTraceData(0).shape).toEqual([300, 1]);
  });

  it("import --annotate measures the traces right away", () => {
    const out = join(tmp.dir, "annotated.hdf5");
    const r = cli("import", join(REC, "test.vhdr"), "-o", out, "-c", "FP1", "-e", "S255", "--annotate");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/annotated 5 of 5 traces/);
    expect(new CacheFile(out).getTraceAttrs(0)["neg_peak_magnitude_uv"]).not.toBe("None");
  });

  it("unlabelled XDF channels go by the index inspect shows; an ambiguity names the option that resolves it, and --help says so too", () => {
    const i = cli("inspect", join(REC, "minimal.xdf"));
    expect(i.stdout).toContain("  channels: 0, 1, 2");
    const out = join(tmp.dir, "minimal.hdf5");
    const r = cli("import", join(REC, "minimal.xdf"), "-o", out, "-c", "0", "-e", "Hello");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${out}: 2 traces of 0 from minimal.xdf, 1 + 1 samples at 10 Hz\n`);
    expect(new CacheFile(out).getTraceAttrs(0)["channel_of_interest"]).toBe("0");
    // two streams with unlabelled channels: "0" is in both
    const two = join(tmp.dir, "two.xdf");
    const w = new XdfWriter(two);
    for (const id of [1, 2]) {
      w.header(id, { name: `S${id}`, format: "float32", channels: 2, srate: 100 });
      w.samples(id, Array.from({ length: 100 }, (_, k) => 1 + k / 100), Array.from({ length: 200 }, () => id));
    }
    w.header(3, { name: "M", format: "string", channels: 1, srate: 0 });
    w.samples(3, [1.5], [["go"]]);
    w.close();
    const amb = cli("import", two, "-o", join(tmp.dir, "two.hdf5"), "-c", "0", "-e", "go");
    expect(amb.status).toBe(1);
    expect(amb.stderr).toMatch(/^error: .*channel "0" is in 2 streams \(1 "S1", 2 "S2"\): name the stream with --stream \(e\.g\. --stream 1\)\n$/);
    expect(cli("import", two, "-o", join(tmp.dir, "two.hdf5"), "-c", "0", "-e", "go", "--stream", "2", "--pre", "10", "--post", "10").status).toBe(0);
    const help = cli("import", "--help").stdout.replace(/\s+/g, " ");
    expect(help).toContain("--stream <name|id> XDF: the data stream holding the channels (needed where several streams have the channel)");
    expect(help).toContain("an XDF channel without a label: its index, 0, 1, ...");
  });

  it("one trace is 'cut 1 trace'; --pre -5, a bad --threshold: usage errors, exit code 2", () => {
    const out = join(tmp.dir, "one.hdf5");
    const r = cli("import", join(REC, "test.vhdr"), "-o", out, "-c", "FP1", "-e", "R255");
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("cut 1 trace\nwrote 1 trace\n");
    expect(r.stdout).toBe(`${out}: 1 trace of FP1 from test.vhdr, 100 + 100 samples at 1000 Hz\n`);
    const pre = cli("import", join(REC, "test.vhdr"), "-o", join(tmp.dir, "x.hdf5"), "-c", "FP1", "-e", "S255", "--pre", "-5");
    expect(pre.status).toBe(2);
    expect(pre.stderr).toMatch(/pre must be at least 0, got -5/);
    const th = cli("import", join(REC, "test.vhdr"), "-o", join(tmp.dir, "x.hdf5"), "-c", "FP1", "--artifact", "FP1", "--threshold", "lots");
    expect(th.status).toBe(2);
    expect(th.stderr).toMatch(/threshold must be a positive number of µV \(e\.g\. 500 or 500uV\) or of standard deviations \(e\.g\. 30sd\), got "lots"/);
  });

  it("inspect: XDF times from the recording's start with the LSL time beside them; the trigger values of a BDF's Status channel", () => {
    const x = cli("inspect", join(REC, "minimal.xdf"));
    expect(x.stdout).toContain("minimal.xdf: xdf, date unknown; times from the first sample, LSL 5.000 s");
    expect(x.stdout).toContain('"Hello" x 2 (first at 0.200 s, LSL 5.200 s)');
    const b = cli("inspect", join(REC, "test.bdf"));
    expect(b.stdout).toContain('trigger channel "Status": 1 event(s)\n  "128" x 1 (first at 0.288 s)');
    const j = JSON.parse(cli("inspect", join(REC, "test.bdf"), "--json").stdout);
    expect(j.events[1]).toEqual({ source: 'trigger channel "Status"', channel: "Status", total: 1, names: [{ name: "128", count: 1, first: 589 / 2048 }] });
  });

  it("a user error is one line and exit code 1; a bad option exit code 2; nothing is written", () => {
    const out = join(tmp.dir, "none.hdf5");
    let r = cli("import", join(REC, "test.vhdr"), "-o", out, "--channel", "XX", "--event", "S255");
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: .*has no channel "XX"; its channels are "FP1"/);
    r = cli("import", join(REC, "test.vhdr"), "-o", out, "--channel", "FP1");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/name the marker that marks a pulse with --event; its markers are/);
    r = cli("import", join(REC, "test.eeg"), "-o", out, "--channel", "FP1");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\.eeg is not a recording format this library reads.*pass the BrainVision \.vhdr file/);
    r = cli("import", join(REC, "test.vhdr"), "-o", out, "--channel", "FP1", "--pre", "abc");
    expect(r.status).toBe(2);
    expect(existsSync(out)).toBe(false);
  });
});
