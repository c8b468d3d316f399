/**
 * Building CacheFiles from annotations and traces: `populate`, the
 * consistency check shared with `merge`, and an `AnnotationFactory` that
 * knows each readout's keys.
 * @module
 */
import { resolve } from "node:path";
import { type AtomicOptions, writeAtomicallySteps } from "../cachefile/atomic.js";
import { runAsync, runSync } from "../base/work.js";
import { checkValidSuffix, type TraceData } from "../cachefile/index.js";
import {
  type AttributeProblem,
  CacheFileError,
  ConsistencyError,
  describe,
  InvalidAttributeError,
  TargetFolderError,
  UnknownReadoutError,
} from "../base/errors.js";
import { H5File } from "../hdf5/file.js";
import { setOwn } from "../base/own.js";
import { expandUser } from "../base/paths.js";
import { pythonStr } from "../values/index.js";
import {
  checkValue,
  GENERIC_TRACE_KEYS,
  getReadout,
  type KeySpec,
  MUST_BE_IDENTICAL,
  ORIGIN_KEYS,
  type ReadoutSpec,
} from "../cachefile/readouts.js";
import { NOTHING_WRITTEN } from "../base/abort.js";

/**
 * The annotations of one origin (source recording): its attributes and one
 * attribute record per trace. Values may be text (stored as is) or numbers,
 * booleans, null, lists and Dates (stored as Python's `str()` of the value,
 * as offspect's populate does).
 */
export interface Annotation {
  origin: string;
  attrs: Record<string, unknown>;
  traces: Record<string, unknown>[];
}

/**
 * One trace's data: a {@link TraceData}, rows of numbers (samples x
 * channels), or a flat Float64Array / number[] (stored 1-D, as numpy would).
 */
export type TraceInput = TraceData | number[][] | number[] | Float64Array;

/**
 * Progress of populate and merge. Each phase counts in one unit, named in
 * `unit`: `check` (merge reading its sources) in files, `write` and `done`
 * in traces; `done` and `total` are in that unit.
 */
export interface ProgressEvent {
  phase: "check" | "write" | "done";
  /** What `done` and `total` count: source files (`check`) or traces (`write`, `done`). */
  unit?: "files" | "traces";
  /** The source file being read (merge). */
  file?: string;
  origin?: string;
  done: number;
  total: number;
}

export type ProgressCallback = (event: ProgressEvent) => void;

export interface PopulateOptions extends AtomicOptions {
  onProgress?: ProgressCallback;
}

/**
 * Annotations or traces that `populate` or `checkConsistency` cannot use
 * (`EANNOTATION`): counts of annotations and trace lists that differ, an
 * annotation that is not `{ origin, attrs, traces }` (a file name, say), a
 * trace without an integer `id`. Nothing was written.
 */
export class AnnotationError extends CacheFileError {
  constructor(message: string) {
    super("EANNOTATION", message);
  }
}

/**
 * Trace data that is not samples x channels numbers (`ETRACEDATA`): rows of
 * different lengths, a value that is not a number, a shape that does not
 * match the number of values. Nothing was written.
 */
export class TraceDataError extends CacheFileError {
  constructor(message: string) {
    super("ETRACEDATA", message);
  }
}

/** Keys whose numbers offspect stores as floats, for one readout (or only the generic ones). */
export function floatKeys(readin: unknown, readout: unknown): Set<string> {
  let spec: ReadoutSpec | undefined;
  try {
    spec = getReadout(typeof readin === "string" ? readin : undefined, typeof readout === "string" ? readout : undefined);
  } catch (e) {
    if (!(e instanceof UnknownReadoutError)) throw e;
  }
  const all: Record<string, KeySpec> = { ...ORIGIN_KEYS, ...GENERIC_TRACE_KEYS, ...(spec?.keys ?? {}) };
  return new Set(Object.entries(all).filter(([, s]) => s.float).map(([k]) => k));
}

/** Python's `str()` of every value, with the readout's float keys as floats. */
export function strValues(values: Record<string, unknown>, floats: Set<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    setOwn(out, k, pythonStr(v, floats.has(k)));
  }
  return out;
}

function toDataset(trace: TraceInput, where: string): { data: Float64Array; shape: number[] } {
  if (trace instanceof Float64Array) return { data: trace, shape: [trace.length] };
  if (Array.isArray(trace)) {
    if (trace.length > 0 && Array.isArray(trace[0])) {
      const rows = trace as number[][];
      const cols = rows[0]!.length;
      const data = new Float64Array(rows.length * cols);
      rows.forEach((row, r) => {
        if (!Array.isArray(row) || row.length !== cols) {
          throw new TraceDataError(`${where}: expected ${cols} values in row ${r} (as in row 0), got ${Array.isArray(row) ? row.length : describe(row)}; every row is one sample of every channel`);
        }
        for (let c = 0; c < cols; c++) {
          const v = row[c];
          if (typeof v !== "number") throw new TraceDataError(`${where}: expected a number at [${r}][${c}], got ${describe(v)}`);
          data[r * cols + c] = v;
        }
      });
      return { data, shape: [rows.length, cols] };
    }
    const flat = trace as number[];
    const at = flat.findIndex((v) => typeof v !== "number");
    if (at >= 0) throw new TraceDataError(`${where}: expected a number at [${at}], got ${describe(flat[at])}`);
    return { data: Float64Array.from(flat), shape: [flat.length] };
  }
  if (trace && typeof trace === "object" && trace.data instanceof Float64Array && Array.isArray(trace.shape)) {
    const shape = [...trace.shape];
    if (!shape.every((n) => Number.isInteger(n) && n >= 0) || shape.reduce((a, b) => a * b, 1) !== trace.data.length) {
      throw new TraceDataError(`${where}: expected a shape whose product is the ${trace.data.length} values, got [${shape.join(", ")}]`);
    }
    return { data: trace.data, shape };
  }
  throw new TraceDataError(`${where}: expected trace data (TraceData, rows of numbers or a Float64Array), got ${describe(trace)}`);
}

/** One origin's values of the must-be-identical keys, as Python's str() of the parsed value. */
export interface OriginValues {
  origin: string;
  /** Where the origin comes from (a source file), for messages. */
  source?: string;
  values: Record<string, string | undefined>;
}

/**
 * The consistency rules of offspect's merge on str()'d origin values: unique
 * origins, and identical must-be-identical keys (one readout, one readin, ...).
 * @internal
 */
export function checkOriginValues(origins: OriginValues[]): void {
  const where = (o: OriginValues) => (o.source ? `${o.origin} (${o.source})` : o.origin);
  const seen = new Map<string, OriginValues>();
  for (const o of origins) {
    const first = seen.get(o.origin);
    if (first) {
      throw new ConsistencyError(
        "origin",
        [o.origin],
        `Origins are not unique: ${JSON.stringify(o.origin)} appears ${first.source ? `in ${first.source} and in ${o.source}` : "twice"}; every source recording may enter a file once`,
      );
    }
    seen.set(o.origin, o);
  }
  for (const key of MUST_BE_IDENTICAL) {
    const distinct = new Map<string | undefined, OriginValues[]>();
    for (const o of origins) {
      const v = o.values[key];
      distinct.set(v, [...(distinct.get(v) ?? []), o]);
    }
    if (distinct.size > 1) {
      const listing = [...distinct.entries()]
        .map(([v, os]) => `${v === undefined ? "(missing)" : JSON.stringify(v)} in ${os.map(where).join(", ")}`)
        .join("; ");
      throw new ConsistencyError(key, [...distinct.keys()], `${key} is inconsistent: ${listing}; all origins of one file must agree on ${key}`);
    }
  }
}

/** One annotation's form: `{ origin, attrs, traces }`, with a usable origin name. */
function checkAnnotation(a: unknown, i: number, fn: string): asserts a is Annotation {
  if (typeof a === "string") {
    throw new AnnotationError(
      `${fn} takes annotations ({ origin, attrs, traces }), not file names: got ${JSON.stringify(a)} at [${i}]; read a file's annotations with recoverAnnotations(new CacheFile(${JSON.stringify(a)})), or let merge() check the files`,
    );
  }
  if (!a || typeof a !== "object" || Array.isArray(a)) throw new AnnotationError(`${fn}: expected an annotation { origin, attrs, traces } at [${i}], got ${describe(a)}`);
  const { origin, attrs, traces } = a as Partial<Annotation>;
  if (typeof origin !== "string" || origin === "" || origin.includes("/") || origin === "." || origin === "..") {
    throw new AnnotationError(`${fn}: expected a file name without "/" for [${i}].origin, got ${describe(origin)}`);
  }
  if (!attrs || typeof attrs !== "object" || Array.isArray(attrs)) throw new AnnotationError(`${fn}: expected an object of origin attributes for [${i}].attrs (origin ${JSON.stringify(origin)}), got ${describe(attrs)}`);
  if (!Array.isArray(traces)) throw new AnnotationError(`${fn}: expected a list of trace attributes for [${i}].traces (origin ${JSON.stringify(origin)}), got ${describe(traces)}`);
}

/**
 * offspect's `check_consistency`: unique origins, one readout, one readin, and
 * identical values of the must-be-identical origin keys. It takes
 * annotations (as `recoverAnnotations` returns them), not file names.
 * @example
 * checkConsistency([...recoverAnnotations(new CacheFile("a.hdf5")), ...recoverAnnotations(new CacheFile("b.hdf5"))]);
 * @throws {ConsistencyError} naming the key and the differing values
 * @throws {AnnotationError} an item is not an annotation (a file name, say)
 */
export function checkConsistency(annotations: Annotation[]): void {
  if (!Array.isArray(annotations)) throw new AnnotationError(`checkConsistency expects a list of annotations ({ origin, attrs, traces }), got ${describe(annotations)}`);
  annotations.forEach((a, i) => checkAnnotation(a, i, "checkConsistency"));
  checkOriginValues(
    annotations.map((a) => {
      const floats = floatKeys(a.attrs?.["readin"], a.attrs?.["readout"]);
      const values: Record<string, string | undefined> = {};
      for (const key of MUST_BE_IDENTICAL) {
        values[key] = a.attrs && key in a.attrs ? pythonStr(a.attrs[key], floats.has(key)) : undefined;
      }
      return { origin: a.origin, values };
    }),
  );
}

function checkAnnotationShape(annotations: unknown, traceslist: unknown): asserts annotations is Annotation[] {
  if (!Array.isArray(annotations)) throw new AnnotationError(`populate: expected a list of annotations for annotations, got ${describe(annotations)}`);
  if (!Array.isArray(traceslist)) throw new AnnotationError(`populate: expected a list of lists of traces for traceslist, got ${describe(traceslist)}`);
  if (annotations.length !== traceslist.length) {
    throw new AnnotationError(
      `populate: expected one list of traces per annotation, got ${annotations.length} annotation${annotations.length === 1 ? "" : "s"} and ${traceslist.length} list${traceslist.length === 1 ? "" : "s"} of traces`,
    );
  }
  annotations.forEach((a: unknown, i) => {
    checkAnnotation(a, i, "populate");
    const traces = (traceslist as unknown[])[i];
    if (!Array.isArray(traces) || traces.length !== a.traces.length) {
      throw new AnnotationError(
        `populate: origin ${JSON.stringify(a.origin)} has ${a.traces.length} trace annotations but ${Array.isArray(traces) ? traces.length : describe(traces)} traces; pass one trace per trace annotation, in the same order`,
      );
    }
  });
}

/**
 * offspect's `populate`: creates (or replaces) a CacheFile from annotations
 * and traces. Origin attributes are copied onto every trace; each dataset is
 * named by its trace's `id`. The file is written beside `tf` and renamed over
 * it only when complete, so `tf` is never half-written.
 *
 * @example
 * ```ts
 * const factory = new AnnotationFactory({ readin: "tms", readout: "cmep", origin: "S01_run1.xdf" });
 * factory.setOriginAttrs({ channel_labels: ["EDC_L"], channel_of_interest: "EDC_L", samplingrate: 1000,
 *   samples_pre_event: 100, samples_post_event: 100, subject: "S01", filedate: "2020-05-17 18:02:00" });
 * factory.appendTrace({ event_name: "S 1", event_sample: 1200, event_time: 1.2, xyz_coords: [37, 22.8, 54.2] });
 * populate("S01.hdf5", [factory.anno], [[{ data: new Float64Array(200), shape: [200, 1] }]]);
 * ```
 * Progress events count traces (`unit: "traces"`): one `write` event per
 * trace, then `done`.
 *
 * @returns the absolute path of the file
 * @throws {AnnotationError} annotations and traces do not match in number, or a trace has no integer id
 * @throws {TraceDataError} a trace's data is not samples x channels numbers
 * @throws {ConsistencyError} an origin appears twice or two traces share an id
 * @throws {InvalidSuffixError} `tf` does not end in .hdf5
 * @throws {TargetFolderError} the folder `tf` goes into does not exist, or `tf` is a folder
 */
export function populate(tf: string, annotations: Annotation[], traceslist: TraceInput[][], options: PopulateOptions = {}): string {
  return runSync(populateWork(tf, annotations, traceslist, options));
}

/**
 * {@link populate} without blocking the event loop for long: the work
 * pauses for a turn of the loop every 32 traces; `signal` stops it, leaving
 * `tf` as it was and no temporary file (AbortedError).
 * @example
 * ```ts
 * await createCacheFile("S01.hdf5", [factory.anno], [traces], { signal });
 * ```
 */
export function createCacheFile(tf: string, annotations: Annotation[], traceslist: TraceInput[][], options: PopulateOptions & { signal?: AbortSignal } = {}): Promise<string> {
  return runAsync(populateWork(tf, annotations, traceslist, options), options.signal, `writing ${tf}`, NOTHING_WRITTEN);
}

/** {@link createCacheFile}, blocking: the same as offspect's {@link populate}. */
export function createCacheFileSync(tf: string, annotations: Annotation[], traceslist: TraceInput[][], options: PopulateOptions = {}): string {
  return populate(tf, annotations, traceslist, options);
}

function* populateWork(tf: string, annotations: Annotation[], traceslist: TraceInput[][], options: PopulateOptions): Generator<unknown, string> {
  const target = resolve(expandUser(tf));
  checkValidSuffix(target);
  checkAnnotationShape(annotations, traceslist);
  TargetFolderError.check(target);
  const origins = new Set<string>();
  for (const a of annotations) {
    if (origins.has(a.origin)) throw new ConsistencyError("origin", [a.origin], `Origins are not unique: ${JSON.stringify(a.origin)} appears twice`);
    origins.add(a.origin);
  }
  const total = annotations.reduce((n, a) => n + a.traces.length, 0);
  let done = 0;
  const progress = options.onProgress;
  yield* writeAtomicallySteps(
    target,
    function* (tmp) {
      using f = H5File.open(tmp, "x");
      for (const [i, a] of annotations.entries()) {
        const floats = floatKeys(a.attrs["readin"], a.attrs["readout"]);
        const originText = strValues(a.attrs, floats);
        const group = `/${a.origin}`;
        f.createGroup(group);
        f.setAttrs(group, originText);
        f.createGroup(`${group}/traces`);
        const names = new Set<string>();
        for (const [j, t] of a.traces.entries()) {
          if (!t || typeof t !== "object") throw new AnnotationError(`populate: expected trace attributes (an object) for origin ${JSON.stringify(a.origin)}, trace ${j}, got ${describe(t)}`);
          const text = strValues({ ...t, ...a.attrs }, floats);
          const name = text["id"];
          if (name === undefined) throw new AnnotationError(`populate: expected an id for origin ${JSON.stringify(a.origin)}, trace ${j}: the trace attributes have none; set id to the trace's number`);
          if (!/^-?[0-9]+$/.test(name)) {
            throw new AnnotationError(`populate: expected an integer id for origin ${JSON.stringify(a.origin)}, trace ${j}, got ${JSON.stringify(name)}`);
          }
          if (names.has(name)) {
            throw new ConsistencyError("id", [name], `origin ${JSON.stringify(a.origin)} has two traces with id ${name}; ids must be unique within an origin`);
          }
          names.add(name);
          const { data, shape } = toDataset((traceslist[i] as TraceInput[])[j]!, `origin ${JSON.stringify(a.origin)}, trace ${j}`);
          const path = `${group}/traces/${name}`;
          f.createDataset(path, data, shape);
          f.setAttrs(path, text);
          done++;
          progress?.({ phase: "write", unit: "traces", origin: a.origin, done, total });
          if (done % 32 === 0) yield;
        }
      }
      f.flush();
    },
    options,
  );
  progress?.({ phase: "done", unit: "traces", done, total });
  return target;
}

const TRACE_DEFAULTS: Record<string, unknown> = {
  comment: "",
  examiner: "",
  reject: false,
  onset_shift: 0,
  time_since_last_pulse_in_s: null,
  xyz_coords: [NaN, NaN, NaN],
};

/**
 * Builds the annotation of one origin for {@link populate} with the keys of
 * its readin/readout: origin attributes are checked against their types, and
 * each appended trace gets every key its readout has (nullable keys default
 * to null, `reject` to False, `onset_shift` to 0, `comment`/`examiner` to "",
 * `id` to its position, `channel_of_interest` to the origin's).
 *
 * @example
 * ```ts
 * const f = new AnnotationFactory({ readin: "tms", readout: "cmep", origin: "run1.xdf" });
 * f.setOriginAttrs({ channel_labels: ["EDC_L"], channel_of_interest: "EDC_L", samplingrate: 1000,
 *   samples_pre_event: 100, samples_post_event: 100, subject: "S01", filedate: "2020-05-17 18:02:00" });
 * f.appendTrace({ event_name: "S 1", event_sample: 1200, event_time: 1.2, xyz_coords: [37, 22.8, 54.2] });
 * f.anno; // { origin: "run1.xdf", attrs: {...}, traces: [{...}] }
 * ```
 */
export class AnnotationFactory {
  readonly readin: string;
  readonly readout: string;
  readonly origin: string;
  readonly #spec: ReadoutSpec;
  readonly #floats: Set<string>;
  #attrs: Record<string, unknown>;
  readonly #traces: Record<string, unknown>[] = [];

  /**
   * @throws {UnknownReadoutError} the readin/readout is not registered
   * @throws {AnnotationError} origin is not a file name
   */
  constructor(options: { readin: string; readout: string; origin: string }) {
    this.#spec = getReadout(options.readin, options.readout);
    this.readin = options.readin;
    this.readout = options.readout;
    if (typeof options.origin !== "string" || options.origin === "" || options.origin.includes("/")) {
      throw new AnnotationError(`AnnotationFactory: expected a file name without "/" for origin, got ${describe(options.origin)}`);
    }
    this.origin = options.origin;
    this.#floats = floatKeys(options.readin, options.readout);
    this.#attrs = { readin: options.readin, readout: options.readout, global_comment: "", history: "", version: "0.1.2" };
  }

  /** The origin keys this factory accepts. */
  get originKeys(): string[] {
    return Object.keys(ORIGIN_KEYS);
  }

  /** The trace keys of the readout (generic and readout-specific). */
  get traceKeys(): string[] {
    return Object.keys({ ...GENERIC_TRACE_KEYS, ...this.#spec.keys });
  }

  #check(values: Record<string, unknown>, specs: Record<string, KeySpec>, what: string): void {
    const problems: AttributeProblem[] = [];
    for (const [key, value] of Object.entries(values)) {
      const spec = specs[key];
      if (!spec) {
        problems.push({ key, value: String(value), expected: `one of ${Object.keys(specs).join(", ")}`, message: `${key} is not a ${what} key of readout ${this.readout}` });
        continue;
      }
      const problem = checkValue(key, pythonStr(value, this.#floats.has(key)), spec);
      if (problem) problems.push(problem);
    }
    if (problems.length > 0) throw new InvalidAttributeError(problems);
  }

  /**
   * Sets (merges in) origin attributes; `readin` and `readout` are fixed by
   * the constructor.
   * @throws {InvalidAttributeError} unknown keys or values of the wrong type
   */
  setOriginAttrs(attrs: Record<string, unknown>): this {
    const { readin, readout, ...rest } = attrs;
    if ((readin !== undefined && readin !== this.readin) || (readout !== undefined && readout !== this.readout)) {
      throw new InvalidAttributeError([
        { key: "readout", value: String(readout ?? readin), expected: `${this.readin}/${this.readout}`, message: "readin and readout are fixed when the factory is made" },
      ]);
    }
    this.#check(rest, ORIGIN_KEYS, "origin");
    this.#attrs = { ...this.#attrs, ...rest };
    return this;
  }

  /**
   * Appends one trace's attributes, filling every missing readout key with
   * its default. Returns the trace's position.
   * @throws {InvalidAttributeError} unknown keys, values of the wrong type, or required keys missing
   */
  appendTrace(attrs: Record<string, unknown>): number {
    const specs = { ...GENERIC_TRACE_KEYS, ...this.#spec.keys };
    const trace: Record<string, unknown> = { id: this.#traces.length };
    for (const [key, spec] of Object.entries(specs)) {
      if (key === "_log") continue;
      if (key in TRACE_DEFAULTS) trace[key] = TRACE_DEFAULTS[key];
      else if (key === "channel_of_interest") trace[key] = this.#attrs["channel_of_interest"];
      else if (spec.nullable) trace[key] = null;
    }
    Object.assign(trace, attrs);
    const missing = Object.keys(specs).filter((k) => k !== "_log" && trace[k] === undefined);
    if (missing.length > 0) {
      throw new InvalidAttributeError(
        missing.map((key) => ({ key, value: undefined, expected: "a value", message: `${key}: missing, and it has no default` })),
      );
    }
    this.#check(trace, specs, "trace");
    this.#traces.push(trace);
    return this.#traces.length - 1;
  }

  /**
   * The annotation for {@link populate}.
   * @throws {InvalidAttributeError} required origin keys are missing
   */
  get anno(): Annotation {
    const missing = Object.entries(ORIGIN_KEYS).filter(([k, s]) => !s.optional && this.#attrs[k] === undefined);
    if (missing.length > 0) {
      throw new InvalidAttributeError(
        missing.map(([key, spec]) => ({ key, value: undefined, expected: spec.kind, message: `${key}: missing origin attribute; set it with setOriginAttrs()` })),
      );
    }
    return { origin: this.origin, attrs: { ...this.#attrs }, traces: this.#traces.map((t) => ({ ...t })) };
  }
}
