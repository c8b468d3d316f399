/**
 * The errors of `cachefile review` (`startReview` and its JSON API) that a
 * user can cause, each with its code and a message that says what to do.
 * @module
 */
import { CacheFileError } from "../base/errors.js";

/**
 * The codes of {@link ReviewError}:
 * - `EREVIEWOPTION`: a bad option of `startReview` (port, host, files);
 * - `EREVIEWLISTEN`: the server cannot listen (the port is taken, the host is not this machine's);
 * - `EREVIEWPAGE`: the page bundle is missing from the package (a checkout without `npm run build:dist`);
 * - `EREVIEWNOUNDO` / `EREVIEWNOREDO`: nothing to undo or redo;
 * - `EREVIEWCONFLICT`: an undo or redo of values that another program has changed since;
 * - `EREVIEWREQUEST`: a request the API does not take (not JSON, an unknown key, a bad index).
 */
export type ReviewErrorCode = "EREVIEWOPTION" | "EREVIEWLISTEN" | "EREVIEWPAGE" | "EREVIEWNOUNDO" | "EREVIEWNOREDO" | "EREVIEWCONFLICT" | "EREVIEWREQUEST";

/**
 * An error of the review server or its API.
 * @example
 * ```ts
 * try { await startReview(["S01.hdf5"], { port: 80 }); }
 * catch (e) { if (e instanceof ReviewError && e.code === "EREVIEWLISTEN") console.error(e.message); }
 * ```
 */
export class ReviewError extends CacheFileError {
  declare readonly code: ReviewErrorCode;
  constructor(code: ReviewErrorCode, message: string, options: { file?: string; cause?: unknown } = {}) {
    super(code, message, options);
  }
}
