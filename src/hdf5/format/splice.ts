/**
 * The merge splicer: concatenates whole HDF5 files into one new file whose
 * root group holds every source's root members, without libhdf5.
 *
 * Each source is parsed with the format module's reader (superblock, object
 * headers, group B-trees, symbol table nodes, local heaps, global heap
 * collections, attributes: the module's one reader of each), every
 * structure is claimed as a byte range (two structures that overlap are
 * damage; the same structure reached twice, a hard link, is valid HDF5 the
 * splicer cannot relocate twice, so it declines the file), and the file
 * position of every address inside what the root members reach is recorded.
 * Copying puts the source into the target at a 4 KiB-aligned offset,
 * adding the offset at each recorded position: a source of at most 4 MiB is
 * read once, whole, into a buffer shared with the I/O thread (which reads
 * it ahead while the previous source is parsed: ioThread.ts), parsed there,
 * relocated in place and handed to the I/O thread to write; a larger one is
 * streamed in 4 MiB chunks the same way. Finishing
 * writes a new root group (a version 1 object header with a symbol table
 * message, a version 1 group B-tree, symbol table nodes, a local heap) and a
 * version 0 superblock.
 *
 * Only the subset libhdf5 and h5py write with default settings is spliced:
 * superblock 0 or 1 with 8-byte addresses and lengths, base address 0 and
 * group K values 4 and 16; version 1 object headers; symbol-table groups
 * with hard links; contiguous (or unallocated) and compact unfiltered
 * datasets of integers or floats; attributes of one string, fixed-length or
 * variable-length in global heap collections. Anything else is declined
 * ("unsupported", with a reason, before anything of the source is written:
 * libhdf5 copies it), and bytes that contradict the format are "damaged".
 *
 * File locking is the caller's ({@link SourceLock}), so that this module
 * stays free of the native binding.
 * @internal
 * @module
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, writeSync } from "node:fs";
import { readStringAttributes, type StringAttribute } from "./attributes.js";
import { readGroupTree, type SymbolEntry } from "./btree1.js";
import { UNDEF, readUint } from "./bytes.js";
import { damaged, FormatDamage, FormatNotHdf5, FormatTruncated, FormatUnsupported, FormatValueError, unsupported } from "./errors.js";
import { nameOf } from "./group.js";
import { readGlobalHeap, readLocalHeap, type GlobalHeapCollection } from "./heaps.js";
import { describeObject, type ObjectInfo } from "./object.js";
import { MSG, readObjectHeader, type ObjectHeader } from "./objectHeader.js";
import { ByteReader } from "./reader.js";
import { readSuperblock, type Superblock } from "./superblock.js";
import { IoThread, SLOT_BYTES, type Slot } from "./ioThread.js";

// ---------------------------------------------------------------------------
// What a parse reports

/** One object reachable from the root, in preorder (a group, then its members by name). */
export interface ParsedObject {
  /** "/" for the root, "/a/b" below it. */
  path: string;
  /** 0 for the root. */
  depth: number;
  kind: "group" | "dataset";
  /** Every attribute as text in h5py's order (increasing byte-wise name order), or null when not read (deeper than `attrDepth`). */
  attrs: AttributeList | null;
  /** Names of attributes that are not scalar variable-length UTF-8 strings (h5py's str), in name order. */
  nonStandard: string[];
  /** Datasets: little-endian IEEE float64, contiguous (or unallocated), unfiltered; groups: null. */
  plainFloat64: boolean | null;
  /** Groups at `maxDepth` when `listNames` is set: their members' names, in byte-wise order (the members are not parsed); else null. */
  members: string[] | null;
}

/** An object's attributes: names and values by position. */
export interface AttributeList {
  /** The names; objects with the same names share one array, so it is never to be changed. */
  readonly names: readonly string[];
  readonly values: readonly string[];
}

/** Every object, or why the file is not spliced (`damaged`: its bytes contradict the format). */
export type ParseReport = { supported: true; objects: ParsedObject[] } | { supported: false; reason: string; damaged: boolean };

/**
 * How much a parse reports: objects down to `maxDepth`, attributes of
 * objects down to `attrDepth`, and with `listNames` the member names of the
 * groups at `maxDepth`.
 */
export interface ParseLimits {
  maxDepth: number;
  attrDepth: number;
  listNames?: boolean;
}

/**
 * Takes a shared lock on `path` (as libhdf5 locks a file it reads) and
 * returns its release; throws an error with `code` "EBUSY" when a writer
 * holds the file (or a file system code when it cannot be opened).
 */
export type SourceLock = (path: string) => () => void;

/**
 * A failure of the file system or of the call order, with a code: ENOENT,
 * EACCES, ENOSPC, EISDIR, EEXIST, EBUSY, EIO (the file system), ESTATE (a
 * call out of order, or after a failed step), ECLOSED (after finish or abort).
 */
export class SpliceFailure extends Error {
  override readonly name = "SpliceFailure";
  readonly code: string;
  /** The spliced file, when the failure is about writing it (not about reading a source). */
  target?: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

// ---------------------------------------------------------------------------
// Constants

const LEAF_K = 4;
const INTERNAL_K = 16;
const NODE_SIZE = 24 + 2 * INTERNAL_K * 8 + (2 * INTERNAL_K + 1) * 8; // 544
const ENTRY_SIZE = 40;
const SNOD_SIZE = 8 + 2 * LEAF_K * ENTRY_SIZE; // 328
const SUPERBLOCK_SIZE = 96;
const HEAP_HEADER_SIZE = 32;
const HEAP_FREE_NULL = 1;
const COPY_CHUNK = SLOT_BYTES;
/** Sources up to this size are read whole, once: parsed from memory and copied from the same bytes. */
const WHOLE = COPY_CHUNK;
const SOURCE_ALIGN = 4096;
const TWO32 = 2 ** 32;

// Caps against hostile files, far beyond what real files hold.
const MAX_NESTING = 64;
const MAX_OBJECTS = 1 << 20;
const MAX_GLOBAL_HEAPS = 256 * 1024 * 1024;

/** The datatype message of little-endian IEEE float64 (H5T_IEEE_F64LE), after its version and class byte. */
const F64LE = Uint8Array.of(0x20, 0x3f, 0x00, 8, 0, 0, 0, 0, 0, 64, 0, 52, 11, 0, 52, 0xff, 0x03, 0, 0);

/** Message types a spliced object may carry. */
const SPLICEABLE = new Set<number>([
  MSG.NIL,
  MSG.DATASPACE,
  MSG.DATATYPE,
  MSG.FILL_OLD,
  MSG.FILL,
  MSG.LAYOUT,
  MSG.ATTRIBUTE,
  MSG.COMMENT,
  MSG.MTIME_OLD,
  MSG.CONTINUATION,
  MSG.SYMBOL_TABLE,
  MSG.MTIME,
]);

/** Message flags a spliced object may carry: constant, do not share, and "mark if unknown" (bits 0, 2, 4). */
const FLAGS_SPLICEABLE = 0x15;

function alignUp(v: number, n: number): number {
  return Math.ceil(v / n) * n;
}

// ---------------------------------------------------------------------------
// File system calls with their errors as codes

function codeOf(error: unknown): string {
  switch ((error as NodeJS.ErrnoException | undefined)?.code) {
    case "ENOENT":
    case "ENOTDIR":
      return "ENOENT";
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return "EACCES";
    case "ENOSPC":
    case "EDQUOT":
      return "ENOSPC";
    case "EEXIST":
      return "EEXIST";
    case "EISDIR":
      return "EISDIR";
    case "EBUSY":
    case "EWOULDBLOCK":
    case "EAGAIN":
      return "EBUSY";
    default:
      return "EIO";
  }
}

/** Whether `error` is a failed system call (Node's errors from fs). */
function isSystemError(error: unknown): boolean {
  const e = error as NodeJS.ErrnoException | undefined;
  return typeof e?.errno === "number" && typeof e.syscall === "string";
}

function failure(error: unknown, what: string): SpliceFailure {
  if (error instanceof SpliceFailure) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SpliceFailure(codeOf(error), `${what}: ${message}`);
}

function readFully(fd: number, buffer: Buffer, length: number, position: number, path: string): void {
  let done = 0;
  while (done < length) {
    let n: number;
    try {
      n = readSync(fd, buffer, done, length - done, position + done);
    } catch (e) {
      throw failure(e, `cannot read ${path}`);
    }
    if (n === 0) throw new SpliceFailure("EIO", `cannot read ${path}: the file became shorter while it was read`);
    done += n;
  }
}

function writeFully(fd: number, buffer: Uint8Array, length: number, position: number, path: string): void {
  let done = 0;
  while (done < length) {
    try {
      done += writeSync(fd, buffer, done, length - done, position + done);
    } catch (e) {
      throw failure(e, `cannot write ${path}`);
    }
  }
}

// ---------------------------------------------------------------------------
// Byte ranges of the structures met

/**
 * The byte ranges claimed so far, sorted, in blocks of at most 512 (so
 * that a claim costs O(log n + 512) in any order; files written front to
 * back claim in increasing order and append).
 */
class RegionSet {
  readonly #blocks: { start: number[]; end: number[]; kind: string[] }[] = [{ start: [], end: [], kind: [] }];

  /**
   * Claims [addr, addr + length) for a structure of `kind`: the same range
   * claimed before for the same kind is the same structure reached twice
   * (unsupported); any other overlap is damage.
   */
  claim(addr: number, length: number, kind: string): void {
    if (length === 0) return;
    const blocks = this.#blocks;
    // The last block whose first start is <= addr (or the first block).
    let lo = 0;
    let hi = blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (blocks[mid]!.start[0]! <= addr) lo = mid;
      else hi = mid - 1;
    }
    const b = lo;
    const block = blocks[b]!;
    // The first region in the block starting after addr.
    let i = block.start.length;
    if (i > 0 && block.start[i - 1]! > addr) {
      let l = 0;
      let h = i;
      while (l < h) {
        const mid = (l + h) >> 1;
        if (block.start[mid]! <= addr) l = mid + 1;
        else h = mid;
      }
      i = l;
    }
    const end = addr + length;
    if (i > 0) {
      if (block.end[i - 1]! > addr) this.#conflict(block, i - 1, addr, end, kind);
    } else if (b > 0) {
      const before = blocks[b - 1]!;
      if (before.end[before.end.length - 1]! > addr) this.#conflict(before, before.end.length - 1, addr, end, kind);
    }
    if (i < block.start.length) {
      if (block.start[i]! < end) this.#conflict(block, i, addr, end, kind);
    } else if (b + 1 < blocks.length) {
      const after = blocks[b + 1]!;
      if (after.start[0]! < end) this.#conflict(after, 0, addr, end, kind);
    }
    if (i === block.start.length) {
      block.start.push(addr);
      block.end.push(end);
      block.kind.push(kind);
    } else {
      block.start.splice(i, 0, addr);
      block.end.splice(i, 0, end);
      block.kind.splice(i, 0, kind);
    }
    if (block.start.length > 512) {
      const half = block.start.length >> 1;
      blocks.splice(b + 1, 0, { start: block.start.splice(half), end: block.end.splice(half), kind: block.kind.splice(half) });
    }
  }

  #conflict(block: { start: number[]; end: number[]; kind: string[] }, at: number, addr: number, addrEnd: number, what: string): never {
    const start = block.start[at]!;
    const end = block.end[at]!;
    const kind = block.kind[at]!;
    if (start === addr && end === addrEnd && kind === what) {
      unsupported(`the ${what} at address ${addr} is reached twice (a hard link): the splicer relocates each structure once`);
    }
    damaged(`the ${what} at address ${addr} (${addrEnd - addr} bytes) overlaps the ${kind} at address ${start} (${end - start} bytes)`);
  }
}

// ---------------------------------------------------------------------------
// The parser

/** A member of a source's root, as the new root group lists it. */
interface RootMember {
  name: string;
  nameBytes: Uint8Array;
  header: number;
  group: boolean;
  btree: number;
  heap: number;
}

/** What copying a parsed source needs. */
interface Parsed {
  eoa: number;
  /**
   * File positions of the 8-byte addresses to relocate: sorted for a source
   * copied in chunks, in the order found for one read whole (relocated in
   * place, in any order).
   */
  patches: Float64Array;
  members: RootMember[];
}

/** An object header, classified for the splice. */
interface Spliceable {
  info: ObjectInfo;
  kind: "group" | "dataset";
  /** Groups: the symbol table's B-tree and local heap. */
  btree: number;
  heap: number;
  plainFloat64: boolean | null;
}

/**
 * Attributes as a list, with the names of `last` (the previous object's)
 * when they are the same: the objects of one file mostly carry the same
 * names in the same order (the decoder gives the same string objects for
 * the same bytes, so comparing them is cheap).
 */
function attributeList(list: StringAttribute[], last: AttributeList | null): { attrs: AttributeList; nonStandard: string[] } {
  const n = list.length;
  const nonStandard: string[] = [];
  const values = new Array<string>(n);
  let names = last?.names.length === n ? last.names : null;
  for (let i = 0; i < n; i++) {
    const a = list[i]!;
    values[i] = a.value;
    if (names !== null && names[i] !== a.name) names = null;
    if (!a.standard) nonStandard.push(a.name);
  }
  return { attrs: { names: names ?? list.map((a) => a.name), values }, nonStandard };
}

/** File positions of the addresses to relocate, in the order found (mostly increasing). */
class Patches {
  #at = new Float64Array(1024);
  #length = 0;
  #ordered = true;

  add(pos: number): void {
    if (this.#length === this.#at.length) {
      const grown = new Float64Array(this.#at.length * 2);
      grown.set(this.#at);
      this.#at = grown;
    }
    if (this.#length > 0 && pos < this.#at[this.#length - 1]!) this.#ordered = false;
    this.#at[this.#length++] = pos;
  }

  /** The positions in the order found. */
  found(): Float64Array {
    return this.#at.subarray(0, this.#length);
  }

  /** The positions in increasing order. */
  sorted(): Float64Array {
    const out = this.#at.slice(0, this.#length);
    return this.#ordered ? out : radixSort(out);
  }
}

/**
 * Sorts non-negative integers below 2^53 (file positions) in increasing
 * order, by 11-bit digits from the lowest: O(n) per digit, where
 * TypedArray sort compares (several times slower on a source's thousands).
 */
function radixSort(values: Float64Array): Float64Array {
  let max = 0;
  for (let i = 0; i < values.length; i++) if (values[i]! > max) max = values[i]!;
  let from: Float64Array = values;
  let to: Float64Array = new Float64Array(values.length);
  const start = new Uint32Array(2048);
  for (let div = 1; div <= max; div *= 2048) {
    start.fill(0);
    for (let i = 0; i < from.length; i++) start[Math.floor(from[i]! / div) % 2048]!++;
    let sum = 0;
    for (let d = 0; d < 2048; d++) {
      const n = start[d]!;
      start[d] = sum;
      sum += n;
    }
    for (let i = 0; i < from.length; i++) {
      const v = from[i]!;
      to[start[Math.floor(v / div) % 2048]!++] = v;
    }
    [from, to] = [to, from];
  }
  return from;
}

class SourceParser {
  readonly #reader: ByteReader;
  readonly #limits: ParseLimits;
  /** Parse everything (a splice) rather than only what the limits report (a scan). */
  readonly #full: boolean;
  #sb!: Superblock;
  #patching = false;
  readonly #regions = new RegionSet();
  readonly #patches = new Patches();
  readonly #headers = new Set<number>();
  readonly #heaps = new Map<number, GlobalHeapCollection>();
  #heapBytes = 0;
  /** The attributes read last (see {@link attributeList}). */
  #lastAttrs: AttributeList | null = null;
  readonly #objects: ParsedObject[] = [];
  readonly #members: RootMember[] = [];
  #visited = 0;

  constructor(reader: ByteReader, limits: ParseLimits, full: boolean) {
    this.#reader = reader;
    this.#limits = limits;
    this.#full = full;
  }

  /** Parses the source; `parsed` receives what a copy needs (splices only). */
  run(parsed?: (p: Parsed) => void, chunked = false): ParseReport {
    try {
      this.#parse();
      if (parsed) {
        // Every address lies in a structure claimed once, in a field of its own: none overlaps another.
        // A copy in chunks needs them in order (and checks that once more); one of the whole source does not.
        const patches = chunked ? this.#patches.sorted() : this.#patches.found();
        for (let i = 1; chunked && i < patches.length; i++) {
          if (patches[i]! - patches[i - 1]! < 8) damaged(`two addresses to relocate overlap at address ${patches[i]}`);
        }
        parsed({ eoa: this.#sb.eoa, patches, members: this.#members });
      }
      return { supported: true, objects: this.#objects };
    } catch (e) {
      if (e instanceof FormatDamage) return { supported: false, reason: e.message, damaged: true };
      if (e instanceof FormatUnsupported || e instanceof FormatValueError) return { supported: false, reason: e.message, damaged: false };
      if (e instanceof FormatNotHdf5) return { supported: false, reason: `no HDF5 superblock: ${e.message}`, damaged: false };
      if (e instanceof FormatTruncated) return { supported: false, reason: `the file is shorter than its superblock says (truncated): ${e.message}`, damaged: false };
      throw e;
    }
  }

  #patch(pos: number): void {
    if (this.#patching) this.#patches.add(pos);
  }

  #parse(): void {
    const reader = this.#reader;
    const sb = readSuperblock(reader);
    this.#sb = sb;
    if (sb.version > 1) unsupported(`superblock version ${sb.version}`);
    if (sb.base !== 0) unsupported(`a superblock at offset ${sb.base} (a user block)`);
    if (sb.groupLeafK !== LEAF_K || sb.groupInternalK !== INTERNAL_K) {
      unsupported(`group B-tree K values ${sb.groupLeafK} and ${sb.groupInternalK}, not ${LEAF_K} and ${INTERNAL_K}`);
    }
    if (sb.flags !== 0) unsupported(`file consistency flags ${sb.flags} set`);
    if (sb.freeSpace !== UNDEF) unsupported("free-space information in the superblock");
    if (sb.rootCacheType === 2) unsupported("the root is a soft link");
    this.#regions.claim(0, sb.size, "superblock");

    // The root itself is never copied into a target: its structures are read, not relocated.
    this.#patching = false;
    const limits = this.#limits;
    const root = this.#header(sb.root, "/");
    if (root.kind !== "group") unsupported("the root is not a group");
    const rootObject: ParsedObject = { path: "/", depth: 0, kind: "group", attrs: null, nonStandard: [], plainFloat64: null, members: null };
    if (limits.attrDepth >= 0) Object.assign(rootObject, this.#attributes(root.info, "/"));
    if (limits.maxDepth >= 0) this.#objects.push(rootObject);
    if (!this.#full && limits.maxDepth < 1) {
      if (limits.maxDepth === 0 && limits.listNames) rootObject.members = this.#names(root.btree, root.heap, "/");
      return;
    }
    const entries = this.#group(root.btree, root.heap, "/");
    this.#patching = this.#full;
    for (const e of entries) {
      const name = nameOf(e.name, "/");
      const child = this.#visit(e, `/${name}`, 1);
      // The name's own bytes: a view would keep the source's bytes alive until the splice is finished.
      this.#members.push({ name, nameBytes: Uint8Array.from(e.name), header: e.header, group: child.kind === "group", btree: child.btree, heap: child.heap });
    }
  }

  /** Parses the object behind a symbol table entry (and, for groups, its members), reporting it in preorder. */
  #visit(entry: SymbolEntry, path: string, depth: number): Spliceable {
    if (depth > MAX_NESTING) unsupported(`groups nested deeper than ${MAX_NESTING} levels`);
    if (++this.#visited > MAX_OBJECTS) unsupported(`more than ${MAX_OBJECTS} objects`);
    if (entry.cacheType === 2 || entry.header === UNDEF) unsupported(`soft link ${path}`);
    // A scan reads no attributes deeper than attrDepth: their messages are left out of the header.
    const h = this.#header(entry.header, path, !this.#full && depth > this.#limits.attrDepth);
    if (entry.cacheType === 1 && (h.kind !== "group" || entry.cachedBtree !== h.btree || entry.cachedHeap !== h.heap)) {
      unsupported(`the cached symbol table of ${path} does not match its object header`);
    }
    const limits = this.#limits;
    const object: ParsedObject = { path, depth, kind: h.kind, attrs: null, nonStandard: [], plainFloat64: h.plainFloat64, members: null };
    if (this.#full || depth <= limits.attrDepth) {
      const read = this.#attributes(h.info, path);
      if (depth <= limits.attrDepth) Object.assign(object, read);
    }
    if (depth <= limits.maxDepth) this.#objects.push(object);
    if (h.kind === "group" && (this.#full || depth < limits.maxDepth)) {
      for (const e of this.#group(h.btree, h.heap, path)) {
        this.#patch(e.pos + 8);
        if (e.cacheType === 1) {
          this.#patch(e.pos + 24);
          this.#patch(e.pos + 32);
        }
        this.#visit(e, `${path}/${nameOf(e.name, path)}`, depth + 1);
      }
    } else if (h.kind === "group" && depth === limits.maxDepth && limits.listNames) {
      object.members = this.#names(h.btree, h.heap, path);
    }
    return h;
  }

  /** The names of a symbol-table group's members (a scan's `listNames`). */
  #names(btree: number, heap: number, path: string): string[] {
    return this.#group(btree, heap, path).map((e) => nameOf(e.name, path));
  }

  // ---- object headers

  /** Reads, checks and classifies the object header at `addr`, claiming its chunks and recording its addresses. */
  #header(addr: number, path: string, skipAttributes = false): Spliceable {
    if (this.#headers.has(addr)) {
      unsupported(`${path} is reached twice (a hard link to the object header at address ${addr}): the splicer relocates each object once`);
    }
    this.#headers.add(addr);
    const header: ObjectHeader = readObjectHeader(this.#reader, addr, path, { skipAttributes });
    if (header.version !== 1) unsupported(`version 2 object header of ${path} (latest file format)`);
    for (let i = 0; i < header.chunks.length; i++) {
      const [at, length] = header.chunks[i]!;
      this.#regions.claim(at, length, i === 0 ? "object header" : "object header continuation chunk");
    }
    const info = describeObject(header, path);
    let typeBody: Uint8Array | null = null;
    let datasetParts = 0;
    for (const m of header.messages) {
      if (m.flags & ~FLAGS_SPLICEABLE) unsupported(`message flags ${m.flags} in ${path}`);
      if (!SPLICEABLE.has(m.type)) {
        switch (m.type) {
          case MSG.LINK_INFO:
          case MSG.LINK:
          case MSG.GROUP_INFO:
            unsupported(`new-style (link) group ${path}`);
          case MSG.EXTERNAL:
            unsupported(`external storage of ${path}`);
          case MSG.FILTERS:
            unsupported(`filtered data of ${path}`);
          case MSG.ATTRIBUTE_INFO:
            unsupported(`dense or creation-ordered attributes of ${path}`);
          default:
            unsupported(`object header message type ${m.type} in ${path}`);
        }
      }
      if (m.type === MSG.CONTINUATION) this.#patch(m.addr);
      else if (m.type === MSG.DATATYPE) typeBody = m.body;
      if (m.type === MSG.DATATYPE || m.type === MSG.DATASPACE || m.type === MSG.LAYOUT) datasetParts++;
    }
    if (info.kind === "group") {
      const g = info.group;
      if (!g || g.kind !== "symbolTable") unsupported(`new-style (link) group ${path}`);
      if (datasetParts > 0) unsupported(`${path} is both a group and a dataset`);
      this.#patch(g.stabPos);
      this.#patch(g.stabPos + 8);
      return { info, kind: "group", btree: g.btree, heap: g.heap, plainFloat64: null };
    }
    if (info.kind !== "dataset" || !info.dataset) unsupported(`${path} is neither a group nor a dataset (e.g. a committed datatype)`);
    const d = info.dataset;
    const layout = d.layout;
    if (layout.version !== 3) unsupported(`data layout version ${layout.version} of ${path}`);
    if (layout.kind === "chunked") unsupported(`chunked layout of ${path}`);
    if (layout.kind === "virtual") unsupported(`virtual layout of ${path}`);
    if (d.type.kind !== "integer" && d.type.kind !== "float") unsupported(`dataset ${path} holds neither integers nor floating-point numbers`);
    const storage = layout.kind === "compact" ? layout.data.length : layout.size;
    // libhdf5 reads the bytes the shape and type need, whatever the stored size says; a copy does the same.
    if (storage !== d.space.elements * d.type.size) unsupported(`the storage size of ${path} (${storage} bytes) does not match its shape and type`);
    if (layout.kind === "contiguous" && layout.addr !== UNDEF) {
      // Undefined: storage never allocated (reads give the fill value).
      if (layout.addr > this.#reader.limit || layout.size > this.#reader.limit - layout.addr) {
        damaged(`the raw data of ${path} at address ${layout.addr} lies outside the file`);
      }
      this.#regions.claim(layout.addr, layout.size, "raw data");
      this.#patch(layout.addrPos);
    }
    let f64le = typeBody !== null && typeBody.length >= 1 + F64LE.length;
    for (let i = 0; f64le && i < F64LE.length; i++) if (typeBody![1 + i] !== F64LE[i]) f64le = false;
    return { info, kind: "dataset", btree: UNDEF, heap: UNDEF, plainFloat64: f64le && layout.kind === "contiguous" };
  }

  // ---- attributes

  /** Decodes every attribute (recording the heap IDs of variable-length values) in name order. */
  #attributes(info: ObjectInfo, path: string): { attrs: AttributeList; nonStandard: string[] } {
    const list = readStringAttributes(this.#reader, info, path, this.#collectionAt);
    if (this.#patching) for (const a of list) if (a.heapIdPos >= 0 && a.heapAddr !== 0) this.#patches.add(a.heapIdPos);
    const read = attributeList(list, this.#lastAttrs);
    this.#lastAttrs = read.attrs;
    return read;
  }

  /** {@link #collection} as a function, made once. */
  readonly #collectionAt = (addr: number): GlobalHeapCollection => this.#collection(addr);

  #collection(addr: number): GlobalHeapCollection {
    const hit = this.#heaps.get(addr);
    if (hit) return hit;
    const c = readGlobalHeap(this.#reader, addr);
    this.#heapBytes += c.bytes.length;
    if (this.#heapBytes > MAX_GLOBAL_HEAPS) unsupported(`global heap collections of more than ${MAX_GLOBAL_HEAPS} bytes`);
    this.#regions.claim(addr, c.bytes.length, "global heap collection");
    this.#heaps.set(addr, c);
    return c;
  }

  // ---- groups

  /** The entries of a symbol-table group, claiming its B-tree nodes, symbol table nodes and local heap. */
  #group(btree: number, heapAddr: number, path: string): SymbolEntry[] {
    const reader = this.#reader;
    const heap = readLocalHeap(reader, heapAddr, path);
    this.#regions.claim(heapAddr, HEAP_HEADER_SIZE, "local heap");
    this.#regions.claim(heap.dataAddr, heap.data.length, "local heap data");
    this.#patch(heapAddr + 24);
    const nodes = new Map<number, number>(); // address -> level
    const siblings: [number, number][] = []; // [address, level of the node pointing there]
    const entries = readGroupTree(reader, btree, heap, this.#sb.groupLeafK, this.#sb.groupInternalK, path, {
      node: (addr, size, used, level) => {
        this.#regions.claim(addr, size, "group B-tree node");
        nodes.set(addr, level);
        const links = reader.read(addr + 8, 16, `group B-tree node of ${path}`);
        for (let side = 0; side < 2; side++) {
          const low = readUint(links, 8 * side, 4);
          const high = readUint(links, 8 * side + 4, 4);
          if (low === 0xffffffff && high === 0xffffffff) continue;
          siblings.push([high * TWO32 + low, level]);
          this.#patch(addr + 8 + 8 * side);
        }
        for (let i = 0; i < used; i++) this.#patch(addr + 24 + 16 * i + 8);
      },
      snod: (addr, size) => this.#regions.claim(addr, size, "symbol table node"),
    });
    for (const [addr, level] of siblings) {
      if (nodes.get(addr) !== level) unsupported(`B-tree sibling pointers of ${path} are broken`);
    }
    return entries;
  }
}

// ---------------------------------------------------------------------------
// Sources

/** A source opened read-only under its lock, with a reader over the caller's descriptor. */
class Source {
  readonly path: string;
  readonly fd: number;
  readonly regular: boolean;
  readonly size: number;
  #release: (() => void) | null;

  private constructor(path: string, fd: number, regular: boolean, size: number, release: () => void) {
    this.path = path;
    this.fd = fd;
    this.regular = regular;
    this.size = size;
    this.#release = release;
  }

  /**
   * Locks `path` and opens it. The descriptor is opened before the lock and
   * checked against the path after it, so the bytes read are those of the
   * locked file even when another process replaces the path meanwhile.
   */
  static open(path: string, lock: SourceLock): Source {
    for (let attempt = 0; ; attempt++) {
      let fd: number;
      try {
        fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK); // a FIFO must not block the open (it is refused below)
      } catch (e) {
        throw failure(e, `cannot open ${path}`);
      }
      let release: () => void;
      try {
        release = lock(path);
      } catch (e) {
        closeSync(fd);
        throw failure(e, `cannot lock ${path}`);
      }
      let same = false;
      let regular = false;
      let size = 0;
      try {
        const mine = fstatSync(fd);
        const now = statSync(path);
        same = mine.dev === now.dev && mine.ino === now.ino;
        regular = mine.isFile();
        size = mine.size;
      } catch {
        same = false;
      }
      if (same) return new Source(path, fd, regular, size, release);
      release();
      closeSync(fd);
      if (attempt >= 2) throw new SpliceFailure("EBUSY", `cannot lock ${path}: another process keeps replacing it`);
    }
  }

  close(): void {
    const release = this.#release;
    this.#release = null;
    if (release === null) return;
    try {
      release();
    } finally {
      closeSync(this.fd);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Parses an open source; `parsed` receives what a copy needs (a splice).
 * A splice parses a source of at most {@link WHOLE} bytes from memory:
 * `whole` gives a buffer that holds the whole source.
 */
function parseSource(source: Source, limits: ParseLimits, parsed?: (p: Parsed) => void, whole?: () => Buffer): ParseReport {
  if (!source.regular) return { supported: false, reason: "not a regular file", damaged: false };
  let reader: ByteReader;
  let chunked = true;
  try {
    if (parsed && whole && source.size > 0 && source.size <= WHOLE) {
      reader = ByteReader.fromBytes(source.path, source.fd, whole().subarray(0, source.size));
      chunked = false;
    } else {
      reader = ByteReader.open(source.path, source.fd);
    }
  } catch (e) {
    if (e instanceof FormatNotHdf5) return { supported: false, reason: `no HDF5 superblock: ${e.message}`, damaged: false };
    throw isSystemError(e) ? failure(e, `cannot read ${source.path}`) : e;
  }
  try {
    return new SourceParser(reader, limits, parsed !== undefined).run(parsed, chunked);
  } catch (e) {
    throw isSystemError(e) ? failure(e, `cannot read ${source.path}`) : e;
  } finally {
    reader.close();
  }
}

/**
 * Parses the file at `path` as the splicer would, under its lock, writing
 * nothing: what `limits` asks for, or why it is not spliced.
 * @example
 * ```ts
 * const report = scanSource("/data/S01.hdf5", { maxDepth: 3, attrDepth: 1 }, lock);
 * if (!report.supported) console.log(report.damaged ? "damaged" : "libhdf5 copies it", report.reason);
 * ```
 * @throws SpliceFailure (EBUSY, ENOENT, EACCES, EIO) when it cannot be opened, locked or read
 */
export function scanSource(path: string, limits: ParseLimits, lock: SourceLock): ParseReport {
  const source = Source.open(path, lock);
  try {
    return parseSource(source, limits);
  } finally {
    source.close();
  }
}

// ---------------------------------------------------------------------------
// Writing

interface Staged {
  source: Source;
  parsed: Parsed;
  /** The buffer holding the whole source, when it was read whole for the parse. */
  slot: Slot | null;
}

/** The source to be staged next, opened, locked and (when read whole) being read. */
interface Ahead {
  path: string;
  source: Source;
  slot: Slot | null;
}

/** A member of the new root group. */
interface RootEntry {
  name: string;
  nameBytes: Uint8Array;
  header: number;
  group: boolean;
  btree: number;
  heap: number;
}

function put64(buf: Buffer, at: number, v: number): void {
  if (v === UNDEF) {
    buf.writeUInt32LE(0xffffffff, at);
    buf.writeUInt32LE(0xffffffff, at + 4);
  } else {
    buf.writeUInt32LE(v % TWO32, at);
    buf.writeUInt32LE(Math.floor(v / TWO32), at + 4);
  }
}

/** Adds `base` to the little-endian 8-byte address at `at` of `view`. */
function relocate(view: DataView, at: number, base: number): void {
  let lo = view.getUint32(at, true) + (base % TWO32);
  let hi = view.getUint32(at + 4, true) + Math.floor(base / TWO32);
  if (lo >= TWO32) {
    lo -= TWO32;
    hi += 1;
  }
  view.setUint32(at, lo, true);
  view.setUint32(at + 4, hi >>> 0, true);
}

/**
 * The root group laid out from `addr`: object header, B-tree nodes (root
 * node first), symbol table nodes and local heap, in one buffer.
 */
function rootGroup(members: RootEntry[], addr: number): { bytes: Buffer; btree: number; heap: number } {
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
function superblock(eoa: number, root: { addr: number; btree: number; heap: number }): Buffer {
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

/**
 * One spliced file being written: {@link SpliceWriter.stage} parses a
 * source and keeps it open and locked until {@link SpliceWriter.commit}
 * copies it or {@link SpliceWriter.discard} drops it; {@link SpliceWriter.finish}
 * writes the root group and the superblock and closes the file. After any
 * failed step only {@link SpliceWriter.abort} is allowed; the caller removes
 * the half-written file.
 * @example
 * ```ts
 * const writer = SpliceWriter.create("/tmp/all.hdf5", lock);
 * try {
 *   for (const source of sources) {
 *     if (writer.stage(source, { maxDepth: 2 ** 20, attrDepth: 2 ** 20 }).supported) writer.commit();
 *   }
 *   writer.finish();
 * } finally {
 *   writer.abort();
 * }
 * ```
 */
export class SpliceWriter {
  readonly path: string;
  readonly #lock: SourceLock;
  #fd: number;
  /** The failure that stopped the writing: every later step fails with it. */
  #failed: SpliceFailure | null = null;
  /** End of what is written so far. */
  #end = SUPERBLOCK_SIZE;
  #staged: Staged | null = null;
  readonly #members: RootEntry[] = [];
  readonly #names = new Set<string>();
  readonly #io: IoThread;
  #ahead: Ahead | null = null;

  private constructor(path: string, fd: number, lock: SourceLock, io: IoThread) {
    this.path = path;
    this.#fd = fd;
    this.#lock = lock;
    this.#io = io;
  }

  /**
   * Creates `target`, which must not exist.
   * @throws SpliceFailure (EEXIST, ENOENT, EACCES, ENOSPC, EIO)
   */
  static create(target: string, lock: SourceLock): SpliceWriter {
    let fd: number;
    try {
      fd = openSync(target, "wx", 0o666);
    } catch (e) {
      throw failure(e, `cannot create ${target}`);
    }
    return new SpliceWriter(target, fd, lock, IoThread.start());
  }

  #usable(): void {
    if (this.#fd < 0) throw new SpliceFailure("ECLOSED", `the spliced file ${this.path} is already finished or aborted`);
    if (this.#failed) throw this.#failed;
  }

  /**
   * Parses `source` completely; when it is supported it stays staged (open
   * and locked) until {@link SpliceWriter.commit} or {@link SpliceWriter.discard}.
   * `next`, the source to be staged after this one, is opened, locked and
   * read ahead meanwhile (when it cannot be, its own stage says why).
   * `verify` is handed the source's locked descriptor before it is read (it
   * throws when that is not the file the caller expects).
   * @throws SpliceFailure (EBUSY, ENOENT, EACCES, EIO) when the source cannot be opened, locked or read
   */
  stage(source: string, limits: ParseLimits, next?: string, verify?: (fd: number) => void): ParseReport {
    this.#usable();
    this.discard();
    let ahead = this.#ahead;
    this.#ahead = null;
    if (ahead && ahead.path !== source) {
      this.#dropAhead(ahead);
      ahead = null;
    }
    const file = ahead?.source ?? Source.open(source, this.#lock);
    let staged: Staged | null = null;
    let slot: Slot | null = null;
    let report: ParseReport;
    try {
      verify?.(file.fd);
      if (next !== undefined) this.#readAhead(next);
      const whole = () => {
        if (ahead?.slot) {
          slot = ahead.slot;
          ahead.slot = null;
          try {
            this.#io.awaitRead(slot);
          } catch (e) {
            throw failure(e, `cannot read ${file.path}`);
          }
        } else {
          slot = this.#take();
          readFully(file.fd, slot.bytes, file.size, 0, file.path);
        }
        return slot.bytes;
      };
      report = parseSource(file, limits, (parsed) => (staged = { source: file, parsed, slot }), whole);
    } catch (e) {
      if (slot) this.#io.release(slot);
      file.close();
      throw e;
    }
    if (report.supported && staged) {
      this.#staged = staged;
    } else {
      if (slot) this.#io.release(slot);
      file.close();
    }
    return report;
  }

  /** Opens and locks `path` and starts reading it (when it is read whole), for the next {@link stage}. */
  #readAhead(path: string): void {
    let source: Source;
    try {
      source = Source.open(path, this.#lock);
    } catch {
      return; // its stage opens it again, and reports why it cannot
    }
    let slot: Slot | null = null;
    if (source.regular && source.size > 0 && source.size <= WHOLE) {
      try {
        slot = this.#take();
      } catch (e) {
        source.close();
        throw e;
      }
      this.#io.read(slot, source.fd, source.size, 0);
    }
    this.#ahead = { path, source, slot };
  }

  /** Closes a source read ahead and not staged (once its read is over). */
  #dropAhead(ahead: Ahead): void {
    try {
      if (ahead.slot) {
        try {
          this.#io.awaitRead(ahead.slot);
        } catch {
          // Never staged: its read's failure does not matter.
        }
        this.#io.release(ahead.slot);
      }
    } finally {
      ahead.source.close();
    }
  }

  /**
   * Copies the staged source into the target, relocated; returns the bytes copied.
   * @throws SpliceFailure (ESTATE) nothing staged, (EEXIST) a root member's name is taken, (ENOSPC, EIO) the copy failed
   */
  commit(): number {
    this.#usable();
    const staged = this.#staged;
    if (!staged) throw new SpliceFailure("ESTATE", "no source is staged");
    this.#staged = null;
    try {
      const { members, eoa } = staged.parsed;
      const seen = new Set<string>();
      for (const m of members) {
        if (this.#names.has(m.name) || seen.has(m.name)) throw new SpliceFailure("EEXIST", `the spliced file already holds a root member named '${m.name}'`);
        seen.add(m.name);
      }
      const base = alignUp(this.#end, SOURCE_ALIGN);
      try {
        this.#copy(staged, base);
      } catch (e) {
        throw this.#fail(e);
      }
      for (const m of members) {
        this.#names.add(m.name);
        this.#members.push({
          name: m.name,
          nameBytes: m.nameBytes,
          header: m.header + base,
          group: m.group,
          btree: m.group ? m.btree + base : UNDEF,
          heap: m.group ? m.heap + base : UNDEF,
        });
      }
      this.#end = base + eoa;
      return eoa;
    } finally {
      staged.source.close();
    }
  }

  /** Drops the staged source (and its lock), if any. */
  discard(): void {
    const staged = this.#staged;
    this.#staged = null;
    if (staged?.slot) this.#io.release(staged.slot);
    staged?.source.close();
  }

  /**
   * Writes the root group and the superblock and closes the file; returns its size.
   * @throws SpliceFailure (ENOSPC, EIO) the write failed
   */
  finish(): number {
    this.#usable();
    this.discard();
    try {
      const ahead = this.#ahead;
      this.#ahead = null;
      if (ahead) this.#dropAhead(ahead);
      this.#drain();
      const addr = alignUp(this.#end, 8);
      const root = rootGroup(this.#members, addr);
      const eoa = addr + root.bytes.length;
      writeFully(this.#fd, root.bytes, root.bytes.length, addr, this.path);
      const sb = superblock(eoa, { addr, btree: root.btree, heap: root.heap });
      writeFully(this.#fd, sb, sb.length, 0, this.path);
      const fd = this.#fd;
      this.#fd = -1;
      this.#io.close();
      try {
        closeSync(fd);
      } catch (e) {
        throw failure(e, `cannot write ${this.path}`);
      }
      return eoa;
    } catch (e) {
      throw this.#fail(e);
    }
  }

  /** Records the failure that stops the writing (a failed write of the target is about the target). */
  #fail(e: unknown): SpliceFailure {
    const f = failure(e, `cannot write ${this.path}`);
    f.target ??= this.path;
    this.#failed ??= f;
    return f;
  }

  /** Closes everything without finishing (idempotent). */
  abort(): void {
    this.discard();
    const ahead = this.#ahead;
    this.#ahead = null;
    if (ahead) this.#dropAhead(ahead);
    // No read or write may be under way when a descriptor is closed (its number could be reused).
    this.#io.close();
    const fd = this.#fd;
    this.#fd = -1;
    if (fd >= 0) {
      try {
        closeSync(fd);
      } catch {
        // The file is abandoned: the caller removes it.
      }
    }
  }

  /** A buffer of {@link COPY_CHUNK} bytes from the writer thread (waiting for one to be written if none is free). */
  #take(): Slot {
    try {
      return this.#io.take();
    } catch (e) {
      throw this.#fail(e);
    }
  }

  /** Waits until everything handed to the writer thread is written. */
  #drain(): void {
    try {
      this.#io.drain();
    } catch (e) {
      throw this.#fail(e);
    }
  }

  /**
   * Streams the source into the target at `base` in chunks, adding `base`
   * at every recorded address; each chunk is written by the writer thread
   * while the next is read (and the next source parsed).
   */
  #copy(staged: Staged, base: number): void {
    const { patches, eoa } = staged.parsed;
    if (staged.slot) {
      // Read whole for the parse: relocated in place (the bytes are ours) and written at once.
      const slot = staged.slot;
      staged.slot = null;
      const view = slot.view;
      for (let i = 0; i < patches.length; i++) relocate(view, patches[i]!, base);
      this.#io.write(slot, this.#fd, eoa, base);
      return;
    }
    let next = 0;
    for (let off = 0; off < eoa; ) {
      let stop = Math.min(eoa, off + COPY_CHUNK);
      let last = next;
      while (last < patches.length && patches[last]! + 8 <= stop) last++;
      if (last < patches.length && patches[last]! < stop) stop = patches[last]!; // never split an address
      const n = stop - off;
      const slot = this.#take();
      try {
        readFully(staged.source.fd, slot.bytes, n, off, staged.source.path);
      } catch (e) {
        this.#io.release(slot);
        throw e;
      }
      for (; next < last; next++) relocate(slot.view, patches[next]! - off, base);
      this.#io.write(slot, this.#fd, n, base + off);
      off = stop;
    }
  }
}
