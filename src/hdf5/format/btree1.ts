/**
 * Version 1 B-trees ("TREE"): the name index of symbol-table groups (node
 * type 0, leading to symbol table nodes "SNOD") and the chunk index of
 * chunked datasets in the earliest format (node type 1). Every node is
 * checked (signature, level, entry count, sibling links, keys) and no node
 * is visited twice, so a damaged tree fails here instead of inside libhdf5.
 * @internal
 * @module
 */
import { Cursor, UNDEF } from "./bytes.js";
import { damaged } from "./errors.js";
import { localHeapName, type LocalHeap } from "./heaps.js";
import type { ByteReader } from "./reader.js";

const MAX_LEVEL = 32;
const ENTRY_SIZE = 40;

/** One symbol table entry of a group. */
export interface SymbolEntry {
  name: Uint8Array;
  /** Object header address. */
  header: number;
  /** Cache type: 0 none, 1 a group's B-tree and heap cached in the entry, 2 a soft link. */
  cacheType: number;
  /** File address of the entry (for the splicer's relocation). */
  pos: number;
  /** Cache type 1: the B-tree and local heap addresses cached in the entry, else {@link UNDEF}. */
  cachedBtree: number;
  cachedHeap: number;
}

/** Where the walk found structures (for the splicer, which relocates their addresses). */
export interface GroupTreeVisitor {
  node?(addr: number, size: number, entries: number, level: number): void;
  snod?(addr: number, size: number): void;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * Every entry of a symbol-table group, in name order, from its B-tree at
 * `btree` whose keys and names live in `heap`.
 */
export function readGroupTree(
  reader: ByteReader,
  btree: number,
  heap: LocalHeap,
  leafK: number,
  internalK: number,
  what: string,
  visitor: GroupTreeVisitor = {},
): SymbolEntry[] {
  const entries: SymbolEntry[] = [];
  const nodes = new Map<number, number>(); // address -> level
  const nodeSize = 24 + 2 * internalK * 8 + (2 * internalK + 1) * 8;
  const snodSize = 8 + 2 * leafK * ENTRY_SIZE;
  const walk = (addr: number, expect: number) => {
    if (nodes.has(addr)) damaged(`the B-tree of ${what} reaches node ${addr} twice`);
    const c = new Cursor(reader.read(addr, nodeSize, `group B-tree node of ${what}`), addr, `group B-tree node of ${what}`);
    c.signature("TREE");
    if (c.u8() !== 0) damaged(`B-tree node of ${what} at address ${addr} is not a group node`);
    const level = c.u8();
    const used = c.u16();
    if (level > MAX_LEVEL || (expect >= 0 && level !== expect)) damaged(`the B-tree levels of ${what} are inconsistent`);
    if (used > 2 * internalK) damaged(`a B-tree node of ${what} holds ${used} children, more than ${2 * internalK}`);
    nodes.set(addr, level);
    visitor.node?.(addr, nodeSize, used, level);
    // Sibling links: libhdf5 does not follow them when it reads; the splicer checks them itself.
    c.skip(16);
    for (let i = 0; i < used; i++) {
      const lo = localHeapName(heap, c.u64(), what);
      const child = c.address();
      const save = c.pos;
      const hi = localHeapName(heap, c.u64(), what);
      c.pos = save;
      const first = entries.length;
      if (level > 0) walk(child, level - 1);
      else readSymbolNode(reader, child, heap, leafK, snodSize, what, entries, visitor);
      for (let k = first; k < entries.length; k++) {
        const name = entries[k]!.name;
        if (!(compareBytes(lo, name) < 0) || compareBytes(hi, name) < 0) damaged(`the B-tree keys of ${what} do not match its members`);
      }
    }
  };
  walk(btree, -1);
  for (let i = 1; i < entries.length; i++) {
    if (!(compareBytes(entries[i - 1]!.name, entries[i]!.name) < 0)) damaged(`the members of ${what} are not in name order`);
  }
  return entries;
}

function readSymbolNode(
  reader: ByteReader,
  addr: number,
  heap: LocalHeap,
  leafK: number,
  size: number,
  what: string,
  out: SymbolEntry[],
  visitor: GroupTreeVisitor,
): void {
  const c = new Cursor(reader.read(addr, size, `symbol table node of ${what}`), addr, `symbol table node of ${what}`);
  c.signature("SNOD");
  if (c.u8() !== 1) damaged(`symbol table node of ${what} at address ${addr}: unknown version`);
  c.skip(1);
  const count = c.u16();
  if (count > 2 * leafK) damaged(`a symbol table node of ${what} holds ${count} entries, more than ${2 * leafK}`);
  visitor.snod?.(addr, size);
  for (let i = 0; i < count; i++) {
    const pos = addr + 8 + ENTRY_SIZE * i;
    const e = new Cursor(c.bytes, addr, `symbol table entry of ${what}`, 8 + ENTRY_SIZE * i);
    const name = localHeapName(heap, e.u64(), what);
    const header = e.address();
    const cacheType = e.u32();
    if (cacheType > 2) damaged(`a symbol table entry of ${what} has cache type ${cacheType}`);
    if (name.length === 0) damaged(`a member of ${what} has an empty name`);
    let cachedBtree = UNDEF;
    let cachedHeap = UNDEF;
    if (cacheType === 1) {
      e.skip(4);
      cachedBtree = e.address();
      cachedHeap = e.address();
    }
    out.push({ name, header, cacheType, pos, cachedBtree, cachedHeap });
  }
}

/** One chunk of a chunked dataset, from its index. */
export interface ChunkRecord {
  addr: number;
  size: number;
  offsets: number[];
}

/**
 * Every chunk of a chunked dataset indexed by a version 1 B-tree (type 1):
 * `rank` is the dataset's rank, `chunkK` the superblock's indexed storage K.
 */
export function readChunkTree(reader: ByteReader, btree: number, rank: number, chunkK: number, what: string): ChunkRecord[] {
  const out: ChunkRecord[] = [];
  if (btree === UNDEF) return out;
  const keySize = 8 + 8 * (rank + 1);
  const nodeSize = 24 + 2 * chunkK * 8 + (2 * chunkK + 1) * keySize;
  const seen = new Set<number>();
  const walk = (addr: number, expect: number) => {
    if (seen.has(addr)) damaged(`the chunk B-tree of ${what} reaches node ${addr} twice`);
    seen.add(addr);
    const c = new Cursor(reader.read(addr, nodeSize, `chunk B-tree node of ${what}`), addr, `chunk B-tree node of ${what}`);
    c.signature("TREE");
    if (c.u8() !== 1) damaged(`B-tree node of ${what} at address ${addr} is not a chunk node`);
    const level = c.u8();
    const used = c.u16();
    if (level > MAX_LEVEL || (expect >= 0 && level !== expect)) damaged(`the chunk B-tree levels of ${what} are inconsistent`);
    if (used > 2 * chunkK) damaged(`a chunk B-tree node of ${what} holds ${used} children, more than ${2 * chunkK}`);
    c.skip(16); // siblings
    for (let i = 0; i < used; i++) {
      const size = c.u32();
      c.u32(); // filter mask
      const offsets: number[] = [];
      for (let d = 0; d <= rank; d++) offsets.push(c.u64());
      const child = c.address();
      if (level > 0) walk(child, level - 1);
      else {
        if (child === UNDEF) damaged(`a chunk of ${what} has no address`);
        if (child > reader.limit || size > reader.limit - child) damaged(`a chunk of ${what} at address ${child} lies outside the file`);
        out.push({ addr: child, size, offsets: offsets.slice(0, rank) });
      }
    }
  };
  walk(btree, -1);
  return out;
}
