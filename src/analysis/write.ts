/**
 * `writeMeasures` / `writeMeasuresSync`: the one place where a batch of
 * measures goes into a file.
 *
 * The batch is written with the core's checked batch write
 * (`CacheFile.updateManySync`: one open and lock for the whole batch, every
 * update checked before the first write), except for the traces where the
 * text that call stores would differ from the text this module stores
 * (booleans: `True`/`False` here, as offspect's populate writes them; numbers
 * of keys the readout does not mark as floats: `66.0` here; keys the typed
 * update refuses): those are written one at a time with `setTraceAttrs`, the
 * exact text, first. Should anything fail after a first value was written,
 * the traces written are put back.
 * @module
 */
import { CacheFile, type TraceAttributes } from "../cachefile.js";
import { encode } from "../codec.js";
import { AbortedError, NOTHING_WRITTEN } from "../abort.js";
import {
  describe,
  FileInUseError,
  ForeignAttributesError,
  IndexRangeError,
  IndexTypeError,
  InvalidAttributeError,
  PermissionError,
  UnknownReadoutError,
} from "../errors.js";
import { getReadout, ORIGIN_KEYS, traceKeySpecs, type KeySpec } from "../readouts.js";
import type { TraceUpdate } from "../typed/types.js";
import { runAsync, runSync } from "../work.js";
import { attrIsNull, encodeFloat } from "./attrs.js";
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
  values: Record<string, number | boolean | null>;
}

/** What {@link writeMeasures} did. */
export interface WriteMeasuresResult {
  /** Indices of the traces whose stored values changed, in update order. */
  changed: number[];
  /** Attribute values written, over all traces. */
  values: number;
}

/** A value as stored (see {@link MeasureUpdate}). */
function storedText(v: number | boolean | null): string {
  if (typeof v === "number") return encodeFloat(v);
  if (typeof v === "boolean") return v ? "True" : "False";
  return encode(v);
}

/** What one trace's update writes. @internal */
export interface PlannedWrite {
  index: number;
  /** The changed values, as given (for the batch write). */
  values: Record<string, number | null>;
  /** The trace's attributes with the changed values' text (for `setTraceAttrs`; when `exact`, else the attributes as read). */
  attrs: TraceAttributes;
  /** The stored text each changed key held before. */
  before: Record<string, string | undefined>;
  /** Whether the batch write would store other text than {@link storedText}: written with `setTraceAttrs`. */
  exact: boolean;
}

/** The keys a typed update may write: what `encodeTraceUpdate` accepts. */
function typedWritable(key: string): boolean {
  return ORIGIN_KEYS[key] === undefined && key !== "id";
}

/**
 * Whether the batch write (`updateManySync`, which stores a value as the
 * typed API's `encodeValue`) would store other text than
 * {@link storedText}: booleans (`true` there, `True` here), numbers of keys
 * not marked as floats (`66` there, `66.0` here), keys a typed update may
 * not write. Null is `null` in both, and a number of a float key is PyYAML's
 * float scalar in both ({@link encodeFloat} is that scalar).
 */
function needsExactText(key: string, value: number | boolean | null, spec: KeySpec): boolean {
  if (typeof value === "boolean" || !typedWritable(key)) return true;
  return typeof value === "number" && spec.float !== true;
}

/** The trace keys of each readout spec, looked up once per batch. */
function specsFor(cache: Map<string, Record<string, KeySpec>>, readin: string | undefined, readout: string | undefined): Record<string, KeySpec> {
  const id = `${readin}\u0000${readout}`;
  let specs = cache.get(id);
  if (!specs) cache.set(id, (specs = traceKeySpecs(getReadout(readin, readout))));
  return specs;
}

/**
 * Checks every update and works out what it changes (see
 * {@link writeMeasures}); `known` holds attributes the caller has just
 * read (annotate's measuring pass), so that they are not read again.
 * Yields every 512 updates.
 * @internal
 */
export function* planMeasures(cf: CacheFile, updates: readonly MeasureUpdate[], known?: ReadonlyMap<number, TraceAttributes>): Generator<void, PlannedWrite[]> {
  if (!(cf instanceof CacheFile)) throw new TypeError(`expected a CacheFile, got ${describe(cf)}`);
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
    const stored = known?.get(u.index) ?? cf.getTraceAttrs(u.index);
    const specs = specsFor(readouts, stored["readin"], stored["readout"]);
    const plan: PlannedWrite = { index: u.index, values: {}, attrs: stored, before: {}, exact: false };
    const texts: Record<string, string> = {};
    let changed = false;
    for (const key in u.values) {
      const value = u.values[key]!;
      const spec = specs[key];
      if (spec === undefined) {
        throw new AnalysisError(
          "EANALYSISINPUT",
          key,
          `${key} is not a trace attribute of readout ${stored["readout"]} (trace ${u.index} of ${cf.fname}): nothing was written; store only the readout's keys`,
          cf.fname,
        );
      }
      if (!(value === null || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value)))) {
        throw new AnalysisError(
          "EANALYSISINPUT",
          key,
          `expected a finite number, a boolean or null for ${key} of trace ${u.index}, got ${describe(value)}: nothing was written`,
          cf.fname,
        );
      }
      if (value === null && attrIsNull(stored, key)) continue; // already null (None, null, empty)
      const text = storedText(value);
      if (stored[key] === text) continue;
      plan.before[key] = stored[key];
      texts[key] = text;
      changed = true;
      if (needsExactText(key, value, spec)) plan.exact = true;
      else plan.values[key] = value as number | null;
    }
    if (changed) {
      // The attributes setTraceAttrs writes, for the traces written one at a time (the caller's stay as they were).
      if (plan.exact) plan.attrs = { ...stored, ...texts };
      plans.push(plan);
    }
    if (++n % 512 === 0) yield;
  }
  return plans;
}

/** Errors a write raises before it has written anything: the file is as it was. */
function nothingWritten(e: unknown): boolean {
  return (
    e instanceof FileInUseError ||
    e instanceof PermissionError ||
    e instanceof InvalidAttributeError ||
    e instanceof UnknownReadoutError ||
    e instanceof ForeignAttributesError ||
    e instanceof IndexRangeError ||
    e instanceof IndexTypeError ||
    e instanceof AbortedError
  );
}

/** Puts back the stored text of `plans` where the file now holds other text; returns the traces it could not restore. */
function restore(cf: CacheFile, plans: readonly PlannedWrite[], onlyIfChanged: boolean): number[] {
  const left: number[] = [];
  for (const p of [...plans].reverse()) {
    try {
      const attrs = cf.getTraceAttrs(p.index);
      let differs = !onlyIfChanged;
      for (const [key, text] of Object.entries(p.before)) {
        if (attrs[key] === text) continue;
        if (text === undefined) throw new Error(`${key} did not exist before`);
        attrs[key] = text;
        differs = true;
      }
      if (differs) cf.setTraceAttrs(p.index, attrs);
    } catch {
      left.push(p.index);
    }
  }
  return left.sort((x, y) => x - y);
}

/**
 * Writes planned updates: the exact-text traces one at a time, then the
 * rest in one batch; puts back what was written should a write fail.
 * @internal
 */
export function commitMeasures(cf: CacheFile, plans: readonly PlannedWrite[]): WriteMeasuresResult {
  const exact = plans.filter((p) => p.exact);
  const batch = plans.filter((p) => !p.exact);
  const done: PlannedWrite[] = [];
  let values = 0;
  try {
    for (const p of exact) {
      values += cf.setTraceAttrs(p.index, p.attrs).written.length;
      done.push(p);
    }
  } catch (e) {
    const left = restore(cf, done, false);
    if (left.length > 0) throw new PartialWriteError(cf.fname, left, e);
    throw e;
  }
  if (batch.length > 0) {
    try {
      for (const r of cf.updateManySync(batch.map((p) => ({ index: p.index, values: p.values as TraceUpdate })))) values += r.written.length;
    } catch (e) {
      // The batch may have stopped part-way (a full disk): put back what it wrote, then the exact ones.
      const left = [...(nothingWritten(e) ? [] : restore(cf, batch, true)), ...restore(cf, done, false)].sort((x, y) => x - y);
      if (left.length > 0) throw new PartialWriteError(cf.fname, left, e);
      throw e;
    }
  }
  return { changed: plans.map((p) => p.index), values };
}

/**
 * Puts back the stored text of traces a {@link commitMeasures} of `plans`
 * wrote (a later file of the same batch failed).
 * @throws {PartialWriteError} some could not be put back (`cause`: the error that made the batch fail)
 * @internal
 */
export function revertMeasures(cf: CacheFile, plans: readonly PlannedWrite[], cause: unknown): void {
  const left = restore(cf, plans, true);
  if (left.length > 0) throw new PartialWriteError(cf.fname, left, cause);
}

function* writeWork(cf: CacheFile, updates: readonly MeasureUpdate[]): Generator<void, WriteMeasuresResult> {
  const plans = yield* planMeasures(cf, updates);
  yield; // the last moment to stop: what follows writes
  return commitMeasures(cf, plans);
}

/**
 * Stores measures on traces of one file, with `setTraceAttrs`' checks (only
 * trace keys of the trace's readout, every value checked). Every update is
 * checked before the first write: an unknown key, an index out of range or a
 * non-finite number writes nothing. The batch is written with one open and
 * lock of the file (`CacheFile.updateManySync`); should a write fail
 * part-way (a full disk), the traces already written are put back as they
 * were and the error is thrown; if that fails too, a
 * {@link PartialWriteError} lists the traces left changed.
 *
 * @example
 * ```ts
 * writeMeasuresSync(new CacheFile("S01.hdf5"), [
 *   { index: 0, values: { neg_peak_magnitude_uv: -212.4, neg_peak_latency_ms: 21, zcr_latency_ms: null } },
 * ]); // { changed: [0], values: 3 }
 * ```
 * @throws {AnalysisError} `EANALYSISINPUT` for a key that is not a trace key of the trace's readout or a value that is not a finite number, a boolean or null
 * @throws {IndexRangeError} / {IndexTypeError} an index that is not a trace of the file
 * @throws {PartialWriteError} a write failed and the traces written before could not be restored
 * @throws the error of a failed write (e.g. {@link FileInUseError}) when they could
 */
export function writeMeasuresSync(cf: CacheFile, updates: readonly MeasureUpdate[]): WriteMeasuresResult {
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
export function writeMeasures(cf: CacheFile, updates: readonly MeasureUpdate[], options: { signal?: AbortSignal } = {}): Promise<WriteMeasuresResult> {
  return runAsync(writeWork(cf, updates), options.signal, `writing measures to ${cf instanceof CacheFile ? cf.fname : "a CacheFile"}`, NOTHING_WRITTEN);
}
