/**
 * The worker side of `annotateFiles` with `concurrency` above 1: each
 * worker process measures the files it is given and checks their writes
 * (`measure`), keeps what it planned, and writes it only when the parent
 * says so (`commit`), once every file of the batch was measured and
 * checked; `revert` puts back what it wrote, should another file's write
 * fail. See ./annotate.ts and ../base/pool.ts. The calling process works
 * as one of the lanes too, through the same functions (`measureAsync`, which
 * lets its event loop turn): what each holds is kept by batch and slot.
 * @internal
 * @module
 */
import { CacheFile } from "../cachefile/index.js";
import { checkBatchOptions, commitFile, measureFile, planFile, type AnnotateOptions, type Plan } from "./annotate.js";
import { resolvedOnce } from "./measures.js";
import { revertMeasures, type PlannedWrite } from "./write.js";
import { runAsync, runSync } from "../base/work.js";
import { NOTHING_WRITTEN } from "../base/abort.js";

/** The files measured and planned here, by batch and place in the batch (`batch:slot`). */
const held = new Map<string, { plan: Plan; planned: PlannedWrite[]; committed: boolean }>();

/** What a lane is asked to measure. */
export interface MeasureArgs {
  batch: number;
  slot: number;
  file: string;
  options: AnnotateOptions;
  openOnly?: boolean;
  progress?: boolean;
}

/** Progress is sent every this many traces. */
const EVENT_EVERY = 64;

/**
 * Opens `file` (`openOnly`: and closes it again) and, unless `openOnly`,
 * measures every trace and checks the writes due; emits `{ traces }` once
 * open and, with `progress`, `{ measured }` as it goes. An error opening
 * the file is thrown with `opening: true`.
 */
export function measure(args: MeasureArgs, emit: (event: unknown) => void): Plan["rows"] {
  return runSync(measureWork(args, emit));
}

/** {@link measure}, letting the event loop turn every 128 traces; `signal` stops it there (nothing is written). */
export function measureAsync(args: MeasureArgs, emit: (event: unknown) => void, signal?: AbortSignal): Promise<Plan["rows"]> {
  return runAsync(measureWork(args, emit), signal, `annotating ${args.file}`, NOTHING_WRITTEN);
}

function* measureWork(args: MeasureArgs, emit: (event: unknown) => void): Generator<unknown, Plan["rows"]> {
  let cf: CacheFile;
  try {
    cf = new CacheFile(args.file);
  } catch (e) {
    if (e && typeof e === "object") Object.assign(e, { opening: true });
    throw e;
  }
  if (args.openOnly) {
    cf.close();
    return [];
  }
  try {
    checkBatchOptions(args.options);
    emit({ traces: cf.length });
    let n = 0;
    const plan = yield* measureFile(cf, resolvedOnce(args.options), args.options, () => {
      if (++n % EVENT_EVERY === 0 && args.progress) emit({ measured: EVENT_EVERY });
    });
    if (n % EVENT_EVERY !== 0 && args.progress) emit({ measured: n % EVENT_EVERY });
    const planned = args.options.dryRun ? [] : yield* planFile(plan);
    if (!args.options.dryRun && plan.updates.length > 0) held.set(`${args.batch}:${args.slot}`, { plan, planned, committed: false });
    return plan.rows;
  } finally {
    cf.close();
  }
}

/**
 * Writes the files of `slots` this worker planned, one batch each, in
 * order; on a failure puts back those it wrote and throws. Answers with
 * the traces written, per slot: [index, rejected] pairs. Runs without a
 * pause, so nothing stops it half-way.
 */
export function commit(args: { batch: number; slots: number[] }, emit: (event: unknown) => void): Record<number, [number, boolean][]> {
  const out: Record<number, [number, boolean][]> = {};
  const done: number[] = [];
  for (const slot of args.slots) {
    const h = held.get(`${args.batch}:${slot}`);
    if (!h) continue;
    try {
      commitFile(h.plan, h.planned);
    } catch (e) {
      let partial: unknown;
      for (const s of done.reverse()) {
        const w = held.get(`${args.batch}:${s}`)!;
        try {
          revertMeasures(w.plan.cf, w.planned, e);
          w.committed = false;
        } catch (r) {
          partial ??= r;
        }
      }
      throw partial ?? e;
    } finally {
      h.plan.cf.close();
    }
    h.committed = true;
    done.push(slot);
    out[slot] = h.plan.rows.filter((r) => r.written).map((r) => [r.index, r.rejected]);
    emit({ written: h.plan.updates.length, file: h.plan.cf.fname });
  }
  return out;
}

/** Puts back what `commit` wrote in the files of `slots` (another file's write failed); throws the first failure to do so. */
export function revert(args: { batch: number; slots: number[]; cause: string }): void {
  let partial: unknown;
  for (const slot of [...args.slots].reverse()) {
    const h = held.get(`${args.batch}:${slot}`);
    if (!h?.committed) continue;
    try {
      revertMeasures(h.plan.cf, h.planned, new Error(args.cause));
      h.committed = false;
    } catch (r) {
      partial ??= r;
    } finally {
      h.plan.cf.close();
    }
  }
  if (partial) throw partial;
}

/** Forgets a batch. */
export function release(args: { batch: number }): void {
  for (const [key, h] of held) {
    if (!key.startsWith(`${args.batch}:`)) continue;
    h.plan.cf.close();
    held.delete(key);
  }
}
