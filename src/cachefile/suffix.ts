/**
 * The name rule of CacheFiles: offspect refuses any suffix but `.hdf5`.
 * @module
 */
import { extname, resolve } from "node:path";
import { InvalidSuffixError } from "../base/errors.js";
import { toPath } from "../base/paths.js";

/** The valid suffix of a CacheFile. */
export const VALID_SUFFIX = ".hdf5";

/**
 * offspect's `check_valid_suffix`: checks that a file name ends in `.hdf5`.
 * @throws {InvalidSuffixError}
 */
export function checkValidSuffix(fname: string): void {
  const suffix = extname(toPath(fname));
  if (suffix !== VALID_SUFFIX) throw new InvalidSuffixError(resolve(fname), suffix);
}
