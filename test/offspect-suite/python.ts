/**
 * Runs one check of offspect_suite.py (offspect's assertions with h5py, on
 * the files this package wrote) with Debian's python3.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { PYTHON } from "../helpers/fixtures.js";
import type { TraceData } from "../../src/index.js";
import { SUITE_DIR, TEMPLATE } from "./conftest.js";

const SCRIPT = join(SUITE_DIR, "offspect_suite.py");

/**
 * Runs `check` with `payload` (plus the template's path) on stdin and
 * returns its JSON summary; a failed Python assertion fails with the
 * traceback.
 */
export function offspectCheck(check: string, payload: Record<string, unknown>): Record<string, unknown> {
  const run = spawnSync(PYTHON, [SCRIPT, check], {
    input: JSON.stringify({ template: TEMPLATE, ...payload }),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`offspect_suite.py ${check} failed (exit ${run.status}):\n${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

/** Trace data as JSON for the Python side: the values in row-major order and the shape. */
export function dataJson(t: TraceData): { data: number[]; shape: number[] } {
  return { data: Array.from(t.data), shape: [...t.shape] };
}
