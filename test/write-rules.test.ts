/**
 * What a write refuses and what it says: each a clear error, and nothing
 * written or lost. Values offspect's own readers cannot use back are
 * refused (on write and by validate), keys no readout has are refused
 * whatever their name, a trace's id does not change, text holds no NUL, a
 * FIFO is not waited on, a merge copies only what it checked, a merge onto
 * a full disk names its target, and an interrupted merge leaves nothing.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CacheFile, merge } from "../src/offspect.js";
import { CacheFileError, InvalidAttributeError, NotHdf5Error, SourceChangedError, validate } from "../src/index.js";
import { writeMeasuresSync } from "../src/analysis/index.js";
import { copyFixture, fileSha256, fixture, PYTHON, ROOT, tempDir } from "./helpers/fixtures.js";
import { CLI, type CliRun, runCli } from "./helpers/cli.js";


let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir("ocf-rules-")));
afterEach(() => cleanup());

function cli(args: string[]): CliRun {
  return runCli(args, { cwd: dir });
}

/** offspect's decode and iscoords of a stored value (h5py, restated offspect). */
function offspectReads(file: string, index: number, key: string): { decoded: unknown; iscoords: boolean } {
  return JSON.parse(
    execFileSync(PYTHON, [
      "-c",
      `
import sys, json, yaml
sys.path.insert(0, ${JSON.stringify(join(ROOT, "test", "helpers"))})
import offspect_reference as o
v = o.get_trace_attrs(sys.argv[1], int(sys.argv[2]))[sys.argv[3]]
d = yaml.load(v, Loader=yaml.Loader)
ok = isinstance(d, list) and len(d) == 3 and all(isinstance(x, (int, float)) for x in d)
print(json.dumps({"decoded": d if isinstance(d, (list, str, int, float)) else repr(d), "iscoords": ok}))`,
      file,
      String(index),
      key,
    ], { encoding: "utf8" }),
  ) as { decoded: unknown; iscoords: boolean };
}

describe("values offspect cannot read back as their kind are refused", () => {
  it("coordinates must be three finite numbers: Infinity and NaN refused by the typed update, as text by setTraceAttrs and attrs --set", () => {
    const file = copyFixture("map_session.hdf5", dir);
    const sha = fileSha256(file);
    const cf = new CacheFile(file);
    for (const xyz of [[1, 2, Infinity], [NaN, 1, 2], [1, 2]]) {
      expect(() => cf.updateSync(0, { xyz_coords: xyz as [number, number, number] }), JSON.stringify(xyz)).toThrow(InvalidAttributeError);
    }
    for (const text of ["[1.0, 2.0, inf]", "[nan, 1, 2]", "-37.5,-20,60", "(1, 2, 3)"]) {
      const attrs = cf.getTraceAttrs(0);
      attrs["xyz_coords"] = text;
      expect(() => cf.setTraceAttrs(0, attrs), text).toThrow(/xyz_coords: expected/);
    }
    expect(fileSha256(file)).toBe(sha);
    const r = cli(["attrs", file, "0", "--set", "xyz_coords=-37.5,-20,60"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: .*xyz_coords: expected a list of three finite numbers/m);
    expect(fileSha256(file)).toBe(sha);
    // What is accepted offspect reads as coordinates.
    expect(cli(["attrs", file, "0", "--set", "xyz_coords=[-37.5, -20, 60]"]).status).toBe(0);
    expect(offspectReads(file, 0, "xyz_coords")).toEqual({ decoded: [-37.5, -20, 60], iscoords: true });
  });

  it("a channel of interest must be one of the channel labels, on write and in validate", () => {
    const file = copyFixture("template_R001.hdf5", dir);
    const cf = new CacheFile(file);
    const attrs = cf.getTraceAttrs(0);
    attrs["channel_of_interest"] = "NOT_A_CHANNEL";
    expect(() => cf.setTraceAttrs(0, attrs)).toThrow(/channel_of_interest: expected one of the channel_labels/);
    expect(cli(["attrs", file, "0", "--set", "channel_of_interest=NOT_A_CHANNEL"]).status).toBe(1);
    // A file written otherwise (by h5py) is called invalid.
    execFileSync(PYTHON, ["-c", `import h5py, sys\nwith h5py.File(sys.argv[1], "r+") as f:\n    f["template_R001.xdf/traces/0"].attrs["channel_of_interest"] = "NOT_A_CHANNEL"`, file]);
    expect(validate(new CacheFile(file).getTraceAttrs(0)).map((p) => p.key)).toContain("channel_of_interest");
    const v = cli(["validate", file]);
    expect(v.status).toBe(1);
    expect(v.stdout).toMatch(/channel_of_interest: expected one of the channel_labels/);
  });

  it("validate reads lists as offspect's decode reads them: a tuple or bare numbers are text", () => {
    const file = copyFixture("template_R001.hdf5", dir);
    execFileSync(PYTHON, ["-c", `import h5py, sys\nwith h5py.File(sys.argv[1], "r+") as f:\n    f["template_R001.xdf/traces/1"].attrs["xyz_coords"] = "-37.5,-20,60"`, file]);
    expect(validate(new CacheFile(file).getTraceAttrs(1)).map((p) => p.key)).toContain("xyz_coords");
    expect(offspectReads(file, 1, "xyz_coords").iscoords).toBe(false);
  });
});

describe("keys and ids", () => {
  it("keys no readout has are refused whatever their name: __proto__, constructor, toString", () => {
    const file = copyFixture("template_R001.hdf5", dir);
    const sha = fileSha256(file);
    for (const key of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
      const r = cli(["attrs", file, "0", "--set", `${key}=1`]);
      expect(r.status, `${key}: ${r.stdout}${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^error: ${key} is not an attribute of readout cmep`));
      const cf = new CacheFile(file);
      expect(() => cf.updateSync(0, JSON.parse(`{"${key}": 1}`))).toThrow(InvalidAttributeError);
      const values = JSON.parse(`{"${key}": 1}`) as Record<string, number>;
      expect(() => writeMeasuresSync(cf, [{ index: 0, values }])).toThrow(new RegExp(`${key} is not a trace attribute of readout cmep`));
    }
    expect(fileSha256(file)).toBe(sha);
  });

  it("a trace's id does not change, by the typed update, setTraceAttrs or attrs --set", () => {
    const file = copyFixture("merged_R001_R003.hdf5", dir);
    const sha = fileSha256(file);
    const cf = new CacheFile(file);
    expect(() => cf.updateSync(1, { id: 0 } as never)).toThrow(InvalidAttributeError);
    const attrs = cf.getTraceAttrs(1);
    attrs["id"] = "0";
    expect(() => cf.setTraceAttrs(1, attrs)).toThrow(/id: a trace's id is the name of its dataset and cannot change/);
    const r = cli(["attrs", file, "1", "--set", "id=0"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/id: a trace's id is the name of its dataset/);
    expect(fileSha256(file)).toBe(sha);
    // The same id, unchanged, is no change.
    expect(cf.setTraceAttrs(1, cf.getTraceAttrs(1)).written).toEqual([]);
  });

  it("text with a NUL anywhere in a batch: InvalidAttributeError before anything is written", () => {
    const file = copyFixture("map_session.hdf5", dir);
    const sha = fileSha256(file);
    const cf = new CacheFile(file);
    let error: unknown;
    try {
      cf.updateManySync([...Array.from({ length: 50 }, (_, index) => ({ index, values: { comment: `ok ${index}` } })), { index: 60, values: { comment: "bad\u0000tail" } }]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidAttributeError);
    expect((error as CacheFileError).code).toBe("EINVALID");
    expect((error as Error).message).toMatch(/comment: expected text without NUL characters/);
    expect(fileSha256(file)).toBe(sha);
  });
});

describe("files that are not what they seem", () => {
  it("a FIFO named like a CacheFile is refused at once by open, peek, validate and merge", () => {
    const fifo = join(dir, "x.hdf5");
    execFileSync("mkfifo", [fifo]);
    expect(() => new CacheFile(fifo)).toThrow(NotHdf5Error);
    for (const args of [["peek", fifo], ["validate", fifo], ["merge", "-t", join(dir, "out.hdf5"), "-f", fifo, fixture("template_R001.hdf5")]]) {
      const r = cli(args);
      expect(r.status, args.join(" ")).toBe(1);
      expect(r.stdout + r.stderr).toMatch(/is not an HDF5 file \(it is not a regular file\)/);
    }
  });

  it("a permission error says so once, naming the file", () => {
    if (process.getuid?.() !== 0) return;
    const file = copyFixture("template_R001.hdf5", dir);
    chmodSync(dir, 0o755);
    chmodSync(file, 0o600);
    const r = spawnSync(process.execPath, [CLI, "peek", file], { encoding: "utf8", uid: 65534, gid: 65534 });
    expect(r.status).toBe(1);
    const message = r.stderr.trim();
    expect(message.match(/permission denied/gi)).toHaveLength(1);
    expect(message.split(file).length - 1).toBe(1);
    expect(message).toMatch(/check the file's and directory's permissions$/);
  });

  it("demo -o in a folder that cannot be made says which folder refuses", () => {
    if (process.getuid?.() !== 0) return;
    const locked = join(dir, "locked");
    mkdirSync(locked, { mode: 0o555 });
    chmodSync(dir, 0o755);
    const r = spawnSync(process.execPath, [CLI, "demo", "-o", join(locked, "a", "b")], { encoding: "utf8", uid: 65534, gid: 65534, cwd: "/tmp" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: permission denied for ${locked} \\(cannot create a folder in it: not allowed\\)`));
    expect(r.stderr).not.toMatch(/ENOENT|mkdir/);
  });
});

describe("merge", () => {
  it("a source replaced after the check is not copied: SourceChangedError, nothing written", () => {
    const a = copyFixture("template_R001.hdf5", dir, "a.hdf5");
    const b = copyFixture("template_R003.hdf5", dir, "b.hdf5");
    // Another copy of b with other channel labels, which the check would have refused.
    const other = copyFixture("template_R003.hdf5", dir, "b-other.hdf5");
    execFileSync(PYTHON, ["-c", `import h5py, sys\nwith h5py.File(sys.argv[1], "r+") as f:\n    f["template_R003.xdf"].attrs["channel_labels"] = "['OTHER']"`, other]);
    const target = join(dir, "merged.hdf5");
    let swapped = false;
    expect(() =>
      merge(target, [a, b], {
        onProgress: (p) => {
          if (p.phase === "check" && p.done === p.total && !swapped) {
            swapped = true;
            renameSync(other, b);
          }
        },
      }),
    ).toThrow(SourceChangedError);
    expect(swapped).toBe(true);
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes(".partial-"))).toEqual([]);
  });

  it("Ctrl-C during a merge of many sources: exits 130 saying so, leaves no file; stale temporary files of dead processes go with the next write into the folder", async () => {
    const sources: string[] = [];
    for (let i = 0; i < 400; i++) {
      const s = join(dir, `s${i}.hdf5`);
      copyFileSync(fixture("map_session.hdf5"), s);
      // Each its own origin names (a merge needs unique origins).
      sources.push(s);
    }
    execFileSync(PYTHON, ["-c", `
import h5py, sys
for i, f in enumerate(sys.argv[1:]):
    with h5py.File(f, "r+") as h:
        for name in list(h.keys()):
            h.move(name, f"{i}_{name}")
`, ...sources]);
    const target = join(dir, "all.hdf5");
    const child = spawn(process.execPath, [CLI, "merge", "-t", target, "-f", ...sources], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    // Interrupt once the copy is under way (its temporary file exists).
    const started = Date.now();
    while (!readdirSync(dir).some((f) => f.includes(".partial-")) && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGINT");
    const status = await new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    expect(status).toBe(130);
    expect(stderr).toMatch(/interrupted \(SIGINT\): nothing was written/);
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes(".partial-"))).toEqual([]);
    // A temporary file of a process that is gone (a kill -9, a power cut) is removed by the next write into the folder.
    const stale = join(dir, ".other.hdf5.partial-999999-0badcafe");
    writeFileSync(stale, "left behind");
    merge(join(dir, "two.hdf5"), [sources[0]!, sources[1]!]);
    expect(existsSync(stale)).toBe(false);
    for (const s of sources) rmSync(s, { force: true });
  });
});
