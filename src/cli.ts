#!/usr/bin/env node
/** The `cachefile` executable: see ./cli/program.ts. */
import { main } from "./cli/program.js";

// Output piped into a reader that stops early (`cachefile peek ... | head`): stop quietly, as Unix tools do.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code !== "EPIPE") throw e;
  process.exit(process.exitCode ?? 0);
});

// Ctrl-C or a kill: the library removes what it was writing (signal-exit hooks run on exit); say so, and exit as a shell expects.
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const) {
  process.once(signal, () => {
    process.stderr.write(`interrupted (${signal}): nothing was written; every file keeps its last complete write\n`);
    process.exit(code);
  });
}

process.exitCode = await main(process.argv.slice(2));
