/**
 * The entry of a worker process of {@link ProcessPool} (./pool.ts): runs
 * each request (`fn` of a handler module, with its arguments and an `emit`
 * for progress events) one after the other and answers with the result or
 * the error. Ignores SIGINT and SIGTERM (the parent decides what stops);
 * exits once the parent closes the channel or goes away.
 * @internal
 * @module
 */
import { sendError } from "./pool.js";

type Handler = (args: unknown, emit: (event: unknown) => void) => unknown;

const send = (message: unknown) =>
  new Promise<void>((resolve) => {
    if (!process.connected) return resolve();
    process.send!(message, undefined, {}, () => resolve());
  });

for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => undefined);
process.on("disconnect", () => process.exit(0));

let queue = Promise.resolve();
process.on("message", (m: { id: number; module: string; fn: string; args: unknown }) => {
  queue = queue.then(async () => {
    try {
      const mod = (await import(m.module)) as Record<string, Handler>;
      const fn = mod[m.fn];
      if (typeof fn !== "function") throw new Error(`${m.module} has no function ${m.fn}`);
      const result = await fn(m.args, (event) => void process.send?.({ id: m.id, event }));
      await send({ id: m.id, result });
    } catch (e) {
      await send({ id: m.id, error: sendError(e) });
    }
  });
});
