/**
 * offspect-cachefile: read, annotate, merge and export offspect CacheFiles.
 *
 * The root is the idiomatic API: {@link CacheFile} with traces as typed
 * objects, creating, merging and exporting files, the readouts, and every
 * error class. The rest has an entry of its own, loaded only when imported:
 * `offspect-cachefile/offspect` (offspect's names and text values, for
 * ported scripts), `/map`, `/analysis`, `/recordings`, `/steps`, `/review`
 * and `/hdf5` (the file handle on libhdf5, low level).
 * @module
 */
// The public types use Node's (Buffer, Disposable, URL): consumers get them from @types/node, a dependency.
/// <reference types="node" preserve="true" />
export { CacheFile, CacheFileBase } from "./cachefile/cachefile.js";
export type { CacheFileOptions, TraceAttributes, TraceData, WriteResult } from "./cachefile/types.js";
export type { Trace, TraceAttrs, CmepTraceAttrs, ImepTraceAttrs, PdmepTraceAttrs, ErpTraceAttrs, MepTraceAttrs, GenericTraceAttrs, Coordinates, TraceUpdate, MepTraceUpdate, ErpTraceUpdate, GenericTraceUpdate } from "./cachefile/traceTypes.js";
export { decodeTraceAttrs, encodeTraceUpdate } from "./cachefile/typedValues.js";
export {
  GENERIC_TRACE_KEYS,
  MUST_BE_IDENTICAL,
  ORIGIN_KEYS,
  checkValue,
  getReadout,
  listReadouts,
  registerReadout,
  traceKeySpecs,
  validate,
  InvalidReadoutSpecError,
  ReadoutExistsError,
  type KeySpec,
  type ReadoutSpec,
  type ValueKind,
} from "./cachefile/readouts.js";
export { checkConsistency, createCacheFile, createCacheFileSync, AnnotationError, TraceDataError, type Annotation, type PopulateOptions, type ProgressCallback, type ProgressEvent, type TraceInput } from "./files/build.js";
export { mergeFiles, mergeFilesSync, type MergeEngine, type MergeOptions } from "./files/merge.js";
export { exportTraces, exportTracesSync, type ExportOptions } from "./files/export.js";
export * from "./base/errors.js";
export { AbortedError } from "./base/abort.js";
export { ArgumentRangeError, ArgumentTypeError } from "./values/errors.js";
export { DecodeError, EncodeError } from "./values/codec.js";
export { PyLiteralError } from "./values/index.js";
