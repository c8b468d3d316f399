/**
 * Bounded file access for the recording readers: positional reads of exact
 * ranges, and a sequential reader over a fixed-size window of the file, so
 * no reader ever holds a whole recording in memory.
 * @module
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { fromErrno } from "../base/errors.js";

/** An open file for positional reads. */
export class FileSource implements Disposable {
  readonly path: string;
  readonly size: number;
  #fd: number | undefined;

  private constructor(path: string, fd: number, size: number) {
    this.path = path;
    this.#fd = fd;
    this.size = size;
  }

  /**
   * Opens `path` read-only.
   * @throws {FileNotFoundError} it does not exist
   * @throws {PermissionError} it cannot be read
   */
  static open(path: string, notAFile: (why: string) => Error): FileSource {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EISDIR") throw notAFile("a directory");
      throw fromErrno(e, path, "read");
    }
    const st = fstatSync(fd);
    if (!st.isFile()) {
      closeSync(fd);
      throw notAFile("not a regular file");
    }
    return new FileSource(path, fd, st.size);
  }

  /** Reads `length` bytes at `offset` into a new buffer; fewer at the end of the file. */
  read(offset: number, length: number): Buffer {
    if (this.#fd === undefined) throw new Error(`${this.path} is closed`);
    const n = Math.max(0, Math.min(length, this.size - offset));
    const buf = Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) {
      const got = readSync(this.#fd, buf, done, n - done, offset + done);
      if (got === 0) return buf.subarray(0, done);
      done += got;
    }
    return buf;
  }

  /** Reads into `target` at `offset`; returns the number of bytes read. */
  readInto(target: Buffer, targetOffset: number, length: number, offset: number): number {
    if (this.#fd === undefined) throw new Error(`${this.path} is closed`);
    let done = 0;
    while (done < length) {
      const got = readSync(this.#fd, target, targetOffset + done, length - done, offset + done);
      if (got === 0) break;
      done += got;
    }
    return done;
  }

  close(): void {
    if (this.#fd !== undefined) {
      closeSync(this.#fd);
      this.#fd = undefined;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Reads a file front to back through one buffer of `blockSize` bytes (grown
 * only when a caller asks for a longer range at once). `pos` is the absolute
 * position of the next byte.
 */
export class SequentialReader {
  readonly src: FileSource;
  pos: number;
  #buf: Buffer;
  #view: DataView;
  #start = 0;
  #len = 0;

  constructor(src: FileSource, start = 0, blockSize = 4 * 1024 * 1024) {
    this.src = src;
    this.pos = start;
    this.#buf = Buffer.allocUnsafe(blockSize);
    this.#view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
  }

  /** Bytes left in the file after `pos`. */
  get remaining(): number {
    return this.src.size - this.pos;
  }

  /** Makes `n` bytes from `pos` available; false when the file ends first. */
  ensure(n: number): boolean {
    if (this.pos >= this.#start && this.pos + n <= this.#start + this.#len) return true;
    if (this.pos + n > this.src.size) return false;
    if (n > this.#buf.length) {
      this.#buf = Buffer.allocUnsafe(n);
      this.#view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
    }
    this.#start = this.pos;
    this.#len = this.src.readInto(this.#buf, 0, Math.min(this.#buf.length, this.src.size - this.pos), this.pos);
    return this.#len >= n;
  }

  /** Moves to an absolute position (the buffer is kept when it covers it). */
  seek(pos: number): void {
    this.pos = pos;
  }

  /** The index into {@link buffer} of `pos`; valid after a successful ensure. */
  get index(): number {
    return this.pos - this.#start;
  }

  get buffer(): Buffer {
    return this.#buf;
  }

  get view(): DataView {
    return this.#view;
  }

  u8(): number {
    const v = this.#buf[this.pos - this.#start]!;
    this.pos += 1;
    return v;
  }

  u16(): number {
    const v = this.#view.getUint16(this.pos - this.#start, true);
    this.pos += 2;
    return v;
  }

  u32(): number {
    const v = this.#view.getUint32(this.pos - this.#start, true);
    this.pos += 4;
    return v;
  }

  /** An unsigned 64-bit integer as a number (exact below 2^53; larger values come back as Infinity). */
  u64(): number {
    const v = this.#view.getBigUint64(this.pos - this.#start, true);
    this.pos += 8;
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(v);
  }

  f64(): number {
    const v = this.#view.getFloat64(this.pos - this.#start, true);
    this.pos += 8;
    return v;
  }

  /** `n` bytes from `pos` (a view into the buffer, valid until the next ensure). */
  bytes(n: number): Buffer {
    const i = this.pos - this.#start;
    this.pos += n;
    return this.#buf.subarray(i, i + n);
  }
}
