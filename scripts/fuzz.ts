/**
 * Time-boxed mutation fuzzing of the read paths (open, iterate, peek,
 * validate, async iteration, merge) over real CacheFiles.
 *
 *   node --import tsx scripts/fuzz.ts --seconds 60 [--seed N] [--workers 2]
 *   node --import tsx scripts/fuzz.ts --seed N --case K --dump out.hdf5   (regenerate one input)
 *
 * Every case is a fixture mutated by a few random edits (bit flips, byte
 * runs, "interesting" integers over address-sized fields, truncation, splices
 * of regions of other fixtures), biased towards metadata (everything that is
 * not raw trace data). Cases run in a pool of child processes
 * (test/faults/probe.mjs --serve, on dist/); a child that dies by a signal, exits,
 * prints something that is not JSON, or takes longer than --timeout seconds is
 * a crash: its input is re-run alone in a fresh process (to confirm) and
 * saved to test/faults/regressions/ with its seed and case number, and the
 * child is replaced. Errors that are not specific (not a CacheFileError, or
 * the catch-all EHDF5) are counted as "generic"; a merge that changed a
 * source or left a temporary file behind counts as data lost.
 *
 * Case K of seed N is always the same input: the printed seed replays a run.
 * @module
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { ProbeResult } from "../test/faults/probe.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The probe: plain JS on the built package (dist/: npm run build:dist first). */
const PROBE = join(ROOT, "test", "faults", "probe.mjs");
const FIXTURES = join(ROOT, "test", "fixtures", "offspect");
const CORPUS = join(ROOT, "test", "faults", "corpus");
const PYTHON = "/usr/bin/python3";
const ALL_OPS = ["open", "iterate", "peek", "validate", "async", "merge"];
/**
 * Children run with a file size limit of 256 MiB (ulimit -f, in 512-byte
 * blocks for sh): an input that makes a write run away (a merge copying a
 * dataset that declares terabytes) ends the child with SIGXFSZ, counted as a
 * crash, instead of filling the disk.
 */
const LIMITED = 'ulimit -f 524288 && exec "$@"';
/** Children's TMPDIR (merge targets): inside the run's work directory, removed at the end. */
let childTmp = tmpdir();

// ---------------------------------------------------------------- options

interface Options {
  seconds: number;
  seed: number;
  workers: number;
  timeout: number;
  ops: string[];
  regressions: string;
  genericDir: string;
  json?: string;
  caseIndex?: number;
  dump?: string;
  maxCases: number;
  quiet: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    seconds: 60,
    seed: Math.floor(Math.random() * 2 ** 32),
    workers: 2,
    timeout: 20,
    ops: ["open", "iterate", "peek", "async", "merge"],
    regressions: join(ROOT, "test", "faults", "regressions"),
    genericDir: join(tmpdir(), "ocf-fuzz-generic"),
    maxCases: Infinity,
    quiet: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    const int = (x: string, name: string) => {
      const n = Number(x);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: expected a non-negative integer, got ${x}`);
      return n;
    };
    if (a === "--seconds") o.seconds = Number(v());
    else if (a === "--seed") o.seed = int(v(), "--seed") >>> 0;
    else if (a === "--workers") o.workers = Math.max(1, int(v(), "--workers"));
    else if (a === "--timeout") o.timeout = Number(v());
    else if (a === "--ops") {
      const x = v();
      o.ops = x === "all" ? [...ALL_OPS] : x.split(",");
    }
    else if (a === "--regressions") o.regressions = v();
    else if (a === "--generic-dir") o.genericDir = v();
    else if (a === "--json") o.json = v();
    else if (a === "--case") o.caseIndex = int(v(), "--case");
    else if (a === "--dump") o.dump = v();
    else if (a === "--max-cases") o.maxCases = int(v(), "--max-cases");
    else if (a === "--quiet") o.quiet = true;
    else if (a === "--help" || a === "-h") {
      process.stdout.write(
        "usage: fuzz.ts [--seconds 60] [--seed N] [--workers 2] [--timeout 20] [--ops open,iterate,peek,async,merge|all]\n" +
          "               [--regressions DIR] [--generic-dir DIR] [--json SUMMARY.json] [--max-cases N] [--quiet]\n" +
          "       fuzz.ts --seed N --case K --dump OUT.hdf5\n",
      );
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  for (const op of o.ops) if (!ALL_OPS.includes(op)) throw new Error(`unknown operation ${op}: use ${ALL_OPS.join(", ")}`);
  return o;
}

// ---------------------------------------------------------------- randomness

/** SplitMix32-style hash of (seed, case): every case has its own stream. */
function mix(a: number, b: number): number {
  let h = (a ^ Math.imul(b + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** mulberry32. */
class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ---------------------------------------------------------------- bases

interface Base {
  name: string;
  path: string;
  bytes: Buffer;
  /** Byte ranges [start, end) that hold metadata (not raw trace data). */
  meta: [number, number][];
  metaSize: number;
  /** Offsets of structure signatures (TREE, SNOD, HEAP, GCOL, OHDR, ...). */
  sigs: number[];
  /** A good file to merge with (distinct origins, consistent values), if any. */
  partner?: string;
}

const SIGNATURES = ["\x89HDF", "TREE", "SNOD", "HEAP", "GCOL", "OHDR", "OCHK", "FRHP", "FHDB", "FHIB", "BTHD", "BTIN", "BTLF", "FSHD", "FSSE"];

/** Raw data ranges of every contiguous dataset, from h5py (empty if h5py is not there). */
function rawRanges(paths: string[]): Map<string, [number, number][]> {
  const code = `
import h5py, json, sys
out = {}
for fn in sys.argv[1:]:
    regs = []
    try:
        with h5py.File(fn, "r") as f:
            def visit(name, obj):
                if isinstance(obj, h5py.Dataset):
                    off = obj.id.get_offset()
                    if off is not None:
                        regs.append([off, off + obj.id.get_storage_size()])
            f.visititems(visit)
    except Exception:
        pass
    out[fn] = regs
print(json.dumps(out))`;
  const r = spawnSync(PYTHON, ["-c", code, ...paths], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) return new Map();
  return new Map(Object.entries(JSON.parse(r.stdout) as Record<string, [number, number][]>));
}

function complement(size: number, raw: [number, number][]): [number, number][] {
  const sorted = [...raw].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  let at = 0;
  for (const [s, e] of sorted) {
    if (s > at) out.push([at, Math.min(s, size)]);
    at = Math.max(at, e);
  }
  if (at < size) out.push([at, size]);
  return out.filter(([s, e]) => e > s);
}

const PARTNERS: Record<string, string> = {
  "template_R001.hdf5": "template_R003.hdf5",
  "template_R002.hdf5": "template_R001.hdf5",
  "template_R003.hdf5": "template_R001.hdf5",
};

function loadBases(): Base[] {
  const paths = readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".hdf5"))
    .map((f) => join(FIXTURES, f));
  // Good variants made by the corpus script (other layouts, newer format structures).
  if (existsSync(CORPUS)) {
    for (const f of readdirSync(CORPUS).sort()) if (/^ok_.*\.hdf5$/.test(f) && statSync(join(CORPUS, f)).isFile()) paths.push(join(CORPUS, f));
  }
  paths.sort();
  const raw = rawRanges(paths);
  return paths.map((path) => {
    const bytes = readFileSync(path);
    const meta = complement(bytes.length, raw.get(path) ?? []);
    const sigs: number[] = [];
    for (const s of SIGNATURES) {
      const sig = Buffer.from(s, "latin1");
      for (let at = bytes.indexOf(sig); at >= 0; at = bytes.indexOf(sig, at + 1)) sigs.push(at);
    }
    const partnerName = PARTNERS[basename(path)] ?? (basename(path).startsWith("ok_") ? "template_R003.hdf5" : undefined);
    return {
      name: basename(path),
      path,
      bytes,
      meta,
      metaSize: meta.reduce((n, [s, e]) => n + e - s, 0),
      sigs: sigs.sort((a, b) => a - b),
      ...(partnerName ? { partner: join(FIXTURES, partnerName) } : {}),
    };
  });
}

// ---------------------------------------------------------------- mutations

/** A position, mostly inside metadata, often near a structure's signature. */
function position(rng: Rng, b: Base, size: number): number {
  const r = rng.next();
  if (r < 0.35 && b.sigs.length > 0) {
    const at = rng.pick(b.sigs) + rng.int(64);
    if (at < size) return at;
  }
  if (r < 0.9 && b.metaSize > 0) {
    let k = rng.int(b.metaSize);
    for (const [s, e] of b.meta) {
      if (k < e - s) return Math.min(s + k, size - 1);
      k -= e - s;
    }
  }
  return rng.int(size);
}

const INTERESTING_U64 = [0n, 1n, 0x7fn, 0x80n, 0xffn, 0xffffn, 0x7fffffffn, 0xffffffffn, 0x100000000n, 0x7fffffffffffffffn, 0xffffffffffffffffn, 0xfffffffffffffffen];

function mutate(rng: Rng, base: Base, bases: Base[]): { bytes: Buffer; steps: string[] } {
  let bytes = Buffer.from(base.bytes);
  const steps: string[] = [];
  const n = 1 + (rng.chance(0.5) ? 0 : rng.int(4));
  for (let k = 0; k < n && bytes.length > 0; k++) {
    const kind = rng.int(100);
    if (kind < 30) {
      const bits = 1 + rng.int(4);
      for (let j = 0; j < bits; j++) {
        const at = position(rng, base, bytes.length);
        const bit = rng.int(8);
        bytes[at] = bytes[at]! ^ (1 << bit);
        steps.push(`flip@${at}.${bit}`);
      }
    } else if (kind < 45) {
      const at = position(rng, base, bytes.length);
      const len = Math.min(bytes.length - at, 1 + rng.int(rng.chance(0.7) ? 8 : 256));
      const fill = rng.pick(["zero", "ff", "random"] as const);
      for (let j = 0; j < len; j++) bytes[at + j] = fill === "zero" ? 0 : fill === "ff" ? 0xff : rng.int(256);
      steps.push(`run@${at}+${len}:${fill}`);
    } else if (kind < 65) {
      // An address-, length- or count-sized little-endian field set to an edge value.
      const at = position(rng, base, bytes.length);
      const width = rng.pick([1, 2, 4, 8] as const);
      if (at + width > bytes.length) continue;
      let value = rng.pick(INTERESTING_U64);
      if (rng.chance(0.3)) value = BigInt(bytes.length + rng.int(64) - 32);
      if (rng.chance(0.2)) {
        const old = width === 8 ? bytes.readBigUInt64LE(at) : BigInt(bytes.readUIntLE(at, width));
        value = old + BigInt(rng.pick([-1, 1, 8, -8, 4096]));
      }
      value &= (1n << BigInt(width * 8)) - 1n;
      if (width === 8) bytes.writeBigUInt64LE(value, at);
      else bytes.writeUIntLE(Number(value), at, width);
      steps.push(`int${width * 8}@${at}=${value}`);
    } else if (kind < 78) {
      const cut = rng.chance(0.5) ? position(rng, base, bytes.length) : rng.int(bytes.length);
      bytes = bytes.subarray(0, cut);
      steps.push(`truncate@${cut}`);
    } else if (kind < 92) {
      // Splice a metadata region of another (or the same) fixture over this one.
      const other = rng.pick(bases);
      const from = position(rng, other, other.bytes.length);
      const len = Math.min(1 + rng.int(rng.chance(0.5) ? 64 : 1024), other.bytes.length - from);
      const at = rng.chance(0.6) ? Math.min(from, bytes.length - 1) : position(rng, base, bytes.length);
      const copy = other.bytes.subarray(from, from + Math.min(len, bytes.length - at));
      copy.copy(bytes, at);
      steps.push(`splice@${at}<-${other.name}@${from}+${copy.length}`);
    } else {
      // Duplicate or drop a block inside the file (shifts every later address).
      const at = position(rng, base, bytes.length);
      const len = 1 + rng.int(64);
      if (rng.chance(0.5)) {
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + len))]);
        steps.push(`drop@${at}+${len}`);
      } else {
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at, at + len), bytes.subarray(at)]);
        steps.push(`dup@${at}+${len}`);
      }
    }
  }
  return { bytes, steps };
}

/** The input of case `index` under `seed` (deterministic). */
function makeCase(seed: number, index: number, bases: Base[]): { base: Base; bytes: Buffer; steps: string[] } {
  const rng = new Rng(mix(seed, index));
  // The small fixtures are mutated most often: every run over them is fast.
  const small = bases.filter((b) => b.bytes.length < 100_000);
  const base = rng.chance(0.85) && small.length > 0 ? rng.pick(small) : rng.pick(bases);
  return { base, ...mutate(rng, base, bases) };
}

// ---------------------------------------------------------------- workers

/** One operation's answer, as the probe prints it. */
type Result = ProbeResult;

type Outcome = { kind: "results"; results: Result[] } | { kind: "crash"; why: string; stderr: string };

class Worker {
  #child: ChildProcessWithoutNullStreams;
  #buffer = "";
  #stderr = "";
  #pending: { resolve: (o: Outcome) => void; timer: NodeJS.Timeout } | undefined;
  dead = false;

  constructor() {
    this.#child = spawn("/bin/sh", ["-c", LIMITED, "probe", process.execPath, PROBE, "--serve"], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, TMPDIR: childTmp },
    });
    this.#child.stdout.setEncoding("utf8");
    this.#child.stderr.setEncoding("utf8");
    this.#child.stdout.on("data", (chunk: string) => {
      this.#buffer += chunk;
      let nl;
      while ((nl = this.#buffer.indexOf("\n")) >= 0) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        this.#settle(line);
      }
    });
    this.#child.stderr.on("data", (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
    this.#child.on("exit", (code, signal) => {
      this.dead = true;
      this.#finish({ kind: "crash", why: signal ? `signal ${signal}` : `exit code ${code}`, stderr: this.#stderr });
    });
    this.#child.stdin.on("error", () => undefined);
  }

  #settle(line: string): void {
    let parsed: { results?: Result[] };
    try {
      parsed = JSON.parse(line) as { results?: Result[] };
    } catch {
      this.kill();
      this.#finish({ kind: "crash", why: `non-JSON output: ${line.slice(0, 200)}`, stderr: this.#stderr });
      return;
    }
    if (!Array.isArray(parsed.results)) {
      this.kill();
      this.#finish({ kind: "crash", why: `unexpected output: ${line.slice(0, 200)}`, stderr: this.#stderr });
      return;
    }
    this.#finish({ kind: "results", results: parsed.results });
  }

  #finish(o: Outcome): void {
    const p = this.#pending;
    if (!p) return;
    this.#pending = undefined;
    clearTimeout(p.timer);
    p.resolve(o);
  }

  run(file: string, ops: string[], partner: string | undefined, timeoutMs: number): Promise<Outcome> {
    return new Promise((resolve) => {
      if (this.dead) {
        resolve({ kind: "crash", why: "worker already dead", stderr: this.#stderr });
        return;
      }
      const timer = setTimeout(() => {
        this.kill();
        this.#finish({ kind: "crash", why: `hang: no answer in ${timeoutMs} ms`, stderr: this.#stderr });
      }, timeoutMs);
      this.#pending = { resolve, timer };
      this.#stderr = "";
      this.#child.stdin.write(JSON.stringify({ id: 0, file, ops, ...(partner ? { partner } : {}) }) + "\n");
    });
  }

  kill(): void {
    if (!this.dead) this.#child.kill("SIGKILL");
    this.dead = true;
  }

  close(): void {
    if (!this.dead) this.#child.stdin.end();
  }
}

/** Runs one input alone in a fresh process: does the crash reproduce? */
function replayAlone(file: string, partner: string | undefined, timeoutMs: number): { crashed: boolean; why: string; output: string } {
  const args = [PROBE, file, "all", ...(partner ? ["--partner", partner] : [])];
  const r = spawnSync("/bin/sh", ["-c", LIMITED, "probe", process.execPath, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: timeoutMs,
    killSignal: "SIGKILL",
    env: { ...process.env, TMPDIR: childTmp },
  });
  const lines = (r.stdout ?? "").trim().split("\n").filter(Boolean);
  const allJson = lines.every((l) => {
    try {
      JSON.parse(l);
      return true;
    } catch {
      return false;
    }
  });
  const crashed = r.signal !== null || r.status !== 0 || !allJson || lines.length !== ALL_OPS.length;
  const why = r.error ? String(r.error.message) : r.signal ? `signal ${r.signal}` : r.status !== 0 ? `exit code ${r.status}` : !allJson ? "non-JSON output" : "clean";
  return { crashed, why, output: `${r.stdout ?? ""}${r.stderr ?? ""}`.slice(-4000) };
}

// ---------------------------------------------------------------- main

interface Summary {
  seed: number;
  seconds: number;
  elapsedSeconds: number;
  workers: number;
  ops: string[];
  cases: number;
  operations: number;
  crashes: number;
  hangs: number;
  crashInputs: string[];
  generic: number;
  genericMessages: Record<string, number>;
  dataLost: number;
  outcomes: Record<string, Record<string, number>>;
  bases: Record<string, number>;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const bases = loadBases();
  if (bases.length === 0) throw new Error(`no fixtures in ${FIXTURES}`);

  if (o.caseIndex !== undefined) {
    const c = makeCase(o.seed, o.caseIndex, bases);
    const out = o.dump ?? join(process.cwd(), `fuzz-${o.seed}-${o.caseIndex}.hdf5`);
    writeFileSync(out, c.bytes);
    process.stdout.write(`seed ${o.seed} case ${o.caseIndex}: ${c.base.name} ${c.steps.join(" ")} -> ${out}\n`);
    if (c.base.partner) process.stdout.write(`partner for merge: ${c.base.partner}\n`);
    return;
  }

  process.stdout.write(`fuzz: seed ${o.seed}, ${o.seconds} s, ${o.workers} workers, ops ${o.ops.join(",")}, ${bases.length} base files\n`);
  process.stdout.write(`bases: ${bases.map((b) => `${b.name} (${createHash("sha256").update(b.bytes).digest("hex").slice(0, 8)})`).join(", ")}\n`);
  process.stdout.write(`replay one case (same bases): node --import tsx scripts/fuzz.ts --seed ${o.seed} --case K --dump case.hdf5\n`);
  const work = mkdtempSync(join(tmpdir(), "ocf-fuzz-"));
  childTmp = join(work, "tmp");
  mkdirSync(childTmp);
  mkdirSync(o.genericDir, { recursive: true });
  const summary: Summary = {
    seed: o.seed,
    seconds: o.seconds,
    elapsedSeconds: 0,
    workers: o.workers,
    ops: o.ops,
    cases: 0,
    operations: 0,
    crashes: 0,
    hangs: 0,
    crashInputs: [],
    generic: 0,
    genericMessages: {},
    dataLost: 0,
    outcomes: {},
    bases: {},
  };
  const t0 = Date.now();
  const deadline = t0 + o.seconds * 1000;
  let nextCase = 0;
  let lastReport = t0;
  const savedGeneric = new Set<string>();

  const slot = async (w: number): Promise<void> => {
    let worker = new Worker();
    let served = 0;
    try {
      while (Date.now() < deadline && nextCase < o.maxCases) {
        const index = nextCase++;
        const c = makeCase(o.seed, index, bases);
        const file = join(work, `w${w}-case.hdf5`);
        writeFileSync(file, c.bytes);
        const outcome = await worker.run(file, o.ops, c.base.partner, o.timeout * 1000);
        summary.cases++;
        summary.bases[c.base.name] = (summary.bases[c.base.name] ?? 0) + 1;
        if (outcome.kind === "crash") {
          const hang = outcome.why.startsWith("hang");
          if (hang) summary.hangs++;
          else summary.crashes++;
          const replay = replayAlone(file, c.base.partner, o.timeout * 1000);
          mkdirSync(o.regressions, { recursive: true });
          const name = `crash-seed${o.seed}-case${index}`;
          const saved = join(o.regressions, `${name}.hdf5`);
          writeFileSync(saved, c.bytes);
          writeFileSync(
            join(o.regressions, `${name}.json`),
            JSON.stringify(
              {
                seed: o.seed,
                case: index,
                base: c.base.name,
                partner: c.base.partner ? relative(ROOT, c.base.partner) : null,
                mutations: c.steps,
                sha256: createHash("sha256").update(c.bytes).digest("hex"),
                found: outcome.why,
                workerStderr: outcome.stderr.slice(-2000),
                reproducedAlone: replay.crashed,
                replay: replay.why,
                replayOutput: replay.output.slice(-2000),
                replayCommand: `node test/faults/probe.mjs ${relative(ROOT, saved)} all${c.base.partner ? ` --partner ${relative(ROOT, c.base.partner)}` : ""}`,
              },
              null,
              2,
            ) + "\n",
          );
          summary.crashInputs.push(relative(ROOT, saved));
          process.stdout.write(`\n${hang ? "HANG" : "CRASH"} case ${index} (${c.base.name} ${c.steps.join(" ")}): ${outcome.why}; alone: ${replay.why}; saved ${relative(ROOT, saved)}\n`);
          worker = new Worker();
          served = 0;
          continue;
        }
        for (const r of outcome.results) {
          summary.operations++;
          const key = r.ok ? "ok" : `${r.code ?? r.name}${r.reason && r.reason !== r.code ? `:${r.reason}` : ""}`;
          const perOp = (summary.outcomes[r.op] ??= {});
          perOp[key] = (perOp[key] ?? 0) + 1;
          if (r.sourcesChanged || (r.leftovers?.length ?? 0) > 0) {
            summary.dataLost++;
            const saved = join(o.regressions, `dataloss-seed${o.seed}-case${index}.hdf5`);
            mkdirSync(o.regressions, { recursive: true });
            writeFileSync(saved, c.bytes);
            process.stdout.write(`\nDATA LOST case ${index}: ${JSON.stringify(r)}; saved ${saved}\n`);
          }
          if (!r.ok && r.generic) {
            summary.generic++;
            const msg = (r.message ?? "").replace(/\/[^\s:]*\.hdf5/g, "FILE").replace(/\d+/g, "N").slice(0, 160);
            const k = `${r.op} ${r.name}/${r.code}: ${msg}`;
            summary.genericMessages[k] = (summary.genericMessages[k] ?? 0) + 1;
            if (!savedGeneric.has(k) && savedGeneric.size < 200) {
              savedGeneric.add(k);
              const g = join(o.genericDir, `generic-seed${o.seed}-case${index}`);
              writeFileSync(`${g}.hdf5`, c.bytes);
              writeFileSync(`${g}.json`, JSON.stringify({ seed: o.seed, case: index, base: c.base.name, mutations: c.steps, result: r }, null, 2) + "\n");
            }
          }
        }
        // Fresh workers now and then: a slow leak must not become a false crash.
        if (++served >= 400) {
          worker.close();
          worker = new Worker();
          served = 0;
        }
        if (!o.quiet && Date.now() - lastReport > 5000) {
          lastReport = Date.now();
          const s = (Date.now() - t0) / 1000;
          process.stdout.write(
            `\r${s.toFixed(0)} s: ${summary.cases} cases (${(summary.cases / s).toFixed(1)}/s), ${summary.crashes} crashes, ${summary.hangs} hangs, ${summary.generic} generic, ${summary.dataLost} data lost   `,
          );
        }
      }
    } finally {
      worker.close();
    }
  };
  await Promise.all(Array.from({ length: o.workers }, (_, w) => slot(w)));
  rmSync(work, { recursive: true, force: true });
  summary.elapsedSeconds = Math.round((Date.now() - t0) / 100) / 10;

  process.stdout.write("\n\n");
  process.stdout.write(`seed ${summary.seed}: ${summary.cases} cases (${summary.operations} operations) in ${summary.elapsedSeconds} s\n`);
  process.stdout.write(`crashes: ${summary.crashes}, hangs: ${summary.hangs}, generic errors: ${summary.generic}, data lost: ${summary.dataLost}\n`);
  for (const [op, counts] of Object.entries(summary.outcomes)) {
    const list = Object.entries(counts)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    process.stdout.write(`  ${op}: ${list}\n`);
  }
  if (summary.generic > 0) {
    process.stdout.write(`generic errors (examples saved in ${o.genericDir}):\n`);
    for (const [k, v] of Object.entries(summary.genericMessages).sort((a, b) => b[1] - a[1]).slice(0, 20)) process.stdout.write(`  ${v} x ${k}\n`);
  }
  for (const f of summary.crashInputs) process.stdout.write(`crash input: ${f}\n`);
  if (o.json) writeFileSync(o.json, JSON.stringify(summary, null, 2) + "\n");
  process.exitCode = summary.crashes + summary.hangs + summary.dataLost > 0 ? 1 : 0;
}

await main();
