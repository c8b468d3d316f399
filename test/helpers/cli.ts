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

/** Runs `cachefile ARGS` to its end. */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): CliRun {
  const [cmd, argv] = limited([CLI, ...args]);
  const r = spawnSync(cmd, argv, {
    cwd: options.cwd ?? ROOT,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    ...(options.env ? { env: options.env } : {}),
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}
