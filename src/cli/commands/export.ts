import { exportTracesSync } from "../../files/export.js";
import { type Command, Option } from "commander";

/**
 * `cachefile export FILE [--format csv|json] [-o OUT]`: the table of every
 * trace (src/export.ts), to OUT (whole or not at all) or to stdout.
 */
export function runExport(file: string, opts: { format: "csv" | "json"; output?: string }): void {
  exportTracesSync(file, { format: opts.format, to: opts.output ?? 1 });
}

/** Declares `cachefile export`: its arguments, options and action. */
export function register(program: Command): void {
  program
    .command("export")
      .description("every trace's attributes, one row per trace with its index and origin, decoded (streams)")
      .argument("<file>", "a CacheFile (.hdf5)")
      .addOption(new Option("--format <format>", "output format").choices(["csv", "json"]).default("csv"))
      .option("-o, --output <file>", "write to a file instead of stdout")
      .action((file: string, opts: { format: "csv" | "json"; output?: string }) => runExport(file, opts));;
}
