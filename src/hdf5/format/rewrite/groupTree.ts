/**
 * A symbol-table group's structures as bytes to copy: its version 1 B-tree
 * nodes and symbol table nodes, read (and checked) by the format module's
 * group reader, then written again at new addresses with the addresses in
 * them changed. Every node of the tree is written again (so that the
 * sibling links stay consistent); a symbol table node only when an entry in
 * it changed, or when the whole file is written anew.
 * @internal
 * @module
 */
import { readGroupTree } from "../btree1.js";
import { damaged } from "../errors.js";
import { type LocalHeap, readLocalHeap } from "../heaps.js";
import { nameOf } from "../group.js";
import type { ByteReader } from "../reader.js";
import type { Superblock } from "../superblock.js";
import { type Output, readAddress, writeAddress } from "./output.js";

const ENTRY_SIZE = 40;
const NODE_PREFIX = 24;

/** One member of the group, where its entry lies. */
export interface TreeEntry {
  name: string;
  /** Object header address. */
  header: number;
  /** 0: none, 1: a group's B-tree and heap cached in the entry, 2: a soft link. */
  cacheType: number;
  /** Address of the symbol table node holding the entry, and the entry's offset in it. */
  snod: number;
  offset: number;
}

export interface GroupTree {
  btree: number;
  heap: LocalHeap;
  /** B-tree nodes by address, as read. */
  nodes: Map<number, Buffer>;
  /** Symbol table nodes by address, as read. */
  snods: Map<number, Buffer>;
  /** Members in name order. */
  entries: TreeEntry[];
  byName: Map<string, TreeEntry>;
}

/** Reads a symbol-table group's tree (every node checked as the group reader checks it). */
export function readTree(reader: ByteReader, sb: Superblock, btree: number, heapAddr: number, what: string): GroupTree {
  return reader.readingOnce(() => readTreeOnce(reader, sb, btree, heapAddr, what)); // each node is read here once, and copied
}

function readTreeOnce(reader: ByteReader, sb: Superblock, btree: number, heapAddr: number, what: string): GroupTree {
  const heap = readLocalHeap(reader, heapAddr, what);
  const nodes = new Map<number, Buffer>();
  const snods = new Map<number, Buffer>();
  const snodOf = new Map<number, number>();
  const found = readGroupTree(reader, btree, heap, sb.groupLeafK, sb.groupInternalK, what, {
    node: (addr, size) => void nodes.set(addr, Buffer.from(reader.read(addr, size, `group B-tree node of ${what}`))),
    snod: (addr, size) => {
      snods.set(addr, Buffer.from(reader.read(addr, size, `symbol table node of ${what}`)));
      for (let at = addr + 8; at < addr + size; at += ENTRY_SIZE) snodOf.set(at, addr);
    },
  });
  const entries: TreeEntry[] = [];
  const byName = new Map<string, TreeEntry>();
  for (const e of found) {
    const snod = snodOf.get(e.pos);
    if (snod === undefined) damaged(`a member of ${what} lies outside its symbol table nodes`);
    const entry: TreeEntry = { name: nameOf(e.name, what), header: e.header, cacheType: e.cacheType, snod, offset: e.pos - snod };
    entries.push(entry);
    byName.set(entry.name, entry);
  }
  return { btree, heap, nodes, snods, entries, byName };
}

/** Bytes of the tree's structures (nodes and symbol table nodes). */
export function treeBytes(tree: GroupTree, onlySnods?: Iterable<number>): number {
  let n = 0;
  for (const b of tree.nodes.values()) n += b.length;
  for (const addr of onlySnods ?? tree.snods.keys()) n += tree.snods.get(addr)!.length;
  return n;
}

/** Sets the object header address of the entry (and, for a group cached in it, its B-tree and heap). */
export function patchEntry(snod: Buffer, offset: number, header: number, cached?: { btree: number; heap: number }): void {
  writeAddress(snod, offset + 8, header);
  if (cached && snod.readUInt32LE(offset + 16) === 1) {
    writeAddress(snod, offset + 24, cached.btree);
    writeAddress(snod, offset + 32, cached.heap);
  }
}

/**
 * Writes every node of the tree at a new address in `out`, with the symbol
 * table nodes of `snods` (by old address: their new bytes) written too and
 * referred to; returns the new address of the root node.
 */
export function emitTree(tree: GroupTree, out: Output, snods: Map<number, Buffer>): number {
  const moved = new Map<number, number>();
  for (const [addr, bytes] of snods) moved.set(addr, out.put(bytes));
  const fresh = new Map<number, Buffer>();
  for (const [addr, bytes] of tree.nodes) {
    const copy = Buffer.from(bytes);
    fresh.set(addr, copy);
    moved.set(addr, out.put(copy));
  }
  const to = (addr: number) => (addr < 0 ? addr : (moved.get(addr) ?? addr));
  for (const copy of fresh.values()) {
    const used = copy.readUInt16LE(6);
    writeAddress(copy, 8, to(readAddress(copy, 8)));
    writeAddress(copy, 16, to(readAddress(copy, 16)));
    for (let i = 0; i < used; i++) {
      const at = NODE_PREFIX + 8 + 16 * i;
      writeAddress(copy, at, to(readAddress(copy, at)));
    }
  }
  return moved.get(tree.btree)!;
}

/** Copies a local heap (header and data segment, the names at the same offsets) into `out`; returns its new address. */
export function copyLocalHeap(reader: ByteReader, heap: LocalHeap, out: Output, what: string): number {
  const header = Buffer.from(reader.read(heap.addr, 32, `local heap of ${what}`));
  const data = Buffer.from(heap.data);
  const at = out.put(header);
  writeAddress(header, 24, out.put(data));
  return at;
}
