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
 * By concern: parse.ts (the parser and what it reports), regions.ts (the
 * byte ranges claimed), relocate.ts (the addresses to relocate), emit.ts
 * (the root group and superblock written), io.ts (files, locks, failures),
 * writer.ts (the writing, with the I/O thread), layout.ts (sizes). File
 * locking is the caller's ({@link SourceLock}), so that this module stays
 * free of the native binding.
 * @internal
 * @module
 */
export { SpliceFailure, type SourceLock } from "./io.js";
export { scanSource, type AttributeList, type ParsedObject, type ParseLimits, type ParseReport } from "./parse.js";
export { SpliceWriter } from "./writer.js";
