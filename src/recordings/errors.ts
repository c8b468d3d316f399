/**
 * Errors of the recording readers, the neuronavigation readers and the
 * import (cutting recordings into CacheFiles). Each is a {@link CacheFileError}
 * with a `code` naming the format (`EXDF`, `EBRAINVISION`, `EEDF`), `ECOORDS`
 * for coordinates that cannot be read or paired, and `ERECORDING` for
 * everything else the import refuses; `reason` names the specific problem,
 * `offset` the byte (or `line` the line) where it was found.
 *
 * @example
 * ```ts
 * try {
 *   openRecording("run1.xdf");
 * } catch (e) {
 *   if (e instanceof RecordingError && e.reason === "ETRUNCATED") console.error(e.message);
 * }
 * ```
 * @module
 */
import { CacheFileError } from "../base/errors.js";

/** Where in a file a problem was found. */
export interface Where {
  /** Byte offset. */
  offset?: number;
  /** 1-based line number (text formats). */
  line?: number;
}

function at(where: Where): string {
  if (where.offset !== undefined) return ` at byte ${where.offset}`;
  if (where.line !== undefined) return ` at line ${where.line}`;
  return "";
}

/**
 * Base class of every error here. `code` is the format's (`EXDF`,
 * `EBRAINVISION`, `EEDF`, `ECOORDS`) or `ERECORDING`; `reason` is specific
 * (`ETRUNCATED`, `EBADLENGTH`, `EBADHEADER`, `ENOCHANNEL`, ...).
 */
export class RecordingError extends CacheFileError {
  readonly reason: string;
  readonly offset?: number;
  readonly line?: number;
  constructor(code: string, reason: string, file: string, message: string, where: Where = {}) {
    super(code, `${file}${at(where)}: ${message}`, { file });
    this.reason = reason;
    if (where.offset !== undefined) this.offset = where.offset;
    if (where.line !== undefined) this.line = where.line;
  }
}

/** A malformed or unsupported XDF file (`EXDF`). */
export class XdfError extends RecordingError {
  constructor(reason: string, file: string, message: string, where: Where = {}) {
    super("EXDF", reason, file, message, where);
  }
}

/** A malformed or unsupported BrainVision header, marker or data file (`EBRAINVISION`). */
export class BrainVisionError extends RecordingError {
  constructor(reason: string, file: string, message: string, where: Where = {}) {
    super("EBRAINVISION", reason, file, message, where);
  }
}

/** A malformed or unsupported EDF, EDF+, BDF or BDF+ file (`EEDF`). */
export class EdfError extends RecordingError {
  constructor(reason: string, file: string, message: string, where: Where = {}) {
    super("EEDF", reason, file, message, where);
  }
}

/** Coordinates that cannot be read, or do not pair with the pulses (`ECOORDS`). */
export class CoordsError extends RecordingError {
  constructor(reason: string, file: string, message: string, where: Where = {}) {
    super("ECOORDS", reason, file, message, where);
  }
}

/** What the import refuses: an unknown format, a missing channel or event, a window outside the recording (`ERECORDING`). */
export class ImportError extends RecordingError {
  constructor(reason: string, file: string, message: string, where: Where = {}) {
    super("ERECORDING", reason, file, message, where);
  }
}
