/**
 * Brainsight's text export: tab-separated tables after `#` header lines, one
 * for targets and one for samples (`# Sample Name<TAB>...`); each sample is
 * one logged pulse with its coil position (`Loc. X/Y/Z`), matrix (`m0n0` ..
 * `m2n2`), time (`Date`, `Time`) and, with a connected stimulator, its power
 * (`Stim. Power A`, % MSO). Brainsight logs no di/dt (NaN).
 * @module
 */
import { readFileSync, statSync } from "node:fs";
import { type CoilPulse, type CoilPulses, NAN_XYZ } from "./coords.js";
import { FileNotFoundError } from "../base/errors.js";
import { CoordsError } from "./errors.js";
import { quote } from "./types.js";

const MAX_TEXT = 256 * 1024 * 1024;

function cell(row: string[], cols: Map<string, number>, name: string): string | undefined {
  const i = cols.get(name);
  return i === undefined ? undefined : row[i];
}

function numeric(v: string | undefined): number {
  if (v === undefined) return NaN;
  const t = v.trim();
  if (t === "" || t === "(null)" || t.toLowerCase() === "nan") return NaN;
  const n = Number(t);
  return Number.isFinite(n) ? n : NaN;
}

/** Seconds since the Unix epoch (UTC as written) of `Date` + `Time` ("2020-05-17", "18:02:00.123"). */
function timestamp(date: string | undefined, time: string | undefined): number | undefined {
  const d = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec((date ?? "").trim());
  const t = /^([0-9]{1,2}):([0-9]{2}):([0-9]{2}(?:\.[0-9]+)?)$/.exec((time ?? "").trim());
  if (!t) return undefined;
  const day = d ? Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3])) / 1000 : 0;
  return day + Number(t[1]) * 3600 + Number(t[2]) * 60 + Number(t[3]);
}

/**
 * Reads the samples of a Brainsight text export, in their order; times are
 * seconds from the first sample.
 * @example
 * ```ts
 * const { pulses } = readBrainsight("S01_export.txt");
 * pulses[0]; // { time: 0, xyz: [-46.9, 44.5, 73.8], mso: 54, didt: NaN, tracked: true, matrix: [...] }
 * ```
 * @throws {CoordsError} not a Brainsight export (`EBADTEXT`), a sample row with a malformed position (`EBADROW`)
 */
export function readBrainsight(path: string): CoilPulses {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new FileNotFoundError(path);
  }
  if (size > MAX_TEXT) throw new CoordsError("EBADTEXT", path, `is ${size} bytes, more than a Brainsight export can be`);
  const lines = readFileSync(path, "utf8").split(/\r\n|\r|\n/);
  if (!lines.some((l) => /^# ?Version:/.test(l)) && !lines.some((l) => l.startsWith("# Sample Name") || l.startsWith("# Target Name"))) {
    throw new CoordsError("EBADTEXT", path, 'has no "# Version:" or "# Sample Name" line: pass a Brainsight text export (File > Export, samples)');
  }
  const head = lines.findIndex((l) => l.startsWith("# Sample Name"));
  if (head === -1) throw new CoordsError("ENOSAMPLES", path, 'has no "# Sample Name" table: export the samples (the pulses), not only the targets');
  const names = lines[head]!.replace(/^# /, "").split("\t");
  const cols = new Map(names.map((n, i) => [n.trim(), i]));
  for (const need of ["Loc. X", "Loc. Y", "Loc. Z"]) {
    if (!cols.has(need)) throw new CoordsError("EBADTEXT", path, `the samples table has no ${quote(need)} column`, { line: head + 1 });
  }
  const pulses: CoilPulse[] = [];
  let t0: number | undefined;
  for (let i = head + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith("#")) break;
    if (line.trim() === "") continue;
    const row = line.split("\t");
    const loc = ["Loc. X", "Loc. Y", "Loc. Z"].map((c) => numeric(cell(row, cols, c)));
    const raw = ["Loc. X", "Loc. Y", "Loc. Z"].map((c) => (cell(row, cols, c) ?? "").trim());
    if (raw.some((v, k) => v !== "(null)" && v !== "" && !Number.isFinite(loc[k]!))) {
      throw new CoordsError("EBADROW", path, `expected numbers for Loc. X, Loc. Y, Loc. Z, got ${raw.map(quote).join(", ")}`, { line: i + 1 });
    }
    const tracked = loc.every(Number.isFinite);
    const m = ["m0n0", "m0n1", "m0n2", "m1n0", "m1n1", "m1n2", "m2n0", "m2n1", "m2n2"].map((c) => numeric(cell(row, cols, c)));
    const ts = timestamp(cell(row, cols, "Date"), cell(row, cols, "Time"));
    if (ts !== undefined && t0 === undefined) t0 = ts;
    const pulse: CoilPulse = {
      xyz: tracked ? (loc as [number, number, number]) : [...NAN_XYZ],
      mso: numeric(cell(row, cols, "Stim. Power A")),
      didt: NaN,
      tracked,
      ...(m.every(Number.isFinite) && tracked
        ? { matrix: [m[0]!, m[3]!, m[6]!, loc[0]!, m[1]!, m[4]!, m[7]!, loc[1]!, m[2]!, m[5]!, m[8]!, loc[2]!, 0, 0, 0, 1] }
        : {}),
    };
    if (ts !== undefined) pulse.time = ts - t0!;
    pulses.push(pulse);
  }
  if (pulses.some((p) => p.time === undefined)) for (const p of pulses) delete p.time;
  return { file: path, format: "brainsight", pulses };
}
