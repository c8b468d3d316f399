/**
 * Map benchmark: 10,000 points from values to a PNG file, one view and
 * `ortho`, the median of several runs in this process after three warm-up
 * runs (which let V8 optimise the loops) that are not counted.
 *
 * The points: a dense motor map, 10,000 coil positions spread uniformly over
 * a 50 x 80 x 50 mm patch of the left hemisphere (x -65..-15, y -60..20,
 * z 30..80 mm; map_session.hdf5 spans 37 x 40 x 45 mm), values 0..1000 µV.
 * `wholeBrain` adds the worst case, 10,000 points spread over the whole
 * brain (x -70..70, y -103..67, z -42..78 mm), where the smoothed volume
 * fills the whole grid.
 *
 * Run directly to print the figures:
 * ```sh
 * node --import tsx scripts/bench/map.ts [--runs 7] [--json]
 * ```
 * or import it:
 * ```ts
 * import { benchMap } from "./map.js";
 * for (const r of await benchMap()) console.log(r.name, r.ms, r.target_ms);
 * ```
 * @module
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { plotGlass, type DisplayMode } from "../../src/map/index.js";

/** One figure of the benchmark. */
export interface MapBenchResult {
  name: string;
  /** Median wall time of one run, ms. */
  ms: number;
  /** The target, ms. */
  target_ms: number;
  /** Median CPU time of this process (user + system) per run, ms: less sensitive than wall time to other load on the machine. */
  cpu_ms: number;
}

function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

/** `n` points uniform in a box of MNI mm, values uniform in 0..1000. */
export function benchPoints(n: number, box: [[number, number], [number, number], [number, number]], seed = 1): { coords: number[][]; values: number[] } {
  const R = rng(seed);
  const coords: number[][] = [];
  const values: number[] = [];
  for (let t = 0; t < n; t++) {
    coords.push(box.map(([lo, hi]) => lo + R() * (hi - lo)));
    values.push(R() * 1000);
  }
  return { coords, values };
}

const MOTOR: [[number, number], [number, number], [number, number]] = [[-65, -15], [-60, 20], [30, 80]];
const WHOLE: [[number, number], [number, number], [number, number]] = [[-70, 70], [-103, 67], [-42, 78]];

async function median(runs: number, fn: () => Promise<void>): Promise<{ wall: number; cpu: number }> {
  for (let w = 0; w < 3; w++) await fn(); // warm-up (the JIT), not counted
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { wall: mid(wall), cpu: mid(cpu) };
}

/**
 * Times `plotGlass` + `savefig` for 10,000 points: one view (`z`, target
 * 300 ms) and `ortho` (target 600 ms); with `wholeBrain`, also the worst
 * case of points over the whole brain (same targets, for comparison).
 */
export async function benchMap(options: { runs?: number; wholeBrain?: boolean } = {}): Promise<MapBenchResult[]> {
  const runs = options.runs ?? 7;
  const dir = await mkdtemp(join(tmpdir(), "ocf-bench-map-"));
  const out: MapBenchResult[] = [];
  try {
    const sets: [string, ReturnType<typeof benchPoints>][] = [["10,000-point motor map", benchPoints(10_000, MOTOR)]];
    if (options.wholeBrain) sets.push(["10,000 points over the whole brain (worst case)", benchPoints(10_000, WHOLE, 2)]);
    for (const [label, { coords, values }] of sets) {
      for (const [mode, target] of [["z", 300], ["ortho", 600]] as [DisplayMode, number][]) {
        const file = join(dir, `map-${mode}.png`);
        const { wall, cpu } = await median(runs, async () => {
          const fig = await plotGlass(coords, values, { displayMode: mode, title: "benchmark" });
          await fig.savefig(file);
        });
        out.push({ name: `map: ${label}, ${mode === "z" ? "one view (z)" : "ortho (x, y, z)"}, values to PNG file`, ms: Math.round(wall * 10) / 10, target_ms: target, cpu_ms: Math.round(cpu * 10) / 10 });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--runs");
  const runs = at >= 0 ? Number(args[at + 1]) : 7;
  const results = await benchMap({ runs, wholeBrain: true });
  if (args.includes("--json")) console.log(JSON.stringify(results, null, 2));
  else for (const r of results) console.log(`${r.ms.toFixed(1).padStart(7)} ms wall ${r.cpu_ms.toFixed(1).padStart(7)} ms CPU  (target ${r.target_ms} ms)  ${r.name}`);
}
