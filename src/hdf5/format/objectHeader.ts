/**
 * Object headers, version 1 and version 2 ("OHDR" with "OCHK" continuation
 * chunks and checksums): the list of messages that describe one object.
 * @internal
 * @module
 */
import { Cursor, hasSignature, UNDEF } from "./bytes.js";
import { checksumMatches } from "./checksum.js";
import { damaged, unsupported } from "./errors.js";
import type { ByteReader } from "./reader.js";

export const MSG = {
  NIL: 0x00,
  DATASPACE: 0x01,
  LINK_INFO: 0x02,
  DATATYPE: 0x03,
  FILL_OLD: 0x04,
  FILL: 0x05,
  LINK: 0x06,
  EXTERNAL: 0x07,
  LAYOUT: 0x08,
  BOGUS: 0x09,
  GROUP_INFO: 0x0a,
  FILTERS: 0x0b,
  ATTRIBUTE: 0x0c,
  COMMENT: 0x0d,
  MTIME_OLD: 0x0e,
  SHARED_TABLE: 0x0f,
  CONTINUATION: 0x10,
  SYMBOL_TABLE: 0x11,
  MTIME: 0x12,
  BTREE_K: 0x13,
  DRIVER_INFO: 0x14,
  ATTRIBUTE_INFO: 0x15,
  REFCOUNT: 0x16,
  FILE_SPACE: 0x17,
} as const;

/** Message flag: the message is shared (stored elsewhere: a committed datatype, a shared message table). */
export const FLAG_SHARED = 0x02;
/** Message flag: a library that does not know the message's type must fail. */
const FLAG_FAIL_IF_UNKNOWN = 0x80;
/** Messages that can be shared (libhdf5's H5O_SHARE_IS_SHARABLE classes). */
const SHAREABLE = new Set<number>([MSG.DATASPACE, MSG.DATATYPE, MSG.FILL, MSG.FILTERS, MSG.ATTRIBUTE]);

/**
 * One message of an object header: its body is `bytes[start, start + size)`
 * of the chunk read (`body` makes a view of it on first use: a header has
 * dozens of attribute messages, which the attribute decoder reads in place).
 */
export class Message {
  readonly type: number;
  readonly flags: number;
  /** The chunk the message lies in. */
  readonly bytes: Buffer;
  /** Offset of the body in `bytes`, and its length. */
  readonly start: number;
  readonly size: number;
  /** File address of the body's first byte. */
  readonly addr: number;
  /** Creation index (version 2 headers that track attribute creation order), else -1. */
  readonly creationOrder: number;
  #body: Buffer | undefined;

  constructor(type: number, flags: number, bytes: Buffer, start: number, size: number, addr: number, creationOrder: number) {
    this.type = type;
    this.flags = flags;
    this.bytes = bytes;
    this.start = start;
    this.size = size;
    this.addr = addr;
    this.creationOrder = creationOrder;
  }

  /** The message's body. */
  get body(): Buffer {
    return (this.#body ??= this.bytes.subarray(this.start, this.start + this.size));
  }
}

export interface ObjectHeader {
  addr: number;
  version: 1 | 2;
  messages: Message[];
  /** Version 2 header flags: attribute creation order tracked / indexed. */
  attrOrderTracked: boolean;
  attrOrderIndexed: boolean;
  /** Every chunk of the header: [address, length]. */
  chunks: [number, number][];
  /** The object's reference count (version 1 headers; version 2 keep it in a message, 1 when absent). */
  refcount: number;
  /** Version 1: the messages of each chunk as read, chunk by chunk (for a writer that copies them without visiting each message). */
  chunkBytes?: Buffer[];
}

/** Far beyond what any real header holds; a longer continuation chain is damage. */
const MAX_CHUNKS = 4096;
const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
/** First read of a header: enough for the longest prefix (version 2 with times and phase change values). */
const PREFIX_READ = 40;

export interface HeaderOptions {
  /**
   * Leave attribute messages out of `messages` (they are still counted,
   * and a shared one is still declined): for callers that do not read the
   * object's attributes.
   */
  skipAttributes?: boolean;
}

/**
 * Reads and checks the object header at `addr`; `what` names the object
 * ("/origin/traces/3") in messages.
 */
export function readObjectHeader(reader: ByteReader, addr: number, what: string, options: HeaderOptions = {}): ObjectHeader {
  const skip = options.skipAttributes === true;
  if (addr === UNDEF) damaged(`${what} has no object header address`);
  const first = reader.readUpTo(addr, PREFIX_READ, `object header of ${what}`);
  if (hasSignature(first, 0, "OHDR")) return readV2(reader, addr, first, what, skip);
  if (first[0] === 1) return readV1(reader, addr, first, what, skip);
  damaged(`object header of ${what} at address ${addr} has version ${first[0]}`);
}

/** Whether a message is an attribute left out by {@link HeaderOptions.skipAttributes}. */
function skipped(skip: boolean, type: number, flags: number): boolean {
  return skip && type === MSG.ATTRIBUTE && (flags & FLAG_SHARED) === 0;
}

function readV1(reader: ByteReader, addr: number, first: Buffer, what: string, skip: boolean): ObjectHeader {
  if (first.length < 16) damaged(`object header of ${what} at address ${addr} runs past the end of the file`);
  const c = new Cursor(first, addr, `object header of ${what}`, 1);
  if (c.u8() !== 0) damaged(`object header of ${what} at address ${addr}: reserved byte set`);
  c.u16(); // message count: not checked, as libhdf5 without strict format checks reads whatever the chunks hold
  const refcount = c.u32();
  const size0 = c.u32();
  const header: ObjectHeader = { addr, version: 1, messages: [], attrOrderTracked: false, attrOrderIndexed: false, chunks: [], refcount, chunkBytes: [] };
  const pending: [number, number][] = [[addr + 16, size0]];
  const seen = new Set<number>();
  for (let i = 0; i < pending.length; i++) {
    if (i >= MAX_CHUNKS) damaged(`object header of ${what} has more than ${MAX_CHUNKS} chunks`);
    const [at, length] = pending[i]!;
    if (seen.has(at)) damaged(`object header of ${what}: its continuation chunks form a cycle`);
    seen.add(at);
    if (length > MAX_CHUNK_BYTES) damaged(`object header chunk of ${what} declares ${length} bytes`);
    const bytes = reader.read(at, length, `object header chunk of ${what}`);
    header.chunks.push([i === 0 ? addr : at, i === 0 ? 16 + length : length]);
    header.chunkBytes!.push(bytes);
    let p = 0;
    while (p < length) {
      if (length - p < 8) damaged(`object header of ${what}: a message runs past its chunk at address ${at}`);
      const type = bytes[p]! | (bytes[p + 1]! << 8);
      const size = bytes[p + 2]! | (bytes[p + 3]! << 8);
      const flags = bytes[p + 4]!;
      const body = p + 8;
      if (size > length - body) damaged(`object header of ${what}: a message runs past its chunk at address ${at}`);
      if (size % 8 !== 0) damaged(`object header of ${what}: a message of ${size} bytes is not aligned to 8 bytes`);
      if (!skipped(skip, type, flags)) addMessage(header, pending, new Message(type, flags, bytes, body, size, at + body, -1), what);
      p = body + size;
    }
  }
  return header;
}

function readV2(reader: ByteReader, addr: number, first: Buffer, what: string, skip: boolean): ObjectHeader {
  const c = new Cursor(first, addr, `object header of ${what}`, 4);
  const version = c.u8();
  if (version !== 2) damaged(`object header of ${what} at address ${addr} has version ${version}`);
  const flags = c.u8();
  if (flags & ~0x3f) damaged(`object header of ${what} at address ${addr} has unknown flags ${flags}`);
  if (flags & 0x20) c.skip(16); // access, modification, change and birth times
  if (flags & 0x10) c.skip(4); // attribute storage phase change values
  const size0 = c.uint(1 << (flags & 0x03));
  const prefix = c.pos;
  const tracked = (flags & 0x04) !== 0;
  const header: ObjectHeader = { addr, version: 2, messages: [], attrOrderTracked: tracked, attrOrderIndexed: (flags & 0x08) !== 0, chunks: [], refcount: 1 };
  if (size0 > MAX_CHUNK_BYTES) damaged(`object header of ${what} declares ${size0} bytes`);
  const total0 = prefix + size0 + 4;
  const chunk0 = reader.read(addr, total0, `object header of ${what}`);
  if (!checksumMatches(chunk0, 0, total0 - 4)) damaged(`object header of ${what} at address ${addr}: checksum mismatch`);
  header.chunks.push([addr, total0]);
  const pending: [number, number][] = [];
  messagesV2(header, pending, chunk0, prefix, total0 - 4, addr, tracked, what, skip);
  const seen = new Set<number>([addr]);
  for (let i = 0; i < pending.length; i++) {
    if (i >= MAX_CHUNKS) damaged(`object header of ${what} has more than ${MAX_CHUNKS} chunks`);
    const [at, length] = pending[i]!;
    if (seen.has(at)) damaged(`object header of ${what}: its continuation chunks form a cycle`);
    seen.add(at);
    if (length > MAX_CHUNK_BYTES || length < 8) damaged(`object header continuation chunk of ${what} declares ${length} bytes`);
    const bytes = reader.read(at, length, `object header continuation chunk of ${what}`);
    if (!hasSignature(bytes, 0, "OCHK")) damaged(`no object header continuation chunk (signature "OCHK") of ${what} at address ${at}`);
    if (!checksumMatches(bytes, 0, length - 4)) damaged(`object header continuation chunk of ${what} at address ${at}: checksum mismatch`);
    header.chunks.push([at, length]);
    messagesV2(header, pending, bytes, 4, length - 4, at, tracked, what, skip);
  }
  return header;
}

function messagesV2(
  header: ObjectHeader,
  pending: [number, number][],
  bytes: Buffer,
  start: number,
  end: number,
  at: number,
  tracked: boolean,
  what: string,
  skip: boolean,
): void {
  const envelope = tracked ? 6 : 4;
  let p = start;
  while (end - p >= envelope) {
    const type = bytes[p]!;
    const size = bytes[p + 1]! | (bytes[p + 2]! << 8);
    const flags = bytes[p + 3]!;
    const order = tracked ? bytes[p + 4]! | (bytes[p + 5]! << 8) : -1;
    const body = p + envelope;
    if (size > end - body) damaged(`object header of ${what}: a message runs past its chunk at address ${at}`);
    if (!skipped(skip, type, flags)) addMessage(header, pending, new Message(type, flags, bytes, body, size, at + body, order), what);
    p = body + size;
  }
  // What is left is the gap, shorter than a message's envelope.
}

function addMessage(header: ObjectHeader, pending: [number, number][], m: Message, what: string): void {
  const { type, flags } = m;
  // A message type libhdf5 1.10 does not know: it is kept (readers ignore it, as libhdf5 does),
  // unless it says "fail if unknown".
  if (type > MSG.FILE_SPACE && flags & FLAG_FAIL_IF_UNKNOWN) unsupported(`object header message of type ${type} in ${what}, marked "fail if unknown"`);
  if (flags & FLAG_SHARED && !SHAREABLE.has(type)) damaged(`a ${messageName(type)} message of ${what} flagged as shared, which it cannot be`);
  if (type === MSG.CONTINUATION) {
    const c = new Cursor(m.body, m.addr, `continuation message of ${what}`);
    const next = c.address();
    const length = c.u64();
    if (next === UNDEF || length === 0) damaged(`object header of ${what}: a continuation to nowhere`);
    pending.push([next, length]);
  }
  header.messages.push(m);
}

const NAMES: string[] = [];
for (const [name, value] of Object.entries(MSG)) NAMES[value] = name.toLowerCase().replace(/_/g, " ");

/** A message type's name, for messages. */
export function messageName(type: number): string {
  return NAMES[type] ?? `type ${type}`;
}
