/**
 * `cachefile annotate` and `cachefile stats`, run as a child process (node
 * dist/cli/main.js) on synthetic sessions and copies of the fixtures.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheFile } from "../../src/offspect.js";
import { annotateFileSync, mapStatsSync } from "../../src/analysis/index.js";
import { copyFixture, fileSha256, tempDir } from "../helpers/fixtures.js";
import { CLI, cliIn } from "../helpers/cli.js";
import { variedTraces, writeSession } from "./synthetic.js";


let dir: string;
let cleanup: () => void;

const cli = cliIn(() => dir);

function session(name: string): string {
  const traces = variedTraces(21, 12).map((t, i) => (i >= 8 ? { ...t, peaks: { neg: -50.5, pos: 60.5 } } : t));
  return writeSession(join(dir, name), { samplingrate: 1000, preMs: 120, postMs: 130, origins: [{ name: "run1.xdf", traces }], seed: 5 });
}

beforeAll(() => {
  ({ dir, cleanup } = tempDir("ocf-analysis-cli-"));
  // The CLI under test is the built one: test/globalSetup.ts builds dist/ before any test file runs.
  expect(existsSync(CLI)).toBe(true);
});
afterAll(() => cleanup());

const ROW_KEYS = [
  "file",
  "index",
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
  "written",
];

describe("cachefile annotate", () => {
  it("--json prints one array per run, one object per trace, with null where a measure is undefined", () => {
    const a = session("a.hdf5");
    const b = session("b.hdf5");
    const expected = [...annotateFileSync(a, { dryRun: true }), ...annotateFileSync(b, { dryRun: true })];
    const r = cli("annotate", a, b, "--json");
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(rows).toHaveLength(24);
    for (const row of rows) for (const k of ROW_KEYS) expect(row).toHaveProperty(k);
    rows.forEach((row, i) => {
      expect(row["ptp_uv"]).toBe(expected[i]!.ptp_uv);
      expect(row["written"]).toBe(i % 12 < 8);
    });
    expect(rows.some((row) => row["zcr_latency_ms"] === null)).toBe(true); // variedTraces kind 5: no crossing
    expect(r.stderr).toContain("annotated 24 traces in 2 file(s): 16 written, 8 kept");
    // Written: the library reads the CLI's values back.
    expect(Number(new CacheFile(a).getTraceAttrs(0)["neg_peak_magnitude_uv"])).toBe(rows[0]!["neg_peak_magnitude_uv"]);
  });

  it("--dry-run writes nothing; --overwrite with --method cusum and --window replaces a person's values", () => {
    const file = session("dry.hdf5");
    const sha = fileSha256(file);
    const dry = cli("annotate", file, "--dry-run", "--csv");
    expect(dry.status).toBe(0);
    expect(fileSha256(file)).toBe(sha);
    const csv = parse(dry.stdout, { columns: true }) as Record<string, string>[];
    expect(csv).toHaveLength(12);
    expect(csv[0]!["status"]).toBe("dry-run");
    expect(csv[9]!["status"]).toBe("kept");
    const r = cli("annotate", file, "--overwrite", "--method", "cusum", "--window", "10,90", "--json");
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    const ours = annotateFileSync(file, { dryRun: true, onsetMethod: "cusum", window: [10, 90] });
    rows.forEach((row, i) => {
      expect(row["written"]).toBe(true);
      expect(row["onset_latency_ms"]).toBe(ours[i]!.onset_latency_ms);
    });
  });

  it("exits 2 on a malformed option and 1 on a trace it cannot measure, writing nothing", () => {
    const file = session("bad.hdf5");
    const sha = fileSha256(file);
    const usage = cli("annotate", file, "--window", "15");
    expect(usage.status).toBe(2);
    expect(usage.stderr).toBe('error: --window expects START,END in ms (e.g. 15,120), got "15"\n');
    const far = cli("annotate", file, "--window", "500,600");
    expect(far.status).toBe(1);
    expect(far.stderr).toMatch(/^error: trace 0 of .*bad\.hdf5: the peak window 500–600 ms after the pulse/);
    expect(cli("annotate", file, "--method", "magic").status).toBe(2);
    expect(fileSha256(file)).toBe(sha);
  });
});

describe("cachefile stats", () => {
  it("--json prints one object with the map's numbers, the same for the same seed", () => {
    const file = copyFixture("map_session.hdf5", dir);
    const r = cli("stats", file, "--json", "--grid", "5", "--bootstrap", "200", "--seed", "4");
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const k of ["cog_mni", "cog_unweighted_mni", "excitable_sites", "hotspot_mni", "hotspot_uv", "volume_uv", "spread_mm", "area_mm2", "left", "right", "ci", "traces_used", "sites"]) {
      expect(s).toHaveProperty(k);
    }
    const lib = mapStatsSync(file, { gridMm: 5, bootstrap: 200, seed: 4 });
    expect(s["cog_mni"]).toEqual(lib.cog_mni);
    expect(s["ci"]).toEqual(lib.ci);
    expect(s["traces_used"]).toBe(108);
    expect(cli("stats", file, "--json", "--grid", "5", "--bootstrap", "200", "--seed", "4").stdout).toBe(r.stdout);
  });

  it("--csv prints a row per scope; text by default; errors exit 1 or 2", () => {
    const file = copyFixture("map_session.hdf5", dir, "csv.hdf5");
    const r = cli("stats", file, "--csv", "--bootstrap", "0");
    expect(r.status).toBe(0);
    const rows = parse(r.stdout, { columns: true }) as Record<string, string>[];
    expect(rows.map((x) => x["scope"])).toEqual(["all", "left", "right"]);
    expect(Number(rows[0]!["area_mm2"])).toBe(mapStatsSync(file, { bootstrap: 0 }).area_mm2);
    const text = cli("stats", file, "--bootstrap", "20", "--no-area-ci");
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^map: 108 traces at \d+ sites, \d+ excitable/);
    expect(text.stdout).toContain("CoG (amplitude-weighted) (-3");
    expect(cli("stats", file, "--threshold", "0").status).toBe(1);
    expect(cli("stats", file, "--bootstrap", "x").status).toBe(2);
    expect(cli("stats", file, "--json", "--csv").status).toBe(2);
  });
});
