/**
 * Attributes as text: the one decoder of attribute bytes in the project.
 * An attribute must hold one string (variable-length or fixed-length, ASCII
 * or UTF-8) of UTF-8 text, as the native reader requires; the order is
 * h5py's: creation order when the object tracks it, else increasing
 * byte-wise name order.
 *
 * Reading attributes is most of the work of reading a CacheFile (29 per
 * trace), so the decoder reads fields in place and reuses the decoded form
 * of datatypes and dataspaces it has seen (every h5py str attribute has the
 * same two).
 * @internal
 * @module
 */
import { isUtf8 } from "node:buffer";
import { readBtree2 } from "./btree2.js";
import { attributeNameAt, NameSet } from "./nameSet.js";
import { Cursor, readUint, UNDEF } from "./bytes.js";
import { damaged, FormatValueError, unsupported } from "./errors.js";
import { FractalHeap } from "./fractalHeap.js";
import type { GlobalHeapCollection } from "./heaps.js";
import { className, type Dataspace, type Datatype, decodeDataspace, decodeDatatype } from "./messages.js";
import type { ObjectInfo } from "./object.js";
import type { ByteReader } from "./reader.js";

/** One attribute as the module reads it. */
export interface StringAttribute {
  name: string;
  value: string;
  /** Stored as h5py stores a str: a scalar variable-length UTF-8 string. */
  standard: boolean;
  /** File address of its heap ID's collection address (variable-length values in an object header), else -1. */
  heapIdPos: number;
  /** Variable-length values: the collection address in its heap ID (0 for a null value), else -1. */
  heapAddr: number;
}

interface Decoded extends StringAttribute {
  creationOrder: number;
  ascii: boolean;
  /** The name's bytes are `body[nameAt, nameEnd)` of the buffer the message lies in (a view is made only to sort names that are not all ASCII). */
  body: Buffer;
  nameAt: number;
  nameEnd: number;
}

function nameBytes(a: Decoded): Buffer {
  return a.body.subarray(a.nameAt, a.nameEnd);
}

function quoted(s: string): string {
  return `'${s}'`;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Whether the text the last {@link textOf} returned was ASCII. */
let lastAscii = true;

/** Text of `bytes[start, end)` when it is UTF-8, else undefined; {@link lastAscii} tells whether it was ASCII. */
function textOf(bytes: Buffer, start: number, end: number): string | undefined {
  for (let i = start; i < end; i++) {
    if (bytes[i]! >= 0x80) {
      lastAscii = false;
      return isUtf8(bytes.subarray(start, end)) ? bytes.toString("utf8", start, end) : undefined;
    }
  }
  lastAscii = true;
  return bytes.toString("latin1", start, end);
}

/** Positions of an object's attribute list whose last name and value {@link recentText} keeps. */
const RECENT_SLOTS = 64;
/** Longest text {@link recentText} keeps. */
const RECENT_BYTES = 64;

/**
 * The text of the name or value at each position of the last attribute
 * list decoded, with its bytes: the objects of a file mostly carry the same
 * names in the same order, and many the same values, so the bytes at a
 * position are compared with the last ones there and their string given
 * again when equal (the same string object, whose hash V8 knows) instead of
 * decoding a new one.
 */
const recent = {
  bytes: new Uint8Array(2 * RECENT_SLOTS * RECENT_BYTES),
  lengths: new Int32Array(2 * RECENT_SLOTS).fill(-1),
  texts: new Array<string>(2 * RECENT_SLOTS),
  ascii: new Array<boolean>(2 * RECENT_SLOTS),
};

/** The text `slot` of {@link recent} holds when it last held the same bytes as `bytes[start, end)`, else undefined. */
function recentHit(bytes: Buffer, start: number, end: number, slot: number): string | undefined {
  const n = end - start;
  if (slot >= 2 * RECENT_SLOTS || recent.lengths[slot] !== n) return undefined;
  const kept = recent.bytes;
  const at = slot * RECENT_BYTES;
  for (let i = 0; i < n; i++) if (kept[at + i] !== bytes[start + i]) return undefined;
  lastAscii = recent.ascii[slot]!;
  return recent.texts[slot];
}

/** Keeps `text`, decoded from `bytes[start, end)` by {@link textOf}, in `slot` of {@link recent}. */
function remember(bytes: Buffer, start: number, end: number, slot: number, text: string): void {
  const n = end - start;
  if (slot >= 2 * RECENT_SLOTS || n > RECENT_BYTES) return;
  const kept = recent.bytes;
  const at = slot * RECENT_BYTES;
  for (let i = 0; i < n; i++) kept[at + i] = bytes[start + i]!;
  recent.lengths[slot] = n;
  recent.texts[slot] = text;
  recent.ascii[slot] = lastAscii;
}

/** {@link textOf}, given again from {@link recent} when `slot` held the same bytes last. */
function recentText(bytes: Buffer, start: number, end: number, slot: number): string | undefined {
  const hit = recentHit(bytes, start, end, slot);
  if (hit !== undefined) return hit;
  const text = textOf(bytes, start, end);
  if (text !== undefined) remember(bytes, start, end, slot, text);
  return text;
}

/** Decoded datatypes and dataspaces by their encoded bytes (a few distinct ones per file). */
class Memo<T> {
  readonly #keys: Buffer[] = [];
  readonly #values: T[] = [];

  /** The value decoded earlier from the same bytes, or undefined. */
  find(bytes: Buffer, start: number, end: number): T | undefined {
    const n = end - start;
    for (let k = 0; k < this.#keys.length; k++) {
      const key = this.#keys[k]!;
      if (key.length !== n) continue;
      let same = true;
      for (let i = 0; i < n; i++) {
        if (key[i] !== bytes[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.#values[k]!;
    }
    return undefined;
  }

  add(bytes: Buffer, start: number, end: number, value: T): T {
    if (this.#keys.length >= 8) {
      this.#keys.shift();
      this.#values.shift();
    }
    this.#keys.push(Buffer.from(bytes.subarray(start, end)));
    this.#values.push(value);
    return value;
  }
}

const types = new Memo<Datatype>();
const spaces = new Memo<Dataspace>();

/**
 * Every attribute of an object, decoded as strings in h5py's order.
 * @throws FormatValueError (EATTRTYPE, EATTRSHAPE, EATTRUTF8) for an attribute that is not one UTF-8 string
 */
export function readStringAttributes(
  reader: ByteReader,
  info: ObjectInfo,
  what: string,
  collection: (addr: number) => GlobalHeapCollection,
  only?: ReadonlySet<string>,
): StringAttribute[] {
  if (info.attributesDeclined) unsupported(info.attributesDeclined);
  const out: Decoded[] = [];
  const wanted = only && NameSet.of([...only]);
  const isWanted = (buf: Buffer, start: number, n: number) => {
    const at = attributeNameAt(buf, start, n);
    return at === undefined || wanted!.find(buf, at[0], at[1]) !== undefined;
  };
  for (const m of info.attributes) {
    if (wanted && !isWanted(m.bytes, m.start, m.size)) continue;
    out.push(decodeAttribute(m.bytes, m.start, m.size, m.addr, m.creationOrder, out.length, what, collection));
  }
  const dense = info.attributeInfo;
  if (dense && dense.heap !== UNDEF) {
    if (dense.nameIndex === UNDEF) damaged(`the dense attributes of ${what} have no name index`);
    const heap = new FractalHeap(reader, dense.heap, what);
    for (const record of readBtree2(reader, dense.nameIndex, 8, `the attributes of ${what}`)) {
      if (record.length < 17) damaged(`an attribute record of ${what} is too short`);
      if (record[8]! & 0x01) unsupported(`a shared attribute message in ${what}`);
      const order = readUint(record, 9, 4);
      const body = heap.object(record.subarray(0, 8));
      if (wanted && !isWanted(body, 0, body.length)) continue;
      out.push(decodeAttribute(body, 0, body.length, -1, order, out.length, what, collection));
    }
  }
  // Creation order when the header says it is tracked (what libhdf5 reports as the creation property).
  let sorted = out;
  if (info.header.attrOrderTracked) out.sort((a, b) => a.creationOrder - b.creationOrder);
  else if (allAscii(out)) sorted = byName(out);
  else out.sort((a, b) => compareBytes(nameBytes(a), nameBytes(b)));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i - 1]!.name === sorted[i]!.name) damaged(`two attributes of ${what} share the name ${sorted[i]!.name}`);
  }
  return sorted;
}

function allAscii(list: Decoded[]): boolean {
  for (let i = 0; i < list.length; i++) if (!list[i]!.ascii) return false;
  return true;
}

/** The names of the last list {@link byName} sorted, in stored order, and the order it sorted them in. */
const lastSort = { names: [] as string[], order: [] as number[] };

/**
 * ASCII-named attributes in increasing name order. The objects of a file
 * mostly store the same names in the same order: when the names are those
 * of the last list sorted, that list's order is used again.
 */
function byName(list: Decoded[]): Decoded[] {
  const n = list.length;
  const last = lastSort.names;
  let same = last.length === n;
  for (let i = 0; same && i < n; i++) same = last[i] === list[i]!.name;
  if (!same) {
    const order = list.map((_, i) => i).sort((a, b) => (list[a]!.name < list[b]!.name ? -1 : list[a]!.name > list[b]!.name ? 1 : 0));
    lastSort.names = list.map((a) => a.name);
    lastSort.order = order;
  }
  const order = lastSort.order;
  const out = new Array<Decoded>(n);
  for (let i = 0; i < n; i++) out[i] = list[order[i]!]!;
  return out;
}

function malformed(what: string, addr: number, why: string): never {
  damaged(`attribute message of ${what}${addr >= 0 ? ` at address ${addr}` : ""}: ${why}`);
}

function attributeName(name: string, what: string): string {
  return `attribute ${quoted(name)} of ${quoted(what)}`;
}

/**
 * Decodes one attribute message, `buf[start, start + n)` (versions 1 to 3):
 * name, datatype and dataspace (each padded to 8 bytes in version 1), then
 * the value.
 */
function decodeAttribute(
  buf: Buffer,
  start: number,
  n: number,
  addr: number,
  creationOrder: number,
  position: number,
  what: string,
  collection: (addr: number) => GlobalHeapCollection,
): Decoded {
  if (n < 8) malformed(what, addr, "too short");
  const stop = start + n;
  const version = buf[start]!;
  let padded = false;
  if (version === 1) {
    padded = true;
  } else if (version === 2 || version === 3) {
    const flags = buf[start + 1]!;
    if (flags & ~0x03) malformed(what, addr, `flags ${flags}`);
    if (flags !== 0) unsupported(`an attribute of ${what} with a shared datatype or dataspace`);
  } else {
    malformed(what, addr, `version ${version}`);
  }
  let p = start + 2;
  const nameSize = buf[p]! | (buf[p + 1]! << 8);
  const typeSize = buf[p + 2]! | (buf[p + 3]! << 8);
  const spaceSize = buf[p + 4]! | (buf[p + 5]! << 8);
  p += 6;
  if (version === 3) {
    if (p >= stop) malformed(what, addr, "runs past its end");
    if (buf[p]! > 1) malformed(what, addr, `name encoding ${buf[p]}`);
    p++;
  }
  const nameAt = p;
  const typeAt = nameAt + (padded ? (nameSize + 7) & ~7 : nameSize);
  const spaceAt = typeAt + (padded ? (typeSize + 7) & ~7 : typeSize);
  const dataAt = spaceAt + (padded ? (spaceSize + 7) & ~7 : spaceSize);
  if (dataAt > stop) malformed(what, addr, "runs past its end");
  const nameEnd = nameAt + nameSize - 1;
  if (nameSize === 0 || buf[nameEnd] !== 0) malformed(what, addr, "its name is not one terminated string");
  // A name the same as the last one at this position was checked then.
  let name = recentHit(buf, nameAt, nameEnd, 2 * position);
  if (name === undefined) {
    for (let i = nameAt; i < nameEnd; i++) if (buf[i] === 0) malformed(what, addr, "its name is not one terminated string");
    name = textOf(buf, nameAt, nameEnd);
    if (name === undefined) throw new FormatValueError("EATTRUTF8", `an attribute name of ${quoted(what)} is not UTF-8 text`);
    remember(buf, nameAt, nameEnd, 2 * position, name);
  }
  const ascii = lastAscii;
  const type =
    types.find(buf, typeAt, typeAt + typeSize) ??
    types.add(buf, typeAt, typeAt + typeSize, decodeDatatype(new Cursor(buf.subarray(typeAt, typeAt + typeSize), addr, `datatype of ${attributeName(name, what)}`)));
  const space =
    spaces.find(buf, spaceAt, spaceAt + spaceSize) ??
    spaces.add(buf, spaceAt, spaceAt + spaceSize, decodeDataspace(new Cursor(buf.subarray(spaceAt, spaceAt + spaceSize), addr, `dataspace of ${attributeName(name, what)}`)));
  if (type.kind !== "string" && type.kind !== "vlenString") {
    throw new FormatValueError("EATTRTYPE", `${attributeName(name, what)} holds ${className(type.cls)} data, not a string`);
  }
  if (space.kind === "null" || space.elements !== 1) {
    throw new FormatValueError("EATTRSHAPE", `${attributeName(name, what)} holds ${space.kind === "null" ? 0 : space.elements} strings, not exactly one`);
  }
  if (dataAt + type.size > stop) damaged(`${attributeName(name, what)}: its value runs past its message`);
  let value: string | undefined;
  let heapIdPos = -1;
  let heapAddr = -1;
  let standard = false;
  if (type.kind === "vlenString") {
    // Heap ID: length, collection address, object index.
    const length = readUint(buf, dataAt, 4);
    const high = readUint(buf, dataAt + 8, 4);
    const low = readUint(buf, dataAt + 4, 4);
    const collectionAddr = high === 0xffffffff && low === 0xffffffff ? UNDEF : high < 2 ** 21 ? high * 2 ** 32 + low : malformed(what, addr, "a heap address beyond 2^53");
    const index = readUint(buf, dataAt + 12, 4);
    heapIdPos = addr < 0 ? -1 : addr + (dataAt - start) + 4;
    heapAddr = collectionAddr;
    standard = type.cset === 1 && space.kind === "scalar";
    if (collectionAddr === 0) {
      value = "";
    } else {
      if (index > 0xffff) damaged(`${attributeName(name, what)}: global heap index ${index} out of range`);
      const heap = collection(collectionAddr);
      const offset = heap.offsetOf(index);
      if (index === 0 || offset < 0) damaged(`${attributeName(name, what)} refers to global heap object ${index} at address ${collectionAddr}, which does not exist`);
      if (length !== heap.sizeOf(index)) damaged(`${attributeName(name, what)}: its length ${length} differs from its global heap object's ${heap.sizeOf(index)} bytes`);
      const bytes = heap.bytes;
      let end = offset;
      const last = offset + length;
      while (end < last && bytes[end] !== 0) end++;
      value = recentText(bytes, offset, end, 2 * position + 1);
    }
  } else {
    let end = dataAt + type.size;
    if (type.pad === 2) {
      while (end > dataAt && buf[end - 1] === 0x20) end--;
    } else {
      for (let i = dataAt; i < end; i++) {
        if (buf[i] === 0) {
          end = i;
          break;
        }
      }
    }
    value = recentText(buf, dataAt, end, 2 * position + 1);
  }
  if (value === undefined) throw new FormatValueError("EATTRUTF8", `${attributeName(name, what)} holds bytes that are not UTF-8 text`);
  return { name, value, standard, heapIdPos, heapAddr, creationOrder, ascii, body: buf, nameAt, nameEnd };
}
