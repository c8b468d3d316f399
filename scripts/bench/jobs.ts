/**
 * Batch benchmark: `cachefile annotate` of 20 files of 500 traces (10
 * origins x 50 traces of 2000 samples, synthetic MEPs at 1000 Hz, each
 * file a variant of its own seed) with `--jobs 1` and `--jobs 2`, each run
 * the built CLI (dist/cli/main.js) under plain node in a fresh process,
 * the two alternating so that a change in the machine's load touches both
 * alike. Each run writes fresh copies of the files, made before the timing
 * starts and left to settle for 150 ms (see analysis.ts). Both runs must
 * print the same table.
 *
 * Figures: the median wall time of each, their ratio (target: `--jobs 2`
 * at least 1.8x faster on two cores), the median CPU time (user + system of
 * the CLI and its worker processes, from this process's cutime/cstime),
 * and the load average while it ran: on a machine others load, the wall
 * times say little and the CPU times more. A third figure is what the
 * machine allows at best: two `--jobs 1` processes of 10 files each, side
 * by side (no pool, no ordering); `--jobs 2` cannot beat it.
 *
 * ```sh
 * npm run build:dist && node --import tsx scripts/bench/jobs.ts [--runs 5] [--json]
 * ```
 * or import it: `const results = await benchJobs({ runs: 5 });`
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomMeps, writeSession } from "../../test/analysis/synthetic.js";
import { BENCH_DIR, median } from "./baseline.js";

/** One figure of the benchmark. */
export interface JobsBenchResult {
  name: string;
  /** Median wall time, s (for the ratio: the ratio itself). */
  seconds: number;
  runs: number[];
  /** Median CPU time (user + system) of the CLI and its workers, s. */
  cpu_seconds: number;
  /** The 1-minute load average, median over the runs. */
  load: number;
  /** The target (a ratio for the ratio), null: none. */
  target: number | null;
}

const DIR = join(BENCH_DIR, "jobs");
const FILES = 20;
const CLI = join(fileURLToPath(new URL("../../", import.meta.url)), "dist", "cli", "main.js");


/** The 20 source files (made once), each 500 traces. */
export function ensureJobsData(): string[] {
  mkdirSync(DIR, { recursive: true });
  return Array.from({ length: FILES }, (_, f) => {
    const file = join(DIR, `source-${String(f).padStart(2, "0")}.hdf5`);
    if (!existsSync(file)) {
      const origins = Array.from({ length: 10 }, (_, o) => ({ name: `S${f}_run_${o}.xdf`, traces: randomMeps(7000 + 100 * f + o, 50) }));
      writeSession(file, { samplingrate: 1000, preMs: 1000, postMs: 1000, origins, seed: 1 + f });
    }
    return file;
  });
}

/** CPU seconds of this process's waited-for children so far (cutime + cstime, in clock ticks of 1/100 s). */
function childrenCpu(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields after the command: state is field 3 (index 0 here); cutime and cstime are fields 16 and 17.
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

interface Run {
  wall: number;
  cpu: number;
  load: number;
  stdout: string;
}

/** Fresh copies of the sources, left to settle. */
function fresh(sources: string[]): string[] {
  const copies = sources.map((s, i) => {
    const copy = join(DIR, `copy-${String(i).padStart(2, "0")}.hdf5`);
    copyFileSync(s, copy);
    return copy;
  });
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 150);
  return copies;
}

function runOnce(sources: string[], jobs: number): Run {
  const copies = fresh(sources);
  const load0 = loadavg()[0]!;
  const c0 = childrenCpu();
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, "annotate", "--jobs", String(jobs), ...copies], { encoding: "utf8", maxBuffer: 256 * 2 ** 20 });
  const wall = (performance.now() - t0) / 1000;
  const cpu = childrenCpu() - c0;
  if (r.status !== 0) throw new Error(`annotate --jobs ${jobs} failed (${r.signal ?? r.status}): ${r.stderr}`);
  return { wall, cpu, load: (load0 + loadavg()[0]!) / 2, stdout: r.stdout };
}

/** Two `--jobs 1` processes, each half the files, side by side: the best two cores can do. */
async function runHalves(sources: string[]): Promise<Run> {
  const copies = fresh(sources);
  const load0 = loadavg()[0]!;
  const c0 = childrenCpu();
  const t0 = performance.now();
  const half = copies.length >> 1;
  const codes = await Promise.all(
    [copies.slice(0, half), copies.slice(half)].map(
      (part) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, [CLI, "annotate", "--jobs", "1", ...part], { stdio: "ignore" });
          child.on("close", (code) => resolve(code));
        }),
    ),
  );
  const wall = (performance.now() - t0) / 1000;
  const cpu = childrenCpu() - c0;
  if (codes.some((c) => c !== 0)) throw new Error(`annotate of half the files failed (${codes.join(", ")})`);
  return { wall, cpu, load: (load0 + loadavg()[0]!) / 2, stdout: "" };
}

/** Runs the benchmark: one warm-up of each, then `runs` runs of each, alternating. */
export async function benchJobs(options: { runs?: number } = {}): Promise<JobsBenchResult[]> {
  const runs = options.runs ?? 5;
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build:dist first`);
  const sources = ensureJobsData();
  const one = runOnce(sources, 1); // warm-up (page cache), and the tables compared
  const two = runOnce(sources, 2);
  if (one.stdout !== two.stdout) throw new Error("annotate --jobs 2 printed another table than --jobs 1");
  const r1: Run[] = [];
  const r2: Run[] = [];
  const rh: Run[] = [];
  for (let i = 0; i < runs; i++) {
    // Alternating, and which goes first alternates too.
    if (i % 2 === 0) {
      r1.push(runOnce(sources, 1));
      r2.push(runOnce(sources, 2));
      rh.push(await runHalves(sources));
    } else {
      rh.push(await runHalves(sources));
      r2.push(runOnce(sources, 2));
      r1.push(runOnce(sources, 1));
    }
  }
  const fig = (name: string, r: Run[]): JobsBenchResult => ({
    name,
    seconds: median(r.map((x) => x.wall)),
    runs: r.map((x) => x.wall),
    cpu_seconds: median(r.map((x) => x.cpu)),
    load: median(r.map((x) => x.load)),
    target: null,
  });
  const a = fig(`annotate ${FILES} files x 500 traces, --jobs 1`, r1);
  const b = fig(`annotate ${FILES} files x 500 traces, --jobs 2`, r2);
  const h = fig(`the bound: two --jobs 1 processes of ${FILES / 2} files each, side by side`, rh);
  const pairs = r1.map((x, i) => x.wall / r2[i]!.wall);
  return [
    a,
    b,
    h,
    {
      name: "--jobs 1 / the bound, wall (a ratio: what the machine allowed)",
      seconds: a.seconds / h.seconds,
      runs: r1.map((x, i) => x.wall / rh[i]!.wall),
      cpu_seconds: h.cpu_seconds / a.cpu_seconds,
      load: median([...r1, ...rh].map((x) => x.load)),
      target: null,
    },
    {
      name: "--jobs 1 / --jobs 2, wall (a ratio, not seconds; target >= 1.8)",
      seconds: a.seconds / b.seconds,
      runs: pairs,
      cpu_seconds: b.cpu_seconds / a.cpu_seconds,
      load: median([...r1, ...r2].map((x) => x.load)),
      target: 1.8,
    },
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--runs");
  const results = await benchJobs({ runs: at >= 0 ? Number(args[at + 1]) : 5 });
  if (args.includes("--json")) console.log(JSON.stringify(results, null, 2));
  else {
    for (const r of results) {
      const ratio = r.name.includes("a ratio");
      const extra = ratio ? `CPU ratio ${r.cpu_seconds.toFixed(2)}${r.target === null ? "" : `; target >= ${r.target}`}` : `CPU ${r.cpu_seconds.toFixed(3)} s`;
      console.log(`${r.seconds.toFixed(3).padStart(8)} ${ratio ? "x" : "s"} (${extra}; load ${r.load.toFixed(1)})  ${r.name}`);
    }
  }
}
