/**
 * Byte-level splicing of HDF5 files (the format module's engine,
 * src/hdf5/format/splice/), typed and with errors mapped to this
 * library's classes: concatenates whole files into one new file whose root
 * group holds every source's root members, copying each source's bytes and
 * relocating the file addresses in them, with no libhdf5 call. Only the
 * format subset that libhdf5 and h5py write with default settings is
 * accepted; anything else is reported unsupported (with a reason) before
 * anything of that source is written, so the caller can take libhdf5's
 * path for it. Sources are read under a shared lock (this library's, as
 * libhdf5 locks a file it reads), held while a source is staged.
 *
 * Also here: {@link openSpliced}, which re-opens a spliced file for libhdf5
 * writes with default format bounds.
 * @internal
 * @module
 */
import { resolve } from "node:path";
import { CacheFileError, ClosedError, DiskFullError, FileInUseError, FileNotFoundError, NotHdf5Error, PermissionError } from "../base/errors.js";
import { assertRegularFile, H5File, type ObjectKind } from "./file.js";
import { type AttributeList, type ParsedObject, type ParseLimits, type ParseReport, scanSource, type SourceLock, SpliceWriter } from "./format/splice/index.js";
import { native } from "./native.js";
import { setOwn } from "../base/own.js";

export type { AttributeList, ParsedObject, ParseReport, SourceLock };

/**
 * One object of a parsed file as {@link spliceScan} reports it: a
 * {@link ParsedObject} (what {@link Splicer.add} reports, the engine's own
 * type) with its attributes as a record.
 */
export interface SplicedObject {
  /** Absolute path in the file ("/" for the root). */
  path: string;
  /** 0 for the root, 1 for its members, ... */
  depth: number;
  kind: ObjectKind;
  /** All attributes as text (as {@link H5File.attrs} reads them), or null when not read (deeper than `attrDepth`). */
  attrs: Record<string, string> | null;
  /** Names of attributes not stored as h5py stores a str (scalar variable-length UTF-8). */
  nonStandard: string[];
  /** Datasets: stored as h5py stores a float64 array (little-endian, contiguous, unfiltered); groups: null. */
  plainFloat64: boolean | null;
  /** Groups at `maxDepth`, with `listNames`: the names of their members (not parsed); else null. */
  members: string[] | null;
}

/**
 * What parsing a file found: every object in preorder (members by name), or
 * why the file is not supported; `damaged` when that is because its bytes
 * contradict the format (libhdf5 may fail on such a file too, or crash).
 */
export type SpliceReport = { supported: true; objects: SplicedObject[] } | { supported: false; reason: string; damaged: boolean };


/** A list of attributes as a record, in its order. */
export function attributeRecord(list: AttributeList): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < list.names.length; i++) setOwn(out, list.names[i]!, list.values[i]!);
  return out;
}

function withRecords(report: ParseReport): SpliceReport {
  if (!report.supported) return report;
  return { supported: true, objects: report.objects.map((o) => ({ ...o, attrs: o.attrs && attributeRecord(o.attrs) })) };
}

/** How much a parse reports; splicing always checks everything. */
export interface SpliceLimits {
  /** List objects down to this depth (default: all). */
  maxDepth?: number;
  /** Read attributes of objects down to this depth (default: all). */
  attrDepth?: number;
  /** List the member names of groups at `maxDepth`, without parsing those members (default: false). */
  listNames?: boolean;
}

const ALL = 1 << 20;

function limitsOf(limits: SpliceLimits): ParseLimits {
  const check = (v: number | undefined, name: string) => {
    if (v === undefined) return ALL;
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name}: expected a non-negative integer, got ${v}`);
    return Math.min(v, ALL);
  };
  return { maxDepth: check(limits.maxDepth, "maxDepth"), attrDepth: check(limits.attrDepth, "attrDepth"), listNames: limits.listNames === true };
}

/** This library's shared lock on a source, without waiting: a writer holding it makes it fail with EBUSY. */
const sharedLock: SourceLock = (path) => {
  const lock = native.lockAcquire(path, false, 0, false);
  return () => native.lockRelease(lock);
};

/**
 * Maps a failure of the splice engine: file-system codes to their classes
 * (`EBUSY`: another process holds a conflicting lock), call-order codes to
 * {@link CacheFileError} with that code, the rest as any native failure.
 */
function spliceError(error: unknown, source: string): Error {
  const e = error as Error & { code?: string; target?: string };
  const detail = e?.message ?? String(error);
  // A failure to write the spliced file is about it, whichever source was being added.
  const file = e?.target ?? source;
  switch (e?.code) {
    case "EBUSY":
      return new FileInUseError(file, detail);
    case "ENOENT":
      return new FileNotFoundError(file);
    case "EACCES":
      return new PermissionError(file, detail);
    case "ENOSPC":
      return new DiskFullError(file, detail);
    case "EISDIR":
      return new NotHdf5Error(file, "it is a directory");
    case "EEXIST":
    case "EIO":
    case "ESTATE":
      return new CacheFileError(e.code, `${file}: ${detail}`, { file });
    default:
      return error as Error;
  }
}

function spliceCall<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw spliceError(e, file);
  }
}

/**
 * Parses an HDF5 file as the splicer would, without writing anything (under
 * a shared lock, as libhdf5 reads): its objects and their attributes, or why
 * it cannot be spliced. `lock` takes the source's shared lock (default
 * this library's shared lock, taken without waiting).
 * @example
 * ```ts
 * const report = spliceScan("S01.hdf5", { maxDepth: 3, attrDepth: 1 });
 * if (report.supported) console.log(report.objects.map((o) => o.path));
 * else console.log(report.damaged ? "damaged:" : "libhdf5 must copy it:", report.reason);
 * ```
 * @throws {FileInUseError} another process holds a conflicting lock
 * @throws {FileNotFoundError} / {PermissionError} the file cannot be opened
 */
export function spliceScan(path: string, limits: SpliceLimits = {}, lock: SourceLock = sharedLock): SpliceReport {
  const abs = resolve(path);
  const parsed = limitsOf(limits);
  return spliceCall(abs, () => withRecords(scanSource(abs, parsed, lock)));
}

/**
 * One spliced file being written: {@link Splicer.add} parses a source (and
 * keeps it locked), {@link Splicer.commit} copies it in, or
 * {@link Splicer.discard} drops it; {@link Splicer.finish} writes the root
 * group and closes the file. On failure call {@link Splicer.abort} (or let
 * `using` do it) and remove the file.
 *
 * @example
 * ```ts
 * using s = Splicer.begin("/tmp/all.hdf5");
 * for (const source of sources) {
 *   const report = s.add(source);
 *   if (report.supported) s.commit(); // else: copy it with libhdf5 later
 * }
 * s.finish();
 * ```
 */
export class Splicer implements Disposable {
  readonly target: string;
  #writer: SpliceWriter | null;

  private constructor(target: string, writer: SpliceWriter) {
    this.target = target;
    this.#writer = writer;
  }

  /**
   * Creates `target`, which must not exist.
   * @throws {CacheFileError} (code EEXIST) the target exists
   * @throws {PermissionError} / {FileNotFoundError} its directory is not writable, or missing
   */
  static begin(target: string): Splicer {
    const abs = resolve(target);
    return new Splicer(abs, spliceCall(abs, () => SpliceWriter.create(abs, sharedLock)));
  }

  #w(): SpliceWriter {
    if (this.#writer === null) throw new ClosedError(`the spliced file ${this.target}`);
    return this.#writer;
  }

  /**
   * Parses `source`. When it is supported it stays staged (and locked) until
   * {@link Splicer.commit} or {@link Splicer.discard}; nothing is written yet.
   * `next` names the source to be added after this one: it is read ahead
   * meanwhile. `verify` is handed the source's locked descriptor before it
   * is read, and throws when that is not the file expected.
   * @throws {FileInUseError} another process holds a conflicting lock on the source
   * @throws {CacheFileError} (code ESTATE) an earlier step failed
   */
  add(source: string, limits: SpliceLimits = {}, next?: string, verify?: (fd: number) => void): ParseReport {
    const w = this.#w();
    const abs = resolve(source);
    const parsed = limitsOf(limits);
    return spliceCall(abs, () => w.stage(abs, parsed, next === undefined ? undefined : resolve(next), verify));
  }

  /**
   * Copies the staged source into the target; returns the bytes copied.
   * @throws {CacheFileError} (code ESTATE) nothing is staged, (code EEXIST) a root member's name is taken
   * @throws {DiskFullError} no space left
   */
  commit(): number {
    const w = this.#w();
    return spliceCall(this.target, () => w.commit());
  }

  /** Drops the staged source (releases its lock). */
  discard(): void {
    this.#w().discard();
  }

  /**
   * Writes the root group and the superblock and closes the file; returns its size.
   * @throws {DiskFullError} no space left
   */
  finish(): number {
    const w = this.#w();
    const size = spliceCall(this.target, () => w.finish());
    this.#writer = null;
    return size;
  }

  /** Closes everything without finishing (idempotent); the half-written file is the caller's to remove. */
  abort(): void {
    const w = this.#writer;
    this.#writer = null;
    w?.abort();
  }

  [Symbol.dispose](): void {
    this.abort();
  }
}

/**
 * Opens a spliced (or any existing) file read-write with libhdf5's default
 * (earliest) format bounds, so that objects libhdf5 adds stay in the format
 * the splice parser supports.
 * @throws {FileNotFoundError} / {NotHdf5Error} as {@link H5File.open}
 */
export function openSpliced(path: string): H5File {
  const abs = resolve(path);
  assertRegularFile(abs);
  return H5File.open(abs, "amend");
}
