/**
 * The splice's file-system side: its failures as codes
 * ({@link SpliceFailure}), whole reads and writes, and a source opened
 * under its lock ({@link Source}). File locking itself is the caller's
 * ({@link SourceLock}), so that the format module stays free of the
 * native binding.
 * @internal
 * @module
 */
import { errnoKind } from "../../../base/errors.js";
import { closeSync, constants, fstatSync, openSync, readSync, statSync, writeSync } from "node:fs";

/**
 * Takes a shared lock on `path` (as libhdf5 locks a file it reads) and
 * returns its release; throws an error with `code` "EBUSY" when a writer
 * holds the file (or a file system code when it cannot be opened).
 */
export type SourceLock = (path: string) => () => void;

/**
 * A failure of the file system or of the call order, with a code: ENOENT,
 * EACCES, ENOSPC, EISDIR, EEXIST, EBUSY, EIO (the file system), ESTATE (a
 * call out of order, or after a failed step), ECLOSED (after finish or abort).
 */
export class SpliceFailure extends Error {
  override readonly name = "SpliceFailure";
  readonly code: string;
  /** The spliced file, when the failure is about writing it (not about reading a source). */
  target?: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

function codeOf(error: unknown): string {
  const code = errnoKind((error as NodeJS.ErrnoException | undefined)?.code)?.code;
  return code ?? ((error as NodeJS.ErrnoException | undefined)?.code === "EEXIST" ? "EEXIST" : "EIO");
}

/** Whether `error` is a failed system call (Node's errors from fs). */
export function isSystemError(error: unknown): boolean {
  const e = error as NodeJS.ErrnoException | undefined;
  return typeof e?.errno === "number" && typeof e.syscall === "string";
}

export function failure(error: unknown, what: string): SpliceFailure {
  if (error instanceof SpliceFailure) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SpliceFailure(codeOf(error), `${what}: ${message}`);
}

export function readFully(fd: number, buffer: Buffer, length: number, position: number, path: string): void {
  let done = 0;
  while (done < length) {
    let n: number;
    try {
      n = readSync(fd, buffer, done, length - done, position + done);
    } catch (e) {
      throw failure(e, `cannot read ${path}`);
    }
    if (n === 0) throw new SpliceFailure("EIO", `cannot read ${path}: the file became shorter while it was read`);
    done += n;
  }
}

export function writeFully(fd: number, buffer: Uint8Array, length: number, position: number, path: string): void {
  let done = 0;
  while (done < length) {
    try {
      done += writeSync(fd, buffer, done, length - done, position + done);
    } catch (e) {
      throw failure(e, `cannot write ${path}`);
    }
  }
}

/** A source opened read-only under its lock, with a reader over the caller's descriptor. */
export class Source {
  readonly path: string;
  readonly fd: number;
  readonly regular: boolean;
  readonly size: number;
  #release: (() => void) | null;

  private constructor(path: string, fd: number, regular: boolean, size: number, release: () => void) {
    this.path = path;
    this.fd = fd;
    this.regular = regular;
    this.size = size;
    this.#release = release;
  }

  /**
   * Locks `path` and opens it. The descriptor is opened before the lock and
   * checked against the path after it, so the bytes read are those of the
   * locked file even when another process replaces the path meanwhile.
   */
  static open(path: string, lock: SourceLock): Source {
    for (let attempt = 0; ; attempt++) {
      let fd: number;
      try {
        fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK); // a FIFO must not block the open (it is refused below)
      } catch (e) {
        throw failure(e, `cannot open ${path}`);
      }
      let release: () => void;
      try {
        release = lock(path);
      } catch (e) {
        closeSync(fd);
        throw failure(e, `cannot lock ${path}`);
      }
      let same = false;
      let regular = false;
      let size = 0;
      try {
        const mine = fstatSync(fd);
        const now = statSync(path);
        same = mine.dev === now.dev && mine.ino === now.ino;
        regular = mine.isFile();
        size = mine.size;
      } catch {
        same = false;
      }
      if (same) return new Source(path, fd, regular, size, release);
      release();
      closeSync(fd);
      if (attempt >= 2) throw new SpliceFailure("EBUSY", `cannot lock ${path}: another process keeps replacing it`);
    }
  }

  close(): void {
    const release = this.#release;
    this.#release = null;
    if (release === null) return;
    try {
      release();
    } finally {
      closeSync(this.fd);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
