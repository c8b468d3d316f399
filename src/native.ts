/**
 * Loads the native addon (libhdf5 binding) and types its flat functions.
 * @internal
 */
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Opaque handle to an open HDF5 file. */
export type NativeFile = { readonly __nativeFile: unique symbol };

export const Mode = { Read: 0, ReadWrite: 1, Create: 2, CreateNew: 3 } as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

export const Kind = { Group: 0, Dataset: 1, Datatype: 2, Other: 3 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

export interface NativeBinding {
  open(path: string, mode: Mode, locking: boolean): NativeFile;
  close(file: NativeFile): void;
  isOpen(file: NativeFile): boolean;
  flush(file: NativeFile): void;
  objectCount(): number;
  libraryVersion(): string;
  list(file: NativeFile, path: string): string[];
  list(file: NativeFile, path: string, withKinds: true): [string[], Kind[]];
  kind(file: NativeFile, path: string): Kind | -1;
  /** Attributes packed as "name\0value\0name\0value\0". */
  readAttrs(file: NativeFile, path: string): string;
  /** [packed attributes, packed names of non-standard attributes, plain float64 dataset (null: not a dataset)]. */
  inspect(file: NativeFile, path: string): [string, string, boolean | null];
  writeAttrs(file: NativeFile, path: string, names: string[], values: string[]): void;
  deleteAttr(file: NativeFile, path: string, name: string): void;
  readData(file: NativeFile, path: string, maxElements: number): [Float64Array, number[]];
  readDataWithAttrs(file: NativeFile, path: string, maxElements: number): [Float64Array, number[], string];
  shape(file: NativeFile, path: string): number[];
  createDataset(file: NativeFile, path: string, data: Float64Array, shape: number[]): void;
  writeData(file: NativeFile, path: string, data: Float64Array, shape: number[]): void;
  createGroup(file: NativeFile, path: string): void;
  copy(src: NativeFile, srcPath: string, dst: NativeFile, dstPath: string): void;
  move(file: NativeFile, from: string, to: string): void;
  remove(file: NativeFile, path: string): void;
  /** Takes a BSD flock (shared or exclusive) on `path`, polling until `timeoutMs`; `announce` marks a writer's intent. */
  lockAcquire(path: string, exclusive: boolean, timeoutMs: number, announce: boolean): NativeLock;
  lockRelease(lock: NativeLock): void;
  /** Whether a writer (of this library, in any process) waits for or holds `path`. */
  writerWaiting(path: string): boolean;
  lockAcquireAsync(path: string, exclusive: boolean, timeoutMs: number, announce: boolean): Promise<NativeLock>;
  /** The descriptor a lock holds (open read-only for shared locks, read-write for announced ones). */
  lockFd(lock: NativeLock): number;
  /** Lets go of the flock; the descriptor stays open. */
  lockLetGo(lock: NativeLock): void;
  /** Takes the flock again on the held descriptor, polling until `timeoutMs` (code EBUSY). */
  lockHold(lock: NativeLock, exclusive: boolean, timeoutMs: number): void;
  /** writerWaiting for the file the lock's descriptor is open on. */
  lockWriterWaiting(lock: NativeLock): boolean;

  // Thread-pool counterparts; each works on a batch of paths.
  openAsync(path: string, mode: Mode, locking: boolean): Promise<NativeFile>;
  listAsync(file: NativeFile, paths: string[]): Promise<[string[], Kind[]][]>;
  readAttrsAsync(file: NativeFile, paths: string[]): Promise<string[]>;
  writeAttrsAsync(file: NativeFile, path: string, names: string[], values: string[], flush: boolean): Promise<void>;
  /** Reads each dataset (and, with withAttrs, its attributes) in one trip to the pool: [data, shape, packed attrs]. */
  readManyAsync(file: NativeFile, paths: string[], maxElements: number, withAttrs: boolean): Promise<[Float64Array, number[], string][]>;

  /** "dev:ino:size:mtime:ctime" of a path (stat), or undefined when it does not exist. */
  stamp(path: string): string | undefined;

  // Byte-level splicing (native/splice.cc).
  /** Parses a file (shared flock, nothing written): objects down to `maxDepth`, attributes down to `attrDepth`. */
  spliceScan(path: string, maxDepth?: number, attrDepth?: number): NativeSpliceReport;
  /**
   * Every dataset's attributes (those whose attributes are all h5py-style
   * strings) as records: u32 LE path length, path, u32 LE packed length,
   * packed attributes; or [reason] when the file is not supported.
   */
  spliceScanAttrs(path: string, maxDepth: number, attrDepth: number): [Buffer] | [string];
  spliceScanAttrsAsync(path: string, maxDepth: number, attrDepth: number): Promise<[Buffer] | [string]>;
  /** spliceScan on libuv's thread pool. */
  spliceScanAsync(path: string, maxDepth?: number, attrDepth?: number): Promise<NativeSpliceReport>;
  /** Creates `target` (which must not exist) for splicing. */
  spliceBegin(target: string): NativeSplice;
  /** Parses a source; a supported one stays staged (and locked) until spliceCommit or spliceDiscard. */
  spliceAdd(splice: NativeSplice, source: string, maxDepth?: number, attrDepth?: number): NativeSpliceReport;
  /** Copies the staged source into the target, relocated; returns the bytes copied. */
  spliceCommit(splice: NativeSplice): number;
  spliceDiscard(splice: NativeSplice): void;
  /** Writes the root group and the superblock and closes the target; returns its size. */
  spliceFinish(splice: NativeSplice): number;
  /** Closes everything (idempotent); the caller removes the half-written target. */
  spliceAbort(splice: NativeSplice): void;
  /** Opens an existing file read-write with libhdf5's default (earliest) format bounds. */
  spliceOpen(path: string): NativeFile;
  /** H5Ocopy without attributes (H5O_COPY_WITHOUT_ATTR_FLAG), for callers that write them themselves. */
  spliceCopyWithoutAttrs(src: NativeFile, srcPath: string, dst: NativeFile, dstPath: string): void;
}

/** Opaque handle to a spliced file being written. */
export type NativeSplice = { readonly __nativeSplice: unique symbol };

/** One object of a splice report: [path, kind, packed attributes, packed names of non-standard attributes, plain float64 (null: a group)]; attributes are null when not read. */
export type NativeSpliceObject = [string, Kind, string | null, string | null, boolean | null];

/** [reason, null, damaged] for an unsupported (or damaged) file, else [null, objects in preorder, members by name, false]. */
export type NativeSpliceReport = [string, null, boolean] | [null, NativeSpliceObject[], false];

/** Opaque handle to a held file lock. */
export type NativeLock = { readonly __nativeLock: unique symbol };

function packageRoot(): string {
  // src/native.ts and dist/native.js both sit one level below the root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "binding.gyp"))) return dir;
    dir = dirname(dir);
  }
  return dirname(dirname(fileURLToPath(import.meta.url)));
}

function load(): NativeBinding {
  const require = createRequire(import.meta.url);
  const root = packageRoot();
  const candidates = [
    join(root, "build", "Release", "offspect_hdf5.node"),
    join(root, "build", "Debug", "offspect_hdf5.node"),
  ];
  const causes: string[] = [];
  for (const candidate of candidates) {
    if (!existsSync(candidate)) {
      causes.push(`${candidate}: not built`);
      continue;
    }
    try {
      return require(candidate) as NativeBinding;
    } catch (e) {
      causes.push(`${candidate}: ${(e as Error).message}`);
    }
  }
  const error = new Error(
    [
      "offspect-cachefile: the native libhdf5 binding could not be loaded.",
      ...causes.map((c) => `  - ${c}`),
      "To fix: install libhdf5 and a compiler (Debian/Ubuntu: apt-get install -y libhdf5-dev pkg-config g++ make python3),",
      `then rebuild the binding in ${root} with: npm rebuild offspect-cachefile (or npx node-gyp rebuild).`,
    ].join("\n"),
  );
  (error as Error & { code: string }).code = "ENATIVE";
  throw error;
}

export const native: NativeBinding = load();
