/**
 * Long operations written once, run both ways: as a generator that yields
 * between units of work (a source merged, a batch of traces written), run
 * to the end at once (the blocking form) or with a turn of the event loop
 * at each yield and the AbortSignal checked there (the async form). When
 * aborted, the generator is closed, so its `finally` blocks clean up.
 * @internal
 * @module
 */
import { setImmediate as turn } from "node:timers/promises";
import { throwIfAborted } from "./abort.js";

/** Runs `work` to its end without pausing. */
export function runSync<T>(work: Generator<unknown, T>): T {
  for (;;) {
    const step = work.next();
    if (step.done) return step.value;
  }
}

/**
 * Runs `work`, letting the event loop turn at each of its yields; stops it
 * (AbortedError naming `what`, and what that left: `afterwards`) when
 * `signal` aborts.
 */
export async function runAsync<T>(work: Generator<unknown, T>, signal: AbortSignal | undefined, what: string, afterwards?: string): Promise<T> {
  try {
    for (;;) {
      throwIfAborted(signal, what, afterwards);
      const step = work.next();
      if (step.done) return step.value;
      await turn();
    }
  } finally {
    work.return(undefined as T);
  }
}
