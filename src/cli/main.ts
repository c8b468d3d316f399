#!/usr/bin/env node
/** The `cachefile` executable: see ./cli/program.ts. */
import { handleInterrupts } from "./interrupt.js";
import { main } from "./program.js";

// Output piped into a reader that stops early (`cachefile peek ... | head`): stop quietly, as Unix tools do.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code !== "EPIPE") throw e;
  process.exit(process.exitCode ?? 0);
});

// Ctrl-C or a kill: the command under way stops, nothing half-written is left (see ./cli/interrupt.ts).
handleInterrupts();

process.exitCode = await main(process.argv.slice(2));
