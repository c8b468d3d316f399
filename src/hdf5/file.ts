/**
 * A thin, safe handle over one open HDF5 file: the counterpart of offspect's
 * `read_file` / `write_file` (h5py.File) openers, over the native binding
 * (src/hdf5/native.ts). Every libhdf5 failure comes out as a
 * {@link CacheFileError} subclass naming the file (src/hdf5/errors.ts).
 * @module
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { ClosedError, fromErrno, NotHdf5Error } from "../base/errors.js";
import { type FileHandle, Kind, Mode, native } from "./native.js";
import { setOwn } from "../base/own.js";

/**
 * `"r"`: read-only, SWMR-read, latest format (offspect's `read_file`);
 * `"r+"`: read-write, latest format (`write_file`); `"w"`: create or
 * truncate; `"x"`: create, fail if it exists; `"amend"`: read-write with the
 * default format bounds (h5py's "r+"), so what is added keeps the file's format.
 */
export type OpenMode = "r" | "r+" | "w" | "x" | "amend";

/** Kind of an object in the file. */
export type ObjectKind = "group" | "dataset" | "datatype" | "other";

/** Raw numeric contents of a dataset, as stored (any rank). */
export interface RawData {
  data: Float64Array;
  shape: number[];
}

export interface OpenOptions {
  /** Use libhdf5's file locking (default true, as libhdf5 and h5py). */
  locking?: boolean;
}

/** Largest dataset read into memory, in elements (2 GiB of float64). */
export const MAX_ELEMENTS = 2 ** 28;

const MODE: Record<OpenMode, Mode> = { r: Mode.Read, "r+": Mode.ReadWrite, w: Mode.Create, x: Mode.CreateNew, amend: Mode.Amend };
const KIND: Record<number, ObjectKind> = {
  [Kind.Group]: "group",
  [Kind.Dataset]: "dataset",
  [Kind.Datatype]: "datatype",
  [Kind.Other]: "other",
};

/** Splits the native "name\0value\0" packing into a plain object. @internal */
export function unpackAttrs(packed: string): Record<string, string> {
  const parts = packed.split("\0");
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const key = parts[i]!;
    setOwn(out, key, parts[i + 1]!);
  }
  return out;
}

/**
 * Checks that `path` names an existing regular file; throws
 * {@link FileNotFoundError} or {@link NotHdf5Error} (for a directory).
 * @internal
 */
export function assertRegularFile(path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw fromErrno(e, path, "read");
  }
  if (st.isDirectory()) throw new NotHdf5Error(path, "it is a directory");
  if (!st.isFile()) throw new NotHdf5Error(path, "it is not a regular file");
  if (st.size === 0) throw new NotHdf5Error(path, "it is empty");
}

function checkMode(mode: OpenMode): void {
  if (!(mode in MODE)) throw new TypeError(`mode must be "r", "r+", "w", "x" or "amend", got ${JSON.stringify(mode)}`);
}

function checkAttrs(attrs: Record<string, string>): [string[], string[]] {
  if (attrs === null || typeof attrs !== "object") throw new TypeError(`expected attributes (an object of strings), got ${String(attrs)}`);
  const names = Object.keys(attrs);
  const values = names.map((k) => {
    const v = attrs[k];
    if (k === "") throw new TypeError("expected a non-empty attribute name, got an empty one");
    if (typeof v !== "string") throw new TypeError(`expected a string for attribute ${JSON.stringify(k)}, got ${typeof v}`);
    if (k.includes("\0") || v.includes("\0")) throw new TypeError(`expected text without NUL characters for attribute ${JSON.stringify(k)}, got one with NUL`);
    return v;
  });
  return [names, values];
}

/**
 * One open HDF5 file. Close it with {@link H5File.close} (idempotent) or a
 * `using` declaration; garbage collection closes forgotten handles as a
 * safety net. Paths inside the file are absolute ("/origin/traces/0").
 *
 * @example
 * ```ts
 * using f = readFile("session.hdf5");
 * for (const origin of f.keys()) console.log(origin, f.attrs(`/${origin}`)["readout"]);
 * ```
 */
export class H5File {
  /** Absolute path of the file. */
  readonly path: string;
  readonly mode: OpenMode;
  #handle: FileHandle | null;

  private constructor(path: string, mode: OpenMode, handle: FileHandle) {
    this.path = path;
    this.mode = mode;
    this.#handle = handle;
  }

  /**
   * Opens (or, for "w"/"x", creates) an HDF5 file.
   * @throws {FileNotFoundError} the file does not exist (modes "r", "r+")
   * @throws {NotHdf5Error} not an HDF5 file, a directory, or empty
   * @throws {TruncatedFileError} the file is shorter than its header says
   * @throws {FileInUseError} another process holds a conflicting lock
   * @throws {PermissionError} the system refused access
   */
  static open(path: string, mode: OpenMode = "r", options: OpenOptions = {}): H5File {
    const abs = resolve(path);
    checkMode(mode);
    if (mode === "r" || mode === "r+" || mode === "amend") assertRegularFile(abs);
    return new H5File(abs, mode, native.fileOpen(abs, MODE[mode], options.locking ?? true));
  }

  /**
   * {@link H5File.open} on libuv's thread pool: the event loop keeps running
   * while libhdf5 opens the file.
   * @throws the errors of {@link H5File.open}
   */
  static async openAsync(path: string, mode: OpenMode = "r", options: OpenOptions = {}): Promise<H5File> {
    const abs = resolve(path);
    checkMode(mode);
    if (mode === "r" || mode === "r+" || mode === "amend") assertRegularFile(abs);
    return new H5File(abs, mode, await native.fileOpenAsync(abs, MODE[mode], options.locking ?? true));
  }

  /**
   * Reads several numeric datasets on the thread pool in one trip; each
   * array is the memory libhdf5 read into (no copy).
   */
  async readManyAsync(paths: string[], maxElements = MAX_ELEMENTS): Promise<RawData[]> {
    const read = await native.datasetReadManyAsync(this.#h(), paths, maxElements);
    return read.map(([data, shape]) => ({ data, shape }));
  }

  /** {@link H5File.setAttrs} on the thread pool; with `flush`, also flushes the file. */
  async setAttrsAsync(path: string, attrs: Record<string, string>, flush = false): Promise<void> {
    const [names, values] = checkAttrs(attrs);
    await native.attributesWriteAsync(this.#h(), path, names, values, flush);
  }

  /** Whether the file is still open. */
  get isOpen(): boolean {
    return this.#handle !== null && native.fileIsOpen(this.#handle);
  }

  #h(): FileHandle {
    if (this.#handle === null) throw new ClosedError(`the HDF5 file ${this.path}`);
    return this.#handle;
  }

  /** Closes the file; calling it again does nothing. */
  close(): void {
    const handle = this.#handle;
    if (handle === null) return;
    this.#handle = null;
    native.fileClose(handle);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Names of a group's members in name order (h5py's `keys()`). */
  keys(group = "/"): string[] {
    return native.groupList(this.#h(), group)[0];
  }

  /** Names and kinds of a group's members, in name order. */
  members(group = "/"): { name: string; kind: ObjectKind }[] {
    const [names, kinds] = native.groupList(this.#h(), group);
    return names.map((name, i) => ({ name, kind: KIND[kinds[i]!] ?? "other" }));
  }

  /** Kind of the object at `path`, or undefined when there is none. */
  kind(path: string): ObjectKind | undefined {
    const k = native.objectKind(this.#h(), path);
    return k < 0 ? undefined : KIND[k];
  }

  /**
   * All attributes of an object as text (one native call).
   * @throws {LayoutError} (reason EATTRTYPE, EATTRSHAPE, EATTRUTF8) an attribute that is not one UTF-8 string; (reason ENOTFOUND) no such object
   */
  attrs(path: string): Record<string, string> {
    return unpackAttrs(native.attributesRead(this.#h(), path));
  }

  /**
   * Writes string attributes as h5py writes a Python str (variable-length UTF-8).
   * @throws {DiskFullError} the disk cannot hold them (nothing was written)
   */
  setAttrs(path: string, attrs: Record<string, string>): void {
    const [names, values] = checkAttrs(attrs);
    native.attributesWrite(this.#h(), path, names, values);
  }

  /** Deletes one attribute (a missing one is not an error). */
  deleteAttr(path: string, name: string): void {
    native.attributeDelete(this.#h(), path, name);
  }

  /**
   * Reads a numeric dataset of any type, layout and filter (gzip, shuffle, h5py's lzf, ...) as float64.
   * @throws {LayoutError} (reason EDTYPE) not numbers; (reason ETOOBIG) more than `maxElements`
   * @throws {FilterUnavailableError} the data need a filter this libhdf5 does not have
   */
  read(path: string, maxElements = MAX_ELEMENTS): RawData {
    const [data, shape] = native.datasetRead(this.#h(), path, maxElements);
    return { data, shape };
  }

  /** Shape of a numeric dataset, without reading it. */
  shape(path: string): number[] {
    return native.datasetShape(this.#h(), path);
  }

  /** Creates a group. */
  createGroup(path: string): void {
    native.groupCreate(this.#h(), path);
  }

  /**
   * Creates a float64 dataset holding `data` with `shape`: contiguous, or with
   * `lzfChunks` chunked so and compressed with h5py's LZF filter.
   */
  createDataset(path: string, data: Float64Array, shape: number[], options: { lzfChunks?: number[] } = {}): void {
    native.datasetCreate(this.#h(), path, data, shape, options.lzfChunks);
  }

  /**
   * Overwrites a whole dataset; `shape` must equal the stored shape.
   * @throws {ShapeMismatchError} it does not (nothing was written)
   */
  write(path: string, data: Float64Array, shape: number[]): void {
    native.datasetWrite(this.#h(), path, data, shape);
  }

  /** Renames a link. */
  move(from: string, to: string): void {
    native.linkMove(this.#h(), from, to);
  }

  /** Removes a link. */
  remove(path: string): void {
    native.linkDelete(this.#h(), path);
  }

  /** Flushes everything written so far to disk. */
  flush(): void {
    native.fileFlush(this.#h());
  }
}

/**
 * Opens an HDF5 file for reading in single-writer/multiple-reader mode with
 * the latest format bounds, as offspect's `read_file`.
 * @example
 * ```ts
 * using f = readFile("S01.hdf5");
 * console.log(f.keys());
 * ```
 */
export function readFile(path: string, options: OpenOptions = {}): H5File {
  return H5File.open(path, "r", options);
}

/**
 * Opens an HDF5 file for reading and writing, as offspect's `write_file`.
 * @example
 * ```ts
 * using f = writeFile("S01.hdf5");
 * f.setAttrs("/run.xdf/traces/0", { comment: "noisy" });
 * ```
 */
export function writeFile(path: string, options: OpenOptions = {}): H5File {
  return H5File.open(path, "r+", options);
}

/** Number of HDF5 files and objects open in this process (for leak checks). */
export function openObjectCount(): number {
  return native.openObjectCount();
}

/** Version of the libhdf5 the binding runs on. */
export function hdf5Version(): string {
  return native.libraryVersion();
}
