/**
 * The command line as a user runs it: the built package (dist/, which the
 * tests' global set-up builds) under plain node, in a child process. A
 * child that spins is stopped by its CPU time (RLIMIT_CPU through util-linux's
 * prlimit), never by the wall clock, so that a slow, loaded machine does not
 * fail a test.
 * @module
 */
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./fixtures.js";

/** The built `cachefile` executable. */
export const CLI = join(ROOT, "dist", "cli", "main.js");

/** CPU seconds a child may use (a hang that spins uses them; a slow machine does not). */
export const CPU_LIMIT_S = 120;

/** Wall milliseconds after which a child is taken for blocked (no machine is that slow: 20 minutes). */
export const BLOCKED_LIMIT_MS = 1_200_000;

const PRLIMIT = ["/usr/bin/prlimit", "/bin/prlimit"].find((p) => existsSync(p));

export interface CliRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The command line and arguments that run `args` with node, its CPU time limited. */
export function limited(args: string[]): [string, string[]] {
  return PRLIMIT ? [PRLIMIT, [`--cpu=${CPU_LIMIT_S}`, process.execPath, ...args]] : [process.execPath, args];
}

/** Options of a child run to its end (runNode, runCli). */
export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  uid?: number;
  gid?: number;
}

/** Runs `node ARGS` (a script of the built package's tests, plain node) to its end, its CPU time limited. */
export function runNode(args: string[], options: RunOptions = {}): CliRun {
  const [cmd, argv] = limited(args);
  const r = spawnSync(cmd, argv, {
    cwd: options.cwd ?? ROOT,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    // A child blocked without using CPU (a lock never released) would hold the test's worker for good (spawnSync blocks
    // its event loop, so vitest's own limit cannot fire): a backstop, long enough that only a hang reaches it.
    timeout: BLOCKED_LIMIT_MS,
    killSignal: "SIGKILL",
    ...(options.env ? { env: options.env } : {}),
    ...(options.input !== undefined ? { input: options.input } : {}),
    ...(options.uid !== undefined ? { uid: options.uid } : {}),
    ...(options.gid !== undefined ? { gid: options.gid } : {}),
  });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `cachefile ARGS` to its end. */
export function runCli(args: string[], options: RunOptions = {}): CliRun {
  return runNode([CLI, ...args], options);
}

/** `cachefile` run in `cwd`: the `cli(...args)` of the tests that work in a directory of their own. */
export function cliIn(cwd: string | (() => string)): (...args: string[]) => CliRun {
  return (...args) => runCli(args, { cwd: typeof cwd === "string" ? cwd : cwd() });
}
