/**
 * Every error this library throws on purpose. Each has a stable `code` that
 * scripts can switch on, and a message that says what went wrong and what to
 * do about it.
 *
 * @example
 * ```ts
 * try {
 *   new CacheFile("missing.hdf5");
 * } catch (e) {
 *   if (e instanceof CacheFileError && e.code === "ENOENT") console.error(e.message);
 * }
 * ```
 * @module
 */

import { type Stats, statSync } from "node:fs";
import { dirname, resolve as resolvePath } from "node:path";

const BRAND = Symbol.for("offspect-cachefile.error");

/** One frame of libhdf5's error stack, outermost first. */
export interface Hdf5Frame {
  func: string;
  major: string;
  minor: string;
  desc: string;
}

/**
 * Base class of the errors this library throws. `instanceof CacheFileError`
 * also holds for {@link IndexTypeError} and {@link IndexRangeError}, which
 * extend the built-in TypeError and RangeError.
 */
export class CacheFileError extends Error {
  readonly code: string;
  /** The file concerned, where there is one. */
  readonly file?: string;
  /** libhdf5's error stack, when libhdf5 reported the failure. */
  readonly hdf5?: Hdf5Frame[];

  constructor(code: string, message: string, options: { file?: string; hdf5?: Hdf5Frame[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options.file !== undefined) this.file = options.file;
    if (options.hdf5 !== undefined) this.hdf5 = options.hdf5;
    (this as Record<symbol, unknown>)[BRAND] = true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === CacheFileError) {
      return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
    }
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/**
 * A failure of the operating system about `file` as this library's class:
 * the one table of error numbers on the TypeScript side (libhdf5's are
 * src/hdf5/errors.ts's). `doing` says what was being done ("open",
 * "write", "create the folder"), `note` what that means for the file
 * ("nothing was written"); other errors come back as they are.
 * @example
 * try { openSync(path, "r+"); } catch (e) { throw fromErrno(e, path, "open"); }
 */
export function fromErrno(e: unknown, file: string, doing: string, note?: string): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const why = (reason: string) => `cannot ${doing} it: ${reason}${note ? `; ${note}` : ""}`;
  const kind = errnoKind(code);
  switch (kind?.code) {
    case "ENOENT":
      return new FileNotFoundError(file);
    case "EACCES":
      return new PermissionError(file, why(kind.reason));
    case "ENOSPC":
      return new DiskFullError(file, why(kind.reason));
    case "EISDIR":
      return new NotHdf5Error(file, "it is a directory");
    default:
      return e;
  }
}

/** What an error number means here: the code of its class and why, in words. */
export interface ErrnoKind {
  code: "ENOENT" | "EACCES" | "ENOSPC" | "EISDIR" | "EBUSY";
  reason: string;
}

/**
 * The one table of error numbers: which of this library's codes an
 * operating-system error stands for (EROFS and EPERM are EACCES, EDQUOT is
 * ENOSPC, EAGAIN is EBUSY), undefined for others. {@link fromErrno} makes
 * the class from it; the splice engine, which has no classes, its codes.
 */
export function errnoKind(code: string | undefined): ErrnoKind | undefined {
  switch (code) {
    case "ENOENT":
    case "ENOTDIR":
      return { code: "ENOENT", reason: "it does not exist" };
    case "EACCES":
    case "EPERM":
      return { code: "EACCES", reason: "not allowed" };
    case "EROFS":
      return { code: "EACCES", reason: "the file system is read-only" };
    case "ENOSPC":
      return { code: "ENOSPC", reason: "the disk is full" };
    case "EDQUOT":
      return { code: "ENOSPC", reason: "the disk quota is used up" };
    case "EISDIR":
      return { code: "EISDIR", reason: "it is a directory" };
    case "EBUSY":
    case "EWOULDBLOCK":
    case "EAGAIN":
      return { code: "EBUSY", reason: "another process holds it" };
    default:
      return undefined;
  }
}

/**
 * A source changed between the check of a merge and its copy (another
 * program wrote it, or replaced it), so what was checked is not what would
 * be copied (`ECHANGED`). Nothing was written.
 */
export class SourceChangedError extends CacheFileError {
  constructor(file: string, detail: string) {
    super("ECHANGED", `${file} changed while it was merged (${detail}); nothing was written: merge again once nothing else writes it`, { file });
  }
}

/** The file does not exist (`ENOENT`). */
export class FileNotFoundError extends CacheFileError {
  constructor(file: string) {
    super("ENOENT", `${file} does not exist: check the path`, { file });
  }
}

/** The file name does not end in `.hdf5`, as offspect requires (`ESUFFIX`). */
export class InvalidSuffixError extends CacheFileError {
  constructor(file: string, suffix: string) {
    super(
      "ESUFFIX",
      `${suffix === "" ? "a name without suffix" : suffix} is not a valid suffix for a CacheFile: the name must end in .hdf5 (${file})`,
      { file },
    );
  }
}

/** The file is not an HDF5 file at all, or is a directory (`ENOTHDF5`). */
export class NotHdf5Error extends CacheFileError {
  constructor(file: string, why: string, hdf5?: Hdf5Frame[]) {
    super("ENOTHDF5", `${file} is not an HDF5 file (${why}): pass a CacheFile written by offspect or this library`, {
      file,
      ...(hdf5 ? { hdf5 } : {}),
    });
  }
}

/** The HDF5 file ends before its own header says it should (`ETRUNCATED`). */
export class TruncatedFileError extends CacheFileError {
  constructor(file: string, detail: string, hdf5?: Hdf5Frame[]) {
    super(
      "ETRUNCATED",
      `${file} is truncated (${detail}): the copy is incomplete; copy or download the file again`,
      { file, ...(hdf5 ? { hdf5 } : {}) },
    );
  }
}

/** The HDF5 file is damaged inside (`ECORRUPT`). */
export class CorruptFileError extends CacheFileError {
  constructor(file: string, detail: string, hdf5?: Hdf5Frame[]) {
    super("ECORRUPT", `${file} is damaged (${detail}): restore it from a backup or re-create it`, {
      file,
      ...(hdf5 ? { hdf5 } : {}),
    });
  }
}

/** Another process (or open handle) holds the file (`EBUSY`). */
export class FileInUseError extends CacheFileError {
  constructor(file: string, detail: string, hdf5?: Hdf5Frame[]) {
    super(
      "EBUSY",
      `${file} is locked by another process or open handle (${detail}): close the other program (offspect's viewer, a script holding it open) and try again`,
      { file, ...(hdf5 ? { hdf5 } : {}) },
    );
  }
}

/** The operating system refused access (`EACCES`). */
export class PermissionError extends CacheFileError {
  constructor(file: string, detail: string, hdf5?: Hdf5Frame[]) {
    super("EACCES", `permission denied for ${file} (${detail}): check the file's and directory's permissions`, {
      file,
      ...(hdf5 ? { hdf5 } : {}),
    });
  }
}

/** The disk is full (`ENOSPC`). */
export class DiskFullError extends CacheFileError {
  constructor(file: string, detail: string, hdf5?: Hdf5Frame[]) {
    super("ENOSPC", `no space left on the device while writing ${file} (${detail}): free some space and try again`, {
      file,
      ...(hdf5 ? { hdf5 } : {}),
    });
  }
}

/**
 * The HDF5 file is readable but is not laid out as a CacheFile: a missing
 * `traces` group, a trace that is not a numeric dataset, an attribute that is
 * not a string, ... (`ELAYOUT`). `reason` names the specific problem.
 */
export class LayoutError extends CacheFileError {
  readonly reason: string;
  constructor(file: string, detail: string, reason = "ELAYOUT", hdf5?: Hdf5Frame[]) {
    super("ELAYOUT", `${file} is not laid out as a CacheFile: ${detail}`, { file, ...(hdf5 ? { hdf5 } : {}) });
    this.reason = reason;
  }
}

/** libhdf5 failed in a way not covered by a more specific class (`EHDF5`). */
export class Hdf5Error extends CacheFileError {
  constructor(file: string | undefined, message: string, hdf5?: Hdf5Frame[]) {
    super("EHDF5", message, { ...(file !== undefined ? { file } : {}), ...(hdf5 ? { hdf5 } : {}) });
  }
}

/** A handle was used after `close()` (`ECLOSED`). */
export class ClosedError extends CacheFileError {
  constructor(what: string) {
    super("ECLOSED", `${what} is closed: open it again before use`);
  }
}

/** One problem found in a trace's attributes. */
export interface AttributeProblem {
  key: string;
  /** The stored text, or undefined when the key is missing. */
  value: string | undefined;
  expected: string;
  message: string;
}

/**
 * Attribute values that are invalid for the trace's readout (`EINVALID`).
 * Nothing was written. `problems` lists every one.
 */
export class InvalidAttributeError extends CacheFileError {
  readonly problems: AttributeProblem[];
  constructor(problems: AttributeProblem[], file?: string) {
    super(
      "EINVALID",
      `invalid trace attributes, nothing was written: ${problems.map((p) => p.message).join("; ")}`,
      file !== undefined ? { file } : {},
    );
    this.problems = problems;
  }
}

/**
 * Attributes that did not come from this file and index: `cache_file` or
 * `cache_file_index` missing, naming another file, or another trace
 * (`EFOREIGN`). Nothing was written.
 */
export class ForeignAttributesError extends CacheFileError {
  constructor(message: string, file?: string) {
    super("EFOREIGN", message, file !== undefined ? { file } : {});
  }
}

/** The trace's readout or readin is not in the registry (`EREADOUT`). */
export class UnknownReadoutError extends CacheFileError {
  constructor(message: string, file?: string) {
    super("EREADOUT", message, file !== undefined ? { file } : {});
  }
}

/**
 * A file cannot be written where it was asked for (nothing was written):
 * - `ENOTARGETDIR`: the folder it goes into does not exist, or is not a folder;
 * - `ETARGETISDIR`: the target itself is a folder.
 *
 * `folder` names the folder at fault, never a temporary file.
 * @example
 * try { populate("/missing/dir/out.hdf5", annotations, traces); }
 * catch (e) { if (e instanceof TargetFolderError) console.error(e.message); } // "... the folder /missing/dir does not exist ..."
 */
export class TargetFolderError extends CacheFileError {
  /** The folder at fault (for `ETARGETISDIR`: the target). */
  readonly folder: string;
  constructor(target: string, folder: string, problem: "missing" | "not-a-folder" | "is-a-folder") {
    super(
      problem === "is-a-folder" ? "ETARGETISDIR" : "ENOTARGETDIR",
      problem === "missing"
        ? `cannot write ${target}: the folder ${folder} does not exist; create it first (mkdir -p ${folder}) or write elsewhere`
        : problem === "not-a-folder"
          ? `cannot write ${target}: ${folder} is not a folder; pick a path inside an existing folder`
          : `cannot write ${target}: it is a folder; name a file inside it instead`,
      { file: target },
    );
    this.folder = folder;
  }

  /**
   * Checks, before anything is written, that `target` can be created or
   * replaced: its folder exists and is a folder, and it is not a folder itself.
   * @throws {TargetFolderError} when it cannot
   */
  static check(target: string): void {
    const path = resolvePath(target);
    const folder = dirname(path);
    let info: Stats | undefined;
    try {
      info = statSync(folder);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw new TargetFolderError(target, folder, "missing");
      if (code === "ENOTDIR") throw new TargetFolderError(target, nearestNonFolder(folder), "not-a-folder");
      throw e;
    }
    if (!info.isDirectory()) throw new TargetFolderError(target, folder, "not-a-folder");
    let self: Stats | undefined;
    try {
      self = statSync(path);
    } catch {
      return; // absent: it will be created
    }
    if (self.isDirectory()) throw new TargetFolderError(target, path, "is-a-folder");
  }
}

/** The first component of `folder` that exists and is not a folder. */
function nearestNonFolder(folder: string): string {
  let p = folder;
  for (;;) {
    const parent = dirname(p);
    if (parent === p) return folder;
    try {
      if (!statSync(parent).isDirectory()) p = parent;
      else return p;
    } catch {
      p = parent;
    }
  }
}

/** Data to write does not have the stored trace's shape (`ESHAPE`). Nothing was written. */
export class ShapeMismatchError extends CacheFileError {
  constructor(message: string, file?: string) {
    super("ESHAPE", message, file !== undefined ? { file } : {});
  }
}

/** Sources that cannot be merged into one file (`EINCONSISTENT`). */
export class ConsistencyError extends CacheFileError {
  readonly key: string;
  readonly values: unknown[];
  constructor(key: string, values: unknown[], message: string) {
    super("EINCONSISTENT", message);
    this.key = key;
    this.values = values;
  }
}

function brand<T extends Error>(error: T, code: string): T & { code: string } {
  (error as unknown as Record<string | symbol, unknown>)["code"] = code;
  (error as unknown as Record<symbol, unknown>)[BRAND] = true;
  return error as T & { code: string };
}

/** A trace index that is not an integer (`EINDEXTYPE`); a TypeError, as offspect refuses it. */
export class IndexTypeError extends TypeError {
  declare readonly code: string;
  constructor(value: unknown) {
    super(`Index must be an integer, got ${describe(value)}`);
    this.name = "IndexTypeError";
    brand(this, "EINDEXTYPE");
  }
}

/** A trace index outside 0..length-1 (`ERANGE`); a RangeError, as offspect's IndexError. */
export class IndexRangeError extends RangeError {
  declare readonly code: string;
  constructor(index: number, length: number, file: string) {
    super(
      length === 0
        ? `${index} not in cachefile: ${file} holds no traces`
        : `${index} not in cachefile: valid indices of ${file} are 0 to ${length - 1}`,
    );
    this.name = "IndexRangeError";
    brand(this, "ERANGE");
  }
}

/** Short description of a value for messages. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || value === undefined || typeof value !== "object") return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return `a ${value.constructor?.name ?? "object"}`;
}
