/**
 * The members of a group, from whichever storage it uses: a symbol table
 * (B-tree, symbol table nodes, local heap), link messages in the header, or
 * dense links (fractal heap and v2 B-tree).
 * @internal
 * @module
 */
import { readGroupTree, type GroupTreeVisitor } from "./btree1.js";
import { readBtree2 } from "./btree2.js";
import { utf8, UNDEF, Cursor } from "./bytes.js";
import { damaged, unsupported } from "./errors.js";
import { FractalHeap } from "./fractalHeap.js";
import { readLocalHeap } from "./heaps.js";
import { decodeLink, type LinkTarget } from "./messages.js";
import type { ObjectInfo } from "./object.js";
import type { ByteReader } from "./reader.js";
import type { Superblock } from "./superblock.js";

export interface Member {
  name: string;
  nameBytes: Uint8Array;
  target: LinkTarget;
  /** Creation index (new-style groups that track it), else -1. */
  creationOrder: number;
}

export interface Members {
  /** In increasing byte-wise name order (libhdf5's name index). */
  byName: Member[];
  /** The group tracks link creation order (new-style groups only). */
  orderTracked: boolean;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** A member's name as text: unsupported when it is not UTF-8, damage when it holds a slash. */
export function nameOf(bytes: Uint8Array, what: string): string {
  const name = utf8(bytes);
  if (name === undefined) unsupported(`a member of ${what} has a name that is not UTF-8 text`);
  if (name.includes("/")) damaged(`a member of ${what} has a name with a slash`);
  return name;
}

/** Lists a group's members. */
export function readMembers(reader: ByteReader, sb: Superblock, info: ObjectInfo, what: string, visitor?: GroupTreeVisitor): Members {
  const storage = info.group;
  if (!storage) damaged(`${what} is not a group`);
  const members: Member[] = [];
  let orderTracked = false;
  if (storage.kind === "symbolTable") {
    const heap = readLocalHeap(reader, storage.heap, what);
    for (const e of readGroupTree(reader, storage.btree, heap, sb.groupLeafK, sb.groupInternalK, what, visitor)) {
      const target: LinkTarget = e.cacheType === 2 || e.header === UNDEF ? { type: "soft" } : { type: "hard", addr: e.header };
      members.push({ name: nameOf(e.name, what), nameBytes: e.name, target, creationOrder: -1 });
    }
    return { byName: members, orderTracked };
  }
  const { links, info: linkInfo } = storage;
  orderTracked = linkInfo?.orderTracked ?? false;
  for (const l of links) members.push({ name: nameOf(l.name, what), nameBytes: l.name, target: l.target, creationOrder: l.creationOrder });
  if (linkInfo && linkInfo.heap !== UNDEF) {
    if (links.length > 0) damaged(`${what} keeps links both in its header and in dense storage`);
    if (linkInfo.nameIndex === UNDEF) damaged(`the dense links of ${what} have no name index`);
    const heap = new FractalHeap(reader, linkInfo.heap, what);
    for (const record of readBtree2(reader, linkInfo.nameIndex, 5, `the links of ${what}`)) {
      if (record.length < 5) damaged(`a link record of ${what} is too short`);
      const body = heap.object(record.subarray(4));
      const link = decodeLink(new Cursor(body, -1, `link message of ${what}`));
      members.push({ name: nameOf(link.name, what), nameBytes: link.name, target: link.target, creationOrder: link.creationOrder });
    }
  }
  members.sort((a, b) => compareBytes(a.nameBytes, b.nameBytes));
  for (let i = 1; i < members.length; i++) {
    if (compareBytes(members[i - 1]!.nameBytes, members[i]!.nameBytes) === 0) damaged(`two members of ${what} share the name ${members[i]!.name}`);
  }
  return { byName: members, orderTracked };
}
