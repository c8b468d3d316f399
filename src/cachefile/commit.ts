/**
 * How a batch of changes reaches a file: all of it or none of it, whatever
 * stops the write (a full disk, a killed process, a power cut), and never
 * a byte over what a reader of the file may be using.
 *
 * Three ways, chosen here and in this order:
 * 1. **append** (the usual one; see format/rewrite/rewrite.ts): the changed
 *    objects and the groups above them are written after the file's end
 *    and flushed; then the superblock is switched to the new root in one
 *    write and flushed. Before the switch the file is the old file, after
 *    it the new one. The file keeps its inode, mode, owner and links.
 * 2. **compact**: when what earlier appends left unused would exceed half
 *    of what the file uses, the whole file is written anew beside it
 *    (nothing unused), flushed, and renamed over it.
 * 3. **copy**: a file outside what the rewrite supports (a newer HDF5
 *    format, chunked values to change) is copied, the copy changed by
 *    libhdf5, flushed, and renamed over it.
 *
 * Every step is an {@link Op} yielded by one generator, so the same logic
 * runs blocking, on the thread pool, or under a test that records the
 * operations (to replay every prefix of them, as a crash would leave them)
 * or fails them (a disk that fills at any byte).
 *
 * Space: each way knows the bytes it will write before it writes any; when
 * the disk has less free, {@link DiskFullError} says how much is needed and
 * nothing is written. A write that fails anyway takes back what it wrote
 * (the file is cut back to its old length, or the new file removed).
 * @internal
 * @module
 */
import { basename, dirname } from "node:path";
import { holdPartial, partialName } from "./atomic.js";
import { CacheFileError, DiskFullError, fromErrno } from "../base/errors.js";
import { FormatUnsupported } from "../hdf5/format/errors.js";
import type { FormatFile } from "../hdf5/format/file.js";
import { planRewrite, type ObjectChange, type RewritePlan } from "../hdf5/format/rewrite/rewrite.js";

export type { ObjectChange };

/**
 * One step of a commit. Results: `statfs` → free bytes; `create` (a new
 * file, mode 0600) and `open` (read-write) → a descriptor; the rest →
 * nothing. `copyRange` copies from descriptor `source` at `from` to `to` at
 * `at`; `keepOwner` gives a new file the old one's mode and owner;
 * `libhdf5` makes the changes in a file through libhdf5; `removeStale`
 * removes temporary files of earlier writes into the folder whose process
 * is gone.
 */
export type Op =
  | { op: "statfs"; dir: string }
  | { op: "write"; fd: number; at: number; bytes: Buffer }
  | { op: "writev"; fd: number; at: number; buffers: Buffer[] }
  | { op: "copyRange"; from: number; to: number; at: number; length: number; source: number }
  | { op: "copyFile"; from: string; to: string }
  | { op: "sync"; fd: number }
  | { op: "truncate"; fd: number; length: number }
  | { op: "create"; path: string }
  | { op: "open"; path: string }
  | { op: "close"; fd: number }
  | { op: "keepOwner"; fd: number; mode: number; uid: number; gid: number }
  | { op: "libhdf5"; path: string; changes: readonly ObjectChange[] }
  | { op: "rename"; from: string; to: string }
  | { op: "syncDir"; dir: string }
  | { op: "unlink"; path: string }
  | { op: "removeStale"; dir: string };

/** The file a commit changes: opened read-write under the exclusive lock, and parsed. */
export interface CommitTarget {
  path: string;
  fd: number;
  /** The format module's parse of the file through `fd`, or undefined when it declined the file. */
  format: FormatFile | undefined;
  /** The file's length, mode, owner and link count. */
  size: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
}

export interface CommitResult {
  way: "append" | "compact" | "copy";
  /** Bytes written. */
  bytes: number;
  /** append: object header addresses of the objects rewritten, by path (the others did not move); else undefined (every object moved). */
  addresses: Map<string, number> | undefined;
}

/** A write that leaves more unused than half of what the file uses is made as a compaction. */
const COMPACT_RATIO = 0.5;
/** Unused space below this is never worth a compaction. */
const COMPACT_MIN = 64 * 1024;
/** Headroom asked for beyond the bytes to write (file system metadata). */
const HEADROOM = 64 * 1024;
/** Bytes of file data copied per step of a compaction. */
export const COPY_CHUNK = 4 * 1024 * 1024;

function mib(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`;
}

/** A failure of the file system while writing `target`, as this library's class. */
export function writeError(e: unknown, target: string): unknown {
  if (e instanceof CacheFileError) return e;
  return fromErrno(e, target, "write", "nothing was written");
}

/** The bytes of attribute text and values in `changes` (for an estimate of what libhdf5 adds). */
function changeBytes(changes: readonly ObjectChange[]): number {
  let n = 0;
  for (const c of changes) {
    for (const [k, v] of Object.entries(c.attrs ?? {})) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 256;
    n += c.data?.length ?? 0;
  }
  return n;
}

/** Whether this process can give a new file the owner of the old one. */
function canKeepOwner(t: CommitTarget): boolean {
  const uid = process.getuid?.() ?? -1;
  const groups = process.getgroups?.() ?? [];
  return uid === 0 || (t.uid === uid && (t.gid === (process.getgid?.() ?? -1) || groups.includes(t.gid)));
}

/** Why the file cannot be replaced by a new one keeping what users rely on, or undefined when it can. */
function cannotReplace(t: CommitTarget): string | undefined {
  if (t.nlink > 1) return `it has ${t.nlink} hard links, which a replaced file would not keep`;
  if (!canKeepOwner(t)) return `it belongs to user ${t.uid} (group ${t.gid}), which a replaced file written by this user would not keep`;
  return undefined;
}

/**
 * Commits `changes` to `target` (see the module): yields each {@link Op}
 * and takes its result back.
 * @throws {DiskFullError} not enough free space: nothing was written
 * @throws {CacheFileError} (code `EREPLACE`) the file's layout needs a replaced file, which would not keep its links or owner
 */
export function* commit(target: CommitTarget, changes: readonly ObjectChange[]): Generator<Op, CommitResult, unknown> {
  const dir = dirname(target.path);
  yield { op: "removeStale", dir };
  let append: RewritePlan | undefined;
  let declined: string | undefined;
  if (target.format) {
    try {
      append = planRewrite(target.format, changes, "append");
    } catch (e) {
      if (!(e instanceof FormatUnsupported)) throw e;
      declined = e.message;
    }
  } else {
    declined = "the format module does not read this file";
  }
  const free = (yield { op: "statfs", dir }) as number;

  if (append) {
    const live = append.eoa - append.unused;
    if (append.unused > COMPACT_MIN && append.unused > COMPACT_RATIO * live && cannotReplace(target) === undefined) {
      let compact: RewritePlan | undefined;
      try {
        compact = planRewrite(target.format!, changes, "compact");
      } catch (e) {
        if (!(e instanceof FormatUnsupported)) throw e;
      }
      if (compact && compact.eoa + HEADROOM <= free) return yield* writeCompacted(target, compact);
    }
    const need = append.out.size + HEADROOM;
    if (need > free) throw new DiskFullError(target.path, `it needs ${mib(need)} free on its disk and ${mib(free)} are; nothing was written`);
    return yield* writeAppended(target, append);
  }

  const why = cannotReplace(target);
  if (why) {
    throw new CacheFileError(
      "EREPLACE",
      `cannot write ${target.path} safely: its layout (${declined}) is written to a copy that replaces it, and ${why}; rewrite it in the usual layout first (h5repack -l CONTI ${basename(target.path)} copy.hdf5) or write as its owner to a file with one link`,
      { file: target.path },
    );
  }
  const need = target.size + changeBytes(changes) * 2 + HEADROOM;
  if (need > free) throw new DiskFullError(target.path, `it needs ${mib(need)} free on its disk for a copy and ${mib(free)} are; nothing was written`);
  return yield* writeCopy(target, changes);
}

/** Appends the plan's region, flushes, then switches the superblock and flushes again. */
function* writeAppended(t: CommitTarget, plan: RewritePlan): Generator<Op, CommitResult, unknown> {
  const base = t.format!.superblock.base;
  const region = plan.out.buffers();
  const end = base + plan.eoa;
  try {
    yield { op: "writev", fd: t.fd, at: base + plan.out.start, buffers: region };
    yield { op: "sync", fd: t.fd };
  } catch (e) {
    // Nothing refers to what was appended: cut it off again.
    try {
      yield { op: "truncate", fd: t.fd, length: t.size };
    } catch {
      // the file is the old file either way
    }
    throw writeError(e, t.path);
  }
  try {
    yield { op: "write", fd: t.fd, at: plan.superblockAt, bytes: plan.superblock };
    yield { op: "sync", fd: t.fd };
  } catch (e) {
    throw new CacheFileError(
      "EIO",
      `${t.path}: the disk failed while the write was completed (${(e as Error).message}); the file holds either all of the changes or none of them: read it again to see which, and check the disk`,
      { file: t.path, cause: e },
    );
  }
  if (t.size > end) yield { op: "truncate", fd: t.fd, length: end }; // left over from an earlier write that stopped
  return { way: "append", bytes: plan.out.size + plan.superblock.length, addresses: plan.addresses };
}

/** Writes `steps` into a new file beside the target, then renames it over the target; removes it on failure. */
function* replaceWith(t: CommitTarget, fill: (tmp: string) => Generator<Op, number, unknown>): Generator<Op, number, unknown> {
  const tmp = partialName(t.path);
  const release = holdPartial(tmp);
  let renamed = false;
  try {
    const bytes = yield* fill(tmp);
    yield { op: "rename", from: tmp, to: t.path };
    renamed = true;
    yield { op: "syncDir", dir: dirname(t.path) };
    return bytes;
  } catch (e) {
    throw writeError(e, t.path);
  } finally {
    if (!renamed) {
      try {
        yield { op: "unlink", path: tmp };
      } catch {
        // already gone
      }
    }
    release();
  }
}

function* writeCompacted(t: CommitTarget, plan: RewritePlan): Generator<Op, CommitResult, unknown> {
  const bytes = yield* replaceWith(t, function* (tmp) {
    const fd = (yield { op: "create", path: tmp }) as number;
    try {
      let n = 0;
      for (const p of plan.out.pieces) {
        if ("bytes" in p) {
          yield { op: "write", fd, at: p.at, bytes: p.bytes };
          n += p.bytes.length;
        } else {
          for (let done = 0; done < p.length; done += COPY_CHUNK) {
            const length = Math.min(COPY_CHUNK, p.length - done);
            yield { op: "copyRange", source: t.fd, from: p.from + done, to: fd, at: p.at + done, length };
          }
          n += p.length;
        }
      }
      yield { op: "truncate", fd, length: plan.eoa };
      yield { op: "keepOwner", fd, mode: t.mode, uid: t.uid, gid: t.gid };
      yield { op: "sync", fd };
      return n;
    } finally {
      yield { op: "close", fd };
    }
  });
  return { way: "compact", bytes, addresses: undefined };
}

function* writeCopy(t: CommitTarget, changes: readonly ObjectChange[]): Generator<Op, CommitResult, unknown> {
  yield* replaceWith(t, function* (tmp) {
    yield { op: "copyFile", from: t.path, to: tmp };
    yield { op: "libhdf5", path: tmp, changes };
    const fd = (yield { op: "open", path: tmp }) as number;
    try {
      yield { op: "keepOwner", fd, mode: t.mode, uid: t.uid, gid: t.gid };
      yield { op: "sync", fd };
    } finally {
      yield { op: "close", fd };
    }
    return 0;
  });
  return { way: "copy", bytes: t.size, addresses: undefined };
}
