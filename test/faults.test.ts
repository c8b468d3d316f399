/**
 * Malformed inputs: every case of test/faults/corpus (made by
 * test/faults/make_corpus.py) and every input the fuzzer ever crashed on
 * (test/faults/regressions) runs in its own child process through every
 * operation of test/faults/probe.mts. The child must exit on its own (no
 * signal, no timeout), print one JSON line per operation, and each outcome
 * must be the specific one expected: never the generic EHDF5, never a crash.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "./helpers/fixtures.js";
import { spawnCollect } from "./helpers/spawn.js";
import type { ProbeResult } from "./faults/probe.mjs";

const FAULTS = join(ROOT, "test", "faults");
const CORPUS = join(FAULTS, "corpus");
const REGRESSIONS = join(FAULTS, "regressions");
const PROBE = join(FAULTS, "probe.mts");
const TIMEOUT_MS = 20_000;
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

/** Runs the probe on one file in a child process, with a hard timeout. */
async function probe(file: string, partner?: string): Promise<Run> {
  const args = ["--import", "tsx", PROBE, file, "all", ...(partner ? ["--partner", partner] : [])];
  // A file size limit (256 MiB): a runaway write ends the child (SIGXFSZ), never fills the disk.
  const r = await spawnCollect("/bin/sh", ["-c", 'ulimit -f 524288 && exec "$@"', "probe", process.execPath, ...args], {
    cwd: ROOT,
    env: { ...process.env, TMPDIR: CHILD_TMP },
    timeoutMs: TIMEOUT_MS,
  });
  const lines: Line[] = [];
  for (const l of r.stdout.split("\n").filter(Boolean)) {
    try {
      lines.push(JSON.parse(l) as Line);
    } catch {
      lines.push({ op: "?", ok: false, name: "NonJsonOutput", message: l });
    }
  }
  return { code: r.status, signal: r.signal, timedOut: r.timedOut, lines, raw: r.stdout, stderr: r.stderr };
}

function outcome(l: Line): string {
  if (l.ok) return "ok";
  const reason = l.code === "ELAYOUT" && l.reason ? `:${l.reason}` : "";
  return `${l.name}/${l.code}${reason}`;
}

/** The checks every run must pass: a clean exit and one JSON line per operation. */
function expectCleanExit(run: Run, ops: string[], what: string, known: Record<string, string> = {}): void {
  const detail = `${what}\nstdout: ${run.raw}\nstderr: ${run.stderr.slice(-2000)}`;
  expect(run.timedOut, `hang: ${detail}`).toBe(false);
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

  // Two children at a time: each is an independent Node process.
  describe.concurrent.each(corpus.cases)("$file", (c) => {
    it(`${c.why}: ${[...new Set(Object.values(c.expect))].join(", ")}`, async () => {
      const run = await probe(join(CORPUS, c.file), partner);
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
  describe.concurrent.each(all)("$file", (r) => {
    it(regressionName(r), async () => {
      const run = await probe(r.file, r.partner);
      expectCleanExit(run, corpus.operations, `${r.file} ${JSON.stringify(r.meta["mutations"] ?? "")}`);
    });
  });
});
