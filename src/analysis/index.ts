/**
 * Analysis without a GUI: automatic MEP annotation (`annotateTrace`, pure;
 * `annotateFile`, `annotateFiles`, `writeMeasures`, async, each with a
 * `...Sync` twin) and the motor-map numbers papers report (`mapStats`,
 * async, and `mapStatsSync`; `mapMarks`, pure).
 * @module
 */
export { AnalysisError, PartialWriteError, type AnalysisErrorCode } from "./errors.js";
export {
  MEASURE_DEFAULTS,
  ONSET_METHODS,
  annotateTrace,
  resolveMeasureOptions,
  type MeasureOptions,
  type OnsetMethod,
  type ResolvedMeasureOptions,
  type TraceMeasures,
} from "./measures.js";
export {
  ANNOTATOR,
  PEAK_FIELDS,
  STORED_MEASURES,
  annotateFile,
  annotateFileSync,
  annotateFiles,
  annotateFilesSync,
  type AnnotateFilesOptions,
  type AnnotateOptions,
  type AnnotateProgress,
  type AnnotateStatus,
  type AnnotatedTrace,
} from "./annotate.js";
export { defaultConcurrency } from "../base/pool.js";
export { writeMeasures, writeMeasuresSync, type MeasureUpdate, type WriteMeasuresResult } from "./write.js";
export { mapStats, mapStatsSync, type MapSite, type MapStats, type Mni, type ScopeStats, type StatsIntervals, type StatsOptions } from "./stats.js";
export { projectionArea } from "./area.js";
export { MARK_NAMES, mapMarks, markPosition, parseMarks, type MapMark, type MarkName } from "./marks.js";
