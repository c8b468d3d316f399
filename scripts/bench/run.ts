/**
 * `npm run bench`: every benchmark the README's performance table reports.
 *
 * 1. iterate: open the 10,000-trace file (200 origins x 50 traces of 2000 x 1
 *    float64, 29 attributes each; made by make_data.py) and read every
 *    trace's data and attributes, synchronously (`for (const t of cf)`) and
 *    asynchronously (`for await (const t of cf.traces())`, with the event-loop
 *    delay measured by perf_hooks.monitorEventLoopDelay), next to the plain C
 *    program (scripts/bench/c/iterate.c) reading the same data and attributes.
 * 2. merge: 200 sources of 50 traces into one, both engines, `cat` and the C
 *    H5Ocopy merge as floors, and the peak RSS of merging 100 and 400 sources
 *    (scripts/bench/merge.ts).
 * 3. map: a 10,000-point motor map to PNG, one view and ortho
 *    (scripts/bench/map.ts).
 *
 * Usage: `npm run bench [-- --runs 5] [-- --only iterate,merge,map] [-- --json]`.
 * Figures are medians of warm runs (after one warm-up run); the data live in
 * scripts/bench/out (git-ignored), made on the first run (about a minute).
 * Results are also written to scripts/bench/out/results.json.
 * @module
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CacheFile } from "../../src/cachefile.js";
import { hdf5Version } from "../../src/hdf5/file.js";
import { BENCH_DIR, buildBaselines, ensureBenchData, median, runCIterate, sourcesOf, type CIterateResult } from "./baseline.js";
import { benchMap, type MapBenchResult } from "./map.js";
import { benchMerge, type MergeBench } from "./merge.js";

interface IterateBench {
  file: string;
  traces: number;
  attributes: number;
  /** Seconds: open + every trace's data and attributes, synchronously. */
  sync: { seconds: number; runs: number[] };
  /** The same through the async API, with the event-loop delay while it ran. */
  async: { seconds: number; runs: number[]; batch: number; loopDelayP99Ms: number; loopDelayMaxMs: number };
  c?: CIterateResult;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function iterateSync(file: string): Promise<{ seconds: number; traces: number; attributes: number }> {
  const t0 = process.hrtime.bigint();
  const cf = new CacheFile(file);
  let traces = 0;
  let attributes = 0;
  let checksum = 0;
  for (const [data, attrs] of cf) {
    traces++;
    attributes += Object.keys(attrs).length - 3; // less origin, cache_file, cache_file_index
    checksum += data.data[0]!;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!Number.isFinite(checksum)) throw new Error("iterate: data not finite");
  await turn(); // let the file go before the next run
  return { seconds, traces, attributes };
}

async function iterateAsync(file: string, batch: number): Promise<{ seconds: number; p99: number; max: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = process.hrtime.bigint();
  const cf = await CacheFile.open(file);
  let checksum = 0;
  for await (const [data] of cf.traces({ batch })) checksum += data.data[0]!;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  h.disable();
  if (!Number.isFinite(checksum)) throw new Error("iterate: data not finite");
  await turn();
  return { seconds, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
}

async function benchIterate(file: string, runs: number): Promise<IterateBench> {
  await iterateSync(file); // warm-up: page cache, JIT
  const sync: number[] = [];
  let traces = 0;
  let attributes = 0;
  for (let i = 0; i < runs; i++) {
    const r = await iterateSync(file);
    sync.push(r.seconds);
    traces = r.traces;
    attributes = r.attributes;
  }
  const batch = 64;
  await iterateAsync(file, batch);
  const asyncRuns: { seconds: number; p99: number; max: number }[] = [];
  for (let i = 0; i < runs; i++) asyncRuns.push(await iterateAsync(file, batch));
  let c: CIterateResult | undefined;
  try {
    await buildBaselines();
    c = await runCIterate(file, runs);
  } catch (e) {
    process.stderr.write(`no C baseline: ${(e as Error).message}\n`);
  }
  return {
    file,
    traces,
    attributes,
    sync: { seconds: median(sync), runs: sync },
    async: {
      seconds: median(asyncRuns.map((r) => r.seconds)),
      runs: asyncRuns.map((r) => r.seconds),
      batch,
      loopDelayP99Ms: median(asyncRuns.map((r) => r.p99)),
      loopDelayMaxMs: Math.max(...asyncRuns.map((r) => r.max)),
    },
    ...(c ? { c } : {}),
  };
}

function parseArgs(argv: string[]): { runs: number; only: Set<string>; json: boolean } {
  let runs = 5;
  let only = new Set(["iterate", "merge", "map"]);
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--runs") runs = Number(argv[++i]);
    else if (a === "--only") only = new Set((argv[++i] ?? "").split(","));
    else if (a === "--json") json = true;
    else throw new Error(`unknown argument ${a}: usage: run.ts [--runs N] [--only iterate,merge,map] [--json]`);
  }
  if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`--runs: expected a positive integer, got ${runs}`);
  for (const o of only) if (!["iterate", "merge", "map"].includes(o)) throw new RangeError(`--only: unknown benchmark ${o}`);
  return { runs, only, json };
}

async function main(): Promise<void> {
  const { runs, only, json } = parseArgs(process.argv.slice(2));
  const log = (s: string) => (json ? process.stderr : process.stdout).write(`${s}\n`);
  log(`libhdf5 ${hdf5Version()}, node ${process.version}; medians of ${runs} warm runs`);
  const sourceCounts = only.has("merge") ? [100, 200, 400] : [];
  await ensureBenchData(BENCH_DIR, sourceCounts);
  const results: { iterate?: IterateBench; merge?: MergeBench; map?: MapBenchResult[] } = {};

  if (only.has("iterate")) {
    const it = await benchIterate(join(BENCH_DIR, "iterate.hdf5"), runs);
    results.iterate = it;
    const ratio = it.c ? ` = ${(it.sync.seconds / it.c.seconds).toFixed(2)}x C (target <= 1.5x)` : "";
    log(`\niterate ${it.traces} traces (${it.attributes} attributes), open + every trace's data and attributes:`);
    if (it.c) log(`  plain C on libhdf5:        ${it.c.seconds.toFixed(3)} s`);
    log(`  CacheFile, sync:           ${it.sync.seconds.toFixed(3)} s${ratio}`);
    log(
      `  CacheFile.traces(), async: ${it.async.seconds.toFixed(3)} s = ${(it.async.seconds / it.sync.seconds).toFixed(2)}x sync (target <= 1.3x); ` +
        `event-loop delay p99 ${it.async.loopDelayP99Ms.toFixed(1)} ms, max ${it.async.loopDelayMaxMs.toFixed(1)} ms (target p99 < 20 ms)`,
    );
  }

  if (only.has("merge")) {
    const m = await benchMerge({ 100: sourcesOf(BENCH_DIR, 100), 200: sourcesOf(BENCH_DIR, 200), 400: sourcesOf(BENCH_DIR, 400) }, { runs, workDir: BENCH_DIR });
    results.merge = m;
    log(`\nmerge ${m.sources} sources, ${m.traces} traces, ${(m.sourceBytes / 2 ** 20).toFixed(1)} MiB (target <= 1.5 s):`);
    log(`  merge (splice engine):          ${m.splice.seconds.toFixed(3)} s${m.cat ? ` = ${(m.splice.seconds / m.cat.seconds).toFixed(1)}x cat` : ""}${m.cMerge ? `, ${(m.splice.seconds / m.cMerge.seconds).toFixed(2)}x C H5Ocopy` : ""}`);
    log(`  merge (splice engine) + fsync:  ${m.spliceFsync.seconds.toFixed(3)} s`);
    log(`  merge (hdf5 engine, H5Ocopy):   ${m.hdf5Engine.seconds.toFixed(3)} s`);
    if (m.cMerge) log(`  plain C H5Ocopy merge:          ${m.cMerge.seconds.toFixed(3)} s`);
    if (m.cat) log(`  cat of the sources:             ${m.cat.seconds.toFixed(3)} s`);
    for (const r of m.rss) log(`  peak RSS merging ${r.sources} sources: ${r.spliceMiB.toFixed(0)} MiB (hdf5 engine ${r.hdf5MiB.toFixed(0)} MiB; target <= 250 MB)`);
  }

  if (only.has("map")) {
    const maps = await benchMap({ runs });
    results.map = maps;
    log("\nmap, values to PNG file:");
    for (const r of maps) log(`  ${r.name.padEnd(60)} ${r.ms.toFixed(0).padStart(5)} ms (target ${r.target_ms} ms)`);
  }

  writeFileSync(join(BENCH_DIR, "results.json"), `${JSON.stringify(results, null, 1)}\n`);
  if (json) process.stdout.write(`${JSON.stringify(results, null, 1)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
