/**
 * The heaps that hold names and values: local heaps ("HEAP", the names of a
 * symbol-table group's members) and global heap collections ("GCOL", the
 * values of variable-length strings). The one global-heap parser of the
 * project: it checks a collection as libhdf5 1.10.8 should (which trusts
 * object sizes and heap IDs, and crashes or loops on damaged ones).
 * @internal
 * @module
 */
import { Cursor, indexOfNul, text, UNDEF, type What } from "./bytes.js";
import { damaged } from "./errors.js";
import type { ByteReader } from "./reader.js";

// ---------------------------------------------------------------------------
// Local heaps

export interface LocalHeap {
  addr: number;
  /** Address of the data segment. */
  dataAddr: number;
  data: Uint8Array;
}

/** libhdf5's "no free block" offset in a local heap's free list. */
const FREE_NULL = 1;
/** Far beyond the names of any group (a million members of 40-byte names). */
const MAX_LOCAL_HEAP = 1024 * 1024 * 1024;

export function readLocalHeap(reader: ByteReader, addr: number, what: string): LocalHeap {
  const c = new Cursor(reader.read(addr, 32, `local heap of ${what}`), addr, `local heap of ${what}`);
  c.signature("HEAP");
  if (c.u8() !== 0) damaged(`local heap of ${what} at address ${addr}: unknown version`);
  c.skip(3);
  const size = c.u64();
  const freeList = c.u64();
  const dataAddr = c.address();
  if (size === 0) damaged(`local heap of ${what} at address ${addr} is empty`);
  if (dataAddr === UNDEF) damaged(`local heap of ${what} at address ${addr} has no data`);
  if (size > MAX_LOCAL_HEAP) damaged(`local heap of ${what} declares ${size} bytes`);
  const data = reader.read(dataAddr, size, `local heap data of ${what}`);
  // The free list, checked as libhdf5 checks it when it loads the heap.
  let blocks = 0;
  for (let off = freeList; off !== FREE_NULL; ) {
    if (off >= size || size - off < 16 || ++blocks > size / 16) damaged(`bad free list in the local heap of ${what}`);
    const f = new Cursor(data, dataAddr, `local heap free list of ${what}`, off);
    const next = f.u64();
    const length = f.u64();
    if (next === 0 || length > size - off) damaged(`bad free list in the local heap of ${what}`);
    off = next;
  }
  return { addr, dataAddr, data };
}

/** The NUL-terminated name at `offset` of a local heap's data. */
export function localHeapName(heap: LocalHeap, offset: number, what: string): Uint8Array {
  if (offset >= heap.data.length) damaged(`a name of ${what} lies outside its local heap at address ${heap.addr}`);
  const end = indexOfNul(heap.data, offset);
  if (end < 0) damaged(`a name in the local heap of ${what} at address ${heap.addr} is not terminated`);
  return heap.data.subarray(offset, end);
}

// ---------------------------------------------------------------------------
// Global heap collections

/** A parsed global heap collection: its bytes, and where each object's data lies in them. */
export class GlobalHeapCollection {
  readonly addr: number;
  readonly bytes: Buffer;
  /** By object index: the offset of its data in `bytes`, and its size (holes for absent indexes). */
  readonly #offsets: number[] = [];
  readonly #sizes: number[] = [];

  constructor(addr: number, bytes: Buffer) {
    this.addr = addr;
    this.bytes = bytes;
  }

  /** Offset of object `index`'s data in `bytes`, or -1 when the collection has no such object. */
  offsetOf(index: number): number {
    return this.#offsets[index] ?? -1;
  }

  /** Size of object `index` (call after {@link offsetOf} found it). */
  sizeOf(index: number): number {
    return this.#sizes[index]!;
  }

  /** Records object `index`; false when the collection already holds it. */
  add(index: number, offset: number, size: number): boolean {
    if (this.#offsets[index] !== undefined) return false;
    this.#offsets[index] = offset;
    this.#sizes[index] = size;
    return true;
  }
}

const MIN_COLLECTION = 4096;
const MAX_COLLECTION = 256 * 1024 * 1024;

/** Parses a global heap collection: its object table by index, every size checked. */
export function readGlobalHeap(reader: ByteReader, addr: number): GlobalHeapCollection {
  const head = new Cursor(reader.read(addr, 16, "global heap collection"), addr, "global heap collection");
  head.signature("GCOL");
  if (head.u8() !== 1) damaged(`global heap collection at address ${addr}: unknown version`);
  head.skip(3);
  const size = head.u64();
  if (size < MIN_COLLECTION) damaged(`global heap collection at address ${addr} declares ${size} bytes, less than ${MIN_COLLECTION}`);
  if (size > MAX_COLLECTION) damaged(`global heap collection at address ${addr} declares ${size} bytes`);
  const bytes = reader.read(addr, size, "global heap collection");
  const c = new Cursor(bytes, addr, "global heap collection", 16);
  const collection = new GlobalHeapCollection(addr, bytes);
  while (c.remaining >= 16) {
    const start = c.pos;
    const index = c.u16();
    c.skip(6); // reference count, reserved
    const osize = c.u64();
    let need: number;
    if (index > 0) {
      if (osize > size) damaged(`global heap collection at address ${addr}: an object of ${osize} bytes`);
      need = 16 + Math.ceil(osize / 8) * 8;
      if (!collection.add(index, start + 16, osize)) damaged(`global heap collection at address ${addr} holds object ${index} twice`);
    } else {
      need = osize; // free space: its size counts its own header
    }
    if (need < 16 || need > size - start) damaged(`global heap collection at address ${addr} is malformed`);
    c.pos = start + need;
  }
  return collection;
}

/**
 * The bytes of a variable-length value from its stored heap ID (length,
 * collection address, object index), as libhdf5 reads it, or null for a
 * null value (collection address 0).
 */
export function globalHeapValue(id: Cursor, collection: (addr: number) => GlobalHeapCollection, what: What): Uint8Array | null {
  const length = id.u32();
  const addr = id.address();
  const index = id.u32();
  if (index > 0xffff) damaged(`${text(what)}: global heap index ${index} out of range`);
  if (addr === 0) return null;
  const c = collection(addr);
  const offset = c.offsetOf(index);
  if (index === 0 || offset < 0) damaged(`${text(what)} refers to global heap object ${index} at address ${addr}, which does not exist`);
  if (length !== c.sizeOf(index)) damaged(`${text(what)}: its length ${length} differs from its global heap object's ${c.sizeOf(index)} bytes`);
  return c.bytes.subarray(offset, offset + length);
}
