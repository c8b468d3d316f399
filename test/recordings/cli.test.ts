/**
 * `cachefile import` and `cachefile inspect` as a user runs them: a child
 * process, exit codes, one-line errors.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { CacheFile } from "../../src/cachefile.js";
import { ROOT, tempDir } from "../helpers/fixtures.js";
import { writeTriggerMarkers } from "./writers.js";

const tmp = tempDir("ocf-rcli-");
afterAll(() => tmp.cleanup());
const REC = join(ROOT, "test", "fixtures", "recordings");
/** tsx's loader by path, so the child runs the sources from any directory. */
const TSX = pathToFileURL(join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", TSX, join(ROOT, "src", "cli.ts"), ...args], { encoding: "utf8", cwd: tmp.dir, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

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
