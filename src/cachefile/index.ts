/**
 * The CacheFile API: the class (src/cachefile/cachefile.ts), offspect's
 * module functions (src/cachefile/offspect.ts), the types and the suffix
 * rule. Index, sharing and write rules live beside them in src/cachefile/.
 * @module
 */
export { CacheFile, toTraceData } from "./cachefile.js";
export { asDict, parseTraceAttrs, parseTraceData, readTrace, sortKeys, updateTraceAttributes, writeTraceData, type DatasetReader } from "./offspect.js";
export { checkValidSuffix, VALID_SUFFIX } from "./suffix.js";
export type { CacheFileOptions, TraceAttributes, TraceData, WriteResult } from "./types.js";
