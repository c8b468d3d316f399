/**
 * Fractal heaps ("FRHP", direct blocks "FHDB", indirect blocks "FHIB"): where
 * dense link and attribute storage keeps its messages. Managed and tiny
 * objects are read; huge objects and filtered heaps are declined.
 * @internal
 * @module
 */
import { Cursor, readUint, UNDEF } from "./bytes.js";
import { checksumMatches, lookup3 } from "./checksum.js";
import { damaged, unsupported } from "./errors.js";
import type { ByteReader } from "./reader.js";

interface Table {
  width: number;
  startSize: number;
  maxDirectSize: number;
  /** Bits of the heap's address space (maximum heap size). */
  maxHeapBits: number;
  rootRows: number;
  root: number;
}

export class FractalHeap {
  readonly #reader: ByteReader;
  readonly #what: string;
  readonly addr: number;
  readonly idLength: number;
  readonly #table: Table;
  readonly #checksummed: boolean;
  readonly #offsetSize: number;
  readonly #lengthSize: number;
  readonly #maxDirectRows: number;
  readonly #firstRowBits: number;
  readonly #blocks = new Map<number, Buffer>();

  constructor(reader: ByteReader, addr: number, what: string) {
    this.#reader = reader;
    this.#what = what;
    this.addr = addr;
    const c = new Cursor(reader.read(addr, 146, `fractal heap header of ${what}`), addr, `fractal heap header of ${what}`);
    c.signature("FRHP");
    if (c.u8() !== 0) damaged(`fractal heap header of ${what} at address ${addr}: unknown version`);
    this.idLength = c.u16();
    const filterLength = c.u16();
    const flags = c.u8();
    const maxManaged = c.u32();
    c.skip(8); // next huge object id
    c.address(); // v2 B-tree of huge objects
    c.skip(8); // free space in managed blocks
    c.address(); // free-space manager
    c.skip(8 * 3); // managed space, allocated managed space, direct block allocation iterator
    c.skip(8 * 5); // object counts and sizes
    const width = c.u16();
    const startSize = c.u64();
    const maxDirectSize = c.u64();
    const maxHeapBits = c.u16();
    c.u16(); // starting rows of the root indirect block
    const root = c.address();
    const rootRows = c.u16();
    if (filterLength > 0) unsupported(`a filtered fractal heap in ${what}`);
    if (!checksumMatches(c.bytes, 0, c.pos)) damaged(`fractal heap header of ${what} at address ${addr}: checksum mismatch`);
    const pow2 = (n: number) => n > 0 && Number.isInteger(Math.log2(n));
    if (width === 0 || !pow2(width) || !pow2(startSize) || !pow2(maxDirectSize) || maxDirectSize < startSize || maxHeapBits === 0 || maxHeapBits > 64) {
      damaged(`fractal heap of ${what} at address ${addr}: malformed doubling table`);
    }
    if (this.idLength < 1 || maxManaged === 0) damaged(`fractal heap of ${what} at address ${addr}: malformed object sizes`);
    this.#table = { width, startSize, maxDirectSize, maxHeapBits, rootRows, root };
    this.#checksummed = (flags & 0x02) !== 0;
    this.#offsetSize = Math.ceil(maxHeapBits / 8);
    // libhdf5: MIN(bytes to encode an offset within the largest direct block, bytes to encode the largest managed object).
    const encode = (n: number) => Math.floor(Math.log2(Math.max(n, 1)) / 8) + 1;
    this.#lengthSize = Math.min(Math.ceil(Math.log2(maxDirectSize) / 8), encode(maxManaged));
    this.#maxDirectRows = Math.log2(maxDirectSize) - Math.log2(startSize) + 2;
    this.#firstRowBits = Math.log2(startSize) + Math.log2(width);
  }

  /** The object behind a heap ID. */
  object(id: Uint8Array): Buffer {
    if (id.length < 1) damaged(`an empty fractal heap ID in ${this.#what}`);
    const head = id[0]!;
    if (head >> 6 !== 0) damaged(`fractal heap ID version ${head >> 6} in ${this.#what}`);
    const type = (head >> 4) & 0x03;
    if (type === 2) {
      const length = (head & 0x0f) + 1;
      if (1 + length > id.length) damaged(`a tiny fractal heap object of ${this.#what} runs past its ID`);
      return Buffer.from(id.buffer, id.byteOffset + 1, length);
    }
    if (type === 1) unsupported(`a huge fractal heap object in ${this.#what}`);
    if (type !== 0) damaged(`fractal heap ID type ${type} in ${this.#what}`);
    if (1 + this.#offsetSize + this.#lengthSize > id.length) damaged(`a fractal heap ID of ${this.#what} is too short`);
    const offset = readUint(id, 1, this.#offsetSize);
    const length = readUint(id, 1 + this.#offsetSize, this.#lengthSize);
    return this.#managed(offset, length);
  }

  #managed(offset: number, length: number): Buffer {
    const t = this.#table;
    if (t.root === UNDEF) damaged(`fractal heap of ${this.#what} is empty but an object is looked up`);
    if (t.rootRows === 0) return this.#fromDirect(t.root, t.startSize, 0, offset, length);
    return this.#fromIndirect(t.root, t.rootRows, 0, offset, length, 0);
  }

  #rowSize(row: number): number {
    const t = this.#table;
    return row === 0 ? t.startSize : t.startSize * 2 ** (row - 1);
  }

  #rowStart(row: number): number {
    const t = this.#table;
    return row === 0 ? 0 : t.startSize * t.width * 2 ** (row - 1);
  }

  #fromIndirect(addr: number, rows: number, blockOffset: number, offset: number, length: number, depth: number): Buffer {
    const t = this.#table;
    if (depth > 32) damaged(`fractal heap of ${this.#what}: indirect blocks nested too deeply`);
    const rel = offset - blockOffset;
    if (rel < 0) damaged(`fractal heap of ${this.#what}: object offset ${offset} outside its block`);
    let row = 0;
    if (rel >= t.startSize * t.width) row = Math.floor(Math.log2(rel / (t.startSize * t.width))) + 1;
    if (row >= rows) damaged(`fractal heap of ${this.#what}: object offset ${offset} beyond its indirect block`);
    const size = this.#rowSize(row);
    const col = Math.floor((rel - this.#rowStart(row)) / size);
    if (col >= t.width) damaged(`fractal heap of ${this.#what}: object offset ${offset} beyond its row`);
    const directRows = Math.min(rows, this.#maxDirectRows);
    const directEntries = directRows * t.width;
    const indirectEntries = Math.max(0, rows - this.#maxDirectRows) * t.width;
    const headerSize = 5 + 8 + this.#offsetSize;
    const blockSize = headerSize + 8 * (directEntries + indirectEntries) + 4;
    const bytes = this.#block(addr, blockSize, "FHIB");
    const c = new Cursor(bytes, addr, `fractal heap indirect block of ${this.#what}`, 5);
    if (c.address() !== this.addr) damaged(`fractal heap indirect block of ${this.#what} at address ${addr} belongs to another heap`);
    const storedOffset = c.uint(this.#offsetSize);
    if (storedOffset !== blockOffset) damaged(`fractal heap indirect block of ${this.#what} at address ${addr}: block offset ${storedOffset}, expected ${blockOffset}`);
    const entry = row * t.width + col;
    const childOffset = blockOffset + this.#rowStart(row) + col * size;
    c.pos = headerSize + 8 * entry;
    const child = c.address();
    if (child === UNDEF) damaged(`fractal heap of ${this.#what}: object offset ${offset} lies in a block that was never allocated`);
    if (row < this.#maxDirectRows) return this.#fromDirect(child, size, childOffset, offset, length);
    const childRows = Math.log2(size) - this.#firstRowBits + 1;
    return this.#fromIndirect(child, childRows, childOffset, offset, length, depth + 1);
  }

  #fromDirect(addr: number, size: number, blockOffset: number, offset: number, length: number): Buffer {
    const bytes = this.#block(addr, size, "FHDB");
    const c = new Cursor(bytes, addr, `fractal heap direct block of ${this.#what}`, 5);
    if (c.address() !== this.addr) damaged(`fractal heap direct block of ${this.#what} at address ${addr} belongs to another heap`);
    const storedOffset = c.uint(this.#offsetSize);
    if (storedOffset !== blockOffset) damaged(`fractal heap direct block of ${this.#what} at address ${addr}: block offset ${storedOffset}, expected ${blockOffset}`);
    const header = c.pos + (this.#checksummed ? 4 : 0);
    const rel = offset - blockOffset;
    if (rel < header || length > size - rel) damaged(`fractal heap object of ${this.#what} at offset ${offset} (${length} bytes) lies outside its direct block`);
    return bytes.subarray(rel, rel + length);
  }

  #block(addr: number, size: number, signature: "FHDB" | "FHIB"): Buffer {
    const cached = this.#blocks.get(addr);
    if (cached) return cached;
    const bytes = this.#reader.read(addr, size, `fractal heap block of ${this.#what}`);
    const c = new Cursor(bytes, addr, `fractal heap block of ${this.#what}`);
    c.signature(signature);
    if (c.u8() !== 0) damaged(`fractal heap block of ${this.#what} at address ${addr}: unknown version`);
    if (signature === "FHIB") {
      if (!checksumMatches(bytes, 0, size - 4)) damaged(`fractal heap indirect block of ${this.#what} at address ${addr}: checksum mismatch`);
    } else if (this.#checksummed) {
      // The checksum field (after the block offset) counts as zero in its own sum.
      const at = 5 + 8 + this.#offsetSize;
      const stored = (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
      const zeroed = Uint8Array.from(bytes); // a copy (Buffer#slice would be a view of the page)
      zeroed.fill(0, at, at + 4);
      if (lookup3(zeroed) !== stored) damaged(`fractal heap direct block of ${this.#what} at address ${addr}: checksum mismatch`);
    }
    this.#blocks.set(addr, bytes);
    return bytes;
  }
}
