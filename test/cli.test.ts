/**
 * The `cachefile` command line, run as a child process (node dist/cli/main.js) on
 * copies of the shared fixtures.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheFile, merge, populate } from "../src/offspect.js";
import { decodeTraceAttrs, type TraceData } from "../src/index.js";
import { copyFixture, expected, fileSha256, fixture, python, PYTHON, ROOT, tempDir } from "./helpers/fixtures.js";
import { CLI, cliIn } from "./helpers/cli.js";

const REFERENCE = join(ROOT, "test", "helpers", "offspect_reference.py");

const cli = cliIn(() => dir);

function dump(path: string): unknown {
  return JSON.parse(execFileSync(PYTHON, [REFERENCE, "dump", path], { encoding: "utf8", maxBuffer: 512 * 1024 * 1024 }));
}

let dir: string;
let cleanup: () => void;
// The CLI under test is the built one: test/globalSetup.ts builds dist/ before any test file runs.
beforeAll(() => {
  ({ dir, cleanup } = tempDir("ocf-cli-"));
});
afterAll(() => cleanup());

describe("cachefile peek", () => {
  it.each(["template_R001.hdf5", "merged_R001_R003.hdf5", "erp_multichannel.hdf5", "unsorted_ids_and_empty_origin.hdf5", "map_session.hdf5"])(
    "prints offspect's peek text of %s",
    (name) => {
      const file = copyFixture(name, dir);
      const r = cli("peek", file);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`${expected(name).str}\n`);
    },
  );

  it("-s warns about traces sharing an id whose data correlate, naming 1-based numbers, id and r", () => {
    const traces = (scale: number): TraceData[] =>
      [0, 1].map((k) => {
        const data = new Float64Array(200);
        for (let s = 0; s < 200; s++) data[s] = scale * Math.sin((s + 37 * k) / (5 + 3 * k));
        return { data, shape: [200, 1] };
      });
    const anno = (origin: string) => ({
      origin,
      attrs: {
        channel_labels: ["EDC_L"], channel_of_interest: "EDC_L", samplingrate: 1000, samples_pre_event: 100, samples_post_event: 100,
        subject: "S", readin: "tms", readout: "cmep", version: "0.1.2", global_comment: "", filedate: "2020-01-01 00:00:00", history: "",
      },
      traces: [0, 1].map((id) => ({ id, event_name: "S 1", event_sample: 1000 * (id + 1), event_time: id + 1, onset_shift: 0, reject: false, comment: "", examiner: "", time_since_last_pulse_in_s: null, xyz_coords: [1, 2, 3], stimulation_intensity_mso: 50, stimulation_intensity_didt: null, neg_peak_magnitude_uv: null, neg_peak_latency_ms: null, pos_peak_magnitude_uv: null, pos_peak_latency_ms: null, zcr_latency_ms: null, channel_of_interest: "EDC_L" })),
    });
    const file = populate(join(dir, "similar.hdf5"), [anno("a.xdf"), anno("b.xdf")], [traces(1), traces(-2)]);
    const r = cli("peek", file, "-s", "0.9");
    expect(r.status).toBe(0);
    const warnings = r.stdout.split("\n").filter((l) => l.startsWith("WARNING"));
    expect(warnings).toEqual([
      "WARNING: traces [1, 3] share ID 0 and are similar with r = -1.00",
      "WARNING: traces [2, 4] share ID 1 and are similar with r = -1.00",
    ]);
    expect(cli("peek", file, "-s", "1.5").stdout).not.toContain("WARNING");
  });
  it("stops quietly when its reader stops early (peek | head -1): exit 0, no stack trace", () => {
    const file = copyFixture("map_session.hdf5", dir);
    const r = spawnSync("bash", ["-c", `set -o pipefail; "${process.execPath}" "${CLI}" peek "${file}" -s 0.5 | head -1`], { encoding: "utf8", cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n").filter(Boolean)).toHaveLength(1);
    expect(r.status).toBe(0);
  });
});

describe("cachefile merge", () => {
  it("writes the same file as the library's merge, prints the peek with -v, and leaves sources untouched", () => {
    const a = copyFixture("template_R001.hdf5", dir, "m_R001.hdf5");
    const b = copyFixture("template_R003.hdf5", dir, "m_R003.hdf5");
    const before = [fileSha256(a), fileSha256(b)];
    const r = cli("merge", "-t", join(dir, "cli_merged.hdf5"), "-f", a, b, "-v");
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/merged 4 traces/);
    const viaLibrary = merge(join(dir, "lib_merged.hdf5"), [a, b]);
    expect(dump(join(dir, "cli_merged.hdf5"))).toEqual(dump(viaLibrary));
    expect(r.stdout).toBe(`Content of target file is now:\n${new CacheFile(join(dir, "cli_merged.hdf5")).toString()}\n`);
    expect([fileSha256(a), fileSha256(b)]).toEqual(before);
  });

  it("refuses inconsistent sources with exit 1, one line, and no target", () => {
    const a = copyFixture("template_R001.hdf5", dir, "i_R001.hdf5");
    const r = cli("merge", "-t", join(dir, "never.hdf5"), "-f", a, fixture("merged_R001_R003.hdf5"));
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: .*Origins are not unique/);
    expect(existsSync(join(dir, "never.hdf5"))).toBe(false);
  });
});

describe("cachefile plot", () => {
  it("writes a PNG of the map's size and reports the traces used", async () => {
    const file = copyFixture("map_session.hdf5", dir);
    const out = join(dir, "map_z.png");
    const r = cli("plot", file, "-o", out, "--title", "S01");
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("This plot is based on 108/120 traces.");
    const meta = await sharp(out).metadata();
    expect(meta.format).toBe("png");
    expect(meta.width).toBeGreaterThan(200);
    expect(meta.height).toBeGreaterThan(200);

    const ortho = join(dir, "map_ortho.png");
    expect(cli("plot", file, "-o", ortho, "--display-mode", "ortho", "--no-colorbar", "--log").status).toBe(0);
    const wide = await sharp(ortho).metadata();
    expect(wide.width! / wide.height!).toBeGreaterThan(meta.width! / meta.height!);

    const all = cli("plot", file, "-o", join(dir, "all.png"), "--include-rejected", "--threshold", "50");
    expect(all.status).toBe(0);
    expect(all.stderr).toContain("This plot is based on 120/120 traces.");
  });

  it("refuses an unknown display mode (exit 2) and --log with --threshold", () => {
    const file = copyFixture("map_session.hdf5", dir, "map2.hdf5");
    const bad = cli("plot", file, "-o", join(dir, "x.png"), "--display-mode", "q");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/Allowed choices are/);
    const both = cli("plot", file, "-o", join(dir, "y.png"), "--log", "--threshold", "3");
    expect(both.status).toBe(2);
    expect(existsSync(join(dir, "y.png"))).toBe(false);
  });
});

describe("cachefile attrs", () => {
  it("shows one trace's attributes decoded, as text and as JSON", () => {
    const file = copyFixture("template_R001.hdf5", dir, "show.hdf5");
    const r = cli("attrs", file, "0", "--json");
    expect(r.status).toBe(0);
    const shown = JSON.parse(r.stdout) as Record<string, unknown>;
    const raw = new CacheFile(file).getTraceAttrs(0);
    expect(shown["xyz_coords"]).toEqual([37.0, 22.8, 54.2]);
    expect(shown["reject"]).toBe(false);
    expect(shown["time_since_last_pulse_in_s"]).toBeNull();
    expect(Object.keys(shown).sort()).toEqual(Object.keys(raw).sort());
    const text = cli("attrs", file, "1");
    expect(text.stdout).toMatch(/^neg_peak_magnitude_uv +: /m);
  });

  it("--set changes exactly one trace, checked, and h5py reads the new value", async () => {
    const file = copyFixture("merged_R001_R003.hdf5", dir, "set.hdf5");
    const before = Array.from({ length: 4 }, (_, i) => new CacheFile(file).getTraceAttrs(i));
    await new Promise(setImmediate); // this process's readers let go of the file before the CLI writes
    const r = cli("attrs", file, "2", "--set", "reject=true", "--set", "comment=double pulse?", "--set", "neg_peak_magnitude_uv=-55.5");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const cf = new CacheFile(file);
    for (let i = 0; i < 4; i++) {
      const now = cf.getTraceAttrs(i);
      if (i !== 2) expect(now).toEqual(before[i]);
      else expect(now).toEqual({ ...before[i], reject: "true", comment: "double pulse?", neg_peak_magnitude_uv: "-55.5" });
    }
    // Shown as what it means, whichever spelling offspect's encode stored ("true" here, "False" elsewhere).
    const shown = (i: number) => JSON.parse(cli("attrs", file, String(i), "--json").stdout) as Record<string, unknown>;
    expect([shown(2)["reject"], shown(1)["reject"], shown(2)["neg_peak_magnitude_uv"]]).toEqual([true, false, -55.5]);
    const exported = JSON.parse(cli("export", file, "--format", "json").stdout) as Record<string, unknown>[];
    expect(exported.map((row) => row["reject"])).toEqual([false, false, true, false]);
    const seen = python<Record<string, [string, string]>>(
      `import h5py, json, sys
f = h5py.File(sys.argv[1], "r")
names = [(o, t) for o in sorted(f) for t in sorted(f[o]["traces"])]
o, t = names[2]
a = f[o]["traces"][t].attrs
print(json.dumps({k: [type(a[k]).__name__, a[k]] for k in ("reject", "comment", "neg_peak_magnitude_uv")}))`,
      [file],
    );
    expect(seen).toEqual({ reject: ["str", "true"], comment: ["str", "double pulse?"], neg_peak_magnitude_uv: ["str", "-55.5"] });
  });

  it("refuses an invalid value and writes nothing", () => {
    const file = copyFixture("template_R001.hdf5", dir, "refuse.hdf5");
    const sum = fileSha256(file);
    const r = cli("attrs", file, "0", "--set", "reject=perhaps", "--set", "comment=x");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: .*reject/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(fileSha256(file)).toBe(sum);
  });
});

describe("cachefile export", () => {
  it("CSV: one row per trace with index and origin, parsing back to the decoded values", () => {
    const file = copyFixture("merged_R001_R003.hdf5", dir, "export.hdf5");
    const out = join(dir, "export.csv");
    expect(cli("export", file, "-o", out).status).toBe(0);
    const rows = parse(readFileSync(out, "utf8"), { columns: true }) as Record<string, string>[];
    const cf = new CacheFile(file);
    expect(rows).toHaveLength(cf.length);
    rows.forEach((row, i) => {
      const attrs = cf.getTraceAttrs(i);
      const parsed = decodeTraceAttrs(attrs);
      expect(row["index"]).toBe(String(i));
      expect(row["origin"]).toBe(attrs["origin"]);
      expect(JSON.parse(row["xyz_coords"]!)).toEqual(parsed["xyz_coords"]);
      expect(row["reject"]).toBe(parsed["reject"] ? "true" : "false");
      expect(Number(row["event_sample"])).toBe(parsed["event_sample"]);
      expect(row["event_name"]).toBe(parsed["event_name"]);
      expect(row["neg_peak_magnitude_uv"]).toBe(parsed["neg_peak_magnitude_uv"] === null ? "" : String(parsed["neg_peak_magnitude_uv"]));
      expect(row["time_since_last_pulse_in_s"]).toBe(parsed["time_since_last_pulse_in_s"] === null ? "" : String(parsed["time_since_last_pulse_in_s"]));
      expect(JSON.parse(row["channel_labels"]!)).toEqual(parsed["channel_labels"]);
    });
  });

  it("JSON to stdout: an array of decoded rows", () => {
    const file = copyFixture("template_R003.hdf5", dir, "export3.hdf5");
    const r = cli("export", file, "--format", "json");
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    const cf = new CacheFile(file);
    expect(rows.map((x) => x["index"])).toEqual([...Array(cf.length).keys()]);
    expect(rows[0]!["xyz_coords"]).toEqual(decodeTraceAttrs(cf.getTraceAttrs(0))["xyz_coords"]);
    expect(rows[0]!["reject"]).toBe(false);
  });
});

describe("cachefile validate", () => {
  it("passes offspect's files and finds a planted problem (exit 1)", () => {
    const file = copyFixture("template_R001.hdf5", dir, "validate.hdf5");
    const ok = cli("validate", file);
    expect(ok.stdout).toContain("valid");
    expect(ok.status).toBe(0);
    python(
      `import h5py, sys, json
f = h5py.File(sys.argv[1], "r+")
o = sorted(f)[0]; t = sorted(f[o]["traces"])[1]
f[o]["traces"][t].attrs["pos_peak_latency_ms"] = "soon"
f.close(); print(json.dumps(1))`,
      [file],
    );
    const bad = cli("validate", file);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/validate\.hdf5:1: .*pos_peak_latency_ms/);
    expect(bad.stderr).toMatch(/^error: 1 problem in 1 trace\n$/);
  });
});

describe("cachefile demo", () => {
  it("writes two runs, merges them and renders the map", async () => {
    const out = join(dir, "demo");
    const r = cli("demo", "-o", out);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("In total, there are 98 traces from 2 origins");
    expect(new CacheFile(join(out, "merged.hdf5")).length).toBe(98);
    expect((await sharp(join(out, "map.png")).metadata()).format).toBe("png");
    expect(statSync(join(out, "map.png")).size).toBeGreaterThan(10_000);
  });
});

describe("bad input: non-zero exit, one line, no stack trace", () => {
  it.each([
    ["a missing file", ["peek", "/nonexistent/nothing.hdf5"], 1, /^error: .*nothing\.hdf5/],
    ["a wrong suffix", ["peek", "@notes.txt"], 1, /^error: \.txt is not a valid suffix.*must end in \.hdf5.*notes\.txt/],
    ["an index out of range", ["attrs", "@template_R001.hdf5", "99"], 1, /^error: .*99/],
    ["a non-integer index", ["attrs", "@template_R001.hdf5", "x"], 2, /index must be a non-negative integer/],
    ["a malformed KEY=VALUE", ["attrs", "@template_R001.hdf5", "0", "--set", "reject"], 2, /KEY=VALUE/],
    ["an unknown attribute", ["attrs", "@template_R001.hdf5", "0", "--set", "colour=red"], 1, /colour is not an attribute/],
    ["an unknown option", ["peek", "--frobnicate", "x.hdf5"], 2, /unknown option '--frobnicate'/],
    ["an unknown command", ["frobnicate"], 2, /unknown command 'frobnicate'/],
    ["a missing argument", ["merge", "-t", "x.hdf5"], 2, /required option '-f, --from <sources...>'/],
    ["a non-number threshold", ["peek", "@template_R001.hdf5", "-s", "high"], 2, /threshold must be a number/],
    ["a file that is not HDF5", ["peek", "@text.hdf5"], 1, /^error: .*not an HDF5 file/i],
  ])("%s", (_what, args, status, message) => {
    const file = copyFixture("template_R001.hdf5", dir, "bad.hdf5");
    writeFileSync(join(dir, "text.hdf5"), "hello");
    writeFileSync(join(dir, "notes.txt"), "hello");
    const r = cli(...args.map((a) => (a === "@template_R001.hdf5" ? file : a.startsWith("@") ? join(dir, a.slice(1)) : a)));
    expect(r.status).toBe(status);
    const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("(run with --help"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("--help works on every command, with exit 0", () => {
    for (const command of [[], ["peek"], ["merge"], ["plot"], ["plot-trace"], ["attrs"], ["export"], ["validate"], ["demo"]]) {
      const r = cli(...command, "--help");
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Usage: cachefile/);
    }
  });

  it("the package imports by its name (exports map), from inside the repo too", () => {
    const r = spawnSync(
      process.execPath,
      ["--input-type=module", "-e", `import { CacheFile, merge } from "offspect-cachefile/offspect";
import { plotMap } from "offspect-cachefile/map";
import { processData } from "offspect-cachefile/steps"; console.log(new CacheFile(${JSON.stringify(fixture("template_R001.hdf5"))}).length, typeof merge, typeof plotMap, typeof processData)`],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("2 function function function");
  });

  it("is installed as the `cachefile` bin", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { bin: Record<string, string> };
    expect(pkg.bin["cachefile"]).toBe("./dist/cli/main.js");
    expect(readFileSync(CLI, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    const r = spawnSync("npx", ["--no-install", "cachefile", "--help"], { cwd: ROOT, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("peek");
  });
});

/** One origin per copy of the same trace, all with id 0: n(n-1)/2 pairs of identical traces. */
function copiesOfOneTrace(path: string, copies: number): string {
  const data = Float64Array.from({ length: 200 }, (_, s) => Math.sin(s / 7) + 0.2 * Math.sin(s / 2));
  const attrs = {
    channel_labels: ["EDC_L"], channel_of_interest: "EDC_L", samplingrate: 1000, samples_pre_event: 100, samples_post_event: 100,
    subject: "S", readin: "tms", readout: "cmep", version: "0.1.2", global_comment: "", filedate: "2020-01-01 00:00:00", history: "",
  };
  const trace = { id: 0, event_name: "S 1", event_sample: 1000, event_time: 1, onset_shift: 0, reject: false, comment: "", examiner: "", time_since_last_pulse_in_s: null, xyz_coords: [1, 2, 3], stimulation_intensity_mso: 50, stimulation_intensity_didt: null, neg_peak_magnitude_uv: null, neg_peak_latency_ms: null, pos_peak_magnitude_uv: null, pos_peak_latency_ms: null, zcr_latency_ms: null, channel_of_interest: "EDC_L" };
  const annotations = Array.from({ length: copies }, (_, k) => ({ origin: `run${String(k).padStart(2, "0")}.xdf`, attrs, traces: [trace] }));
  return populate(path, annotations, annotations.map(() => [{ data, shape: [200, 1] as [number, number] }]));
}

describe("no surprises for a new user", () => {
  it("--version prints this package's version, also run from another project with its own npm_package_version", () => {
    const other = join(dir, "other-project");
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, "package.json"), JSON.stringify({ name: "other", version: "9.9.9" }));
    const own = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
    const r = spawnSync(process.execPath, [CLI, "--version"], { cwd: other, encoding: "utf8", env: { ...process.env, npm_package_version: "9.9.9" } });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(own);
  });

  it("a target in a missing folder: one typed line naming the folder, never a temporary file, and nothing written", () => {
    const source = copyFixture("template_R001.hdf5", dir, "t_R001.hdf5");
    const missing = join(dir, "no", "such", "dir");
    const cases: [string, string[]][] = [
      ["merge", ["merge", "-t", join(missing, "out.hdf5"), "-f", source]],
      ["plot", ["plot", fixture("map_session.hdf5"), "-o", join(missing, "map.png")]],
      ["plot-trace", ["plot-trace", fixture("map_session.hdf5"), "0", "-o", join(missing, "trace.png")]],
      ["export", ["export", source, "-o", join(missing, "all.csv")]],
    ];
    for (const [what, args] of cases) {
      const r = cli(...args);
      expect(r.status, what).toBe(1);
      expect(r.stderr.trim().split("\n"), what).toHaveLength(1);
      expect(r.stderr, what).toMatch(new RegExp(`^error: cannot write .*: the folder ${missing.replace(/[/.]/g, "\\$&")} does not exist; create it first`));
      expect(r.stderr, what).not.toMatch(/partial/);
    }
    expect(existsSync(join(dir, "no"))).toBe(false);
  });

  it("an output that is a folder, or a folder that is a file: one typed line (not EEXIST/ENOENT), exit 1", () => {
    const file = join(dir, "plain-file");
    writeFileSync(file, "x");
    const folder = join(dir, "a-folder.png");
    mkdirSync(folder, { recursive: true });
    const demoOnFile = cli("demo", "-o", file);
    expect(demoOnFile.status).toBe(1);
    expect(demoOnFile.stderr).toMatch(/^error: cannot write .*plain-file.*: .*plain-file is not a folder; pick a path inside an existing folder\n$/);
    const plotOnFolder = cli("plot", fixture("map_session.hdf5"), "-o", folder);
    expect(plotOnFolder.status).toBe(1);
    expect(plotOnFolder.stderr).toMatch(/^error: cannot write .*a-folder\.png: it is a folder; name a file inside it instead\n$/);
    const exportUnderFile = cli("export", fixture("template_R001.hdf5"), "-o", join(file, "x.csv"));
    expect(exportUnderFile.status).toBe(1);
    expect(exportUnderFile.stderr).toMatch(/plain-file is not a folder/);
    expect(readFileSync(file, "utf8")).toBe("x");
  });

  it("export -o writes the whole file or none: a failure leaves no file and no temporary file behind", () => {
    const out = join(dir, "exports");
    mkdirSync(out, { recursive: true });
    expect(cli("export", fixture("merged_R001_R003.hdf5"), "-o", join(out, "ok.csv")).status).toBe(0);
    const r = cli("export", join(dir, "text.hdf5"), "-o", join(out, "bad.csv"));
    expect(r.status).toBe(1);
    expect(readdirSync(out)).toEqual(["ok.csv"]);
  });

  it("validate reports every file, a line for one it cannot read, and exits 1 at the end", () => {
    const a = copyFixture("template_R001.hdf5", dir, "v_a.hdf5");
    const c = copyFixture("template_R002.hdf5", dir, "v_c.hdf5");
    python(
      `import h5py, sys, json
f = h5py.File(sys.argv[1], "r+")
o = sorted(f)[0]; t = sorted(f[o]["traces"])[0]
f[o]["traces"][t].attrs["reject"] = "perhaps"
f.close(); print(json.dumps(1))`,
      [c],
    );
    const missing = join(dir, "v_missing.hdf5");
    const r = cli("validate", a, missing, c);
    expect(r.status).toBe(1);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toEqual([`${missing}: cannot be read: ${missing} does not exist: check the path`, expect.stringMatching(/v_c\.hdf5:0: reject: expected True or False, got "perhaps"$/)]);
    expect(r.stderr).toBe("error: 1 problem in 1 trace; 1 of 3 files could not be read\n");
    const allGood = cli("validate", a, copyFixture("template_R003.hdf5", dir, "v_d.hdf5"));
    expect([allGood.status, allGood.stdout]).toEqual([0, "all 2 files are valid\n"]);
  });

  it.each([
    ["--vmax -5", ["plot", "@map", "-o", "@out.png", "--vmax", "-5"], /vmax must be above 0, got -5/],
    ["--vmax 0", ["plot", "@map", "-o", "@out.png", "--vmax", "0"], /vmax must be above 0, got 0/],
    ["--smooth -1", ["plot", "@map", "-o", "@out.png", "--smooth", "-1"], /smooth must be from 0 to 1000, got -1/],
    ["--threshold -3", ["plot", "@map", "-o", "@out.png", "--threshold", "-3"], /threshold must be at least 0, got -3/],
    ["peek -s 2", ["peek", "@map", "-s", "2"], /threshold must be from -1 to 1 \(a correlation\), got 2/],
    ["peek -s -1.5", ["peek", "@map", "-s", "-1.5"], /threshold must be from -1 to 1/],
    ["plot-trace --ylim 5", ["plot-trace", "@map", "0", "-o", "@out.png", "--ylim", "5"], /ylim must be LOW,HIGH/],
    ["plot-trace --ylim 5,1", ["plot-trace", "@map", "0", "-o", "@out.png", "--ylim", "5,1"], /LOW < HIGH/],
  ])("an out-of-range option value is a usage error (exit 2): %s", (_what, args, message) => {
    const r = cli(...args.map((a) => (a === "@map" ? fixture("map_session.hdf5") : a.startsWith("@") ? join(dir, a.slice(1)) : a)));
    expect(r.status).toBe(2);
    expect(r.stderr.split("\n")[0]).toMatch(message);
    expect(r.stdout).toBe("");
    expect(existsSync(join(dir, "out.png"))).toBe(false);
  });

  it("peek -s summarises many similar pairs (the first ones, then pairs per ID); --all lists every one", () => {
    const file = copiesOfOneTrace(join(dir, "copies.hdf5"), 25); // 300 pairs, all ID 0
    const r = cli("peek", file, "-s", "0.9");
    expect(r.status).toBe(0);
    const warnings = r.stdout.split("\n").filter((l) => l.startsWith("WARNING"));
    expect(warnings).toHaveLength(20);
    expect(warnings[0]).toBe("WARNING: traces [1, 2] share ID 0 and are similar with r = 1.00");
    expect(r.stdout).toContain("... 280 more pairs not shown: 300 similar pairs in all, sharing 1 ID (ID 0: 300 pairs)\n(run with --all to list every pair)\n");
    const all = cli("peek", file, "-s", "0.9", "--all");
    expect(all.status).toBe(0);
    const every = all.stdout.split("\n").filter((l) => l.startsWith("WARNING"));
    expect(every).toHaveLength(300);
    expect(every[299]).toBe("WARNING: traces [24, 25] share ID 0 and are similar with r = 1.00");
    expect(all.stdout).not.toContain("not shown");
  });

  it("plot --log --vmax 500 (the README's example) draws a visible map, labelled in µV; a vmax far above the data warns", async () => {
    const out = join(dir, "log500.png");
    const r = cli("plot", fixture("map_session.hdf5"), "-o", out, "--log", "--vmax", "500");
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/warning/);
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    // The hotspot is drawn dark (hot_r near vmax): some pixel of the brain has red below 100.
    let darkest = 255;
    for (let y = 0; y < info.height; y++) for (let x = 0; x < info.width - 120; x++) darkest = Math.min(darkest, data[(y * info.width + x) * info.channels]!);
    expect(darkest).toBeLessThan(100);
    const faint = cli("plot", fixture("map_session.hdf5"), "-o", join(dir, "faint.png"), "--vmax", "1000000");
    expect(faint.status).toBe(0);
    expect(faint.stderr).toMatch(/^warning: nothing on the map is visibly coloured: its largest value \(1487µV\) is below 5% of vmax \(1000000µV\); lower --vmax/m);
  });

  it("plot-trace writes one trace as a PNG, fitted to the trace or on the axis asked for", async () => {
    const auto = join(dir, "trace_auto.png");
    const r = cli("plot-trace", fixture("map_session.hdf5"), "3", "-o", auto, "--channel", "0", "--title", "trace 3");
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(`wrote ${auto}\n`);
    expect(await sharp(auto).metadata()).toMatchObject({ format: "png", width: 640, height: 400 });
    const fixed = join(dir, "trace_fixed.png");
    expect(cli("plot-trace", fixture("map_session.hdf5"), "3", "-o", fixed, "--ylim", "-200,200").status).toBe(0);
    expect(readFileSync(fixed).equals(readFileSync(auto))).toBe(false);
    const badChannel = cli("plot-trace", fixture("map_session.hdf5"), "3", "-o", join(dir, "x.png"), "--channel", "FDI");
    expect(badChannel.status).toBe(1);
    expect(badChannel.stderr).toMatch(/^error: expected a channel index 0\.\.0 or one of the labels .*, got "FDI"/);
  });
});
