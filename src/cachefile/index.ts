/**
 * The CacheFile API: the typed class and their shared base (cachefile.ts),
 * offspect's class (offspectFile.ts) and module functions (offspect.ts),
 * the session both are fronts of (session.ts), the types and the suffix
 * rule. Index, sharing and write rules live beside them in src/cachefile/.
 * @module
 */
export { CacheFile, CacheFileBase, sessionOf } from "./cachefile.js";
export { OffspectCacheFile } from "./offspectFile.js";
export { toTraceData } from "./session.js";
export { asDict, parseTraceAttrs, parseTraceData, readTrace, sortKeys, updateTraceAttributes, writeTraceData, type DatasetReader } from "./offspect.js";
export { checkValidSuffix, VALID_SUFFIX } from "./suffix.js";
export type { CacheFileOptions, TraceAttributes, TraceData, WriteResult } from "./types.js";
