/**
 * The superblock (versions 0 to 3): where the file's structures are, and
 * how big its addresses are. The one superblock reader of the project.
 * @internal
 * @module
 */
import { Cursor, UNDEF } from "./bytes.js";
import { checksumMatches } from "./checksum.js";
import { damaged, FormatNotHdf5, FormatTruncated, FormatValueError, unsupported } from "./errors.js";
import type { ByteReader } from "./reader.js";

/** HDF5's format signature. */
export const SIGNATURE = Uint8Array.of(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a);

export interface Superblock {
  version: number;
  /** Absolute offset of the superblock, which is also the base of every address. */
  base: number;
  /** End of allocated space, relative to the base (the superblock stores it as an absolute offset). */
  eoa: number;
  /** Address of the root group's object header. */
  root: number;
  /** Group B-tree K values (symbol table nodes hold 2 * leafK entries, B-tree nodes 2 * internalK children). */
  groupLeafK: number;
  groupInternalK: number;
  /** Raw-data chunk B-tree K (version 1 B-trees of chunked datasets). */
  chunkK: number;
  /** Address of the superblock extension (versions 2 and 3), or {@link UNDEF}. */
  extension: number;
  /** Bytes the superblock occupies, from its start. */
  size: number;
  /** File consistency flags (versions 0 and 1: unused by libhdf5 1.10, 0 as it writes them). */
  flags: number;
  /** Address of the free-space information (versions 0 and 1: reserved, {@link UNDEF}), else {@link UNDEF}. */
  freeSpace: number;
  /** Cache type of the root group's symbol table entry (versions 0 and 1; 2 would make the root a soft link), else 0. */
  rootCacheType: number;
  /** Address of the file driver information block (versions 0 and 1), or {@link UNDEF}. */
  driver: number;
}

/** Whether `bytes` start with the HDF5 signature. */
export function startsWithSignature(bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  for (let i = 0; i < 8; i++) if (bytes[i] !== SIGNATURE[i]) return false;
  return true;
}

/** Offsets libhdf5 searches for the signature: 0, 512, 1024, 2048, ... */
function* candidates(size: number): Generator<number> {
  yield 0;
  for (let at = 512; at + 8 <= size; at *= 2) yield at;
}

/**
 * Finds and decodes the superblock, and narrows `reader` to the file's
 * allocated space.
 * @throws FormatNotHdf5 when there is no signature
 * @throws FormatUnsupported for a feature outside the subset
 * @throws FormatTruncated when the file is shorter than its superblock says
 */
export function readSuperblock(reader: ByteReader): Superblock {
  let at = -1;
  for (const offset of candidates(reader.size)) {
    if (offset + 8 > reader.size) break;
    if (startsWithSignature(reader.readAbsolute(offset, 8))) {
      at = offset;
      break;
    }
  }
  if (at < 0) throw new FormatNotHdf5("no HDF5 signature");
  const available = reader.size - at;
  const head = reader.readAbsolute(at, Math.min(available, 128));
  if (head.length < 9) throw new FormatTruncated("the file ends inside its superblock", reader.size, at + 9);
  const version = head[8]!;
  const sb = version <= 1 ? decodeV01(head, at, reader.size) : version <= 3 ? decodeV23(head, at, reader.size) : damaged(`superblock version ${version}`);
  if (at + sb.eoa > reader.size) {
    throw new FormatTruncated(`the file has ${reader.size} bytes, its superblock says ${at + sb.eoa}`, reader.size, at + sb.eoa);
  }
  if (sb.eoa < sb.size) damaged(`the end-of-file address ${sb.eoa} lies inside the superblock`);
  reader.base = at;
  reader.limit = sb.eoa;
  if (sb.driver !== UNDEF) checkDriverInfo(reader, sb.driver);
  return sb;
}

/**
 * A file driver information block, judged as libhdf5's default (sec2)
 * driver judges it: the family and multi drivers' blocks mean a file in
 * several parts, which that driver (and so h5py and offspect) refuses to
 * open; another driver's block is read and its contents ignored.
 */
function checkDriverInfo(reader: ByteReader, addr: number): void {
  const what = "the file driver information block";
  const head = reader.read(addr, 16, what);
  if (head[0] !== 0) damaged(`${what} has version ${head[0]}`);
  const size = head[4]! | (head[5]! << 8) | (head[6]! << 16) | (head[7]! * 2 ** 24);
  if (addr + 16 + size > reader.limit) damaged(`${what} at address ${addr} (${16 + size} bytes) lies outside the file's ${reader.limit} bytes`);
  const name = String.fromCharCode(...head.subarray(8, 16));
  if (name === "NCSAfami") throw new FormatValueError("EDRIVER", "it is one part of an HDF5 file split by the family driver: join the parts into one file with h5repart first");
  if (name === "NCSAmult") throw new FormatValueError("EDRIVER", "it is one part of an HDF5 file split by the multi driver: copy it into one file with h5repack first");
}

function need(head: Uint8Array, n: number, at: number, size: number): void {
  if (head.length < n) throw new FormatTruncated("the file ends inside its superblock", size, at + n);
}

function decodeV01(head: Uint8Array, at: number, fileSize: number): Superblock {
  const version = head[8]!;
  const fixed = version === 1 ? 28 : 24;
  const size = fixed + 32 + 40;
  need(head, size, at, fileSize);
  const c = new Cursor(head, 0, "superblock", 9);
  const freeSpaceVersion = c.u8();
  const rootEntryVersion = c.u8();
  c.skip(1);
  const sharedVersion = c.u8();
  const sizeofOffsets = c.u8();
  const sizeofLengths = c.u8();
  c.skip(1);
  if (freeSpaceVersion !== 0 || rootEntryVersion !== 0 || sharedVersion !== 0) {
    damaged(`superblock version ${version} with free-space version ${freeSpaceVersion}, symbol table entry version ${rootEntryVersion}, shared header version ${sharedVersion}`);
  }
  if (sizeofOffsets !== 8 || sizeofLengths !== 8) unsupported(`file addresses of ${sizeofOffsets} bytes and lengths of ${sizeofLengths} bytes`);
  const groupLeafK = c.u16();
  const groupInternalK = c.u16();
  if (groupLeafK === 0 || groupInternalK === 0) damaged("group B-tree K of 0 in the superblock");
  const flags = c.u32(); // file consistency flags: unused before version 3
  let chunkK = 32;
  if (version === 1) {
    chunkK = c.u16();
    if (chunkK === 0) damaged("chunk B-tree K of 0 in the superblock");
    c.skip(2);
  }
  const base = c.address();
  const freeSpace = c.address(); // free-space info (reserved)
  // The end-of-file address is stored as an absolute offset (libhdf5 subtracts the base address).
  const eof = c.address();
  const driver = c.address();
  if (eof === UNDEF) damaged("the superblock has no end-of-file address");
  const eoa = endOfAllocation(base, eof, at);
  // Root group symbol table entry: link name offset, object header address, cache type.
  c.u64();
  const root = c.address();
  const cacheType = c.u32();
  if (cacheType > 2) damaged(`the root group's symbol table entry has cache type ${cacheType}`);
  if (root === UNDEF) damaged("the superblock has no root group");
  return { version, base: at, eoa, root, groupLeafK, groupInternalK, chunkK, extension: UNDEF, size, flags, freeSpace, rootCacheType: cacheType, driver };
}

/**
 * The end of allocated space, relative to the superblock. libhdf5 takes the
 * superblock's own position as the base address whatever the stored one says
 * (a file whose userblock was added or removed after writing) and moves the
 * stored end of file by the same difference.
 */
function endOfAllocation(storedBase: number, eof: number, at: number): number {
  if (eof < storedBase) damaged(`the end-of-file address ${eof} lies before the base address ${storedBase}`);
  return eof - storedBase;
}

function decodeV23(head: Uint8Array, at: number, fileSize: number): Superblock {
  const version = head[8]!;
  need(head, 48, at, fileSize);
  const sizeofOffsets = head[9]!;
  const sizeofLengths = head[10]!;
  const flags = head[11]!;
  if (!checksumMatches(head, 0, 44)) damaged(`superblock version ${version}: checksum mismatch`);
  if (sizeofOffsets !== 8 || sizeofLengths !== 8) unsupported(`file addresses of ${sizeofOffsets} bytes and lengths of ${sizeofLengths} bytes`);
  if (flags !== 0) unsupported(`file consistency flags ${flags} (a writer has the file open, or did not close it)`);
  const c = new Cursor(head, 0, "superblock", 12);
  const base = c.address();
  const extension = c.address();
  const eof = c.address();
  const root = c.address();
  if (eof === UNDEF) damaged("the superblock has no end-of-file address");
  const eoa = endOfAllocation(base, eof, at);
  if (root === UNDEF) damaged("the superblock has no root group");
  return { version, base: at, eoa, root, groupLeafK: 4, groupInternalK: 16, chunkK: 32, extension, size: 48, flags, freeSpace: UNDEF, rootCacheType: 0, driver: UNDEF };
}
