/**
 * Writes are all or nothing (src/cachefile/commit.ts): what h5py and
 * offspect's own code read after each way of writing, every state a crash
 * can leave after any prefix of a write's operations (with the unflushed
 * ones lost in any subset and order, or torn), and a disk that fills at
 * every point of a write.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, linkSync, readdirSync, readFileSync, readlinkSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheFile } from "../src/offspect.js";
import { CacheFileError, DiskFullError } from "../src/index.js";
import { performingWith } from "../src/cachefile/commitIo.js";
import type { Op } from "../src/cachefile/commit.js";
import { crashStates, fillingDisk, recorder, type DiskState } from "./helpers/crash.js";
import { copyFixture, fixtureNames, PYTHON, ROOT, tempDir } from "./helpers/fixtures.js";

const REFERENCE = join(ROOT, "test", "helpers", "offspect_reference.py");

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir("ocf-commit-")));
afterAll(() => cleanup());

interface Verified {
  file: string;
  ok: boolean;
  digest?: string;
  error?: string;
  traces?: number;
}

/** What h5py and offspect's own code read of each file (one Python process for all). */
function verify(files: string[]): Verified[] {
  const out: Verified[] = [];
  for (let i = 0; i < files.length; i += 200) {
    out.push(...(JSON.parse(execFileSync(PYTHON, [REFERENCE, "verify", ...files.slice(i, i + 200)], { encoding: "utf8", maxBuffer: 512 * 1024 * 1024 })) as Verified[]));
  }
  return out;
}

/** What this library reads of a file: every trace's stored text (its own path left out) and data. */
function ownView(file: string): string {
  const cf = new CacheFile(file);
  const parts: string[] = [];
  for (let i = 0; i < cf.length; i++) {
    const a = { ...cf.getTraceAttrs(i) };
    delete a["cache_file"];
    parts.push(JSON.stringify(Object.entries(a).sort()), Buffer.from(cf.getTraceData(i).data.buffer).toString("base64"));
  }
  cf.close();
  return parts.join("\n");
}

let serial = 0;
function copyOf(name: string, prepare?: (file: string) => void): string {
  const file = copyFixture(name, dir, `${name.replace(/\.hdf5$/, "")}-${serial++}.hdf5`);
  prepare?.(file);
  return file;
}

/** A descriptor's path (the recorder learns the target's this way: the CacheFile opened it). */
function fdPath(fd: number): string {
  return readlinkSync(`/proc/self/fd/${fd}`);
}

/** Records a write made by `write` on `file`: its operations, and the file before and after. */
async function recordWrite(file: string, write: (cf: CacheFile) => unknown): Promise<{ before: Buffer; after: Buffer; ops: ReturnType<typeof recorder>["ops"] }> {
  const before = readFileSync(file);
  const fds = new Map<number, string>();
  const r = recorder(fds);
  const perform = (op: Op) => {
    for (const fd of ["fd" in op ? op.fd : undefined, op.op === "copyRange" ? op.source : undefined]) if (fd !== undefined && !fds.has(fd)) fds.set(fd, fdPath(fd));
    return r.perform(op);
  };
  await performingWith(perform, () => write(new CacheFile(file)));
  return { before, after: readFileSync(file), ops: r.ops };
}

/** A copy of `src` in the newer HDF5 format (h5py with libver="latest"): version 2 object headers, link messages, which a write copies and replaces. */
function latestFormat(src: string, dst: string): void {
  execFileSync(PYTHON, [
    "-c",
    `
import sys, h5py
src, dst = sys.argv[1], sys.argv[2]
with h5py.File(src, "r") as a, h5py.File(dst, "w", libver="latest") as b:
    def copy(name, obj):
        if isinstance(obj, h5py.Group): g = b.require_group(name)
        else: g = b.create_dataset(name, data=obj[()])
        for k, v in obj.attrs.items(): g.attrs[k] = v
    a.visititems(copy)
    for k, v in a.attrs.items(): b.attrs[k] = v
`,
    src,
    dst,
  ]);
}

/** The changes each test makes, by the ways a user writes (`prepare`: what the copy goes through first). */
const WRITES: { name: string; fixture: string; prepare?: (file: string) => void; write: (cf: CacheFile) => unknown }[] = [
  { name: "a single typed update", fixture: "template_R001.hdf5", write: (cf) => cf.updateSync(1, { reject: true, comment: "noisy baseline" }) },
  {
    name: "a batch of typed updates on every trace",
    fixture: "map_session.hdf5",
    write: (cf) => cf.updateManySync(Array.from({ length: cf.length }, (_, index) => ({ index, values: { comment: `batch ${index} ✓`, neg_peak_latency_ms: 20 + index / 8 } }))),
  },
  {
    name: "setTraceAttrs (offspect's text, a 12 KB comment)",
    fixture: "merged_R001_R003.hdf5",
    write: (cf) => {
      const a = cf.getTraceAttrs(2);
      a["comment"] = "x".repeat(12_000);
      a["stimulation_intensity_mso"] = "66";
      return cf.setTraceAttrs(2, a);
    },
  },
  {
    name: "writeData",
    fixture: "erp_multichannel.hdf5",
    write: (cf) => {
      const t = cf.getTraceData(3);
      return cf.writeData(3, { data: t.data.map((v) => v * 2), shape: t.shape });
    },
  },
  {
    name: "a write that compacts the file",
    fixture: "template_R002.hdf5",
    prepare: (file) => {
      const cf = new CacheFile(file);
      for (let k = 0; k < 3; k++) cf.updateSync(0, { comment: `${k} ${"-".repeat(20_000)}` });
    },
    write: (cf) => cf.updateSync(0, { comment: "short" }),
  },
  {
    name: "a write to a copy (the newer HDF5 format)",
    fixture: "template_R001.hdf5",
    prepare: (file) => {
      const latest = `${file}.latest.hdf5`;
      latestFormat(file, latest);
      renameSync(latest, file);
    },
    write: (cf) => cf.updateManySync([{ index: 0, values: { reject: true } }, { index: 1, values: { comment: "both or neither" } }]),
  },
];

describe("what h5py and offspect's own code read after a write", () => {
  it.each(fixtureNames())("%s: a batch on every trace reads as the same batch written by h5py", (name) => {
    const ours = copyOf(name);
    const theirs = copyOf(name);
    const cf = new CacheFile(ours);
    const n = cf.length;
    const texts = Array.from({ length: n }, (_, i) => ({ comment: `trace ${i}: ö ✓ ${"long ".repeat(i % 3 === 0 ? 1200 : 1)}`, examiner: i % 2 ? "" : "A. Person" }));
    cf.updateManySync(texts.map((values, index) => ({ index, values })));
    // The same keys written by h5py, as offspect's update_trace_attributes writes each (attrs[key] = str).
    const textsFile = join(dir, `texts-${serial++}.json`);
    writeFileSync(textsFile, JSON.stringify(texts));
    const script = `
import sys, json, h5py
sys.path.insert(0, ${JSON.stringify(join(ROOT, "test", "helpers"))})
import offspect_reference as o
texts = json.load(open(sys.argv[2]))
with o.write_file(sys.argv[1]) as f:
    for i, (origin, key) in enumerate(o.trace_index(f)):
        for k, v in texts[i].items():
            f[origin]["traces"][key].attrs[k] = v
print("true")`;
    execFileSync(PYTHON, ["-c", script, theirs, textsFile], { encoding: "utf8" });
    const [a, b] = verify([ours, theirs]);
    expect(a!.ok, a!.error).toBe(true);
    expect(a!.digest).toBe(b!.digest);
    expect(ownView(ours)).toBe(ownView(theirs));
    execFileSync("h5dump", ["-o", "/dev/null", ours], { stdio: "ignore" });
  });

  it("many small writes, then the unused space is given back: the file is compacted, and reads the same", () => {
    const file = copyOf("template_R001.hdf5");
    const size0 = statSync(file).size;
    const cf = new CacheFile(file);
    for (let k = 0; k < 40; k++) cf.updateSync(k % 2, { comment: `edit ${k} ${"•".repeat(4000)}` });
    const size = statSync(file).size;
    // 40 edits of 12 KB each: what they leave unused is given back once it passes 64 KiB and half of what is used.
    expect(size).toBeLessThan(size0 + 2 * 12_100 + 64 * 1024 + 16 * 1024);
    const [v] = verify([file]);
    expect(v!.ok, v!.error).toBe(true);
    expect(new CacheFile(file).traceSync(1).attrs.comment).toBe(`edit 39 ${"•".repeat(4000)}`);
  });

  it("a 10 MB comment leaves a file of about its size on disk, and replacing it gives the space back", () => {
    const file = copyOf("template_R002.hdf5");
    const size0 = statSync(file).size;
    const cf = new CacheFile(file);
    cf.updateSync(0, { comment: "c".repeat(10_000_000) });
    const st = statSync(file);
    expect(st.size).toBeLessThan(size0 + 10_000_000 + 64 * 1024);
    expect(st.blocks * 512).toBeLessThan(size0 + 10_000_000 + 256 * 1024);
    cf.updateSync(0, { comment: "short again" });
    expect(statSync(file).size).toBeLessThan(size0 + 64 * 1024);
    const [v] = verify([file]);
    expect(v!.ok, v!.error).toBe(true);
  });

  it("keeps the file's inode, mode and hard links when it appends; a file in the newer HDF5 format is written to a copy that keeps mode and owner", () => {
    const file = copyOf("template_R003.hdf5");
    chmodSync(file, 0o640);
    const link = join(dir, "link-to-R003.hdf5");
    linkSync(file, link);
    const ino = statSync(file).ino;
    new CacheFile(file).updateSync(0, { comment: "through a hard link" });
    expect(statSync(file).ino).toBe(ino);
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(new CacheFile(link).traceSync(0).attrs.comment).toBe("through a hard link");

    const latest = join(dir, "latest.hdf5");
    latestFormat(copyOf("template_R001.hdf5"), latest);
    chmodSync(latest, 0o604);
    const ino2 = statSync(latest).ino;
    new CacheFile(latest).updateSync(1, { reject: true });
    expect(statSync(latest).ino).not.toBe(ino2);
    expect(statSync(latest).mode & 0o777).toBe(0o604);
    expect(new CacheFile(latest).traceSync(1).attrs.reject).toBe(true);
    // ... and one with two links is refused rather than split.
    linkSync(latest, join(dir, "latest-link.hdf5"));
    const sha = readFileSync(latest);
    let error: unknown;
    try {
      new CacheFile(latest).updateSync(1, { reject: false });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CacheFileError);
    expect((error as CacheFileError).code).toBe("EREPLACE");
    expect((error as Error).message).toMatch(/2 hard links/);
    expect(readFileSync(latest).equals(sha)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes(".partial-"))).toEqual([]);
  });
});

describe("every state a crash leaves", () => {
  const totals: Record<string, number> = {};
  afterAll(() => {
    console.log(`crash states checked: ${JSON.stringify(totals)}`);
  });

  it.each(WRITES)("$name: after any prefix of its operations, the file reads as the old or the new one, in h5py, offspect and here", async ({ name, fixture, prepare, write }) => {
    const file = copyOf(fixture, prepare);
    const { before, after, ops } = await recordWrite(file, write);
    expect(ops.some((o) => o.op === "sync")).toBe(true);
    const oldFile = join(dir, `old-${serial}.hdf5`);
    const newFile = join(dir, `new-${serial++}.hdf5`);
    writeFileSync(oldFile, before);
    writeFileSync(newFile, after);
    const initial: DiskState = new Map([[file, before]]);
    const files: string[] = [];
    const labels: string[] = [];
    for (const { label, state } of crashStates(initial, ops, 24)) {
      const bytes = state.get(file);
      expect(bytes, `${label}: the file is gone`).toBeDefined();
      const out = join(dir, `state-${serial++}.hdf5`);
      writeFileSync(out, bytes!);
      files.push(out);
      labels.push(label);
    }
    const [oldV, newV, ...states] = verify([oldFile, newFile, ...files]);
    expect(oldV!.digest).not.toBe(newV!.digest);
    const oldOwn = ownView(oldFile);
    const newOwn = ownView(newFile);
    states.forEach((v, i) => {
      expect(v.ok, `${labels[i]}: ${v.error}`).toBe(true);
      expect([oldV!.digest, newV!.digest], labels[i]).toContain(v.digest);
      expect([oldOwn, newOwn], labels[i]).toContain(ownView(files[i]!));
    });
    totals[name] = states.length;
  });
});

describe("a disk that fills", () => {
  it.each(WRITES)("$name: full at any byte, the write fails with DiskFullError and the file is as it was, byte for byte", async ({ fixture, prepare, write }) => {
    const file = copyOf(fixture, prepare);
    const original = readFileSync(file);
    // The new bytes the write takes, on a disk with room.
    const room = fillingDisk(Number.MAX_SAFE_INTEGER);
    const measured = copyOf(fixture, prepare);
    await performingWith(room.perform, () => write(new CacheFile(measured)));
    const total = room.written();
    expect(total).toBeGreaterThan(0);
    const points = new Set<number>([0, 1, 511, 4096, total - 1]);
    for (let n = 0; n < total; n += Math.max(1, Math.floor(total / 40))) points.add(n);
    for (const budget of [...points].filter((p) => p >= 0 && p < total).sort((a, b) => a - b)) {
      const disk = fillingDisk(budget);
      let error: unknown;
      await performingWith(disk.perform, () => {
        try {
          write(new CacheFile(file));
        } catch (e) {
          error = e;
        }
      });
      expect(error, `full after ${budget} of ${total} bytes`).toBeInstanceOf(DiskFullError);
      expect((error as DiskFullError).code).toBe("ENOSPC");
      expect((error as Error).message).toMatch(/nothing was written/);
      expect((error as Error).message).not.toMatch(/partial/);
      expect(readFileSync(file).equals(original), `full after ${budget} bytes`).toBe(true);
      expect(readdirSync(dir).filter((f) => f.includes(".partial-"))).toEqual([]);
    }
    const [v] = verify([file]);
    expect(v!.ok).toBe(true);
  });

  it("knows the space a write needs before it writes: too little free, it says how much is needed and writes nothing", async () => {
    const file = copyOf("map_session.hdf5");
    const original = readFileSync(file);
    let error: unknown;
    await performingWith(
      (op) => (op.op === "statfs" ? 20_000 : op.op === "removeStale" ? undefined : (() => { throw new Error(`${op.op} must not run`); })()),
      () => {
        try {
          new CacheFile(file).updateManySync(Array.from({ length: 40 }, (_, index) => ({ index, values: { comment: "z".repeat(1000) } })));
        } catch (e) {
          error = e;
        }
      },
    );
    expect(error).toBeInstanceOf(DiskFullError);
    expect((error as Error).message).toMatch(/it needs [0-9.]+ (KiB|MiB) free on its disk and 20 KiB are; nothing was written/);
    expect(readFileSync(file).equals(original)).toBe(true);
    expect(existsSync(file)).toBe(true);
  });
});

