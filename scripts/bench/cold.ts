/**
 * Cold figures: each run a FRESH process, timed from its start to its exit
 * (module loading and all), beside its floor run in the same loop,
 * alternating, so that a change in the machine's load touches both alike.
 *
 * - merge: `node dist/cli/main.js merge -t T -f SOURCES...` (the CLI as
 *   built, with its default fsync of the new file) against `cat SOURCES >
 *   X && sync X` (the bytes copied and fsync'ed). The target is removed
 *   between runs, outside the timing.
 * - iterate: `node scripts/bench/cold-iterate.mjs FILE` (the built package
 *   loaded, the file opened, every trace's data and attributes read) against
 *   the C program on libhdf5 (scripts/bench/c/iterate.c). Besides the whole
 *   process, each reports open + reads as it times them itself (the C
 *   program from H5Fopen to H5Fclose), and the Node process the module
 *   loading and the open apart.
 *
 * Each figure is the median of `runs` runs after one warm-up pair (the files
 * are then in the page cache: "cold" is the process, not the disk). CPU
 * times (user + system, of the process and its threads) come from GNU time
 * when installed (`/usr/bin/time`), else they are not reported.
 *
 * Needs `npm run build:dist` (dist/) and the C baselines (buildBaselines).
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { BIN_DIR, median } from "./baseline.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");
const CLI = join(ROOT, "dist/cli/main.js");
const ITERATE_CHILD = join(HERE, "cold-iterate.mjs");
const GNU_TIME = "/usr/bin/time";

/** One fresh process: wall seconds from spawn to exit, CPU seconds when GNU time is there, its stdout. */
interface ProcessRun {
  wall: number;
  user?: number;
  sys?: number;
  stdout: string;
}

/** Medians of fresh-process runs. */
export interface ColdTiming {
  /** Median wall seconds of the whole process. */
  seconds: number;
  runs: number[];
  /** Median user and system CPU seconds, when measured. */
  user?: number;
  sys?: number;
}

async function runProcess(cmd: string, args: string[], timeFile: string): Promise<ProcessRun> {
  const timed = existsSync(GNU_TIME);
  const [c, a] = timed ? [GNU_TIME, ["-f", "%U %S", "-o", timeFile, cmd, ...args]] : [cmd, args];
  const t0 = process.hrtime.bigint();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((res, rej) => {
    const child = spawn(c, a, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
    child.on("error", rej);
    child.on("close", (code) => res({ code, stdout: out, stderr: err }));
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (code !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(" ")} ... failed (${code}): ${stderr.trim().split("\n").slice(-3).join("\n")}`);
  if (!timed) return { wall, stdout };
  const [user, sys] = readFileSync(timeFile, "utf8").trim().split(/\s+/).slice(-2).map(Number);
  return { wall, user: user!, sys: sys!, stdout };
}

function timing(runs: ProcessRun[]): ColdTiming {
  const walls = runs.map((r) => r.wall);
  const out: ColdTiming = { seconds: median(walls), runs: walls };
  if (runs.every((r) => r.user !== undefined)) {
    out.user = median(runs.map((r) => r.user!));
    out.sys = median(runs.map((r) => r.sys!));
  }
  return out;
}

function needDist(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build:dist first`);
}

export interface ColdMergeBench {
  sources: number;
  /** Fresh `cachefile merge` processes (fsync on). */
  merge: ColdTiming;
  /** `cat` + `sync FILE` of the same sources, in the same loop. */
  catFsync: ColdTiming;
}

/**
 * Times fresh `cachefile merge` processes of `sources` against `cat` +
 * fsync of them, alternating; one warm-up pair first.
 * @example
 * const r = await benchColdMerge(sourcesOf(BENCH_DIR, 200), 5);
 * console.log(r.merge.seconds / r.catFsync.seconds);
 */
export async function benchColdMerge(sources: string[], runs = 5, workDir: string = tmpdir()): Promise<ColdMergeBench> {
  needDist();
  const work = await mkdtemp(join(workDir, "tmp-cold-merge-"));
  try {
    const target = join(work, "merged.hdf5");
    const catTarget = join(work, "cat.bin");
    const timeFile = join(work, "time.txt");
    const merges: ProcessRun[] = [];
    const cats: ProcessRun[] = [];
    for (let i = 0; i <= runs; i++) {
      rmSync(target, { force: true });
      rmSync(catTarget, { force: true });
      const m = await runProcess(process.execPath, [CLI, "merge", "-t", target, "-f", ...sources], timeFile);
      rmSync(target, { force: true });
      const c = await runProcess("sh", ["-c", 'out="$1"; shift; cat "$@" > "$out" && sync "$out"', "sh", catTarget, ...sources], timeFile);
      if (i > 0) {
        merges.push(m);
        cats.push(c);
      }
    }
    return { sources: sources.length, merge: timing(merges), catFsync: timing(cats) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export interface ColdIterateBench {
  /** Fresh Node processes: the whole process, and what it timed itself (medians, seconds). */
  node: ColdTiming & { load: number; open: number; openRead: number };
  /** Fresh C processes: the whole process, and H5Fopen to H5Fclose as it times itself. */
  c: ColdTiming & { openRead: number };
}

/**
 * Times fresh processes opening `file` and reading every trace (the built
 * package, and the C program on libhdf5), alternating; one warm-up pair first.
 * @example
 * const r = await benchColdIterate(join(BENCH_DIR, "iterate.hdf5"), 5);
 * console.log(r.node.seconds / r.c.seconds, r.node.open);
 */
export async function benchColdIterate(file: string, runs = 5): Promise<ColdIterateBench> {
  needDist();
  const bin = join(BIN_DIR, "iterate");
  if (!existsSync(bin)) throw new Error(`${bin} is missing: buildBaselines() first`);
  const work = await mkdtemp(join(tmpdir(), "cold-iterate-"));
  try {
    const timeFile = join(work, "time.txt");
    const node: ProcessRun[] = [];
    const c: ProcessRun[] = [];
    for (let i = 0; i <= runs; i++) {
      const n = await runProcess(process.execPath, [ITERATE_CHILD, file], timeFile);
      const x = await runProcess(bin, [file], timeFile);
      if (i > 0) {
        node.push(n);
        c.push(x);
      }
    }
    const last = (r: ProcessRun) => JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, number>;
    const nodeLines = node.map(last);
    const cLines = c.map(last);
    return {
      node: {
        ...timing(node),
        load: median(nodeLines.map((l) => l["load"]!)),
        open: median(nodeLines.map((l) => l["open"]!)),
        openRead: median(nodeLines.map((l) => l["seconds"]!)),
      },
      c: { ...timing(c), openRead: median(cLines.map((l) => l["seconds"]!)) },
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** "1.234 s (cpu 0.900 + 0.300 s)" */
export function coldFigure(t: ColdTiming): string {
  return `${t.seconds.toFixed(3)} s${t.user !== undefined ? ` (cpu ${t.user.toFixed(2)} user + ${t.sys!.toFixed(2)} sys)` : ""}`;
}
