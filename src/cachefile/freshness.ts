/**
 * When what was read from a file may be used again: a file's stamp
 * (device, inode, size, modification and change times, to the nanosecond)
 * and the rule that decides whether an unchanged stamp proves an unchanged
 * file.
 *
 * File times come from a clock that advances in steps (a kernel tick, about
 * 4 ms; two seconds on FAT), so two changes within one step leave the same
 * stamp. What was read at a moment too close to the file's last change is
 * therefore never trusted for a later call (the "racy" case git knows);
 * whatever was read later than one step after the change is, because any
 * further change gets a later time. After its own writes this library sets
 * the modification time to the exact moment itself, a value no later change
 * can repeat, so a batch that reads and writes in turn keeps its index.
 * @internal
 * @module
 */
import { closeSync, fstatSync, futimesSync, openSync, statSync, type BigIntStats } from "node:fs";
import { FileNotFoundError } from "../base/errors.js";

/** A file's identity and change stamp. */
export interface Stamp {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** Wall-clock time (ns since the epoch) when the stamp was taken. */
  takenNs: bigint;
}

/** Longest step of a file system's clock assumed for files with sub-second times. */
const FINE_STEP_NS = 100_000_000n;
/** For files whose times are whole seconds (FAT, some network file systems). */
const COARSE_STEP_NS = 2_500_000_000n;

function fromStats(st: BigIntStats, takenNs: bigint): Stamp {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, takenNs };
}

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/**
 * The stamp of `path` now.
 * @throws {FileNotFoundError} the file does not exist
 */
export function stampOf(path: string): Stamp {
  const takenNs = nowNs();
  try {
    return fromStats(statSync(path, { bigint: true }), takenNs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new FileNotFoundError(path);
    throw e;
  }
}

/** The stamp of an open descriptor. */
export function stampOfFd(fd: number): Stamp {
  const takenNs = nowNs();
  return fromStats(fstatSync(fd, { bigint: true }), takenNs);
}

/** Whether two stamps describe the same unchanged file (their times of taking aside). */
export function sameStamp(a: Stamp | undefined, b: Stamp | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.dev === b.dev &&
    a.ino === b.ino &&
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs
  );
}

/**
 * Whether a later stamp equal to `stamp` proves that the file did not
 * change: true when `stamp` was taken more than one clock step after the
 * file's last change (or its last change is one of our own writes).
 */
export function settled(stamp: Stamp, ownWrite = false): boolean {
  if (ownWrite) return true;
  const last = stamp.mtimeNs > stamp.ctimeNs ? stamp.mtimeNs : stamp.ctimeNs;
  const step = stamp.mtimeNs % 1_000_000_000n === 0n ? COARSE_STEP_NS : FINE_STEP_NS;
  return stamp.takenNs - last > step;
}

/** The stamp each file had after this process's last write to it, when the file system kept its exact time. */
const ownWrites = new Map<string, Stamp>();

/**
 * Sets a file's modification time to the exact present moment, a value no
 * later change can repeat (to call while no other writer can touch it).
 * Returns whether the file system kept it to the nanosecond.
 */
export function setExactTime(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const before = fstatSync(fd, { bigint: true });
    // Sub-millisecond digits that no kernel clock step lands on exactly.
    const [seconds, nanos] = process.hrtime();
    const nowMs = Date.now();
    const wanted = Math.floor(nowMs / 1000) + ((nowMs % 1000) * 1e6 + ((seconds * 1e9 + nanos) % 1e6) + 0.5) / 1e9;
    futimesSync(fd, Number(before.atimeNs) / 1e9, wanted);
    return fstatSync(fd, { bigint: true }).mtimeNs % 1_000_000n !== 0n;
  } finally {
    closeSync(fd);
  }
}

/**
 * Records the present stamp of `path` as that of our own write, when `exact`
 * (its time set by {@link setExactTime}); returns the stamp.
 */
export function recordOwnWrite(path: string, exact: boolean): Stamp {
  const stamp = stampOf(path);
  if (exact) ownWrites.set(path, stamp);
  else ownWrites.delete(path);
  return stamp;
}

/**
 * After a write of this library (with the file still locked against other
 * writers): {@link setExactTime}, and the stamp recorded as our own write.
 */
export function markOwnWrite(path: string): Stamp {
  return recordOwnWrite(path, setExactTime(path));
}

/** Whether `stamp` proves an unchanged file later: settled, or the stamp of our own last write. */
export function trustworthy(path: string, stamp: Stamp): boolean {
  return settled(stamp, sameStamp(stamp, ownWrites.get(path)));
}
