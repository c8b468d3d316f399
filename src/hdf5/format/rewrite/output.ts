/**
 * Where a rewrite puts what it writes: a region of file addresses that
 * grows as structures are placed in it (after the file's end of allocation
 * for an append, from 0 for a new file), and the global heap collections
 * that hold the new variable-length values.
 *
 * Nothing is written here: the region is a list of pieces (bytes, or a range
 * of the source file to copy) at known addresses, which the caller writes.
 * @internal
 * @module
 */
import { alignUp } from "../bytes.js";
import { unsupported } from "../errors.js";

/** Bytes at an address, or a range of the source file to copy there (`from`: absolute offset). */
export type Piece = { at: number; bytes: Buffer } | { at: number; from: number; length: number };

/** Structures are placed at multiples of 8, as libhdf5 aligns object header messages and heap objects. */
const ALIGN = 8;
const ZEROS = Buffer.alloc(ALIGN);

/** Bytes of each slab that {@link Output.reserve} carves structures from. */
const SLAB = 1024 * 1024;
/** Larger structures get a buffer of their own. */
const SLAB_MAX = SLAB / 4;

/**
 * A growing region of file addresses.
 *
 * Structures made here ({@link reserve}) are carved out of large zeroed
 * slabs at the offsets their addresses have (both advance by the same
 * aligned steps), so that one allocation serves thousands of headers and
 * the region goes to the file as a few long buffers (see {@link buffers}).
 */
export class Output {
  /** First address of the region. */
  readonly start: number;
  readonly pieces: Piece[] = [];
  #end: number;
  #slab: Buffer | undefined;
  #slabUsed = 0;
  /** The slabs' backing stores: only their gaps are known to be zeros. */
  readonly #slabs = new Set<ArrayBufferLike>();

  constructor(start: number) {
    this.start = alignUp(start, ALIGN);
    this.#end = this.start;
  }

  /** The first address after everything placed. */
  get end(): number {
    return this.#end;
  }

  /** Bytes placed so far (copies included). */
  get size(): number {
    return this.#end - this.start;
  }

  /** Places `bytes`; returns their address. The buffer may still be filled in until the region is written. */
  put(bytes: Buffer): number {
    const at = this.#end;
    this.pieces.push({ at, bytes });
    this.#end = alignUp(at + bytes.length, ALIGN);
    return at;
  }

  /**
   * Places `length` zeroed bytes, to be filled in until the region is
   * written; returns them (their address: {@link lastAt}).
   */
  reserve(length: number): Buffer {
    let bytes: Buffer;
    if (length > SLAB_MAX) bytes = Buffer.alloc(length);
    else {
      if (!this.#slab || this.#slab.length - this.#slabUsed < length) {
        this.#slab = Buffer.alloc(SLAB);
        this.#slabUsed = 0;
        this.#slabs.add(this.#slab.buffer);
      }
      bytes = this.#slab.subarray(this.#slabUsed, this.#slabUsed + length);
      this.#slabUsed = alignUp(this.#slabUsed + length, ALIGN);
    }
    this.lastAt = this.put(bytes);
    return bytes;
  }

  /** The address of the bytes {@link reserve} gave last. */
  lastAt = 0;

  /** Places a copy of `length` bytes of the source file at absolute offset `from`; returns the address. */
  copy(from: number, length: number): number {
    const at = this.#end;
    if (length > 0) this.pieces.push({ at, from, length });
    this.#end = alignUp(at + length, ALIGN);
    return at;
  }

  /**
   * The whole region as buffers that follow one another (only for regions
   * without copies): the pieces, with zeros where alignment left a gap;
   * pieces that lie one after the other in one slab, with the same gap
   * (zeros) between them there as in the file, as one buffer.
   */
  buffers(): Buffer[] {
    const out: Buffer[] = [];
    let at = this.start;
    // The run of slab bytes being gathered: its backing store and offsets there.
    let run: ArrayBufferLike | undefined;
    let runStart = 0;
    let runEnd = 0;
    const flush = () => {
      if (run) out.push(Buffer.from(run, runStart, runEnd - runStart));
      run = undefined;
    };
    for (const p of this.pieces) {
      if (!("bytes" in p)) throw new Error("a region with copies of the source is written piece by piece");
      const b = p.bytes;
      if (run !== undefined && b.buffer === run && b.byteOffset >= runEnd && b.byteOffset - runEnd === p.at - at) {
        runEnd = b.byteOffset + b.length;
      } else {
        flush();
        if (p.at > at) out.push(ZEROS.subarray(0, p.at - at));
        run = this.#slabs.has(b.buffer) ? b.buffer : undefined;
        if (run === undefined) out.push(b);
        runStart = b.byteOffset;
        runEnd = b.byteOffset + b.length;
      }
      at = p.at + b.length;
    }
    flush();
    if (this.#end > at) out.push(ZEROS.subarray(0, this.#end - at));
    return out;
  }
}

/** Smallest global heap collection libhdf5 reads (it reads this much before it knows the size). */
export const MIN_COLLECTION = 4096;
const COLLECTION_HEADER = 16;
const OBJECT_HEADER = 16;
const MAX_INDEX = 0xffff;

/** A reference to a global heap object, as a variable-length value stores it. */
export interface HeapId {
  length: number;
  collection: number;
  index: number;
}

/**
 * New global heap collections ("GCOL", version 1) in an {@link Output}: each
 * value becomes one object (index from 1, reference count 0, its bytes
 * padded to 8), as libhdf5 writes a variable-length string; a collection is
 * 4 KiB, or as large as one long value needs, and what is left of it is
 * one free-space object.
 */
export class GlobalHeapWriter {
  readonly #out: Output;
  #bytes: Buffer | undefined;
  #addr = 0;
  #used = 0;
  #next = 1;
  /** Bytes of all the objects placed (headers and padding included). */
  objectBytes = 0;

  constructor(out: Output) {
    this.#out = out;
  }

  /** Places `value` in a collection; returns its heap ID. */
  add(value: Uint8Array): HeapId {
    const at = this.#place(value.length);
    this.#bytes!.set(value, at);
    return this.#id(value.length);
  }

  /** Places text, as UTF-8 (written straight into the collection); returns its heap ID. */
  addText(value: string): HeapId {
    // Short ASCII text (most values) byte by byte; the rest through the encoder.
    const n = value.length;
    let ascii = n <= 256;
    for (let i = 0; ascii && i < n; i++) if (value.charCodeAt(i) >= 0x80) ascii = false;
    const length = ascii ? n : Buffer.byteLength(value, "utf8");
    const at = this.#place(length);
    const b = this.#bytes!;
    if (ascii) for (let i = 0; i < n; i++) b[at + i] = value.charCodeAt(i);
    else b.write(value, at, length, "utf8");
    return this.#id(length);
  }

  #lastIndex = 0;

  /** Makes room for an object of `length` bytes and writes its header; returns where its bytes go. */
  #place(length: number): number {
    const need = OBJECT_HEADER + alignUp(length, ALIGN);
    if (need > 2 ** 31) unsupported(`a value of ${length} bytes`);
    if (!this.#bytes || this.#bytes.length - this.#used < need || this.#next > MAX_INDEX) this.#begin(need);
    const b = this.#bytes!;
    const index = this.#next++;
    const at = this.#used;
    // Index, reference count 0, reserved (the collection's bytes are zeros), size (below 2^31).
    b[at] = index & 0xff;
    b[at + 1] = index >>> 8;
    b[at + 8] = length & 0xff;
    b[at + 9] = (length >>> 8) & 0xff;
    b[at + 10] = (length >>> 16) & 0xff;
    b[at + 11] = length >>> 24;
    this.#used += need;
    this.objectBytes += need;
    this.#lastIndex = index;
    return at + OBJECT_HEADER;
  }

  #id(length: number): HeapId {
    return { length, collection: this.#addr, index: this.#lastIndex };
  }

  /** Ends the current collection (its free space described); call before the region is written. */
  finish(): void {
    const b = this.#bytes;
    if (!b) return;
    const free = b.length - this.#used;
    if (free >= OBJECT_HEADER) {
      // Object 0 is the free space; its size counts its own header.
      b.writeUInt16LE(0, this.#used);
      writeU64(b, this.#used + 8, free);
    }
    this.#bytes = undefined;
  }

  #begin(need: number): void {
    this.finish();
    const size = Math.max(MIN_COLLECTION, alignUp(COLLECTION_HEADER + need, ALIGN));
    const b = this.#out.reserve(size);
    b.write("GCOL", 0, "latin1");
    b[4] = 1;
    writeU64(b, 8, size);
    this.#bytes = b;
    this.#addr = this.#out.lastAt;
    this.#used = COLLECTION_HEADER;
    this.#next = 1;
  }
}

/** Writes a non-negative integer below 2^53 as 8 little-endian bytes. */
export function writeU64(b: Buffer, at: number, v: number): void {
  b.writeUInt32LE(v % 2 ** 32, at);
  b.writeUInt32LE(Math.floor(v / 2 ** 32), at + 4);
}

/** Writes an address: `UNDEF` (-1) as all bits set. */
export function writeAddress(b: Buffer, at: number, addr: number): void {
  if (addr < 0) b.fill(0xff, at, at + 8);
  else writeU64(b, at, addr);
}

/** Reads an address written by {@link writeAddress} (all bits set: -1). */
export function readAddress(b: Uint8Array, at: number): number {
  let all = true;
  for (let i = 0; i < 8; i++) if (b[at + i] !== 0xff) all = false;
  if (all) return -1;
  const lo = b[at]! + b[at + 1]! * 2 ** 8 + b[at + 2]! * 2 ** 16 + b[at + 3]! * 2 ** 24;
  const hi = b[at + 4]! + b[at + 5]! * 2 ** 8 + b[at + 6]! * 2 ** 16 + b[at + 7]! * 2 ** 24;
  return lo + hi * 2 ** 32;
}
