/**
 * Every trace of a CacheFile as a table: one row per trace (index, origin,
 * then every attribute as offspect's parse_traceattrs reads it: numbers,
 * True/False, None as empty, lists as JSON), as CSV or JSON, written as it
 * is read, so memory does not grow with the number of traces. CSV columns
 * are the first trace's keys and its readout's keys; keys only some later
 * trace has go into a final `other` column as JSON.
 * @module
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { resolve } from "node:path";
import { lazyModule } from "../base/lazy.js";

/** csv-stringify, loaded by the first CSV export. */
const csv = lazyModule<typeof import("csv-stringify/sync")>("csv-stringify/sync");
import { writeAtomicallySteps } from "../cachefile/atomic.js";
import { CacheFile, type CacheFileBase, sessionOf } from "../cachefile/index.js";
import { decodeTraceAttrs } from "../cachefile/typedValues.js";
import { TargetFolderError, UnknownReadoutError } from "../base/errors.js";
import { getReadout, ORIGIN_KEYS, traceKeySpecs } from "../cachefile/readouts.js";
import { runAsync, runSync } from "../base/work.js";
import { NOTHING_WRITTEN } from "../base/abort.js";

export interface ExportOptions {
  /** "csv" (default) or "json". */
  format?: "csv" | "json";
  /** A file name (written whole or not at all: beside it, then renamed into place) or an open descriptor (1: stdout). */
  to: string | number;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `text` to `fd`, waiting while a non-blocking pipe (stdout
 * piped into a slow reader) is full instead of failing with EAGAIN.
 */
function writeAll(fd: number, text: string): void {
  let buf = Buffer.from(text, "utf8");
  while (buf.length > 0) {
    try {
      const n = writeSync(fd, buf);
      buf = buf.subarray(n);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      Atomics.wait(pause, 0, 0, 2);
    }
  }
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return Number.isNaN(value) ? "NaN" : value === Infinity ? "Inf" : value === -Infinity ? "-Inf" : String(value);
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v));
}

function jsonValue(value: unknown): unknown {
  if (typeof value === "number" && !Number.isFinite(value)) return null;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(jsonValue);
  return value;
}

/**
 * Writes the table of `file`'s traces to `options.to`.
 * @example
 * ```ts
 * exportTracesSync("test/fixtures/offspect/map_session.hdf5", { to: "map_session.csv" });
 * ```
 * @throws {TargetFolderError} the folder to write into does not exist
 */
export function exportTracesSync(file: string | CacheFileBase, options: ExportOptions): void {
  runSync(exportWork(file, options));
}

/**
 * {@link exportTracesSync} without blocking the event loop for long (a turn
 * every 256 traces); `signal` stops it (no file is left behind).
 */
export function exportTraces(file: string | CacheFileBase, options: ExportOptions & { signal?: AbortSignal }): Promise<void> {
  return runAsync(exportWork(file, options), options.signal, `exporting ${typeof file === "string" ? file : file.fname}`, NOTHING_WRITTEN);
}

function* exportWork(file: string | CacheFileBase, options: ExportOptions): Generator<unknown, void> {
  const cf = typeof file === "string" ? new CacheFile(file) : file;
  const format = options.format ?? "csv";
  if (format !== "csv" && format !== "json") throw new TypeError(`format: expected "csv" or "json", got ${JSON.stringify(format)}`);
  if (typeof options.to === "number") return yield* rows(options.to, cf, format);
  TargetFolderError.check(options.to);
  yield* writeAtomicallySteps(
    resolve(options.to),
    function* (tmp) {
      const fd = openSync(tmp, "wx");
      try {
        yield* rows(fd, cf, format);
      } finally {
        closeSync(fd);
      }
    },
    { fsync: false },
  );
}

/** Writes the table to an open file descriptor (1 for stdout), one trace at a time. */
function* rows(fd: number, cf: CacheFileBase, format: "csv" | "json"): Generator<void, void> {
  const out = (s: string) => writeAll(fd, s);
  const n = cf.length;
  if (format === "json") out("[");
  let columns: string[] | undefined;
  for (let i = 0; i < n; i++) {
    const { cache_file: _file, cache_file_index: _index, origin, ...attrs } = sessionOf(cf).getTraceAttrs(i);
    const row: Record<string, unknown> = { index: i, origin };
    Object.assign(row, decodeTraceAttrs(attrs));
    if (format === "json") {
      const clean: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(row)) clean[k] = jsonValue(v);
      out(`${i === 0 ? "\n" : ",\n"}${JSON.stringify(clean)}`);
      if (i % 256 === 255) yield;
      continue;
    }
    if (!columns) {
      let readoutKeys: string[] = [];
      try {
        readoutKeys = Object.keys({ ...ORIGIN_KEYS, ...traceKeySpecs(getReadout(attrs["readin"], attrs["readout"])) });
      } catch (e) {
        // An unregistered readout: the columns are the trace's own keys.
        if (!(e instanceof UnknownReadoutError)) throw e;
      }
      const keys = [...new Set([...Object.keys(attrs), ...readoutKeys])].sort();
      columns = ["index", "origin", ...keys, "other"];
      out(csv().stringify([columns]));
    }
    const other: Record<string, unknown> = {};
    for (const k of Object.keys(row)) if (!columns.includes(k)) other[k] = row[k];
    const line = columns.map((c) => (c === "other" ? (Object.keys(other).length > 0 ? cell(other) : "") : cell(row[c])));
    out(csv().stringify([line]));
    if (i % 256 === 255) yield;
  }
  if (format === "json") out(n === 0 ? "]\n" : "\n]\n");
  else if (!columns) out(csv().stringify([["index", "origin"]]));
}
