/**
 * Pulses from a table of their own (`--events FILE`): a CSV or TSV file (a
 * comma, tab or semicolon between columns; `#` starts a comment line) whose
 * header names a column of sample indices (`sample`) or of times in seconds
 * from the recording's first sample (`time`), and optionally a column of
 * names (`name`) that `--event` picks from. Parsed with csv-parse.
 * @module
 */
import { readFileSync, statSync } from "node:fs";
import { parse } from "csv-parse/sync";
import { FileNotFoundError } from "../base/errors.js";
import { ImportError } from "./errors.js";
import { quote } from "./types.js";

/** Header names (compared without case) of a column of 0-based sample indices. */
export const SAMPLE_COLUMNS = ["sample", "samples", "sample_index", "event_sample"] as const;
/** Header names (compared without case) of a column of times, seconds from the recording's first sample. */
export const TIME_COLUMNS = ["time", "times", "time_s", "time (s)", "onset", "seconds", "event_time"] as const;
/** Header names (compared without case) of a column of event names. */
export const NAME_COLUMNS = ["name", "event", "event_name", "description", "label"] as const;

/** One row of an events file. */
export interface FileEvent {
  /** A sample index (`unit` "sample") or seconds (`unit` "time"). */
  at: number;
  /** The name column's value; undefined without one. */
  name?: string;
  /** The row's line in the file (1-based). */
  line: number;
}

/** An events file read. */
export interface EventsFile {
  file: string;
  unit: "sample" | "time";
  events: FileEvent[];
  /** The file has a name column. */
  named: boolean;
}

const MAX_BYTES = 64 * 1024 * 1024;

/**
 * Reads an events file.
 * @example
 * ```ts
 * // pulses.csv:  sample,name\n5012,TMS\n10034,TMS
 * readEventsFile("pulses.csv"); // { unit: "sample", events: [{ at: 5012, name: "TMS", line: 2 }, ...], named: true, file: "pulses.csv" }
 * ```
 * @throws {ImportError} `EEVENTSFILE` no column of samples or times in the header, a value that is not a sample index or a time, text that is not CSV/TSV
 * @throws {FileNotFoundError} the file does not exist
 */
export function readEventsFile(path: string): EventsFile {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new FileNotFoundError(path);
  }
  if (size > MAX_BYTES) throw new ImportError("EEVENTSFILE", path, `is ${size} bytes, more than a table of pulses can be: pass a CSV or TSV file of pulse samples or times`);
  const text = readFileSync(path, "utf8").replace(/^\uFEFF/, "");
  let rows: { record: string[]; line: number }[];
  try {
    rows = (
      parse(text, {
        delimiter: [",", "\t", ";"],
        comment: "#",
        skip_empty_lines: true,
        trim: true,
        relax_column_count: true,
        info: true,
      }) as unknown as { record: string[]; info: { lines: number } }[]
    ).map((r) => ({ record: r.record, line: r.info.lines }));
  } catch (e) {
    const line = (e as { lines?: number }).lines;
    throw new ImportError("EEVENTSFILE", path, `is not a CSV or TSV table (${(e as Error).message.split("\n")[0]}): write one pulse per line under a header such as "sample" or "time"`, line ? { line } : {});
  }
  if (rows.length === 0) throw new ImportError("EEVENTSFILE", path, 'holds no rows: write a header ("sample" or "time") and one pulse per line');
  const header = rows[0]!.record.map((h) => h.trim().toLowerCase());
  const find = (names: readonly string[]) => header.findIndex((h) => names.includes(h));
  const sampleCol = find(SAMPLE_COLUMNS);
  const timeCol = find(TIME_COLUMNS);
  const nameCol = find(NAME_COLUMNS);
  if ((sampleCol === -1) === (timeCol === -1)) {
    throw new ImportError(
      "EEVENTSFILE",
      path,
      sampleCol === -1
        ? `its header ${rows[0]!.record.map(quote).join(", ")} names no column of pulses: name one "sample" (0-based sample indices) or "time" (seconds from the first sample)`
        : 'its header names both a "sample" and a "time" column: keep one, so that each pulse has one position',
      { line: rows[0]!.line },
    );
  }
  const unit = sampleCol !== -1 ? "sample" : "time";
  const col = sampleCol !== -1 ? sampleCol : timeCol;
  const events: FileEvent[] = rows.slice(1).map(({ record, line }) => {
    const cell = (record[col] ?? "").trim();
    const v = cell === "" ? NaN : Number(cell);
    if (unit === "sample" ? !(Number.isInteger(v) && v >= 0) : !(Number.isFinite(v) && v >= 0)) {
      throw new ImportError(
        "EEVENTSFILE",
        path,
        `expected ${unit === "sample" ? "a 0-based sample index (a whole number, 0 or more)" : "a time in seconds (0 or more)"} in column ${quote(rows[0]!.record[col]!)}, got ${quote(cell)}`,
        { line },
      );
    }
    return { at: v, line, ...(nameCol !== -1 ? { name: (record[nameCol] ?? "").trim() } : {}) };
  });
  return { file: path, unit, events, named: nameCol !== -1 };
}
