/**
 * Version 1 B-trees ("TREE"): the name index of symbol-table groups (node
 * type 0, leading to symbol table nodes "SNOD") and the chunk index of
 * chunked datasets in the earliest format (node type 1). A group's tree is
 * read whole and every node checked (signature, level, entry count, sibling
 * links, keys); of a chunk tree only what libhdf5 does not check itself on
 * a read is, along the paths its lookups take.
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
      cachedBtree = e.unusedAddress();
      cachedHeap = e.unusedAddress();
    }
    out.push({ name, header, cacheType, pos, cachedBtree, cachedHeap });
  }
}

/** How many chunk lookups {@link checkChunkLookups} follows one by one before it checks the whole tree instead. */
const MAX_LOOKUPS = 1 << 16;

/** One node of a chunk B-tree as libhdf5 decodes it (keys as scaled chunk coordinates). */
interface ChunkNode {
  level: number;
  keys: bigint[][];
  /** The stored size of each key's chunk (the first 4 bytes of its key). */
  sizes: number[];
  /** Child addresses: {@link UNDEF} for the undefined address, Infinity for one beyond 2^53 (outside any file). */
  children: number[];
}

/**
 * The chunk B-tree node at `addr` as libhdf5 1.10.8 decodes it, or
 * `undefined` where libhdf5 fails on it with an error of its own (outside
 * the file, wrong signature or node type, more than 2K entries): the
 * keys' offsets are divided by the chunk dimensions, unchecked, as there.
 */
function readChunkNode(reader: ByteReader, addr: number, dims: readonly number[], chunkK: number): ChunkNode | undefined {
  const keySize = 8 + 8 * dims.length;
  const nodeSize = 24 + 2 * chunkK * 8 + (2 * chunkK + 1) * keySize;
  if (!(addr >= 0) || addr > reader.limit || nodeSize > reader.limit - addr) return undefined;
  const b = reader.read(addr, nodeSize, "chunk B-tree node");
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.toString("latin1", 0, 4) !== "TREE" || b[4] !== 1) return undefined;
  const level = b[5]!;
  const used = v.getUint16(6, true);
  if (used > 2 * chunkK) return undefined;
  const keys: bigint[][] = [];
  const sizes: number[] = [];
  const children: number[] = [];
  let at = 24;
  for (let i = 0; i <= used; i++) {
    const key: bigint[] = [];
    for (let d = 0; d < dims.length; d++) key.push(v.getBigUint64(at + 8 + 8 * d, true) / BigInt(dims[d]!));
    keys.push(key);
    sizes.push(v.getUint32(at, true));
    at += keySize;
    if (i === used) break;
    const child = v.getBigUint64(at, true);
    children.push(child === 0xffffffffffffffffn ? UNDEF : child <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(child) : Infinity);
    at += 8;
  }
  return { level, keys, sizes, children };
}

/** libhdf5's comparison of a chunk's scaled coordinates with the keys either side of a child (H5D__btree_cmp3). */
function compareChunk(scaled: readonly bigint[], left: readonly bigint[], right: readonly bigint[]): number {
  const cmp = (a: readonly bigint[], b: readonly bigint[]) => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
    return 0;
  };
  if (scaled.length === 2) {
    if (scaled[0]! > right[0]! || (scaled[0] === right[0] && scaled[1]! >= right[1]!)) return 1;
    return scaled[0]! < left[0]! ? -1 : 0;
  }
  if (cmp(scaled, right) >= 0) return 1;
  return cmp(scaled, left) < 0 ? -1 : 0;
}

/**
 * What libhdf5 1.10.8 does not check when it reads a chunked dataset whose
 * chunks a version 1 B-tree indexes: it looks each chunk up from the root
 * (H5B_find: a binary search of each node's keys, into the child the
 * search ends at) and never checks that a node's level is below its
 * parent's, so a lookup that comes back to a node it passed recurses
 * until the stack overflows. Each lookup is followed here as libhdf5
 * follows it; a node libhdf5 fails on with an error of its own ends it.
 * A chunk a lookup finds must lie inside the file: libhdf5 allocates and
 * reads as many bytes as its key says (`filtered`: the stored size; else
 * the chunk's own size) without checking them against the file, and
 * returns what it finds there as values. Nothing off the lookups' paths is
 * judged (libhdf5 never reads it).
 * `dims` are the chunk dimensions with the element size last, `extent`
 * the dataspace's dimensions.
 */
export function checkChunkLookups(
  reader: ByteReader,
  btree: number,
  dims: readonly number[],
  extent: readonly number[],
  filtered: boolean,
  chunkK: number,
  what: string,
): void {
  if (btree === UNDEF || dims.some((n) => !(n > 0))) return;
  const nodes = new Map<number, ChunkNode | undefined>();
  const node = (addr: number) => {
    if (!nodes.has(addr)) nodes.set(addr, readChunkNode(reader, addr, dims, chunkK));
    return nodes.get(addr);
  };
  const grid = extent.map((n, i) => Math.ceil(n / dims[i]!));
  const count = grid.reduce((a, b) => a * b, 1);
  if (count === 0) return;
  if (count > MAX_LOOKUPS) return checkChunkTree(node, btree, what);
  const chunkBytes = dims.reduce((a, b) => a * b, 1);
  const scaled = new Array<bigint>(dims.length).fill(0n);
  const at = new Array<number>(grid.length).fill(0);
  for (let n = 0; n < count; n++) {
    for (let i = 0; i < grid.length; i++) scaled[i] = BigInt(at[i]!);
    const path = new Set<number>();
    let addr: number | undefined = btree;
    while (addr !== undefined) {
      if (path.has(addr)) damaged(`the chunk B-tree of ${what} leads a lookup back to node ${addr}`);
      path.add(addr);
      const t = node(addr);
      if (!t) break;
      let lo = 0;
      let hi = t.children.length;
      let cmp = 1;
      let idx = 0;
      while (lo < hi && cmp !== 0) {
        idx = (lo + hi) >> 1;
        cmp = compareChunk(scaled, t.keys[idx]!, t.keys[idx + 1]!);
        if (cmp < 0) hi = idx;
        else lo = idx + 1;
      }
      if (cmp === 0 && t.level === 0) checkChunk(reader, t.children[idx]!, filtered ? t.sizes[idx]! : chunkBytes, what);
      addr = cmp === 0 && t.level > 0 ? t.children[idx] : undefined;
    }
    for (let i = grid.length - 1; i >= 0 && ++at[i]! === grid[i]; i--) at[i] = 0;
  }
}

/** A chunk libhdf5 is about to read: inside the file (none, UNDEF, is a chunk never written: libhdf5 fills it). */
function checkChunk(reader: ByteReader, addr: number, size: number, what: string): void {
  if (addr === UNDEF) return;
  if (addr > reader.limit || size > reader.limit - addr) {
    damaged(`a chunk of ${what} at address ${Number.isFinite(addr) ? addr : "beyond 2^53"} (${size} bytes) lies outside the file`);
  }
}

/** Past {@link MAX_LOOKUPS} chunks: no node of the tree leads back to one above it. */
function checkChunkTree(node: (addr: number) => ChunkNode | undefined, root: number, what: string): void {
  const done = new Set<number>();
  const open = new Set<number>();
  const stack: { addr: number; next: number }[] = [{ addr: root, next: 0 }];
  open.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const t = node(top.addr);
    const child = t && t.level > 0 ? t.children[top.next++] : undefined;
    if (t && t.level > 0 && top.next <= t.children.length) {
      if (child === undefined || done.has(child)) continue;
      if (open.has(child)) damaged(`the chunk B-tree of ${what} leads back to node ${child}`);
      open.add(child);
      stack.push({ addr: child, next: 0 });
      continue;
    }
    stack.pop();
    open.delete(top.addr);
    done.add(top.addr);
  }
}
