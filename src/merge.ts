/**
 * offspect's `merge`: one or more CacheFiles into one, with the same result
 * as offspect (same origins, attribute names and values, data), but
 * streaming, atomic and fast.
 *
 * offspect reads every source completely, parses each attribute value,
 * and writes a new file with Python's `str()` of each value, the origin
 * attributes copied onto every trace and each dataset named by its trace's
 * id. Here each origin group is copied natively (H5Ocopy: object headers and
 * data in one pass, no trace held in memory) and then only what offspect's
 * rewrite would change is changed: attribute values whose `str(parse(v))`
 * differs, attributes not stored as h5py stores a str, origin values missing
 * from or differing on a trace, datasets named otherwise than their id, and
 * data not stored as plain float64.
 * @module
 */
import { existsSync, realpathSync } from "node:fs";
import { resolve } from "node:path";
import { type AtomicOptions, writeAtomically } from "./atomic.js";
import { checkOriginValues, expandUser, type OriginValues, type ProgressCallback } from "./build.js";
import { CacheFile, checkValidSuffix } from "./cachefile.js";
import { ConsistencyError, FileNotFoundError, LayoutError } from "./errors.js";
import { H5File, readFile } from "./h5.js";
import { normalizeAttrValue } from "./pyliteral.js";
import { MUST_BE_IDENTICAL } from "./readouts.js";

export interface MergeOptions extends AtomicOptions {
  /** Called as traces are checked and copied. */
  onProgress?: ProgressCallback;
}

function normalizeAll(attrs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) {
    Object.defineProperty(out, k, { value: normalizeAttrValue(k, v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** The attributes of `want` that `stored` lacks or holds otherwise, plus those stored with another type. */
function changedAttrs(stored: Record<string, string>, want: Record<string, string>, nonStandard: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(want)) {
    if (stored[k] !== v || nonStandard.includes(k)) {
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }
  return out;
}

interface Counter {
  done: number;
  total: number;
  report?: ProgressCallback;
}

/** Copies one origin group from `src` into `dst` and makes it what offspect's merge writes. */
function copyOrigin(src: H5File, dst: H5File, origin: string, counter: Counter): void {
  const group = `/${origin}`;
  const traces = `${group}/traces`;
  const originInfo = src.inspect(group);
  const originText = normalizeAll(originInfo.attrs);
  const names = src.keys(traces);
  const infos = names.map((name) => src.inspect(`${traces}/${name}`));

  src.copyTo(group, dst, group);

  // The origin group: normalized values, vlen UTF-8 strings, nothing but "traces".
  const originChanges = changedAttrs(originInfo.attrs, originText, originInfo.nonStandard);
  if (Object.keys(originChanges).length > 0) dst.setAttrs(group, originChanges);
  for (const member of src.keys(group)) if (member !== "traces") dst.remove(`${group}/${member}`);
  for (const name of Object.keys(src.attrs(traces))) dst.deleteAttr(traces, name);

  const renames: [string, string][] = [];
  const finalNames = new Set<string>();
  names.forEach((name, i) => {
    const info = infos[i]!;
    const path = `${traces}/${name}`;
    const want = { ...normalizeAll(info.attrs), ...originText };
    if (info.plainFloat64 === false) {
      // offspect stores every trace as float64 (numpy's default layout).
      const raw = src.read(path);
      dst.remove(path);
      dst.createDataset(path, raw.data, raw.shape);
      dst.setAttrs(path, want);
    } else {
      const changes = changedAttrs(info.attrs, want, info.nonStandard);
      if (Object.keys(changes).length > 0) dst.setAttrs(path, changes);
    }
    const id = want["id"] ?? name;
    if (!/^-?[0-9]+$/.test(id)) {
      throw new LayoutError(src.path, `trace ${path} has id ${JSON.stringify(id)}, which is not an integer`, "ETRACEID");
    }
    if (finalNames.has(id)) {
      throw new ConsistencyError("id", [id], `${src.path}: two traces of origin ${JSON.stringify(origin)} have id ${id}; ids must be unique within an origin`);
    }
    finalNames.add(id);
    if (id !== name) renames.push([name, id]);
    counter.done++;
    counter.report?.({ phase: "write", file: src.path, origin, done: counter.done, total: counter.total });
  });
  // Datasets are named by their id; rename through temporary names so that swaps cannot collide.
  renames.forEach(([from], k) => dst.move(`${traces}/${from}`, `${traces}/\u0001renaming${k}`));
  renames.forEach(([, to], k) => dst.move(`${traces}/\u0001renaming${k}`, `${traces}/${to}`));
}

/**
 * Merges one or more CacheFiles into `to` (replacing it), after offspect's
 * consistency check: unique origins, one readout and readin, identical
 * must-be-identical origin keys. The result equals offspect's merge of the
 * same sources. It is written beside `to` and renamed into place only when
 * complete and flushed: on any failure, or if the process is killed, `to` is
 * either the complete new file or what it was before. Sources are only read.
 *
 * @example
 * ```ts
 * merge("S01_all.hdf5", ["S01_run1.hdf5", "S01_run2.hdf5"], {
 *   onProgress: ({ done, total }) => process.stderr.write(`\r${done}/${total}`),
 * });
 * ```
 * @returns the absolute path of the merged file
 * @throws {ConsistencyError} the sources cannot be merged (nothing is written)
 * @throws {FileNotFoundError} / {InvalidSuffixError} / {LayoutError} / ... a source is not a readable CacheFile
 */
export function merge(to: string, sources: string[], options: MergeOptions = {}): string {
  const target = resolve(expandUser(to));
  checkValidSuffix(target);
  if (!Array.isArray(sources) || sources.length === 0) {
    throw new ConsistencyError("sources", [], "no source files to merge: pass at least one CacheFile");
  }
  const paths = sources.map((s) => {
    if (typeof s !== "string") throw new TypeError(`sources: expected file names, got ${typeof s}`);
    return resolve(expandUser(s));
  });
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : p);
  const targetReal = real(target);
  for (const p of paths) {
    if (!existsSync(p)) throw new FileNotFoundError(p);
    if (real(p) === targetReal) {
      throw new ConsistencyError("to", [target], `the target ${target} is also a source; merge into a new file, sources are never modified`);
    }
  }

  // Check everything before writing anything.
  const origins: OriginValues[] = [];
  const counter: Counter = { done: 0, total: 0, ...(options.onProgress ? { report: options.onProgress } : {}) };
  paths.forEach((source, i) => {
    const cf = new CacheFile(source);
    try {
      for (const { origin, attrs, traces } of cf.originAttrs()) {
        const values: Record<string, string | undefined> = {};
        for (const key of MUST_BE_IDENTICAL) values[key] = key in attrs ? normalizeAttrValue(key, attrs[key]!) : undefined;
        origins.push({ origin, source, values });
        counter.total += traces;
      }
    } finally {
      cf.close();
    }
    options.onProgress?.({ phase: "check", file: source, done: i + 1, total: paths.length });
  });
  checkOriginValues(origins);

  writeAtomically(
    target,
    (tmp) => {
      using dst = H5File.open(tmp, "x");
      for (const source of paths) {
        using src = readFile(source);
        for (const origin of src.keys("/")) copyOrigin(src, dst, origin, counter);
      }
      dst.flush();
    },
    options,
  );
  options.onProgress?.({ phase: "done", done: counter.done, total: counter.total });
  return target;
}
