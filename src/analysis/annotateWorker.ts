/**
 * The worker side of `annotateFiles` with `concurrency` above 1: each
 * worker process measures the files it is given and checks their writes
 * (`measure`), keeps what it planned, and writes it only when the parent
 * says so (`commit`), once every file of the batch was measured and
 * checked; `revert` puts back what it wrote, should another file's write
 * fail. See ./annotate.ts and ../base/pool.ts.
 * @internal
 * @module
 */
import { CacheFile } from "../cachefile/index.js";
import { checkBatchOptions, commitFile, measureFile, planFile, type AnnotateOptions, type Plan } from "./annotate.js";
import { resolvedOnce } from "./measures.js";
import { revertMeasures, type PlannedWrite } from "./write.js";
import { runSync } from "../base/work.js";

/** The files this worker measured and planned, by their place in the batch. */
const held = new Map<number, { plan: Plan; planned: PlannedWrite[]; committed: boolean }>();

/** Progress is sent every this many traces. */
const EVENT_EVERY = 64;

/** A worker's answer to `measure`. */
export type MeasureReply = { rows: Plan["rows"]; updates: number } | { openError: true };

/**
 * Opens `file` (`openOnly`: and closes it again) and, unless `openOnly`,
 * measures every trace and checks the writes due; emits `{ traces }` once
 * open and `{ measured }` as it goes. An error opening the file is thrown
 * with `opening: true`.
 */
export function measure(args: { slot: number; file: string; options: AnnotateOptions; openOnly?: boolean }, emit: (event: unknown) => void): Plan["rows"] {
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
    const plan = runSync(
      measureFile(cf, resolvedOnce(args.options), args.options, () => {
        if (++n % EVENT_EVERY === 0) emit({ measured: EVENT_EVERY });
      }),
    );
    if (n % EVENT_EVERY !== 0) emit({ measured: n % EVENT_EVERY });
    const planned = args.options.dryRun ? [] : runSync(planFile(plan));
    if (!args.options.dryRun && plan.updates.length > 0) held.set(args.slot, { plan, planned, committed: false });
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
export function commit(args: { slots: number[] }, emit: (event: unknown) => void): Record<number, [number, boolean][]> {
  const out: Record<number, [number, boolean][]> = {};
  const done: number[] = [];
  for (const slot of args.slots) {
    const h = held.get(slot);
    if (!h) continue;
    try {
      commitFile(h.plan, h.planned);
    } catch (e) {
      let partial: unknown;
      for (const s of done.reverse()) {
        const w = held.get(s)!;
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
export function revert(args: { slots: number[]; cause: string }): void {
  let partial: unknown;
  for (const slot of [...args.slots].reverse()) {
    const h = held.get(slot);
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

/** Forgets the batch. */
export function release(): void {
  for (const h of held.values()) h.plan.cf.close();
  held.clear();
}
