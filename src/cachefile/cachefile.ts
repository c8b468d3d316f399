/**
 * CacheFile: the evoked-potential traces of one subject and their
 * annotations. Two fronts over one session (session.ts): this module's
 * `CacheFile`, the package root's, with traces as typed objects; and
 * offspect's `CacheFile` (offspectFile.ts, `offspect-cachefile/offspect`),
 * with offspect's names and attributes as text. Both share
 * {@link CacheFileBase}: opening, the counts, the typed reads and updates.
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
import { CacheFileSession } from "./session.js";
import type { CacheFileOptions, TraceData, WriteResult } from "./types.js";
import type { Trace, TraceUpdate } from "./traceTypes.js";

const SESSIONS = new WeakMap<CacheFileBase, CacheFileSession>();

/** The session behind a CacheFile of either front (for this package's modules). @internal */
export function sessionOf(cf: CacheFileBase): CacheFileSession {
  const s = SESSIONS.get(cf);
  if (!s) throw new TypeError("expected a CacheFile");
  return s;
}

/** Options objects of {@link CacheFileBase.open}: the constructor leaves the opening to it. */
const OPENING = new WeakSet<CacheFileOptions>();

/** What both CacheFile classes have: opening, counts, typed reads and updates, release. */
export abstract class CacheFileBase {
  /** Absolute path of the file. */
  readonly fname: string;

  /**
   * Opens a CacheFile and indexes its origins and traces.
   * @throws {FileNotFoundError} (code ENOENT) the file does not exist
   * @throws {InvalidSuffixError} the name does not end in .hdf5
   * @throws {NotHdf5Error} / {TruncatedFileError} / {CorruptFileError} not a readable HDF5 file
   * @throws {LayoutError} an HDF5 file not laid out as a CacheFile (e.g. no `traces` groups)
   */
  constructor(fname: string | URL, options: CacheFileOptions = {}) {
    const session = new CacheFileSession(fname, options, OPENING.has(options));
    SESSIONS.set(this, session);
    this.fname = session.fname;
  }

  /**
   * Opens and indexes a CacheFile without blocking the event loop.
   * @example
   * ```ts
   * const cf = await CacheFile.open("session.hdf5");
   * for await (const t of cf.each({ batch: 64 })) console.log(t.id, t.shape);
   * ```
   * @throws the errors of the constructor
   */
  static async open<T extends CacheFileBase>(this: new (fname: string | URL, options?: CacheFileOptions) => T, fname: string | URL, options: CacheFileOptions = {}): Promise<T> {
    const deferred = { ...options };
    OPENING.add(deferred);
    const cf = new this(fname, deferred);
    await sessionOf(cf).ready();
    return cf;
  }

  /** {@link open}, blocking: the same as `new CacheFile(fname, options)`. */
  static openSync<T extends CacheFileBase>(this: new (fname: string | URL, options?: CacheFileOptions) => T, fname: string | URL, options: CacheFileOptions = {}): T {
    return new this(fname, options);
  }

  /** Number of traces in the file. */
  get length(): number {
    return sessionOf(this).length;
  }

  /** Names of the origins (source recordings), in the file's order. */
  get origins(): string[] {
    return sessionOf(this).origins;
  }

  /** Number of traces of each origin, in the order of {@link origins}. */
  get originCounts(): number[] {
    return sessionOf(this).originCounts;
  }

  /**
   * The peek text, character for character as offspect's `print(cf)`: each
   * origin's attributes and trace count, then the totals.
   */
  toString(): string {
    return sessionOf(this).toString();
  }

  /**
   * One trace as an object: index, origin, id, data, shape, and its
   * attributes as values typed per readout (`reject` a boolean, `xyz_coords`
   * three numbers or null, peaks numbers or null, ...; see
   * {@link decodeTraceAttrs}), with the stored text beside them (`text`).
   * @example
   * ```ts
   * const t = cf.traceSync(3);
   * if (t.attrs.readout === "cmep" && !t.attrs.reject) console.log(t.attrs.xyz_coords, t.attrs.pos_peak_magnitude_uv);
   * ```
   * @throws {IndexTypeError} / {IndexRangeError} a bad index
   */
  traceSync(idx: number): Trace {
    return sessionOf(this).traceSync(idx);
  }

  /** {@link traceSync}, its data read on libuv's thread pool. */
  trace(idx: number): Promise<Trace> {
    return sessionOf(this).trace(idx);
  }

  /**
   * Every trace as an object ({@link traceSync}), in the file's order.
   * @example
   * ```ts
   * const rejected = [...cf.eachSync()].filter((t) => t.attrs.reject).map((t) => t.index);
   * ```
   */
  eachSync(): Generator<Trace> {
    return sessionOf(this).eachSync();
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
  each(options: { batch?: number; signal?: AbortSignal } = {}): AsyncGenerator<Trace> {
    return sessionOf(this).each(options);
  }

  /**
   * Updates some attributes of one trace from values: `{ reject: true,
   * comment: "double pulse?" }`. Each key must be a trace key of the
   * trace's readout and each value of its kind; values are checked first
   * and stored as the text offspect's own `set_trace_attrs` stores (its
   * `encode`), so offspect reads them back unchanged; a value equal to the
   * stored one is not written again. Nothing is written when anything is
   * refused.
   * @example
   * ```ts
   * cf.updateSync(3, { reject: true, comment: "double pulse?" }); // { written: ["comment", "reject"], ignored: [] }
   * ```
   * @throws {InvalidAttributeError} a key the readout does not have, or a value of the wrong kind
   * @throws {IndexTypeError} / {IndexRangeError} a bad index
   * @throws {FileInUseError} another process kept the file locked for longer than the lock timeout
   */
  updateSync(idx: number, values: TraceUpdate): WriteResult {
    return sessionOf(this).updateSync(idx, values);
  }

  /**
   * {@link updateSync} for many traces in one write that is all or nothing:
   * every update is checked first, then all are written at once. After a
   * full disk, a killed process or a power cut the file holds every change
   * or none.
   * @returns one result per update, in order
   */
  updateManySync(updates: Iterable<{ index: number; values: TraceUpdate }>): WriteResult[] {
    return sessionOf(this).updateManySync(updates);
  }

  /** {@link updateSync} without blocking the event loop (the lock awaited and the write made on libuv's thread pool). */
  update(idx: number, values: TraceUpdate): Promise<WriteResult> {
    return sessionOf(this).update(idx, values);
  }

  /**
   * {@link updateManySync} without blocking the event loop; `signal` can
   * stop it before anything is written (AbortedError).
   */
  updateMany(updates: Iterable<{ index: number; values: TraceUpdate }>, options: { signal?: AbortSignal } = {}): Promise<WriteResult[]> {
    return sessionOf(this).updateMany(updates, options);
  }

  /**
   * Overwrites the data of trace `idx`; the shape must equal the stored one.
   * @throws {ShapeMismatchError} the shapes differ (nothing is written)
   */
  writeData(idx: number, data: TraceData | Float64Array | number[][]): void {
    sessionOf(this).writeData(idx, data);
  }

  /**
   * Releases the file now (it is released anyway once control returns to the
   * event loop). The CacheFile stays usable; the next call opens it again.
   */
  close(): void {
    sessionOf(this).close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** `await using cf = await CacheFile.open(...)`: releases the file. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/**
 * A CacheFile on disk, its traces as typed objects: `for (const t of cf)`
 * and `for await (const t of cf)` both yield {@link Trace}s (index, origin,
 * id, data, shape, `attrs` as values, `text` as stored). For offspect's
 * names and text values (`getTraceAttrs`, `for (const [data, attrs] of cf)`)
 * use `CacheFile` from `offspect-cachefile/offspect`.
 *
 * @example Read
 * ```ts
 * const cf = new CacheFile("example.hdf5");
 * for (const t of cf) if (!t.attrs.reject) console.log(t.index, t.attrs.stimulation_intensity_mso);
 * ```
 * @example Update
 * ```ts
 * cf.updateSync(0, { stimulation_intensity_mso: 66, comment: "checked" });
 * ```
 */
export class CacheFile extends CacheFileBase implements Iterable<Trace>, AsyncIterable<Trace> {
  /** `for (const t of cf)`: {@link eachSync}. */
  [Symbol.iterator](): Iterator<Trace> {
    return this.eachSync();
  }

  /** `for await (const t of cf)`: {@link each} with its defaults. */
  [Symbol.asyncIterator](): AsyncIterator<Trace> {
    return this.each();
  }
}
