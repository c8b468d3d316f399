/**
 * The two ways the format module can refuse a file. Both are internal to
 * the module: its public interface turns them into a report (declined, with
 * the reason) or into {@link CorruptFileError}.
 * @internal
 * @module
 */

/**
 * The bytes contradict HDF5's format: an address outside the file, a
 * structure running past its end, a bad signature or checksum, a cycle.
 * libhdf5 may fail on such a file, and on some of them crash; it is never
 * handed one.
 */
export class FormatDamage extends Error {
  override readonly name = "FormatDamage";
}

/**
 * Valid HDF5 outside the subset the module reads (e.g. shared object header
 * messages, external links to other files, a multi-file driver): libhdf5
 * reads such a file instead.
 */
export class FormatUnsupported extends Error {
  override readonly name = "FormatUnsupported";
}

/** Throws {@link FormatDamage}. */
export function damaged(reason: string): never {
  throw new FormatDamage(reason);
}

/** Throws {@link FormatUnsupported}. */
export function unsupported(reason: string): never {
  throw new FormatUnsupported(reason);
}

/**
 * The file is shorter than its superblock says: a copy that stopped early.
 * `size` is the file's length, `need` what the superblock declares.
 */
export class FormatTruncated extends Error {
  override readonly name = "FormatTruncated";
  readonly size: number;
  readonly need: number;
  constructor(reason: string, size: number, need: number) {
    super(reason);
    this.size = size;
    this.need = need;
  }
}

/**
 * Valid HDF5 whose values cannot be read as asked (an attribute that is not
 * one string, a dataset that does not hold numbers): the same conditions,
 * with the same codes, as the native reader's (`EATTRTYPE`, `EATTRSHAPE`,
 * `EATTRUTF8`, `EDTYPE`, `ETOOBIG`).
 */
export class FormatValueError extends Error {
  override readonly name = "FormatValueError";
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** Not an HDF5 file at all: no signature where libhdf5 looks for one. */
export class FormatNotHdf5 extends Error {
  override readonly name = "FormatNotHdf5";
}
