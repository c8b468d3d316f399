/**
 * Malformed inputs: every case of test/faults/corpus (made by
 * test/faults/make_corpus.py) and every input the fuzzer ever crashed on
 * (test/faults/regressions) runs through every operation of
 * test/faults/probe.mjs in a child process (plain node on dist/), many
 * inputs to a child; an input whose child crashes or hangs is run again
 * alone and judged by that run (test/helpers/spawn.ts's runBatch). The
 * child must exit on its own (no signal, no hang: a hang is measured in CPU
 * time, or CPU time that stops moving, never in wall time), print one
 * answer per operation, and each outcome must be the specific one
 * expected: never the generic EHDF5, never a crash.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./helpers/fixtures.js";
import { runBatch } from "./helpers/spawn.js";
import type { ProbeResult } from "./faults/probe.mjs";

const FAULTS = join(ROOT, "test", "faults");
const CORPUS = join(FAULTS, "corpus");
const REGRESSIONS = join(FAULTS, "regressions");
const PROBE = join(FAULTS, "probe.mjs");
/** CPU seconds all operations on one input may use: more is a hang (they take well under one). */
const CPU_PER_INPUT_S = 20;
// The children's TMPDIR (merge targets), removed at the end even after a killed child.
const CHILD_TMP = mkdtempSync(join(tmpdir(), "ocf-faults-"));
afterAll(() => rmSync(CHILD_TMP, { recursive: true, force: true }));

interface Case {
  file: string;
  why: string;
  expect: Record<string, string>;
  /** Operations whose outcome is a known, reported bug (still: no crash allowed). */
  known?: Record<string, string>;
}
interface Corpus {
  partner: string;
  operations: string[];
  cases: Case[];
}
/** One line the probe printed: an operation's answer, or (op "?") output that was not JSON. */
type Line = Omit<ProbeResult, "op"> & { op: string };

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  lines: Line[];
  raw: string;
  stderr: string;
}

/** Every input's run, by file, once the batches have run (beforeAll). */
const runs = new Map<string, Run>();

/** Runs the probe on `files` (all with the same partner), several to a child, into `runs`. */
async function probeAll(files: string[], partner?: string): Promise<void> {
  const results = await runBatch<{ lines: Line[] }>(process.execPath, [PROBE, "--batch", ...(partner ? ["--partner", partner] : [])], files, {
    cwd: ROOT,
    env: { ...process.env, TMPDIR: CHILD_TMP },
    perInputCpuS: CPU_PER_INPUT_S,
    // A file size limit (256 MiB): a runaway write ends the child (SIGXFSZ), never fills the disk.
    fileSizeBlocks: 524288,
  });
  for (const r of results) {
    if (r.result) {
      const raw = JSON.stringify(r.result.lines);
      runs.set(r.input, { code: 0, signal: null, timedOut: false, lines: r.result.lines, raw, stderr: "" });
      continue;
    }
    const f = r.failure!;
    const lines: Line[] = [];
    for (const l of f.stdout.split("\n").filter(Boolean)) {
      try {
        const msg = JSON.parse(l) as { start?: string; lines?: Line[] };
        if (msg.lines) lines.push(...msg.lines);
      } catch {
        lines.push({ op: "?", ok: false, name: "NonJsonOutput", message: l });
      }
    }
    runs.set(r.input, { code: f.status, signal: f.signal, timedOut: f.hung !== undefined, lines, raw: f.stdout, stderr: f.stderr });
  }
}

function probe(file: string): Run {
  const run = runs.get(file);
  if (!run) throw new Error(`${file}: not probed`);
  return run;
}

function outcome(l: Line): string {
  if (l.ok) return "ok";
  const reason = l.code === "ELAYOUT" && l.reason ? `:${l.reason}` : "";
  return `${l.name}/${l.code}${reason}`;
}

/** The checks every run must pass: a clean exit and one JSON line per operation. */
function expectCleanExit(run: Run, ops: string[], what: string, known: Record<string, string> = {}): void {
  const detail = `${what}\nstdout: ${run.raw}\nstderr: ${run.stderr.slice(-2000)}`;
  expect(run.timedOut, `hang (more than ${CPU_PER_INPUT_S} s of CPU, or no CPU used for a long time): ${detail}`).toBe(false);
  expect(run.signal, `killed by a signal: ${detail}`).toBeNull();
  expect(run.code, `exit code: ${detail}`).toBe(0);
  expect(
    run.lines.map((l) => l.op),
    detail,
  ).toEqual(ops);
  for (const l of run.lines) {
    if (l.op in known) continue;
    expect(l.generic ?? false, `${l.op} gave a generic error: ${JSON.stringify(l)}`).toBe(false);
    if (l.op === "merge") {
      expect(l.sourcesChanged, `merge changed a source: ${JSON.stringify(l)}`).toBe(false);
      expect(l.leftovers, `merge left a temporary file: ${JSON.stringify(l)}`).toEqual([]);
    }
  }
}

const corpus = JSON.parse(readFileSync(join(CORPUS, "cases.json"), "utf8")) as Corpus;
const partner = join(ROOT, corpus.partner);

beforeAll(async () => {
  await probeAll(corpus.cases.map((c) => join(CORPUS, c.file)), partner);
  const all = regressions();
  for (const p of new Set(all.map((r) => r.partner))) await probeAll(all.filter((r) => r.partner === p).map((r) => r.file), p);
});

describe("the corpus of malformed inputs", () => {
  it("is complete: every file listed exists and every file is listed", () => {
    const listed = corpus.cases.map((c) => c.file).sort();
    const present = readdirSync(CORPUS)
      .filter((f) => f.endsWith(".hdf5"))
      .sort();
    expect(present).toEqual(listed);
    expect(listed.length).toBeGreaterThanOrEqual(60);
    for (const c of corpus.cases) expect(Object.keys(c.expect).sort()).toEqual([...corpus.operations].sort());
  });

  describe.each(corpus.cases)("$file", (c) => {
    it(`${c.why}: ${[...new Set(Object.values(c.expect))].join(", ")}`, () => {
      const run = probe(join(CORPUS, c.file));
      const known = c.known ?? {};
      expectCleanExit(run, corpus.operations, c.file, known);
      const got = Object.fromEntries(run.lines.filter((l) => !(l.op in known)).map((l) => [l.op, outcome(l)]));
      const want = Object.fromEntries(Object.entries(c.expect).filter(([op]) => !(op in known)));
      expect(got, JSON.stringify(run.lines.filter((l) => !l.ok).map((l) => `${l.op}: ${l.message}`), null, 1)).toEqual(want);
      // Every error says what to do.
      for (const l of run.lines) if (!l.ok && !(l.op in known)) expect(l.message ?? "", l.op).toMatch(/: [^:]+$/);
    });
  });

  for (const c of corpus.cases) for (const [op, issue] of Object.entries(c.known ?? {})) it.todo(`${c.file} ${op}: ${c.expect[op]} (known: ${issue})`);
});

interface Regression {
  file: string;
  partner?: string;
  meta: Record<string, unknown>;
}

function regressions(): Regression[] {
  if (!existsSync(REGRESSIONS)) return [];
  return readdirSync(REGRESSIONS)
    .filter((f) => f.endsWith(".hdf5"))
    .sort()
    .map((f) => {
      const metaPath = join(REGRESSIONS, f.replace(/\.hdf5$/, ".json"));
      const meta = existsSync(metaPath) ? (JSON.parse(readFileSync(metaPath, "utf8")) as Record<string, unknown>) : {};
      const p = typeof meta["partner"] === "string" ? join(ROOT, meta["partner"]) : undefined;
      return { file: join(REGRESSIONS, f), ...(p ? { partner: p } : {}), meta };
    });
}

/**
 * A regression case's test name, from its JSON: the input (its file, the
 * fixture it was made from and the mutations), what it once did (the crash
 * or hang the fuzzer recorded, and where, from the diagnosis), and what it
 * must do now.
 */
function regressionName(r: Regression): string {
  const m = r.meta;
  const mutations = Array.isArray(m["mutations"]) ? (m["mutations"] as unknown[]).map(String).join(" ") : "";
  const input = `${basename(r.file)} (${String(m["base"] ?? "unknown base")}${mutations ? `, ${mutations}` : ""})`;
  const found = String(m["found"] ?? "");
  const once = found.startsWith("signal ") ? `crashed with ${found.slice("signal ".length)}` : found.startsWith("hang") ? `hung (${found.replace(/^hang: /, "")})` : found ? `gave ${found}` : "failed";
  // Where, when the diagnosis names libhdf5's function: "SIGSEGV in H5HG_read via H5Ocopy (merge): ..." gives "in H5HG_read via H5Ocopy (merge)".
  const clause = String(m["diagnosis"] ?? "").split(/: |\. |; /)[0]!;
  const at = clause.search(/\bH5[A-Za-z]*_/);
  // An aside the split cut off ("H5A__close (peek: origin attributes)") goes.
  const where = at >= 0 ? ` in ${clause.slice(at).replace(/ \([^)]*$/, "")}` : "";
  return `${input} once ${once}${where}: now every operation exits cleanly with a specific error`;
}

describe("inputs the fuzzer crashed on (test/faults/regressions)", () => {
  const all = regressions();
  it("are kept", () => {
    expect(all.length).toBeGreaterThan(0);
  });
  describe.each(all)("$file", (r) => {
    it(regressionName(r), () => {
      const run = probe(r.file);
      expectCleanExit(run, corpus.operations, `${r.file} ${JSON.stringify(r.meta["mutations"] ?? "")}`);
    });
  });
});
