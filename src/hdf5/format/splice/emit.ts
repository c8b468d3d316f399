/**
 * What a splice writes of its own: the new root group (a version 1 object
 * header with a symbol table message, a version 1 group B-tree, symbol
 * table nodes, a local heap) listing every source's root members, and the
 * version 0 superblock.
 * @internal
 * @module
 */
import { UNDEF } from "../bytes.js";
import { MSG } from "../objectHeader.js";
import { ENTRY_SIZE, HEAP_FREE_NULL, HEAP_HEADER_SIZE, INTERNAL_K, LEAF_K, NODE_SIZE, SNOD_SIZE, SUPERBLOCK_SIZE, type RootMember, TWO32, alignUp } from "./layout.js";

export function put64(buf: Buffer, at: number, v: number): void {
  if (v === UNDEF) {
    buf.writeUInt32LE(0xffffffff, at);
    buf.writeUInt32LE(0xffffffff, at + 4);
  } else {
    buf.writeUInt32LE(v % TWO32, at);
    buf.writeUInt32LE(Math.floor(v / TWO32), at + 4);
  }
}

/**
 * The root group laid out from `addr`: object header, B-tree nodes (root
 * node first), symbol table nodes and local heap, in one buffer.
 */
export function rootGroup(members: RootMember[], addr: number): { bytes: Buffer; btree: number; heap: number } {
  const sorted = [...members].sort((a, b) => Buffer.compare(a.nameBytes, b.nameBytes));
  // Local heap data: "" at offset 0, then every name, each padded to 8 bytes.
  const nameOff: number[] = [];
  let heapData = 8;
  for (const m of sorted) {
    nameOff.push(heapData);
    heapData += alignUp(m.nameBytes.length + 1, 8);
  }
  const snods = Math.ceil(sorted.length / (2 * LEAF_K));
  // B-tree levels, bottom up: each level's nodes as ranges of children in the level below.
  const levels: { first: number; count: number }[][] = [];
  let below = snods;
  do {
    const count = Math.max(1, Math.ceil(below / (2 * INTERNAL_K)));
    const level: { first: number; count: number }[] = [];
    let first = 0;
    for (let k = 0; k < count; k++) {
      const n = Math.floor(below / count) + (k < below % count ? 1 : 0);
      level.push({ first, count: n });
      first += n;
    }
    levels.push(level);
    below = count;
  } while (below > 1);
  const treeNodes = levels.reduce((s, l) => s + l.length, 0);

  const headerAddr = addr;
  const nodesAddr = headerAddr + 40;
  const snodsAddr = nodesAddr + treeNodes * NODE_SIZE;
  const heapAddr = snodsAddr + snods * SNOD_SIZE;
  const out = Buffer.alloc(heapAddr + HEAP_HEADER_SIZE + heapData - addr);
  const at = (a: number) => a - addr;

  // Node addresses: levels stored top (root) first.
  const nodeAddr: number[][] = levels.map(() => []);
  let a = nodesAddr;
  for (let l = levels.length - 1; l >= 0; l--) for (let k = 0; k < levels[l]!.length; k++, a += NODE_SIZE) nodeAddr[l]!.push(a);
  const btree = nodeAddr[levels.length - 1]![0]!;

  // The largest name (as a heap offset) under each child of each level.
  let maxKey: number[] = [];
  for (let s = 0; s < snods; s++) maxKey.push(nameOff[Math.min(sorted.length, (s + 1) * 2 * LEAF_K) - 1]!);
  levels.forEach((level, l) => {
    const upKey: number[] = [];
    level.forEach((node, k) => {
      const p = at(nodeAddr[l]![k]!);
      out.write("TREE", p, "latin1");
      out[p + 4] = 0;
      out[p + 5] = l;
      out.writeUInt16LE(node.count, p + 6);
      put64(out, p + 8, k > 0 ? nodeAddr[l]![k - 1]! : UNDEF);
      put64(out, p + 16, k + 1 < level.length ? nodeAddr[l]![k + 1]! : UNDEF);
      // Left key: the largest name left of this node ("" at offset 0 for the leftmost).
      put64(out, p + 24, node.first > 0 ? maxKey[node.first - 1]! : 0);
      for (let c = 0; c < node.count; c++) {
        const child = node.first + c;
        put64(out, p + 24 + 16 * c + 8, l === 0 ? snodsAddr + child * SNOD_SIZE : nodeAddr[l - 1]![child]!);
        put64(out, p + 24 + 16 * (c + 1), maxKey[child]!);
      }
      upKey.push(node.count > 0 ? maxKey[node.first + node.count - 1]! : 0);
    });
    maxKey = upKey;
  });

  // Symbol table nodes.
  for (let s = 0; s < snods; s++) {
    const p = at(snodsAddr + s * SNOD_SIZE);
    out.write("SNOD", p, "latin1");
    out[p + 4] = 1;
    const first = s * 2 * LEAF_K;
    const count = Math.min(2 * LEAF_K, sorted.length - first);
    out.writeUInt16LE(count, p + 6);
    for (let i = 0; i < count; i++) {
      const m = sorted[first + i]!;
      const e = p + 8 + ENTRY_SIZE * i;
      put64(out, e, nameOff[first + i]!);
      put64(out, e + 8, m.header);
      if (m.group) {
        out.writeUInt32LE(1, e + 16);
        put64(out, e + 24, m.btree);
        put64(out, e + 32, m.heap);
      }
    }
  }

  // Local heap.
  const h = at(heapAddr);
  out.write("HEAP", h, "latin1");
  put64(out, h + 8, heapData);
  put64(out, h + 16, HEAP_FREE_NULL);
  put64(out, h + 24, heapAddr + HEAP_HEADER_SIZE);
  sorted.forEach((m, i) => out.set(m.nameBytes, h + HEAP_HEADER_SIZE + nameOff[i]!));

  // Object header: version 1, one symbol table message.
  const o = at(headerAddr);
  out[o] = 1;
  out.writeUInt16LE(1, o + 2);
  out.writeUInt32LE(1, o + 4);
  out.writeUInt32LE(24, o + 8);
  out.writeUInt16LE(MSG.SYMBOL_TABLE, o + 16);
  out.writeUInt16LE(16, o + 18);
  put64(out, o + 24, btree);
  put64(out, o + 32, heapAddr);
  return { bytes: out, btree, heap: heapAddr };
}

/** The version 0 superblock of a spliced file whose root group's header is at `root`. */
export function superblock(eoa: number, root: { addr: number; btree: number; heap: number }): Buffer {
  const sb = Buffer.alloc(SUPERBLOCK_SIZE);
  Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]).copy(sb, 0);
  sb[13] = 8; // size of offsets
  sb[14] = 8; // size of lengths
  sb.writeUInt16LE(LEAF_K, 16);
  sb.writeUInt16LE(INTERNAL_K, 18);
  put64(sb, 24, 0); // base address
  put64(sb, 32, UNDEF); // free-space information
  put64(sb, 40, eoa); // end of file address
  put64(sb, 48, UNDEF); // driver information block
  // Root group symbol table entry: name offset 0, header, cache type 1 with its B-tree and heap.
  put64(sb, 64, root.addr);
  sb.writeUInt32LE(1, 72);
  put64(sb, 80, root.btree);
  put64(sb, 88, root.heap);
  return sb;
}
