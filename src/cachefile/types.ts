/**
 * The values a CacheFile hands out and takes.
 * @module
 */

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
