/**
 * `offspect-cachefile/offspect`: offspect's `offspect.cache.file` under its
 * own names, values as the text offspect stores, for scripts ported from
 * Python: `CacheFile` with `getTraceAttrs`/`setTraceAttrs` and
 * `for (const [data, attrs] of cf)`, `encode`/`decode`, `merge`,
 * `populate`, `recoverAnnotations`, `AnnotationFactory`, and Python's
 * literals (`literalEval`, `pyRepr`). The errors are the root's.
 * @module
 */
export { OffspectCacheFile as CacheFile } from "./cachefile/offspectFile.js";
export { asDict, parseTraceAttrs, parseTraceData, readTrace, sortKeys, updateTraceAttributes, writeTraceData, type DatasetReader } from "./cachefile/offspect.js";
export { checkValidSuffix, VALID_SUFFIX } from "./cachefile/suffix.js";
export type { CacheFileOptions, TraceAttributes, TraceData, WriteResult } from "./cachefile/types.js";
export { decode, encode, type Decoded } from "./values/codec.js";
export { isPyValue, jsToPy, literalEval, pyRepr, pyStr, pythonStr, pyToJs, type PyValue } from "./values/index.js";
export { AnnotationFactory, checkConsistency, populate, type Annotation, type PopulateOptions, type TraceInput } from "./files/build.js";
export { merge, type MergeOptions } from "./files/merge.js";
export { recoverAnnotations, recoverParts } from "./files/recover.js";
