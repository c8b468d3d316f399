/**
 * The splice's fixed layout: the group B-tree K values and structure sizes
 * of what it accepts and writes, the copy's chunk and the alignment of
 * each source in the target.
 * @internal
 * @module
 */
import { SLOT_BYTES } from "../ioThread.js";

export const LEAF_K = 4;
export const INTERNAL_K = 16;
export const NODE_SIZE = 24 + 2 * INTERNAL_K * 8 + (2 * INTERNAL_K + 1) * 8; // 544
export const ENTRY_SIZE = 40;
export const SNOD_SIZE = 8 + 2 * LEAF_K * ENTRY_SIZE; // 328
export const SUPERBLOCK_SIZE = 96;
export const HEAP_HEADER_SIZE = 32;
export const HEAP_FREE_NULL = 1;
export const COPY_CHUNK = SLOT_BYTES;
/** Sources up to this size are read whole, once: parsed from memory and copied from the same bytes. */
export const WHOLE = COPY_CHUNK;
export const SOURCE_ALIGN = 4096;
export const TWO32 = 2 ** 32;

export function alignUp(v: number, n: number): number {
  return Math.ceil(v / n) * n;
}

/** A member of a root group: a source's, as parsed, and the new file's, as emitted. */
export interface RootMember {
  name: string;
  nameBytes: Uint8Array;
  header: number;
  group: boolean;
  btree: number;
  heap: number;
}
