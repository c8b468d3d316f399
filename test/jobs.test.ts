/**
 * `--jobs N` of the batch commands (annotate, validate, peek) and the
 * `concurrency` option of `annotateFiles`: files worked on at once in
 * worker processes give the output, exit code, written values and errors
 * of one file after the other; an interrupt stops every worker and writes
 * nothing. No timings here (scripts/bench/jobs.ts measures).
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANNOTATOR, AnalysisError, annotateFiles } from "../src/analysis/index.js";
import { CacheFile } from "../src/offspect.js";
import { NotHdf5Error } from "../src/index.js";
import { randomMeps, writeSession } from "./analysis/synthetic.js";
import { fixture, PYTHON, tempDir } from "./helpers/fixtures.js";
import { CLI, runCli } from "./helpers/cli.js";

let dir: string;
let cleanup: () => void;
/** Synthetic sessions of 100 traces, each its own seed. */
let sessions: string[] = [];


function session(name: string, seed: number, origins = 2, perOrigin = 50): string {
  const file = join(dir, name);
  writeSession(file, {
    samplingrate: 1000,
    preMs: 1000,
    postMs: 1000,
    origins: Array.from({ length: origins }, (_, o) => ({ name: `${name}_${o}.xdf`, traces: randomMeps(seed * 10 + o, perOrigin) })),
    seed,
  });
  return file;
}

/** Copies of `files` into a folder of their own, named alike (so that outputs naming them compare). */
function copies(files: string[], sub: string): string[] {
  const d = join(dir, sub);
  execFileSync("mkdir", ["-p", d]);
  return files.map((f, i) => {
    const to = join(d, `${String(i).padStart(2, "0")}.hdf5`);
    copyFileSync(f, to);
    return to;
  });
}

/** Every trace's attributes, as the library reads them (less `cache_file`, the file's own path). */
function attributes(file: string): Record<string, string>[] {
  const cf = new CacheFile(file);
  try {
    return Array.from({ length: cf.length }, (_, i) => {
      const { cache_file: _path, ...attrs } = cf.getTraceAttrs(i) as Record<string, string>;
      return attrs;
    });
  } finally {
    cf.close();
  }
}

beforeAll(() => {
  ({ dir, cleanup } = tempDir("ocf-jobs-"));
  sessions = [1, 2, 3, 4].map((s) => session(`s${s}.hdf5`, s));
  writeFileSync(join(dir, "bad.hdf5"), "not an HDF5 file\n");
});
afterAll(() => cleanup());

describe("--jobs: the output and exit code of --jobs 1", () => {
  /** The inputs: sessions, fixtures, and a file that is no CacheFile in the middle. */
  const inputs = () => [sessions[0]!, sessions[1]!, fixture("template_R001.hdf5"), join(dir, "bad.hdf5"), sessions[2]!, fixture("map_session.hdf5"), sessions[3]!];

  it.each([
    ["annotate --dry-run", ["annotate", "--dry-run"]],
    ["annotate --json --dry-run", ["annotate", "--json", "--dry-run"]],
    ["validate", ["validate"]],
    ["peek", ["peek"]],
    ["peek -s 0.99", ["peek", "-s", "0.99"]],
  ])("%s over several files, one of them not a CacheFile: byte for byte, same exit code", (_name, args) => {
    const one = runCli([...args, "--jobs", "1", ...inputs()]);
    const two = runCli([...args, "--jobs", "2", ...inputs()]);
    expect(one.status).toBe(1);
    expect(two.status).toBe(one.status);
    expect(two.stdout).toBe(one.stdout);
    expect(two.stderr).toBe(one.stderr);
    expect(one.stderr.trim().split("\n")).toHaveLength(1);
  });

  it.each([
    ["annotate --dry-run --csv", ["annotate", "--dry-run", "--csv"]],
    ["validate", ["validate"]],
    ["peek", ["peek"]],
  ])("%s over good files: byte for byte, exit 0, more jobs than files too", (_name, args) => {
    const files = [...sessions, fixture("template_R002.hdf5"), fixture("merged_R001_R003.hdf5")];
    const one = runCli([...args, "--jobs", "1", ...files]);
    expect(one.status, one.stderr).toBe(0);
    for (const jobs of ["2", "8"]) {
      const other = runCli([...args, "--jobs", jobs, ...files]);
      expect(other.status).toBe(0);
      expect(other.stdout).toBe(one.stdout);
      expect(other.stderr).toBe(one.stderr);
    }
  });

  it("annotate --jobs 2 writes what --jobs 1 writes, and prints the same", () => {
    const inputs = [...sessions, fixture("template_R001.hdf5"), fixture("map_session.hdf5")];
    const a = copies(inputs, "written-1");
    const b = copies(inputs, "written-2");
    const one = runCli(["annotate", "--overwrite", "--reject-background", "--jobs", "1", ...a], { cwd: join(dir, "written-1") });
    const two = runCli(["annotate", "--overwrite", "--reject-background", "--jobs", "2", ...b], { cwd: join(dir, "written-2") });
    expect(one.status, one.stderr).toBe(0);
    expect(two.status, two.stderr).toBe(0);
    expect(two.stdout.replaceAll("written-2", "written-1")).toBe(one.stdout);
    expect(two.stderr).toBe(one.stderr);
    expect(one.stderr).toMatch(/[1-9][0-9]* written/);
    a.forEach((f, i) => expect(attributes(b[i]!)).toEqual(attributes(f)));
    expect(attributes(a[0]!).every((t) => t["examiner"] === ANNOTATOR)).toBe(true);
  });

  it("annotate with a file that is no CacheFile among them writes nothing, with either", () => {
    for (const jobs of ["1", "2"]) {
      const files = copies([sessions[0]!, sessions[1]!, join(dir, "bad.hdf5"), sessions[2]!], `bad-${jobs}`);
      const r = runCli(["annotate", "--jobs", jobs, ...files]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^error: .*bad-\d\/02\.hdf5 is not an HDF5 file/);
      for (const f of [files[0]!, files[1]!, files[3]!]) expect(attributes(f).some((t) => t["examiner"] === ANNOTATOR)).toBe(false);
    }
  });

  it("annotate where one file cannot be written: the same error, and no file keeps a value of the run, with either", () => {
    if (process.getuid?.() !== 0) return;
    const sources = [fixture("template_R001.hdf5"), sessions[0]!, fixture("template_R002.hdf5"), sessions[1]!, sessions[2]!];
    const runs = ["1", "2"].map((jobs) => {
      const files = copies(sources, `unwritable-${jobs}`);
      chmodSync(join(dir, `unwritable-${jobs}`), 0o777);
      chmodSync(dir, 0o755);
      // Written by nobody, who owns every file but one, which it may only read.
      for (const f of files) chownSync(f, 65534, 65534);
      chownSync(files[2]!, 0, 0);
      chmodSync(files[2]!, 0o444);
      const before = files.map(attributes);
      const r = spawnSync(process.execPath, [CLI, "annotate", "--overwrite", "--jobs", jobs, ...files], { encoding: "utf8", uid: 65534, gid: 65534, cwd: join(dir, `unwritable-${jobs}`) });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^error: permission denied for .*02\.hdf5/);
      files.forEach((f, i) => expect(attributes(f)).toEqual(before[i]));
      return r;
    });
    expect(runs[1]!.stderr.replace("unwritable-2", "unwritable-1")).toBe(runs[0]!.stderr);
    expect(runs[1]!.stdout).toBe(runs[0]!.stdout);
  });

  it.each(["0", "x", "-1", "1.5", ""])("--jobs %j is a usage error (exit 2)", (value) => {
    for (const command of ["annotate", "validate", "peek"]) {
      const r = runCli([command, "--jobs", value, sessions[0]!]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/jobs must be a positive integer/);
    }
  });
});

describe("Ctrl-C during annotate --jobs 3", () => {
  it("exits 130 saying nothing was written; the workers end; every file is readable, none annotated", async () => {
    const big = session("big.hdf5", 9, 10, 50);
    const files = copies(Array.from({ length: 30 }, () => big), "interrupt");
    const child = spawn(process.execPath, [CLI, "annotate", "--jobs", "3", ...files], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    // Interrupt once both worker processes run (this process is the third lane).
    let workers: number[] = [];
    const started = Date.now();
    while (workers.length < 2 && Date.now() - started < 60_000) {
      await new Promise((r) => setTimeout(r, 20));
      try {
        workers = execFileSync("pgrep", ["-P", String(child.pid)], { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number);
      } catch {
        workers = [];
      }
    }
    expect(workers).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGINT");
    const status = await closed;
    expect(status).toBe(130);
    expect(stderr).toMatch(/interrupted \(SIGINT\): nothing was written; every file keeps its last complete write/);
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    for (const f of files) {
      const annotated = attributes(f).filter((t) => t["examiner"] === ANNOTATOR).length;
      expect(annotated).toBe(0);
    }
    // libhdf5's own reader (h5py) opens every file too.
    const opened = execFileSync(PYTHON, ["-c", "import h5py, sys\nfor f in sys.argv[1:]:\n    h5py.File(f, 'r').close()\nprint(len(sys.argv) - 1)", ...files], { encoding: "utf8" });
    expect(opened.trim()).toBe(String(files.length));
  });
});

describe("annotateFiles({ concurrency })", () => {
  it("gives the rows of one process, dry run and written", async () => {
    const dry = await annotateFiles(sessions, { dryRun: true });
    expect(await annotateFiles(sessions, { dryRun: true, concurrency: 2 })).toEqual(dry);
    expect(await annotateFiles(sessions, { dryRun: true, concurrency: 16 })).toEqual(dry);
    const a = copies(sessions, "lib-1");
    const b = copies(sessions, "lib-2");
    const progress: { phase: string; done: number; total: number }[] = [];
    const one = await annotateFiles(a, {});
    const two = await annotateFiles(b, { concurrency: 3, onProgress: (e) => progress.push(e) });
    expect(two.map((r) => ({ ...r, file: r.file.replace("lib-2", "lib-1") }))).toEqual(one);
    expect(two.filter((r) => r.written)).toHaveLength(400);
    a.forEach((f, i) => expect(attributes(b[i]!)).toEqual(attributes(f)));
    expect(progress.at(-1)).toMatchObject({ phase: "write", done: 400, total: 400 });
    expect(progress.filter((e) => e.phase === "measure").at(-1)).toMatchObject({ done: 400, total: 400 });
  });

  it("throws the error of one process: the first file that cannot be opened, as its class", async () => {
    const files = [sessions[0]!, join(dir, "bad.hdf5"), sessions[1]!];
    const one = await annotateFiles(files, { dryRun: true }).catch((e: unknown) => e);
    const two = await annotateFiles(files, { dryRun: true, concurrency: 2 }).catch((e: unknown) => e);
    expect(one).toBeInstanceOf(NotHdf5Error);
    expect(two).toBeInstanceOf(NotHdf5Error);
    expect((two as Error).message).toBe((one as Error).message);
    expect((two as { code: string }).code).toBe((one as { code: string }).code);
  });

  it("rejects a concurrency that is not a positive integer", async () => {
    for (const c of [0, -1, 1.5, "2"]) {
      const e = await annotateFiles(sessions, { concurrency: c as number }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(AnalysisError);
      expect((e as AnalysisError).code).toBe("EANALYSISOPTION");
    }
  });

  it("an abort before the writing writes nothing", async () => {
    const files = copies(sessions, "lib-abort");
    const controller = new AbortController();
    const run = annotateFiles(files, { concurrency: 2, signal: controller.signal, onProgress: () => controller.abort(new Error("enough")) });
    await expect(run).rejects.toMatchObject({ name: "AbortError", message: expect.stringMatching(/nothing was written/) });
    for (const f of files) expect(attributes(f).some((t) => t["examiner"] === ANNOTATOR)).toBe(false);
  });
});
