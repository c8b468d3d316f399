/**
 * Benchmark of `merge`: both engines (the byte-level splice, default, and
 * every source written from its values through libhdf5) on the 200-source
 * set (200 files x 50 traces), the peak RSS of a child process merging 100
 * and 400 sources, and the floors: `cat` of the same files and the plain-C
 * H5Ocopy merge (scripts/bench/c/merge.c).
 *
 * Run directly (makes the data with make_data.py when missing):
 * ```sh
 * node --import tsx scripts/bench/merge.ts [--dir scripts/bench/out] [--runs 5] [--json]
 * ```
 * or from another benchmark:
 * ```ts
 * import { benchMerge } from "./merge.js";
 * import { BENCH_DIR, sourcesOf } from "./baseline.js";
 * const r = await benchMerge({ 100: sourcesOf(BENCH_DIR, 100), 200: sourcesOf(BENCH_DIR, 200), 400: sourcesOf(BENCH_DIR, 400) });
 * ```
 *
 * Timing: each merge runs in this process (merge is synchronous) and is timed
 * from the call to its return; the target is removed before each run, outside
 * the timing (replacing a 190 MB file costs its unlink). One warm-up run is
 * not counted, so the sources are in the page cache; `seconds` is the median.
 * The values' normalization memo (attrvalue.ts) is cleared before each run,
 * so that no run is faster for the texts an earlier run memoized.
 * Unless stated (`spliceFsync`), merges run with `fsync: false`, as the C
 * baseline (which does not fsync either). Peak RSS: a fresh child process per
 * figure, measured by `peakRssOf` (GNU time when installed).
 * @module
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { merge, type MergeOptions } from "../../src/files/merge.js";
import { hdf5Version } from "../../src/hdf5/file.js";
import { clearNormalizedMemo } from "../../src/values/attrvalue.js";
import {
  BENCH_DIR,
  BIN_DIR,
  buildBaselines,
  type CatResult,
  type CMergeResult,
  ensureBenchData,
  median,
  peakRssOf,
  runCat,
  runCMerge,
  sourcesOf,
} from "./baseline.js";

const THIS_FILE = fileURLToPath(import.meta.url);

/** Seconds of timed runs. */
export interface Timing {
  /** Median seconds. */
  seconds: number;
  runs: number[];
}

/** Peak RSS of a child merging N sources, MiB. */
export interface MergeRss {
  sources: number;
  spliceMiB: number;
  valuesMiB: number;
  method: string;
}

export interface MergeBench {
  hdf5: string;
  /** The timed set: its size in sources, traces and bytes. */
  sources: number;
  traces: number;
  sourceBytes: number;
  /** The splice engine ("auto", every source spliced), no fsync. */
  splice: Timing;
  /** The same with the default `fsync: true` (the new file and its directory). */
  spliceFsync: Timing;
  /** The "values" engine (every source written from its values through libhdf5), no fsync. */
  valuesEngine: Timing;
  /** How many sources each engine took in the "auto" runs. */
  engines: Record<string, number>;
  /** `cat` of the same sources into one file. */
  cat?: CatResult;
  /** The plain-C H5Ocopy merge of the same sources. */
  cMerge?: CMergeResult;
  rss: MergeRss[];
}

/** Median of `runs` timed merges after one warm-up; `traces` is the merged trace count. */
function timeMerge(target: string, sources: string[], runs: number, options: MergeOptions): Timing & { traces: number } {
  let traces = 0;
  const once = () => {
    rmSync(target, { force: true });
    // No text memoized by a run before: each run normalizes the values as if it had not seen the files.
    clearNormalizedMemo();
    const t0 = process.hrtime.bigint();
    merge(target, sources, { ...options, onProgress: (e) => e.phase === "done" && (traces = e.total) });
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(once());
  rmSync(target, { force: true });
  return { seconds: median(times), runs: times, traces };
}

async function childRss(dir: string, engine: "auto" | "values", sources: string[]): Promise<{ mib: number; method: string }> {
  const list = join(dir, `sources-${engine}-${sources.length}.json`);
  writeFileSync(list, JSON.stringify(sources));
  const target = join(dir, `rss-${engine}-${sources.length}.hdf5`);
  const r = await peakRssOf(process.execPath, ["--import", "tsx", THIS_FILE, "--child", engine, target, list]);
  await rm(target, { force: true });
  if (r.code !== 0) throw new Error(`the merge child failed (${r.code}): ${r.stderr.trim()}`);
  return { mib: r.peakRssKiB / 1024, method: r.method };
}

/**
 * Benchmarks merge on `sourceDirs[200]` (the source files of the 200-source
 * set; any other count present is used for nothing but the RSS figures) and
 * measures the peak RSS of children merging `sourceDirs[100]` and
 * `sourceDirs[400]`.
 */
export async function benchMerge(
  sourceDirs: Record<number, string[]>,
  options: { runs?: number; valuesRuns?: number; workDir?: string; baselines?: boolean } = {},
): Promise<MergeBench> {
  const runs = options.runs ?? 5;
  const timed = sourceDirs[200] ?? Object.values(sourceDirs)[0];
  if (!timed || timed.length === 0) throw new RangeError("benchMerge: expected source files for 200 sources");
  const work = await mkdtemp(join(options.workDir ?? BENCH_DIR, "tmp-merge-"));
  try {
    const target = join(work, "merged.hdf5");
    const engines: Record<string, number> = {};
    const { traces, ...splice } = timeMerge(target, timed, runs, { fsync: false, onSource: (e) => (engines[e.engine] = (engines[e.engine] ?? 0) + 1) });
    for (const k of Object.keys(engines)) engines[k] = engines[k]! / (runs + 1);
    const { traces: _t1, ...spliceFsync } = timeMerge(target, timed, runs, {});
    const { traces: _t2, ...valuesEngine } = timeMerge(target, timed, options.valuesRuns ?? Math.min(runs, 3), { fsync: false, engine: "values" });
    const sourceBytes = timed.reduce((s, f) => s + statSync(f).size, 0);

    let cat: CatResult | undefined;
    let cMerge: CMergeResult | undefined;
    if (options.baselines ?? true) {
      cat = await runCat(join(work, "cat.bin"), timed, runs);
      await rm(join(work, "cat.bin"), { force: true });
      try {
        await buildBaselines();
        if (existsSync(join(BIN_DIR, "merge"))) cMerge = await runCMerge(join(work, "c-merged.hdf5"), timed, Math.min(runs, 3));
      } catch {
        // no compiler or libhdf5-dev: no C figure
      }
      await rm(join(work, "c-merged.hdf5"), { force: true });
    }

    const rss: MergeRss[] = [];
    for (const n of [100, 400]) {
      const files = sourceDirs[n];
      if (!files) continue;
      const s = await childRss(work, "auto", files);
      const v = await childRss(work, "values", files);
      rss.push({ sources: n, spliceMiB: s.mib, valuesMiB: v.mib, method: s.method });
    }
    return {
      hdf5: hdf5Version(),
      sources: timed.length,
      traces,
      sourceBytes,
      splice,
      spliceFsync,
      valuesEngine,
      engines,
      ...(cat ? { cat } : {}),
      ...(cMerge ? { cMerge } : {}),
      rss,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === "--child") {
    const [, engine, target, list] = argv;
    merge(target!, JSON.parse(readFileSync(list!, "utf8")) as string[], { fsync: false, engine: engine as "auto" | "values" });
    process.stdout.write(JSON.stringify({ maxRSS: process.resourceUsage().maxRSS }) + "\n");
    return;
  }
  let dir = BENCH_DIR;
  let runs = 5;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--dir") dir = resolve(argv[++i] ?? ".");
    else if (a === "--runs") runs = Number(argv[++i]);
    else if (a === "--json") json = true;
    else throw new Error(`unknown argument ${a}: usage: merge.ts [--dir D] [--runs R] [--json]`);
  }
  if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`--runs: expected a positive integer, got ${runs}`);
  await ensureBenchData(dir, [100, 200, 400]);
  const sourceDirs = { 100: sourcesOf(dir, 100), 200: sourcesOf(dir, 200), 400: sourcesOf(dir, 400) };
  const r = await benchMerge(sourceDirs, { runs, workDir: dir });
  if (json) {
    console.log(JSON.stringify(r, null, 1));
    return;
  }
  const s = (t: number) => `${t.toFixed(3)} s`;
  const list = (t: Timing) => `[${t.runs.map((x) => x.toFixed(3)).join(", ")}]`;
  console.log(`libhdf5 ${r.hdf5}; ${r.sources} sources, ${r.traces} traces, ${(r.sourceBytes / 2 ** 20).toFixed(1)} MiB; medians after a warm-up`);
  console.log(`  merge, splice engine:            ${s(r.splice.seconds)}  ${list(r.splice)}  sources by engine: ${JSON.stringify(r.engines)}`);
  console.log(`  merge, splice engine, fsync:     ${s(r.spliceFsync.seconds)}  ${list(r.spliceFsync)}`);
  console.log(`  merge, values engine:            ${s(r.valuesEngine.seconds)}  ${list(r.valuesEngine)}`);
  if (r.cMerge) console.log(`  C H5Ocopy merge (no checks):     ${s(r.cMerge.seconds)}`);
  if (r.cat) console.log(`  cat of the sources:              ${s(r.cat.seconds)}`);
  for (const x of r.rss) {
    console.log(`  peak RSS, ${x.sources} sources: splice ${x.spliceMiB.toFixed(0)} MiB, values ${x.valuesMiB.toFixed(0)} MiB (${x.method})`);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === THIS_FILE) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
