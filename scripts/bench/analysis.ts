/**
 * Analysis benchmark: `annotateFileSync` over 10,000 traces of 2000 samples
 * (200 origins x 50 traces, synthetic MEPs at 1000 Hz), dry-run and
 * written (and the async `annotateFile`, dry-run), and `mapStatsSync` with
 * 1,000 bootstrap resamples over the same
 * 10,000 traces (a 10 x 10 grid of 5 mm over the left motor cortex, 100
 * stimuli per site, jittered by up to ±0.5 mm), with each area method.
 *
 * The data are made on the first run (about 10 s) in
 * scripts/bench/out/analysis/ (git-ignored). Writes use a fresh copy each
 * run, made before the timing starts and left to settle for 150 ms: a file
 * changed within the file system's clock step is read again at each call
 * (freshness.ts), which a file copied the moment before would add to the
 * written run and not to the dry one, whose file is old.
 * Each figure is the median wall time; `cpu_seconds` is the median CPU time
 * of the process over the same runs (user + system), which other load on a
 * shared machine disturbs less.
 *
 * ```sh
 * node --import tsx scripts/bench/analysis.ts [--runs 3] [--json]
 * ```
 * or import it: `const results = await benchAnalysis({ runs: 3 });`
 * @module
 */
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { annotateFile, annotateFileSync, mapStatsSync } from "../../src/analysis/index.js";
import { mulberry32 } from "../../src/analysis/prng.js";
import { writeSession, type SyntheticTrace } from "../../test/analysis/synthetic.js";
import { BENCH_DIR, median } from "./baseline.js";

/** One figure of the benchmark. */
export interface AnalysisBenchResult {
  name: string;
  /** Median wall time, s. */
  seconds: number;
  runs: number[];
  /** Median CPU time (user + system) of the same runs, s. */
  cpu_seconds: number;
  /** The issue's target, s (null: none). */
  target_s: number | null;
}

const DIR = join(BENCH_DIR, "analysis");
const FILE = join(DIR, "annotate-10000.hdf5");

function benchTraces(origin: number): SyntheticTrace[] {
  const r = mulberry32(1000 + origin);
  return Array.from({ length: 50 }, (_, k) => {
    const site = (origin * 50 + k) % 100;
    const gx = site % 10;
    const gy = Math.floor(site / 10);
    const d2 = (gx - 4.5) ** 2 + (gy - 4.5) ** 2;
    return {
      onsetMs: 18 + Math.floor(r() * 6),
      amplitude: 1200 * Math.exp(-d2 / 8) * (0.6 + 0.8 * r()),
      periodMs: 10 + Math.floor(r() * 6),
      noise: k % 25 === 0 ? 30 : 2 + 3 * r(),
      onsetShift: 0,
      offset: 0,
      xyz: [-60 + 5 * gx + (r() - 0.5), -45 + 5 * gy + (r() - 0.5), 58 + (r() - 0.5)],
    };
  });
}

/** Makes the 10,000-trace file once. */
export function ensureAnalysisData(): string {
  if (existsSync(FILE)) return FILE;
  mkdirSync(DIR, { recursive: true });
  const origins = Array.from({ length: 200 }, (_, o) => ({ name: `run_${String(o).padStart(3, "0")}.xdf`, traces: benchTraces(o) }));
  writeSession(FILE, { samplingrate: 1000, preMs: 1000, postMs: 1000, origins, seed: 1 });
  return FILE;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Timed {
  wall: number[];
  cpu: number[];
}

async function time(runs: number, warmup: boolean, fn: () => unknown, before?: () => void): Promise<Timed> {
  if (warmup) {
    before?.();
    await fn();
    await turn();
  }
  const out: Timed = { wall: [], cpu: [] };
  for (let i = 0; i < runs; i++) {
    before?.();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    out.wall.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    out.cpu.push((c.user + c.system) / 1e6);
    await turn();
  }
  return out;
}

/** Runs every analysis benchmark; `runs` warm runs each (the written annotate: `writeRuns`, default `runs`). */
export async function benchAnalysis(options: { runs?: number; writeRuns?: number } = {}): Promise<AnalysisBenchResult[]> {
  const runs = options.runs ?? 3;
  const writeRuns = options.writeRuns ?? runs;
  const file = ensureAnalysisData();
  const copy = join(DIR, "annotate-copy.hdf5");
  const stats = join(DIR, "stats-10000.hdf5");
  const results: AnalysisBenchResult[] = [];
  const add = (name: string, r: Timed, target: number | null) => results.push({ name, seconds: median(r.wall), runs: r.wall, cpu_seconds: median(r.cpu), target_s: target });

  add("annotate 10,000 traces x 2000 samples, --dry-run", await time(runs, true, () => void annotateFileSync(file, { dryRun: true })), 1);
  add("the same, async annotateFile (a turn of the event loop every 128 traces)", await time(runs, true, () => annotateFile(file, { dryRun: true })), null);
  const written = await time(writeRuns, false, () => void annotateFileSync(copy), () => {
    copyFileSync(file, copy);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 150);
  });
  add("annotate 10,000 traces x 2000 samples, written (one all-or-nothing commit)", written, null);
  const dry = results[0]!;
  const w = results.at(-1)!;
  results.push({ name: "annotate written / dry run (a ratio, not seconds; target <= 1.5)", seconds: w.seconds / dry.seconds, runs: [], cpu_seconds: w.cpu_seconds / dry.cpu_seconds, target_s: 1.5 });
  copyFileSync(copy, stats); // the annotated file: every trace has its peaks
  rmSync(copy, { force: true });
  add("stats, 10,000 traces, 1,000 bootstrap resamples, --grid 5", await time(runs, true, () => void mapStatsSync(stats, { gridMm: 5, bootstrap: 1000 })), 1);
  add("stats, 10,000 traces, 1,000 bootstrap resamples, projection area, area not resampled", await time(runs, true, () => void mapStatsSync(stats, { bootstrap: 1000, areaBootstrap: false })), 1);
  add("stats, 10,000 traces, no bootstrap, projection area", await time(runs, true, () => void mapStatsSync(stats, { bootstrap: 0 })), null);
  add("stats, 10,000 traces, 100 bootstrap resamples, projection area resampled", await time(1, false, () => void mapStatsSync(stats, { bootstrap: 100 })), null);
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--runs");
  const runs = at >= 0 ? Number(args[at + 1]) : 3;
  const results = await benchAnalysis({ runs });
  if (args.includes("--json")) console.log(JSON.stringify(results, null, 2));
  else {
    for (const r of results) {
      console.log(`${r.seconds.toFixed(3).padStart(8)} s (CPU ${r.cpu_seconds.toFixed(3)} s)${r.target_s === null ? "" : ` (target <= ${r.target_s} s)`}  ${r.name}`);
    }
  }
}
