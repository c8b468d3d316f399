/**
 * Import benchmark: a 30-minute, 5 kHz, 8-channel EMG recording with 600
 * pulses cut into a CacheFile (the target: at most 2 s, peak RSS at
 * most 250 MB whatever the recording's length), as XDF (float32, every
 * sample time-stamped, clock offsets, Localite's marker stream) and as
 * BrainVision (INT_16, multiplexed, "S  1" markers), and the same at 10
 * minutes to show that the memory does not grow with the length.
 *
 * The recordings are written once into os.tmpdir()/offspect-bench-import
 * (about 600 MB, a minute) and kept. Each import runs in a child process,
 * which reports the import's wall time and its peak RSS
 * (VmHWM of /proc/self/status).
 *
 * ```sh
 * node --import tsx scripts/bench/import.ts [--runs 3] [--json]
 * ```
 * or `import { benchImport } from "./import.js"; for (const r of await benchImport()) ...`.
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { importRecordingSync } from "../../src/recordings/import.js";
import { writeBrainVision, XdfWriter } from "../../test/recordings/writers.js";

const DIR = join(tmpdir(), "offspect-bench-import");
const RATE = 5000;
const CHANNELS = 8;
const LABELS = ["EDC_L", "FDI_L", "APB_L", "ADM_L", "EDC_R", "FDI_R", "APB_R", "ADM_R"];
const SELF = fileURLToPath(import.meta.url);
const ROOT = join(SELF, "..", "..", "..");

/** One figure of the benchmark. */
export interface ImportBenchResult {
  name: string;
  format: "xdf" | "brainvision";
  minutes: number;
  /** Size of the recording's files, bytes. */
  bytes: number;
  pulses: number;
  /** Median wall time of the import (open, find pulses, cut, write), seconds. */
  seconds: number;
  runs: number[];
  /** Median CPU time (user + system) of the import, seconds: less sensitive than wall time to other load on the machine. */
  cpuSeconds: number;
  /** Largest peak RSS of the child processes, MB. */
  peakRssMb: number;
  target_seconds: number;
  target_rss_mb: number;
}

/** The pulse samples: 600 over 30 minutes (one every 3 s, a little jitter), scaled to the length. */
function pulseSamples(minutes: number): number[] {
  const n = Math.round((600 * minutes) / 30);
  const step = (minutes * 60 * RATE) / n;
  return Array.from({ length: n }, (_, k) => Math.round(RATE + k * step * 0.999 + ((k * 7919) % 997)));
}

function value(i: number, c: number): number {
  return Math.round(2000 * Math.sin(i / (7 + c)) + 300 * Math.sin(i / 131));
}

function makeXdf(path: string, minutes: number): void {
  const n = minutes * 60 * RATE;
  const pulses = pulseSamples(minutes);
  const tmp = `${path}.partial`;
  const w = new XdfWriter(tmp);
  w.header(1, { name: "EMG", format: "float32", channels: LABELS.map((label) => ({ label, unit: "microvolts" })), srate: RATE });
  w.header(2, { name: "localite_marker", format: "string", channels: 1, srate: 0, type: "Markers" });
  const chunk = 50;
  const per = 9 + 4 * CHANNELS;
  const content = Buffer.alloc(2 + chunk * per);
  let next = 0;
  let lastOffset = -Infinity;
  let seed = 5;
  const jitter = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 4e-5;
  for (let i0 = 0; i0 < n; i0 += chunk) {
    content[0] = 1;
    content[1] = chunk;
    let at = 2;
    for (let i = i0; i < i0 + chunk; i++) {
      content[at] = 8;
      content.writeDoubleLE(1000 + i / RATE + jitter(), at + 1);
      at += 9;
      for (let c = 0; c < CHANNELS; c++, at += 4) content.writeFloatLE(value(i, c), at);
    }
    w.chunk(3, content, 1);
    const t = 1000 + (i0 + chunk) / RATE;
    if (t - lastOffset >= 5) {
      w.clockOffset(1, t, 0.25 + 1e-6 * t);
      w.clockOffset(2, t, 0.25 + 1e-6 * t);
      lastOffset = t;
    }
    while (next < pulses.length && pulses[next]! < i0 + chunk) {
      const ts = 1000 + pulses[next]! / RATE;
      w.samples(2, [ts, ts + 0.01], [[`{"coil_0_didt": ${30 + (next % 7)}}`], [`{"amplitude": ${50 + (next % 11)}, "x": ${-40 + (next % 13)}, "y": ${-20 + (next % 17)}, "z": ${60 + (next % 5)}}`]]);
      next++;
    }
  }
  w.close();
  renameSync(tmp, path);
}

/** Makes (once) and returns the recordings. */
export function ensureImportData(): { name: string; format: "xdf" | "brainvision"; minutes: number; path: string; files: string[] }[] {
  mkdirSync(DIR, { recursive: true });
  const out: { name: string; format: "xdf" | "brainvision"; minutes: number; path: string; files: string[] }[] = [];
  for (const minutes of [10, 30]) {
    const xdf = join(DIR, `emg_${minutes}min.xdf`);
    if (!existsSync(xdf)) makeXdf(xdf, minutes);
    out.push({ name: `xdf ${minutes} min`, format: "xdf", minutes, path: xdf, files: [xdf] });
    const base = join(DIR, `emg_${minutes}min`);
    if (!existsSync(`${base}.vhdr`) || !existsSync(`${base}.eeg`)) {
      const n = minutes * 60 * RATE;
      const data = new Int16Array(n * CHANNELS);
      for (let i = 0; i < n; i++) for (let c = 0; c < CHANNELS; c++) data[i * CHANNELS + c] = value(i, c) / 2;
      writeBrainVision(base, {
        channels: LABELS.map((label) => ({ label, resolution: 0.1, unit: "µV" })),
        rate: RATE,
        data,
        markers: pulseSamples(minutes).map((sample) => ({ type: "Stimulus", description: "S  1", sample })),
      });
    }
    out.push({ name: `brainvision ${minutes} min`, format: "brainvision", minutes, path: `${base}.vhdr`, files: [`${base}.vhdr`, `${base}.vmrk`, `${base}.eeg`] });
  }
  return out;
}

/** The child: one import, then its figures as JSON on stdout. */
function child(path: string, format: string): void {
  const out = join(DIR, `out_${process.pid}.hdf5`);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = importRecordingSync(path, out, { channels: ["EDC_L"], preMs: 100, postMs: 100, ...(format === "brainvision" ? { event: "S  1" } : {}) });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(c0);
  rmSync(out, { force: true });
  process.stdout.write(JSON.stringify({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, traces: r.traces, maxRssKb: peakRssKb() }));
}

/**
 * This process's peak RSS, kB: VmHWM, which starts anew with the program
 * (getrusage's maxRSS does not: Linux keeps it across exec, so a child of a
 * large parent reports at least the parent's size at fork).
 */
function peakRssKb(): number {
  const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
  return hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS;
}

/** Runs the benchmark: `runs` child processes per recording (after one warm-up for the page cache). */
export async function benchImport(runs = 3): Promise<ImportBenchResult[]> {
  const data = ensureImportData();
  const tsx = pathToFileURL(join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;
  const results: ImportBenchResult[] = [];
  for (const d of data) {
    const times: number[] = [];
    const cpus: number[] = [];
    let rss = 0;
    let pulses = 0;
    for (let k = 0; k <= runs; k++) {
      const o = JSON.parse(execFileSync(process.execPath, ["--import", tsx, SELF, "--child", d.path, d.format], { encoding: "utf8", maxBuffer: 1 << 20 })) as { seconds: number; cpuSeconds: number; traces: number; maxRssKb: number };
      pulses = o.traces;
      if (k > 0) {
        times.push(o.seconds);
        cpus.push(o.cpuSeconds);
      }
      rss = Math.max(rss, o.maxRssKb / 1024);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const cpuSorted = [...cpus].sort((a, b) => a - b);
    results.push({
      name: d.name,
      format: d.format,
      minutes: d.minutes,
      bytes: d.files.reduce((n, f) => n + statSync(f).size, 0),
      pulses,
      seconds: sorted[Math.floor(sorted.length / 2)]!,
      runs: times,
      cpuSeconds: cpuSorted[Math.floor(cpuSorted.length / 2)]!,
      peakRssMb: Math.round(rss),
      target_seconds: 2,
      target_rss_mb: 250,
    });
  }
  return results;
}

if (process.argv[1] === SELF) {
  const args = process.argv.slice(2);
  if (args[0] === "--child") child(args[1]!, args[2]!);
  else {
    const ri = args.indexOf("--runs");
    const results = await benchImport(ri >= 0 ? Number(args[ri + 1]) : 3);
    if (args.includes("--json")) console.log(JSON.stringify(results, null, 2));
    else
      for (const r of results) {
        console.log(`${r.name.padEnd(20)} ${(r.bytes / 2 ** 20).toFixed(0).padStart(5)} MiB, ${r.pulses} pulses: ${r.seconds.toFixed(2)} s, CPU ${r.cpuSeconds.toFixed(2)} s (target ${r.target_seconds} s), peak RSS ${r.peakRssMb} MB (target ${r.target_rss_mb} MB)`);
      }
  }
}
