/**
 * Carrying out a commit's operations (commit.ts) on the file system:
 * blocking, or on libuv's thread pool. A runner hands each operation's
 * result back to the commit, or its error (which the commit handles: it
 * takes back what it wrote, or removes its new file).
 * @internal
 * @module
 */
import {
  closeSync,
  constants,
  copyFileSync,
  fchmodSync,
  fchownSync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statfsSync,
  writeSync,
  writevSync,
} from "node:fs";
import { close, fdatasync, ftruncate, open, read, write } from "node:fs";
import { copyFile, rename, rm, statfs } from "node:fs/promises";
import { removeStalePartials } from "./atomic.js";
import { H5File } from "../hdf5/file.js";
import type { Op } from "./commit.js";

/** Performs one operation and gives its result. */
export type PerformSync = (op: Op) => unknown;
export type PerformAsync = (op: Op) => Promise<unknown>;

/**
 * Who performs the operations of the commits a `CacheFile` makes: the file
 * system, unless a test (of what a crash or a full disk leaves) records or
 * fails them.
 */
const performers: { sync: PerformSync; async: PerformAsync } = { sync: performSync, async: performAsync };

/**
 * Runs `body` with every commit's operations performed by `perform` (sync
 * and async commits alike), then restores the file system's.
 * @internal for tests of what a crash or a full disk leaves
 */
export async function performingWith<T>(perform: PerformSync, body: () => T | Promise<T>): Promise<T> {
  const saved = { ...performers };
  performers.sync = perform;
  performers.async = async (op) => perform(op);
  try {
    return await body();
  } finally {
    Object.assign(performers, saved);
  }
}

/** Runs a commit (or any generator of operations) to its end, each operation performed by `perform`. */
export function runOpsSync<T>(work: Generator<Op, T, unknown>, perform: PerformSync = performers.sync): T {
  let value: unknown;
  let failed = false;
  let error: unknown;
  for (;;) {
    const step = failed ? work.throw(error) : work.next(value);
    if (step.done) return step.value;
    failed = false;
    try {
      value = perform(step.value);
    } catch (e) {
      failed = true;
      error = e;
    }
  }
}

/** {@link runOpsSync}, each operation awaited. */
export async function runOpsAsync<T>(work: Generator<Op, T, unknown>, perform: PerformAsync = performers.async): Promise<T> {
  let value: unknown;
  let failed = false;
  let error: unknown;
  for (;;) {
    const step = failed ? work.throw(error) : work.next(value);
    if (step.done) return step.value;
    failed = false;
    try {
      value = await perform(step.value);
    } catch (e) {
      failed = true;
      error = e;
    }
  }
}

const CREATE = constants.O_CREAT | constants.O_EXCL | constants.O_RDWR;

function writeAll(fd: number, bytes: Buffer, at: number): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, at + done);
}

/** Writes `buffers` one after the other from `at` (IOV_MAX at a time, short writes continued). */
function writevAll(fd: number, buffers: Buffer[], at: number): void {
  let i = 0;
  let skip = 0; // bytes of buffers[i] already written
  let pos = at;
  while (i < buffers.length) {
    const batch = buffers.slice(i, i + 1024);
    if (skip > 0) batch[0] = batch[0]!.subarray(skip);
    let n = writevSync(fd, batch, pos);
    pos += n;
    while (i < buffers.length && n > 0) {
      const left = buffers[i]!.length - skip;
      if (n >= left) {
        n -= left;
        i++;
        skip = 0;
      } else {
        skip += n;
        n = 0;
      }
    }
    while (i < buffers.length && buffers[i]!.length === 0) i++;
  }
}

function syncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some file systems cannot flush a folder; the rename is atomic anyway.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function keepOwnerSync(fd: number, mode: number, uid: number, gid: number): void {
  fchmodSync(fd, mode & 0o7777);
  const st = fstatSync(fd);
  if (st.uid !== uid || st.gid !== gid) fchownSync(fd, uid, gid);
}

/** Makes `changes` through libhdf5 in the file at `path` (default format bounds, as h5py's "r+"). */
function libhdf5Sync(path: string, changes: Extract<Op, { op: "libhdf5" }>["changes"]): void {
  const f = H5File.open(path, "amend", { locking: false });
  let failed = true;
  try {
    for (const c of changes) {
      if (c.attrs && Object.keys(c.attrs).length > 0) f.setAttrs(c.path, { ...c.attrs });
      if (c.data) f.write(c.path, c.data, f.shape(c.path));
    }
    failed = false;
  } finally {
    try {
      f.close();
    } catch (e) {
      if (!failed) throw e;
    }
  }
}

export function performSync(op: Op): unknown {
  switch (op.op) {
    case "statfs": {
      const s = statfsSync(op.dir);
      return s.bavail * s.bsize;
    }
    case "write":
      writeAll(op.fd, op.bytes, op.at);
      return undefined;
    case "writev":
      writevAll(op.fd, op.buffers, op.at);
      return undefined;
    case "copyRange": {
      const buf = Buffer.allocUnsafe(op.length);
      for (let done = 0; done < op.length; ) {
        const n = readSync(op.source, buf, done, op.length - done, op.from + done);
        if (n === 0) throw Object.assign(new Error(`the file ended at ${op.from + done} bytes while it was copied`), { code: "EIO" });
        done += n;
      }
      writeAll(op.to, buf, op.at);
      return undefined;
    }
    case "copyFile":
      copyFileSync(op.from, op.to, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
      return undefined;
    case "sync":
      fdatasyncSync(op.fd);
      return undefined;
    case "truncate":
      ftruncateSync(op.fd, op.length);
      return undefined;
    case "create":
      return openSync(op.path, CREATE, 0o600);
    case "open":
      return openSync(op.path, "r+");
    case "close":
      closeSync(op.fd);
      return undefined;
    case "keepOwner":
      keepOwnerSync(op.fd, op.mode, op.uid, op.gid);
      return undefined;
    case "libhdf5":
      libhdf5Sync(op.path, op.changes);
      return undefined;
    case "rename":
      renameSync(op.from, op.to);
      return undefined;
    case "syncDir":
      syncDirSync(op.dir);
      return undefined;
    case "unlink":
      rmSync(op.path, { force: true });
      return undefined;
    case "removeStale":
      removeStalePartials(op.dir);
      return undefined;
  }
}

async function writeAllAsync(fd: number, bytes: Buffer, at: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const step = (done: number) => {
      if (done >= bytes.length) return resolve();
      write(fd, bytes, done, bytes.length - done, at + done, (err, n) => (err ? reject(err) : step(done + n)));
    };
    step(0);
  });
}

/** {@link performSync} with the file system's work on libuv's thread pool (libhdf5's own, and the owner's, stay blocking: the rare way). */
export async function performAsync(op: Op): Promise<unknown> {
  switch (op.op) {
    case "statfs": {
      const s = await statfs(op.dir);
      return s.bavail * s.bsize;
    }
    case "write":
      return writeAllAsync(op.fd, op.bytes, op.at);
    case "writev":
      return writeAllAsync(op.fd, Buffer.concat(op.buffers), op.at);
    case "copyRange": {
      const buf = Buffer.allocUnsafe(op.length);
      for (let done = 0; done < op.length; ) {
        const n = await new Promise<number>((resolve, reject) =>
          read(op.source, buf, done, op.length - done, op.from + done, (err, k) => (err ? reject(err) : resolve(k))),
        );
        if (n === 0) throw Object.assign(new Error(`the file ended at ${op.from + done} bytes while it was copied`), { code: "EIO" });
        done += n;
      }
      return writeAllAsync(op.to, buf, op.at);
    }
    case "copyFile":
      return copyFile(op.from, op.to, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    case "sync":
      return new Promise<void>((resolve, reject) => fdatasync(op.fd, (err) => (err ? reject(err) : resolve())));
    case "truncate":
      return new Promise<void>((resolve, reject) => ftruncate(op.fd, op.length, (err) => (err ? reject(err) : resolve())));
    case "create":
      return new Promise<number>((resolve, reject) => open(op.path, CREATE, 0o600, (err, fd) => (err ? reject(err) : resolve(fd))));
    case "close":
      return new Promise<void>((resolve, reject) => close(op.fd, (err) => (err ? reject(err) : resolve())));
    case "rename":
      return rename(op.from, op.to);
    case "unlink":
      return rm(op.path, { force: true });
    default:
      return performSync(op);
  }
}
