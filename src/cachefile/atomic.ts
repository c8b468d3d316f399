/**
 * Whole-file writes that are all or nothing: the new file is written beside
 * the target under a temporary name and renamed over it only when complete
 * and flushed. A failure, an exit or a signal removes the temporary file; a
 * killed process leaves the target as it was (its temporary file is removed by
 * the next write into the folder).
 * @internal
 * @module
 */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { lazyModule } from "../base/lazy.js";

/** signal-exit, loaded with the first temporary file. */
const signalExit = lazyModule<typeof import("signal-exit")>("signal-exit");
import { recordOwnWrite, setExactTime } from "./freshness.js";
import { CacheFileError, DiskFullError, fromErrno, PermissionError } from "../base/errors.js";
import { runSync } from "../base/work.js";

/** What marks this library's temporary files: `.NAME.partial-PID-RANDOM` beside NAME. */
const PARTIAL = ".partial-";

/** Temporary files being written by this process, removed if it exits or is stopped by a signal first. */
const active = new Set<string>();
let exitHook = false;

function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // nothing left to do for a file we cannot remove
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A new temporary name beside `target`, for a file that replaces it. */
export function partialName(target: string): string {
  return join(dirname(target), `.${basename(target)}${PARTIAL}${process.pid}-${randomBytes(4).toString("hex")}`);
}

/**
 * Removes this library's temporary files in `dir` whose process is gone (a
 * write killed, or a machine that stopped, before it could remove them).
 */
export function removeStalePartials(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const at = name.lastIndexOf(PARTIAL);
    if (!name.startsWith(".") || at < 0) continue;
    const pid = Number(name.slice(at + PARTIAL.length).split("-")[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid)) removeQuietly(join(dir, name));
  }
}

/**
 * Marks `path` as a temporary file of this process: removed if the process
 * exits, or is stopped by SIGINT, SIGTERM or another signal, before the
 * returned release is called.
 */
export function holdPartial(path: string): () => void {
  if (!exitHook) {
    exitHook = true;
    signalExit().onExit(() => {
      for (const p of active) removeQuietly(p);
    });
  }
  active.add(path);
  return () => void active.delete(path);
}

function syncPath(path: string, directory = false): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, directory ? "r" : "r+");
    fsyncSync(fd);
  } catch (e) {
    // Some file systems cannot fsync a directory; the rename is still atomic.
    if (!directory) throw e;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A failure while the temporary file `tmp` was written, as a failure to write `target` (the temporary name never shown). */
function fsError(e: unknown, target: string, tmp: string): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  const named = (text: string) => text.split(tmp).join(target);
  if (e instanceof Error && !(e instanceof CacheFileError)) e.message = named(e.message);
  if (e instanceof CacheFileError) {
    const detail = named(e.message.replace(/^.*? \((.*)\): [^:]*$/s, "$1"));
    if (e instanceof DiskFullError && e.file !== target) return new DiskFullError(target, "cannot write it: the disk is full; nothing was written", e.hdf5);
    if (e instanceof PermissionError && e.file !== target) return new PermissionError(target, detail, e.hdf5);
    if (e.file === tmp) return new CacheFileError(e.code, named(e.message), { file: target, ...(e.hdf5 ? { hdf5: e.hdf5 } : {}), cause: e });
    return e;
  }
  return code === "ENOENT" ? e : fromErrno(e, target, "write", "nothing was written");
}

export interface AtomicOptions {
  /** fsync the new file and its directory before and after the rename (default true). */
  fsync?: boolean;
}

/**
 * Runs `write(tmp)` to produce the complete new file at `tmp`, then renames it
 * over `target`. On any error the temporary file is removed and the error
 * rethrown; `target` is untouched.
 */
export function writeAtomically<T>(target: string, write: (tmp: string) => T, options: AtomicOptions = {}): T {
  return runSync(
    writeAtomicallySteps(
      target,
      function* (tmp) {
        return write(tmp);
      },
      options,
    ),
  );
}

/**
 * {@link writeAtomically} as a generator: `write(tmp)` yields between its
 * units of work; the temporary file is removed when the work fails or is
 * stopped (the generator closed), and renamed over `target` when it ends.
 */
export function* writeAtomicallySteps<T>(target: string, write: (tmp: string) => Generator<unknown, T>, options: AtomicOptions = {}): Generator<unknown, T> {
  removeStalePartials(dirname(target));
  const tmp = partialName(target);
  const release = holdPartial(tmp);
  let renamed = false;
  try {
    const result = yield* write(tmp);
    // A time no later change can repeat: a CacheFile of the new file trusts its stamp at once.
    const exact = setExactTime(tmp);
    if (options.fsync ?? true) syncPath(tmp);
    renameSync(tmp, target);
    renamed = true;
    release();
    recordOwnWrite(target, exact);
    if (options.fsync ?? true) syncPath(dirname(target), true);
    return result;
  } catch (e) {
    throw fsError(e, target, tmp);
  } finally {
    if (!renamed) {
      removeQuietly(tmp);
      release();
    }
  }
}
