/**
 * `writeMeasures` / `writeMeasuresSync`: the one place where a batch of
 * measures goes into a file.
 *
 * The batch is one write of the core that is all or nothing
 * (`CacheFile.writeTextsSync`: one lock for the whole batch, every text
 * checked as `setTraceAttrs` checks it before anything is written), of the
 * text this module stores: booleans `True`/`False` as offspect's populate
 * writes them, numbers as floats (`66.0`).
 * @module
 */
import { CacheFileBase, sessionOf, type TraceAttributes } from "../cachefile/index.js";
import type { KnownAttributes } from "../cachefile/session.js";
import { encode } from "../values/codec.js";
import { NOTHING_WRITTEN } from "../base/abort.js";
import { describe, IndexRangeError, IndexTypeError } from "../base/errors.js";
import { getReadout, traceKeySpecs, type KeySpec } from "../cachefile/readouts.js";
import { runAsync, runSync } from "../base/work.js";
import { attrIsNull, encodeFloat } from "../values/attrs.js";
import { AnalysisError, PartialWriteError } from "./errors.js";

/**
 * The values to store on one trace: numbers are stored as floats (offspect's
 * `encode(float(x))`: `37.0`, `-55.48`), null as `null` (offspect's
 * `encode(None)`), booleans as `True` / `False` (what offspect's populate
 * writes: both offspect's `decode` and its `parse_traceattrs` read them as
 * booleans, while the `true` of offspect's `encode` stays text for
 * `parse_traceattrs`).
 */
export interface MeasureUpdate {
  index: number;
  /** Numbers, booleans and null as above; text for text keys (`examiner`, `comment`), stored as it is. */
  values: Record<string, number | boolean | string | null>;
}

/** What {@link writeMeasures} did. */
export interface WriteMeasuresResult {
  /** Indices of the traces whose stored values changed, in update order. */
  changed: number[];
  /** Attribute values written, over all traces. */
  values: number;
}

/** A value as stored (see {@link MeasureUpdate}). */
function storedText(v: number | boolean | string | null): string {
  if (typeof v === "string") return v;
  if (typeof v === "number") return encodeFloat(v);
  if (typeof v === "boolean") return v ? "True" : "False";
  return encode(v);
}

/** What one trace's update writes. @internal */
export interface PlannedWrite {
  index: number;
  /** The text of each changed value. */
  texts: Record<string, string>;
  /** The stored text each changed key held before (undefined: the key was not stored). */
  before: Record<string, string | undefined>;
}

/** The trace keys of each readout spec, looked up once per batch (the last one's again without a lookup: traces mostly share their readout). */
function specsFor(cache: Map<string, Record<string, KeySpec>>, readin: string | undefined, readout: string | undefined): Record<string, KeySpec> {
  if (lastSpecs && lastSpecs.cache === cache && lastSpecs.readin === readin && lastSpecs.readout === readout) return lastSpecs.specs;
  const id = `${readin}\u0000${readout}`;
  let specs = cache.get(id);
  if (!specs) cache.set(id, (specs = traceKeySpecs(getReadout(readin, readout))));
  lastSpecs = { cache, readin, readout, specs };
  return specs;
}

let lastSpecs: { cache: Map<string, Record<string, KeySpec>>; readin: string | undefined; readout: string | undefined; specs: Record<string, KeySpec> } | undefined;

/**
 * Checks every update and works out what it changes (see
 * {@link writeMeasures}); `known` holds attributes the caller has just
 * read (annotate's measuring pass: at least readin, readout and each key
 * updated, a key not stored as undefined), so that they are not read again.
 * Yields every 512 updates.
 * @internal
 */
export function* planMeasures(cf: CacheFileBase, updates: readonly MeasureUpdate[], known?: ReadonlyMap<number, Readonly<Record<string, string | undefined>>>): Generator<void, PlannedWrite[]> {
  if (!(cf instanceof CacheFileBase)) throw new TypeError(`expected a CacheFile, got ${describe(cf)}`);
  if (!Array.isArray(updates)) throw new TypeError(`expected an array of { index, values } for updates, got ${describe(updates)}`);
  const length = cf.length;
  const plans: PlannedWrite[] = [];
  const readouts = new Map<string, Record<string, KeySpec>>();
  let n = 0;
  for (const u of updates) {
    if (u === null || typeof u !== "object" || u.values === null || typeof u.values !== "object") {
      throw new TypeError(`expected { index, values } in updates, got ${describe(u)}`);
    }
    if (!Number.isInteger(u.index)) throw new IndexTypeError(u.index);
    if (u.index < 0 || u.index >= length) throw new IndexRangeError(u.index, length, cf.fname);
    const stored = (known?.get(u.index) ?? sessionOf(cf).getTraceAttrs(u.index)) as TraceAttributes;
    const specs = specsFor(readouts, stored["readin"], stored["readout"]);
    const plan: PlannedWrite = { index: u.index, texts: {}, before: {} };
    let changed = false;
    for (const key of Object.keys(u.values)) {
      const value = u.values[key]!;
      const spec = Object.hasOwn(specs, key) ? specs[key] : undefined;
      if (spec === undefined) {
        throw new AnalysisError(
          "EANALYSISINPUT",
          key,
          `${key} is not a trace attribute of readout ${stored["readout"]} (trace ${u.index} of ${cf.fname}): nothing was written; store only the readout's keys`,
          cf.fname,
        );
      }
      const isText = typeof value === "string" && spec.kind === "text";
      if (!(isText || value === null || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value)))) {
        throw new AnalysisError(
          "EANALYSISINPUT",
          key,
          `expected a finite number, a boolean or null for ${key} of trace ${u.index}${spec.kind === "text" ? " (or text)" : ""}, got ${describe(value)}: nothing was written`,
          cf.fname,
        );
      }
      if (value === null && attrIsNull(stored, key)) continue; // already null (None, null, empty)
      const text = storedText(value);
      if (stored[key] === text) continue;
      plan.before[key] = stored[key];
      plan.texts[key] = text;
      changed = true;
    }
    if (changed) plans.push(plan);
    if (++n % 512 === 0) yield;
  }
  return plans;
}

/**
 * Writes planned updates in one write that is all or nothing; `known`: the
 * attributes they were planned against, with the file's read mark from
 * before they were read (used by the write's checks while the file is
 * proven unchanged since: CacheFile.writeTextsSync).
 * @internal
 */
export function commitMeasures(cf: CacheFileBase, plans: readonly PlannedWrite[], known?: KnownAttributes): WriteMeasuresResult {
  let values = 0;
  if (plans.length > 0) for (const r of sessionOf(cf).writeTextsSync(plans.map((p) => ({ index: p.index, texts: p.texts })), known ? { known } : {})) values += r.written.length;
  return { changed: plans.map((p) => p.index), values };
}

/**
 * Puts back the stored text of traces a {@link commitMeasures} of `plans`
 * wrote (a later file of the same batch failed), in one write.
 * @throws {PartialWriteError} they could not be put back (`cause`: the error that made the batch fail)
 * @internal
 */
export function revertMeasures(cf: CacheFileBase, plans: readonly PlannedWrite[], cause: unknown): void {
  const back: { index: number; texts: Record<string, string> }[] = [];
  const left: number[] = [];
  for (const p of plans) {
    const texts: Record<string, string> = {};
    let restorable = true;
    for (const [key, text] of Object.entries(p.before)) {
      if (text === undefined) restorable = false;
      else texts[key] = text;
    }
    if (restorable) back.push({ index: p.index, texts });
    else left.push(p.index);
  }
  try {
    sessionOf(cf).writeTextsSync(back);
  } catch {
    left.push(...back.map((b) => b.index));
  }
  if (left.length > 0) throw new PartialWriteError(cf.fname, left.sort((x, y) => x - y), cause);
}

function* writeWork(cf: CacheFileBase, updates: readonly MeasureUpdate[]): Generator<void, WriteMeasuresResult> {
  const plans = yield* planMeasures(cf, updates);
  yield; // the last moment to stop: what follows writes
  return commitMeasures(cf, plans);
}

/**
 * Stores measures on traces of one file, with `setTraceAttrs`' checks (only
 * trace keys of the trace's readout, every value checked). Every update is
 * checked before the first write: an unknown key, an index out of range or a
 * non-finite number writes nothing. The batch is one write that is all or
 * nothing (a full disk, a killed process or a power cut leave the file as
 * it was, or with every value of the batch).
 *
 * @example
 * ```ts
 * writeMeasuresSync(new CacheFile("S01.hdf5"), [
 *   { index: 0, values: { neg_peak_magnitude_uv: -212.4, neg_peak_latency_ms: 21, zcr_latency_ms: null } },
 * ]); // { changed: [0], values: 3 }
 * ```
 * @throws {AnalysisError} `EANALYSISINPUT` for a key that is not a trace key of the trace's readout or a value that is not a finite number, a boolean or null
 * @throws {IndexRangeError} / {IndexTypeError} an index that is not a trace of the file
 * @throws the error of a failed write (e.g. `FileInUseError`, `DiskFullError`): nothing was written
 */
export function writeMeasuresSync(cf: CacheFileBase, updates: readonly MeasureUpdate[]): WriteMeasuresResult {
  return runSync(writeWork(cf, updates));
}

/**
 * {@link writeMeasuresSync} without blocking the event loop while the
 * updates are checked; `signal` stops it before the first write
 * (AbortedError, nothing written). The write itself, one batch, is not
 * interrupted.
 *
 * @example
 * ```ts
 * await writeMeasures(cf, [{ index: 3, values: { reject: true } }], { signal: AbortSignal.timeout(10_000) });
 * ```
 * @throws as {@link writeMeasuresSync}; {@link AbortedError} when `signal` aborts first
 */
export function writeMeasures(cf: CacheFileBase, updates: readonly MeasureUpdate[], options: { signal?: AbortSignal } = {}): Promise<WriteMeasuresResult> {
  return runAsync(writeWork(cf, updates), options.signal, `writing measures to ${cf instanceof CacheFileBase ? cf.fname : "a CacheFile"}`, NOTHING_WRITTEN);
}
