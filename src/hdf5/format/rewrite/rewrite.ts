/**
 * Changing an HDF5 file without writing over anything a reader of it may
 * use (shadow paging, as copy-on-write B-tree databases do): every object
 * whose attributes or values change gets a new object header, and every
 * group on the way to it from the root a new header, B-tree and changed
 * symbol table nodes, all placed after the file's end of allocation with
 * new global heap collections for the new values. Nothing of the file as
 * it was is touched: the superblock, written last, switches from the old
 * root to the new one in one write of its first bytes. Until that write the
 * file is the old file; after it, the new one.
 *
 * The same walk writes a whole file anew ("compact"): every object, group
 * structure, value and dataset's bytes placed afresh from address 0, which
 * leaves out everything earlier rewrites left behind.
 *
 * The subset rewritten is what libhdf5 and h5py write with default
 * settings: superblock version 0 or 1, version 1 object headers,
 * symbol-table groups, attributes in object headers, contiguous or compact
 * dataset values (a compaction also needs every dataset contiguous or
 * compact and no shared messages or hard links). Anything else is
 * {@link FormatUnsupported}, before anything is written.
 * @internal
 * @module
 */
import { alignUp, Cursor, UNDEF } from "../bytes.js";
import { damaged, unsupported } from "../errors.js";
import { globalHeapValue, type GlobalHeapCollection, readGlobalHeap } from "../heaps.js";
import { decodeDatatype, decodeLayout, decodeSymbolTable } from "../messages.js";
import { FLAG_SHARED, MSG, type ObjectHeader } from "../objectHeader.js";
import type { FormatFile } from "../file.js";
import type { ByteReader } from "../reader.js";
import type { Superblock } from "../superblock.js";
import {
  attributeLayout,
  encodeHeaderV1,
  isScalarVlenString,
  mayHoldAddresses,
  type OutMessage,
  readHeapId,
  readSpaceRecord,
  spaceRecord,
  stringAttributeMessage,
  writeHeapId,
} from "./encode.js";
import { attributeNameAt, NameSet } from "../nameSet.js";
import { copyLocalHeap, emitTree, patchEntry, readTree, treeBytes } from "./groupTree.js";
import { GlobalHeapWriter, Output, writeAddress, writeU64 } from "./output.js";

/** What changes on one object. */
export interface ObjectChange {
  /** Absolute path of the object: "/" or "/a/b". */
  path: string;
  /** Attributes to set, stored as h5py stores a str (a scalar variable-length UTF-8 string). */
  attrs?: Readonly<Record<string, string>>;
  /** New values of a dataset of little-endian float64 stored whole in the file (contiguous or compact): exactly as many as are stored. */
  data?: Float64Array;
}

/** A rewrite, ready to be written. */
export interface RewritePlan {
  mode: "append" | "compact";
  /**
   * append: what goes after the old end of allocation (relative addresses);
   * compact: the whole new file from address 0, superblock included.
   */
  out: Output;
  /** append: the superblock's new bytes and their absolute offset (written last). */
  superblock: Buffer;
  superblockAt: number;
  /** End of allocation afterwards (relative): for compact, the new file's length. */
  eoa: number;
  /** Bytes of the file no structure uses afterwards (for compact: 0). */
  unused: number;
  /** Object header addresses afterwards, by path (append: of the objects rewritten). */
  addresses: Map<string, number>;
}

interface Touch {
  attrs: Map<string, string>;
  data: Float64Array | undefined;
  children: Map<string, Touch>;
  /** The object's path as the change gave it, when in the form the walk makes ("/a/b"): the same string, for the addresses map. */
  path: string | undefined;
}

/** The children of a node that has none yet (replaced by a map of its own at the first). */
const NO_CHILDREN: Map<string, Touch> = new Map();

function touch(): Touch {
  return { attrs: new Map(), data: undefined, children: NO_CHILDREN, path: undefined };
}

/** The changes as a tree of paths from the root. */
function touchTree(changes: readonly ObjectChange[]): Touch {
  const root = touch();
  // Nodes by the path that led to them: the changes of a batch mostly share their parents.
  const byPath = new Map<string, Touch>();
  const nodeAt = (path: string): Touch => {
    const known = byPath.get(path);
    if (known) return known;
    const cut = path.lastIndexOf("/");
    const parent = cut <= 0 ? root : nodeAt(path.slice(0, cut));
    const name = path.slice(cut + 1);
    if (name === "") return parent; // "/", or an empty part ("/a//b", "/a/")
    if (parent.children === NO_CHILDREN) parent.children = new Map();
    let next = parent.children.get(name);
    if (!next) parent.children.set(name, (next = touch()));
    byPath.set(path, next);
    return next;
  };
  // The parent of the last change: the next one's, mostly.
  let lastParentPath = "";
  let lastParent: Touch | undefined;
  for (const c of changes) {
    if (!c.path.startsWith("/")) throw new TypeError(`expected an absolute path, got ${JSON.stringify(c.path)}`);
    const cut = c.path.lastIndexOf("/");
    let node: Touch;
    if (cut > 0 && cut < c.path.length - 1) {
      const parentPath = c.path.slice(0, cut);
      const parent = lastParent !== undefined && parentPath === lastParentPath ? lastParent : nodeAt(parentPath);
      lastParentPath = parentPath;
      lastParent = parent;
      const name = c.path.slice(cut + 1);
      if (parent.children === NO_CHILDREN) parent.children = new Map();
      let child = parent.children.get(name);
      if (!child) parent.children.set(name, (child = touch()));
      node = child;
    } else node = nodeAt(c.path);
    if (node !== root && !c.path.endsWith("/") && !c.path.includes("//")) node.path = c.path;
    if (c.attrs) for (const k in c.attrs) if (Object.hasOwn(c.attrs, k)) node.attrs.set(k, c.attrs[k]!);
    if (c.data) node.data = c.data;
  }
  return root;
}

interface Placed {
  header: number;
  /** Groups: their symbol table's B-tree and local heap afterwards. */
  btree?: number;
  heap?: number;
}

/** Where the superblock's fields lie (versions 0 and 1). */
function superblockFields(sb: Superblock): { storedBase: number; freeSpace: number; eof: number; driver: number; rootHeader: number; rootCache: number; rootBtree: number; rootHeap: number } {
  const fixed = sb.version === 1 ? 28 : 24;
  return {
    storedBase: fixed,
    freeSpace: fixed + 8,
    eof: fixed + 16,
    driver: fixed + 24,
    rootHeader: fixed + 40,
    rootCache: fixed + 48,
    rootBtree: fixed + 56,
    rootHeap: fixed + 64,
  };
}

class Rewriter {
  readonly out: Output;
  readonly heap: GlobalHeapWriter;
  readonly addresses = new Map<string, number>();
  /** Bytes this rewrite leaves unused (append). */
  unused = 0;
  /** What the root's record said was unused before. */
  unusedBefore = 0;
  readonly #file: FormatFile;
  readonly #reader: ByteReader;
  readonly #sb: Superblock;
  readonly #compact: boolean;
  readonly #collections = new Map<number, GlobalHeapCollection>();
  readonly #seen = new Set<number>();

  constructor(file: FormatFile, compact: boolean, out: Output) {
    this.#file = file;
    this.#reader = file.reader;
    this.#sb = file.superblock;
    this.#compact = compact;
    this.out = out;
    this.heap = new GlobalHeapWriter(out);
  }

  #collection = (addr: number): GlobalHeapCollection => {
    let c = this.#collections.get(addr);
    if (!c) this.#collections.set(addr, (c = readGlobalHeap(this.#reader, addr)));
    return c;
  };

  /**
   * The usual object of an append, written without visiting its messages
   * one by one: a version 1 header of an object whose attributes alone
   * change, each either one h5py str (its heap ID patched in the copy) or
   * new. Its chunks' bytes are walked in place and copied in runs, less the
   * null and continuation messages (as {@link object} does). Returns the
   * new header's address, or undefined when anything else is met (then
   * {@link object} writes it, and refuses what it must).
   */
  #leaf(header: ObjectHeader, path: string, node: Touch): number | undefined {
    const chunks = header.chunkBytes;
    if (!chunks || header.chunks.length !== chunks.length) return undefined;
    const pending = node.attrs;
    const names = NameSet.ofKeys(pending);
    // Kept messages as runs [chunk, from, to) of chunk bytes; patches as [output offset, name].
    const runs: number[] = [];
    const patchAt: number[] = [];
    const patchName: string[] = [];
    let size = 0;
    let count = 0;
    let unused = 0;
    for (let c = 0; c < chunks.length; c++) {
      const b = chunks[c]!;
      let runFrom = -1;
      let p = 0;
      while (p < b.length) {
        const type = b[p]! | (b[p + 1]! << 8);
        const n = b[p + 2]! | (b[p + 3]! << 8);
        const end = p + 8 + n;
        if (type === MSG.NIL || type === MSG.CONTINUATION) {
          if (runFrom >= 0) runs.push(c, runFrom, p);
          runFrom = -1;
          p = end;
          continue;
        }
        if (type === MSG.ATTRIBUTE_INFO || type === MSG.SHARED_TABLE) return undefined;
        if (type === MSG.ATTRIBUTE && pending.size > 0 && b[p + 4]! & FLAG_SHARED) return undefined;
        if (type === MSG.ATTRIBUTE && pending.size > patchName.length) {
          const name = names.findAttribute(b, p + 8, n);
          if (name !== undefined && pending.has(name)) {
            const a = attributeLayout(b, p + 8, n, path, name);
            if (!isScalarVlenString(a, n, true) || patchName.includes(name)) return undefined;
            patchAt.push(16 + size + 8 + a.dataAt);
            patchName.push(name);
            unused += 16 + alignUp(b.readUInt32LE(p + 8 + a.dataAt), 8);
          }
        }
        if (runFrom < 0) runFrom = p;
        size += end - p;
        count++;
        p = end;
      }
      if (runFrom >= 0) runs.push(c, runFrom, b.length);
    }
    // The values: those patched in message order, then the new attributes (as object() places them).
    const ids = patchName.map((name) => this.heap.addText(pending.get(name)!));
    const added: Buffer[] = [];
    for (const [name, value] of pending) if (!patchName.includes(name)) added.push(stringAttributeMessage(name, this.heap.addText(value)));
    const messages: OutMessage[] = added.map((body) => ({ type: MSG.ATTRIBUTE, flags: 0, body }));
    for (const body of added) size += 8 + alignUp(body.length, 8);
    count += added.length;
    if (count > 0xffff) return undefined;
    const out = this.out.reserve(16 + size);
    const at = this.out.lastAt;
    out[0] = 1;
    out.writeUInt16LE(count, 2);
    out.writeUInt32LE(header.refcount, 4);
    out.writeUInt32LE(size, 8);
    let q = 16;
    for (let r = 0; r < runs.length; r += 3) {
      const from = runs[r + 1]!;
      const to = runs[r + 2]!;
      chunks[runs[r]!]!.copy(out, q, from, to);
      q += to - from;
    }
    for (let k = 0; k < ids.length; k++) writeHeapId(out, patchAt[k]!, ids[k]!);
    for (const m of messages) {
      const fresh = m as { type: number; flags: number; body: Buffer };
      out.writeUInt16LE(fresh.type, q);
      out.writeUInt16LE(alignUp(fresh.body.length, 8), q + 2);
      fresh.body.copy(out, q + 8);
      q += 8 + alignUp(fresh.body.length, 8);
    }
    this.unused += unused;
    for (const [, length] of header.chunks) this.unused += length;
    return at;
  }

  /** Writes the object at `addr` (and what below it changes, or everything when compacting) anew. */
  object(addr: number, path: string, node: Touch): Placed {
    const reader = this.#reader;
    const compact = this.#compact;
    if (compact) {
      if (this.#seen.has(addr)) unsupported(`${path} is reached twice (a hard link)`);
      this.#seen.add(addr);
    }
    const header = this.#file.object(addr, path).header;
    if (header.version !== 1) unsupported(`${path} has a version 2 object header`);
    // An object with other names (hard links) would keep its old header under them: libhdf5 writes it in place.
    if (header.refcount > 1) unsupported(`${path} has ${header.refcount} names (hard links)`);
    const walk = compact || node.children.size > 0;
    if (!walk && !node.data && path !== "/") {
      const at = this.#leaf(header, path, node);
      if (at !== undefined) {
        this.addresses.set(path, at);
        return { header: at };
      }
    }

    // Members first: their new addresses go into this group's structures.
    let placedTree: { btree: number; heap: number } | undefined;
    const stab = walk ? header.messages.find((m) => m.type === MSG.SYMBOL_TABLE) : undefined;
    if (stab) {
      const [btree, heapAddr] = decodeSymbolTable(new Cursor(stab.body, stab.addr, `symbol table message of ${path}`));
      const tree = readTree(reader, this.#sb, btree, heapAddr, path);
      const snods = new Map<number, Buffer>();
      const snodCopy = (at: number) => {
        let b = snods.get(at);
        if (!b) snods.set(at, (b = Buffer.from(tree.snods.get(at)!)));
        return b;
      };
      const visit = compact ? tree.entries.map((e) => [e.name, node.children.get(e.name) ?? touch()] as const) : [...node.children];
      for (const [name, child] of visit) {
        const entry = tree.byName.get(name);
        const childPath = child.path ?? `${path === "/" ? "" : path}/${name}`;
        if (!entry) throw new Error(`${childPath} does not exist`);
        if (entry.cacheType === 2 || entry.header === UNDEF) {
          if (!compact) throw new Error(`${childPath} is a soft link`);
          snodCopy(entry.snod);
          continue;
        }
        const placed = this.object(entry.header, childPath, child);
        patchEntry(snodCopy(entry.snod), entry.offset, placed.header, placed.btree === undefined ? undefined : { btree: placed.btree, heap: placed.heap! });
      }
      if (compact) for (const at of tree.snods.keys()) snodCopy(at);
      else this.unused += treeBytes(tree, snods.keys());
      const heap = compact ? copyLocalHeap(reader, tree.heap, this.out, path) : heapAddr;
      placedTree = { btree: emitTree(tree, this.out, snods), heap };
    } else if (walk && header.messages.some((m) => m.type === MSG.LINK || m.type === MSG.LINK_INFO)) {
      unsupported(`${path} stores its members in link messages (a group in the newer format)`);
    } else if (node.children.size > 0) {
      throw new Error(`${path} is not a group`);
    }

    const messages: OutMessage[] = [];
    // The attributes to set, taken out as they are found (the rest are new).
    const pending = node.attrs;
    const changing = pending.size > 0;
    const names = !compact && changing ? NameSet.ofKeys(pending) : undefined;
    if (compact || changing) for (const m of header.messages) if (m.type === MSG.ATTRIBUTE && m.flags & FLAG_SHARED) unsupported(`${path} has shared attribute messages`);
    for (const m of header.messages) {
      // (`m.body` makes a view: only for the messages changed.)
      if (compact && m.flags & FLAG_SHARED) unsupported(`${path} has a shared ${m.type === MSG.DATATYPE ? "datatype" : "message"}`);
      switch (m.type) {
        case MSG.NIL:
          if (path === "/") this.unusedBefore = readSpaceRecord(m.body) ?? this.unusedBefore;
          continue;
        case MSG.CONTINUATION:
          continue;
        case MSG.SYMBOL_TABLE: {
          if (!placedTree) break;
          const b = Buffer.from(m.body);
          writeAddress(b, 0, placedTree.btree);
          writeAddress(b, 8, placedTree.heap);
          messages.push({ type: m.type, flags: m.flags, body: b });
          continue;
        }
        case MSG.LAYOUT: {
          if (!compact && !node.data) break;
          const b = this.#layout(m.body, m.addr, path, header.messages, node.data);
          messages.push(b === m.body ? m : { type: m.type, flags: m.flags, body: b });
          continue;
        }
        case MSG.ATTRIBUTE: {
          if (m.flags & FLAG_SHARED) break;
          let name: string | undefined;
          if (!compact) {
            if (!names || pending.size === 0) break;
            name = names.findAttribute(m.bytes, m.start, m.size);
            if (name === undefined) break;
          }
          const a = attributeLayout(m.bytes, m.start, m.size, path, name);
          const value = pending.get(a.name);
          if (value !== undefined) {
            pending.delete(a.name);
            const id = this.heap.addText(value);
            if (isScalarVlenString(a, m.size, false)) this.unused += 16 + alignUp(m.bytes.readUInt32LE(m.start + a.dataAt), 8);
            if (isScalarVlenString(a, m.size, true)) messages.push({ from: m, patch: { at: a.dataAt, id } });
            else messages.push({ type: m.type, flags: 0, body: stringAttributeMessage(a.name, id) });
            continue;
          }
          if (!compact) break;
          if (isScalarVlenString(a, m.size, false)) {
            const old = readHeapId(m.bytes, m.start + a.dataAt);
            if (old.collection === 0) break; // a null string: no heap object
            const bytes = globalHeapValue(new Cursor(m.bytes, m.addr - m.start, `attribute ${a.name} of ${path}`, m.start + a.dataAt), this.#collection, `attribute ${a.name} of ${path}`);
            messages.push({ from: m, patch: { at: a.dataAt, id: this.heap.add(bytes ?? new Uint8Array(0)) } });
            continue;
          }
          if (mayHoldAddresses(a.type)) unsupported(`attribute ${a.name} of ${path} holds variable-length data or references`);
          break;
        }
        case MSG.ATTRIBUTE_INFO: {
          const c = new Cursor(m.body, m.addr, `attribute info message of ${path}`);
          c.u8();
          const flags = c.u8();
          if (flags & 0x01) c.u16();
          const dense = c.address();
          if (dense !== UNDEF && (compact || changing)) unsupported(`${path} keeps its attributes in dense storage`);
          break;
        }
        case MSG.LINK:
        case MSG.LINK_INFO:
        case MSG.EXTERNAL:
        case MSG.SHARED_TABLE:
        case MSG.DRIVER_INFO:
        case MSG.FILE_SPACE:
        case MSG.BTREE_K:
          if (compact) unsupported(`${path} has a message (type ${m.type}) whose addresses a compaction cannot move`);
          break;
        default:
          break;
      }
      messages.push(m);
    }
    for (const [name, value] of pending) messages.push({ type: MSG.ATTRIBUTE, flags: 0, body: stringAttributeMessage(name, this.heap.addText(value)) });
    if (!compact) for (const [, length] of header.chunks) this.unused += length;
    if (path === "/") messages.push({ type: MSG.NIL, flags: 0, body: spaceRecord(compact ? 0 : this.unusedBefore + this.unused) });
    const at = encodeHeaderV1(messages, header.refcount, this.out);
    this.addresses.set(path, at);
    return placedTree ? { header: at, btree: placedTree.btree, heap: placedTree.heap } : { header: at };
  }

  /** A dataset's layout message, with its values written anew when they change (or when compacting). */
  #layout(body: Buffer, addr: number, path: string, messages: readonly { type: number; body: Buffer; addr: number }[], values: Float64Array | undefined): Buffer {
    const compact = this.#compact;
    if (!values && !compact) return body;
    const layout = decodeLayout(new Cursor(body, addr, `layout message of ${path}`));
    const typeMessage = messages.find((m) => m.type === MSG.DATATYPE);
    const type = typeMessage && decodeDatatype(new Cursor(typeMessage.body, typeMessage.addr, `datatype of ${path}`));
    if (type && mayHoldAddresses(type)) unsupported(`the values of ${path} hold variable-length data or references`);
    if (values && !(type?.kind === "float" && type.size === 8 && !type.bigEndian)) unsupported(`the values of ${path} are not stored as little-endian float64 (libhdf5 converts them)`);
    const data = values && new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    if (layout.kind === "contiguous") {
      const b = Buffer.from(body);
      const at = layout.addrPos - addr;
      if (data) {
        if (data.length !== layout.size) throw new RangeError(`${path} stores ${layout.size} bytes of values, not ${data.length}`);
        if (layout.addr !== UNDEF) this.unused += layout.size;
        writeAddress(b, at, this.out.put(Buffer.from(data.buffer, data.byteOffset, data.byteLength)));
      } else if (layout.addr !== UNDEF) {
        if (layout.addr + layout.size > this.#reader.limit) damaged(`the values of ${path} lie outside the file`);
        writeAddress(b, at, this.out.copy(this.#sb.base + layout.addr, layout.size));
      }
      return b;
    }
    if (layout.kind === "compact") {
      if (!data) return body;
      if (data.length !== layout.data.length) throw new RangeError(`${path} stores ${layout.data.length} bytes of values, not ${data.length}`);
      const b = Buffer.from(body);
      b.set(data, layout.dataAddr - addr);
      return b;
    }
    unsupported(`${path} stores its values in ${layout.kind} layout`);
  }
}

/**
 * Plans a rewrite of `file` with `changes` made: `append` places the
 * changed objects after the end of allocation; `compact` writes the whole
 * file anew. Object headers come through the file's parse (so that what a
 * writer has read is not read again).
 * @throws FormatUnsupported for a file or object outside the subset rewritten (nothing is planned)
 * @throws FormatDamage for bytes that contradict the format
 */
export function planRewrite(file: FormatFile, changes: readonly ObjectChange[], mode: "append" | "compact"): RewritePlan {
  const { reader, superblock: sb } = file;
  if (sb.version > 1) unsupported(`superblock version ${sb.version}`);
  if (sb.driver !== UNDEF) unsupported("a file driver information block");
  const compact = mode === "compact";
  if (compact && sb.base !== 0) unsupported("a user block before the superblock");
  const f = superblockFields(sb);
  const head = Buffer.from(reader.readAbsolute(sb.base, sb.size));
  const storedBase = head.readUInt32LE(f.storedBase) + head.readUInt32LE(f.storedBase + 4) * 2 ** 32;
  const out = new Output(compact ? 0 : sb.eoa);
  const superblock = compact ? Buffer.from(head) : head;
  if (compact) out.put(superblock);
  const w = new Rewriter(file, compact, out);
  const root = w.object(sb.root, "/", touchTree(changes));
  w.heap.finish();
  const eoa = out.end;
  writeU64(superblock, f.eof, (compact ? 0 : storedBase) + eoa);
  writeAddress(superblock, f.rootHeader, root.header);
  if (superblock.readUInt32LE(f.rootCache) === 1 && root.btree !== undefined) {
    writeAddress(superblock, f.rootBtree, root.btree);
    writeAddress(superblock, f.rootHeap, root.heap!);
  }
  if (compact) {
    writeU64(superblock, f.storedBase, 0);
    writeAddress(superblock, f.freeSpace, UNDEF);
  }
  return {
    mode,
    out,
    superblock,
    superblockAt: compact ? 0 : sb.base,
    eoa,
    unused: compact ? 0 : w.unusedBefore + w.unused,
    addresses: w.addresses,
  };
}
