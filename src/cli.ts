#!/usr/bin/env node
/** The `cachefile` executable: see ./cli/program.ts. */
import { main } from "./cli/program.js";

process.exitCode = await main(process.argv.slice(2));
