/**
 * Work on several files at once: a pool of lanes, each a child process
 * running the built worker module (dist/base/poolWorker.js) under plain
 * node, plus, where the caller gives one, the calling process itself. A
 * lane runs functions of handler modules on request and answers with
 * their results; tasks go out in order, each to the next free lane.
 *
 * Processes, not worker_threads, for two reasons:
 * - Debian's libhdf5 is the thread-safe build (`Threadsafety: yes` in
 *   /usr/lib/x86_64-linux-gnu/hdf5/serial/libhdf5.settings), which takes one
 *   global lock around every libhdf5 call: threads reading files would wait
 *   for each other inside libhdf5; processes each have their own library.
 * - The native addon keeps one registry of open files per process, and its
 *   clean-up hook closes every one of them when an environment ends: a
 *   worker thread ending would close the other threads' files.
 *
 * What a process costs, measured on `annotate` of 500-trace files (2
 * cores): about 0.6 s of CPU once (node's start 0.1 s, loading the
 * annotate code 0.13 s, the JIT warming up on the first file about 0.35 s),
 * against about 0.1 s per file after that. So a pool starts its processes
 * once per batch, not per file, and the calling process, already warm and
 * loaded, is one of the lanes (`--jobs 2`: this process and one worker).
 *
 * A process that is killed or crashes fails the request under way (an
 * Error naming its exit). Errors thrown by a handler come back as the same
 * classes (`CacheFileError` and its subclasses by name, TypeError,
 * RangeError), with their code, file and message.
 *
 * The workers ignore SIGINT and SIGTERM: a Ctrl-C reaches the whole
 * process group, and it is the parent that decides what stops (see
 * {@link ProcessPool.kill}); a worker whose parent goes away exits.
 * @internal
 * @module
 */
import { fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as baseErrors from "./errors.js";
import { CacheFileError } from "./errors.js";

/** The number of processes `concurrency: undefined` means: the machine's cores. */
export function defaultConcurrency(): number {
  return Math.max(1, availableParallelism());
}

/** Checks a `concurrency` option: a positive integer, or undefined for {@link defaultConcurrency}. */
export function resolveConcurrency(concurrency: unknown, what = "concurrency"): number {
  if (concurrency === undefined) return defaultConcurrency();
  if (typeof concurrency !== "number" || !Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`expected a positive integer for ${what}, got ${typeof concurrency === "number" ? concurrency : typeof concurrency}`);
  }
  return concurrency;
}

const HERE = dirname(fileURLToPath(import.meta.url));
/** The package's root: this module is src/base/pool.ts or dist/base/pool.js. */
const ROOT = join(HERE, "..", "..");

/**
 * The built form of a module of this package (`dist/...js`), also when the
 * caller runs the TypeScript sources (tests, tsx): the workers run plain
 * node on the built package.
 */
export function builtModule(url: string | URL): string {
  const file = fileURLToPath(url);
  const rel = relative(ROOT, file);
  const built = rel.startsWith(`src/`) ? join(ROOT, "dist", rel.slice(4).replace(/\.ts$/, ".js")) : file;
  return built;
}

/** The workers' entry: the built one, also when this module runs from the sources. */
const WORKER = join(ROOT, "dist", "base", "poolWorker.js");

/** A handler's error, as it crosses the process boundary. @internal */
export interface SentError {
  name: string;
  message: string;
  code?: string;
  cacheFileError: boolean;
  kind: "TypeError" | "RangeError" | "Error";
  /** Own enumerable properties (file, option, changed, ...). */
  props: Record<string, unknown>;
}

/** An error as a handler's answer carries it. @internal */
export function sendError(e: unknown): SentError {
  const err = e instanceof Error ? e : new Error(String(e));
  const props: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err)) {
    if (k === "cause" || typeof v === "function") continue;
    try {
      structuredClone(v);
      props[k] = v;
    } catch {
      // not clonable: left out
    }
  }
  return {
    name: err.name,
    message: err.message,
    ...(typeof (err as { code?: unknown }).code === "string" ? { code: (err as unknown as { code: string }).code } : {}),
    cacheFileError: err instanceof CacheFileError,
    kind: err instanceof TypeError ? "TypeError" : err instanceof RangeError ? "RangeError" : "Error",
    props,
  };
}

/** Error classes by name, for {@link receiveError}; handler modules add theirs. */
const CLASSES = new Map<string, new (...args: never[]) => Error>();
for (const v of Object.values(baseErrors)) if (typeof v === "function" && v.prototype instanceof Error) CLASSES.set(v.name, v as new (...args: never[]) => Error);

/** Lets {@link receiveError} rebuild errors of these classes. */
export function registerErrorClasses(classes: Record<string, unknown>): void {
  for (const v of Object.values(classes)) if (typeof v === "function" && v.prototype instanceof Error) CLASSES.set(v.name, v as new (...args: never[]) => Error);
}

/** The error a handler threw, rebuilt: its class by name where known, its message, code and properties. @internal */
export function receiveError(s: SentError): Error {
  let e: Error;
  if (s.cacheFileError) {
    e = new CacheFileError(s.code ?? "EUNKNOWN", s.message);
    const cls = CLASSES.get(s.name);
    if (cls && Object.prototype.isPrototypeOf.call(CacheFileError.prototype, cls.prototype)) Object.setPrototypeOf(e, cls.prototype);
  } else {
    e = s.kind === "TypeError" ? new TypeError(s.message) : s.kind === "RangeError" ? new RangeError(s.message) : new Error(s.message);
    if (s.code !== undefined) (e as { code?: string }).code = s.code;
  }
  for (const [k, v] of Object.entries(s.props)) {
    if (k === "name" || k === "message") continue;
    try {
      (e as unknown as Record<string, unknown>)[k] = v;
    } catch {
      // a read-only property of the class: left as built
    }
  }
  Object.defineProperty(e, "name", { value: s.name, configurable: true, writable: true, enumerable: false });
  return e;
}

/** A request to a worker: call `fn` of `module` with `args`. */
interface Request {
  id: number;
  module: string;
  fn: string;
  args: unknown;
}

/** A worker's message: an event of a request under way, its result, or its error. */
type Reply = { id: number; event: unknown } | { id: number; result: unknown } | { id: number; error: SentError };

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  onEvent?: ((event: unknown) => void) | undefined;
}

/** What runs a pool's tasks: a worker process, or the calling process itself. */
export interface Lane {
  /** Calls `fn(args, emit)` of `module`; `onEvent` gets what it emits. */
  call<T>(module: string, fn: string, args: unknown, onEvent?: (event: unknown) => void): Promise<T>;
}

/** One worker process; requests to it run one after the other. */
export class Worker implements Lane {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  #gone: Error | undefined;

  constructor() {
    if (!existsSync(WORKER)) throw new Error(`the worker module ${WORKER} is missing: build the package (npm run build:dist)`);
    // Plain node on the built module, whatever the parent runs under (no tsx, no inspector flags).
    this.#child = fork(WORKER, [], { execArgv: [], serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.#child.on("message", (m: Reply) => {
      const p = this.#pending.get(m.id);
      if (!p) return;
      if ("event" in m) return p.onEvent?.(m.event);
      this.#pending.delete(m.id);
      if ("error" in m) p.reject(receiveError(m.error));
      else p.resolve(m.result);
    });
    const fail = (why: string) => {
      this.#gone ??= new Error(`a worker process ${why}`);
      for (const p of this.#pending.values()) p.reject(this.#gone);
      this.#pending.clear();
    };
    this.#child.on("exit", (code, signal) => fail(`ended (${signal ?? `exit code ${code}`})`));
    this.#child.on("error", (e) => fail(`failed: ${e.message}`));
  }

  /** Calls `fn(args, emit)` of `module` (a built module's path) in the worker; `onEvent` gets what it emits. */
  call<T>(module: string, fn: string, args: unknown, onEvent?: (event: unknown) => void): Promise<T> {
    if (this.#gone) return Promise.reject(this.#gone);
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onEvent });
      this.#child.send({ id, module, fn, args } satisfies Request, (e) => {
        if (e && this.#pending.delete(id)) reject(e);
      });
    });
  }

  /** Ends the process at once (SIGKILL): only while it writes nothing. */
  kill(): void {
    this.#child.kill("SIGKILL");
  }

  /** Lets the process end by itself (it exits once its channel closes). */
  release(): void {
    if (this.#child.connected) this.#child.disconnect();
  }
}

/** Tasks handed to a worker process at once (see {@link ProcessPool.run}). */
const WORKER_DEPTH = 2;

/**
 * `size` lanes: `local` (the calling process, where given) and worker
 * processes for the others, started as they are first needed. `run` hands
 * tasks out in order, each to the next free lane.
 */
export class ProcessPool {
  readonly #workers: Worker[] = [];
  readonly #local: Lane | undefined;
  readonly size: number;

  constructor(size: number, local?: Lane) {
    this.size = size;
    this.#local = local;
  }

  /**
   * Runs `task(lane, index)` for index 0 .. count-1, at most `size` at a
   * time, in order of index; resolves when all have settled, with their
   * outcomes by index (never rejects).
   */
  async run<T>(count: number, task: (lane: Lane, index: number) => Promise<T>): Promise<PromiseSettledResult<T>[]> {
    const out: PromiseSettledResult<T>[] = new Array(count);
    let next = 0;
    const lane = async (l: Lane) => {
      while (next < count) {
        const i = next++;
        try {
          out[i] = { status: "fulfilled", value: await task(l, i) };
        } catch (e) {
          out[i] = { status: "rejected", reason: e };
        }
      }
    };
    const lanes: Promise<void>[] = [];
    const processes = Math.min(this.size, count) - (this.#local ? 1 : 0);
    // The workers' lanes first: they start their processes; the local lane's first task runs a while before it yields.
    // Two tasks in flight per worker: its next one is queued in the worker while this process, busy with a task of
    // its own lane, has not yet read the last one's answer (else the worker idles for as long as that task runs).
    for (let k = 0; k < processes; k++) {
      this.#workers[k] ??= new Worker();
      for (let d = 0; d < WORKER_DEPTH; d++) lanes.push(lane(this.#workers[k]!));
    }
    if (this.#local) lanes.push(lane(this.#local));
    await Promise.all(lanes);
    return out;
  }

  /** Ends every worker process at once (SIGKILL): only while none writes. */
  kill(): void {
    for (const w of this.#workers) w.kill();
  }

  /** Lets every worker process end. */
  release(): void {
    for (const w of this.#workers) w.release();
  }
}
