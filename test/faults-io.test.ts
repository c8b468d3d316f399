/**
 * I/O faults during populate, merge and setTraceAttrs: a full device (a 1 MiB
 * tmpfs, filled), a read-only mount, and a directory or file the user may not
 * write (the child runs as user nobody: root bypasses file modes). Each write
 * runs in a child process (test/faults/io_child.mjs, plain node on dist/) and must fail with the
 * specific error and a one-line message saying what to do; the target must be
 * absent (or unchanged), no temporary file left, sources unchanged, and a file
 * whose attribute write failed must still open here and in h5py with every
 * earlier value. Needs root (mount, setuid); skipped otherwise.
 */
import { sessionOf } from "../src/cachefile/cachefile.js";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheFile } from "../src/offspect.js";
import { runNode } from "./helpers/cli.js";
import { fileSha256, fixture, hasH5py, python, ROOT } from "./helpers/fixtures.js";

const CHILD = join(ROOT, "test", "faults", "io_child.mjs");
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

function sh(cmd: string, args: string[]): { ok: boolean; err: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return { ok: r.status === 0, err: `${r.stderr ?? ""}${r.error ?? ""}` };
}

/** Runs one write in a child process, optionally as user nobody. */
function child(args: string[], asNobody = false): { ok: boolean; name?: string; code?: string; message?: string } {
  const r = runNode([CHILD, ...args], asNobody ? { uid: NOBODY, gid: NOBODY, env: { ...process.env, HOME: "/tmp", TMPDIR: "/tmp" } } : {});
  expect(r.signal, r.stderr).toBeNull();
  expect(r.status, r.stderr).toBe(0);
  const lines = r.stdout.trim().split("\n");
  expect(lines, r.stdout + r.stderr).toHaveLength(1);
  return JSON.parse(lines[0]!) as { ok: boolean; name?: string; code?: string; message?: string };
}

const SOURCES = [fixture("template_R001.hdf5"), fixture("template_R003.hdf5")];
const ADVICE = { ENOSPC: /: free some space and try again$/, EACCES: /: check the file's and directory's permissions$/ };

function expectRefused(result: ReturnType<typeof child>, name: string, code: "ENOSPC" | "EACCES"): void {
  expect(result.ok, JSON.stringify(result)).toBe(false);
  expect(result.name, result.message).toBe(name);
  expect(result.code).toBe(code);
  expect(result.message).not.toMatch(/\n/);
  expect(result.message).toMatch(ADVICE[code]);
}

function partials(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.includes(".partial-"));
}

/** Every attribute of every trace and origin, as this library reads them. */
function snapshot(path: string): unknown {
  const cf = new CacheFile(path);
  try {
    return { origins: sessionOf(cf).originAttrs(), traces: Array.from({ length: cf.length }, (_, i) => cf.getTraceAttrs(i)) };
  } finally {
    cf.close();
  }
}

function h5pySnapshot(path: string): unknown {
  return python(
    `import h5py, sys, json
out = {}
with h5py.File(sys.argv[1], "r") as f:
    def visit(name, obj):
        out[name] = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in obj.attrs.items()}
    f.visititems(visit)
print(json.dumps(out, sort_keys=True))`,
    [path],
  );
}

describe.skipIf(!isRoot)("I/O faults (root: tmpfs mounts and user nobody)", () => {
  let base: string;
  let full: string;
  let ro: string;
  let forbidden: string;
  const mounted: string[] = [];
  const sourceShas = SOURCES.map(fileSha256);

  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), "ocf-io-"));
    chmodSync(base, 0o755);
    full = join(base, "full");
    ro = join(base, "ro");
    forbidden = join(base, "forbidden");
    for (const d of [full, ro, forbidden]) mkdirSync(d);
    for (const d of [full, ro]) {
      const r = sh("mount", ["-t", "tmpfs", "-o", "size=1m,mode=1777", "tmpfs", d]);
      if (!r.ok) throw new Error(`cannot mount a tmpfs at ${d}: ${r.err}`);
      mounted.push(d);
    }
    // The read-only mount holds a CacheFile and an earlier merge result.
    copyFileSync(fixture("template_R001.hdf5"), join(ro, "a.hdf5"));
    copyFileSync(fixture("merged_R001_R003.hdf5"), join(ro, "merged.hdf5"));
    const r = sh("mount", ["-o", "remount,ro", ro]);
    if (!r.ok) throw new Error(`cannot remount ${ro} read-only: ${r.err}`);
    // The full device: a CacheFile, then filler until nothing is left.
    copyFileSync(fixture("template_R001.hdf5"), join(full, "a.hdf5"));
    copyFileSync(fixture("merged_R001_R003.hdf5"), join(full, "merged.hdf5"));
    sh("sh", ["-c", `dd if=/dev/zero of=${join(full, "filler")} bs=1k 2>/dev/null; true`]);
    // A directory and a file user nobody may read but not write.
    copyFileSync(fixture("template_R001.hdf5"), join(forbidden, "a.hdf5"));
    copyFileSync(fixture("merged_R001_R003.hdf5"), join(forbidden, "merged.hdf5"));
    chmodSync(join(forbidden, "a.hdf5"), 0o644);
    chmodSync(forbidden, 0o755);
  });

  afterAll(() => {
    // Unmount even after failures; lazily if something still holds a mount.
    for (const d of mounted.reverse()) {
      if (!sh("umount", [d]).ok) sh("umount", ["-l", d]);
    }
    if (base) rmSync(base, { recursive: true, force: true });
  });

  describe("populate", () => {
    it("on a full device: DiskFullError, no file, no temporary file", () => {
      const target = join(full, "new.hdf5");
      expectRefused(child(["populate", target]), "DiskFullError", "ENOSPC");
      expect(existsSync(target)).toBe(false);
      expect(partials(full)).toEqual([]);
    });
    it("on a read-only mount: PermissionError, no file", () => {
      const target = join(ro, "new.hdf5");
      expectRefused(child(["populate", target]), "PermissionError", "EACCES");
      expect(existsSync(target)).toBe(false);
      expect(partials(ro)).toEqual([]);
    });
    it("in a directory the user may not write: PermissionError, no file", () => {
      const target = join(forbidden, "new.hdf5");
      expectRefused(child(["populate", target], true), "PermissionError", "EACCES");
      expect(existsSync(target)).toBe(false);
      expect(partials(forbidden)).toEqual([]);
    });
  });

  describe("merge (sources readable, target on the faulty location)", () => {
    for (const [where, dir, name, code, nobody] of [
      ["a full device", () => full, "DiskFullError", "ENOSPC", false],
      ["a read-only mount", () => ro, "PermissionError", "EACCES", false],
      ["a directory the user may not write", () => forbidden, "PermissionError", "EACCES", true],
    ] as const) {
      it(`onto ${where}: ${name}; a new target stays absent, an existing one unchanged; sources unchanged`, () => {
        const fresh = join(dir(), "fresh.hdf5");
        expectRefused(child(["merge", fresh, ...SOURCES], nobody), name, code);
        expect(existsSync(fresh)).toBe(false);
        const existing = join(dir(), "merged.hdf5");
        const before = fileSha256(existing);
        expectRefused(child(["merge", existing, ...SOURCES], nobody), name, code);
        expect(fileSha256(existing)).toBe(before);
        expect(partials(dir())).toEqual([]);
        expect(SOURCES.map(fileSha256)).toEqual(sourceShas);
      });
    }
  });

  describe("setTraceAttrs", () => {
    it("on a full device: DiskFullError before anything is written; every earlier value still reads here and in h5py", () => {
      const file = join(full, "a.hdf5");
      const before = fileSha256(file);
      const mine = snapshot(file);
      const theirs = hasH5py() ? h5pySnapshot(file) : undefined;
      expectRefused(child(["setTraceAttrs", file]), "DiskFullError", "ENOSPC");
      expect(fileSha256(file)).toBe(before);
      expect(snapshot(file)).toEqual(mine);
      if (theirs !== undefined) expect(h5pySnapshot(file)).toEqual(theirs);
    });

    it("in a file the user may not write: PermissionError; the file unchanged", () => {
      const file = join(forbidden, "a.hdf5");
      const before = fileSha256(file);
      expectRefused(child(["setTraceAttrs", file], true), "PermissionError", "EACCES");
      expect(fileSha256(file)).toBe(before);
      expect(snapshot(file)).toBeTruthy();
    });

    it("on a read-only mount: PermissionError; the file unchanged", () => {
      const file = join(ro, "a.hdf5");
      const before = fileSha256(file);
      const result = child(["setTraceAttrs", file]);
      expect(fileSha256(file)).toBe(before);
      expectRefused(result, "PermissionError", "EACCES");
    });
  });
});
