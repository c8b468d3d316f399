/**
 * Version 2 B-trees ("BTHD", "BTIN", "BTLF"): the indexes of dense link
 * and attribute storage. Only a full walk is needed (every record, in any
 * order): callers sort by name or creation order themselves.
 * @internal
 * @module
 */
import { Cursor, UNDEF } from "./bytes.js";
import { checksumMatches } from "./checksum.js";
import { damaged } from "./errors.js";
import type { ByteReader } from "./reader.js";

const PREFIX = 10; // signature, version, type, checksum
const MAX_DEPTH = 16;
const MAX_RECORDS = 1 << 24;

/** Bytes needed to encode numbers up to `n` (libhdf5's H5VM_limit_enc_size). */
function encodedSize(n: number): number {
  return Math.floor(Math.log2(Math.max(n, 1)) / 8) + 1;
}

/**
 * Every record of the v2 B-tree whose header is at `addr`, checking that
 * its type is `type` (5: link names, 6: link creation order, 8: attribute
 * names, 9: attribute creation order).
 */
export function readBtree2(reader: ByteReader, addr: number, type: number, what: string): Uint8Array[] {
  const h = new Cursor(reader.read(addr, 38, `v2 B-tree header of ${what}`), addr, `v2 B-tree header of ${what}`);
  h.signature("BTHD");
  if (h.u8() !== 0) damaged(`v2 B-tree header of ${what} at address ${addr}: unknown version`);
  const treeType = h.u8();
  if (treeType !== type) damaged(`v2 B-tree of ${what} at address ${addr} has type ${treeType}, expected ${type}`);
  const nodeSize = h.u32();
  const recordSize = h.u16();
  const depth = h.u16();
  h.skip(2); // split and merge percentages
  const root = h.address();
  const rootRecords = h.u16();
  const total = h.u64();
  if (!checksumMatches(h.bytes, 0, 34)) damaged(`v2 B-tree header of ${what} at address ${addr}: checksum mismatch`);
  if (nodeSize < 64 || nodeSize > 1 << 20 || recordSize === 0 || recordSize > nodeSize) damaged(`v2 B-tree of ${what}: node size ${nodeSize}, record size ${recordSize}`);
  if (depth > MAX_DEPTH) damaged(`v2 B-tree of ${what} of depth ${depth}`);
  if (total > MAX_RECORDS) damaged(`v2 B-tree of ${what} declares ${total} records`);
  const records: Uint8Array[] = [];
  if (root === UNDEF) {
    if (total !== 0 || rootRecords !== 0) damaged(`v2 B-tree of ${what} has records but no root`);
    return records;
  }
  // Record counts and pointer sizes per depth, as libhdf5 derives them.
  const maxRecords: number[] = [Math.floor((nodeSize - PREFIX) / recordSize)];
  const cumMax: number[] = [maxRecords[0]!];
  const cumSize: number[] = [0];
  const countSize = encodedSize(maxRecords[0]!);
  for (let d = 1; d <= depth; d++) {
    const pointer = 8 + countSize + (d > 1 ? cumSize[d - 1]! : 0);
    const m = Math.floor((nodeSize - (PREFIX + pointer)) / (recordSize + pointer));
    if (m < 1) damaged(`v2 B-tree of ${what}: nodes too small for depth ${depth}`);
    maxRecords.push(m);
    cumMax.push((m + 1) * cumMax[d - 1]! + m);
    cumSize.push(encodedSize(cumMax[d]!));
  }
  const seen = new Set<number>();
  const visit = (node: number, d: number, count: number) => {
    if (seen.has(node)) damaged(`v2 B-tree of ${what} reaches node ${node} twice`);
    seen.add(node);
    if (count > maxRecords[d]!) damaged(`v2 B-tree node of ${what} holds ${count} records, more than ${maxRecords[d]}`);
    const bytes = reader.read(node, nodeSize, `v2 B-tree node of ${what}`);
    const c = new Cursor(bytes, node, `v2 B-tree node of ${what}`);
    c.signature(d === 0 ? "BTLF" : "BTIN");
    if (c.u8() !== 0) damaged(`v2 B-tree node of ${what} at address ${node}: unknown version`);
    if (c.u8() !== type) damaged(`v2 B-tree node of ${what} at address ${node} has another type`);
    for (let i = 0; i < count; i++) records.push(c.take(recordSize));
    if (records.length > total) damaged(`v2 B-tree of ${what} holds more records than its header says`);
    const children: [number, number][] = [];
    if (d > 0) {
      for (let i = 0; i <= count; i++) {
        const child = c.address();
        const n = c.uint(countSize);
        if (d > 1) c.uint(cumSize[d - 1]!);
        if (child === UNDEF) damaged(`v2 B-tree node of ${what} at address ${node} has a child without address`);
        children.push([child, n]);
      }
    }
    if (!checksumMatches(bytes, 0, c.pos)) damaged(`v2 B-tree node of ${what} at address ${node}: checksum mismatch`);
    for (const [child, n] of children) visit(child, d - 1, n);
  };
  visit(root, depth, rootRecords);
  if (records.length !== total) damaged(`v2 B-tree of ${what} holds ${records.length} records, its header says ${total}`);
  return records;
}
