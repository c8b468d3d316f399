/**
 * Startup in fresh processes, what a CLI user, a shell loop over files and
 * a CI job get: `cachefile --version`, `cachefile peek` of a 2-trace file
 * and `import("offspect-cachefile")`, each beside bare node (`node -e 0`)
 * in the same run. The commands alternate (node, version, peek, import,
 * node, ...), so a machine that slows down during the run slows all of
 * them alike; figures are medians of wall time, with the median CPU time
 * (user + system, GNU time) beside them. Nothing is carried between runs:
 * every run is a new process on the built package (dist/).
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { median } from "./baseline.js";

const ROOT = resolve(import.meta.dirname, "../..");
const CLI = join(ROOT, "dist", "cli", "main.js");
const ENTRY = pathToFileURL(join(ROOT, "dist", "index.js")).href;
const SMALL = join(ROOT, "test", "fixtures", "offspect", "template_R001.hdf5");
const GNU_TIME = "/usr/bin/time";

export interface StartupRow {
  name: string;
  /** Median wall seconds. */
  seconds: number;
  /** Median CPU seconds (user + system). */
  cpuSeconds: number;
  /** Wall time over bare node's, or beyond it (the import row). */
  ratio: number;
  target: string;
  met: boolean;
}

interface Timed {
  wall: number;
  cpu: number;
}

/** One fresh process: its wall and CPU seconds (GNU time's -f "%e %U %S"). */
function timeOnce(args: string[], scratch: string): Timed {
  const out = join(scratch, "time.txt");
  const t0 = process.hrtime.bigint();
  const r = spawnSync(GNU_TIME, ["-f", "%U %S", "-o", out, process.execPath, ...args], { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`startup bench: node ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  const [user, sys] = readFileSync(out, "utf8").trim().split("\n").at(-1)!.split(" ").map(Number);
  return { wall, cpu: user! + sys! };
}

export function benchStartup(runs: number): StartupRow[] {
  if (!existsSync(CLI)) throw new Error("startup bench: dist/ is not built; run npm run build:dist");
  if (!existsSync(GNU_TIME)) throw new Error("startup bench: needs GNU time (/usr/bin/time; apt-get install time)");
  const commands: Record<string, string[]> = {
    node: ["-e", "0"],
    version: [CLI, "--version"],
    peek: [CLI, "peek", SMALL],
    import: ["--input-type=module", "-e", `await import(${JSON.stringify(ENTRY)})`],
  };
  const scratch = mkdtempSync(join(tmpdir(), "startup-"));
  const times: Record<string, Timed[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  try {
    for (const args of Object.values(commands)) timeOnce(args, scratch); // the page cache warm, as for a user's second command
    const n = Math.max(runs * 4, 15);
    for (let i = 0; i < n; i++) for (const [name, args] of Object.entries(commands)) times[name]!.push(timeOnce(args, scratch));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const wall = (k: string) => median(times[k]!.map((t) => t.wall));
  const cpu = (k: string) => median(times[k]!.map((t) => t.cpu));
  const node = wall("node");
  const row = (name: string, key: string, ratio: number, target: string, met: boolean): StartupRow => ({ name, seconds: wall(key), cpuSeconds: cpu(key), ratio, target, met });
  return [
    row("node -e 0 (the floor)", "node", 1, "", true),
    row("cachefile --version", "version", wall("version") / node, "<= 1.5x node", wall("version") <= 1.5 * node),
    row("cachefile peek (2 traces)", "peek", wall("peek") / node, "<= 2x node", wall("peek") <= 2 * node),
    row('import("offspect-cachefile")', "import", wall("import") - node, "<= 60 ms beyond node", wall("import") - node <= 0.06),
  ];
}
