/**
 * The one loader of the native addon (a thin binding over libhdf5 and
 * flock: native/), and the types of its flat functions over opaque,
 * type-tagged handles. At load it hands the addon {@link errorFromNative},
 * so every native failure is thrown as a {@link CacheFileError} subclass;
 * argument mistakes stay TypeErrors and RangeErrors.
 *
 * @example
 * ```ts
 * const h = native.fileOpen("/data/S01.hdf5", Mode.Read, true);
 * try {
 *   const [names, kinds] = native.groupList(h, "/");
 * } finally {
 *   native.fileClose(h);
 * }
 * ```
 * @throws {Error} (code ENATIVE) at import, when the addon cannot be loaded: the message lists every cause and the fix
 * @internal
 * @module
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { errorFromNative, type NativeFailure } from "./errors.js";

/** An open HDF5 file. */
export type FileHandle = { readonly __brand: "offspect-cachefile.FileHandle" };
/** A held flock lock. */
export type LockHandle = { readonly __brand: "offspect-cachefile.LockHandle" };

/**
 * How {@link Binding.fileOpen} opens: Read = read-only, SWMR-read, latest
 * format bounds (offspect's read_file); ReadWrite = latest bounds
 * (write_file); Create = truncate, default bounds (h5py's "w"); CreateNew =
 * exclusive; Amend = read-write with default bounds (h5py's "r+").
 */
export const Mode = { Read: 0, ReadWrite: 1, Create: 2, CreateNew: 3, Amend: 4 } as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

/** What a link names; soft, external and user-defined links are Other. */
export const Kind = { Group: 0, Dataset: 1, Datatype: 2, Other: 3 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** The addon's functions. Every failure is thrown as {@link errorFromNative}'s value for it. */
export interface Binding {
  /** Sets the function that builds the error thrown for every native failure (done once, here). */
  setErrorFactory(factory: (failure: NativeFailure) => Error): void;

  /** Opens (or creates) a file; `locking` selects libhdf5's file locking. The descriptor is close-on-exec. */
  fileOpen(path: string, mode: Mode, locking: boolean): FileHandle;
  /** {@link fileOpen} on libuv's thread pool. */
  fileOpenAsync(path: string, mode: Mode, locking: boolean): Promise<FileHandle>;
  /** Closes the file; idempotent; deferred until async work on the file ends. */
  fileClose(file: FileHandle): void;
  fileFlush(file: FileHandle): void;
  fileIsOpen(file: FileHandle): boolean;
  /** Files and objects open in libhdf5, in this process (for leak checks). */
  openObjectCount(): number;
  libraryVersion(): string;

  /** A group's members in increasing name order, with their kinds. */
  groupList(file: FileHandle, path: string): [string[], Kind[]];
  groupCreate(file: FileHandle, path: string): void;
  linkMove(file: FileHandle, from: string, to: string): void;
  linkDelete(file: FileHandle, path: string): void;
  /** What `path` names, or -1 when a link on the way does not exist. */
  objectKind(file: FileHandle, path: string): Kind | -1;

  /** Every attribute, packed "name\0value\0...", in h5py's order; each must be one UTF-8 string (EATTRTYPE, EATTRSHAPE, EATTRUTF8). */
  attributesRead(file: FileHandle, path: string): string;
  /** Writes scalar vlen UTF-8 strings as h5py writes a str, replacing existing attributes; disk space is reserved first. */
  attributesWrite(file: FileHandle, path: string, names: string[], values: string[]): void;
  /** {@link attributesWrite} on the pool, then a flush when `flush`. */
  attributesWriteAsync(file: FileHandle, path: string, names: string[], values: string[], flush: boolean): Promise<void>;
  /** Deletes one attribute; a missing one is not an error. */
  attributeDelete(file: FileHandle, path: string, name: string): void;

  /** The shape of a numeric dataset. */
  datasetShape(file: FileHandle, path: string): number[];
  /** A numeric dataset as float64, read straight into the array (EDTYPE, ETOOBIG; ECORRUPT for a size beyond the maximum). */
  datasetRead(file: FileHandle, path: string, maxElements: number): [Float64Array, number[]];
  /** Several datasets in one trip to the pool. */
  datasetReadManyAsync(file: FileHandle, paths: string[], maxElements: number): Promise<[Float64Array, number[]][]>;
  /** A contiguous little-endian float64 dataset; with `lzfChunks`, chunked so and compressed with h5py's LZF filter. */
  datasetCreate(file: FileHandle, path: string, data: Float64Array, dims: number[], lzfChunks?: number[]): void;
  /** Overwrites a whole dataset; `dims` must equal its shape (ESHAPE). */
  datasetWrite(file: FileHandle, path: string, data: Float64Array, dims: number[]): void;

  /** A BSD flock on `path` (shared or exclusive), polled until `timeoutMs` (then errno EBUSY); `announce` marks a writer's intent and opens read-write. */
  lockAcquire(path: string, exclusive: boolean, timeoutMs: number, announce: boolean): LockHandle;
  lockAcquireAsync(path: string, exclusive: boolean, timeoutMs: number, announce: boolean): Promise<LockHandle>;
  /** Releases the lock; idempotent. */
  lockRelease(lock: LockHandle): void;
  /** The descriptor the lock holds (read-only unless it announced a writer), to read the file through while locked. */
  lockFd(lock: LockHandle): number;
  /** Whether a writer of this library (in any process) waits for or holds `path`. */
  writerWaiting(path: string): boolean;
  /** Unlocks the held descriptor (which stays open for {@link lockHold}). */
  lockLetGo(lock: LockHandle): void;
  /** Locks the held descriptor again, polled until `timeoutMs` (then errno EBUSY). */
  lockHold(lock: LockHandle, exclusive: boolean, timeoutMs: number): void;
  /** {@link writerWaiting} for the file the lock's descriptor is open on. */
  lockWriterWaiting(lock: LockHandle): boolean;
}

function packageRoot(): string {
  // src/hdf5/native.ts and dist/src/hdf5/native.js (or dist/hdf5/native.js) lie below the root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "binding.gyp"))) return dir;
    dir = dirname(dir);
  }
  return dirname(dirname(dirname(fileURLToPath(import.meta.url))));
}

function load(): Binding {
  const require = createRequire(import.meta.url);
  const root = packageRoot();
  const causes: string[] = [];
  for (const candidate of [join(root, "build", "Release", "offspect_hdf5.node"), join(root, "build", "Debug", "offspect_hdf5.node")]) {
    if (!existsSync(candidate)) {
      causes.push(`${candidate}: not built`);
      continue;
    }
    try {
      const binding = require(candidate) as Binding;
      binding.setErrorFactory(errorFromNative);
      return binding;
    } catch (e) {
      causes.push(`${candidate}: ${(e as Error).message}`);
    }
  }
  const error = new Error(
    [
      "offspect-cachefile: the native libhdf5 binding could not be loaded.",
      ...causes.map((c) => `  - ${c}`),
      "To fix: install libhdf5, liblzf and a compiler (Debian/Ubuntu: apt-get install -y libhdf5-dev liblzf-dev pkg-config g++ make python3),",
      `then rebuild the binding in ${root} with: npm rebuild offspect-cachefile (or npx node-gyp rebuild).`,
    ].join("\n"),
  );
  (error as Error & { code: string }).code = "ENATIVE";
  throw error;
}

export const native: Binding = load();
