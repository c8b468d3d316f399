/**
 * Stopping long operations with an AbortSignal.
 * @module
 */
import { CacheFileError } from "./errors.js";

/**
 * A long operation stopped by its AbortSignal (`ABORT_ERR`, name
 * "AbortError" as Node's own); `cause` is the signal's reason. What it
 * writes is all or nothing: nothing was written.
 */
export class AbortedError extends CacheFileError {
  constructor(what: string, reason: unknown) {
    super("ABORT_ERR", `${what} was aborted: nothing was written`, { cause: reason });
    this.name = "AbortError";
  }
}

/** Throws {@link AbortedError} when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what = "the operation"): void {
  if (signal?.aborted) throw new AbortedError(what, signal.reason);
}
