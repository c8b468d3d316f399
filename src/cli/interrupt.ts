/**
 * Ctrl-C (SIGINT) and kills (SIGTERM) of the command line: the command
 * under way is stopped through an AbortSignal (its writes are all or
 * nothing, and the library removes what it was writing), then the process
 * says so and exits as a shell expects (130, 143). A command that cannot
 * stop at once is ended after a short wait all the same: what it was
 * writing is removed on exit.
 * @module
 */

const controller = new AbortController();
let stopped: { signal: NodeJS.Signals; code: number } | undefined;

/** Aborted once the command is interrupted. */
export const interruption: AbortSignal = controller.signal;

/** The exit code and the line to print, once the command was interrupted. */
export function interruptedExit(): { code: number; message: string } | undefined {
  if (!stopped) return undefined;
  return { code: stopped.code, message: `interrupted (${stopped.signal}): nothing was written; every file keeps its last complete write` };
}

/** Listens for SIGINT and SIGTERM for the rest of the process. */
export function handleInterrupts(): void {
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    // process.on, not once: a listener that stays tells the library's exit hooks (signal-exit) that the signal is handled here.
    process.on(signal, () => {
      if (stopped) process.exit(stopped.code); // a second Ctrl-C: at once
      stopped = { signal, code };
      controller.abort(new Error(`interrupted by ${signal}`));
      setTimeout(() => {
        process.stderr.write(`${interruptedExit()!.message}\n`);
        process.exit(code);
      }, 2000).unref();
    });
  }
}
