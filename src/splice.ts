/**
 * Byte-level splicing of HDF5 files (native/splice.cc), typed and with
 * errors mapped to this library's classes: concatenates whole files into one
 * new file whose root group holds every source's root members, copying each
 * source's bytes and relocating the file addresses in them, with no libhdf5
 * call. Only the format subset that libhdf5 and h5py write with default
 * settings is accepted; anything else is reported unsupported (with a
 * reason) before anything of that source is written, so the caller can take
 * libhdf5's path for it.
 *
 * Also here: {@link openSpliced}, which re-opens a spliced file for libhdf5
 * writes with default format bounds.
 * @internal
 * @module
 */
import { resolve } from "node:path";
import { CacheFileError, ClosedError, DiskFullError, FileInUseError, FileNotFoundError, NotHdf5Error, PermissionError } from "./errors.js";
import { assertRegularFile, call, H5File, mapNativeError, type ObjectKind, unpackAttrs } from "./h5.js";
import { Kind, native, type NativeSplice, type NativeSpliceReport } from "./native.js";

/** One object of a parsed file, as the splice parser reports it. */
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
}

/**
 * What parsing a file found: every object in preorder (members by name), or
 * why the file is not supported; `damaged` when that is because its bytes
 * contradict the format (libhdf5 may fail on such a file too, or crash).
 */
export type SpliceReport = { supported: true; objects: SplicedObject[] } | { supported: false; reason: string; damaged: boolean };

/** How much a parse reports; splicing always checks everything. */
export interface SpliceLimits {
  /** List objects down to this depth (default: all). */
  maxDepth?: number;
  /** Read attributes of objects down to this depth (default: all). */
  attrDepth?: number;
}

const KIND: Record<number, ObjectKind> = { [Kind.Group]: "group", [Kind.Dataset]: "dataset" };
const ALL = 1 << 20;

function splitNames(packed: string | null): string[] {
  return packed ? packed.slice(0, -1).split("\0") : [];
}

function toReport(raw: NativeSpliceReport): SpliceReport {
  if (raw[0] !== null) return { supported: false, reason: raw[0], damaged: raw[2] };
  const objects = raw[1].map(([path, kind, attrs, nonStandard, plain]): SplicedObject => {
    let depth = 0;
    if (path !== "/") for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47) depth++;
    return {
      path,
      depth,
      kind: KIND[kind] ?? "other",
      attrs: attrs === null ? null : unpackAttrs(attrs),
      nonStandard: splitNames(nonStandard),
      plainFloat64: plain,
    };
  });
  return { supported: true, objects };
}

function limitsOf(limits: SpliceLimits): [number, number] {
  const check = (v: number | undefined, name: string) => {
    if (v === undefined) return ALL;
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name}: expected a non-negative integer, got ${v}`);
    return Math.min(v, ALL);
  };
  return [check(limits.maxDepth, "maxDepth"), check(limits.attrDepth, "attrDepth")];
}

/**
 * Maps a failure of the splice functions: file-system codes to their
 * classes (`EBUSY`: another process holds a conflicting lock), the rest as
 * any native failure.
 */
function spliceError(error: unknown, file: string): Error {
  const e = error as Error & { code?: string };
  const detail = e?.message ?? String(error);
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
      return mapNativeError(error, file);
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
 * it cannot be spliced.
 * @throws {FileInUseError} another process holds a conflicting lock
 * @throws {FileNotFoundError} / {PermissionError} the file cannot be opened
 */
export function spliceScan(path: string, limits: SpliceLimits = {}): SpliceReport {
  const abs = resolve(path);
  const [maxDepth, attrDepth] = limitsOf(limits);
  return toReport(spliceCall(abs, () => native.spliceScan(abs, maxDepth, attrDepth)));
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
  #handle: NativeSplice | null;

  private constructor(target: string, handle: NativeSplice) {
    this.target = target;
    this.#handle = handle;
  }

  /**
   * Creates `target`, which must not exist.
   * @throws {CacheFileError} (code EEXIST) the target exists
   */
  static begin(target: string): Splicer {
    const abs = resolve(target);
    return new Splicer(abs, spliceCall(abs, () => native.spliceBegin(abs)));
  }

  #h(): NativeSplice {
    if (this.#handle === null) throw new ClosedError(`the spliced file ${this.target}`);
    return this.#handle;
  }

  /**
   * Parses `source`. When it is supported it stays staged (and locked) until
   * {@link Splicer.commit} or {@link Splicer.discard}; nothing is written yet.
   * @throws {FileInUseError} another process holds a conflicting lock on the source
   */
  add(source: string, limits: SpliceLimits = {}): SpliceReport {
    const h = this.#h();
    const abs = resolve(source);
    const [maxDepth, attrDepth] = limitsOf(limits);
    return toReport(spliceCall(abs, () => native.spliceAdd(h, abs, maxDepth, attrDepth)));
  }

  /** Copies the staged source into the target; returns the bytes copied. */
  commit(): number {
    const h = this.#h();
    return spliceCall(this.target, () => native.spliceCommit(h));
  }

  /** Drops the staged source (releases its lock). */
  discard(): void {
    native.spliceDiscard(this.#h());
  }

  /** Writes the root group and the superblock and closes the file; returns its size. */
  finish(): number {
    const h = this.#h();
    const size = spliceCall(this.target, () => native.spliceFinish(h));
    this.#handle = null;
    return size;
  }

  /** Closes everything without finishing (idempotent); the half-written file is the caller's to remove. */
  abort(): void {
    const h = this.#handle;
    this.#handle = null;
    if (h !== null) native.spliceAbort(h);
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
  return H5File.adopt(abs, "r+", call(abs, () => native.spliceOpen(abs)));
}
