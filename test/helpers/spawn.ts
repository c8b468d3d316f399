/**
 * Children run to their end with their output collected, stopped only when
 * they hang, where a hang is told apart from a slow machine by the child's
 * own CPU time, never by the wall clock alone:
 *
 * - a child that spins is killed once it has used `cpuLimitS` seconds of
 *   CPU (read from /proc/PID/stat, and RLIMIT_CPU through util-linux's
 *   prlimit as a backstop where /proc cannot be read);
 * - a child that blocks (waits on a lock, a pipe, a sleep) is killed when
 *   its CPU time has not moved for `idleLimitMs` of wall time. On a loaded
 *   machine a running child still gets CPU every few scheduler ticks, so a
 *   minute without any is a hang, not load.
 *
 * `runBatch` runs one child over many inputs (one JSON line per input, the
 * line `{"start": INPUT}` before each) and gives every input its own
 * verdict: an input whose child crashed or hung is reported alone and the
 * inputs after it run in a fresh child, so batching saves the start-up of a
 * child per input without letting one input's crash hide another's.
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";

const PRLIMIT = ["/usr/bin/prlimit", "/bin/prlimit"].find((p) => existsSync(p));
const TICKS = 100; // USER_HZ: clock ticks per second in /proc/PID/stat on Linux

export interface Collected {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Why the watchdog killed it: it spun (`cpu`) or blocked (`idle`); undefined when it ended on its own. */
  hung?: "cpu" | "idle";
  /** Whether the watchdog killed it (a hang). */
  timedOut: boolean;
  /** CPU seconds the child used, as last read. */
  cpuS: number;
}

export interface WatchOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** CPU seconds the child may use (default 120). */
  cpuLimitS?: number;
  /** Wall milliseconds the child may go without using any CPU (default 90 000). */
  idleLimitMs?: number;
  /** Called every quarter second with the child's CPU seconds (a budget finer than the whole child's). */
  onTick?: (cpuS: number, kill: (why: "cpu" | "idle") => void) => void;
  /** Called with each whole line of stdout as it arrives. */
  onLine?: (line: string, child: { cpuS: () => number; kill: (why: "cpu" | "idle") => void }) => void;
  /** RLIMIT_FSIZE in 512-byte blocks (a runaway write ends the child with SIGXFSZ). */
  fileSizeBlocks?: number;
  input?: string;
}

/**
 * CPU seconds (user + system) process `pid` and its descendants have used:
 * its own, its reaped children's (cutime, cstime) and, walked down, its
 * live children's; undefined once it is gone. (A shell running a block of
 * commands uses almost none itself.)
 */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields after the name start at 3 (state); utime is field 14, stime 15, cutime 16, cstime 17.
    let ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      let children = "";
      try {
        children = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8");
      } catch {
        continue;
      }
      for (const c of children.split(" ").filter(Boolean)) ticks += (cpuSeconds(Number(c)) ?? 0) * TICKS;
    }
    return ticks / TICKS;
  } catch {
    return undefined;
  }
}

/** The command line that runs `command args` under RLIMIT_CPU (and RLIMIT_FSIZE), exec'd in place so the child's PID is the program's. */
export function underLimits(command: string, args: string[], cpuLimitS: number, fileSizeBlocks?: number): [string, string[]] {
  const limits = [`--cpu=${Math.ceil(cpuLimitS) + 5}`, ...(fileSizeBlocks !== undefined ? [`--fsize=${fileSizeBlocks * 512}`] : [])];
  return PRLIMIT ? [PRLIMIT, [...limits, command, ...args]] : [command, args];
}

/** Runs `command args` to its end (or until it hangs) and collects its output. */
export function spawnWatched(command: string, args: string[], options: WatchOptions = {}): Promise<Collected> {
  const cpuLimitS = options.cpuLimitS ?? 120;
  const idleLimitMs = options.idleLimitMs ?? 90_000;
  const [cmd, argv] = underLimits(command, args, cpuLimitS, options.fileSizeBlocks);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd: options.cwd, env: options.env ?? process.env, stdio: [options.input !== undefined ? "pipe" : "ignore", "pipe", "pipe"] });
    if (options.input !== undefined) child.stdin!.end(options.input);
    let stdout = "";
    let stderr = "";
    let pending = "";
    let hung: "cpu" | "idle" | undefined;
    let cpu = 0;
    let lastCpu = -1;
    let lastMove = Date.now();
    const kill = (why: "cpu" | "idle") => {
      hung ??= why;
      child.kill("SIGKILL");
    };
    const readCpu = () => {
      const c = child.pid !== undefined ? cpuSeconds(child.pid) : undefined;
      if (c !== undefined) cpu = c;
      return cpu;
    };
    const handle = { cpuS: readCpu, kill };
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      if (!options.onLine) return;
      pending += d;
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line) options.onLine(line, handle);
      }
    });
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const watch = setInterval(() => {
      const c = readCpu();
      if (c > cpuLimitS) return kill("cpu");
      options.onTick?.(c, kill);
      if (c !== lastCpu) {
        lastCpu = c;
        lastMove = Date.now();
      } else if (Date.now() - lastMove > idleLimitMs) kill("idle");
    }, 250);
    child.on("error", (e) => {
      clearInterval(watch);
      reject(e);
    });
    child.on("close", (status, signal) => {
      clearInterval(watch);
      // RLIMIT_CPU's backstop ends the child with SIGXCPU (or SIGKILL at the hard limit).
      if (signal === "SIGXCPU") hung ??= "cpu";
      resolve({ status, signal, stdout, stderr, hung, timedOut: hung !== undefined, cpuS: cpu });
    });
  });
}

/** The old name: a child run to its end, its output collected, killed when it hangs. */
export function spawnCollect(command: string, args: string[], options: WatchOptions & { cwd: string; env: NodeJS.ProcessEnv }): Promise<Collected> {
  return spawnWatched(command, args, options);
}

/** One input's verdict from `runBatch`. */
export interface BatchResult<T> {
  input: string;
  /** The JSON the child printed for this input (without `input`), when it printed one. */
  result?: T;
  /** Set when the child did not give this input a clean answer: the child's end, as run alone. */
  failure?: { status: number | null; signal: NodeJS.Signals | null; hung?: "cpu" | "idle"; stdout: string; stderr: string };
}

/**
 * Runs `command [...args, ...inputs]` over all `inputs`, in as few children
 * as their crashes allow, and returns one verdict per input in order.
 *
 * The child must print `{"start": INPUT}` before working on an input and
 * `{"input": INPUT, ...}` with its answer after, and exit 0. Each input gets
 * `perInputCpuS` CPU seconds (the watchdog measures from its start line). A
 * child that dies, hangs or prints something else stops there: the input it
 * was on is run again alone (so what is reported is that input's own run;
 * should it pass alone, the batch's failure is reported, since then one
 * input's leftovers broke another) and the rest go on in a new child. A
 * hang is not run again: its CPU time is counted from its own start line. A child that answers everything but then
 * exits uncleanly (a crash at exit) has each of its inputs run alone.
 */
export async function runBatch<T>(
  command: string,
  args: string[],
  inputs: string[],
  options: Omit<WatchOptions, "onLine" | "onTick" | "cpuLimitS"> & { perInputCpuS: number; batchSize?: number },
): Promise<BatchResult<T>[]> {
  const results = new Map<string, BatchResult<T>>();
  const alone = async (input: string): Promise<void> => {
    const r = await one(input);
    results.set(input, r);
  };
  const one = async (input: string): Promise<BatchResult<T>> => {
    const r = await spawnWatched(command, [...args, input], { ...options, cpuLimitS: options.perInputCpuS + 5 });
    const line = r.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        try {
          return JSON.parse(l) as { input?: string } & T;
        } catch {
          return undefined;
        }
      })
      .find((l) => l?.input === input);
    const clean = r.status === 0 && r.signal === null && r.hung === undefined && line !== undefined;
    if (clean) {
      const { input: _, ...rest } = line as { input: string } & T;
      return { input, result: rest as T };
    }
    return { input, failure: { status: r.status, signal: r.signal, hung: r.hung, stdout: r.stdout, stderr: r.stderr } };
  };

  const size = options.batchSize ?? 40;
  let queue = [...inputs];
  while (queue.length > 0) {
    const batch = queue.slice(0, size);
    queue = queue.slice(size);
    let current: string | undefined;
    let startedCpu = 0;
    let broken = false;
    const answered = new Map<string, T>();
    const r = await spawnWatched(command, [...args, ...batch], {
      ...options,
      cpuLimitS: options.perInputCpuS * batch.length + 30,
      onTick: (cpu, kill) => {
        if (current !== undefined && cpu - startedCpu > options.perInputCpuS) kill("cpu");
      },
      onLine: (line, child) => {
        let msg: { start?: string; input?: string } & T;
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          broken = true;
          return;
        }
        if (msg.start !== undefined) {
          current = msg.start;
          startedCpu = child.cpuS();
        } else if (msg.input !== undefined) {
          const { input, ...rest } = msg;
          answered.set(input, rest as unknown as T);
          current = undefined;
        }
      },
    });
    const done = batch.filter((i) => answered.has(i));
    const clean = r.status === 0 && r.signal === null && r.hung === undefined && !broken && done.length === batch.length;
    if (clean) {
      for (const i of batch) results.set(i, { input: i, result: answered.get(i)! });
      continue;
    }
    if (done.length === batch.length) {
      // Every input answered, but the child ended badly: find which, one by one.
      for (const i of batch) await alone(i);
      continue;
    }
    // Inputs answered before the break keep their answers; the one it broke on runs alone; the rest go back in the queue.
    const at = current !== undefined ? batch.indexOf(current) : batch.findIndex((i) => !answered.has(i));
    for (const i of batch.slice(0, at)) {
      if (answered.has(i)) results.set(i, { input: i, result: answered.get(i)! });
      else await alone(i);
    }
    const broke = batch[at]!;
    if (r.hung !== undefined && current === broke) {
      // A hang is measured on the input alone already (CPU from its start line, or CPU that stopped): not run again, which would cost the budget twice.
      results.set(broke, { input: broke, failure: { status: r.status, signal: r.signal, hung: r.hung, stdout: r.stdout, stderr: r.stderr } });
      queue = [...batch.slice(at + 1), ...queue];
      continue;
    }
    const solo = await one(broke);
    // Clean alone but not after the inputs before it in one child: state one input left broke the next (a bug too).
    results.set(
      broke,
      solo.failure
        ? solo
        : {
            input: broke,
            failure: {
              status: r.status,
              signal: r.signal,
              hung: r.hung,
              stdout: r.stdout,
              stderr: `ran cleanly alone, but not after ${at} other input(s) in one child (${batch.slice(0, at).join(", ")}):\n${r.stderr}`,
            },
          },
    );
    queue = [...batch.slice(at + 1), ...queue];
  }
  return inputs.map((i) => results.get(i)!);
}
