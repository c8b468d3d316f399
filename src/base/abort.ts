/**
 * Stopping long operations with an AbortSignal.
 * @module
 */
import { CacheFileError } from "./errors.js";

/**
 * A long operation stopped by its AbortSignal (`ABORT_ERR`, name
 * "AbortError" as Node's own); `cause` is the signal's reason. Operations
 * that write do so all or nothing, and say so (`afterwards`: "nothing was
 * written").
 */
export class AbortedError extends CacheFileError {
  constructor(what: string, reason: unknown, afterwards?: string) {
    super("ABORT_ERR", `${what} was aborted${afterwards ? `: ${afterwards}` : ""}`, { cause: reason });
    this.name = "AbortError";
  }
}

/** What an aborted write leaves: the message's ending for every operation that writes all or nothing. */
export const NOTHING_WRITTEN = "nothing was written";

/** Throws {@link AbortedError} when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what = "the operation", afterwards?: string): void {
  if (signal?.aborted) throw new AbortedError(what, signal.reason, afterwards);
}
