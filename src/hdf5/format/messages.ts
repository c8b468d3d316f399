/**
 * Decoders of the object header messages the module reads: dataspace,
 * datatype, fill value, layout, filter pipeline, link, link info, attribute
 * info, symbol table. Each checks what it decodes as libhdf5 does, and
 * reports values libhdf5 1.10 never writes as damage.
 * @internal
 * @module
 */
import { Cursor, UNDEF } from "./bytes.js";
import { damaged, unsupported } from "./errors.js";

// ---------------------------------------------------------------------------
// Dataspace

export interface Dataspace {
  kind: "scalar" | "simple" | "null";
  dims: number[];
  /** Maximum dimensions ({@link UNDEF}: unlimited), or null when not stored. */
  maxDims: number[] | null;
  /** Number of elements (0 for a null dataspace, 1 for a scalar); beyond 2^53 only approximately. */
  elements: number;
}

/** Beyond any size libhdf5 stores (hsize_t is 64 bits). */
const MAX_HSIZE = 2 ** 64;

export function decodeDataspace(c: Cursor): Dataspace {
  const version = c.u8();
  const rank = c.u8();
  const flags = c.u8();
  let kind: Dataspace["kind"];
  if (version === 1) {
    c.skip(5);
    if (flags & 0x02) damaged(`${c.what}: a dataspace with a permutation (never written by libhdf5)`);
    kind = rank === 0 ? "scalar" : "simple";
  } else if (version === 2) {
    const type = c.u8();
    if (type > 2) damaged(`${c.what}: dataspace type ${type}`);
    kind = type === 0 ? "scalar" : type === 1 ? "simple" : "null";
    if ((kind === "simple") !== rank > 0) damaged(`${c.what}: dataspace rank ${rank} does not match its type`);
  } else {
    damaged(`${c.what}: dataspace version ${version}`);
  }
  if (flags & ~0x03) damaged(`${c.what}: dataspace flags ${flags}`);
  if (rank > 32) damaged(`${c.what}: dataspace of rank ${rank}`);
  const dims: number[] = [];
  let elements = kind === "null" ? 0 : 1;
  for (let i = 0; i < rank; i++) {
    const d = c.u64();
    dims.push(d);
    if (d !== 0 && elements > MAX_HSIZE / d) damaged(`${c.what}: a dataspace of more than 2^64 elements`);
    elements *= d;
  }
  let maxDims: number[] | null = null;
  if (flags & 0x01) {
    maxDims = [];
    for (let i = 0; i < rank; i++) maxDims.push(c.address());
  }
  return { kind, dims, maxDims, elements };
}

// ---------------------------------------------------------------------------
// Datatype

export const TYPE_CLASS = {
  INTEGER: 0,
  FLOAT: 1,
  TIME: 2,
  STRING: 3,
  BITFIELD: 4,
  OPAQUE: 5,
  COMPOUND: 6,
  REFERENCE: 7,
  ENUM: 8,
  VLEN: 9,
  ARRAY: 10,
} as const;

const CLASS_NAMES = ["integer", "float", "time", "string", "bitfield", "opaque", "compound", "reference", "enum", "variable-length sequence", "array"];

/** The name libhdf5's error messages use for a datatype class. */
export function className(cls: number): string {
  return CLASS_NAMES[cls] ?? "unknown";
}

export type Datatype =
  | { kind: "integer"; cls: 0; size: number; bigEndian: boolean; signed: boolean }
  | { kind: "float"; cls: 1; size: number; bigEndian: boolean }
  | { kind: "string"; cls: 3; size: number; pad: number; cset: number }
  | { kind: "vlenString"; cls: 9; size: number; pad: number; cset: number }
  /** A class the module does not decode further (only its class and size are known). */
  | { kind: "other"; cls: number; size: number };

/** The IEEE float layouts this module converts: [size, precision, exponent at, exponent bits, mantissa at, mantissa bits, bias]. */
const IEEE: [number, number, number, number, number, number, number][] = [
  [2, 16, 10, 5, 0, 10, 15],
  [4, 32, 23, 8, 0, 23, 127],
  [8, 64, 52, 11, 0, 52, 1023],
];

/**
 * Decodes a datatype message. Integer, floating-point, string and
 * variable-length string types are decoded completely; other classes come
 * back as `kind: "other"` (callers decline them or report "not a
 * number/string", as libhdf5 does).
 */
export function decodeDatatype(c: Cursor, nesting = 0): Datatype {
  const head = c.u8();
  const version = head >> 4;
  const cls = head & 0x0f;
  if (version < 1 || version > 3) damaged(`${c.what}: datatype version ${version}`);
  if (cls > 10) damaged(`${c.what}: datatype class ${cls}`);
  const b0 = c.u8();
  const b1 = c.u8();
  c.u8();
  const size = c.u32();
  switch (cls) {
    case TYPE_CLASS.INTEGER: {
      const offset = c.u16();
      const precision = c.u16();
      if (size === 0 || size > 16 || precision === 0 || offset + precision > 8 * size) damaged(`${c.what}: malformed integer datatype`);
      // Other layouts are valid; libhdf5 converts their values (the module does not).
      if (offset !== 0 || precision !== 8 * size || ![1, 2, 4, 8].includes(size) || (b0 & 0x06) !== 0) return { kind: "other", cls, size };
      return { kind: "integer", cls, size, bigEndian: (b0 & 0x01) !== 0, signed: (b0 & 0x08) !== 0 };
    }
    case TYPE_CLASS.FLOAT: {
      const offset = c.u16();
      const precision = c.u16();
      const expAt = c.u8();
      const expBits = c.u8();
      const manAt = c.u8();
      const manBits = c.u8();
      const bias = c.u32();
      if (
        size === 0 ||
        size > 16 ||
        precision === 0 ||
        offset + precision > 8 * size ||
        expBits === 0 ||
        manBits === 0 ||
        expAt + expBits > precision ||
        manAt + manBits > precision ||
        b1 >= precision ||
        ((b0 >> 4) & 3) === 3
      ) {
        damaged(`${c.what}: malformed floating-point datatype`);
      }
      if (b0 & 0x40) return { kind: "other", cls, size }; // VAX order: libhdf5 converts it
      const ieee = IEEE.some(
        ([s, p, ea, eb, ma, mb, bi]) =>
          s === size && p === precision && ea === expAt && eb === expBits && ma === manAt && mb === manBits && bi === bias && offset === 0 && b1 === precision - 1 && ((b0 >> 4) & 3) === 2,
      );
      if (!ieee) return { kind: "other", cls, size }; // valid, converted by libhdf5
      return { kind: "float", cls, size, bigEndian: (b0 & 0x01) !== 0 };
    }
    case TYPE_CLASS.STRING: {
      const pad = b0 & 0x0f;
      const cset = b0 >> 4;
      if (size === 0 || pad > 2 || cset > 1) damaged(`${c.what}: malformed string datatype`);
      return { kind: "string", cls, size, pad, cset };
    }
    case TYPE_CLASS.VLEN: {
      if (nesting > 0) return { kind: "other", cls, size };
      const kind = b0 & 0x0f;
      const pad = b0 >> 4;
      const cset = b1 & 0x0f;
      if (kind > 1) damaged(`${c.what}: variable-length datatype of kind ${kind}`);
      if (kind === 0) {
        decodeDatatype(c, nesting + 1);
        return { kind: "other", cls, size };
      }
      // The base type of a string: one byte of 8 bits, as libhdf5 writes it. With another size
      // libhdf5 1.10.8 allocates gigabytes for a value; with another precision it reads the value
      // as empty: either way the bytes contradict what was written.
      const baseHead = c.u8();
      c.skip(3);
      const baseSize = c.u32();
      const baseOffset = c.u16();
      const basePrecision = c.u16();
      if (baseHead >> 4 < 1 || baseHead >> 4 > 3 || (baseHead & 0x0f) !== TYPE_CLASS.INTEGER || baseSize !== 1 || baseOffset !== 0 || basePrecision !== 8) {
        damaged(`${c.what}: a variable-length string of characters of ${baseSize} bytes (${basePrecision} bits at bit ${baseOffset})`);
      }
      if (size !== 16 || pad > 2 || cset > 1) damaged(`${c.what}: malformed variable-length string datatype`);
      return { kind: "vlenString", cls, size, pad, cset };
    }
    default:
      if (size === 0) damaged(`${c.what}: a ${className(cls)} datatype of size 0`);
      return { kind: "other", cls, size };
  }
}

// ---------------------------------------------------------------------------
// Fill value

export interface FillValue {
  /** The user-defined fill value's bytes, or null for the default (zeros). */
  value: Uint8Array | null;
}

export function decodeFillValue(c: Cursor): FillValue {
  const version = c.u8();
  if (version === 1 || version === 2) {
    c.skip(2); // allocation time, write time
    const defined = c.u8();
    if (version === 1 || defined) {
      if (c.remaining < 4) {
        if (version === 1) return { value: null };
        damaged(`${c.what}: fill value runs past its message`);
      }
      const size = c.u32();
      return { value: size > 0 ? c.take(size) : null };
    }
    return { value: null };
  }
  if (version === 3) {
    const flags = c.u8();
    if (flags & ~0x3f) damaged(`${c.what}: fill value flags ${flags}`);
    if (flags & 0x20) {
      const size = c.u32();
      return { value: size > 0 ? c.take(size) : null };
    }
    return { value: null };
  }
  damaged(`${c.what}: fill value version ${version}`);
}

export function decodeOldFillValue(c: Cursor): FillValue {
  const size = c.u32();
  return { value: size > 0 ? c.take(size) : null };
}

// ---------------------------------------------------------------------------
// Layout

export type ChunkIndex =
  | { type: "btree1"; addr: number }
  | { type: "single"; addr: number; filteredSize: number | null }
  | { type: "implicit"; addr: number }
  | { type: "fixedArray" | "extensibleArray" | "btree2"; addr: number };

export type Layout =
  | { kind: "compact"; data: Uint8Array; dataAddr: number; version: number }
  | { kind: "contiguous"; addr: number; size: number; version: number; addrPos: number }
  | { kind: "chunked"; dims: number[]; elementSize: number; index: ChunkIndex; version: number }
  | { kind: "virtual"; version: number };

export function decodeLayout(c: Cursor): Layout {
  const version = c.u8();
  if (version < 1 || version > 4) damaged(`${c.what}: data layout version ${version}`);
  if (version < 3) unsupported(`${c.what}: data layout version ${version}`);
  const cls = c.u8();
  switch (cls) {
    case 0: {
      const size = c.u16();
      const dataAddr = c.addr + c.pos;
      return { kind: "compact", data: c.take(size), dataAddr, version };
    }
    case 1: {
      const addrPos = c.addr + c.pos;
      const addr = c.address();
      const size = c.u64();
      return { kind: "contiguous", addr, size, version, addrPos };
    }
    case 2: {
      if (version === 3) {
        const rank = c.u8();
        if (rank < 2 || rank > 33) damaged(`${c.what}: chunked layout of dimensionality ${rank}`);
        const addr = c.address();
        const dims: number[] = [];
        for (let i = 0; i < rank; i++) dims.push(c.u32());
        const elementSize = dims.pop()!;
        if (dims.some((d) => d === 0) || elementSize === 0) damaged(`${c.what}: a chunk dimension of 0`);
        return { kind: "chunked", dims, elementSize, index: { type: "btree1", addr }, version };
      }
      const flags = c.u8();
      if (flags & ~0x03) damaged(`${c.what}: chunked layout flags ${flags}`);
      const rank = c.u8();
      if (rank < 2 || rank > 33) damaged(`${c.what}: chunked layout of dimensionality ${rank}`);
      const encoded = c.u8();
      if (encoded < 1 || encoded > 8) damaged(`${c.what}: chunk dimensions encoded in ${encoded} bytes`);
      const dims: number[] = [];
      for (let i = 0; i < rank; i++) dims.push(c.uint(encoded));
      const elementSize = dims.pop()!;
      if (dims.some((d) => d === 0) || elementSize === 0) damaged(`${c.what}: a chunk dimension of 0`);
      const indexType = c.u8();
      let index: ChunkIndex;
      switch (indexType) {
        case 1: {
          let filteredSize: number | null = null;
          if (flags & 0x02) {
            filteredSize = c.u64();
            c.u32();
          }
          index = { type: "single", addr: c.address(), filteredSize };
          break;
        }
        case 2:
          index = { type: "implicit", addr: c.address() };
          break;
        case 3:
          c.skip(1);
          index = { type: "fixedArray", addr: c.address() };
          break;
        case 4:
          c.skip(5);
          index = { type: "extensibleArray", addr: c.address() };
          break;
        case 5:
          c.skip(6);
          index = { type: "btree2", addr: c.address() };
          break;
        default:
          damaged(`${c.what}: chunk index type ${indexType}`);
      }
      return { kind: "chunked", dims, elementSize, index, version };
    }
    case 3:
      if (version < 4) damaged(`${c.what}: a virtual layout in layout version ${version}`);
      return { kind: "virtual", version };
    default:
      damaged(`${c.what}: data layout class ${cls}`);
  }
}

// ---------------------------------------------------------------------------
// Filter pipeline

export interface Filter {
  id: number;
  /** Optional filter (bit 0 of the flags): failures are skipped. */
  optional: boolean;
  values: number[];
}

export function decodeFilters(c: Cursor): Filter[] {
  const version = c.u8();
  if (version !== 1 && version !== 2) damaged(`${c.what}: filter pipeline version ${version}`);
  const count = c.u8();
  if (count > 32) damaged(`${c.what}: a pipeline of ${count} filters`);
  if (version === 1) c.skip(6);
  const filters: Filter[] = [];
  for (let i = 0; i < count; i++) {
    const id = c.u16();
    const nameLength = version === 1 || id >= 256 ? c.u16() : 0;
    const flags = c.u16();
    const nvalues = c.u16();
    if (version === 1) c.skip(Math.ceil(nameLength / 8) * 8);
    else c.skip(nameLength);
    const values: number[] = [];
    for (let k = 0; k < nvalues; k++) values.push(c.u32());
    if (version === 1 && nvalues % 2 === 1) c.skip(4);
    filters.push({ id, optional: (flags & 0x01) !== 0, values });
  }
  return filters;
}

// ---------------------------------------------------------------------------
// Links (new-style groups)

export type LinkTarget = { type: "hard"; addr: number } | { type: "soft" } | { type: "external" } | { type: "user"; code: number };

export interface Link {
  name: Uint8Array;
  target: LinkTarget;
  /** Creation index, or -1 when not stored. */
  creationOrder: number;
}

export function decodeLink(c: Cursor): Link {
  const version = c.u8();
  if (version !== 1) damaged(`${c.what}: link message version ${version}`);
  const flags = c.u8();
  if (flags & ~0x1f) damaged(`${c.what}: link flags ${flags}`);
  const type = flags & 0x08 ? c.u8() : 0;
  let creationOrder = -1;
  if (flags & 0x04) {
    const lo = c.u32();
    const hi = c.u32();
    creationOrder = hi * 2 ** 32 + lo;
  }
  if (flags & 0x10) {
    const cset = c.u8();
    if (cset > 1) damaged(`${c.what}: link name character set ${cset}`);
  }
  const nameLength = c.uint(1 << (flags & 0x03));
  if (nameLength === 0) damaged(`${c.what}: a link with an empty name`);
  const name = c.take(nameLength);
  let target: LinkTarget;
  if (type === 0) target = { type: "hard", addr: c.address() };
  else if (type === 1) {
    c.skip(c.u16());
    target = { type: "soft" };
  } else if (type === 64) {
    c.skip(c.u16());
    target = { type: "external" };
  } else if (type >= 65) {
    c.skip(c.u16());
    target = { type: "user", code: type };
  } else damaged(`${c.what}: link type ${type}`);
  return { name, target, creationOrder };
}

export interface LinkInfo {
  orderTracked: boolean;
  orderIndexed: boolean;
  heap: number;
  nameIndex: number;
  orderIndex: number;
}

export function decodeLinkInfo(c: Cursor): LinkInfo {
  const version = c.u8();
  if (version !== 0) damaged(`${c.what}: link info version ${version}`);
  const flags = c.u8();
  if (flags & ~0x03) damaged(`${c.what}: link info flags ${flags}`);
  if (flags & 0x01) c.skip(8); // maximum creation index
  const heap = c.address();
  const nameIndex = c.address();
  const orderIndex = flags & 0x02 ? c.address() : UNDEF;
  return { orderTracked: (flags & 0x01) !== 0, orderIndexed: (flags & 0x02) !== 0, heap, nameIndex, orderIndex };
}

export function checkGroupInfo(c: Cursor): void {
  const version = c.u8();
  if (version !== 0) damaged(`${c.what}: group info version ${version}`);
  const flags = c.u8();
  if (flags & ~0x03) damaged(`${c.what}: group info flags ${flags}`);
  if (flags & 0x01) c.skip(4);
  if (flags & 0x02) c.skip(4);
}

// ---------------------------------------------------------------------------
// Attribute info (dense attribute storage)

export interface AttributeInfo {
  orderTracked: boolean;
  orderIndexed: boolean;
  heap: number;
  nameIndex: number;
  orderIndex: number;
}

export function decodeAttributeInfo(c: Cursor): AttributeInfo {
  const version = c.u8();
  if (version !== 0) damaged(`${c.what}: attribute info version ${version}`);
  const flags = c.u8();
  if (flags & ~0x03) damaged(`${c.what}: attribute info flags ${flags}`);
  if (flags & 0x01) c.skip(2); // maximum creation index
  const heap = c.address();
  const nameIndex = c.address();
  const orderIndex = flags & 0x02 ? c.address() : UNDEF;
  return { orderTracked: (flags & 0x01) !== 0, orderIndexed: (flags & 0x02) !== 0, heap, nameIndex, orderIndex };
}

// ---------------------------------------------------------------------------
// Small messages, checked as libhdf5 decodes them

export function checkModificationTime(c: Cursor): void {
  if (c.u8() !== 1) damaged(`${c.what}: modification time version`);
  c.skip(7);
}

export function checkOldModificationTime(c: Cursor): void {
  const digits = c.take(14);
  for (const d of digits) if (d < 0x30 || d > 0x39) damaged(`${c.what}: malformed modification time`);
}

export function checkComment(c: Cursor): void {
  if (!c.bytes.includes(0)) damaged(`${c.what}: a comment that is not terminated`);
}

export function checkRefCount(c: Cursor): void {
  if (c.u8() !== 0) damaged(`${c.what}: reference count version`);
  c.u32();
}

/** Symbol table message: [B-tree address, local heap address]. */
export function decodeSymbolTable(c: Cursor): [number, number] {
  return [c.address(), c.address()];
}
