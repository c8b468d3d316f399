/**
 * The session behind a CacheFile (the fronts are cachefile.ts, typed, and
 * offspectFile.ts, offspect's names): the lock, the index, what may be used
 * again, and the reads and all-or-nothing writes the fronts are made of.
 *
 * Every call sees the file as it is now (offspect's promise: it opens the
 * file afresh on every call): before each call the file's stamp is compared
 * with the one its index and parsed structures were read under, and they are
 * used again only when the stamp is the same and proves the file unchanged
 * (see freshness.ts); otherwise the file is read again. Access by index is
 * O(1). The shared lock and descriptor are kept within one turn of the event
 * loop and let go as soon as control returns, so offspect's viewer or
 * another script can write the file in between.
 * @module
 */
import { resolve } from "node:path";
import { ClosedError, CorruptFileError, describe, IndexRangeError, IndexTypeError, LayoutError, ShapeMismatchError } from "../base/errors.js";
import type { RawData } from "../hdf5/file.js";
import type { FallbackEvent, Hdf5Source } from "../hdf5/source.js";
import type { FormatCaches } from "../hdf5/format/file.js";
import { normalizeAttrValue } from "../values/index.js";
import { expandUser, toPath } from "../base/paths.js";
import { sameStamp, type Stamp, stampOf } from "./freshness.js";
import {
  openForRead,
  openForReadAsync,
  openForWrite,
  openForWriteAsync,
  registerHolder,
  type ReadOptions,
  type ReadSession,
  type WriteSession,
  unregisterHolder,
  writesDone,
  writing,
} from "./sharing.js";
import { buildIndex, buildIndexSteps, checkedTracePath, type TraceIndex } from "./traceIndex.js";
import type { CacheFileOptions, TraceAttributes, TraceData, WriteResult } from "./types.js";
import type { Trace, TraceUpdate } from "./traceTypes.js";
import { decodeTraceAttrs, decodeValue, encodeTraceUpdate, keySpecs } from "./typedValues.js";
import type { KeySpec } from "./readouts.js";
import { NOTHING_WRITTEN, throwIfAborted } from "../base/abort.js";
import { ArgumentRangeError } from "../values/errors.js";
import { checkOrigin, normalizeData, plannedWrite } from "./writes.js";
import { checkValidSuffix } from "./suffix.js";
import { runAsync } from "../base/work.js";
import { commit, type CommitResult, type ObjectChange } from "./commit.js";
import { runOpsAsync, runOpsSync } from "./commitIo.js";

/** Attributes of traces read when a session's {@link CacheFileSession.readGeneration} was `generation`. @internal */
export interface KnownAttributes {
  generation: number;
  /**
   * By trace index, stored texts of the trace: used only when they hold
   * every key the write reads (readin, readout, each key it sets, and
   * channel_labels with channel_of_interest), a key the trace does not
   * store held as undefined.
   */
  attrs: ReadonlyMap<number, Readonly<Record<string, string | undefined>>>;
}

/** The keys a read adds to the stored attributes (see #collapse): never taken from known attributes. */
const COLLAPSED = new Set(["origin", "cache_file", "cache_file_index"]);

/** Whether `known` holds each of `keys` (as text, or undefined for a key not stored), none of them one a read adds. */
function knowsAll(known: Readonly<Record<string, string | undefined>>, keys: ReadonlySet<string>): boolean {
  for (const k of keys) if (!Object.hasOwn(known, k) || COLLAPSED.has(k)) return false;
  return true;
}

function checkIndexType(idx: unknown): number {
  if (typeof idx !== "number" || !Number.isInteger(idx)) throw new IndexTypeError(idx);
  return idx;
}

/** A dataset's values as a trace: [samples, channels] (1-D data as one channel). @internal */
export function toTraceData(raw: RawData, file: string, path: string): TraceData {
  let shape: [number, number];
  if (raw.shape.length === 2) shape = [raw.shape[0]!, raw.shape[1]!];
  else if (raw.shape.length === 1) shape = [raw.shape[0]!, 1];
  else throw new LayoutError(file, `${path} has ${raw.shape.length} dimensions, expected samples x channels`, "ERANK");
  return Object.freeze({ data: raw.data, shape: Object.freeze(shape) });
}

function padKey(key: string): string {
  const width = [...key].length;
  return width >= 20 ? key : key + " ".repeat(20 - width);
}


/** A write session as the write paths use it: reads, and one commit of changes (its result, or "unknown" once a commit began and failed). */
interface Writer {
  source: Hdf5Source;
  committed: CommitResult | "unknown" | undefined;
  commit(changes: ObjectChange[]): void;
  commitAsync(changes: ObjectChange[]): Promise<void>;
}

/** What a write stores on one trace. */
interface Plan {
  path: string;
  changed: Record<string, string>;
  ignored: string[];
}

/** An update of some keys: its text as a function of the stored attributes it depends on (`only`: the readout and the keys it sets). */
abstract class Update {
  readonly only = new Set<string>().add("readin").add("readout");

  /** Reads `key` before the update (and what its checks compare it with). */
  protected need(key: string): void {
    this.only.add(key);
    if (key === "channel_of_interest") this.only.add("channel_labels");
  }

  abstract make(stored: Record<string, string>): TraceAttributes;
}

/** Texts stored as given. */
class Texts extends Update {
  readonly #texts: TraceAttributes;

  constructor(texts: TraceAttributes) {
    super();
    if (texts === null || typeof texts !== "object") throw new TypeError(`expected attribute texts (an object of strings), got ${describe(texts)}`);
    this.#texts = texts;
    for (const k of Object.keys(texts)) this.need(k);
  }

  make(): TraceAttributes {
    return this.#texts;
  }
}

/** A typed update: values stored as offspect's encode gives them, for the trace's readout. */
class Typed extends Update {
  readonly #values: TraceUpdate;
  #specs: Record<string, KeySpec> = {};
  readonly #file: string;

  constructor(values: TraceUpdate, file: string) {
    super();
    this.#values = values;
    this.#file = file;
    if (values !== null && typeof values === "object") for (const k of Object.keys(values)) this.need(k);
  }

  make(stored: Record<string, string>): TraceAttributes {
    this.#specs = keySpecs(stored["readin"], stored["readout"]);
    return encodeTraceUpdate(this.#values, this.#specs, this.#file);
  }

  /** Whether two texts of `key` hold the same value (`True` and `true`): a typed update does not write it again. */
  readonly same = (key: string, stored: string, next: string): boolean => {
    const spec = Object.hasOwn(this.#specs, key) ? this.#specs[key] : undefined;
    return sameValue(decodeValue(key, stored, spec), decodeValue(key, next, spec));
  };
}

/** Deep equality of decoded values (NaN equals NaN, as a value read back). */
function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  return false;
}

/**
 * One CacheFile's session: every call sees the file as it is now, the
 * shared lock and descriptor kept within one turn of the event loop. The
 * public classes (cachefile.ts, offspectFile.ts) are fronts over it.
 */
export class CacheFileSession {
  /** Absolute path of the file. */
  readonly fname: string;
  readonly #lockTimeout: number;
  #index: TraceIndex | undefined;
  #indexStamp: Stamp | undefined;
  #indexTrusted = false;
  #indexBuild: { session: ReadSession; promise: Promise<TraceIndex> } | undefined;
  #session: ReadSession | undefined;
  #releaseScheduled = false;
  #asyncUsers = 0;
  readonly #holder = { release: () => this.#closeSession() };
  #onFallback: ((e: FallbackEvent) => void) | undefined;
  /** Where the index's objects are in the file, valid with the index (same stamp). */
  #addresses = new Map<string, number>();
  /** What was parsed of the file, valid with the index (same stamp): sessions of the unchanged file parse nothing twice. */
  #caches: FormatCaches | undefined;
  /** Changes whenever what this session has read may no longer be the file: its index built again, or a write made. */
  #generation = 0;

  /**
   * Opens a CacheFile and indexes its origins and traces.
   * @throws {FileNotFoundError} (code ENOENT) the file does not exist
   * @throws {InvalidSuffixError} the name does not end in .hdf5
   * @throws {NotHdf5Error} / {TruncatedFileError} / {CorruptFileError} not a readable HDF5 file
   * @throws {LayoutError} an HDF5 file not laid out as a CacheFile (e.g. no `traces` groups)
   */
  constructor(fname: string | URL, options: CacheFileOptions = {}, defer = false) {
    this.fname = resolve(expandUser(toPath(fname)));
    stampOf(this.fname); // FileNotFoundError first, as offspect
    checkValidSuffix(this.fname);
    this.#lockTimeout = options.lockTimeout ?? 2000;
    if (!defer) this.#call(() => undefined);
  }

  /** Opens and indexes the file without blocking the event loop (for a session made with `defer`). */
  async ready(): Promise<void> {
    await this.#useAsync(async () => undefined);
  }

  /**
   * Reports every read that libhdf5 makes instead of the format module
   * (a file or value the module declines, chunked or compressed data).
   * @internal
   */
  set onFallback(listener: ((e: FallbackEvent) => void) | undefined) {
    this.#onFallback = listener;
  }

  // ---- the read session and the index

  /**
   * Runs one call: with the shared lock taken on a session valid now (its
   * stamp equal to the file's and trusted; opened anew otherwise) and a
   * fresh index, and the lock let go afterwards.
   */
  #call<T>(fn: (source: Hdf5Source, index: TraceIndex) => T): T {
    const s = this.#validSession(true);
    try {
      this.#freshIndex(s);
      return fn(s.source, this.#index!);
    } catch (e) {
      if (e instanceof CorruptFileError) this.#closeSession();
      throw e;
    } finally {
      this.#session?.letGo();
      this.#scheduleRelease();
    }
  }

  /** The session, held (its lock taken) and valid for the file as it is now; opened anew when needed (sync, or async when `sync` is false: then only a session that can be held at once is kept). */
  #validSession(sync: true): ReadSession;
  #validSession(sync: false): ReadSession | undefined;
  #validSession(sync: boolean): ReadSession | undefined {
    let s = this.#session;
    if (s) {
      const same = sync ? s.holdSame() : s.tryHoldSame();
      if (same === undefined) {
        this.#closeSession();
        return undefined;
      }
      if (!s.trusted || !same) {
        this.#closeSession();
        s = undefined;
      }
    }
    if (!s && sync) {
      s = openForRead(this.fname, this.#lockTimeout, this.#readOptions());
      this.#session = s;
      registerHolder(this.fname, this.#holder);
    }
    return s;
  }

  #readOptions(): ReadOptions {
    return {
      ...(this.#onFallback ? { onFallback: this.#onFallback } : {}),
      ...(this.#index && this.#indexTrusted && this.#indexStamp ? { addresses: this.#addresses, addressesStamp: this.#indexStamp, ...(this.#caches ? { caches: this.#caches } : {}) } : {}),
    };
  }

  #indexFresh(s: ReadSession): boolean {
    return this.#index !== undefined && this.#indexTrusted && sameStamp(s.stamp, this.#indexStamp);
  }

  #freshIndex(s: ReadSession): void {
    if (this.#indexFresh(s)) return;
    this.#setIndex(s, () => buildIndex(s.source));
  }

  /** {@link #freshIndex} letting the event loop turn while a large file's index is built (one build at a time per session). */
  async #freshIndexAsync(s: ReadSession): Promise<void> {
    if (this.#indexFresh(s)) return;
    if (this.#indexBuild?.session !== s) {
      const promise = runAsync(buildIndexSteps(s.source), undefined, "indexing the file");
      promise.catch(() => undefined); // surfaced below, to every caller waiting on it
      this.#indexBuild = { session: s, promise };
    }
    const build = this.#indexBuild;
    try {
      let index: TraceIndex;
      try {
        index = await build.promise;
      } catch (e) {
        if (this.#session === s) this.#closeSession();
        throw e;
      }
      if (!this.#indexFresh(s)) this.#setIndex(s, () => index);
    } finally {
      if (this.#indexBuild === build) this.#indexBuild = undefined;
    }
  }

  #setIndex(s: ReadSession, build: () => TraceIndex): void {
    this.#generation++;
    try {
      this.#index = build();
      this.#addresses = s.source.addresses;
      this.#caches = s.source.caches;
    } catch (e) {
      this.#closeSession();
      throw e;
    }
    this.#indexStamp = s.stamp;
    this.#indexTrusted = s.trusted;
  }

  /** Lets go of the session once the event loop turns, unless async calls still use it. */
  #scheduleRelease(): void {
    if (this.#releaseScheduled) return;
    this.#releaseScheduled = true;
    setImmediate(() => {
      this.#releaseScheduled = false;
      if (this.#asyncUsers === 0) this.#closeSession();
    }).unref();
  }

  /**
   * Runs an async call with the shared lock taken on a valid session (see
   * {@link #call}), kept while any such call runs and let go after the last.
   */
  async #useAsync<T>(fn: (source: Hdf5Source, index: TraceIndex) => Promise<T>): Promise<T> {
    this.#asyncUsers++;
    try {
      for (let attempt = 0; ; attempt++) {
        let s = this.#validSession(false);
        while (!s) {
          await writesDone(this.fname);
          const opened = await openForReadAsync(this.fname, this.#lockTimeout, this.#readOptions());
          if (writing(this.fname) || this.#session) opened.close();
          else {
            this.#session = s = opened;
            registerHolder(this.fname, this.#holder);
          }
          s ??= this.#session;
        }
        try {
          await this.#freshIndexAsync(s);
          return await s.track(fn(s.source, this.#index!));
        } catch (e) {
          if (e instanceof CorruptFileError) this.#closeSession();
          // A synchronous write on this CacheFile closed the session meanwhile: once more.
          if (e instanceof ClosedError && attempt === 0) continue;
          throw e;
        }
      }
    } finally {
      this.#asyncDone();
    }
  }

  /** One async user less; after the last, the lock goes at once and the session when the event loop turns. */
  #asyncDone(): void {
    if (--this.#asyncUsers > 0) return;
    this.#session?.letGo();
    this.#scheduleRelease();
  }

  #closeSession(): void {
    const s = this.#session;
    if (!s) return;
    this.#session = undefined;
    unregisterHolder(this.fname, this.#holder);
    s.close();
  }

  /**
   * Releases the file now (it is released anyway once control returns to the
   * event loop). The CacheFile stays usable; the next call opens it again.
   */
  close(): void {
    this.#closeSession();
  }

  #checkIndex(idx: unknown, index: TraceIndex): number {
    const i = checkIndexType(idx);
    if (i < 0 || i >= index.tracePath.length) throw new IndexRangeError(i, index.tracePath.length, this.fname);
    return i;
  }

  #collapse(attrs: Record<string, string>, index: TraceIndex, i: number): TraceAttributes {
    attrs["origin"] = index.origins[index.traceOrigin[i]!]!;
    attrs["cache_file"] = this.fname;
    attrs["cache_file_index"] = String(i);
    return attrs;
  }

  // ---- reading

  /** Number of traces in the file. */
  get length(): number {
    return this.#call((_, index) => index.tracePath.length);
  }

  /** Names of the origins (source recordings), in the file's order. */
  get origins(): string[] {
    return this.#call((_, index) => [...index.origins]);
  }

  /** Number of traces of each origin, in the order of {@link origins}. */
  get originCounts(): number[] {
    return this.#call((_, index) => [...index.counts]);
  }

  /**
   * The data of one trace, read-only (see {@link TraceData}).
   * @throws {IndexTypeError} idx is not an integer
   * @throws {IndexRangeError} idx is not in 0..length-1
   */
  getTraceData(idx: number): TraceData {
    return this.#call((source, index) => {
      const path = checkedTracePath(source, index, this.#checkIndex(idx, index));
      return toTraceData(source.read(path), this.fname, path);
    });
  }

  /**
   * The collapsed attributes of one trace: the trace's own attributes (which
   * include the copied origin attributes) plus `origin`, `cache_file` and
   * `cache_file_index`.
   * @throws {IndexTypeError} idx is not an integer
   * @throws {IndexRangeError} idx is not in 0..length-1
   */
  getTraceAttrs(idx: number): TraceAttributes {
    return this.#call((source, index) => {
      const i = this.#checkIndex(idx, index);
      return this.#collapse(source.attrs(checkedTracePath(source, index, i)), index, i);
    });
  }

  /**
   * The peek text, character for character as offspect's `print(cf)`: each
   * origin's attributes and trace count, then the totals.
   */
  toString(): string {
    return this.#call((source, index) => {
      const h = "-".repeat(79) + "\n";
      const line = (k: string, v: string) => `${padKey(k)} : ${v}\n`;
      let s = "";
      index.origins.forEach((origin, o) => {
        s += h + line("origin", origin);
        for (const [k, v] of Object.entries(source.attrs(`/${origin}`))) s += line(k, normalizeAttrValue(k, v));
        s += line("traces_count", String(index.counts[o]));
      });
      s += h;
      s += `In total, there are ${index.tracePath.length} traces from ${index.origins.length} origins`;
      return s;
    });
  }

  /** Attributes of every origin group, in the file's order. */
  originAttrs(): { origin: string; attrs: TraceAttributes; traces: number }[] {
    return this.#call((source, index) => index.origins.map((origin, o) => ({ origin, attrs: source.attrs(`/${origin}`), traces: index.counts[o]! })));
  }

  /**
   * Runs `fn` with the file's reader (valid within this call only).
   * @internal
   */
  withReader<T>(fn: (source: Hdf5Source) => T): T {
    return this.#call((source) => fn(source));
  }

  // ---- typed reading

  /**
   * One trace as an object: index, origin, id, data, shape, and its
   * attributes as values typed per readout (`reject` a boolean, `xyz_coords`
   * three numbers or null, peaks numbers or null, ...; see
   * {@link decodeTraceAttrs}), with the stored text beside them.
   * @example
   * ```ts
   * const t = cf.traceSync(3);
   * if (t.attrs.readout === "cmep" && !t.attrs.reject) console.log(t.attrs.xyz_coords, t.attrs.pos_peak_magnitude_uv);
   * ```
   * @throws {IndexTypeError} / {IndexRangeError} a bad index
   */
  traceSync(idx: number): Trace {
    return this.#call((source, index) => {
      const i = this.#checkIndex(idx, index);
      const path = checkedTracePath(source, index, i);
      return this.#trace(index, i, path, source.read(path), source.attrs(path));
    });
  }

  /**
   * One trace as an object (see {@link traceSync}), its data read on
   * libuv's thread pool.
   * @throws {IndexTypeError} / {IndexRangeError} a bad index
   */
  async trace(idx: number): Promise<Trace> {
    checkIndexType(idx);
    return this.#useAsync(async (source, index) => {
      const i = this.#checkIndex(idx, index);
      const path = checkedTracePath(source, index, i);
      const attrs = source.attrs(path);
      const [raw] = await source.readManyAsync([path]);
      return this.#trace(index, i, path, raw!, attrs);
    });
  }

  /**
   * Every trace as an object ({@link traceSync}), in the file's order.
   * @example
   * ```ts
   * const rejected = [...cf.eachSync()].filter((t) => t.attrs.reject).map((t) => t.index);
   * ```
   */
  *eachSync(): Generator<Trace> {
    for (let i = 0; ; i++) {
      const t = this.#call((source, index) => {
        if (i >= index.tracePath.length) return undefined;
        const path = checkedTracePath(source, index, i);
        return this.#trace(index, i, path, source.read(path), source.attrs(path));
      });
      if (!t) return;
      yield t;
    }
  }

  /**
   * Every trace as an object, without blocking the event loop: `batch`
   * traces per trip to libuv's thread pool, the next batch read while the
   * current one is used; `signal` stops it (AbortedError). Each batch is
   * read from one version of the file; the file is kept from writers
   * elsewhere between batches too, unless one of this library waits for
   * it: then it writes between two batches, and the later ones come from
   * the file as it is then (as every call of offspect sees the file as it
   * is then).
   * @example
   * ```ts
   * for await (const t of cf.each({ batch: 64, signal: AbortSignal.timeout(60_000) })) total += t.data[0]!;
   * ```
   */
  async *each(options: { batch?: number; signal?: AbortSignal } = {}): AsyncGenerator<Trace> {
    for await (const batch of this.#batchesAsync(options, (index, i, path, raw, stored) => this.#trace(index, i, path, raw, stored))) {
      for (const t of batch) {
        throwIfAborted(options.signal, "reading the traces");
        yield t;
      }
    }
  }

  #trace(index: TraceIndex, i: number, path: string, raw: RawData, stored: Record<string, string>): Trace {
    const data = toTraceData(raw, this.fname, path);
    const attrs = decodeTraceAttrs(stored);
    const text = Object.freeze(this.#collapse({ ...stored }, index, i));
    const id = typeof attrs.id === "number" ? attrs.id : Number(path.slice(path.lastIndexOf("/") + 1));
    return Object.freeze({ index: i, origin: index.origins[index.traceOrigin[i]!]!, id, data: data.data, shape: data.shape, attrs, text });
  }

  /** Every trace, `batch` at a time, as `make` makes it; the data of the next batch read while the current one is used. */
  async *#batchesAsync<T>(
    options: { batch?: number; signal?: AbortSignal },
    make: (index: TraceIndex, i: number, path: string, raw: RawData, stored: Record<string, string>) => T,
  ): AsyncGenerator<T[]> {
    const batch = options.batch ?? 64;
    if (!Number.isInteger(batch) || batch < 1) throw new ArgumentRangeError(`expected a positive integer for batch, got ${describe(batch)}`);
    const read = (start: number) =>
      this.#useAsync(async (source, index) => {
        const end = Math.min(start + batch, index.tracePath.length);
        const paths: string[] = [];
        for (let i = start; i < end; i++) paths.push(checkedTracePath(source, index, i));
        const attrs = paths.map((p) => source.attrs(p));
        const raws = await source.readManyAsync(paths);
        return { total: index.tracePath.length, items: raws.map((raw, k) => make(index, start + k, paths[k]!, raw, attrs[k]!)) };
      });
    this.#asyncUsers++; // keep the session for the whole loop
    let next: ReturnType<typeof read> | undefined = read(0);
    try {
      for (let start = 0; next; start += batch) {
        throwIfAborted(options.signal, "reading the traces");
        const current: Awaited<ReturnType<typeof read>> = await next;
        next = start + batch < current.total ? read(start + batch) : undefined;
        next?.catch(() => undefined); // surfaced when awaited
        yield current.items;
      }
    } finally {
      if (next) await next.catch(() => undefined);
      this.#asyncDone();
    }
  }

  /** Every trace as `[data, attrs]` (attrs as text), as offspect's `for data, attrs in cf`. */
  *tuples(): Generator<[TraceData, TraceAttributes]> {
    for (let i = 0; ; i++) {
      const item = this.#call((source, index): [TraceData, TraceAttributes] | undefined => {
        if (i >= index.tracePath.length) return undefined;
        const path = checkedTracePath(source, index, i);
        return [toTraceData(source.read(path), this.fname, path), this.#collapse(source.attrs(path), index, i)];
      });
      if (!item) return;
      yield item;
    }
  }

  /** {@link tuples} without blocking the event loop, `batch` at a time (see {@link each}). */
  async *tuplesAsync(options: { batch?: number; signal?: AbortSignal } = {}): AsyncGenerator<[TraceData, TraceAttributes]> {
    // The attributes as text, as the sync iterator gives them: nothing decoded per readout.
    const make = (index: TraceIndex, i: number, path: string, raw: RawData, stored: Record<string, string>): [TraceData, TraceAttributes] => [
      toTraceData(raw, this.fname, path),
      this.#collapse(stored, index, i),
    ];
    for await (const batch of this.#batchesAsync(options, make)) {
      for (const item of batch) {
        throwIfAborted(options.signal, "reading the traces");
        yield item;
      }
    }
  }

  // ---- writing

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
    return this.#withWriter((w, index) => this.#write(w, [this.#plan(w, index, i, attrs)]))[0]!;
  }

  /**
   * Updates some attributes of one trace from values: `{ reject: true,
   * comment: "double pulse?" }`. Each key must be a trace key of the
   * trace's readout and each value of its kind; values are checked as
   * {@link setTraceAttrs} checks them and stored as the text offspect's own
   * `set_trace_attrs` stores (its `encode`), so offspect reads them back
   * unchanged. Nothing is written when anything is refused.
   * @example
   * ```ts
   * cf.updateSync(3, { reject: true, comment: "double pulse?" }); // { written: ["comment", "reject"], ignored: [] }
   * ```
   * @throws {InvalidAttributeError} a key the readout does not have, or a value of the wrong kind
   * @throws {IndexTypeError} / {IndexRangeError} a bad index
   * @throws {FileInUseError} another process kept the file locked for longer than the lock timeout
   */
  updateSync(idx: number, values: TraceUpdate): WriteResult {
    return this.updateManySync([{ index: idx, values }])[0]!;
  }

  /**
   * {@link updateSync} for many traces with one open of the file: every update
   * is checked first, then all are written and the file is flushed once.
   * Nothing is written when any is refused.
   * @returns one result per update, in order
   */
  updateManySync(updates: Iterable<{ index: number; values: TraceUpdate }>): WriteResult[] {
    const list = [...updates].map(({ index, values }) => ({ i: checkIndexType(index), values }));
    return this.#withWriter((w, index) => this.#write(w, list.map(({ i, values }) => this.#plan(w, index, i, new Typed(values, this.fname)))));
  }

  /** {@link updateSync} without blocking the event loop (the lock awaited and the write made on libuv's thread pool). */
  async update(idx: number, values: TraceUpdate): Promise<WriteResult> {
    return (await this.updateMany([{ index: idx, values }]))[0]!;
  }

  /**
   * {@link updateManySync} without blocking the event loop; `signal` can
   * stop it before anything is written (AbortedError).
   */
  async updateMany(updates: Iterable<{ index: number; values: TraceUpdate }>, options: { signal?: AbortSignal } = {}): Promise<WriteResult[]> {
    const list = [...updates].map(({ index, values }) => ({ i: checkIndexType(index), values }));
    return this.#withWriterAsync(async (w, index) => {
      const plans = list.map(({ i, values }) => this.#plan(w, index, i, new Typed(values, this.fname)));
      throwIfAborted(options.signal, `updating ${this.fname}`, NOTHING_WRITTEN);
      return this.#writeAsync(w, plans);
    });
  }

  /**
   * A mark of what this session has read: equal marks taken before and
   * after some reads prove that the file did not change in between (its
   * index was not built again and nothing was written through it; a
   * change by anyone makes the next call build the index again). See
   * {@link writeTextsSync}'s `known`.
   */
  get readGeneration(): number {
    return this.#generation;
  }

  /**
   * Stores texts on many traces in one write that is all or nothing: each
   * key must be a trace key of the trace's readout and each text valid for
   * it (the checks of {@link setTraceAttrs}, without its origin checks); the
   * texts are stored as given. Nothing is written when anything is refused.
   *
   * `known`: the attributes of some traces as this session read them
   * (getTraceAttrs or iteration) since its {@link readGeneration} was
   * `generation`. When the file, now locked for the write, is proven the
   * same as then (the mark unchanged and the parse of that file in use),
   * the checks use them instead of reading them again.
   * (The analysis module's writes: offspect's own texts, such as `True`.)
   */
  writeTextsSync(updates: Iterable<{ index: number; texts: TraceAttributes }>, options: { known?: KnownAttributes } = {}): WriteResult[] {
    const list = [...updates].map(({ index, texts }) => ({ i: checkIndexType(index), texts: new Texts(texts) }));
    return this.#withWriter((w, index) => {
      const known = this.#stillKnown(w, options.known);
      return this.#write(w, list.map(({ i, texts }) => this.#plan(w, index, i, texts, known?.get(i))));
    });
  }

  /** The attributes of `known` when they are those of the file the writer holds (see {@link writeTextsSync}), else undefined. */
  #stillKnown(w: Writer, known: KnownAttributes | undefined): KnownAttributes["attrs"] | undefined {
    if (!known || known.generation !== this.#generation || this.#caches === undefined) return undefined;
    // The writer's session took the parse over only when the locked file's stamp proved it the file parsed.
    return w.source.caches === this.#caches ? known.attrs : undefined;
  }

  /** {@link writeTextsSync} without blocking the event loop. @internal */
  async writeTexts(updates: Iterable<{ index: number; texts: TraceAttributes }>, options: { signal?: AbortSignal } = {}): Promise<WriteResult[]> {
    const list = [...updates].map(({ index, texts }) => ({ i: checkIndexType(index), texts: new Texts(texts) }));
    return this.#withWriterAsync(async (w, index) => {
      const plans = list.map(({ i, texts }) => this.#plan(w, index, i, texts));
      throwIfAborted(options.signal, `updating ${this.fname}`, NOTHING_WRITTEN);
      return this.#writeAsync(w, plans);
    });
  }

  /**
   * What a write stores on trace `i`: `attrs`, or what a function of the
   * stored attributes makes (typed updates), after the readout's filter and
   * checks (see {@link plannedWrite}).
   */
  #plan(w: Writer, index: TraceIndex, i: number, attrs: TraceAttributes | Update, known?: Readonly<Record<string, string | undefined>>): Plan {
    const target = this.#checkIndex(i, index);
    const path = checkedTracePath(w.source, index, target);
    const update = attrs instanceof Update ? attrs : undefined;
    const stored = update && known && knowsAll(known, update.only) ? (known as Record<string, string>) : w.source.attrs(path, update?.only);
    const origin = `/${index.origins[index.traceOrigin[target]!]!}`;
    const text = update ? update.make(stored) : (attrs as TraceAttributes);
    const readoutOf = (key: string) => stored[key] ?? text[key] ?? w.source.attrs(origin)[key];
    const { changed, ignored } = plannedWrite(stored, text, readoutOf, this.fname, attrs instanceof Typed ? attrs.same : undefined);
    return { path, changed, ignored };
  }

  /** The changes of `plans` that store something. */
  #changes(plans: Plan[]): ObjectChange[] {
    const out: ObjectChange[] = [];
    for (const p of plans) if (Object.keys(p.changed).length > 0) out.push({ path: p.path, attrs: p.changed });
    return out;
  }

  #results(plans: Plan[]): WriteResult[] {
    return plans.map((p) => ({ written: Object.keys(p.changed), ignored: p.ignored }));
  }

  #write(w: Writer, plans: Plan[]): WriteResult[] {
    const changes = this.#changes(plans);
    if (changes.length > 0) w.commit(changes);
    return this.#results(plans);
  }

  async #writeAsync(w: Writer, plans: Plan[]): Promise<WriteResult[]> {
    const changes = this.#changes(plans);
    if (changes.length > 0) await w.commitAsync(changes);
    return this.#results(plans);
  }

  /**
   * Overwrites the data of trace `idx`; the shape must equal the stored one.
   * @throws {ShapeMismatchError} the shapes differ (nothing is written)
   */
  writeData(idx: number, data: TraceData | Float64Array | number[][]): void {
    const i = checkIndexType(idx);
    const given = normalizeData(data);
    this.#withWriter((w, index) => {
      const target = this.#checkIndex(i, index);
      const path = checkedTracePath(w.source, index, target);
      const stored = w.source.shape(path);
      const storedAs2d = stored.length === 1 ? [stored[0]!, 1] : stored;
      if (storedAs2d.length !== 2 || storedAs2d[0] !== given.shape[0] || storedAs2d[1] !== given.shape[1]) {
        throw new ShapeMismatchError(
          `trace ${target} of ${this.fname} has shape [${storedAs2d.join(", ")}], the data to write has shape [${given.shape.join(", ")}]: nothing was written`,
          this.fname,
        );
      }
      w.commit([{ path, data: given.data }]);
    });
  }

  /**
   * Runs `fn` with the file open for writing and a fresh index; the
   * changes it commits are made all at once (commit.ts). Afterwards the
   * index stays valid (writes change no structure) and knows where the
   * rewritten objects are.
   */
  #withWriter<T>(fn: (w: Writer, index: TraceIndex) => T): T {
    this.#closeSession();
    const before = stampOf(this.fname);
    const w = openForWrite(this.fname, this.#lockTimeout, this.#readOptions());
    const writer = this.#writer(w);
    let result: T;
    try {
      result = fn(writer, this.#writerIndex(w, before));
    } finally {
      this.#afterWrite(w, writer.committed);
    }
    return result;
  }

  /** {@link #withWriter} with the lock awaited, and the changes written, on libuv's thread pool. */
  async #withWriterAsync<T>(fn: (w: Writer, index: TraceIndex) => Promise<T>): Promise<T> {
    this.#closeSession();
    const before = stampOf(this.fname);
    const w = await openForWriteAsync(this.fname, this.#lockTimeout, this.#readOptions());
    const writer = this.#writer(w);
    let result: T;
    try {
      result = await fn(writer, this.#writerIndex(w, before));
    } finally {
      this.#afterWrite(w, writer.committed);
    }
    return result;
  }

  #writer(w: WriteSession): Writer {
    const writer: Writer = {
      source: w.source,
      committed: undefined,
      commit: (changes) => {
        writer.committed = "unknown";
        writer.committed = runOpsSync(commit(w.target(), changes));
      },
      commitAsync: async (changes) => {
        writer.committed = "unknown";
        writer.committed = await runOpsAsync(commit(w.target(), changes));
      },
    };
    return writer;
  }

  /** Closes the write session; the index's objects are where the commit put them (or looked up again). */
  #afterWrite(w: WriteSession, committed: Writer["committed"]): void {
    const after = w.close(committed !== undefined);
    if (committed === undefined) return;
    this.#generation++;
    if (committed !== "unknown" && committed.addresses) {
      // Appended: nothing parsed moved; the rewritten objects are elsewhere now.
      for (const [path, addr] of committed.addresses) this.#addresses.set(path, addr);
    } else {
      this.#addresses = new Map();
      this.#caches = undefined;
    }
    this.#indexStamp = after;
    this.#indexTrusted = true;
  }

  /** The index, valid for the file the writer holds. */
  #writerIndex(w: WriteSession, before: Stamp): TraceIndex {
    if (!this.#index || !this.#indexTrusted || !sameStamp(before, this.#indexStamp)) {
      this.#generation++;
      this.#index = buildIndex(w.source);
      this.#addresses = w.source.addresses;
      this.#caches = w.source.caches;
      this.#indexStamp = undefined;
    }
    return this.#index;
  }
}
