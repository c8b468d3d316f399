/**
 * The command line's own errors: what `main` prints as one line and turns
 * into an exit code (the library's errors are `CacheFileError`s).
 * @module
 */

/** A user error: printed as one line, exit code 1. */
export class UserError extends Error {}

/** A usage error found after parsing: printed as one line, exit code 2. */
export class UsageError extends Error {}
