/**
 * offspect's `CacheFile` (`offspect-cachefile/offspect`): offspect's names
 * and its attributes as text, for scripts ported from Python. Iterating
 * yields `[data, attrs]` as offspect's `for data, attrs in cf`, with
 * `for...of` and `for await` alike; the typed reads and updates of
 * {@link CacheFileBase} are there too.
 * @module
 */
import { CacheFileBase, sessionOf } from "./cachefile.js";
import type { TraceAttributes, TraceData, WriteResult } from "./types.js";

/**
 * A CacheFile on disk, as offspect's `offspect.cache.file.CacheFile`.
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
export class OffspectCacheFile extends CacheFileBase implements Iterable<[TraceData, TraceAttributes]>, AsyncIterable<[TraceData, TraceAttributes]> {
  /**
   * The data of one trace, read-only (see {@link TraceData}).
   * @throws {IndexTypeError} idx is not an integer
   * @throws {IndexRangeError} idx is not in 0..length-1
   */
  getTraceData(idx: number): TraceData {
    return sessionOf(this).getTraceData(idx);
  }

  /**
   * The collapsed attributes of one trace: the trace's own attributes (which
   * include the copied origin attributes) plus `origin`, `cache_file` and
   * `cache_file_index`.
   * @throws {IndexTypeError} idx is not an integer
   * @throws {IndexRangeError} idx is not in 0..length-1
   */
  getTraceAttrs(idx: number): TraceAttributes {
    return sessionOf(this).getTraceAttrs(idx);
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
    return sessionOf(this).setTraceAttrs(idx, attrs);
  }

  /** `for (const [data, attrs] of cf)`, as offspect's `for data, attrs in cf`. */
  [Symbol.iterator](): Iterator<[TraceData, TraceAttributes]> {
    return sessionOf(this).tuples();
  }

  /** `for await (const [data, attrs] of cf)`: the same, without blocking the event loop (64 traces per trip to libuv's thread pool). */
  [Symbol.asyncIterator](): AsyncIterator<[TraceData, TraceAttributes]> {
    return sessionOf(this).tuplesAsync();
  }
}
