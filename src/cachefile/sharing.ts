/**
 * Sharing a file with other processes and with this process's other
 * handles: readers take a shared lock (as libhdf5 does), writers announce
 * themselves and take the exclusive lock; readers let a waiting writer go
 * first; a write of this process first asks this process's readers of the
 * file to let go (a lock of this process would otherwise keep out its own
 * writer). Every wait gives up after the caller's timeout with
 * FileInUseError.
 * @internal
 * @module
 */
import { CacheFileError, FileInUseError, fromErrno } from "../base/errors.js";
import { fstatSync } from "node:fs";
import type { CommitTarget } from "./commit.js";
import { Hdf5Source, type FallbackEvent } from "../hdf5/source.js";
import type { FormatCaches } from "../hdf5/format/file.js";
import { native, type LockHandle } from "../hdf5/native.js";
import { markOwnWrite, sameStamp, type Stamp, stampOf, stampOfFd, trustworthy } from "./freshness.js";

/**
 * A file open for reading: a descriptor and what was parsed through it. The
 * shared lock is held only during a call ({@link ReadSession.hold} ...
 * {@link ReadSession.letGo}), as offspect holds the file only during a
 * call; between calls other processes may write, and the next call's stamp
 * tells.
 */
export interface ReadSession {
  readonly source: Hdf5Source;
  /** The file's stamp when it was opened. */
  readonly stamp: Stamp;
  /** Whether an equal stamp later proves the file unchanged (see freshness.ts). */
  readonly trusted: boolean;
  /**
   * Takes the shared lock again for a call: waits (up to the session's
   * timeout) while a writer of this library waits for or holds the file.
   * @throws {FileInUseError}
   */
  hold(): void;
  /** Tries to take the shared lock without waiting; false when a writer waits for or holds the file. */
  tryHold(): boolean;
  /**
   * {@link hold}, then whether the file at the path still has the session's
   * stamp (the lock stays taken either way): the writer test, the lock and
   * the stat in one native call when no writer is in the way.
   * @throws {FileInUseError} / {FileNotFoundError}
   */
  holdSame(): boolean;
  /** {@link tryHold}, then as {@link holdSame}; undefined when the lock could not be taken at once. */
  tryHoldSame(): boolean | undefined;
  /** Lets go of the shared lock (the descriptor stays open). */
  letGo(): void;
  /** Runs async work that reads through the session: closing waits for it. */
  track<T>(work: Promise<T>): Promise<T>;
  /** Closes the session (once the async work it tracks has finished). */
  close(): void;
}

/** A file open for writing under the exclusive lock, with a read view of it. */
export interface WriteSession {
  /** The file read through the format module (stored values, checked before anything is written). */
  readonly source: Hdf5Source;
  /** The file as a commit (commit.ts) changes it: its descriptor, parse and owner. */
  target(): CommitTarget;
  /** Closes everything; returns the file's stamp afterwards (`written`: stamped as this library's own write). */
  close(written: boolean): Stamp;
}

// ---------------------------------------------------------------------------
// This process's readers and writes

/** Read sessions held by CacheFile objects, by file: a write of this process asks them to let go first. */
const holders = new Map<string, Set<{ release(): void }>>();

export function registerHolder(file: string, holder: { release(): void }): void {
  let set = holders.get(file);
  if (!set) holders.set(file, (set = new Set()));
  set.add(holder);
}

export function unregisterHolder(file: string, holder: { release(): void }): void {
  const set = holders.get(file);
  set?.delete(holder);
  if (set?.size === 0) holders.delete(file);
}

function releaseHolders(file: string): void {
  for (const holder of holders.get(file) ?? []) holder.release();
}

/** Async writes of this process in progress, by file: readers of the file wait for them. */
const writesInProcess = new Map<string, Promise<void>>();

/** Waits until no async write of this process is under way on `file`. */
export async function writesDone(file: string): Promise<void> {
  for (let w = writesInProcess.get(file); w; w = writesInProcess.get(file)) await w;
}

/** Whether an async write of this process is under way on `file`. */
export function writing(file: string): boolean {
  return writesInProcess.has(file);
}

// ---------------------------------------------------------------------------
// Locks

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const pauseAsync = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function lockError(e: unknown, file: string, timeout: number): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "EBUSY") return new FileInUseError(file, `still in use after ${timeout} ms`);
  if (code === "EIO") return new CacheFileError("EIO", `${file}: cannot lock the file (${(e as Error).message}): check the disk and the mount`, { file });
  return fromErrno(e, file, "open");
}

/** What a read session is opened with: who hears of libhdf5 fallbacks, and object addresses known for the file as it is. */
export interface ReadOptions {
  onFallback?: (e: FallbackEvent) => void;
  /** Known addresses and what was parsed of the file, valid for it when its stamp equals `addressesStamp`. */
  addresses?: Map<string, number>;
  caches?: FormatCaches;
  addressesStamp?: Stamp;
}

/** The addresses and parse known of the file, when its stamp now proves them valid. */
function known(file: string, stamp: Stamp, options: ReadOptions): { addresses?: Map<string, number>; caches?: FormatCaches } {
  if (!options.addresses || !trustworthy(file, stamp) || !sameStamp(stamp, options.addressesStamp)) return {};
  return { addresses: options.addresses, ...(options.caches ? { caches: options.caches } : {}) };
}

/** Waits while a writer of this library waits for or holds the file; false when the time ran out. */
function waitForWriters(waiting: () => boolean, deadline: number): boolean {
  let delay = 0.2;
  while (waiting()) {
    if (Date.now() >= deadline) return false;
    sleepSync(Math.min(delay * (0.5 + Math.random()), Math.max(0.1, deadline - Date.now())));
    delay = Math.min(delay * 2, 2);
  }
  return true;
}

function session(file: string, lock: LockHandle, timeout: number, options: ReadOptions): ReadSession {
  let source: Hdf5Source;
  let stamp: Stamp;
  try {
    const fd = native.lockFd(lock);
    stamp = stampOfFd(fd);
    source = Hdf5Source.open(file, { fd, ...(options.onFallback ? { onFallback: options.onFallback } : {}), ...known(file, stamp, options) });
  } catch (e) {
    native.lockRelease(lock);
    throw e;
  }
  const trusted = trustworthy(file, stamp);
  native.lockExpect(lock, BigInt64Array.of(stamp.dev, stamp.ino, stamp.size, stamp.mtimeNs, stamp.ctimeNs));
  let held = true;
  let pending = 0;
  let closing = false;
  const closeNow = () => {
    try {
      source.close();
    } finally {
      native.lockRelease(lock);
    }
  };
  /** After the lock is taken the slow way: the path's stamp compared with the session's (as a call did before lockHoldSame). */
  const sameNow = () => sameStamp(stampOf(file), stamp);
  const hold = () => {
    if (held) return;
    const deadline = Date.now() + timeout;
    if (!waitForWriters(() => native.lockWriterWaiting(lock), deadline)) throw new FileInUseError(file, `a writer held it for ${timeout} ms`);
    try {
      native.lockHold(lock, false, Math.max(0, deadline - Date.now()));
    } catch (e) {
      throw lockError(e, file, timeout);
    }
    held = true;
  };
  const tryHold = () => {
    if (held) return true;
    if (native.lockWriterWaiting(lock)) return false;
    try {
      native.lockHold(lock, false, 0);
    } catch {
      return false;
    }
    held = true;
    return true;
  };
  /** The fast path: 0 (held, same), 1 (held, changed), 3 (held, stat failed) or 2 (not held); the lock's state recorded. */
  const fast = (): number => {
    if (held) return 3;
    const status = native.lockHoldSame(lock);
    if (status !== 2) held = true;
    return status;
  };
  return {
    source,
    stamp,
    trusted,
    holdSame: () => {
      const status = fast();
      if (status === 0 || status === 1) return status === 0;
      if (status === 2) hold();
      return sameNow();
    },
    tryHoldSame: () => {
      const status = fast();
      if (status === 0 || status === 1) return status === 0;
      if (status === 2 && !tryHold()) return undefined;
      return sameNow();
    },
    hold,
    tryHold,
    letGo: () => {
      if (!held) return;
      native.lockLetGo(lock);
      held = false;
    },
    track: async (work) => {
      pending++;
      try {
        return await work;
      } finally {
        if (--pending === 0 && closing) closeNow();
      }
    },
    close: () => {
      if (closing) return;
      closing = true;
      if (pending === 0) closeNow();
    },
  };
}

/**
 * Opens a file for reading and takes the shared lock (held until
 * `letGo`): waits (up to `timeout` ms) while a writer of this library waits
 * for or holds it.
 * @throws {FileInUseError} a writer kept the file for `timeout` ms
 */
export function openForRead(file: string, timeout: number, options: ReadOptions = {}): ReadSession {
  return session(file, readLock(file, timeout), timeout, options);
}

/** The shared lock of a reader, taken after waiting (up to `timeout` ms) while a writer of this library waits for or holds the file. */
function readLock(file: string, timeout: number): LockHandle {
  const deadline = Date.now() + timeout;
  waitForWriters(() => native.writerWaiting(file), deadline);
  try {
    return native.lockAcquire(file, false, Math.max(0, deadline - Date.now()), false);
  } catch (e) {
    throw lockError(e, file, timeout);
  }
}

/**
 * A reader's shared lock on `file` without waiting, for a quick look that
 * can be retried the slow way: fails (FileInUseError) at once while a
 * writer of this library waits for or holds the file. Returns its release.
 */
export function tryReadLock(file: string): () => void {
  if (native.writerWaiting(file)) throw new FileInUseError(file, "a writer is waiting for it");
  const lock = readLock(file, 0);
  return () => native.lockRelease(lock);
}

/** {@link openForRead} without blocking the event loop. */
export async function openForReadAsync(file: string, timeout: number, options: ReadOptions = {}): Promise<ReadSession> {
  const deadline = Date.now() + timeout;
  let delay = 1;
  for (;;) {
    await writesDone(file);
    if (native.writerWaiting(file) && Date.now() < deadline) {
      await pauseAsync(delay);
      delay = Math.min(delay * 2, 4);
      continue;
    }
    let lock: LockHandle;
    try {
      lock = await native.lockAcquireAsync(file, false, Math.max(0, deadline - Date.now()), false);
    } catch (e) {
      throw lockError(e, file, timeout);
    }
    if (writing(file)) {
      // A write of this process began meanwhile: let it go first.
      native.lockRelease(lock);
      continue;
    }
    return session(file, lock, timeout, options);
  }
}

function writeSession(file: string, lock: LockHandle, options: ReadOptions): WriteSession {
  let source: Hdf5Source;
  let fd: number;
  try {
    fd = native.lockFd(lock);
    const stamp = stampOfFd(fd);
    source = Hdf5Source.open(file, { fd, libhdf5Locking: false, keepObjects: true, ...known(file, stamp, options) });
  } catch (e) {
    native.lockRelease(lock);
    throw e;
  }
  const view = source;
  return {
    source: view,
    target: () => {
      const st = fstatSync(fd);
      return { path: file, fd, format: view.format, size: st.size, mode: st.mode, uid: st.uid, gid: st.gid, nlink: st.nlink };
    },
    close: (written) => {
      try {
        view.close();
        // Still under the lock: stamp the write with a time no later change can repeat.
        return written ? markOwnWrite(file) : stampOf(file);
      } finally {
        native.lockRelease(lock);
      }
    },
  };
}

/**
 * Opens a file for writing: announces the intent (readers of this library
 * let the writer in), asks this process's readers to let go, waits up to
 * `timeout` ms for every other user to leave, then opens it.
 * @throws {FileInUseError} the file stayed in use for `timeout` ms
 */
export function openForWrite(file: string, timeout: number, options: ReadOptions = {}): WriteSession {
  releaseHolders(file);
  let lock: LockHandle;
  try {
    lock = native.lockAcquire(file, true, timeout, true);
  } catch (e) {
    throw lockError(e, file, timeout);
  }
  return writeSession(file, lock, options);
}

/** {@link openForWrite} without blocking the event loop. */
export async function openForWriteAsync(file: string, timeout: number, options: ReadOptions = {}): Promise<WriteSession> {
  // Readers of this process wait for this write instead of opening the file
  // again while the lock is awaited (a streaming loop that writes from inside
  // would otherwise hold the file against its own write).
  let finish!: () => void;
  const pending = new Promise<void>((resolve) => {
    finish = () => {
      if (writesInProcess.get(file) === pending) writesInProcess.delete(file);
      resolve();
    };
  });
  writesInProcess.set(file, pending);
  releaseHolders(file);
  let lock: LockHandle;
  try {
    lock = await native.lockAcquireAsync(file, true, timeout, true);
  } catch (e) {
    finish();
    throw lockError(e, file, timeout);
  }
  let s: WriteSession;
  try {
    s = writeSession(file, lock, options);
  } catch (e) {
    finish();
    throw e;
  }
  return {
    source: s.source,
    target: s.target,
    close: (written) => {
      try {
        return s.close(written);
      } finally {
        finish();
      }
    },
  };
}
