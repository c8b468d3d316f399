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
 * @throws {NativeLoadError} (code ENATIVE) at import, when no build of the addon loads: the message lists every place looked in, its cause and fix
 * @internal
 * @module
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { errorFromNative, type NativeFailure } from "./errors.js";
import { BUILD_FROM_SOURCE, type CandidateKind, diagnose, glibcVersion, type LoadCause, NativeLoadError, type PrebuildRequirements } from "./loadError.js";

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
  /** Writes scalar vlen UTF-8 strings as h5py writes a str, replacing existing attributes. */
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
  /** The stamp (device, inode, size, modification and change times in ns) {@link lockHoldSame} compares the path's with. */
  lockExpect(lock: LockHandle, stamp: BigInt64Array): void;
  /**
   * In one call, what a reader's call begins with: unless a writer of this
   * library waits, takes the shared lock again without waiting, and stats
   * the path. 0: held, the stamp is the expected one; 1: held, it differs;
   * 2: not held (a writer waits for or holds the file); 3: held, the path
   * cannot be stat'ed.
   */
  lockHoldSame(lock: LockHandle): 0 | 1 | 2 | 3;
}

function packageRoot(): string {
  // src/hdf5/native.ts and dist/hdf5/native.js lie below the root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "binding.gyp"))) return dir;
    dir = dirname(dir);
  }
  return dirname(dirname(dirname(fileURLToPath(import.meta.url))));
}

/** The parts of node-gyp-build used here: its matching of prebuilds to this runtime. */
interface NodeGypBuild {
  parseTuple(name: string): { name: string; platform: string; architectures: string[] } | undefined;
  matchTuple(platform: string, arch: string): (tuple: unknown) => boolean;
  compareTuples(a: { architectures: string[] }, b: { architectures: string[] }): number;
  parseTags(file: string): { file: string } | undefined;
  matchTags(runtime: string, abi: string): (tags: unknown) => boolean;
  compareTags(runtime: string): (a: { file: string }, b: { file: string }) => number;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * The prebuild node-gyp-build would pick for this runtime (its own matching:
 * prebuilds/<platform>-<arch>/, then the most specific tags), or the cause
 * when there is none.
 */
function findPrebuild(ngb: NodeGypBuild, root: string): { path: string } | LoadCause {
  const dir = join(root, "prebuilds");
  const tuples = listDir(dir).map((n) => ngb.parseTuple(n));
  const shipped = tuples.filter((t) => t !== undefined).map((t) => t.name);
  const tuple = tuples.filter(ngb.matchTuple(process.platform, process.arch)).sort((a, b) => ngb.compareTuples(a!, b!))[0];
  const none = (what: string): LoadCause => ({
    kind: "prebuild",
    path: dir,
    problem: `${what} (this package ships prebuilds for: ${shipped.length > 0 ? shipped.join(", ") : "none"})`,
    fix: BUILD_FROM_SOURCE,
  });
  if (!tuple) return none(`none for ${process.platform}-${process.arch}`);
  const tags = listDir(join(dir, tuple.name))
    .map((f) => ngb.parseTags(f))
    .filter(ngb.matchTags("node", process.versions.modules))
    .sort((a, b) => ngb.compareTags("node")(a!, b!));
  const winner = tags[0];
  if (!winner) return none(`none in ${tuple.name} matches Node ${process.versions.node}${glibcVersion() ? " on glibc" : " off glibc (musl?)"}`);
  return { path: join(dir, tuple.name, winner.file) };
}

/** What the prebuild in `dir` says it needs, when its manifest says so. */
function prebuildNeeds(dir: string): PrebuildRequirements | undefined {
  try {
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { requires?: PrebuildRequirements };
    return typeof manifest.requires?.glibc === "string" ? manifest.requires : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Loads the addon. Looked for as node-gyp-build looks: a source build
 * (build/Release, then build/Debug: made by the repo's npm install, by
 * --build-from-source, or when no prebuild loaded at install), then the
 * prebuild matching this runtime. Unlike node-gyp-build, a candidate that
 * exists but does not load does not hide the next one. Honours
 * node-gyp-build's PREBUILDS_ONLY and OFFSPECT_CACHEFILE_PREBUILD (a folder
 * to look in instead of the package's).
 */
function load(): Binding {
  const require = createRequire(import.meta.url);
  const root = packageRoot();
  const base = process.env.OFFSPECT_CACHEFILE_PREBUILD || root;
  const causes: LoadCause[] = [];
  const candidates: { kind: CandidateKind; path: string }[] = [];
  if (!process.env.PREBUILDS_ONLY) {
    const built = ["Release", "Debug"].map((d) => join(base, "build", d, "offspect_hdf5.node")).filter((p) => existsSync(p));
    if (built.length === 0) {
      causes.push({ kind: "source build", path: join(base, "build", "Release", "offspect_hdf5.node"), problem: "not built", fix: BUILD_FROM_SOURCE });
    }
    for (const path of built) candidates.push({ kind: "source build", path });
  }
  let ngb: NodeGypBuild | undefined;
  try {
    ngb = require("node-gyp-build") as NodeGypBuild;
  } catch (e) {
    causes.push({ kind: "prebuild", path: join(base, "prebuilds"), problem: `node-gyp-build, which finds it, is missing (${(e as Error).message.split("\n")[0]})`, fix: "reinstall the package (npm install offspect-cachefile)" });
  }
  if (ngb) {
    const prebuild = findPrebuild(ngb, base);
    if ("kind" in prebuild) causes.push(prebuild);
    else candidates.push({ kind: "prebuild", path: prebuild.path });
  }
  for (const { kind, path } of candidates) {
    try {
      const binding = require(path) as Binding;
      binding.setErrorFactory(errorFromNative);
      return binding;
    } catch (e) {
      causes.push(diagnose(kind, path, e, kind === "prebuild" ? prebuildNeeds(dirname(path)) : undefined));
    }
  }
  // Tried first, reported first: the source builds, then the prebuild.
  causes.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === "source build" ? -1 : 1));
  throw new NativeLoadError(root, causes);
}

let binding: Binding | undefined;

/**
 * The addon, loaded on its first use (not at import: importing the package
 * costs no dlopen of libhdf5 until a file is opened). A failure to load is
 * the same {@link NativeLoadError} then, thrown by the first call; the next
 * call tries again.
 */
export const native: Binding = new Proxy({} as Binding, {
  get: (_target, key) => (binding ??= load())[key as keyof Binding],
});
