/**
 * One HDF5 file as the format module reads it: objects by address, groups'
 * members, attributes as text, and the values of datasets stored whole in
 * the file (contiguous or compact). Parsed structures are kept for the
 * object's lifetime; whoever holds it decides how long that may be (the
 * file must not change meanwhile).
 * @internal
 * @module
 */
import { UNDEF } from "./bytes.js";
import { readStringAttributes, type StringAttribute } from "./attributes.js";
import { checkNumeric, convertible, toFloat64 } from "./data.js";
import { damaged, FormatValueError, unsupported } from "./errors.js";
import { checkChunkLookups } from "./btree1.js";
import { readMembers, type Members } from "./group.js";
import { readGlobalHeap, type GlobalHeapCollection } from "./heaps.js";
import { classify, describeObject, type DatasetInfo, type ObjectInfo, type ObjectKind } from "./object.js";
import type { Datatype } from "./messages.js";
import { MSG, readObjectHeader } from "./objectHeader.js";
import { ByteReader } from "./reader.js";
import { readSuperblock, type Superblock } from "./superblock.js";
import { Cursor } from "./bytes.js";

const MAX_OBJECTS = 16384;
const MAX_HEAP_BYTES = 64 * 1024 * 1024;

/** Values of a dataset, or why libhdf5 must read them. */
export type DatasetValues = { data: Float64Array; shape: number[] } | { libhdf5: string };

interface Located {
  shape: number[];
  count: number;
  type: Datatype;
}

/** Where a dataset's values are: nowhere (zeros), in the header (compact data, or a fill value), or at an absolute file offset. */
export type ValuesLocation =
  | { libhdf5: string }
  | (Located & { stored: "zeros" })
  | (Located & { stored: "bytes" | "fill"; bytes: Uint8Array })
  | (Located & { stored: "file"; offset: number; length: number });

/** Whether values of `type` are stored exactly as a Float64Array holds them. */
export function isLittleFloat64(type: Datatype): boolean {
  return type.kind === "float" && type.size === 8 && !type.bigEndian;
}

/**
 * The values at a location as float64: `raw` holds the bytes read from the
 * file (for `stored: "file"`), else null.
 */
export function valuesFrom(at: Exclude<ValuesLocation, { libhdf5: string }>, raw: Uint8Array | null): Float64Array {
  const out = new Float64Array(at.count);
  switch (at.stored) {
    case "zeros":
      return out;
    case "bytes":
      toFloat64(at.type, at.bytes, at.count, out);
      return out;
    case "fill": {
      const one = new Float64Array(1);
      toFloat64(at.type, at.bytes, 1, one);
      return out.fill(one[0]!);
    }
    case "file":
      toFloat64(at.type, raw!, at.count, out);
      return out;
  }
}

/**
 * What is parsed of a file, by address: objects, their kinds, global heap
 * collections. It may outlive one {@link FormatFile} and serve the next
 * one of the same file for as long as the caller knows that what lies at
 * those addresses did not change (this library's own writes never change
 * bytes a parsed structure lies in: src/hdf5/format/rewrite/).
 */
export interface FormatCaches {
  readonly objects: Map<number, ObjectInfo>;
  readonly kinds: Map<number, ObjectKind>;
  readonly heaps: Map<number, GlobalHeapCollection>;
  heapBytes: number;
}

export function newCaches(): FormatCaches {
  return { objects: new Map(), kinds: new Map(), heaps: new Map(), heapBytes: 0 };
}

export class FormatFile {
  readonly reader: ByteReader;
  readonly superblock: Superblock;
  readonly #caches: FormatCaches;
  /** Whether the caches are this file's alone (made here and never handed out): cleared on close. */
  #ownsCaches: boolean;
  readonly #objects: Map<number, ObjectInfo>;
  readonly #kinds: Map<number, ObjectKind>;
  readonly #heaps: Map<number, GlobalHeapCollection>;
  /** Most parsed objects kept (the oldest dropped first). */
  maxObjects = MAX_OBJECTS;

  private constructor(reader: ByteReader, superblock: Superblock, caches: FormatCaches | undefined) {
    this.reader = reader;
    this.superblock = superblock;
    this.#ownsCaches = caches === undefined;
    this.#caches = caches ?? newCaches();
    this.#objects = this.#caches.objects;
    this.#kinds = this.#caches.kinds;
    this.#heaps = this.#caches.heaps;
  }

  /**
   * Opens and checks the superblock (and its extension); reads through `fd`
   * when given (the caller's descriptor, e.g. one holding a lock), else
   * opens the file itself.
   * @throws FormatNotHdf5 / FormatTruncated / FormatDamage / FormatUnsupported, or the file system's error
   */
  static open(path: string, fd?: number, caches?: FormatCaches): FormatFile {
    const reader = ByteReader.open(path, fd);
    try {
      const sb = readSuperblock(reader);
      const file = new FormatFile(reader, sb, caches);
      if (sb.extension !== UNDEF) file.#readExtension(sb.extension);
      return file;
    } catch (e) {
      reader.close();
      throw e;
    }
  }

  /**
   * What was parsed, to hand to a later FormatFile of the unchanged file:
   * once handed out, closing this one no longer clears it (the next
   * session of a CacheFile would otherwise find it empty and parse
   * everything again).
   */
  get caches(): FormatCaches {
    this.#ownsCaches = false;
    return this.#caches;
  }

  get path(): string {
    return this.reader.path;
  }

  get root(): number {
    return this.superblock.root;
  }

  close(): void {
    this.reader.close();
    if (this.#ownsCaches) {
      this.#objects.clear();
      this.#heaps.clear();
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #readExtension(addr: number): void {
    const header = readObjectHeader(this.reader, addr, "the superblock extension");
    for (const m of header.messages) {
      if (m.type === MSG.SHARED_TABLE) unsupported("shared object header messages (a shared message table)");
      if (m.type === MSG.DRIVER_INFO) unsupported("a file driver information message");
      if (m.type === MSG.BTREE_K) {
        const c = new Cursor(m.body, m.addr, "B-tree K values of the superblock extension");
        if (c.u8() !== 0) damaged("B-tree K values of the superblock extension: unknown version");
        const chunkK = c.u16();
        const internalK = c.u16();
        const leafK = c.u16();
        if (chunkK === 0 || internalK === 0 || leafK === 0) damaged("a B-tree K of 0 in the superblock extension");
        Object.assign(this.superblock, { chunkK, groupInternalK: internalK, groupLeafK: leafK });
      }
    }
  }

  /** The object whose header is at `addr` (`what`: its path, for messages). */
  object(addr: number, what: string): ObjectInfo {
    const hit = this.#objects.get(addr);
    if (hit) return hit;
    const info = describeObject(readObjectHeader(this.reader, addr, what), what);
    this.#objects.set(addr, info);
    if (this.#objects.size > this.maxObjects) this.#objects.delete(this.#objects.keys().next().value!);
    return info;
  }

  /**
   * The kind of the object at `addr`, from its header's messages alone (its
   * messages are checked when the object itself is read).
   */
  kind(addr: number, what: string): ObjectKind {
    const known = this.#objects.get(addr) ?? this.#kinds.get(addr);
    if (known !== undefined) return typeof known === "string" ? known : known.kind;
    const kind = classify(readObjectHeader(this.reader, addr, what), what);
    this.#kinds.set(addr, kind);
    return kind;
  }

  /** The members of the group at `addr`. */
  members(addr: number, what: string): Members {
    return readMembers(this.reader, this.superblock, this.object(addr, what), what);
  }

  /** The attributes of the object at `addr`, as text in h5py's order (`only`: just those of these names). */
  attributes(addr: number, what: string, only?: ReadonlySet<string>): StringAttribute[] {
    return readStringAttributes(this.reader, this.object(addr, what), what, (a) => this.#collection(a), only);
  }

  #collection(addr: number): GlobalHeapCollection {
    const hit = this.#heaps.get(addr);
    if (hit) return hit;
    const c = readGlobalHeap(this.reader, addr);
    this.#heaps.set(addr, c);
    this.#caches.heapBytes += c.bytes.length;
    while (this.#caches.heapBytes > MAX_HEAP_BYTES && this.#heaps.size > 1) {
      const [oldest, dropped] = this.#heaps.entries().next().value!;
      this.#heaps.delete(oldest);
      this.#caches.heapBytes -= dropped.bytes.length;
    }
    return c;
  }

  /**
   * Before libhdf5 reads a dataset's values from its chunks: what libhdf5
   * 1.10.8 trusts and crashes, loops or reads past a buffer on when it is
   * damaged: the chunk dimensions (one per dimension of the dataspace, none
   * 0, none beyond a fixed maximum, the element size the type's) and the
   * lookups in a version 1 chunk B-tree (no lookup comes back to a node it
   * passed, every chunk found lies inside the file). What libhdf5 checks
   * itself (a node's signature, its entry count) is left to it, which fails
   * with an error of its own; what no read reaches is not judged. Nothing
   * to check for other layouts.
   */
  preflight(addr: number, what: string): void {
    const d = this.dataset(addr, what);
    if (d.layout.kind !== "chunked") return;
    const { dims: chunk, elementSize, index } = d.layout;
    const dims = d.space.kind === "null" ? [] : d.space.dims;
    if (d.space.kind !== "null" && chunk.length !== dims.length) {
      damaged(`dataset '${what}' has ${dims.length} dimensions, its chunks ${chunk.length}`);
    }
    chunk.forEach((n, i) => {
      const max = d.space.maxDims?.[i] ?? dims[i];
      if (n === 0) damaged(`dataset '${what}': its chunks have size 0 in dimension ${i}`);
      if (max !== undefined && max !== UNDEF && n > max) damaged(`dataset '${what}': its chunks are ${n} long in dimension ${i}, more than its maximum ${max}`);
    });
    if (elementSize !== d.type.size) damaged(`dataset '${what}': its chunks hold elements of ${elementSize} bytes, its type ${d.type.size}`);
    if (index.type === "btree1" && d.space.kind !== "null") {
      checkChunkLookups(this.reader, index.addr, [...chunk, elementSize], d.space.dims, d.filters.length > 0, this.superblock.chunkK, what);
    }
  }

  /** The dataset at `addr`. */
  dataset(addr: number, what: string): DatasetInfo {
    const info = this.object(addr, what);
    if (!info.dataset) damaged(`${what} is not a dataset`);
    return info.dataset;
  }

  /**
   * The shape of a numeric dataset, checked as the native reader checks it
   * (numbers, at most `maxElements`, sizes within their maxima, storage in the file).
   * @throws FormatValueError (EDTYPE, ETOOBIG)
   */
  shape(addr: number, what: string, maxElements: number): number[] {
    const d = this.dataset(addr, what);
    if (d.declined) unsupported(d.declined);
    checkNumeric(d.type, what);
    if (d.type.size > 16) damaged(`dataset '${what}' declares numbers of ${d.type.size} bytes`);
    const dims = d.space.kind === "null" ? [0] : d.space.dims;
    d.space.dims.forEach((n, i) => {
      const max = d.space.maxDims?.[i];
      if (max !== undefined && max !== UNDEF && n > max) damaged(`dataset '${what}': its dimension ${i} is ${n}, more than its maximum ${max}`);
    });
    if (d.space.elements > maxElements) throw new FormatValueError("ETOOBIG", `dataset '${what}' declares more than ${maxElements} elements`);
    return dims;
  }

  /**
   * Where the values of a numeric dataset are, when it is stored whole in
   * the file (contiguous or compact, unfiltered, in a type converted here);
   * otherwise the reason libhdf5 must read it.
   */
  locate(addr: number, what: string, maxElements: number): ValuesLocation {
    const shape = this.shape(addr, what, maxElements);
    const d = this.dataset(addr, what);
    const count = d.space.elements;
    if (d.external) return { libhdf5: "raw data in external files" };
    if (d.layout.kind === "chunked") return { libhdf5: "chunked storage" };
    if (d.layout.kind === "virtual") return { libhdf5: "a virtual dataset" };
    // The geometry of unchunked storage is checked before anything is left to
    // libhdf5, which trusts it (it copies a compact dataset's bytes without
    // checking they are there). Like libhdf5, the stored size of contiguous
    // storage is not checked: reads take the bytes the shape and type need.
    const bytes = count * d.type.size;
    if (count === 0) {
      // Nothing to read, whatever the layout says.
    } else if (d.layout.kind === "compact") {
      if (d.layout.data.length < bytes) damaged(`dataset '${what}': its compact data holds ${d.layout.data.length} bytes, its shape and type need ${bytes}`);
    } else {
      const dataAddr = d.layout.addr;
      if (dataAddr !== UNDEF && (dataAddr > this.reader.limit || bytes > this.reader.limit - dataAddr)) {
        damaged(`the data of '${what}' at address ${dataAddr} lies outside the file`);
      }
    }
    if (d.filters.length > 0) return { libhdf5: "filters on unchunked storage" };
    if (!convertible(d.type)) return { libhdf5: "a number type converted by libhdf5" };
    const base = { shape, count, type: d.type };
    if (count === 0) return { ...base, stored: "zeros" };
    if (d.layout.kind === "compact") return { ...base, stored: "bytes", bytes: d.layout.data.subarray(0, bytes) };
    const dataAddr = d.layout.addr;
    if (dataAddr === UNDEF) {
      // Never written: the fill value (zeros unless one is defined).
      const fill = d.fill.value;
      if (!fill) return { ...base, stored: "zeros" };
      if (fill.length !== d.type.size) damaged(`dataset '${what}': its fill value has ${fill.length} bytes, its type ${d.type.size}`);
      return { ...base, stored: "fill", bytes: fill };
    }
    return { ...base, stored: "file", offset: this.reader.base + dataAddr, length: bytes };
  }

  /**
   * The values of a numeric dataset as float64 (see {@link locate}), read
   * here, or the reason libhdf5 must read them.
   */
  values(addr: number, what: string, maxElements: number): DatasetValues {
    const at = this.locate(addr, what, maxElements);
    if ("libhdf5" in at) return at;
    if (at.stored !== "file") return { data: valuesFrom(at, null), shape: at.shape };
    const out = new Float64Array(at.count);
    if (isLittleFloat64(at.type)) {
      this.reader.readInto(at.offset, new Uint8Array(out.buffer));
      return { data: out, shape: at.shape };
    }
    const raw = new Uint8Array(at.length);
    this.reader.readInto(at.offset, raw);
    return { data: valuesFrom(at, raw), shape: at.shape };
  }

  /** Address of the object at an absolute path ("/a/b"), following hard links; undefined when absent. */
  resolve(path: string): number | undefined {
    let addr = this.root;
    let at = "";
    for (const part of path.split("/").filter((p) => p !== "")) {
      const info = this.object(addr, at || "/");
      if (info.kind !== "group") return undefined;
      const member = this.members(addr, at || "/").byName.find((m) => m.name === part);
      if (!member || member.target.type !== "hard") return undefined;
      addr = member.target.addr;
      at += `/${part}`;
    }
    return addr;
  }
}
