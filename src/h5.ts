/**
 * A thin, safe handle over one open HDF5 file: the counterpart of offspect's
 * `read_file` / `write_file` (h5py.File) openers. Every libhdf5 failure comes
 * out as a {@link CacheFileError} subclass naming the file.
 * @module
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { resolve } from "node:path";
import {
  CacheFileError,
  ClosedError,
  CorruptFileError,
  DiskFullError,
  FileInUseError,
  FileNotFoundError,
  Hdf5Error,
  type Hdf5Frame,
  LayoutError,
  NotHdf5Error,
  PermissionError,
  TruncatedFileError,
} from "./errors.js";
import { Kind, Mode, native, type NativeFile } from "./native.js";

/** `"r"`: read-only, SWMR-read, latest format (offspect's `read_file`); `"r+"`: read-write, latest format (`write_file`); `"w"`: create or truncate; `"x"`: create, fail if it exists. */
export type OpenMode = "r" | "r+" | "w" | "x";

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

const MODE: Record<OpenMode, Mode> = { r: Mode.Read, "r+": Mode.ReadWrite, w: Mode.Create, x: Mode.CreateNew };
const KIND: Record<number, ObjectKind> = {
  [Kind.Group]: "group",
  [Kind.Dataset]: "dataset",
  [Kind.Datatype]: "datatype",
  [Kind.Other]: "other",
};

interface NativeFailure {
  message: string;
  code?: string;
  hdf5?: Hdf5Frame[];
}

function stackText(hdf5: Hdf5Frame[] | undefined): string {
  return (hdf5 ?? []).map((f) => `${f.desc} ${f.minor}`).join(" | ");
}

/**
 * Turns an error thrown by the native binding into the matching
 * {@link CacheFileError} subclass. Errors that are already ours, and plain
 * TypeErrors from argument checks, pass through.
 * @internal
 */
export function mapNativeError(error: unknown, file: string): Error {
  if (error instanceof CacheFileError) return error;
  if (!(error instanceof Error)) return new Hdf5Error(file, String(error));
  const e = error as Error & NativeFailure;
  const hdf5 = e.hdf5;
  // libhdf5's messages may carry line breaks (e.g. "time = ...\n"): keep errors to one line.
  const message = e.message.replace(/\s*\n\s*/g, " ").trim();
  switch (e.code) {
    case "ECLOSED":
      return new ClosedError(`the HDF5 file ${file}`);
    case "EATTRTYPE":
    case "EATTRSHAPE":
    case "EATTRUTF8":
    case "EDTYPE":
    case "ETOOBIG":
    case "ECOPYTYPE":
      return new LayoutError(file, message, e.code);
    case "ECORRUPT":
      return new CorruptFileError(file, message, hdf5);
    case "ENOSPC":
      return new DiskFullError(file, message, hdf5);
    case "ENOMEM":
      return new CacheFileError("ENOMEM", `out of memory while reading ${file}`, { file });
    case "EHDF5":
      break;
    default:
      return error;
  }
  const text = `${message} ${stackText(hdf5)}`;
  if (/file signature not found/i.test(text)) return new NotHdf5Error(file, "no HDF5 signature", hdf5);
  if (/superblock|unable to open file|ring type mismatch/i.test(text)) {
    // A file cut inside its superblock fails with whatever the missing bytes decode to.
    const short = superblockShortfall(file);
    if (short) return new TruncatedFileError(file, `the file ends inside its superblock: ${short.size} of ${short.need} bytes`, hdf5);
  }
  if (/truncated file/i.test(text)) {
    const detail = /truncated file[^|)]*/i.exec(text)?.[0]?.trim() ?? "truncated";
    return new TruncatedFileError(file, detail, hdf5);
  }
  if (/unable to lock file|file is already open|file locking|already open for/i.test(text)) {
    return new FileInUseError(file, message, hdf5);
  }
  if (/errno = 13|permission denied|errno = 30,|read-only file system|errno = 1,|operation not permitted/i.test(text)) {
    return new PermissionError(file, message, hdf5);
  }
  if (/errno = 28|no space left/i.test(text)) return new DiskFullError(file, message, hdf5);
  if (/errno = 2,|no such file/i.test(text)) return new FileNotFoundError(file);
  if (
    /bad (object header|symbol table|B-tree|heap|version)|wrong B-tree signature|incorrect metadata checksum|checksum|unable to load|unable to protect|corrupt|invalid|not a|addr overflow|address.*overflow|bad .* signature|unable to decode|can't decode|out of bound|unknown|illegal|no name|unable to offset into|no appropriate function for conversion path|past end of allocation|flagged as shareable|already present in symbol table|not implemented yet|temporary file space|memory allocation failed for raw data chunk|inflate\(\) failed/i.test(
      text,
    )
  ) {
    return new CorruptFileError(file, message, hdf5);
  }
  // After the checks for damage: a damaged header also makes its object "not found".
  if (/doesn't exist|not found|object not found/i.test(text)) return new LayoutError(file, message, "ENOTFOUND", hdf5);
  return new Hdf5Error(file, `${file}: ${message}`, hdf5);
}

/**
 * When `file` starts with the HDF5 signature but is shorter than the
 * superblock that follows it (by the superblock's version and offset size),
 * the file's size and the size needed; otherwise undefined.
 */
function superblockShortfall(file: string): { size: number; need: number } | undefined {
  let head: Buffer;
  let size: number;
  try {
    size = statSync(file).size;
    const fd = openSync(file, "r");
    try {
      head = Buffer.alloc(16);
      head = head.subarray(0, readSync(fd, head, 0, 16, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  if (head.length < 8 || !head.subarray(0, 8).equals(Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]))) return undefined;
  if (head.length < 14) return { size, need: 9 + 5 };
  const version = head[8]!;
  let need: number;
  if (version <= 1) {
    const o = head[13]!; // size of offsets
    need = 24 + (version === 1 ? 4 : 0) + 4 * o + 2 * o + 24;
  } else {
    const o = head[9]!;
    need = 12 + 4 * o + 4;
  }
  return size < need ? { size, need } : undefined;
}

/** Awaits a native promise, mapping its failures. @internal */
export async function callAsync<T>(file: string, promise: () => Promise<T>): Promise<T> {
  try {
    return await promise();
  } catch (e) {
    throw mapNativeError(e, file);
  }
}

/** Runs a native call, mapping its failures. @internal */
export function call<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw mapNativeError(e, file);
  }
}

/** Splits the native "name\0value\0" packing into a plain object. @internal */
export function unpackAttrs(packed: string): Record<string, string> {
  const parts = packed.split("\0");
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const key = parts[i]!;
    if (key === "__proto__") Object.defineProperty(out, key, { value: parts[i + 1], enumerable: true, writable: true, configurable: true });
    else out[key] = parts[i + 1]!;
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
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new FileNotFoundError(path);
    if (code === "EACCES" || code === "EPERM") throw new PermissionError(path, (e as Error).message);
    throw e;
  }
  if (st.isDirectory()) throw new NotHdf5Error(path, "it is a directory");
  if (!st.isFile()) throw new NotHdf5Error(path, "it is not a regular file");
  if (st.size === 0) throw new NotHdf5Error(path, "it is empty");
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
  #handle: NativeFile | null;

  private constructor(path: string, mode: OpenMode, handle: NativeFile) {
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
   */
  static open(path: string, mode: OpenMode = "r", options: OpenOptions = {}): H5File {
    const abs = resolve(path);
    if (!(mode in MODE)) throw new TypeError(`mode must be "r", "r+", "w" or "x", got ${JSON.stringify(mode)}`);
    if (mode === "r" || mode === "r+") assertRegularFile(abs);
    const handle = call(abs, () => native.open(abs, MODE[mode], options.locking ?? true));
    return new H5File(abs, mode, handle);
  }

  /**
   * {@link H5File.open} on libuv's thread pool: the event loop keeps running
   * while libhdf5 opens the file.
   */
  /** Wraps a handle opened elsewhere (e.g. the splicer's read-write open). @internal */
  static adopt(path: string, mode: OpenMode, handle: NativeFile): H5File {
    return new H5File(path, mode, handle);
  }

  static async openAsync(path: string, mode: OpenMode = "r", options: OpenOptions = {}): Promise<H5File> {
    const abs = resolve(path);
    if (!(mode in MODE)) throw new TypeError(`mode must be "r", "r+", "w" or "x", got ${JSON.stringify(mode)}`);
    if (mode === "r" || mode === "r+") assertRegularFile(abs);
    const handle = await callAsync(abs, () => native.openAsync(abs, MODE[mode], options.locking ?? true));
    return new H5File(abs, mode, handle);
  }

  /** Members (names and kinds) of several groups, on the thread pool. */
  async membersAsync(groups: string[]): Promise<{ name: string; kind: ObjectKind }[][]> {
    const h = this.#h();
    const lists = await callAsync(this.path, () => native.listAsync(h, groups));
    return lists.map(([names, kinds]) => names.map((name, i) => ({ name, kind: KIND[kinds[i]!] ?? "other" })));
  }

  /** Attributes of several objects, on the thread pool. */
  async attrsAsync(paths: string[]): Promise<Record<string, string>[]> {
    const h = this.#h();
    const packed = await callAsync(this.path, () => native.readAttrsAsync(h, paths));
    return packed.map(unpackAttrs);
  }

  /**
   * Reads several numeric datasets (and their attributes) on the thread pool
   * in one trip; each array is the memory libhdf5 read into (no copy).
   */
  async readManyAsync(paths: string[], withAttrs: boolean, maxElements = MAX_ELEMENTS): Promise<(RawData & { attrs: Record<string, string> })[]> {
    const h = this.#h();
    const read = await callAsync(this.path, () => native.readManyAsync(h, paths, maxElements, withAttrs));
    return read.map(([data, shape, packed]) => ({ data, shape, attrs: withAttrs ? unpackAttrs(packed) : {} }));
  }

  /** {@link H5File.setAttrs} on the thread pool; with `flush`, also flushes the file. */
  async setAttrsAsync(path: string, attrs: Record<string, string>, flush = false): Promise<void> {
    const h = this.#h();
    const names = Object.keys(attrs);
    const values = names.map((k) => attrs[k]!);
    await callAsync(this.path, () => native.writeAttrsAsync(h, path, names, values, flush));
  }

  /** Whether the file is still open. */
  get isOpen(): boolean {
    return this.#handle !== null && native.isOpen(this.#handle);
  }

  #h(): NativeFile {
    if (this.#handle === null) throw new ClosedError(`the HDF5 file ${this.path}`);
    return this.#handle;
  }

  /** Closes the file; calling it again does nothing. */
  close(): void {
    const handle = this.#handle;
    if (handle === null) return;
    this.#handle = null;
    call(this.path, () => native.close(handle));
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Names of a group's members in name order (h5py's `keys()`). */
  keys(group = "/"): string[] {
    const h = this.#h();
    return call(this.path, () => native.list(h, group));
  }

  /** Names and kinds of a group's members, in name order. */
  members(group = "/"): { name: string; kind: ObjectKind }[] {
    const h = this.#h();
    const [names, kinds] = call(this.path, () => native.list(h, group, true));
    return names.map((name, i) => ({ name, kind: KIND[kinds[i]!] ?? "other" }));
  }

  /** Kind of the object at `path`, or undefined when there is none. */
  kind(path: string): ObjectKind | undefined {
    const h = this.#h();
    const k = call(this.path, () => native.kind(h, path));
    return k < 0 ? undefined : KIND[k];
  }

  /** All attributes of an object as text (one native call). */
  attrs(path: string): Record<string, string> {
    const h = this.#h();
    return unpackAttrs(call(this.path, () => native.readAttrs(h, path)));
  }

  /**
   * Attributes of an object, the names of those not stored as h5py stores a
   * str (scalar variable-length UTF-8), and for a dataset whether it is stored
   * as h5py stores a float64 array (little-endian, contiguous, unfiltered).
   */
  inspect(path: string): { attrs: Record<string, string>; nonStandard: string[]; plainFloat64: boolean | null } {
    const h = this.#h();
    const [packed, nonStandard, plain] = call(this.path, () => native.inspect(h, path));
    return { attrs: unpackAttrs(packed), nonStandard: nonStandard === "" ? [] : nonStandard.slice(0, -1).split("\0"), plainFloat64: plain };
  }

  /** Writes string attributes as h5py writes a Python str (variable-length UTF-8). */
  setAttrs(path: string, attrs: Record<string, string>): void {
    const h = this.#h();
    const names = Object.keys(attrs);
    const values = names.map((k) => {
      const v = attrs[k];
      if (typeof v !== "string") throw new TypeError(`expected a string for attribute ${JSON.stringify(k)}, got ${typeof v}`);
      return v;
    });
    call(this.path, () => native.writeAttrs(h, path, names, values));
  }

  /** Deletes one attribute (a missing one is not an error). */
  deleteAttr(path: string, name: string): void {
    const h = this.#h();
    call(this.path, () => native.deleteAttr(h, path, name));
  }

  /** Reads a numeric dataset of any type, layout and filter as float64. */
  read(path: string, maxElements = MAX_ELEMENTS): RawData {
    const h = this.#h();
    const [data, shape] = call(this.path, () => native.readData(h, path, maxElements));
    return { data, shape };
  }

  /** Reads a numeric dataset and its attributes with one open of the dataset. */
  readWithAttrs(path: string, maxElements = MAX_ELEMENTS): RawData & { attrs: Record<string, string> } {
    const h = this.#h();
    const [data, shape, packed] = call(this.path, () => native.readDataWithAttrs(h, path, maxElements));
    return { data, shape, attrs: unpackAttrs(packed) };
  }

  /** Shape of a numeric dataset, without reading it. */
  shape(path: string): number[] {
    const h = this.#h();
    return call(this.path, () => native.shape(h, path));
  }

  /** Creates a group. */
  createGroup(path: string): void {
    const h = this.#h();
    call(this.path, () => native.createGroup(h, path));
  }

  /** Creates a contiguous float64 dataset holding `data` with `shape`. */
  createDataset(path: string, data: Float64Array, shape: number[]): void {
    const h = this.#h();
    call(this.path, () => native.createDataset(h, path, data, shape));
  }

  /** Overwrites a whole dataset; `shape` must equal the stored shape. */
  write(path: string, data: Float64Array, shape: number[]): void {
    const h = this.#h();
    call(this.path, () => native.writeData(h, path, data, shape));
  }

  /**
   * Copies an object and everything below it into another open file
   * (H5Ocopy, after checks that it will not crash libhdf5). With
   * `attributes: false`, without any attribute: libhdf5 1.10.8 can crash
   * copying variable-length attributes kept in dense storage, so a caller
   * that writes the attributes itself leaves them out.
   */
  copyTo(srcPath: string, target: H5File, dstPath: string, options: { attributes?: boolean } = {}): void {
    const h = this.#h();
    const t = target.#h();
    if (options.attributes === false) call(this.path, () => native.spliceCopyWithoutAttrs(h, srcPath, t, dstPath));
    else call(this.path, () => native.copy(h, srcPath, t, dstPath));
  }

  /** Renames a link. */
  move(from: string, to: string): void {
    const h = this.#h();
    call(this.path, () => native.move(h, from, to));
  }

  /** Removes a link. */
  remove(path: string): void {
    const h = this.#h();
    call(this.path, () => native.remove(h, path));
  }

  /** Flushes everything written so far to disk. */
  flush(): void {
    const h = this.#h();
    call(this.path, () => native.flush(h));
  }
}

/**
 * Opens an HDF5 file for reading in single-writer/multiple-reader mode with
 * the latest format bounds, as offspect's `read_file`.
 */
export function readFile(path: string, options: OpenOptions = {}): H5File {
  return H5File.open(path, "r", options);
}

/** Opens an HDF5 file for reading and writing, as offspect's `write_file`. */
export function writeFile(path: string, options: OpenOptions = {}): H5File {
  return H5File.open(path, "r+", options);
}

/** Number of HDF5 files and objects open in this process (for leak checks). */
export function openObjectCount(): number {
  return native.objectCount();
}

/** Version of the libhdf5 the binding runs on. */
export function hdf5Version(): string {
  return native.libraryVersion();
}
