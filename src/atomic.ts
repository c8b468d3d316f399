/**
 * Whole-file writes that are all or nothing: the new file is written beside
 * the target under a temporary name and renamed over it only when complete
 * and flushed. A failure removes the temporary file; a killed process leaves
 * the target as it was (its temporary file is removed by the next write to the
 * same target).
 * @internal
 * @module
 */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { recordOwnWrite, setExactTime } from "./cachefile/freshness.js";
import { CacheFileError, DiskFullError, PermissionError } from "./errors.js";
import { runSync } from "./work.js";

const PARTIAL = ".partial-";

/** Temporary files being written by this process, removed on exit if still there. */
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

/** Removes temporary files of earlier writes to `target` whose process is gone. */
function removeStale(target: string): void {
  const prefix = `.${basename(target)}${PARTIAL}`;
  let names: string[];
  try {
    names = readdirSync(dirname(target));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split("-")[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid)) removeQuietly(join(dirname(target), name));
  }
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

function fsError(e: unknown, target: string): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (e instanceof CacheFileError) {
    // A full disk or a refusal while writing the temporary file is about the target: say so.
    const detail = e.message.replace(/^.*? \((.*)\): [^:]*$/s, "$1");
    if (e instanceof DiskFullError && e.file !== target) return new DiskFullError(target, detail, e.hdf5);
    if (e instanceof PermissionError && e.file !== target) return new PermissionError(target, detail, e.hdf5);
    return e;
  }
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") return new PermissionError(target, (e as Error).message);
  if (code === "ENOSPC" || code === "EDQUOT") return new DiskFullError(target, (e as Error).message);
  return e;
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
  removeStale(target);
  const tmp = join(dirname(target), `.${basename(target)}${PARTIAL}${process.pid}-${randomBytes(4).toString("hex")}`);
  if (!exitHook) {
    exitHook = true;
    process.once("exit", () => {
      for (const path of active) removeQuietly(path);
    });
  }
  active.add(tmp);
  let renamed = false;
  try {
    const result = yield* write(tmp);
    // A time no later change can repeat: a CacheFile of the new file trusts its stamp at once.
    const exact = setExactTime(tmp);
    if (options.fsync ?? true) syncPath(tmp);
    renameSync(tmp, target);
    renamed = true;
    active.delete(tmp);
    recordOwnWrite(target, exact);
    if (options.fsync ?? true) syncPath(dirname(target), true);
    return result;
  } catch (e) {
    throw fsError(e, target);
  } finally {
    if (!renamed) {
      removeQuietly(tmp);
      active.delete(tmp);
    }
  }
}
