/**
 * A dependency loaded on its first use, synchronously (through CommonJS's
 * `require`): a command or an import that never needs it does not pay for
 * loading it (yaml, signal-exit, fft.js: tens of milliseconds each).
 * @internal
 * @module
 */
import { createRequire } from "node:module";

const load = createRequire(import.meta.url);

/** A function that gives module `id`, loading it the first time. */
export function lazyModule<T>(id: string): () => T {
  let module: T | undefined;
  return () => (module ??= load(id) as T);
}
