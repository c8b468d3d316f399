/**
 * offspect-cachefile: read, annotate, merge and map offspect CacheFiles.
 * @module
 */
// The public types use Node's (Buffer, Disposable, URL): consumers get them from @types/node, a dependency.
/// <reference types="node" preserve="true" />
export {
  CacheFile,
  VALID_SUFFIX,
  asDict,
  checkValidSuffix,
  parseTraceAttrs,
  parseTraceData,
  readTrace,
  sortKeys,
  updateTraceAttributes,
  writeTraceData,
  type CacheFileOptions,
  type TraceAttributes,
  type TraceData,
  type WriteResult,
} from "./cachefile/index.js";
export { decode, encode, DecodeError, EncodeError, type Decoded } from "./values/codec.js";
export { ArgumentRangeError, ArgumentTypeError } from "./values/errors.js";
export * from "./base/errors.js";
export { AbortedError } from "./base/abort.js";
export type { Trace, TraceAttrs, CmepTraceAttrs, ImepTraceAttrs, PdmepTraceAttrs, ErpTraceAttrs, MepTraceAttrs, GenericTraceAttrs, Coordinates, TraceUpdate, MepTraceUpdate, ErpTraceUpdate, GenericTraceUpdate } from "./cachefile/traceTypes.js";
export { decodeTraceAttrs, encodeTraceUpdate } from "./cachefile/typedValues.js";
export { H5File, hdf5Version, openObjectCount, readFile, writeFile, type ObjectKind, type OpenMode, type OpenOptions, type RawData } from "./hdf5/file.js";
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
export { isPyValue, jsToPy, literalEval, pyRepr, pyStr, pythonStr, pyToJs, type PyValue, PyLiteralError } from "./values/index.js";
export { AnnotationError, AnnotationFactory, TraceDataError, checkConsistency, createCacheFile, createCacheFileSync, populate, type Annotation, type PopulateOptions, type ProgressCallback, type ProgressEvent, type TraceInput } from "./files/build.js";
export { merge, mergeFiles, mergeFilesSync, type MergeEngine, type MergeOptions } from "./files/merge.js";
export { exportTraces, exportTracesSync, type ExportOptions } from "./files/export.js";
export { recoverAnnotations, recoverParts } from "./files/recover.js";
export * from "./map/index.js";
export {
  STEP_NAMES,
  STEPS,
  StepError,
  baseline,
  detrend,
  fft,
  fftfreq,
  flipsign,
  formatSimilarPair,
  ifft,
  linenoise,
  linenoiseBin,
  loggedSteps,
  pearson,
  processData,
  similarPairs,
  similarTraces,
  type ComplexArray,
  type ProcessOptions,
  type SimilarPair,
  type Step,
  type StepName,
} from "./steps/index.js";
export {
  BrainVisionError,
  BrainVisionRecording,
  CoordsError,
  EdfError,
  EdfRecording,
  ImportError,
  RecordingError,
  XdfError,
  XdfFile,
  XdfSignal,
  formatInspection,
  importRecording,
  importRecordingSync,
  inspectRecording,
  inspectRecordingSync,
  localiteStreamPulses,
  openRecording,
  pairPulses,
  readBrainsight,
  readCoords,
  readTriggerMarkers,
  type ChannelInfo,
  type CoilPulse,
  type CoilPulses,
  type ImportOptions,
  type ImportProgress,
  type ImportResult,
  type Inspection,
  type PairMode,
  type RecordingEvent,
  type Signal,
  type XdfStream,
} from "./recordings/index.js";
export * from "./analysis/index.js";
