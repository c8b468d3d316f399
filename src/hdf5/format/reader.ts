/**
 * Reads the bytes of one HDF5 file for the parser: structures by file
 * address (relative to the superblock's base address), bounds-checked
 * against the end of the file's allocated space, through a small page cache
 * so that the many small structures of a group (B-tree nodes, symbol table
 * nodes, heaps) cost few system calls. Every array it returns is a Buffer
 * (so text can be decoded from it without another view).
 * @internal
 * @module
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { damaged, FormatNotHdf5 } from "./errors.js";

const PAGE = 4096;
const MAX_PAGES = 1024;
/** Reads at least this long bypass the page cache. */
const DIRECT = 4 * PAGE;

/** One open file being parsed. Close it with {@link ByteReader.close}. */
export class ByteReader {
  readonly path: string;
  /** The file's length in bytes when opened. */
  readonly size: number;
  readonly dev: number;
  readonly ino: number;
  /** Absolute offset of address 0 (the superblock's base address). */
  base = 0;
  /** End of allocated space, relative to `base`: no structure lies beyond it. */
  limit: number;
  #fd: number | undefined;
  readonly #pages = new Map<number, Buffer>();

  readonly #ownsFd: boolean;
  /** The whole file, when the caller read it (see {@link ByteReader.fromBytes}). */
  #bytes: Buffer | undefined;

  private constructor(path: string, fd: number, size: number, dev: number, ino: number, ownsFd: boolean) {
    this.path = path;
    this.#fd = fd;
    this.#ownsFd = ownsFd;
    this.size = size;
    this.dev = dev;
    this.ino = ino;
    this.limit = size;
  }

  /**
   * Opens `path` read-only (or reads through `fd`, which the caller keeps
   * open). Errors are the file system's (ENOENT, EACCES, ...), and
   * FormatNotHdf5 for a directory, an empty file or anything not a file.
   */
  static open(path: string, fd?: number): ByteReader {
    const own = fd === undefined;
    const descriptor = fd ?? openSync(path, constants.O_RDONLY | constants.O_NONBLOCK); // a FIFO must not block the open
    try {
      const st = fstatSync(descriptor);
      if (st.isDirectory()) throw new FormatNotHdf5("it is a directory");
      if (!st.isFile()) throw new FormatNotHdf5("it is not a regular file");
      if (st.size === 0) throw new FormatNotHdf5("it is empty");
      return new ByteReader(path, descriptor, st.size, st.dev, st.ino, own);
    } catch (e) {
      if (own) closeSync(descriptor);
      throw e;
    }
  }

  /**
   * A reader over a whole file that the caller has read (a small file, in
   * one call; `fd` is its descriptor, which the caller keeps open): every
   * read is a view of `bytes`, without a system call.
   */
  static fromBytes(path: string, fd: number, bytes: Buffer): ByteReader {
    const st = fstatSync(fd);
    if (bytes.length === 0) throw new FormatNotHdf5("it is empty");
    const reader = new ByteReader(path, fd, bytes.length, st.dev, st.ino, false);
    reader.#bytes = bytes;
    return reader;
  }

  get isOpen(): boolean {
    return this.#fd !== undefined;
  }

  get fd(): number {
    if (this.#fd === undefined) throw new Error(`${this.path} is closed`);
    return this.#fd;
  }

  close(): void {
    const fd = this.#fd;
    this.#fd = undefined;
    this.#pages.clear();
    this.#bytes = undefined;
    if (fd !== undefined && this.#ownsFd) closeSync(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Forgets cached pages (after the file was written). */
  forget(): void {
    this.#pages.clear();
  }

  /**
   * The `length` bytes of a structure at `addr`, which must lie within the
   * allocated space; `what` names the structure in the error otherwise.
   */
  read(addr: number, length: number, what: string): Buffer {
    if (!(addr >= 0) || !(length >= 0) || addr > this.limit || length > this.limit - addr) {
      damaged(`${what} at address ${addr} (${length} bytes) lies outside the file's ${this.limit} bytes`);
    }
    return this.readAbsolute(this.base + addr, length);
  }

  /**
   * Up to `length` bytes at `addr`, fewer where the allocated space ends
   * (for speculative reads of structures whose size is read from their start).
   */
  readUpTo(addr: number, length: number, what: string): Buffer {
    if (!(addr >= 0) || addr >= this.limit) damaged(`${what} at address ${addr} lies outside the file's ${this.limit} bytes`);
    return this.readAbsolute(this.base + addr, Math.min(length, this.limit - addr));
  }

  /** Bytes at an absolute file offset, through the page cache for short reads. */
  readAbsolute(offset: number, length: number): Buffer {
    if (offset + length > this.size) damaged(`the file ends at ${this.size} bytes, before ${offset + length}`);
    if (this.#bytes) return this.#bytes.subarray(offset, offset + length);
    if (length >= DIRECT) return this.#direct(offset, length);
    if (this.#once && length > 0) {
      // Small pieces from Node's shared pool, read where they are: no 4 KiB page made and kept for each.
      const again = this.#once.get(offset);
      if (again && again.length === length) return again;
      const out = Buffer.allocUnsafe(length);
      this.readInto(offset, out);
      this.#once.set(offset, out);
      return out;
    }
    const first = Math.floor(offset / PAGE);
    const last = Math.floor((offset + length - 1) / PAGE);
    if (length === 0) return Buffer.alloc(0);
    if (first === last) {
      const page = this.#page(first);
      const start = offset - first * PAGE;
      return page.subarray(start, start + length);
    }
    const out = Buffer.allocUnsafe(length);
    let at = 0;
    for (let p = first; p <= last; p++) {
      const page = this.#page(p);
      const from = p === first ? offset - first * PAGE : 0;
      const to = Math.min(page.length, offset + length - p * PAGE);
      out.set(page.subarray(from, to), at);
      at += to - from;
    }
    return out;
  }

  /** Reads into `target` from an absolute offset, bypassing the cache (trace data). */
  readInto(offset: number, target: Uint8Array): void {
    if (this.#bytes) {
      if (offset + target.length > this.size) damaged(`${this.path} ended at ${this.size} bytes while it was read`);
      target.set(this.#bytes.subarray(offset, offset + target.length));
      return;
    }
    let done = 0;
    while (done < target.length) {
      const n = readSync(this.fd, target, done, target.length - done, offset + done);
      if (n === 0) damaged(`${this.path} ended at ${offset + done} bytes while it was read`);
      done += n;
    }
  }

  /** While {@link readingOnce} runs: the small reads made, by offset (a structure is often read twice: checked, then copied). */
  #once: Map<number, Buffer> | undefined;

  /**
   * Runs `fn` with small reads not cached in pages: for a caller that reads
   * scattered structures once (a writer copying group trees), whose 4 KiB
   * pages would only be allocated to be dropped. Reads give the same bytes.
   */
  readingOnce<T>(fn: () => T): T {
    if (this.#once) return fn();
    this.#once = new Map();
    try {
      return fn();
    } finally {
      this.#once = undefined;
    }
  }

  #direct(offset: number, length: number): Buffer {
    const out = Buffer.allocUnsafeSlow(length);
    this.readInto(offset, out);
    return out;
  }

  #page(index: number): Buffer {
    const hit = this.#pages.get(index);
    if (hit) {
      this.#pages.delete(index);
      this.#pages.set(index, hit);
      return hit;
    }
    const start = index * PAGE;
    const page = Buffer.allocUnsafeSlow(Math.min(PAGE, this.size - start));
    this.readInto(start, page);
    this.#pages.set(index, page);
    if (this.#pages.size > MAX_PAGES) this.#pages.delete(this.#pages.keys().next().value!);
    return page;
  }
}
