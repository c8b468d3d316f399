/**
 * Reading one HDF5 file, wherever its bytes come from.
 *
 * Where a read's bytes come from is decided here and nowhere else: the
 * format module (src/hdf5/format/) parses the file and answers everything it
 * supports (groups, attributes, and values stored whole in the file); libhdf5
 * reads what the module leaves to it (chunked or filtered values, and every
 * read of a file or object the module declines), each such fallback reported
 * through `onFallback`; and a file the module finds damaged is never handed
 * to libhdf5 (CorruptFileError).
 * @internal
 * @module
 */
import { read } from "node:fs";
import { CorruptFileError, fromErrno, LayoutError, NotHdf5Error, TruncatedFileError } from "../base/errors.js";
import { H5File, MAX_ELEMENTS, type ObjectKind, type RawData } from "./file.js";
import { FormatDamage, FormatNotHdf5, FormatTruncated, FormatUnsupported, FormatValueError } from "./format/errors.js";
import { type FormatCaches, FormatFile, isLittleFloat64, type ValuesLocation, valuesFrom } from "./format/file.js";
import type { Member } from "./format/group.js";
import { setOwn } from "../base/own.js";

/** A read the format module left to libhdf5, and why. */
export interface FallbackEvent {
  file: string;
  /** "file": the module declined the whole file; "object": one object's attributes or members; "values": a dataset's values. */
  scope: "file" | "object" | "values";
  path?: string;
  reason: string;
}

export interface SourceOptions {
  /** Read through this descriptor (the caller's, e.g. one holding a lock) instead of opening the file. */
  fd?: number;
  /** Told about every read that libhdf5 makes instead of the format module. */
  onFallback?: (event: FallbackEvent) => void;
  /**
   * libhdf5's handle to use for the reads the format module leaves to it
   * (the caller's, e.g. a writer's: libhdf5 refuses a second handle on a file
   * opened with other locking flags); the source does not close it.
   */
  libhdf5?: H5File;
  /**
   * Whether the handle libhdf5 opens itself takes libhdf5's own lock
   * (default true; false under this library's exclusive lock, which a
   * second lock of this process's would wait for forever).
   */
  libhdf5Locking?: boolean;
  /** Keep every object parsed (for a writer, which reads each object it changes twice), not only the latest few thousand. */
  keepObjects?: boolean;
  /**
   * What an earlier source of the same file parsed (the caller vouches that
   * nothing at those addresses changed): used, and added to.
   */
  caches?: FormatCaches;
  /**
   * Where objects are, by path, as an earlier source of the same unchanged
   * file learnt them (the caller vouches that the file did not change): the
   * source uses it and adds what it learns.
   */
  addresses?: Map<string, number>;
}

/** What the format module's errors mean to a user. */
function mapFormatError(e: unknown, file: string): unknown {
  if (e instanceof FormatDamage) return new CorruptFileError(file, e.message);
  if (e instanceof FormatTruncated) return new TruncatedFileError(file, e.message);
  if (e instanceof FormatNotHdf5) return new NotHdf5Error(file, e.message);
  if (e instanceof FormatValueError) return new LayoutError(file, e.message, e.code);
  return fromErrno(e, file, "read");
}

/**
 * Reads `length` bytes at `offset` on the thread pool: into a Float64Array
 * of `float64s` values (stored as such), or raw bytes when `float64s` < 0.
 */
function readAt(fd: number, offset: number, length: number, float64s: number, file: string): Promise<Float64Array | Uint8Array> {
  const target = float64s >= 0 ? new Float64Array(float64s) : new Uint8Array(length);
  const bytes = new Uint8Array(target.buffer, 0, length);
  return new Promise((resolve, reject) => {
    const step = (done: number) => {
      read(fd, bytes, done, length - done, offset + done, (err, n) => {
        if (err) reject(mapFormatError(err, file));
        else if (n === 0) reject(new TruncatedFileError(file, `it ended at ${offset + done} bytes while a trace was read from it`));
        else if (done + n < length) step(done + n);
        else resolve(target);
      });
    };
    step(0);
  });
}

/** A dataset's values to be read from the file, the `i`-th of a batch. */
interface FileRead {
  i: number;
  at: Extract<ValuesLocation, { stored: "file" }>;
}

/** At most this many bytes between two datasets' values read in one piece. */
const MAX_GAP = 16 * 1024;
/** At most this many bytes read in one piece. */
const MAX_RUN = 8 * 1024 * 1024;

/**
 * The reads of a batch, in runs of values stored in file order with at most
 * {@link MAX_GAP} bytes between them (and at most {@link MAX_RUN} in all),
 * each run one read.
 */
function adjacentRuns(reads: FileRead[]): FileRead[][] {
  const sorted = [...reads].sort((a, b) => a.at.offset - b.at.offset);
  const runs: FileRead[][] = [];
  let run: FileRead[] = [];
  let end = 0;
  for (const r of sorted) {
    const start = run[0]?.at.offset ?? 0;
    if (run.length > 0 && (r.at.offset < end || r.at.offset - end > MAX_GAP || r.at.offset + r.at.length - start > MAX_RUN)) {
      runs.push(run);
      run = [];
    }
    run.push(r);
    end = r.at.offset + r.at.length;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

const KIND_OF_TARGET = (m: Member, kind: (addr: number) => ObjectKind): ObjectKind => (m.target.type === "hard" ? kind(m.target.addr) : "other");

/**
 * One HDF5 file open for reading. Paths are absolute ("/origin/traces/3").
 * Close it (or `using`) when done; it holds a descriptor, and a libhdf5
 * handle when libhdf5 was needed.
 */
export class Hdf5Source implements Disposable {
  readonly path: string;
  /** Why the format module declined the whole file (libhdf5 reads everything then), or undefined. */
  readonly declined: string | undefined;
  readonly #format: FormatFile | undefined;
  readonly #onFallback: ((event: FallbackEvent) => void) | undefined;
  #libhdf5: H5File | undefined;
  readonly #ownsLibhdf5: boolean;
  readonly #libhdf5Locking: boolean;
  readonly #addresses: Map<string, number>;

  private constructor(path: string, format: FormatFile | undefined, declined: string | undefined, options: SourceOptions) {
    this.path = path;
    this.#format = format;
    this.declined = declined;
    this.#onFallback = options.onFallback;
    this.#addresses = options.addresses ?? new Map();
    this.#libhdf5 = options.libhdf5;
    this.#ownsLibhdf5 = options.libhdf5 === undefined;
    this.#libhdf5Locking = options.libhdf5Locking ?? true;
    if (format) this.#addresses.set("/", format.root);
  }

  /**
   * Opens `path` for reading.
   * @throws {NotHdf5Error} / {TruncatedFileError} / {CorruptFileError} / {FileNotFoundError} / {PermissionError}
   */
  static open(path: string, options: SourceOptions = {}): Hdf5Source {
    let format: FormatFile;
    try {
      format = FormatFile.open(path, options.fd, options.caches);
    } catch (e) {
      if (!(e instanceof FormatUnsupported)) throw mapFormatError(e, path);
      const source = new Hdf5Source(path, undefined, e.message, options);
      options.onFallback?.({ file: path, scope: "file", reason: e.message });
      return source;
    }
    if (options.keepObjects) format.maxObjects = Infinity;
    return new Hdf5Source(path, format, undefined, options);
  }

  /** The addresses this source knows (to hand to a later source of the unchanged file). @internal */
  get addresses(): Map<string, number> {
    return this.#addresses;
  }

  /** What the format module parsed of the file (to hand to a later source of the unchanged file), or undefined when it declined the file. @internal */
  get caches(): FormatCaches | undefined {
    return this.#format?.caches;
  }

  /** The format module's view of the file, or undefined when it declined the file. @internal */
  get format(): FormatFile | undefined {
    return this.#format;
  }

  close(): void {
    this.#format?.close();
    const h = this.#libhdf5;
    this.#libhdf5 = undefined;
    if (this.#ownsLibhdf5) h?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** libhdf5's handle on the file, opened on first need (read-only, SWMR-read, as offspect's read_file). */
  #h5(): H5File {
    this.#libhdf5 ??= H5File.open(this.path, "r", { locking: this.#libhdf5Locking });
    return this.#libhdf5;
  }

  /**
   * Runs a read through the format module; falls back to libhdf5 (reported)
   * when the module declines it, and maps damage to CorruptFileError.
   */
  #read<T>(path: string, scope: "object" | "values", byModule: (f: FormatFile) => T, byLibhdf5: (h: H5File) => T): T {
    const f = this.#format;
    if (!f) return byLibhdf5(this.#h5());
    try {
      return byModule(f);
    } catch (e) {
      if (!(e instanceof FormatUnsupported)) throw mapFormatError(e, this.path);
      this.#onFallback?.({ file: this.path, scope, path, reason: e.message });
      return byLibhdf5(this.#h5());
    }
  }

  /** Address of the object at `path` in the format module's view, or undefined when absent. */
  #address(f: FormatFile, path: string): number | undefined {
    const known = this.#addresses.get(path);
    if (known !== undefined) return known;
    const slash = path.lastIndexOf("/");
    const parent = slash <= 0 ? "/" : path.slice(0, slash);
    const parentAddr = this.#address(f, parent);
    if (parentAddr === undefined) return undefined;
    if (f.object(parentAddr, parent).kind !== "group") return undefined;
    this.#remember(f, parent, parentAddr);
    return this.#addresses.get(path);
  }

  /** Lists a group once and remembers its members' addresses. */
  #remember(f: FormatFile, group: string, addr: number): Member[] {
    const members = f.members(addr, group).byName;
    const prefix = group === "/" ? "/" : `${group}/`;
    for (const m of members) if (m.target.type === "hard") this.#addresses.set(prefix + m.name, m.target.addr);
    return members;
  }

  #mustAddress(f: FormatFile, path: string): number {
    const addr = this.#address(f, path);
    if (addr === undefined) throw new LayoutError(this.path, `${path} does not exist`, "ENOTFOUND");
    return addr;
  }

  /** Members of a group (names and kinds) in increasing name order, as libhdf5's name index lists them. */
  members(group: string): { name: string; kind: ObjectKind }[] {
    return this.#read(
      group,
      "object",
      (f) => {
        const addr = this.#mustAddress(f, group);
        const members = this.#remember(f, group, addr);
        const prefix = group === "/" ? "/" : `${group}/`;
        return members.map((m) => ({ name: m.name, kind: KIND_OF_TARGET(m, (a) => f.kind(a, prefix + m.name)) }));
      },
      (h) => h.members(group),
    );
  }

  /**
   * Names of a group's members in the order h5py iterates them: creation
   * order for a group that tracks it, otherwise name order; the root in name
   * order always (h5py lists a File's members by name).
   */
  keys(group: string): string[] {
    return this.#read(
      group,
      "object",
      (f) => {
        const addr = this.#mustAddress(f, group);
        const listed = f.members(addr, group);
        this.#remember(f, group, addr);
        const members = group !== "/" && listed.orderTracked ? [...listed.byName].sort((a, b) => a.creationOrder - b.creationOrder) : listed.byName;
        return members.map((m) => m.name);
      },
      (h) => h.keys(group),
    );
  }

  /** Kind of the object at `path`, or undefined when there is none. */
  kind(path: string): ObjectKind | undefined {
    return this.#read(
      path,
      "object",
      (f) => {
        const addr = this.#address(f, path);
        return addr === undefined ? undefined : f.object(addr, path).kind;
      },
      (h) => h.kind(path),
    );
  }

  /** Every attribute of an object as text, in h5py's order (`only`: just those of these names). */
  attrs(path: string, only?: ReadonlySet<string>): Record<string, string> {
    return this.#read(
      path,
      "object",
      (f) => {
        const out: Record<string, string> = {};
        for (const a of f.attributes(this.#mustAddress(f, path), path, only)) {
          setOwn(out, a.name, a.value);
        }
        return out;
      },
      (h) => {
        const all = h.attrs(path);
        if (!only) return all;
        const out: Record<string, string> = {};
        for (const k of only) if (Object.hasOwn(all, k)) setOwn(out, k, all[k]!);
        return out;
      },
    );
  }

  /** Shape of a numeric dataset, without reading it. */
  shape(path: string, maxElements = MAX_ELEMENTS): number[] {
    return this.#read(path, "object", (f) => f.shape(this.#mustAddress(f, path), path, maxElements), (h) => h.shape(path));
  }

  /** A numeric dataset's values as float64, with its shape. */
  read(path: string, maxElements = MAX_ELEMENTS): RawData {
    const f = this.#format;
    if (!f) return this.#h5().read(path, maxElements);
    let addr: number;
    let values;
    try {
      addr = this.#mustAddress(f, path);
      values = f.values(addr, path, maxElements);
    } catch (e) {
      if (!(e instanceof FormatUnsupported)) throw mapFormatError(e, this.path);
      this.#onFallback?.({ file: this.path, scope: "values", path, reason: e.message });
      return this.#h5().read(path, maxElements);
    }
    if ("data" in values) return values;
    this.#preflight(f, addr, path);
    this.#onFallback?.({ file: this.path, scope: "values", path, reason: values.libhdf5 });
    return this.#h5().read(path, maxElements);
  }

  /**
   * {@link read} for several datasets, with the file reads on libuv's thread
   * pool (the format module's parse, a few microseconds a trace, stays on
   * the caller's thread).
   */
  async readManyAsync(paths: string[], maxElements = MAX_ELEMENTS): Promise<RawData[]> {
    const f = this.#format;
    if (!f) return this.#h5().readManyAsync(paths, maxElements);
    const out: (RawData | Promise<RawData> | undefined)[] = [];
    // Every read started here settles before this returns or throws: the
    // descriptor may be closed (and its number reused) right after.
    try {
      const viaLibhdf5: number[] = [];
      const inFile: FileRead[] = [];
      for (let i = 0; i < paths.length; i++) {
        const path = paths[i]!;
        let addr: number;
        let at: ValuesLocation;
        try {
          addr = this.#mustAddress(f, path);
          at = f.locate(addr, path, maxElements);
        } catch (e) {
          if (!(e instanceof FormatUnsupported)) throw mapFormatError(e, this.path);
          this.#onFallback?.({ file: this.path, scope: "values", path, reason: e.message });
          viaLibhdf5.push(i);
          out.push(undefined);
          continue;
        }
        if ("libhdf5" in at) {
          this.#preflight(f, addr, path);
          this.#onFallback?.({ file: this.path, scope: "values", path, reason: at.libhdf5 });
          viaLibhdf5.push(i);
          out.push(undefined);
        } else if (at.stored !== "file") {
          out.push({ data: valuesFrom(at, null), shape: at.shape });
        } else {
          inFile.push({ i, at });
          out.push(undefined);
        }
      }
      for (const run of adjacentRuns(inFile)) {
        const first = run[0]!.at;
        if (run.length === 1) {
          const float64s = isLittleFloat64(first.type) ? first.count : -1;
          out[run[0]!.i] = readAt(f.reader.fd, first.offset, first.length, float64s, this.path).then((raw) => ({
            data: raw instanceof Float64Array ? raw : valuesFrom(first, raw),
            shape: first.shape,
          }));
          continue;
        }
        // One read for traces stored close together (a batch of an offspect file: each
        // trace's samples a few hundred bytes after the last one's), each copied out of it.
        const last = run[run.length - 1]!.at;
        const span = readAt(f.reader.fd, first.offset, last.offset + last.length - first.offset, -1, this.path);
        span.catch(() => undefined); // surfaced through each trace's promise
        for (const { i, at } of run) {
          out[i] = span.then((raw) => {
            const bytes = (raw as Uint8Array).subarray(at.offset - first.offset, at.offset - first.offset + at.length);
            if (!isLittleFloat64(at.type)) return { data: valuesFrom(at, bytes), shape: at.shape };
            const data = new Float64Array(at.count);
            new Uint8Array(data.buffer).set(bytes);
            return { data, shape: at.shape };
          });
        }
      }
      if (viaLibhdf5.length > 0) {
        const read = await this.#h5().readManyAsync(viaLibhdf5.map((i) => paths[i]!), maxElements);
        viaLibhdf5.forEach((i, k) => (out[i] = { data: read[k]!.data, shape: read[k]!.shape }));
      }
    } catch (e) {
      await Promise.allSettled(out);
      throw e;
    }
    const settled = await Promise.allSettled(out as (RawData | Promise<RawData>)[]);
    return settled.map((r) => {
      if (r.status === "rejected") throw r.reason;
      return r.value;
    });
  }

  /** {@link FormatFile.preflight}, its damage as the error a user gets. */
  #preflight(f: FormatFile, addr: number, path: string): void {
    try {
      f.preflight(addr, path);
    } catch (e) {
      if (e instanceof FormatUnsupported) return;
      throw mapFormatError(e, this.path);
    }
  }

}
