/**
 * The splice parser: reads a source with the format module's readers
 * (superblock, object headers, group B-trees, symbol table nodes, local
 * heaps, global heap collections, attributes), checks that everything is
 * in the subset the splicer copies, claims every structure's byte range
 * (regions.ts) and records the file position of every address inside what
 * the root members reach (relocate.ts); reports the objects (preorder,
 * members by name) with their attributes as text.
 * @internal
 * @module
 */
import { readStringAttributes, type StringAttribute } from "../attributes.js";
import { readGroupTree, type SymbolEntry } from "../btree1.js";
import { UNDEF, readUint } from "../bytes.js";
import { damaged, FormatDamage, FormatNotHdf5, FormatTruncated, FormatUnsupported, FormatValueError, unsupported } from "../errors.js";
import { nameOf } from "../group.js";
import { readGlobalHeap, readLocalHeap, type GlobalHeapCollection } from "../heaps.js";
import { describeObject, type ObjectInfo } from "../object.js";
import { MSG, readObjectHeader, type ObjectHeader } from "../objectHeader.js";
import { ByteReader } from "../reader.js";
import { readSuperblock, type Superblock } from "../superblock.js";
import { failure, isSystemError, Source, type SourceLock } from "./io.js";
import { HEAP_HEADER_SIZE, INTERNAL_K, LEAF_K, type RootMember, TWO32, WHOLE } from "./layout.js";
import { RegionSet } from "./regions.js";
import { Patches } from "./relocate.js";

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

/** What copying a parsed source needs. */
export interface Parsed {
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

/** The `nonStandard` of the objects whose attributes are all standard (most): one array, never changed. */
const NONE: string[] = Object.freeze([]) as unknown as string[];

/**
 * Attributes as a list, with the names of `last` (the previous object's)
 * when they are the same: the objects of one file mostly carry the same
 * names in the same order (the decoder gives the same string objects for
 * the same bytes, so comparing them is cheap). Set on `object` (with its
 * `nonStandard`) when given.
 */
function attributeList(list: StringAttribute[], last: AttributeList | null, object: ParsedObject | null): AttributeList {
  const n = list.length;
  let nonStandard: string[] | null = null;
  const values = new Array<string>(n);
  let names = last?.names.length === n ? last.names : null;
  for (let i = 0; i < n; i++) {
    const a = list[i]!;
    values[i] = a.value;
    if (names !== null && names[i] !== a.name) names = null;
    if (!a.standard) (nonStandard ??= []).push(a.name);
  }
  const attrs: AttributeList = { names: names ?? list.map((a) => a.name), values };
  if (object !== null) {
    object.attrs = attrs;
    object.nonStandard = nonStandard ?? NONE;
  }
  return attrs;
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
    const rootObject: ParsedObject = { path: "/", depth: 0, kind: "group", attrs: null, nonStandard: NONE, plainFloat64: null, members: null };
    if (limits.attrDepth >= 0) this.#attributes(root.info, "/", rootObject);
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
    const object: ParsedObject = { path, depth, kind: h.kind, attrs: null, nonStandard: NONE, plainFloat64: h.plainFloat64, members: null };
    // A splice reads every object's attributes (to check them and find their heap IDs); a scan those it reports.
    if (this.#full || depth <= limits.attrDepth) this.#attributes(h.info, path, depth <= limits.attrDepth ? object : null);
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

  /** Decodes every attribute (recording the heap IDs of variable-length values) in name order; sets them on `object` when given. */
  #attributes(info: ObjectInfo, path: string, object: ParsedObject | null): void {
    const list = readStringAttributes(this.#reader, info, path, this.#collectionAt);
    if (this.#patching) {
      for (let i = 0; i < list.length; i++) {
        const a = list[i]!;
        if (a.heapIdPos >= 0 && a.heapAddr !== 0) this.#patches.add(a.heapIdPos);
      }
    }
    this.#lastAttrs = attributeList(list, this.#lastAttrs, object);
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

/**
 * Parses an open source; `parsed` receives what a copy needs (a splice).
 * A splice parses a source of at most {@link WHOLE} bytes from memory:
 * `whole` gives a buffer that holds the whole source.
 */
export function parseSource(source: Source, limits: ParseLimits, parsed?: (p: Parsed) => void, whole?: () => Buffer): ParseReport {
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
