/**
 * CacheFile: the evoked-potential traces of one subject and their
 * annotations, as offspect's `offspect.cache.file.CacheFile`.
 *
 * The file's structure (origins and traces) is indexed once and kept while
 * the file's identity, size, modification and change times stay the same, so
 * every access by index is O(1); any change made by another process (offspect
 * included) is noticed by the next call. An open read handle is kept only
 * within one turn of the event loop and released as soon as control returns,
 * so offspect's viewer or another script can write the file in between.
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { extname, resolve } from "node:path";
import {
  CacheFileError,
  ClosedError,
  CorruptFileError,
  FileInUseError,
  FileNotFoundError,
  ForeignAttributesError,
  IndexRangeError,
  IndexTypeError,
  InvalidAttributeError,
  InvalidSuffixError,
  LayoutError,
  NotHdf5Error,
  PermissionError,
  ShapeMismatchError,
  describe,
} from "./errors.js";
import { H5File, unpackAttrs, type ObjectKind, type RawData } from "./h5.js";
import { Kind, native, type NativeSpliceReport } from "./native.js";
import { normalizeAttrValue, parseAttrValue, pyToJs } from "./pyliteral.js";
import { checkValue, getReadout, traceKeySpecs, TRANSIENT_KEYS } from "./readouts.js";

/** The valid suffix of a CacheFile. */
export const VALID_SUFFIX = ".hdf5";

/**
 * The data of one trace: `shape` is [samples, channels], `data` row-major
 * (as h5py/numpy), float64 whatever the stored type. It is a fresh read: the
 * object and its shape are frozen, and changing the numbers in `data` never
 * changes the file.
 */
export interface TraceData {
  readonly data: Float64Array;
  readonly shape: readonly [number, number];
}

/** A trace's attributes: every value is text (see encode/decode). */
export type TraceAttributes = Record<string, string>;

/** What a write of attributes did. */
export interface WriteResult {
  /** Keys whose stored value changed. */
  written: string[];
  /** Keys whose value differed from the stored one but are not trace keys of the readout, so were not written. */
  ignored: string[];
}

export interface CacheFileOptions {
  /**
   * How long a call waits for another process's conflicting lock on the file
   * to go (a writer, for reads; any other user, for writes), in milliseconds
   * (default 2000). Then it throws {@link FileInUseError}.
   */
  lockTimeout?: number;
}

/** A file's identity and change stamp: "dev:ino:size:mtime:ctime" (native stat). */
type Stamp = string;

interface Index {
  origins: string[];
  /** Index of each trace's origin in `origins`. */
  traceOrigin: number[];
  /** HDF5 path of each trace's dataset. */
  tracePath: string[];
  /** Number of traces per origin. */
  counts: number[];
}

function stampOf(fname: string): Stamp {
  const stamp = native.stamp(fname);
  if (stamp === undefined) throw new FileNotFoundError(fname);
  return stamp;
}

function sameStamp(a: Stamp | undefined, b: Stamp | undefined): boolean {
  return a !== undefined && a === b;
}

const RE_TRACE_NAME = /^-?[0-9]+$/;

/** offspect's order of trace names: by numeric value (then by name, for "7" and "07"). */
function compareTraceNames(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  if (x !== y) return x < y ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

type Members = { name: string; kind: string }[];

/**
 * Sequential reads switch to one parse of the whole file once a CacheFile
 * has read this many consecutive traces' attributes in order with its
 * current handle, for files of at least SCAN_MIN_TRACES traces; single and
 * random reads stay one native call each (O(1)).
 */
const SCAN_AFTER = 32;
const SCAN_MIN_TRACES = 64;
const SCAN_DEPTH = 3; // root 0, origin 1, traces 2, trace 3

/**
 * Every trace's attributes (packed, by dataset path) from one parse of the
 * file by the splice parser (native/splice.cc), which reads what libhdf5
 * reads (the tests compare every fixture) about ten times faster. Traces with
 * attributes h5py would not have written as str are left out (read through
 * libhdf5, which reports them); null when the parser does not support the
 * file or fails (everything is then read through libhdf5).
 */
function scanned(result: [Buffer] | [string]): ScannedAttrs | null {
  const buf = result[0];
  return typeof buf === "string" ? null : new ScannedAttrs(buf);
}

/** The records of native.spliceScanAttrs, decoded one trace at a time. */
class ScannedAttrs {
  readonly #buf: Buffer;
  readonly #at = new Map<string, number>();

  constructor(buf: Buffer) {
    this.#buf = buf;
    for (let p = 0; p + 4 <= buf.length; ) {
      const pathLength = buf.readUInt32LE(p);
      const path = buf.toString("utf8", p + 4, p + 4 + pathLength);
      p += 4 + pathLength;
      this.#at.set(path, p);
      p += 4 + buf.readUInt32LE(p);
    }
  }

  has(path: string): boolean {
    return this.#at.has(path);
  }

  /** A trace's attributes, packed as native.readAttrs packs them. */
  get(path: string): string | undefined {
    const p = this.#at.get(path);
    return p === undefined ? undefined : this.#buf.toString("utf8", p + 4, p + 4 + this.#buf.readUInt32LE(p));
  }
}

function scanTraces(fname: string): ScannedAttrs | null {
  try {
    return scanned(native.spliceScanAttrs(fname, SCAN_DEPTH, SCAN_DEPTH));
  } catch {
    return null;
  }
}

async function scanTracesAsync(fname: string): Promise<ScannedAttrs | null> {
  try {
    return scanned(await native.spliceScanAttrsAsync(fname, SCAN_DEPTH, SCAN_DEPTH));
  } catch {
    return null;
  }
}

/**
 * The index from the listings of the root, of each origin group and of each
 * `traces` group, checking the layout on the way.
 */
function indexFrom(file: string, root: Members, listOrigin: (origin: string) => Members, listTraces: (origin: string) => Members): Index {
  const index: Index = { origins: [], traceOrigin: [], tracePath: [], counts: [] };
  for (const { name, kind } of root) {
    if (kind !== "group") {
      throw new LayoutError(file, `/${name} is a ${kind}, but the root may only hold origin groups`, "ENOTORIGIN");
    }
    const tracesPath = `/${name}/traces`;
    const tracesKind = listOrigin(name).find((m) => m.name === "traces")?.kind;
    if (tracesKind !== "group") {
      throw new LayoutError(
        file,
        tracesKind === undefined ? `origin ${JSON.stringify(name)} has no "traces" group` : `${tracesPath} is a ${tracesKind}, expected a group of traces`,
        "ENOTRACES",
      );
    }
    const traces = listTraces(name);
    for (const t of traces) {
      if (t.kind !== "dataset") {
        throw new LayoutError(file, `${tracesPath}/${t.name} is a ${t.kind}, expected a trace dataset`, "ENOTDATASET");
      }
      if (!RE_TRACE_NAME.test(t.name)) {
        throw new LayoutError(file, `${tracesPath}/${t.name} is not named by an integer trace id`, "ETRACENAME");
      }
    }
    const names = traces.map((t) => t.name).sort(compareTraceNames);
    const o = index.origins.length;
    index.origins.push(name);
    index.counts.push(names.length);
    for (const n of names) {
      index.traceOrigin.push(o);
      index.tracePath.push(`${tracesPath}/${n}`);
    }
  }
  return index;
}

function buildIndex(f: H5File): Index {
  return indexFrom(
    f.path,
    f.members("/"),
    (origin) => f.members(`/${origin}`),
    (origin) => f.members(`/${origin}/traces`),
  );
}

const KIND_NAMES: Record<number, ObjectKind> = { [Kind.Group]: "group", [Kind.Dataset]: "dataset", [Kind.Datatype]: "datatype" };

/**
 * The index from the splice parser's listing of the file's first three
 * levels (about twice as fast as listing them through libhdf5, and checked:
 * structures whose bytes contradict the format, on which libhdf5 can hang,
 * give CorruptFileError). undefined when the parser does not support the
 * file (libhdf5 lists it then).
 */
function indexFromScan(fname: string, report: NativeSpliceReport): Index | undefined {
  if (report[0] !== null) {
    if (report[2]) throw new CorruptFileError(fname, report[0]);
    return undefined;
  }
  const members = new Map<string, Members>();
  for (const [path, kind] of report[1]) {
    if (path === "/") continue;
    const slash = path.lastIndexOf("/");
    const parent = slash === 0 ? "/" : path.slice(0, slash);
    let list = members.get(parent);
    if (!list) members.set(parent, (list = []));
    list.push({ name: path.slice(slash + 1), kind: KIND_NAMES[kind] ?? "other" });
  }
  return indexFrom(
    fname,
    members.get("/") ?? [],
    (origin) => members.get(`/${origin}`) ?? [],
    (origin) => members.get(`/${origin}/traces`) ?? [],
  );
}

function scanIndex(fname: string): Index | undefined {
  let report: NativeSpliceReport;
  try {
    report = native.spliceScan(fname, SCAN_DEPTH, 0);
  } catch {
    return undefined; // not parsed: libhdf5 lists it and reports what is wrong
  }
  return indexFromScan(fname, report);
}

async function scanIndexAsync(fname: string): Promise<Index | undefined> {
  let report: NativeSpliceReport;
  try {
    report = await native.spliceScanAsync(fname, SCAN_DEPTH, 0);
  } catch {
    return undefined;
  }
  return indexFromScan(fname, report);
}

async function buildIndexAsync(f: H5File): Promise<Index> {
  const [root] = await f.membersAsync(["/"]);
  const groups = root!.filter((m) => m.kind === "group").map((m) => m.name);
  const originLists = await f.membersAsync(groups.map((o) => `/${o}`));
  const originMembers = new Map(groups.map((o, i) => [o, originLists[i]!]));
  const withTraces = groups.filter((o) => originMembers.get(o)!.some((m) => m.name === "traces" && m.kind === "group"));
  const traceLists = await f.membersAsync(withTraces.map((o) => `/${o}/traces`));
  const traceMembers = new Map(withTraces.map((o, i) => [o, traceLists[i]!]));
  return indexFrom(
    f.path,
    root!,
    (origin) => originMembers.get(origin) ?? [],
    (origin) => traceMembers.get(origin) ?? [],
  );
}

function expandUser(p: string): string {
  if (p === "~") return homedir();
  if (p.startsWith("~/")) return homedir() + p.slice(1);
  return p;
}

function toPath(fname: unknown): string {
  if (typeof fname === "string") return fname;
  if (fname instanceof URL) return fname.pathname;
  throw new TypeError(`expected a file name (string), got ${describe(fname)}`);
}

/**
 * Checks that a file name ends in `.hdf5`.
 * @throws {InvalidSuffixError}
 */
export function checkValidSuffix(fname: string): void {
  const suffix = extname(toPath(fname));
  if (suffix !== VALID_SUFFIX) throw new InvalidSuffixError(resolve(fname), suffix);
}

function checkIndexType(idx: unknown): number {
  if (typeof idx !== "number" || !Number.isInteger(idx)) throw new IndexTypeError(idx);
  return idx;
}

/** offspect's `isindex`: text of a non-negative integer. */
function isIndexText(x: unknown): x is string {
  return typeof x === "string" && /^\s*\+?[0-9]+\s*$/.test(x);
}

function toTraceData(raw: RawData, file: string, path: string): TraceData {
  let shape: [number, number];
  if (raw.shape.length === 2) shape = [raw.shape[0]!, raw.shape[1]!];
  else if (raw.shape.length === 1) shape = [raw.shape[0]!, 1];
  else {
    throw new LayoutError(file, `${path} has ${raw.shape.length} dimensions, expected samples x channels`, "ERANK");
  }
  return Object.freeze({ data: raw.data, shape: Object.freeze(shape) });
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// Read handles held by CacheFile objects, by file, so that a write in this
// process can ask them to let go first (libhdf5 refuses to open a file for
// writing while this process has it open read-only).
const holders = new Map<string, Set<{ releaseReader(): void }>>();

function releaseHolders(fname: string): void {
  for (const holder of holders.get(fname) ?? []) holder.releaseReader();
}

/**
 * Opens a file for reading, waiting up to `timeout` ms while a writer of this
 * library (in any process) waits for or holds it, or while any other process
 * holds a conflicting lock.
 * @internal
 */
export function openForRead(fname: string, timeout: number): H5File {
  const deadline = Date.now() + timeout;
  let delay = 0.2;
  const pause = () => {
    sleepSync(Math.min(delay * (0.5 + Math.random()), Math.max(0.1, deadline - Date.now())));
    delay = Math.min(delay * 2, 2);
  };
  for (;;) {
    if (native.writerWaiting(fname) && Date.now() < deadline) {
      pause();
      continue;
    }
    let file: H5File;
    try {
      file = H5File.open(fname, "r");
    } catch (e) {
      if (!(e instanceof FileInUseError) || Date.now() >= deadline) throw e;
      pause();
      continue;
    }
    // A writer may have announced itself between the check and the open: let it go first.
    if (!native.writerWaiting(fname) || Date.now() >= deadline) return file;
    file.close();
    pause();
  }
}

const pauseAsync = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** {@link openForRead} without blocking the event loop. @internal */
export async function openForReadAsync(fname: string, timeout: number): Promise<H5File> {
  const deadline = Date.now() + timeout;
  let delay = 1;
  for (;;) {
    if (native.writerWaiting(fname) && Date.now() < deadline) {
      await pauseAsync(delay);
      delay = Math.min(delay * 2, 4);
      continue;
    }
    let file: H5File;
    try {
      file = await H5File.openAsync(fname, "r");
    } catch (e) {
      if (!(e instanceof FileInUseError) || Date.now() >= deadline) throw e;
      await pauseAsync(delay);
      delay = Math.min(delay * 2, 4);
      continue;
    }
    // A writer may have announced itself between the check and the open: let it go first.
    if (!native.writerWaiting(fname) || Date.now() >= deadline) return file;
    file.close();
    await pauseAsync(delay);
  }
}

/** An open file for writing and the lock that keeps others out. @internal */
export interface Writer {
  file: H5File;
  close(): void;
}

/**
 * Opens a file for writing: announces the intent (so readers of this library
 * let the writer in), waits up to `timeout` ms for every other user of the
 * file to leave (short polls of the same lock libhdf5 takes), then opens it.
 * @throws {FileInUseError} when the file stayed in use for `timeout` ms
 * @internal
 */
export function openForWrite(fname: string, timeout: number): Writer {
  releaseHolders(fname);
  let lock;
  try {
    lock = native.lockAcquire(fname, true, timeout, true);
  } catch (e) {
    throw lockError(e, fname, timeout);
  }
  try {
    const file = H5File.open(fname, "r+", { locking: false });
    return {
      file,
      close: () => {
        try {
          file.close();
        } finally {
          native.lockRelease(lock);
        }
      },
    };
  } catch (e) {
    native.lockRelease(lock);
    throw e;
  }
}

function lockError(e: unknown, fname: string, timeout: number): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "EBUSY") return new FileInUseError(fname, `still in use after ${timeout} ms`);
  if (code === "ENOENT") return new FileNotFoundError(fname);
  if (code === "EACCES" || code === "EROFS") return new PermissionError(fname, (e as Error).message);
  if (code === "EISDIR") return new NotHdf5Error(fname, "it is a directory");
  if (code === "EIO") return new CacheFileError("EIO", `${fname}: cannot lock the file (${(e as Error).message}): check the disk and the mount`, { file: fname });
  return e;
}

/** {@link openForWrite} without blocking the event loop. @internal */
export async function openForWriteAsync(fname: string, timeout: number): Promise<Writer> {
  // Readers of this process wait for this write instead of opening the file
  // again while the lock is awaited on the pool (a streaming loop that writes
  // from inside would otherwise hold the file against its own write).
  let finish!: () => void;
  const pending = new Promise<void>((resolve) => {
    finish = () => {
      if (writesInProcess.get(fname) === pending) writesInProcess.delete(fname);
      resolve();
    };
  });
  writesInProcess.set(fname, pending);
  releaseHolders(fname);
  let lock;
  try {
    lock = await native.lockAcquireAsync(fname, true, timeout, true);
  } catch (e) {
    finish();
    throw lockError(e, fname, timeout);
  }
  try {
    const file = await H5File.openAsync(fname, "r+", { locking: false });
    return {
      file,
      close: () => {
        try {
          file.close();
        } finally {
          native.lockRelease(lock);
          finish();
        }
      },
    };
  } catch (e) {
    native.lockRelease(lock);
    finish();
    throw e;
  }
}

/** Async writes of this process in progress, by file: readers of the file wait for them. */
const writesInProcess = new Map<string, Promise<void>>();

/** Waits until no async write of this process is under way on `fname`. */
async function writesDone(fname: string): Promise<void> {
  for (let w = writesInProcess.get(fname); w; w = writesInProcess.get(fname)) await w;
}

/** Which of `attrs` a write stores: changed trace keys of the readout, checked; the rest ignored. */
function plannedWrite(
  stored: Record<string, string>,
  attrs: TraceAttributes,
  readoutOf: (key: string) => string | undefined,
  fname: string,
): { changed: Record<string, string>; ignored: string[] } {
  const specs = traceKeySpecs(getReadout(readoutOf("readin"), readoutOf("readout")));
  const changed: Record<string, string> = {};
  const ignored: string[] = [];
  const problems = [];
  for (const [key, value] of Object.entries(attrs)) {
    if (TRANSIENT_KEYS.includes(key)) continue;
    if (stored[key] === value) continue;
    const spec = specs[key];
    if (!spec) {
      ignored.push(key);
      continue;
    }
    const problem = checkValue(key, value, spec);
    if (problem) problems.push(problem);
    else changed[key] = value;
  }
  if (problems.length > 0) throw new InvalidAttributeError(problems, fname);
  return { changed, ignored };
}

/** The checks of setTraceAttrs: attributes of this file and this index. */
function checkOrigin(fname: string, i: number, attrs: TraceAttributes): void {
  if (attrs === null || typeof attrs !== "object") {
    throw new TypeError(`expected trace attributes (an object), got ${describe(attrs)}`);
  }
  if (!("cache_file" in attrs) || !("cache_file_index" in attrs)) {
    throw new ForeignAttributesError(
      "These attributes do not originate from a CacheFile: cache_file and cache_file_index are missing; start from getTraceAttrs()",
      fname,
    );
  }
  if (attrs["cache_file"] !== fname) {
    throw new ForeignAttributesError(
      `These attributes did not originate from this CacheFile: they come from ${attrs["cache_file"]}, not ${fname}`,
      fname,
    );
  }
  if (!isIndexText(attrs["cache_file_index"]) || Number(attrs["cache_file_index"]) !== i) {
    throw new ForeignAttributesError(
      `These attributes did originate from a different trace in this CacheFile: trace ${attrs["cache_file_index"]}, not ${i}`,
      fname,
    );
  }
}

const DEFER_OPEN = Symbol("deferOpen");

/**
 * A CacheFile on disk.
 *
 * @example Peek
 * ```ts
 * const cf = new CacheFile("example.hdf5");
 * console.log(cf.toString());
 * ```
 * @example Iterate
 * ```ts
 * for (const [data, attrs] of cf) console.log("rejected?:", attrs.reject);
 * ```
 * @example Manipulate
 * ```ts
 * const attrs = cf.getTraceAttrs(0);
 * attrs.stimulation_intensity_mso = encode(66);
 * cf.setTraceAttrs(0, attrs);
 * ```
 */
export class CacheFile implements Iterable<[TraceData, TraceAttributes]> {
  /** Absolute path of the file. */
  readonly fname: string;
  readonly #lockTimeout: number;
  #index: Index | undefined;
  #indexStamp: Stamp | undefined;
  #reader: H5File | undefined;
  #readerStamp: Stamp | undefined;
  #releaseScheduled = false;
  /** Attributes from one parse of the file, valid while #reader (and its shared lock) is held; see scanTraces. */
  #scan: ScannedAttrs | null | undefined;
  /** Consecutive reads of consecutive traces with the current handle, and the last index read. */
  #scanReads = 0;
  #lastRead = -1;
  #asyncUsers = 0;
  readonly #holder = { releaseReader: () => this.#closeReader() };

  /**
   * Opens a CacheFile and indexes its origins and traces.
   * @throws {FileNotFoundError} (code ENOENT) the file does not exist
   * @throws {InvalidSuffixError} the name does not end in .hdf5
   * @throws {NotHdf5Error} / {TruncatedFileError} / {CorruptFileError} not a readable HDF5 file
   * @throws {LayoutError} an HDF5 file not laid out as a CacheFile (e.g. no `traces` groups)
   */
  constructor(fname: string | URL, options: CacheFileOptions = {}) {
    this.fname = resolve(expandUser(toPath(fname)));
    if (!existsSync(this.fname)) throw new FileNotFoundError(this.fname);
    checkValidSuffix(this.fname);
    this.#lockTimeout = options.lockTimeout ?? 2000;
    if (!(options as { [DEFER_OPEN]?: boolean })[DEFER_OPEN]) this.#open();
  }

  /**
   * Opens and indexes a CacheFile without blocking the event loop (libhdf5
   * works on libuv's thread pool).
   * @example
   * ```ts
   * const cf = await CacheFile.open("session.hdf5");
   * for await (const [data, attrs] of cf.traces({ batch: 64 })) console.log(attrs.id, data.shape);
   * ```
   * @throws the errors of the constructor
   */
  static async open(fname: string | URL, options: CacheFileOptions = {}): Promise<CacheFile> {
    const cf = new CacheFile(fname, { ...options, [DEFER_OPEN]: true } as CacheFileOptions);
    await cf.#useAsync(async () => undefined);
    return cf;
  }

  /** Opens (or reuses) the read handle and a fresh index. */
  #open(): { file: H5File; index: Index } {
    const stamp = stampOf(this.fname);
    if (this.#reader && !sameStamp(stamp, this.#readerStamp)) this.#closeReader();
    if (!this.#reader) {
      this.#reader = openForRead(this.fname, this.#lockTimeout);
      this.#readerStamp = stamp;
      let set = holders.get(this.fname);
      if (!set) holders.set(this.fname, (set = new Set()));
      set.add(this.#holder);
    }
    if (!this.#index || !sameStamp(stamp, this.#indexStamp)) {
      try {
        this.#index = scanIndex(this.fname) ?? buildIndex(this.#reader);
      } catch (e) {
        this.#closeReader();
        throw e;
      }
      this.#indexStamp = stamp;
    }
    this.#scheduleRelease();
    return { file: this.#reader, index: this.#index };
  }

  /** Closes the read handle once the event loop turns, unless async calls still use it. */
  #scheduleRelease(): void {
    if (this.#releaseScheduled) return;
    this.#releaseScheduled = true;
    setImmediate(() => {
      this.#releaseScheduled = false;
      if (this.#asyncUsers === 0) this.#closeReader();
    }).unref();
  }

  /**
   * Runs an async read with the read handle and a fresh index; the handle
   * stays open while any such call runs and is released after the last.
   */
  async #useAsync<T>(fn: (file: H5File, index: Index) => Promise<T>): Promise<T> {
    this.#asyncUsers++;
    try {
      for (let attempt = 0; ; attempt++) {
        const stamp = stampOf(this.fname);
        if (this.#reader && !sameStamp(stamp, this.#readerStamp)) this.#closeReader();
        while (!this.#reader) {
          await writesDone(this.fname);
          const reader = await openForReadAsync(this.fname, this.#lockTimeout);
          // A write of this process that began while the file was being
          // opened found no reader to let go of: let it go now, and wait.
          if (writesInProcess.has(this.fname)) reader.close();
          else if (this.#reader) reader.close();
          else {
            this.#reader = reader;
            this.#readerStamp = stamp;
            let set = holders.get(this.fname);
            if (!set) holders.set(this.fname, (set = new Set()));
            set.add(this.#holder);
          }
        }
        const reader = this.#reader!;
        try {
          if (!this.#index || !sameStamp(stamp, this.#indexStamp)) {
            this.#index = (await scanIndexAsync(this.fname)) ?? (await buildIndexAsync(reader));
            this.#indexStamp = stamp;
          }
          return await fn(reader, this.#index);
        } catch (e) {
          // A synchronous write on this CacheFile closed the handle meanwhile: once more.
          if (e instanceof ClosedError && attempt === 0) continue;
          throw e;
        }
      }
    } finally {
      if (--this.#asyncUsers === 0) this.#scheduleRelease();
    }
  }

  #closeReader(): void {
    this.#scan = undefined;
    this.#scanReads = 0;
    this.#lastRead = -1;
    const reader = this.#reader;
    if (!reader) return;
    this.#reader = undefined;
    const set = holders.get(this.fname);
    set?.delete(this.#holder);
    if (set?.size === 0) holders.delete(this.fname);
    reader.close();
  }

  /**
   * Releases the file now (it is released anyway once control returns to the
   * event loop). The CacheFile stays usable; the next call opens it again.
   */
  close(): void {
    this.#closeReader();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #checkIndex(idx: unknown, index: Index): number {
    const i = checkIndexType(idx);
    if (i < 0 || i >= index.tracePath.length) throw new IndexRangeError(i, index.tracePath.length, this.fname);
    return i;
  }

  #collapse(attrs: Record<string, string>, index: Index, i: number): TraceAttributes {
    attrs["origin"] = index.origins[index.traceOrigin[i]!]!;
    attrs["cache_file"] = this.fname;
    attrs["cache_file_index"] = String(i);
    return attrs;
  }

  /** Number of traces in the file. */
  get length(): number {
    return this.#open().index.tracePath.length;
  }

  /** Names of the origins (source recordings), in the file's order. */
  get origins(): string[] {
    return [...this.#open().index.origins];
  }

  /** Number of traces of each origin, in the order of {@link origins}. */
  get originCounts(): number[] {
    return [...this.#open().index.counts];
  }

  /**
   * The data of one trace, read-only (see {@link TraceData}).
   * @throws {IndexTypeError} idx is not an integer
   * @throws {IndexRangeError} idx is not in 0..length-1
   */
  getTraceData(idx: number): TraceData {
    const { file, index } = this.#open();
    const i = this.#checkIndex(idx, index);
    const path = index.tracePath[i]!;
    return this.#damageGuard(() => toTraceData(file.read(path), this.fname, path));
  }

  /**
   * Runs a read; when libhdf5 found the file damaged, lets go of the handle
   * at once (not when the event loop turns), so that another open of the
   * file in the same turn (merge, a new CacheFile) does not share libhdf5's
   * cached state of the damaged structures.
   */
  /**
   * A trace's attributes from the parse of the whole file, once this handle
   * has read enough traces to be iterating (see SCAN_AFTER); undefined when
   * they are to be read through libhdf5.
   */
  #scannedAttrs(i: number, index: Index): Record<string, string> | undefined {
    const path = index.tracePath[i]!;
    if (this.#scan === undefined) {
      // Only a sequential pass (trace after trace) is worth a parse of the whole file.
      this.#scanReads = i === this.#lastRead + 1 ? this.#scanReads + 1 : 0;
      this.#lastRead = i;
      if (this.#scanReads < SCAN_AFTER || index.tracePath.length < SCAN_MIN_TRACES) return undefined;
      this.#scan = scanTraces(this.fname);
    }
    const packed = this.#scan?.get(path);
    return packed === undefined ? undefined : unpackAttrs(packed);
  }


  #damageGuard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      const code = (e as { code?: unknown })?.code;
      if (code === "ECORRUPT" || code === "ETRUNCATED" || code === "EHDF5") this.#closeReader();
      throw e;
    }
  }

  /**
   * The collapsed attributes of one trace: the trace's own attributes (which
   * include the copied origin attributes) plus `origin`, `cache_file` and
   * `cache_file_index`.
   * @throws {IndexTypeError} idx is not an integer
   * @throws {IndexRangeError} idx is not in 0..length-1
   */
  getTraceAttrs(idx: number): TraceAttributes {
    const { file, index } = this.#open();
    const i = this.#checkIndex(idx, index);
    const path = index.tracePath[i]!;
    return this.#collapse(this.#scannedAttrs(i, index) ?? this.#damageGuard(() => file.attrs(path)), index, i);
  }

  /**
   * Updates a trace's attributes. `attrs` must come from
   * {@link getTraceAttrs} of this file and this index (checked through
   * `cache_file` and `cache_file_index`). Only keys valid for the trace's
   * readout are written, and only where the value changed; every changed value
   * is checked against its readout's type first, and nothing is written when
   * any is invalid.
   *
   * @example
   * ```ts
   * const attrs = cf.getTraceAttrs(3);
   * attrs.reject = encode(true);
   * attrs.comment = "noisy baseline";
   * cf.setTraceAttrs(3, attrs); // { written: ["comment", "reject"], ignored: [] }
   * ```
   * @throws {ForeignAttributesError} attrs are from another file or trace, or lack cache_file/cache_file_index
   * @throws {InvalidAttributeError} a changed value is invalid for the readout
   * @throws {IndexTypeError} / {IndexRangeError} a bad index
   * @throws {FileInUseError} another process kept the file locked for longer than the lock timeout
   */
  setTraceAttrs(idx: number, attrs: TraceAttributes): WriteResult {
    const i = checkIndexType(idx);
    checkOrigin(this.fname, i, attrs);
    return this.writeAttrs(i, attrs);
  }

  /**
   * Writes attributes to trace `idx` with the readout filter and checks of
   * {@link setTraceAttrs}, but without the origin checks.
   * @internal use {@link setTraceAttrs} or {@link updateTraceAttributes}
   */
  writeAttrs(idx: number, attrs: TraceAttributes): WriteResult {
    const i = checkIndexType(idx);
    return this.#withWriter((f, index) => {
      const target = this.#checkIndex(i, index);
      const path = index.tracePath[target]!;
      const stored = f.attrs(path);
      const origin = `/${index.origins[index.traceOrigin[target]!]!}`;
      const { changed, ignored } = plannedWrite(stored, attrs, (key) => stored[key] ?? attrs[key] ?? f.attrs(origin)[key], this.fname);
      const written = Object.keys(changed);
      if (written.length > 0) {
        f.setAttrs(path, changed);
        f.flush();
      }
      return { written, ignored };
    });
  }

  /**
   * Overwrites the data of trace `idx`; the shape must equal the stored one.
   * @throws {ShapeMismatchError} the shapes differ (nothing is written)
   */
  writeData(idx: number, data: TraceData | Float64Array | number[][]): void {
    const i = checkIndexType(idx);
    const given = normalizeData(data);
    this.#withWriter((f, index) => {
      const target = this.#checkIndex(i, index);
      const path = index.tracePath[target]!;
      const stored = f.shape(path);
      const storedAs2d = stored.length === 1 ? [stored[0]!, 1] : stored;
      if (storedAs2d.length !== 2 || storedAs2d[0] !== given.shape[0] || storedAs2d[1] !== given.shape[1]) {
        throw new ShapeMismatchError(
          `trace ${target} of ${this.fname} has shape [${storedAs2d.join(", ")}], the data to write has shape [${given.shape.join(
            ", ",
          )}]: nothing was written`,
          this.fname,
        );
      }
      f.write(path, given.data, stored);
      f.flush();
    });
  }

  /** Runs `fn` with the file open for writing and a fresh index. */
  #withWriter<T>(fn: (f: H5File, index: Index) => T): T {
    this.#closeReader();
    const before = stampOf(this.fname);
    const writer = openForWrite(this.fname, this.#lockTimeout);
    let result: T;
    try {
      if (!this.#index || !sameStamp(before, this.#indexStamp)) {
        this.#index = buildIndex(writer.file);
        this.#indexStamp = undefined;
      }
      result = fn(writer.file, this.#index);
    } finally {
      writer.close();
    }
    // Our own write changed attributes or data, never the structure.
    this.#indexStamp = stampOf(this.fname);
    return result;
  }

  /**
   * {@link getTraceData} without blocking the event loop.
   * @throws {IndexTypeError} / {IndexRangeError} a bad index
   */
  async traceData(idx: number): Promise<TraceData> {
    checkIndexType(idx);
    return this.#useAsync(async (file, index) => {
      const path = index.tracePath[this.#checkIndex(idx, index)]!;
      const [raw] = await file.readManyAsync([path], false);
      return toTraceData(raw!, this.fname, path);
    });
  }

  /**
   * {@link getTraceAttrs} without blocking the event loop.
   * @throws {IndexTypeError} / {IndexRangeError} a bad index
   */
  async traceAttrs(idx: number): Promise<TraceAttributes> {
    checkIndexType(idx);
    return this.#useAsync(async (file, index) => {
      const i = this.#checkIndex(idx, index);
      const [attrs] = await file.attrsAsync([index.tracePath[i]!]);
      return this.#collapse(attrs!, index, i);
    });
  }

  /**
   * Streams every trace as `[data, attrs]`, reading `batch` traces per trip to
   * libuv's thread pool and the next batch while the current one is consumed.
   * The file stays open (locked against writers elsewhere) until the loop ends.
   * @example
   * ```ts
   * for await (const [data, attrs] of cf.traces({ batch: 64 })) total += data.data[0]!;
   * ```
   */
  async *traces(options: { batch?: number } = {}): AsyncGenerator<[TraceData, TraceAttributes]> {
    const batch = options.batch ?? 64;
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a positive integer, got ${batch}`);
    // After the first batch, the attributes come from one parse of the whole
    // file on the pool (as the sync iterator's), valid while the handle it
    // was made under is held.
    let scan: { stamp: Stamp | undefined; attrs: Promise<ScannedAttrs | null> } | undefined;
    const read = (start: number) =>
      this.#useAsync(async (file, index) => {
        const paths = index.tracePath.slice(start, start + batch);
        const pending = scan && scan.stamp === this.#readerStamp ? scan.attrs : null;
        let raws: Awaited<ReturnType<H5File["readManyAsync"]>>;
        let attrs: ScannedAttrs | null = null;
        if (pending) {
          // The data meanwhile the parse finishes (both on the pool).
          [raws, attrs] = await Promise.all([file.readManyAsync(paths, false), pending]);
          if (attrs === null || !paths.every((p) => attrs!.has(p))) {
            attrs = null;
            raws = await file.readManyAsync(paths, true);
          }
        } else {
          raws = await file.readManyAsync(paths, true);
        }
        return {
          total: index.tracePath.length,
          items: raws.map((raw, k): [TraceData, TraceAttributes] => [
            toTraceData(raw, this.fname, paths[k]!),
            this.#collapse(attrs ? unpackAttrs(attrs.get(paths[k]!)!) : raw.attrs, index, start + k),
          ]),
        };
      });
    this.#asyncUsers++; // keep the handle for the whole loop
    let next: ReturnType<typeof read> | undefined = read(0);
    try {
      for (let start = 0; next; start += batch) {
        const current: Awaited<ReturnType<typeof read>> = await next;
        if (!scan && current.total >= SCAN_MIN_TRACES && current.total > batch) {
          scan = { stamp: this.#readerStamp, attrs: scanTracesAsync(this.fname) };
        }
        next = start + batch < current.total ? read(start + batch) : undefined;
        next?.catch(() => undefined); // surfaced when awaited
        for (const item of current.items) yield item;
      }
    } finally {
      if (next) await next.catch(() => undefined);
      if (--this.#asyncUsers === 0) this.#scheduleRelease();
    }
  }

  /**
   * {@link setTraceAttrs} without blocking the event loop: the same checks,
   * the lock wait and the write on libuv's thread pool.
   */
  async saveTraceAttrs(idx: number, attrs: TraceAttributes): Promise<WriteResult> {
    const i = checkIndexType(idx);
    checkOrigin(this.fname, i, attrs);
    this.#closeReader();
    const before = stampOf(this.fname);
    const writer = await openForWriteAsync(this.fname, this.#lockTimeout);
    let result: WriteResult;
    try {
      if (!this.#index || !sameStamp(before, this.#indexStamp)) {
        this.#index = await buildIndexAsync(writer.file);
        this.#indexStamp = undefined;
      }
      const index = this.#index;
      const target = this.#checkIndex(i, index);
      const path = index.tracePath[target]!;
      const origin = `/${index.origins[index.traceOrigin[target]!]!}`;
      const [stored, originAttrs] = await writer.file.attrsAsync([path, origin]);
      const { changed, ignored } = plannedWrite(stored!, attrs, (key) => stored![key] ?? attrs[key] ?? originAttrs![key], this.fname);
      const written = Object.keys(changed);
      if (written.length > 0) await writer.file.setAttrsAsync(path, changed, true);
      result = { written, ignored };
    } finally {
      writer.close();
    }
    this.#indexStamp = stampOf(this.fname);
    return result;
  }

  /**
   * The peek text, character for character as offspect's `print(cf)`: each
   * origin's attributes and trace count, then the totals.
   */
  toString(): string {
    const { file, index } = this.#open();
    const h = "-".repeat(79) + "\n";
    const line = (k: string, v: string) => `${padKey(k)} : ${v}\n`;
    let s = "";
    index.origins.forEach((origin, o) => {
      s += h + line("origin", origin);
      for (const [k, v] of Object.entries(file.attrs(`/${origin}`))) s += line(k, normalizeAttrValue(k, v));
      s += line("traces_count", String(index.counts[o]));
    });
    s += h;
    s += `In total, there are ${index.tracePath.length} traces from ${index.origins.length} origins`;
    return s;
  }

  /** Iterates over all traces, yielding `[data, attrs]`, as offspect's `for data, attrs in cf`. */
  *[Symbol.iterator](): Iterator<[TraceData, TraceAttributes]> {
    for (let i = 0; ; i++) {
      const { file, index } = this.#open();
      if (i >= index.tracePath.length) return;
      const path = index.tracePath[i]!;
      const attrs = this.#scannedAttrs(i, index);
      if (attrs) {
        yield [this.#damageGuard(() => toTraceData(file.read(path), this.fname, path)), this.#collapse(attrs, index, i)];
      } else {
        const raw = this.#damageGuard(() => file.readWithAttrs(path));
        yield [toTraceData(raw, this.fname, path), this.#collapse(raw.attrs, index, i)];
      }
    }
  }

  /** Attributes of every origin group, in the file's order. */
  originAttrs(): { origin: string; attrs: TraceAttributes; traces: number }[] {
    const { file, index } = this.#open();
    return index.origins.map((origin, o) => ({ origin, attrs: file.attrs(`/${origin}`), traces: index.counts[o]! }));
  }

  /**
   * Dataset names of one origin's traces in the file's name order (as h5py
   * lists them; offspect's `recover_*` functions use this order).
   * @internal
   */
  traceNamesByName(origin: string): string[] {
    const { file } = this.#open();
    return file.keys(`/${origin}/traces`);
  }

  /**
   * Runs `fn` with the read handle (valid within this call only).
   * @internal
   */
  withReader<T>(fn: (f: H5File) => T): T {
    const { file } = this.#open();
    return this.#damageGuard(() => fn(file));
  }
}

function padKey(key: string): string {
  const width = [...key].length;
  return width >= 20 ? key : key + " ".repeat(20 - width);
}

function normalizeData(data: TraceData | Float64Array | number[][]): { data: Float64Array; shape: [number, number] } {
  if (data instanceof Float64Array) return { data, shape: [data.length, 1] };
  if (Array.isArray(data)) {
    const rows = data.length;
    const cols = rows === 0 ? 0 : (data[0]?.length ?? 0);
    const out = new Float64Array(rows * cols);
    data.forEach((row, r) => {
      if (!Array.isArray(row) || row.length !== cols) {
        throw new ShapeMismatchError(`row ${r} of the data has ${Array.isArray(row) ? row.length : 0} values, expected ${cols}`);
      }
      row.forEach((v, c) => {
        if (typeof v !== "number") throw new TypeError(`data[${r}][${c}] is not a number`);
        out[r * cols + c] = v;
      });
    });
    return { data: out, shape: [rows, cols] };
  }
  if (data && typeof data === "object" && data.data instanceof Float64Array && Array.isArray(data.shape)) {
    const [rows, cols] = data.shape;
    if (data.shape.length !== 2 || rows! * cols! !== data.data.length) {
      throw new ShapeMismatchError(`shape [${data.shape.join(", ")}] does not match ${data.data.length} values`);
    }
    return { data: data.data, shape: [rows!, cols!] };
  }
  throw new TypeError(`expected trace data ({ data: Float64Array, shape }), a Float64Array or rows of numbers, got ${describe(data)}`);
}

// A few recently used CacheFile objects, so that module functions taking only
// attributes (updateTraceAttributes) keep their O(1) index between calls.
const recent = new Map<string, CacheFile>();

function cacheFileFor(fname: string): CacheFile {
  const abs = resolve(fname);
  const hit = recent.get(abs);
  if (hit) {
    recent.delete(abs);
    recent.set(abs, hit);
    return hit;
  }
  const cf = new CacheFile(abs);
  recent.set(abs, cf);
  if (recent.size > 8) recent.delete(recent.keys().next().value!);
  return cf;
}

/**
 * offspect's `read_trace`: the attributes (`what = "attrs"`, default) or the
 * data (`"data"`) of one trace.
 */
export function readTrace(cf: CacheFile, idx: number, what: "attrs"): TraceAttributes;
export function readTrace(cf: CacheFile, idx: number, what: "data"): TraceData;
export function readTrace(cf: CacheFile, idx: number): TraceAttributes;
export function readTrace(cf: CacheFile, idx: number, what: "attrs" | "data" = "attrs"): TraceAttributes | TraceData {
  if (what === "attrs") return cf.getTraceAttrs(idx);
  if (what === "data") return cf.getTraceData(idx);
  throw new TypeError(`${String(what)} can not be loaded: use "attrs" or "data"`);
}

/**
 * offspect's `update_trace_attributes`: writes attributes to the file and
 * trace named by their own `cache_file` and `cache_file_index`, with the
 * readout filter and checks of {@link CacheFile.setTraceAttrs}.
 * @throws {IndexTypeError} cache_file_index is not a non-negative integer
 * @throws {ForeignAttributesError} cache_file is missing
 */
export function updateTraceAttributes(attrs: TraceAttributes): WriteResult {
  if (attrs === null || typeof attrs !== "object") throw new TypeError(`expected trace attributes, got ${describe(attrs)}`);
  if (!isIndexText(attrs["cache_file_index"])) throw new IndexTypeError(attrs["cache_file_index"]);
  if (typeof attrs["cache_file"] !== "string") {
    throw new ForeignAttributesError("cache_file is missing: these attributes do not name the file to write to");
  }
  return cacheFileFor(attrs["cache_file"]).writeAttrs(Number(attrs["cache_file_index"]), attrs);
}

/**
 * offspect's `write_tracedata`: overwrites the data of trace `idx`.
 * @throws {ShapeMismatchError} the shape differs from the stored one (nothing written)
 */
export function writeTraceData(cf: CacheFile, data: TraceData | Float64Array | number[][], idx: number): void {
  cf.writeData(idx, data);
}

/**
 * offspect's `sort_keys`: trace names sorted by their numeric value,
 * returned as decimal text.
 * @example sortKeys(["10", "2", "1"]) // ["1", "2", "10"]
 */
export function sortKeys(keys: Iterable<string>): string[] {
  const values = [...keys].map((k) => {
    if (typeof k !== "string" || !/^\s*[-+]?[0-9]+\s*$/.test(k)) {
      throw new TypeError(`invalid literal for int(): ${describe(k)}`);
    }
    return BigInt(k.trim());
  });
  values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return values.map(String);
}

/** offspect's `asdict`: attributes as a plain object. */
export function asDict(attrs: Record<string, string> | Map<string, string> | Iterable<[string, string]>): Record<string, string> {
  const entries = attrs instanceof Map || Symbol.iterator in Object(attrs) ? [...(attrs as Iterable<[string, string]>)] : Object.entries(attrs);
  const out: Record<string, string> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

/**
 * offspect's `parse_traceattrs`: every value read as a Python literal (numbers,
 * lists, True/False, None), text that is not one staying text, `inf`/`nan` as
 * numbers, and an unreadable `xyz_coords` as three NaNs.
 * @example parseTraceAttrs({ reject: "False", xyz_coords: "[37.0, 22.8, 54.2]" }) // { reject: false, xyz_coords: [37, 22.8, 54.2] }
 */
export function parseTraceAttrs(attrs: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(asDict(attrs))) {
    Object.defineProperty(out, k, { value: pyToJs(parseAttrValue(k, v)), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** offspect's `parse_tracedata`: a dataset of an open file as {@link TraceData}. */
export function parseTraceData(file: H5File, path: string): TraceData {
  if (!file.isOpen) throw new ClosedError(`the HDF5 file ${file.path}`);
  return toTraceData(file.read(path), file.path, path);
}
