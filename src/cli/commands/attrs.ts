import { OffspectCacheFile as CacheFile } from "../../cachefile/index.js";
import { decodeTraceAttrs } from "../../cachefile/typedValues.js";
import { decode, encode } from "../../values/codec.js";
import { getReadout, ORIGIN_KEYS, traceKeySpecs } from "../../cachefile/readouts.js";
import { UsageError, UserError } from "../errors.js";
import type { Command } from "commander";
import { collect, integer } from "../options.js";

/** Text for one decoded value: text as is, everything else as JSON (dates as ISO). */
export function show(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v));
}

function safeDecode(text: string): unknown {
  try {
    return decode(text);
  } catch {
    return text;
  }
}

/**
 * `cachefile attrs FILE INDEX [--set KEY=VALUE ...] [--json]`: one trace's
 * collapsed attributes decoded; with --set, values are encoded as offspect
 * encodes them (text keys verbatim, others read as YAML and re-encoded) and
 * written with setTraceAttrs' safety and readout checks.
 */
export function runAttrs(file: string, index: number, opts: { set?: string[]; json?: boolean }): void {
  const cf = new CacheFile(file);
  if (opts.set && opts.set.length > 0) {
    const attrs = cf.getTraceAttrs(index);
    const specs = { ...ORIGIN_KEYS, ...traceKeySpecs(getReadout(attrs["readin"], attrs["readout"])) };
    for (const assignment of opts.set) {
      const eq = assignment.indexOf("=");
      if (eq <= 0) throw new UsageError(`--set expects KEY=VALUE, got ${JSON.stringify(assignment)}`);
      const key = assignment.slice(0, eq).trim();
      const value = assignment.slice(eq + 1);
      if (key === "") throw new UsageError(`--set expects KEY=VALUE, got ${JSON.stringify(assignment)}`);
      if (!Object.hasOwn(specs, key)) {
        throw new UserError(`${key} is not an attribute of readout ${attrs["readout"]}; see cachefile attrs ${file} ${index}`);
      }
      const kind = specs[key]?.kind;
      attrs[key] = kind === "text" ? value : encode(safeDecode(value));
    }
    const result = cf.setTraceAttrs(index, attrs);
    if (result.ignored.length > 0) {
      throw new UserError(`not written, not trace attributes of this readout: ${result.ignored.join(", ")}`);
    }
    process.stdout.write(result.written.length > 0 ? `set ${result.written.join(", ")} of trace ${index}\n` : `trace ${index} already had these values\n`);
    return;
  }
  const attrs = cf.getTraceAttrs(index);
  // Shown as the typed API reads them: every spelling offspect writes (None and null, True and true) as the value it means.
  const decoded: Record<string, unknown> = { ...decodeTraceAttrs(attrs), origin: attrs["origin"], cache_file: attrs["cache_file"], cache_file_index: attrs["cache_file_index"] };
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(decoded, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v), 2)}\n`);
    return;
  }
  const width = Math.max(...Object.keys(decoded).map((k) => k.length));
  for (const [k, v] of Object.entries(decoded)) process.stdout.write(`${k.padEnd(width)} : ${show(v)}\n`);
}

/** Declares `cachefile attrs`: its arguments, options and action. */
export function register(program: Command): void {
  program
    .command("attrs")
      .description("show one trace's attributes decoded, or set them (checked as setTraceAttrs does)")
      .argument("<file>", "a CacheFile (.hdf5)")
      .argument("<index>", "the trace index, 0-based", integer("index"))
      .option("--set <key=value>", "set an attribute (repeatable); the value is read as YAML and stored as offspect encodes it", collect)
      .option("--json", "print the decoded attributes as JSON")
      .action((file: string, index: number, opts: { set?: string[]; json?: boolean }) => runAttrs(file, index, opts));;
}
