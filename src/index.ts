/**
 * offspect-cachefile: read, annotate, merge and map offspect CacheFiles.
 * @module
 */
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
} from "./cachefile.js";
export { decode, encode, DecodeError, type Decoded } from "./codec.js";
export * from "./errors.js";
export { H5File, hdf5Version, openObjectCount, readFile, writeFile, type ObjectKind, type OpenMode, type OpenOptions, type RawData } from "./h5.js";
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
  type KeySpec,
  type ReadoutSpec,
  type ValueKind,
} from "./readouts.js";
export { literalEval, pyRepr, pyStr, pythonStr, type PyValue, PyLiteralError } from "./pyliteral.js";
export { AnnotationFactory, checkConsistency, populate, type Annotation, type PopulateOptions, type ProgressCallback, type ProgressEvent, type TraceInput } from "./build.js";
export { merge, type MergeEngine, type MergeOptions } from "./merge.js";
export { recoverAnnotations, recoverParts } from "./recover.js";
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
  similarTraces,
  type ComplexArray,
  type ProcessOptions,
  type SimilarPair,
  type Step,
  type StepName,
} from "./steps.js";
