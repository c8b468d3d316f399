/**
 * Batch writes under the faults of the real world, each in a child process
 * on the built package (plain node): a disk that is full at many levels (a
 * tmpfs; root), SIGKILL at random moments, and readers in other processes
 * (this library, and h5py with swmr=True) beside two writers. Afterwards
 * h5py and offspect's own code read every trace of the file, and every
 * batch is whole or absent.
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheFile } from "../src/offspect.js";
import { fileSha256, fixture, PYTHON, ROOT } from "./helpers/fixtures.js";
import { CLI, type CliRun, runCli, runNode } from "./helpers/cli.js";

const CHILD = join(ROOT, "test", "faults", "batch_child.mjs");
const READER = join(ROOT, "test", "faults", "batch_reader.mjs");
const isRoot = process.getuid?.() === 0;

interface Line {
  ok: boolean;
  name?: string;
  code?: string;
  message?: string;
  written?: string;
}

/** Runs a child to its end: it must exit 0 (no crash at exit), its lines parsed. */
function child(args: string[]): Line[] {
  const r = runNode([CHILD, ...args]);
  expect(r.signal, r.stderr).toBeNull();
  expect(r.status, r.stderr).toBe(0);
  return r.stdout
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Line);
}

/** Runs the command line; its exit status and output. */
function cli(args: string[]): CliRun {
  return runCli(args);
}

/** h5py and offspect's own code read every trace of each file: ok, and each file's set of examiner tags. */
function readEverywhere(files: string[]): { file: string; ok: boolean; error?: string; tags?: string[] }[] {
  const script = `
import sys, json
sys.path.insert(0, ${JSON.stringify(join(ROOT, "test", "helpers"))})
import offspect_reference as o
out = []
for f in sys.argv[1:]:
    v = o.verify(f)
    if v["ok"]:
        v["tags"] = sorted({o.get_trace_attrs(f, i)["examiner"] for i in range(o.length(f))})
    out.append(v)
print(json.dumps(out))`;
  const out: { file: string; ok: boolean; error?: string; tags?: string[] }[] = [];
  for (let i = 0; i < files.length; i += 100) {
    const r = spawnSync(PYTHON, ["-c", script, ...files.slice(i, i + 100)], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    expect(r.status, r.stderr).toBe(0);
    out.push(...(JSON.parse(r.stdout) as typeof out));
  }
  return out;
}

/** The examiner tags of every trace, as this library reads them. */
function tags(file: string): Set<string> {
  const cf = new CacheFile(file);
  const out = new Set<string>();
  for (let i = 0; i < cf.length; i++) out.add(cf.getTraceAttrs(i)["examiner"]!);
  cf.close();
  return out;
}

function partials(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.includes(".partial-"));
}

describe.skipIf(!isRoot)("a full disk (a tmpfs filled to many levels; root)", () => {
  let disk: string;
  let mounted = false;
  beforeAll(() => {
    disk = mkdtempSync(join(tmpdir(), "ocf-full-"));
    const r = spawnSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", disk], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`cannot mount a tmpfs at ${disk}: ${r.stderr}`);
    mounted = true;
  });
  afterAll(() => {
    if (mounted && spawnSync("umount", [disk]).status !== 0) spawnSync("umount", ["-l", disk]);
    rmSync(disk, { recursive: true, force: true });
  });

  /** A copy of map_session.hdf5 on the tmpfs, with `free` bytes left free. */
  function onFullDisk(free: number): string {
    for (const f of readdirSync(disk)) rmSync(join(disk, f), { force: true });
    const file = join(disk, "S01.hdf5");
    copyFileSync(fixture("map_session.hdf5"), file);
    const st = spawnSync("df", ["-B1", "--output=avail", disk], { encoding: "utf8" }).stdout.trim().split("\n").pop()!;
    const fill = Math.max(0, Number(st) - free);
    if (fill > 0) writeFileSync(join(disk, "filler"), Buffer.alloc(fill));
    return file;
  }

  const LEVELS = [0, 16 * 1024, 192 * 1024, 1024 * 1024, 2 * 1024 * 1024, 2.6 * 1024 * 1024, 6 * 1024 * 1024];
  const OPS: { name: string; run: (file: string) => Line; changed: (file: string) => boolean }[] = [
    { name: "updateManySync (120 traces, 20 KB each)", run: (f) => child(["update-many-sync", f, "full"]).pop()!, changed: (f) => tags(f).has("full") },
    { name: "updateMany (async)", run: (f) => child(["update-many", f, "full"]).pop()!, changed: (f) => tags(f).has("full") },
    {
      name: "cachefile attrs with several --set",
      run: (f) => {
        const r = cli(["attrs", f, "3", "--set", `comment=${"z".repeat(30_000)}`, "--set", "examiner=full", "--set", "reject=True"]);
        expect(r.signal).toBeNull();
        return r.status === 0 ? { ok: true } : { ok: false, message: r.stderr.trim(), code: r.stderr.includes("ENOSPC") || r.stderr.includes("no space") ? "ENOSPC" : "?" };
      },
      changed: (f) => {
        const cf = new CacheFile(f);
        const examiner = cf.getTraceAttrs(3)["examiner"];
        cf.close(); // (its descriptor would keep the space of a deleted file on the tmpfs)
        return examiner === "full";
      },
    },
  ];

  for (const op of OPS) {
    it(`${op.name}: every change or none; DiskFullError says how much space is needed; no crash at exit`, () => {
      const states: string[] = [];
      let refused = 0;
      for (const free of LEVELS) {
        const file = onFullDisk(free);
        const before = fileSha256(file);
        const line = op.run(file);
        if (line.ok) {
          expect(op.changed(file)).toBe(true);
        } else {
          refused++;
          expect(line.code, line.message).toBe("ENOSPC");
          expect(line.message).toMatch(/needs [0-9.]+ (KiB|MiB) free on its disk/);
          expect(line.message).toMatch(/nothing was written/);
          expect(line.message!.split("\n")).toHaveLength(1);
          expect(fileSha256(file)).toBe(before);
        }
        expect(partials(disk)).toEqual([]);
        const keep = join(tmpdir(), `ocf-full-state-${process.pid}-${states.length}.hdf5`);
        copyFileSync(file, keep);
        states.push(keep);
      }
      expect(refused).toBeGreaterThan(0);
      expect(refused).toBeLessThan(LEVELS.length);
      for (const v of readEverywhere(states)) expect(v.ok, `${v.file}: ${v.error}`).toBe(true);
      for (const s of states) rmSync(s, { force: true });
    });
  }

  it("libhdf5 writing a file on a full disk: its close fails, and the process still exits cleanly (no crash in libhdf5's exit handler)", () => {
    const file = onFullDisk(8 * 1024);
    const script = `
import { H5File } from ${JSON.stringify(join(ROOT, "dist", "hdf5", "file.js"))};
const f = H5File.open(process.argv[1], "amend", { locking: false });
let wrote = "yes";
try { for (let i = 0; i < 200; i++) f.setAttrs("/", { ["big" + i]: "x".repeat(64 * 1024) }); } catch (e) { wrote = e.code; }
let closed = "yes";
try { f.close(); } catch (e) { closed = e.code; }
process.stdout.write(JSON.stringify({ wrote, closed }));`;
    const r = runNode(["--input-type=module", "-e", script, file]);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { wrote: string; closed: string };
    expect([out.wrote, out.closed]).toContain("ENOSPC");
  });

  it("cachefile merge onto a disk that fills while the copy is written behind: DiskFullError naming the target, no temporary file left", () => {
    onFullDisk(3 * 1024 * 1024);
    const sources = Array.from({ length: 8 }, (_, i) => {
      const s = join(tmpdir(), `ocf-merge-src-${process.pid}-${i}.hdf5`);
      copyFileSync(fixture("map_session.hdf5"), s);
      return s;
    });
    spawnSync(PYTHON, ["-c", "import h5py, sys\nfor i, f in enumerate(sys.argv[1:]):\n    h = h5py.File(f, 'r+')\n    [h.move(n, f'{i}_{n}') for n in list(h.keys())]\n    h.close()", ...sources]);
    const target = join(disk, "merged.hdf5");
    const r = cli(["merge", "-t", target, "-f", ...sources]);
    expect(r.signal).toBeNull();
    expect(r.status, r.stderr).toBe(1);
    const last = r.stderr.trim().split("\n").pop()!;
    expect(last).toBe(`error: no space left on the device while writing ${target} (cannot write it: the disk is full; nothing was written): free some space and try again`);
    expect(r.stderr).not.toMatch(/partial|ESTATE|earlier step/);
    expect(partials(disk)).toEqual([]);
    for (const s of sources) rmSync(s, { force: true });
  });

  it("cachefile annotate: every trace's measures or none", () => {
    const fresh = join(tmpdir(), `ocf-annotate-ref-${process.pid}.hdf5`);
    copyFileSync(fixture("map_session.hdf5"), fresh);
    expect(cli(["annotate", fresh, "--overwrite"]).status).toBe(0);
    const annotated = new CacheFile(fresh);
    const after = Array.from({ length: annotated.length }, (_, i) => annotated.getTraceAttrs(i)["neg_peak_latency_ms"]);
    const original = new CacheFile(fixture("map_session.hdf5"));
    const before = Array.from({ length: original.length }, (_, i) => original.getTraceAttrs(i)["neg_peak_latency_ms"]);
    let refused = 0;
    for (const free of [0, 4096, 16 * 1024, 64 * 1024, 256 * 1024]) {
      const file = onFullDisk(free);
      const r = cli(["annotate", file, "--overwrite"]);
      expect(r.signal, r.stderr).toBeNull();
      const cf = new CacheFile(file);
      const now = Array.from({ length: cf.length }, (_, i) => cf.getTraceAttrs(i)["neg_peak_latency_ms"]);
      cf.close();
      if (r.status === 0) expect(now).toEqual(after);
      else {
        refused++;
        expect(r.stderr).toMatch(/no space left .* needs [0-9.]+ (KiB|MiB) free on its disk.*nothing was written/);
        expect(now).toEqual(before);
      }
      expect(partials(disk)).toEqual([]);
    }
    expect(refused).toBeGreaterThan(0);
    rmSync(fresh, { force: true });
  });
});

describe("SIGKILL at random moments", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ocf-kill-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Starts a child and kills it (SIGKILL) after `ms`; its lines so far. */
  function killAfter(args: string[], ms: number, command = CHILD): Promise<{ lines: Line[]; killed: boolean }> {
    return new Promise((resolve, reject) => {
      const c = spawn(process.execPath, [command, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      c.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
      const timer = setTimeout(() => c.kill("SIGKILL"), ms);
      c.on("error", reject);
      c.on("close", (_status, signal) => {
        clearTimeout(timer);
        const lines = out
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as Line);
        resolve({ lines, killed: signal === "SIGKILL" });
      });
    });
  }

  it("a loop of batch writes killed 50 times: each time the file holds whole batches only (the last acknowledged, or the one under way), in h5py, offspect and here", async () => {
    const file = join(dir, "loop.hdf5");
    copyFileSync(fixture("map_session.hdf5"), file);
    let random = 12345;
    const next = () => ((random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const states: string[] = [];
    let last = [...tags(file)][0]!;
    let kills = 0;
    for (let round = 0; round < 50; round++) {
      const { lines, killed } = await killAfter(["loop", file, `r${round}`], 150 + Math.floor(next() * 900));
      if (killed) kills++;
      for (const l of lines) expect(l.ok, l.message).toBe(true);
      const acknowledged = lines.length > 0 ? lines[lines.length - 1]!.written! : last;
      const seen = tags(file);
      expect(seen.size, `round ${round}: a mix of batches ${[...seen].join(", ")}`).toBe(1);
      const tag = [...seen][0]!;
      // The last batch acknowledged, or the one after it that was under way when the kill came.
      const underWay = lines.length > 0 ? `r${round}-${lines.length + 1}` : `r${round}-1`;
      expect([acknowledged, underWay], `round ${round}`).toContain(tag);
      last = tag;
      const keep = join(dir, `state-${round}.hdf5`);
      copyFileSync(file, keep);
      states.push(keep);
    }
    // A compaction killed half-way leaves its new file behind; the next write into the folder removes it (its process is gone).
    new CacheFile(file).updateSync(0, { comment: "after the kills" });
    expect(partials(dir)).toEqual([]);
    expect(kills).toBeGreaterThanOrEqual(50 * 0.8);
    for (const v of readEverywhere(states)) {
      expect(v.ok, `${v.file}: ${v.error}`).toBe(true);
      expect(v.tags, v.file).toHaveLength(1);
    }
    // Compactions happened meanwhile (the batches replace 2.4 MB each): the file did not grow without bound.
    expect(statSync(file).size).toBeLessThan(4 * (statSync(fixture("map_session.hdf5")).size + 120 * 20_100));
  });

  it("cachefile annotate killed 20 times: every trace's measures or none", async () => {
    const file = join(dir, "annotate-ref.hdf5");
    copyFileSync(fixture("map_session.hdf5"), file);
    expect(cli(["annotate", file, "--overwrite"]).status).toBe(0);
    const done = new CacheFile(file);
    const after = Array.from({ length: done.length }, (_, i) => done.getTraceAttrs(i)["neg_peak_magnitude_uv"]);
    const original = new CacheFile(fixture("map_session.hdf5"));
    const before = Array.from({ length: original.length }, (_, i) => original.getTraceAttrs(i)["neg_peak_magnitude_uv"]);
    let landed = 0;
    const states: string[] = [];
    for (let k = 0; k < 20; k++) {
      const target = join(dir, `annotate-${k}.hdf5`);
      copyFileSync(fixture("map_session.hdf5"), target);
      const { killed } = await killAfter(["annotate", target, "--overwrite"], 100 + k * 45, CLI);
      if (killed) landed++;
      const cf = new CacheFile(target);
      const now = Array.from({ length: cf.length }, (_, i) => cf.getTraceAttrs(i)["neg_peak_magnitude_uv"]);
      expect([JSON.stringify(before), JSON.stringify(after)], `kill ${k}`).toContain(JSON.stringify(now));
      states.push(target);
    }
    expect(landed).toBeGreaterThan(5);
    for (const v of readEverywhere(states)) expect(v.ok, `${v.file}: ${v.error}`).toBe(true);
  });
});

describe("readers beside writers", () => {
  it("two processes write 120 batches while h5py (swmr=True) and this library read in a loop: no reader sees a half-written file or a mix of batches", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ocf-readers-"));
    const file = join(dir, "shared.hdf5");
    copyFileSync(fixture("map_session.hdf5"), file);
    const stop = join(dir, "stop");
    const h5pyReader = `
import h5py, sys, json, os
f, stop = sys.argv[1], sys.argv[2]
reads = refused = mixed = 0
errors = []
while not os.path.exists(stop):
    try:
        with h5py.File(f, "r", libver="latest", swmr=True) as h:
            tags = set()
            for o in h:
                for t in h[o]["traces"]:
                    tags.add(h[o]["traces"][t].attrs["examiner"])
        reads += 1
        if len(tags) != 1:
            mixed += 1
    except OSError as e:
        if "unable to lock file" in str(e):
            refused += 1
        else:
            errors.append(str(e))
print(json.dumps({"reads": reads, "refused": refused, "mixed": mixed, "errors": errors[:10], "errorCount": len(errors)}))`;
    const run = (cmd: string, args: string[]) =>
      new Promise<string>((resolve, reject) => {
        const c = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        let err = "";
        c.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
        c.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
        c.on("error", reject);
        c.on("close", (status) => (status === 0 ? resolve(out) : reject(new Error(`${cmd} ${args[0]} exited ${status}: ${err}`))));
      });
    const readers = [run(PYTHON, ["-c", h5pyReader, file, stop]), run(process.execPath, [READER, file, stop])];
    const writers = [run(process.execPath, [CHILD, "loop", file, "A", "60"]), run(process.execPath, [CHILD, "loop", file, "B", "60"])];
    const written = (await Promise.all(writers)).map((o) => o.trim().split("\n").filter((l) => JSON.parse(l).ok).length);
    writeFileSync(stop, "");
    const [h5py, ours] = (await Promise.all(readers)).map((o) => JSON.parse(o.trim().split("\n").pop()!) as { reads: number; mixed: number; errorCount: number; errors: string[] });
    console.log(`readers beside writers: h5py ${JSON.stringify(h5py)}, this library ${JSON.stringify(ours)}`);
    expect(written).toEqual([60, 60]);
    expect(h5py!.errors).toEqual([]);
    expect(h5py!.mixed).toBe(0);
    expect(h5py!.reads).toBeGreaterThan(0);
    expect(ours!.errors).toEqual([]);
    expect(ours!.mixed).toBe(0);
    expect(ours!.reads).toBeGreaterThan(0);
    const [v] = readEverywhere([file]);
    expect(v!.ok, v!.error).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });
});

