/**
 * `npm run bench`: every benchmark the README's performance table reports,
 * side by side in one run.
 *
 * 1. iterate: open the 10,000-trace file (200 origins x 50 traces of 2000 x 1
 *    float64, 29 attributes each; made by make_data.py) and read every
 *    trace's data and attributes: the plain C program on libhdf5
 *    (scripts/bench/c/iterate.c) reading the same; offspect's API
 *    (`for (const [data, attrs] of cf)`, attributes as text); the typed API
 *    (`cf.eachSync()`, attributes decoded per readout); and both async
 *    (`sessionOf(cf).tuplesAsync({ batch })`, `cf.each({ batch })`) with the event-loop delay
 *    measured by perf_hooks.monitorEventLoopDelay.
 * 2. merge: 200 sources of 50 traces into one, both engines, `cat` and the C
 *    H5Ocopy merge as floors, and the peak RSS of merging 100 and 400 sources
 *    (scripts/bench/merge.ts).
 * 3. map: a 10,000-point motor map to PNG, one view and ortho
 *    (scripts/bench/map.ts).
 * 4. analysis: annotate 10,000 traces (dry run and written) and map stats
 *    with 1,000 bootstrap resamples (scripts/bench/analysis.ts).
 * 5. import: a 30-minute, 5 kHz, 8-channel recording with 600 pulses, as
 *    XDF and BrainVision, and its peak RSS (scripts/bench/import.ts).
 * 0. startup: `cachefile --version`, `cachefile peek` and importing the
 *    package, each a fresh process, beside `node -e 0` (scripts/bench/startup.ts).
 * 6. review: the review page in chromium on a 10,000-trace file: first
 *    trace, next trace after a key, an origin's overview, the map after a
 *    reject (scripts/bench/review.ts).
 * 7. jobs: `cachefile annotate` of 20 files of 500 traces, `--jobs 1`
 *    against `--jobs 2`, each in a fresh process (scripts/bench/jobs.ts;
 *    runs the built CLI: build dist/ first).
 *
 * Usage: `npm run bench [-- --runs 5] [-- --only iterate,merge,map,analysis,import,review,jobs] [-- --json]`.
 * Each benchmark runs in a child process of its own (this script again,
 * with `--only` one of them and `--result FILE`), so that none inherits
 * another's heap and compiled code: V8 decides per allocation site whether
 * to allocate objects in the old generation, and after the iterate
 * benchmark (whose file keeps its parsed headers) it does so for the
 * headers every merge drops at once, making a merge in the same process
 * about 25% slower (0.30 s instead of 0.24 s; measured).
 * Figures are medians of warm runs (after one warm-up run); the data live in
 * scripts/bench/out (git-ignored) and os.tmpdir(), made on the first run
 * (a few minutes). Results are also written to scripts/bench/out/results.json.
 * @module
 */
import { sessionOf } from "../../src/cachefile/cachefile.js";
import { spawn } from "node:child_process";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CacheFile } from "../../src/offspect.js";
import { hdf5Version } from "../../src/hdf5/file.js";
import { benchAnalysis, type AnalysisBenchResult } from "./analysis.js";
import { BENCH_DIR, buildBaselines, ensureBenchData, median, runCIterate, sourcesOf, type CIterateResult } from "./baseline.js";
import { benchImport, type ImportBenchResult } from "./import.js";
import { benchJobs, type JobsBenchResult } from "./jobs.js";
import { benchMap, type MapBenchResult } from "./map.js";
import { benchMerge, type MergeBench } from "./merge.js";
import { benchColdIterate, benchColdMerge, coldFigure, type ColdIterateBench, type ColdMergeBench } from "./cold.js";
import { benchReview, type ReviewBenchResult } from "./review.js";
import { benchStartup, type StartupRow } from "./startup.js";

const BENCHMARKS = ["startup", "iterate", "merge", "map", "analysis", "import", "review", "jobs"] as const;

interface AsyncTiming {
  seconds: number;
  runs: number[];
  batch: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

interface IterateBench {
  file: string;
  traces: number;
  attributes: number;
  /** Seconds: open + every trace's data and attributes, offspect's API (attributes as text). */
  sync: { seconds: number; runs: number[] };
  /** The same through the typed API (`eachSync`: attributes decoded per readout). */
  typed: { seconds: number; runs: number[] };
  /** offspect's API, async (its `for await`, batches of 64), with the event-loop delay while it ran. */
  async: AsyncTiming;
  /** The typed API, async (`each({ batch })`). */
  typedAsync: AsyncTiming;
  c?: CIterateResult;
  /** Fresh processes (Node through dist/, and the C program), alternating. */
  cold?: ColdIterateBench;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Seconds of `body`, the file let go afterwards (an event-loop turn) before the next run. */
async function timed(body: () => void | Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await body();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await turn();
  return seconds;
}

async function iterateSync(file: string): Promise<{ seconds: number; traces: number; attributes: number }> {
  let traces = 0;
  let attributes = 0;
  let checksum = 0;
  const seconds = await timed(() => {
    using cf = new CacheFile(file);
    for (const [data, attrs] of cf) {
      traces++;
      attributes += Object.keys(attrs).length - 3; // less origin, cache_file, cache_file_index
      checksum += data.data[0]!;
    }
  });
  if (!Number.isFinite(checksum)) throw new Error("iterate: data not finite");
  return { seconds, traces, attributes };
}

async function iterateTyped(file: string): Promise<number> {
  let checksum = 0;
  const seconds = await timed(() => {
    using cf = CacheFile.openSync(file);
    for (const t of cf.eachSync()) checksum += t.data[0]! + (t.attrs.reject ? 1 : 0);
  });
  if (!Number.isFinite(checksum)) throw new Error("iterate: data not finite");
  return seconds;
}

async function iterateAsync(file: string, batch: number, typed: boolean): Promise<{ seconds: number; p99: number; max: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let checksum = 0;
  const seconds = await timed(async () => {
    await using cf = await CacheFile.open(file);
    if (typed) for await (const t of cf.each({ batch })) checksum += t.data[0]!;
    else for await (const [data] of sessionOf(cf).tuplesAsync({ batch })) checksum += data.data[0]!;
  });
  h.disable();
  if (!Number.isFinite(checksum)) throw new Error("iterate: data not finite");
  return { seconds, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
}

function asyncTiming(runs: { seconds: number; p99: number; max: number }[], batch: number): AsyncTiming {
  return {
    seconds: median(runs.map((r) => r.seconds)),
    runs: runs.map((r) => r.seconds),
    batch,
    loopDelayP99Ms: median(runs.map((r) => r.p99)),
    loopDelayMaxMs: Math.max(...runs.map((r) => r.max)),
  };
}

async function benchIterate(file: string, runs: number): Promise<IterateBench> {
  const batch = 64;
  // Warm-up: page cache, JIT.
  await iterateSync(file);
  await iterateTyped(file);
  await iterateAsync(file, batch, false);
  await iterateAsync(file, batch, true);
  const sync: number[] = [];
  const typed: number[] = [];
  const asyncRuns: { seconds: number; p99: number; max: number }[] = [];
  const typedAsyncRuns: { seconds: number; p99: number; max: number }[] = [];
  let traces = 0;
  let attributes = 0;
  // Interleaved, so that a change in the machine's load touches every figure alike.
  for (let i = 0; i < runs; i++) {
    const r = await iterateSync(file);
    sync.push(r.seconds);
    traces = r.traces;
    attributes = r.attributes;
    typed.push(await iterateTyped(file));
    asyncRuns.push(await iterateAsync(file, batch, false));
    typedAsyncRuns.push(await iterateAsync(file, batch, true));
  }
  let c: CIterateResult | undefined;
  let cold: ColdIterateBench | undefined;
  try {
    await buildBaselines();
    c = await runCIterate(file, runs);
    cold = await benchColdIterate(file, runs);
  } catch (e) {
    process.stderr.write(`no C baseline or no cold figures: ${(e as Error).message}\n`);
  }
  return {
    file,
    traces,
    attributes,
    sync: { seconds: median(sync), runs: sync },
    typed: { seconds: median(typed), runs: typed },
    async: asyncTiming(asyncRuns, batch),
    typedAsync: asyncTiming(typedAsyncRuns, batch),
    ...(c ? { c } : {}),
    ...(cold ? { cold } : {}),
  };
}

function parseArgs(argv: string[]): { runs: number; only: Set<string>; json: boolean; result?: string } {
  let runs = 5;
  let only = new Set<string>(BENCHMARKS);
  let json = false;
  let result: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--runs") runs = Number(argv[++i]);
    else if (a === "--only") only = new Set((argv[++i] ?? "").split(","));
    else if (a === "--json") json = true;
    else if (a === "--result") result = argv[++i];
    else throw new Error(`unknown argument ${a}: usage: run.ts [--runs N] [--only ${BENCHMARKS.join(",")}] [--json]`);
  }
  if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`--runs: expected a positive integer, got ${runs}`);
  for (const o of only) if (!(BENCHMARKS as readonly string[]).includes(o)) throw new RangeError(`--only: unknown benchmark ${o}: use ${BENCHMARKS.join(", ")}`);
  return { runs, only, json, ...(result !== undefined ? { result } : {}) };
}

const THIS_FILE = fileURLToPath(import.meta.url);

/** Runs one benchmark in a child process (this script, `--only name`); its report goes where ours goes, its results come back. */
function runIsolated(name: string, runs: number, json: boolean): Promise<Record<string, unknown>> {
  const file = join(BENCH_DIR, `results-${name}.json`);
  rmSync(file, { force: true });
  const args = [...process.execArgv, THIS_FILE, "--only", name, "--runs", String(runs), "--result", file, ...(json ? ["--json"] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", json ? "ignore" : "inherit", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code !== 0) return reject(new Error(`the ${name} benchmark failed (${signal ?? code})`));
      const results = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
      rmSync(file, { force: true });
      resolve(results);
    });
  });
}

const verdict = (ok: boolean) => (ok ? "met" : "MISSED");

async function main(): Promise<void> {
  const { runs, only, json, result } = parseArgs(process.argv.slice(2));
  const log = (s: string) => (json ? process.stderr : process.stdout).write(`${s}\n`);
  if (result === undefined) log(`libhdf5 ${hdf5Version()}, node ${process.version}; medians of ${runs} warm runs`);
  if (result === undefined && only.size > 1) {
    const all: Record<string, unknown> = {};
    for (const name of BENCHMARKS) if (only.has(name)) Object.assign(all, await runIsolated(name, runs, json));
    writeFileSync(join(BENCH_DIR, "results.json"), `${JSON.stringify(all, null, 1)}\n`);
    if (json) process.stdout.write(`${JSON.stringify(all, null, 1)}\n`);
    return;
  }
  const sourceCounts = only.has("merge") ? [100, 200, 400] : [];
  // The startup and jobs benchmarks make their own files (scripts/bench/jobs.ts).
  if ([...only].some((x) => x !== "jobs" && x !== "startup")) await ensureBenchData(BENCH_DIR, sourceCounts);
  const results: { startup?: StartupRow[]; iterate?: IterateBench; merge?: MergeBench & { cold?: ColdMergeBench }; map?: MapBenchResult[]; analysis?: AnalysisBenchResult[]; import?: ImportBenchResult[]; review?: ReviewBenchResult[]; jobs?: JobsBenchResult[] } = {};

  if (only.has("startup")) {
    const rows = benchStartup(runs);
    results.startup = rows;
    log("\nstartup, each a fresh process (medians, alternating with bare node; CPU = user + system):");
    for (const r of rows) {
      const vs = r.target === "" ? "" : r.name.startsWith("import") ? ` = node + ${(r.ratio * 1000).toFixed(0)} ms` : ` = ${r.ratio.toFixed(2)}x node`;
      log(`  ${r.name.padEnd(30)} ${r.seconds.toFixed(3)} s, cpu ${r.cpuSeconds.toFixed(3)} s${vs}${r.target ? ` (target ${r.target}: ${verdict(r.met)})` : ""}`);
    }
  }

  if (only.has("iterate")) {
    const it = await benchIterate(join(BENCH_DIR, "iterate.hdf5"), runs);
    results.iterate = it;
    const s = (x: number) => `${x.toFixed(3)} s`;
    log(`\niterate ${it.traces} traces (${it.attributes} attributes), open + every trace's data and attributes:`);
    if (it.c) log(`  plain C on libhdf5:                 ${s(it.c.seconds)}`);
    const vsC = it.c ? ` = ${(it.sync.seconds / it.c.seconds).toFixed(2)}x C (target <= 0.8x: ${verdict(it.sync.seconds <= 0.8 * it.c.seconds)})` : "";
    log(`  offspect's API, sync:               ${s(it.sync.seconds)}${vsC}`);
    const typedRatio = it.typed.seconds / it.sync.seconds;
    log(`  typed API (eachSync):               ${s(it.typed.seconds)} = ${typedRatio.toFixed(2)}x offspect's API (target <= 1.3x: ${verdict(typedRatio <= 1.3)})`);
    for (const [name, a] of [
      ["offspect's API, async (for await): ", it.async],
      ["typed API, async (each()):          ", it.typedAsync],
    ] as const) {
      const ratio = a.seconds / it.sync.seconds;
      log(
        `  ${name}${s(a.seconds)} = ${ratio.toFixed(2)}x sync (target <= 1.3x: ${verdict(ratio <= 1.3)}); ` +
          `event-loop delay p99 ${a.loopDelayP99Ms.toFixed(1)} ms (target < 20 ms: ${verdict(a.loopDelayP99Ms < 20)}), max ${a.loopDelayMaxMs.toFixed(1)} ms`,
      );
    }
    if (it.cold) {
      const { node, c } = it.cold;
      const ratio = node.seconds / c.seconds;
      log(`  cold, a fresh process each (alternating, whole process; the file in the page cache):`);
      log(`    plain C on libhdf5:               ${coldFigure(c)}; H5Fopen to H5Fclose ${s(c.openRead)}`);
      log(
        `    offspect's API (dist/):           ${coldFigure(node)} = ${ratio.toFixed(2)}x C (target <= 1.0x: ${verdict(ratio <= 1)}); ` +
          `modules ${s(node.load)}, open ${s(node.open)} (target <= 0.15 s: ${verdict(node.open <= 0.15)}), open + reads ${s(node.openRead)} = ${(node.openRead / c.openRead).toFixed(2)}x C's`,
      );
      if (it.c) log(`    warm (above) offspect's API vs C: ${(it.sync.seconds / it.c.seconds).toFixed(2)}x (target <= 0.5x: ${verdict(it.sync.seconds <= 0.5 * it.c.seconds)})`);
    }
  }

  if (only.has("merge")) {
    const m = await benchMerge({ 100: sourcesOf(BENCH_DIR, 100), 200: sourcesOf(BENCH_DIR, 200), 400: sourcesOf(BENCH_DIR, 400) }, { runs, workDir: BENCH_DIR });
    let cold: ColdMergeBench | undefined;
    try {
      cold = await benchColdMerge(sourcesOf(BENCH_DIR, 200), runs, BENCH_DIR);
    } catch (e) {
      process.stderr.write(`no cold merge figures: ${(e as Error).message}\n`);
    }
    results.merge = { ...m, ...(cold ? { cold } : {}) };
    const vsCat = m.cat ? m.splice.seconds / m.cat.seconds : undefined;
    log(`\nmerge ${m.sources} sources, ${m.traces} traces, ${(m.sourceBytes / 2 ** 20).toFixed(1)} MiB:`);
    log(
      `  merge (splice engine):          ${m.splice.seconds.toFixed(3)} s (target <= 0.8 s: ${verdict(m.splice.seconds <= 0.8)})` +
        (vsCat !== undefined ? ` = ${vsCat.toFixed(1)}x cat (target <= 3x: ${verdict(vsCat <= 3)})` : "") +
        (m.cMerge ? `, ${(m.splice.seconds / m.cMerge.seconds).toFixed(2)}x C H5Ocopy` : ""),
    );
    log(`  merge (splice engine) + fsync:  ${m.spliceFsync.seconds.toFixed(3)} s`);
    log(`  merge (values engine):          ${m.valuesEngine.seconds.toFixed(3)} s`);
    if (m.cMerge) log(`  plain C H5Ocopy merge:          ${m.cMerge.seconds.toFixed(3)} s`);
    if (m.cat) log(`  cat of the sources:             ${m.cat.seconds.toFixed(3)} s`);
    if (cold) {
      const ratio = cold.merge.seconds / cold.catFsync.seconds;
      log(`  cold, a fresh process each (alternating, whole process, with fsync):`);
      log(`    cachefile merge (dist/cli):   ${coldFigure(cold.merge)} = ${ratio.toFixed(2)}x cat + fsync (target <= 2.5x: ${verdict(ratio <= 2.5)})`);
      log(`    cat + fsync of the sources:   ${coldFigure(cold.catFsync)}`);
    }
    for (const r of m.rss) {
      log(`  peak RSS merging ${r.sources} sources: ${r.spliceMiB.toFixed(0)} MiB (values engine ${r.valuesMiB.toFixed(0)} MiB; target <= 250 MB: ${verdict(r.spliceMiB * 1.048576 <= 250)})`);
    }
  }

  if (only.has("map")) {
    const maps = await benchMap({ runs });
    results.map = maps;
    log("\nmap, values to PNG file:");
    for (const r of maps) log(`  ${r.name.padEnd(60)} ${r.ms.toFixed(0).padStart(5)} ms (target ${r.target_ms} ms)`);
  }

  if (only.has("analysis")) {
    const a = await benchAnalysis({ runs: Math.min(runs, 3) });
    results.analysis = a;
    log("\nanalysis, 10,000 traces of 2000 samples:");
    for (const r of a) {
      const target = r.target_s === null ? "" : ` (target <= ${r.target_s} s: ${verdict(r.seconds <= r.target_s)})`;
      log(`  ${r.name.padEnd(60)} ${r.seconds.toFixed(3)} s${target}`);
    }
  }

  if (only.has("import")) {
    const im = await benchImport(Math.min(runs, 3));
    results.import = im;
    log("\nimport a recording into a CacheFile (in a child process):");
    for (const r of im) {
      log(
        `  ${r.name.padEnd(44)} ${r.seconds.toFixed(3)} s, cpu ${r.cpuSeconds.toFixed(3)} s (target <= ${r.target_seconds} s: ${verdict(r.seconds <= r.target_seconds)}); ` +
          `peak RSS ${r.peakRssMb.toFixed(0)} MB (target <= ${r.target_rss_mb} MB: ${verdict(r.peakRssMb <= r.target_rss_mb)})`,
      );
    }
  }

  if (only.has("review")) {
    const r = await benchReview({ runs: Math.min(runs, 3) });
    results.review = r;
    log("\nreview in the browser (chromium), 10,000 traces of 2000 samples, 500 per origin:");
    for (const x of r) log(`  ${x.name.padEnd(72)} ${x.ms.toFixed(0).padStart(5)} ms (target ${x.target_ms} ms: ${verdict(x.ms <= x.target_ms)})`);
  }

  if (only.has("jobs")) {
    const j = await benchJobs({ runs });
    results.jobs = j;
    log("\nannotate of 20 files x 500 traces, --jobs (fresh CLI processes, alternating; CPU: the CLI and its workers):");
    for (const x of j) {
      if (x.name.includes("a ratio")) {
        const target = x.target === null ? "" : ` (target >= ${x.target}: ${verdict(x.seconds >= x.target)})`;
        log(`  ${x.name.padEnd(72)} ${x.seconds.toFixed(2)}x${target}, CPU ratio ${x.cpu_seconds.toFixed(2)}, load ${x.load.toFixed(1)}`);
      } else log(`  ${x.name.padEnd(72)} ${x.seconds.toFixed(3)} s, CPU ${x.cpu_seconds.toFixed(3)} s, load ${x.load.toFixed(1)}`);
    }
  }

  if (result !== undefined) {
    writeFileSync(result, JSON.stringify(results));
    return;
  }
  writeFileSync(join(BENCH_DIR, "results.json"), `${JSON.stringify(results, null, 1)}\n`);
  if (json) process.stdout.write(`${JSON.stringify(results, null, 1)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
