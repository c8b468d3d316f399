import { spawn } from "node:child_process";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheFile } from "../src/offspect.js";
import { FileInUseError } from "../src/index.js";
import { copyFixture, fileSha256, python, PYTHON, ROOT, tempDir } from "./helpers/fixtures.js";

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir()));
afterAll(() => cleanup());

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function run(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("exit", (code) => resolve({ code, out, err }));
  });
}

/** A script of test/concurrency/ under plain node (on dist/). */
const node = (script: string, ...args: string[]) => run(process.execPath, [join(ROOT, "test", "concurrency", script), ...args]);

describe("readers in other processes while one process annotates", () => {
  it("4 readers (2 of this library, 2 h5py swmr) for 20 s against 1,000 updates: no unretryable error, no torn value, every update kept", async () => {
    const path = copyFixture("map_session.hdf5", dir, "shared.hdf5");
    const seconds = 22;
    const readers = [
      node("reader.mjs", path, String(seconds)),
      node("reader.mjs", path, String(seconds)),
      run(PYTHON, [join(ROOT, "test", "concurrency", "reader_h5py.py"), path, String(seconds)]),
      run(PYTHON, [join(ROOT, "test", "concurrency", "reader_h5py.py"), path, String(seconds)]),
    ];
    await new Promise((r) => setTimeout(r, 1500)); // readers are running
    const writer = await node("writer.mjs", path, "1000", "15");
    const results = await Promise.all(readers);
    expect(writer.code, writer.err).toBe(0);
    expect(writer.out.trim().split("\n")).toHaveLength(1000);
    for (const r of results) {
      expect(r.code, `${r.out}\n${r.err}`).toBe(0);
      const stats = JSON.parse(r.out.trim().split("\n").at(-1)!) as { reads: number; updatesSeen: number };
      expect(stats.reads).toBeGreaterThan(100);
      expect(stats.updatesSeen).toBeGreaterThan(0);
    }
    const cf = new CacheFile(path);
    const n = cf.length;
    for (let i = 0; i < n; i++) {
      const last = i + n * Math.floor((999 - i) / n);
      expect(cf.getTraceAttrs(i)["comment"]).toBe(`update ${last}`);
    }
    const viaH5py = python<string[]>(
      `import h5py,sys,json
with h5py.File(sys.argv[1],"r") as f:
    print(json.dumps([f[o]["traces"][k].attrs["comment"] for o in f for k in sorted(f[o]["traces"], key=int)]))`,
      [path],
    );
    expect(viaH5py).toEqual(Array.from({ length: n }, (_, i) => `update ${i + n * Math.floor((999 - i) / n)}`));
  });
});

describe("two writers at once", () => {
  it("the second gets a clear file-in-use error and the file stays intact", async () => {
    const path = copyFixture("template_R001.hdf5", dir, "two-writers.hdf5");
    const cf = new CacheFile(path, { lockTimeout: 300 });
    await new Promise((r) => setImmediate(r));
    // The holder keeps the file open until its stdin closes, and says when it holds it: no guess at how long h5py takes to start.
    const py = spawn(
      PYTHON,
      [
        "-c",
        `import h5py,sys
f = h5py.File(sys.argv[1], "r+")
f["template_R001.xdf/traces/0"].attrs["comment"] = "first writer"
f.flush()
print("holding", flush=True)
sys.stdin.read()
f.close()`,
        path,
      ],
      { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] },
    );
    let pyErr = "";
    py.stderr.on("data", (c: Buffer) => (pyErr += c.toString()));
    const holder = new Promise<Run>((resolve) => py.on("exit", (code) => resolve({ code, out: "", err: pyErr })));
    await new Promise<void>((resolve, reject) => {
      py.stdout.on("data", (c: Buffer) => c.toString().includes("holding") && resolve());
      py.on("exit", () => reject(new Error(`the h5py holder ended first: ${pyErr}`)));
    });
    let error: unknown;
    try {
      const attrs = { comment: "second writer", cache_file: cf.fname, cache_file_index: "1" };
      cf.setTraceAttrs(1, attrs as Record<string, string>);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FileInUseError);
    expect((error as FileInUseError).code).toBe("EBUSY");
    expect((error as Error).message).toMatch(/locked by another process.*try again/);
    py.stdin.end();
    expect((await holder).code, (await holder).err).toBe(0);
    const attrs = cf.getTraceAttrs(0);
    expect(attrs["comment"]).toBe("first writer");
    expect(cf.getTraceAttrs(1)["comment"]).toBe("subject fell asleep");
  });
});

describe("attribute updates survive SIGKILL", () => {
  it("after kills at random moments, the file opens here and in h5py with every acknowledged update", async () => {
    const path = join(dir, "killed-writer.hdf5");
    let kills = 0;
    const counts: number[] = [];
    for (let round = 0; round < 25; round++) {
      copyFixture("map_session.hdf5", dir, "killed-writer.hdf5");
      const acked = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, [join(ROOT, "test", "concurrency", "writer.mjs"), path, "1000", "0"], {
          cwd: ROOT,
          stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        let timer: NodeJS.Timeout | undefined;
        child.stdout.on("data", (c: Buffer) => {
          out += c.toString();
          if (!timer) timer = setTimeout(() => child.kill("SIGKILL"), Math.random() * 600);
        });
        let err = "";
        child.stderr.on("data", (c: Buffer) => (err += c.toString()));
        child.on("exit", (_code, signal) => {
          if (timer) clearTimeout(timer);
          if (err && !signal) console.log("writer stderr", err.slice(0, 1500));
          if (signal) kills++;
          resolve((out.match(/ack \d+/g) ?? []).length);
        });
      });
      const cf = new CacheFile(path);
      const n = cf.length;
      for (let i = 0; i < n; i++) {
        const updates = Array.from({ length: acked }, (_, u) => u).filter((u) => u % n === i);
        if (updates.length === 0) continue;
        const last = updates.at(-1)!;
        // The acknowledged update, or the next one to the same trace if it was written before the kill.
        expect([`update ${last}`, `update ${last + n}`], `round ${round}, trace ${i}`).toContain(cf.getTraceAttrs(i)["comment"]);
      }
      cf.close();
      // Kept for h5py, which opens every round's file in one run at the end (one interpreter, not 25).
      copyFileSync(path, join(dir, `killed-writer-${round}.hdf5`));
      counts.push(n);
    }
    const opened = python<number[]>(
      `import h5py,sys,json
out = []
for p in sys.argv[1:]:
    with h5py.File(p,"r") as f:
        out.append(sum(len(f[o]["traces"]) for o in f))
print(json.dumps(out))`,
      counts.map((_, round) => join(dir, `killed-writer-${round}.hdf5`)),
    );
    expect(opened).toEqual(counts);
    expect(kills).toBeGreaterThan(5);
    expect(fileSha256(path)).toMatch(/^[0-9a-f]{64}$/);
  });
});
