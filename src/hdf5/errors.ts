/**
 * The error factory handed to the native addon once, at load: every native
 * failure becomes the {@link CacheFileError} subclass this module builds
 * from its numbers, never from its wording. A libhdf5 failure is classified
 * by its error stack, innermost frame first, each frame looked up by
 * (major, minor) and then by minor alone, as h5py's `_errors` table does;
 * where the numbers name a system call (open, read, write, lock) the errno
 * saved right after the failing call decides; a native check carries its
 * own code; a failed system call of ours its errno.
 *
 * @example
 * ```ts
 * try {
 *   readFile("gone.hdf5");
 * } catch (e) {
 *   if (e instanceof FileNotFoundError) console.error(e.message); // "... does not exist: check the path"
 * }
 * ```
 * @internal
 * @module
 */
import {
  CacheFileError,
  ClosedError,
  CorruptFileError,
  DiskFullError,
  errnoKind,
  FileInUseError,
  FileNotFoundError,
  type Hdf5Frame,
  Hdf5Error,
  LayoutError,
  NotHdf5Error,
  PermissionError,
  ShapeMismatchError,
  TruncatedFileError,
} from "../base/errors.js";
import { FormatTruncated } from "./format/errors.js";
import { ByteReader } from "./format/reader.js";
import { readSuperblock } from "./format/superblock.js";

/** What the native addon hands the factory for one failure. */
export interface NativeFailure {
  /** "hdf5": a libhdf5 call failed; "check": a check of the addon; "system": a system call of the addon. */
  kind: "hdf5" | "check" | "system";
  /** One line: "what failed: outermost (innermost)" for libhdf5. */
  message: string;
  /** For checks: what failed (EDTYPE, ETOOBIG, ERANK, EATTRTYPE, EATTRSHAPE, EATTRUTF8, ECLOSED, ERELEASED, ...). */
  code?: string;
  /** The errno's name (ENOENT, EACCES, EBUSY, ...): for libhdf5, the errno right after the failing call; absent when 0. */
  errno?: string;
  /** For system failures: the call (open, flock, fallocate). */
  syscall?: string;
  /** The file concerned. */
  file?: string;
  /** For libhdf5: its error stack, outermost first, with the symbolic names of the error numbers. */
  frames?: Hdf5Frame[];
}

/** A class built from a failure, with the errno and system call that caused it, when known. */
export type NativeError = CacheFileError & { readonly errno?: string; readonly syscall?: string };

/** The data need a filter (compression) that this libhdf5 does not have (`EFILTER`). */
export class FilterUnavailableError extends CacheFileError {
  constructor(file: string, detail: string, hdf5?: Hdf5Frame[]) {
    super(
      "EFILTER",
      `${file} holds data compressed with a filter that is not available here (${detail}): ask for a copy written with h5py's default filters (gzip, lzf, shuffle) or install the filter's HDF5 plugin`,
      { file, ...(hdf5 ? { hdf5 } : {}) },
    );
  }
}

/** A rule: the error for a failure, or undefined to look further out. */
type Rule = (f: Failure) => CacheFileError | undefined;
/** A rule that always decides. */
type Build = (f: Failure) => CacheFileError;

interface Failure extends NativeFailure {
  file: string;
  /** The failure's message on one line. */
  detail: string;
  /** Index of the frame being looked at (the innermost is frames.length - 1). */
  at: number;
}

const notFound: Build = (f) => new FileNotFoundError(f.file);
const permission: Build = (f) => new PermissionError(f.file, f.detail, f.frames);
const diskFull: Build = (f) => new DiskFullError(f.file, f.detail, f.frames);
const inUse: Build = (f) => new FileInUseError(f.file, f.detail, f.frames);
const notHdf5 =
  (why: string): Build =>
  (f) =>
    new NotHdf5Error(f.file, why, f.frames);
const filterUnavailable: Build = (f) => new FilterUnavailableError(f.file, innermost(f), f.frames);
const corruptData: Build = (f) => new CorruptFileError(f.file, `compressed data cannot be decompressed: ${f.detail}`, f.frames);
const generic: Build = (f) => new Hdf5Error(f.file, `${f.file}: ${f.detail}`, f.frames);
const ioError: Build = (f) =>
  new CacheFileError("EIO", `${f.file}: input/output error (${f.detail}): check the disk and the mount`, { file: f.file, ...(f.frames ? { hdf5: f.frames } : {}) });

/** Damage; a superblock libhdf5 could not read is first checked for a file cut short inside it. */
const corrupt: Build = (f) => {
  if (f.frames?.some((x) => x.major === "H5E_FILE" && x.minor === "H5E_READERROR")) {
    const short = superblockShortfall(f.file);
    if (short) return new TruncatedFileError(f.file, short, f.frames);
  }
  return new CorruptFileError(f.file, f.detail, f.frames);
};

/** Error numbers by their kind (base/errors.ts's errnoKind, the one table), and the two libhdf5 reports beyond them. */
const BY_KIND: Record<string, Rule> = {
  ENOENT: notFound,
  EACCES: permission,
  ENOSPC: diskFull,
  EISDIR: notHdf5("it is a directory"),
  EBUSY: inUse,
};
const ERRNO: Record<string, Rule> = {
  EIO: ioError,
  ENOMEM: (f) => new CacheFileError("ENOMEM", `out of memory while using ${f.file}: close other programs or read fewer traces at once`, { file: f.file }),
};
const errnoRule = (errno: string): Rule | undefined => ERRNO[errno] ?? BY_KIND[errnoKind(errno)?.code ?? ""];

/** For minors that name a system call: the errno decides, else the frames further out. */
const byErrno: Rule = (f) => (f.errno === undefined ? undefined : errnoRule(f.errno)?.(f));

/**
 * (major, minor) -> rule, for the frames as seen from the innermost.
 * A key "H5E_X/*" matches every minor of major H5E_X.
 */
const EXACT: Record<string, Rule> = {
  "H5E_FILE/H5E_NOTHDF5": notHdf5("no HDF5 signature"),
  "H5E_FILE/H5E_TRUNCATED": (f) => new TruncatedFileError(f.file, innermost(f), f.frames),
  "H5E_FILE/H5E_FILEOPEN": inUse,
  // libhdf5 refusing an open: the system's errno; with none, as the innermost frame of H5Fopen,
  // the file is already open in this process in a mode that conflicts.
  "H5E_FILE/H5E_CANTOPENFILE": (f) => byErrno(f) ?? (f.errno === undefined && f.at === f.frames!.length - 1 && f.frames![0]?.func === "H5Fopen" ? inUse(f) : undefined),
  // A write through a handle opened read-only: the caller's mistake, not the file's.
  "H5E_ARGS/H5E_WRITEERROR": generic,
  // Filters: a missing one (libhdf5 searched its plugins, or reported it innermost) or data it cannot decode.
  "H5E_PLUGIN/*": filterUnavailable,
  "H5E_PLINE/H5E_NOTFOUND": filterUnavailable,
  "H5E_PLINE/H5E_READERROR": (f) => (f.at === f.frames!.length - 1 ? filterUnavailable(f) : corruptData(f)),
  "H5E_PLINE/H5E_CANTFILTER": corruptData,
  "H5E_PLINE/H5E_CALLBACK": corruptData,
  "H5E_PLINE/H5E_CANTINIT": corruptData,
  "H5E_STORAGE/H5E_READERROR": corruptData, // fletcher32: the data's checksum does not match
  "H5E_HEAP/H5E_CANTGET": corrupt, // a name offset outside its local heap
};

/** Structures whose failure to decode means damage, and how they fail. */
const METADATA = ["H5E_OHDR", "H5E_BTREE", "H5E_HEAP", "H5E_SYM", "H5E_CACHE", "H5E_DATASPACE", "H5E_DATATYPE", "H5E_ATTR", "H5E_LINK", "H5E_FSPACE", "H5E_SOHM", "H5E_EARRAY", "H5E_FARRAY", "H5E_DATASET", "H5E_STORAGE", "H5E_FILE", "H5E_RESOURCE", "H5E_PLIST", "H5E_VFL", "H5E_IO", "H5E_INTERNAL"];
const UNDECODABLE = ["H5E_CANTLOAD", "H5E_CANTDECODE", "H5E_BADMESG", "H5E_BADVALUE", "H5E_CANTPROTECT", "H5E_OVERFLOW", "H5E_VERSION", "H5E_BADSIZE", "H5E_BADRANGE", "H5E_ALIGNMENT", "H5E_CANTUNSERIALIZE", "H5E_SYSTEM", "H5E_NOSPACE", "H5E_CANTALLOC"];
for (const major of METADATA) for (const minor of UNDECODABLE) EXACT[`${major}/${minor}`] ??= corrupt;

/** Minor -> rule, where no (major, minor) entry matched. */
const MINOR: Record<string, Rule> = {
  H5E_CANTLOCKFILE: inUse,
  H5E_CANTCONVERT: corrupt,
  H5E_NOTFOUND: (f) => new LayoutError(f.file, f.detail, "ENOTFOUND", f.frames),
  H5E_SEEKERROR: byErrno,
  H5E_READERROR: byErrno,
  H5E_WRITEERROR: byErrno,
  H5E_CLOSEERROR: byErrno,
  H5E_OPENERROR: byErrno,
  H5E_FCNTL: byErrno,
  H5E_SYSERRSTR: byErrno,
  H5E_CANTCREATE: byErrno,
  H5E_CANTOPENFILE: byErrno,
  H5E_CANTCLOSEFILE: byErrno,
  H5E_CANTFLUSH: byErrno,
};

/** Check codes of the addon -> class. */
const CHECK: Record<string, Rule> = {
  ECLOSED: (f) => new ClosedError(`the HDF5 file ${f.file}`),
  ERELEASED: (f) => new ClosedError(`the lock on ${f.file}`),
  ECORRUPT: corrupt,
  ESHAPE: (f) => new ShapeMismatchError(`${f.file}: ${f.detail}: nothing was written`, f.file),
};
for (const code of ["EDTYPE", "ETOOBIG", "ERANK", "EATTRTYPE", "EATTRSHAPE", "EATTRUTF8"]) {
  CHECK[code] = (f) => new LayoutError(f.file, f.detail, code);
}

/** The innermost frame's description (libhdf5's most specific words), for a message. */
function innermost(f: Failure): string {
  const frames = f.frames ?? [];
  return oneLine(frames[frames.length - 1]?.desc ?? f.detail);
}

function oneLine(text: string): string {
  return text
    .split("\n")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .join(" ");
}

/** Where a file starts with the HDF5 signature but ends inside its superblock: how short it is. */
function superblockShortfall(file: string): string | undefined {
  let reader: ByteReader | undefined;
  try {
    reader = ByteReader.open(file);
    readSuperblock(reader);
    return undefined;
  } catch (e) {
    if (e instanceof FormatTruncated) return `${e.message}: ${e.size} of ${e.need} bytes`;
    return undefined; // not cut short (or not readable at all): libhdf5's numbers stand
  } finally {
    reader?.close();
  }
}

function classifyStack(f: Failure): CacheFileError {
  const frames = f.frames ?? [];
  for (let at = frames.length - 1; at >= 0; at--) {
    const { major, minor } = frames[at]!;
    const rule = EXACT[`${major}/${minor}`] ?? EXACT[`${major}/*`] ?? MINOR[minor];
    const error = rule?.({ ...f, at });
    if (error) return error;
  }
  return byErrno(f) ?? generic(f);
}

/**
 * The error for one native failure: the function handed to the addon's
 * `setErrorFactory`.
 */
export function errorFromNative(failure: NativeFailure): NativeError {
  const f: Failure = { ...failure, file: failure.file ?? "(no file)", detail: oneLine(failure.message), at: -1 };
  let error: CacheFileError | undefined;
  if (f.kind === "check") error = CHECK[f.code ?? ""]?.(f) ?? new CacheFileError(f.code ?? "ENATIVE", `${f.file}: ${f.detail}`, { file: f.file });
  else if (f.kind === "system") error = byErrno(f) ?? new CacheFileError("EIO", `${f.file}: ${f.detail}: check the disk and the mount`, { file: f.file });
  else error = classifyStack(f);
  // Every class carries libhdf5's stack, also those whose constructor takes none (FileNotFoundError).
  if (f.frames !== undefined && error.hdf5 === undefined) Object.defineProperty(error, "hdf5", { value: f.frames, enumerable: true });
  if (f.errno !== undefined) Object.defineProperty(error, "errno", { value: f.errno, enumerable: true });
  if (f.syscall !== undefined) Object.defineProperty(error, "syscall", { value: f.syscall, enumerable: true });
  return error;
}
