/**
 * Plain-C baselines for the benchmarks: the data, the C programs, and timed
 * runs of them, so that the library's figures can be put next to what C on
 * the same libhdf5 achieves.
 *
 * Run directly to build everything and print the baseline figures:
 * ```sh
 * npx tsx scripts/bench/baseline.ts [--dir scripts/bench/out] [--sources 100 200 400] [--runs 5] [--json]
 * ```
 * or import the helpers from a benchmark:
 * ```ts
 * import { ensureBenchData, buildBaselines, runCIterate, BENCH_DIR } from "./baseline.js";
 * await ensureBenchData(BENCH_DIR, [200]);
 * await buildBaselines();
 * const c = await runCIterate(join(BENCH_DIR, "iterate.hdf5")); // c.seconds: median of 5 warm runs
 * ```
 *
 * Timing. Every run starts a fresh process. `runCIterate` and `runCMerge`
 * report the seconds the C program measures itself (CLOCK_MONOTONIC from
 * H5Fopen/H5Fcreate to H5Fclose; not process start-up), the median of
 * `runs` runs after one warm-up run that is not counted, so the files are in
 * the page cache ("warm"). `runCat` times `cat` from here (process start
 * included, about a millisecond).
 *
 * Peak memory. `peakRssOf` runs a command under GNU time (`/usr/bin/time
 * -v`, Debian package `time`), which reports the child's peak resident set
 * size exactly (getrusage's ru_maxrss). Without it, it polls the child's
 * `VmHWM` in /proc/PID/status every few milliseconds, which can miss growth
 * in the child's last milliseconds; `method` says which was used.
 * @module
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, readdirSync, statSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));

/** Default directory of the benchmark data and binaries (git-ignored). */
export const BENCH_DIR = join(HERE, "out");
/** Where `buildBaselines` puts the C programs. */
export const BIN_DIR = join(BENCH_DIR, "bin");
/** Debian's python, which has h5py and numpy (a pyenv `python3` on PATH may not). */
export const PYTHON = process.env["BENCH_PYTHON"] ?? "/usr/bin/python3";

/** The outcome of a finished child process. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; stderr is passed through when `echo` is set. */
function run(cmd: string, args: string[], options: { echo?: boolean; stdoutFd?: number } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      stdio: ["ignore", options.stdoutFd ?? "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr?.setEncoding("utf8").on("data", (s: string) => {
      stderr += s;
      if (options.echo) process.stderr.write(s);
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
}

async function runOk(cmd: string, args: string[], what: string, options: { echo?: boolean } = {}): Promise<RunResult> {
  let result: RunResult;
  try {
    result = await run(cmd, args, options);
  } catch (e) {
    throw new Error(`${what}: cannot start ${cmd}: ${(e as Error).message}`);
  }
  if (result.code !== 0) {
    const tail = result.stderr.trim().split("\n").slice(-5).join("\n");
    throw new Error(`${what}: ${cmd} failed (${result.signal ?? `exit code ${result.code}`})${tail ? `:\n${tail}` : ""}`);
  }
  return result;
}

/** The median of some numbers (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("median of no values");
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function checkRuns(runs: number): void {
  if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`expected a positive integer for runs, got ${runs}`);
}

/**
 * Makes sure the benchmark data exist in `dir`: `iterate.hdf5` (200 origins
 * x 50 traces) and `sources-N/` with N single-origin files for every N of
 * `sources`, by running `make_data.py` with Debian's python. Files that exist
 * with the recorded size are kept, so this is quick once the data exist.
 * @throws {Error} python, h5py or numpy is missing, or writing failed
 */
export async function ensureBenchData(dir: string = BENCH_DIR, sources: number[] = [100, 200, 400]): Promise<void> {
  for (const n of sources) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`expected positive integers for sources, got ${n}`);
  }
  if (!existsSync(PYTHON)) {
    throw new Error(`${PYTHON} not found: install Debian's python3 with h5py and numpy (apt-get install python3-h5py python3-numpy), or set BENCH_PYTHON`);
  }
  await runOk(PYTHON, [join(HERE, "make_data.py"), resolve(dir), "--quiet", "--sources", ...sources.map(String)], "make_data.py", {
    echo: true,
  });
}

/**
 * Compiles the C baselines (`iterate`, `merge`) into {@link BIN_DIR} with
 * `c/build.sh` (gcc -O2, libhdf5 through pkg-config), unless the binaries are
 * newer than their sources.
 * @throws {Error} gcc or libhdf5's headers are missing
 */
export async function buildBaselines(): Promise<void> {
  const cdir = join(HERE, "c");
  const newestSource = Math.max(...readdirSync(cdir).map((f) => statSync(join(cdir, f)).mtimeMs));
  const upToDate = ["iterate", "merge"].every((p) => {
    const bin = join(BIN_DIR, p);
    return existsSync(bin) && statSync(bin).mtimeMs >= newestSource;
  });
  if (upToDate) return;
  await runOk("sh", [join(cdir, "build.sh")], "building the C baselines (needs gcc and libhdf5-dev)");
}

function parseJsonLine<T>(stdout: string, what: string): T {
  const line = stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`${what} printed no JSON line: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
}

/** What the C iterate baseline reports. */
export interface CIterateResult {
  /** Median seconds, H5Fopen to H5Fclose. */
  seconds: number;
  /** Every counted run's seconds, in order. */
  runs: number[];
  traces: number;
  attributes: number;
  origins: number;
  checksum: number;
  /** How the file was opened ("rdonly|swmr_read,latest", or "rdonly" with `plain`). */
  mode: string;
  cold: boolean;
  hdf5: string;
}

/**
 * Times the C baseline that opens `file` and reads every trace's data and
 * attributes: one warm-up run, then `runs` runs; `seconds` is their median.
 * `cold`: every run first drops the file from the page cache
 * (posix_fadvise DONTNEED; a virtual disk may still be cached by its host).
 * `plain`: open H5F_ACC_RDONLY with default properties instead of the
 * project's SWMR-read, latest-format open.
 * @example
 * const c = await runCIterate("scripts/bench/out/iterate.hdf5", 5);
 * console.log(`${c.traces} traces in ${c.seconds.toFixed(3)} s`);
 * @throws {Error} the binary is missing (call buildBaselines) or the file cannot be read
 */
export async function runCIterate(
  file: string,
  runs = 5,
  options: { cold?: boolean; plain?: boolean } = {},
): Promise<CIterateResult> {
  checkRuns(runs);
  const args = [resolve(file), ...(options.cold ? ["--cold"] : []), ...(options.plain ? ["--plain"] : [])];
  type Line = Omit<CIterateResult, "runs">;
  const once = async () => parseJsonLine<Line>((await runOk(join(BIN_DIR, "iterate"), args, "C iterate")).stdout, "C iterate");
  await once();
  const results: Line[] = [];
  for (let i = 0; i < runs; i++) results.push(await once());
  const times = results.map((r) => r.seconds);
  return { ...results[0]!, seconds: median(times), runs: times };
}

/** What the C merge baseline reports. */
export interface CMergeResult {
  /** Median seconds, H5Fcreate to H5Fclose of the target. */
  seconds: number;
  runs: number[];
  sources: number;
  /** H5Ocopy calls (origin groups copied). */
  objects: number;
  /** Size of the merged file in bytes. */
  bytes: number;
  hdf5: string;
}

/**
 * Times the C baseline merge (H5Ocopy of every origin group of every source
 * into a fresh `target`): one warm-up run, then `runs` runs; `seconds` is
 * their median. `target` is left in place.
 * @example
 * const m = await runCMerge("/tmp/merged.hdf5", sourcesOf("scripts/bench/out", 200));
 * @throws {Error} the binary is missing (call buildBaselines), or a source cannot be read
 */
export async function runCMerge(target: string, sources: string[], runs = 3): Promise<CMergeResult> {
  checkRuns(runs);
  if (sources.length === 0) throw new RangeError("expected at least one source file");
  const args = [resolve(target), ...sources.map((s) => resolve(s))];
  type Line = Omit<CMergeResult, "runs" | "bytes">;
  const once = async () => parseJsonLine<Line>((await runOk(join(BIN_DIR, "merge"), args, "C merge")).stdout, "C merge");
  await once();
  const results: Line[] = [];
  for (let i = 0; i < runs; i++) results.push(await once());
  const times = results.map((r) => r.seconds);
  return { ...results[0]!, seconds: median(times), runs: times, bytes: statSync(target).size };
}

/** What `runCat` reports. */
export interface CatResult {
  /** Median seconds of `cat SOURCES > TARGET`, process start included. */
  seconds: number;
  runs: number[];
  /** Bytes written (the sum of the sources' sizes). */
  bytes: number;
}

/**
 * The physical floor of a merge: `cat` of all sources into `target`
 * (timed from here, process start included): one warm-up run, then `runs`
 * runs; `seconds` is their median. `target` is left in place.
 * @example
 * const floor = await runCat("/tmp/cat.bin", sourcesOf("scripts/bench/out", 200));
 */
export async function runCat(target: string, sources: string[], runs = 3): Promise<CatResult> {
  checkRuns(runs);
  if (sources.length === 0) throw new RangeError("expected at least one source file");
  const once = async () => {
    const fd = openSync(target, "w");
    try {
      const t0 = process.hrtime.bigint();
      const r = await run("cat", sources, { stdoutFd: fd });
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (r.code !== 0) throw new Error(`cat failed: ${r.stderr.trim()}`);
      return seconds;
    } finally {
      closeSync(fd);
    }
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  return { seconds: median(times), runs: times, bytes: statSync(target).size };
}

/** What `peakRssOf` reports. */
export interface PeakRss {
  /** Peak resident set size of the child, KiB. */
  peakRssKiB: number;
  /** Wall-clock seconds, measured here. */
  seconds: number;
  /** `"time -v"` (exact) or `"/proc VmHWM polling"` (may miss the last milliseconds). */
  method: "time -v" | "/proc VmHWM polling";
  code: number | null;
  stdout: string;
  stderr: string;
}

const GNU_TIME = "/usr/bin/time";

/**
 * Runs `cmd args` and reports its peak resident set size: through GNU time
 * (`/usr/bin/time -v`, Debian package `time`) when installed, which is exact;
 * otherwise by polling /proc/PID/status's VmHWM every 5 ms. `useTime`
 * forces one or the other.
 * @example
 * const { peakRssKiB } = await peakRssOf("node", ["--import", "tsx", "scripts/bench/run.ts"]);
 */
export async function peakRssOf(cmd: string, args: string[] = [], options: { useTime?: boolean } = {}): Promise<PeakRss> {
  const t0 = process.hrtime.bigint();
  if (options.useTime ?? existsSync(GNU_TIME)) {
    const dir = await mkdtemp(join(tmpdir(), "peakrss-"));
    try {
      const out = join(dir, "time.txt");
      const r = await run(GNU_TIME, ["-v", "-o", out, cmd, ...args]);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const report = await readFile(out, "utf8").catch(() => "");
      const m = /Maximum resident set size \(kbytes\):\s*(\d+)/.exec(report);
      if (!m) throw new Error(`${GNU_TIME} -v reported no peak RSS for ${cmd}: ${report.trim() || r.stderr.trim()}`);
      return { peakRssKiB: Number(m[1]), seconds, method: "time -v", code: r.code, stdout: r.stdout, stderr: r.stderr };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let peak = 0;
    const poll = () => {
      try {
        const m = /VmHWM:\s*(\d+)\s*kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
        if (m) peak = Math.max(peak, Number(m[1]));
      } catch {
        // the child has gone
      }
    };
    const timer = setInterval(poll, 5);
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.on("error", (e) => {
      clearInterval(timer);
      reject(e);
    });
    child.on("exit", () => clearInterval(timer));
    child.on("close", (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      resolvePromise({ peakRssKiB: peak, seconds, method: "/proc VmHWM polling", code, stdout, stderr });
    });
    poll();
  });
}

/** The source files of `sources-N` in `dir`, in order. */
export function sourcesOf(dir: string, n: number): string[] {
  const d = join(dir, `sources-${n}`);
  const files = readdirSync(d)
    .filter((f) => f.endsWith(".hdf5"))
    .sort()
    .map((f) => join(d, f));
  if (files.length !== n) throw new Error(`${d} holds ${files.length} source files, expected ${n}: run ensureBenchData`);
  return files;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

async function main(argv: string[]): Promise<void> {
  let dir = BENCH_DIR;
  let sources = [100, 200, 400];
  let runs = 5;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--dir") dir = resolve(argv[++i] ?? ".");
    else if (a === "--runs") runs = Number(argv[++i]);
    else if (a === "--json") json = true;
    else if (a === "--sources") {
      sources = [];
      while (argv[i + 1] !== undefined && /^\d+$/.test(argv[i + 1]!)) sources.push(Number(argv[++i]));
    } else throw new Error(`unknown argument ${a}: usage: baseline.ts [--dir D] [--sources N...] [--runs R] [--json]`);
  }
  checkRuns(runs);
  await ensureBenchData(dir, sources);
  await buildBaselines();
  const iterateFile = join(dir, "iterate.hdf5");
  const report: Record<string, unknown> = { hdf5File: iterateFile, iterateBytes: statSync(iterateFile).size };
  const warm = await runCIterate(iterateFile, runs);
  const plain = await runCIterate(iterateFile, runs, { plain: true });
  const cold = await runCIterate(iterateFile, runs, { cold: true });
  report["iterate"] = { warm, plain, cold };
  const tmp = await mkdtemp(join(dir, "tmp-"));
  try {
    const merges: Record<string, unknown> = {};
    for (const n of sources) {
      const files = sourcesOf(dir, n);
      const sourceBytes = files.reduce((s, f) => s + statSync(f).size, 0);
      const merge = await runCMerge(join(tmp, `merged-${n}.hdf5`), files, Math.min(runs, 3));
      const cat = await runCat(join(tmp, `cat-${n}.bin`), files, Math.min(runs, 3));
      merges[n] = { sourceBytes, merge, cat };
      await rm(join(tmp, `merged-${n}.hdf5`), { force: true });
      await rm(join(tmp, `cat-${n}.bin`), { force: true });
    }
    report["merge"] = merges;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  if (json) {
    console.log(JSON.stringify(report, null, 1));
    return;
  }
  const f = (s: number) => `${s.toFixed(3)} s`;
  console.log(`libhdf5 ${warm.hdf5}; medians of ${runs} runs after a warm-up`);
  console.log(`iterate.hdf5: ${mib(report["iterateBytes"] as number)}, ${warm.origins} origins, ${warm.traces} traces, ${warm.attributes} attributes`);
  console.log(`  C iterate, warm (SWMR read, latest bounds): ${f(warm.seconds)}  [${warm.runs.map((s) => s.toFixed(3)).join(", ")}]`);
  console.log(`  C iterate, warm (plain RDONLY):              ${f(plain.seconds)}`);
  console.log(`  C iterate, page cache dropped first:         ${f(cold.seconds)}`);
  for (const [n, m] of Object.entries(report["merge"] as Record<string, { sourceBytes: number; merge: CMergeResult; cat: CatResult }>)) {
    console.log(`sources-${n}: ${mib(m.sourceBytes)} in ${n} files`);
    console.log(`  C merge (H5Ocopy): ${f(m.merge.seconds)} -> ${mib(m.merge.bytes)}   cat: ${f(m.cat.seconds)}`);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
