/**
 * Bounds-checked little-endian decoding of bytes read from an HDF5 file.
 * Every read past the end of a structure is {@link FormatDamage}, never an
 * out-of-range access.
 * @internal
 * @module
 */
import { isUtf8 } from "node:buffer";
import { damaged } from "./errors.js";

/** HDF5's "undefined address" (all bits set), as decoded here. */
export const UNDEF = -1;

const TWO32 = 2 ** 32;
/** Largest address or length decoded as a number (2^53). */
const MAX_HIGH = 2 ** 21;

/** A structure's name for messages, composed only when a message is made. */
export type What = string | (() => string);

/** The text of a {@link What}. */
export function text(what: What): string {
  return typeof what === "string" ? what : what();
}

/**
 * Reads fields of one structure: `bytes` as read from the file at file
 * address `addr`, named `what` in messages.
 */
export class Cursor {
  readonly bytes: Uint8Array;
  readonly addr: number;
  readonly #what: What;
  pos: number;

  constructor(bytes: Uint8Array, addr: number, what: What, pos = 0) {
    this.bytes = bytes;
    this.addr = addr;
    this.#what = what;
    this.pos = pos;
  }

  /** The structure's name. */
  get what(): string {
    return text(this.#what);
  }

  get length(): number {
    return this.bytes.length;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** Fails unless `n` more bytes are there. */
  need(n: number): void {
    if (n < 0 || this.pos + n > this.bytes.length) damaged(`${this.what} at address ${this.addr} runs past its end`);
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const b = this.bytes;
    const p = this.pos;
    this.pos = p + 2;
    return b[p]! | (b[p + 1]! << 8);
  }

  u32(): number {
    this.need(4);
    const b = this.bytes;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
  }

  /** An unsigned little-endian integer of `size` bytes (1 to 8), at most 2^53. */
  uint(size: number): number {
    this.need(size);
    let v = 0;
    let scale = 1;
    for (let i = 0; i < size; i++) {
      const b = this.bytes[this.pos + i]!;
      if (i >= 7 && b > 0x1f) damaged(`${this.what} at address ${this.addr} holds a number beyond 2^53`);
      v += b * scale;
      scale *= 256;
    }
    this.pos += size;
    return v;
  }

  #pair(): [number, number] {
    this.need(8);
    const b = this.bytes;
    const p = this.pos;
    this.pos = p + 8;
    const lo = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
    const hi = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16)) + b[p + 7]! * 0x1000000;
    return [lo, hi];
  }

  /** A 64-bit length or count, at most 2^53. */
  u64(): number {
    const [lo, hi] = this.#pair();
    if (hi >= MAX_HIGH) damaged(`${this.what} at address ${this.addr} holds a number beyond 2^53`);
    return hi * TWO32 + lo;
  }

  /** A 64-bit file address: {@link UNDEF} for the undefined address. */
  address(): number {
    const [lo, hi] = this.#pair();
    if (hi === 0xffffffff && lo === 0xffffffff) return UNDEF;
    if (hi >= MAX_HIGH) damaged(`${this.what} at address ${this.addr} holds an address beyond 2^53`);
    return hi * TWO32 + lo;
  }

  /**
   * A 64-bit file address that libhdf5 decodes but does not follow (a
   * symbol table entry's cached B-tree and heap): {@link UNDEF} where it is
   * undefined or beyond 2^53, never damage.
   */
  unusedAddress(): number {
    const [lo, hi] = this.#pair();
    return hi >= MAX_HIGH ? UNDEF : hi * TWO32 + lo;
  }

  /** `n` bytes as a view into the same memory. */
  take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Checks a 4-byte signature at the current position. */
  signature(sig: string): void {
    this.need(4);
    for (let i = 0; i < 4; i++) {
      if (this.bytes[this.pos + i] !== sig.charCodeAt(i)) damaged(`no ${this.what} (signature "${sig}") at address ${this.addr}`);
    }
    this.pos += 4;
  }
}

/** Whether 4 bytes at `off` spell `sig`. */
export function hasSignature(bytes: Uint8Array, off: number, sig: string): boolean {
  if (off + 4 > bytes.length) return false;
  for (let i = 0; i < 4; i++) if (bytes[off + i] !== sig.charCodeAt(i)) return false;
  return true;
}

/** Unsigned little-endian integer of `size` bytes at `off` (size <= 6, or checked by the caller). */
export function readUint(bytes: Uint8Array, off: number, size: number): number {
  let v = 0;
  let scale = 1;
  for (let i = 0; i < size; i++) {
    v += bytes[off + i]! * scale;
    scale *= 256;
  }
  return v;
}

/** `bytes` as text when they are well-formed UTF-8, else undefined. */
export function utf8(bytes: Uint8Array): string | undefined {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (ascii) return buf.toString("latin1");
  return isUtf8(buf) ? buf.toString("utf8") : undefined;
}

/** Index of the first NUL in `bytes` from `start`, or -1. */
export function indexOfNul(bytes: Uint8Array, start = 0, end = bytes.length): number {
  for (let i = start; i < end; i++) if (bytes[i] === 0) return i;
  return -1;
}

/** Rounds up to a multiple of `n`. */
export function alignUp(v: number, n: number): number {
  return Math.ceil(v / n) * n;
}
