/**
 * Encoding what a rewrite changes: version 1 object headers, attribute
 * messages holding one variable-length UTF-8 string (as h5py writes a
 * Python str), and the record of unused space a rewrite keeps in the root
 * group's header.
 * @internal
 * @module
 */
import { alignUp } from "../bytes.js";
import { damaged } from "../errors.js";
import { type Dataspace, type Datatype, decodeDataspace, decodeDatatype, TYPE_CLASS } from "../messages.js";
import { Cursor } from "../bytes.js";
import { Message } from "../objectHeader.js";
import { type HeapId, type Output, writeU64 } from "./output.js";

/**
 * One message of a header to write: a new one (its type, flags and body,
 * padded to 8 bytes), or one of a version 1 header read, copied as it is
 * (the {@link Message} itself; runs of them that lie one after the other
 * are copied at once) or with a heap ID written at `patch.at` of its body
 * (a new value of an attribute).
 */
export type OutMessage = Message | { type: number; flags: number; body: Buffer } | { from: Message; patch: { at: number; id: HeapId } };

/** The message read that `m` copies, or undefined for a new one. */
function source(m: OutMessage): Message | undefined {
  return m instanceof Message ? m : "from" in m ? m.from : undefined;
}

/**
 * Places a version 1 object header of one chunk holding `messages` in
 * `out` and returns its address: the 16-byte prefix (version 1, message
 * count, reference count, chunk size) and the messages, as libhdf5 reads
 * them.
 */
export function encodeHeaderV1(messages: readonly OutMessage[], refcount: number, out: Output): number {
  let size = 0;
  for (const m of messages) {
    const from = source(m);
    size += from ? 8 + from.size : 8 + alignUp((m as { body: Buffer }).body.length, 8);
  }
  if (messages.length > 0xffff) damaged(`an object header of ${messages.length} messages`);
  const b = out.reserve(16 + size);
  const at = out.lastAt;
  b[0] = 1;
  b.writeUInt16LE(messages.length, 2);
  b.writeUInt32LE(refcount, 4);
  b.writeUInt32LE(size, 8);
  let p = 16;
  for (let i = 0; i < messages.length; ) {
    const m = messages[i]!;
    const from = source(m);
    if (from) {
      // A run of copied messages, adjacent in the chunk they were read from.
      const bytes = from.bytes;
      const start = from.start - 8;
      let end = from.start + from.size;
      let j = i + 1;
      for (; j < messages.length; j++) {
        const next = source(messages[j]!);
        if (!next || next.bytes !== bytes || next.start - 8 !== end) break;
        end = next.start + next.size;
      }
      bytes.copy(b, p, start, end);
      for (let k = i; k < j; k++) {
        const mk = messages[k]!;
        if (!(mk instanceof Message) && "from" in mk) writeHeapId(b, p + (mk.from.start - start) + mk.patch.at, mk.patch.id);
      }
      p += end - start;
      i = j;
      continue;
    }
    const fresh = m as { type: number; flags: number; body: Buffer };
    const n = alignUp(fresh.body.length, 8);
    if (n > 0xffff) damaged(`an object header message of ${n} bytes`);
    b.writeUInt16LE(fresh.type, p);
    b.writeUInt16LE(n, p + 2);
    b[p + 4] = fresh.flags;
    fresh.body.copy(b, p + 8);
    p += 8 + n;
    i++;
  }
  return at;
}

/** Where the parts of an attribute message lie in its body. */
export interface AttributeLayout {
  version: number;
  name: string;
  /** Offsets in the body. */
  typeAt: number;
  typeSize: number;
  spaceAt: number;
  spaceSize: number;
  dataAt: number;
  type: Datatype;
  space: Dataspace;
}

/** Whether `bytes[at, at + key.length)` holds `key`. */
function holds(bytes: Uint8Array, at: number, key: Uint8Array): boolean {
  for (let i = 0; i < key.length; i++) if (bytes[at + i] !== key[i]) return false;
  return true;
}

/**
 * Parses an attribute message body (versions 1 to 3) far enough to find
 * its parts; damage when they do not fit. `knownName`: its name, already
 * found in place (not decoded again).
 */
export function attributeLayout(bytes: Buffer, start: number, size: number, what: string, knownName?: string): AttributeLayout {
  if (size < 8) damaged(`attribute message of ${what}: too short`);
  const version = bytes[start]!;
  if (version < 1 || version > 3) damaged(`attribute message of ${what}: version ${version}`);
  const padded = version === 1;
  const nameSize = bytes.readUInt16LE(start + 2);
  const typeSize = bytes.readUInt16LE(start + 4);
  const spaceSize = bytes.readUInt16LE(start + 6);
  const nameAt = version === 3 ? 9 : 8;
  const typeAt = nameAt + (padded ? alignUp(nameSize, 8) : nameSize);
  const spaceAt = typeAt + (padded ? alignUp(typeSize, 8) : typeSize);
  const dataAt = spaceAt + (padded ? alignUp(spaceSize, 8) : spaceSize);
  if (nameSize === 0 || dataAt > size || bytes[start + nameAt + nameSize - 1] !== 0) damaged(`attribute message of ${what}: its parts do not fit`);
  const name = knownName ?? bytes.toString("utf8", start + nameAt, start + nameAt + nameSize - 1);
  const t = start + typeAt;
  const sp = start + spaceAt;
  const canonical = typeSize === VLEN_UTF8.length && spaceSize === SCALAR_V1.length && holds(bytes, t, VLEN_UTF8) && holds(bytes, sp, SCALAR_V1);
  const type = canonical ? VLEN_UTF8_TYPE : decodeDatatype(new Cursor(bytes.subarray(t, t + typeSize), 0, `datatype of an attribute of ${what}`));
  const space = canonical ? SCALAR_SPACE : decodeDataspace(new Cursor(bytes.subarray(sp, sp + spaceSize), 0, `dataspace of an attribute of ${what}`));
  return { version, name, typeAt, typeSize, spaceAt, spaceSize, dataAt, type, space };
}

/** Whether an attribute (or dataset) of this type may hold addresses of other structures (variable-length data, references), directly or in members. */
export function mayHoldAddresses(type: Datatype): boolean {
  return type.kind === "vlenString" || (type.kind === "other" && [TYPE_CLASS.REFERENCE, TYPE_CLASS.VLEN, TYPE_CLASS.COMPOUND, TYPE_CLASS.ARRAY].includes(type.cls as 6));
}

/** Whether the attribute holds one variable-length string (`utf8`: as h5py writes a str), its heap ID within the body of `bodyLength` bytes. */
export function isScalarVlenString(a: AttributeLayout, bodyLength: number, utf8: boolean): boolean {
  return a.type.kind === "vlenString" && a.space.kind === "scalar" && (!utf8 || a.type.cset === 1) && a.dataAt + 16 <= bodyLength;
}

/** Writes a heap ID (length, collection address, object index) at `at`. */
export function writeHeapId(b: Uint8Array, at: number, id: HeapId): void {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  v.setUint32(at, id.length, true);
  v.setUint32(at + 4, id.collection % 2 ** 32, true);
  v.setUint32(at + 8, Math.floor(id.collection / 2 ** 32), true);
  v.setUint32(at + 12, id.index, true);
}


/** Reads a heap ID at `at`. */
export function readHeapId(b: Uint8Array, at: number): HeapId {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { length: v.getUint32(at, true), collection: v.getUint32(at + 8, true) * 2 ** 32 + v.getUint32(at + 4, true), index: v.getUint32(at + 12, true) };
}


/** The datatype libhdf5 writes for h5py's str: a variable-length string, NUL-terminated, UTF-8, of 8-bit characters. */
const VLEN_UTF8 = Buffer.from("1901010010000000" + "1000000001000000" + "00000800", "hex");
/** A scalar dataspace, version 1. */
const SCALAR_V1 = Buffer.from("0100000000000000", "hex");
/** The two above, decoded. */
const VLEN_UTF8_TYPE = decodeDatatype(new Cursor(VLEN_UTF8, 0, "h5py's str datatype"));
const SCALAR_SPACE = decodeDataspace(new Cursor(SCALAR_V1, 0, "a scalar dataspace"));

/**
 * A new attribute message holding one variable-length UTF-8 string at `id`,
 * byte for byte what libhdf5 writes for h5py's `attrs[name] = str`: version
 * 1 (version 3, with the name's encoding, for a name that is not ASCII).
 */
export function stringAttributeMessage(name: string, id: HeapId): Buffer {
  const nameBytes = Buffer.from(name, "utf8");
  const ascii = nameBytes.length === name.length;
  const nameSize = nameBytes.length + 1;
  if (nameSize > 0xffff) damaged(`an attribute name of ${nameSize} bytes`);
  const version = ascii ? 1 : 3;
  const pad = (n: number) => (version === 1 ? alignUp(n, 8) : n);
  const nameAt = version === 3 ? 9 : 8;
  const typeAt = nameAt + pad(nameSize);
  const spaceAt = typeAt + pad(VLEN_UTF8.length);
  const dataAt = spaceAt + pad(SCALAR_V1.length);
  const body = Buffer.alloc(alignUp(dataAt + 16, 8));
  body[0] = version;
  body.writeUInt16LE(nameSize, 2);
  body.writeUInt16LE(VLEN_UTF8.length, 4);
  body.writeUInt16LE(SCALAR_V1.length, 6);
  if (version === 3) body[8] = 1; // UTF-8 name
  nameBytes.copy(body, nameAt);
  VLEN_UTF8.copy(body, typeAt);
  SCALAR_V1.copy(body, spaceAt);
  writeHeapId(body, dataAt, id);
  return body;
}

// ---------------------------------------------------------------------------
// The record of unused space

/**
 * Bytes a rewrite left unused (structures replaced by newer copies),
 * recorded in a null message of the root group's object header: libhdf5,
 * h5py and offspect skip null messages, and a libhdf5 writer that reuses
 * the space only drops the record (the count starts again from zero).
 */
const MAGIC = Buffer.from("ofcfspc1", "latin1");
const RECORD_BYTES = 16;

/** A null message body holding the record. */
export function spaceRecord(unused: number): Buffer {
  const b = Buffer.alloc(RECORD_BYTES);
  MAGIC.copy(b, 0);
  writeU64(b, 8, unused);
  return b;
}

/** The unused bytes a null message body records, or undefined when it is not a record. */
export function readSpaceRecord(body: Buffer): number | undefined {
  if (body.length < RECORD_BYTES || !body.subarray(0, 8).equals(MAGIC)) return undefined;
  return body.readUInt32LE(8) + body.readUInt32LE(12) * 2 ** 32;
}
