import { exportTracesSync } from "../files/export.js";

/**
 * `cachefile export FILE [--format csv|json] [-o OUT]`: the table of every
 * trace (src/export.ts), to OUT (whole or not at all) or to stdout.
 */
export function runExport(file: string, opts: { format: "csv" | "json"; output?: string }): void {
  exportTracesSync(file, { format: opts.format, to: opts.output ?? 1 });
}
