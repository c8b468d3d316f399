/**
 * `offspect-cachefile/review`: the review in the browser (`cachefile
 * review`): a local web page served by this package to look at every
 * trace, reject, and correct peaks, with a JSON API a script can use too.
 * Importing the package's root does not load it.
 * @module
 */
export { startReview, type Review, type ReviewOptions } from "./server.js";
export { ReviewError, type ReviewErrorCode } from "./errors.js";
export { FLAG_NAMES, OUTLIER_Z, type FlagName } from "./flags.js";
export type { FileSummary } from "./reviewfile.js";
export type { ReviewStatus } from "./table.js";
export type { TraceView } from "./traceview.js";
export type { Overview } from "./overview.js";
export type { MapMeta, MapPoints } from "./mapview.js";
