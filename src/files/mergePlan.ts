/**
 * What `merge` changes in a spliced source, and how: from the parse of a
 * source (its origins and traces with their attributes as stored), the
 * changes that make it what offspect's merge writes (normalized values,
 * origin values on every trace, datasets named by their ids and stored as
 * float64, nothing else in an origin), planned before the source is
 * copied and applied through libhdf5 after the copy.
 * @internal
 * @module
 */
import { ConsistencyError, LayoutError } from "../base/errors.js";
import { TRACE_NAME } from "../cachefile/traceIndex.js";
import type { H5File } from "../hdf5/file.js";
import { setOwn } from "../base/own.js";
import { normalizeAttrValue } from "../values/index.js";
import { type AttributeList, attributeRecord, type ParsedObject } from "../hdf5/splice.js";

/** Every attribute as offspect's merge stores it: str(parse(value)). */
export function normalizeAll(attrs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) setOwn(out, k, normalizeAttrValue(k, v));
  return out;
}

/** The attributes of `want` that `stored` lacks or holds otherwise, plus those stored with another type. */
function changedAttrs(stored: Record<string, string>, want: Record<string, string>, nonStandard: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(want)) {
    if (stored[k] !== v || nonStandard.includes(k)) setOwn(out, k, v);
  }
  return out;
}

/** What changing a copy needs to know about one trace. */
interface TraceInspection {
  name: string;
  attrs: AttributeList;
  nonStandard: string[];
  plainFloat64: boolean | null;
}

/** One origin group of a spliced source. */
export interface OriginInfo {
  origin: string;
  attrs: Record<string, string>;
  nonStandard: string[];
  /** Names of the origin group's members. */
  members: string[];
  /** Names of the attributes of its `traces` group. */
  tracesAttrs: readonly string[];
  /** Its traces, by name. */
  traces: TraceInspection[];
}

/** One change that turns a spliced origin group into what offspect's merge writes. */
export type Fixup =
  | { op: "setAttrs"; path: string; attrs: Record<string, string> }
  | { op: "remove"; path: string }
  | { op: "deleteAttr"; path: string; name: string }
  /** Rewrite a dataset as float64 with these attributes. */
  | { op: "rewrite"; path: string; attrs: Record<string, string> }
  | { op: "move"; from: string; to: string };

/**
 * What offspect's merge stores for a trace attribute: the origin's value
 * for an origin key, else the stored value normalized. The traces of one
 * file carry the same names in the same order, and many the same values:
 * the answer for a name and value at a position of the record is kept, and
 * given again when the next trace holds the same two there.
 */
class WantMemo {
  readonly #origin: Map<string, string>;
  readonly #keys: string[] = [];
  readonly #values: string[] = [];
  readonly #wants: string[] = [];
  readonly #fromOrigin: boolean[] = [];

  constructor(origin: Map<string, string>) {
    this.#origin = origin;
  }

  want(position: number, key: string, value: string): string {
    if (this.#keys[position] === key && this.#values[position] === value) return this.#wants[position]!;
    const originValue = this.#origin.get(key);
    const want = originValue ?? normalizeAttrValue(key, value);
    this.#keys[position] = key;
    this.#values[position] = value;
    this.#wants[position] = want;
    this.#fromOrigin[position] = originValue !== undefined;
    return want;
  }

  /** Whether the last {@link want} at `position` gave the origin's value. */
  fromOrigin(position: number): boolean {
    return this.#fromOrigin[position]!;
  }
}

/**
 * The changes that make a spliced origin group what offspect's merge
 * writes: the origin's values normalized (as str(parse(value))) and stored
 * as vlen UTF-8; nothing in the group but `traces`, no attributes on
 * `traces`; every trace with its normalized values plus the origin's, as
 * float64, named by its id (through temporary names, so that swaps cannot
 * collide).
 * @throws {LayoutError} a trace's id is not an integer
 * @throws {ConsistencyError} two traces of the origin have the same id
 */
export function planOrigin(file: string, o: OriginInfo): Fixup[] {
  const group = `/${o.origin}`;
  const traces = `${group}/traces`;
  const originText = normalizeAll(o.attrs);
  const fixups: Fixup[] = [];
  const originChanges = changedAttrs(o.attrs, originText, o.nonStandard);
  if (Object.keys(originChanges).length > 0) fixups.push({ op: "setAttrs", path: group, attrs: originChanges });
  for (const member of o.members) if (member !== "traces") fixups.push({ op: "remove", path: `${group}/${member}` });
  for (const name of o.tracesAttrs) fixups.push({ op: "deleteAttr", path: traces, name });

  const renames: [string, string][] = [];
  const finalNames = new Set<string>();
  const originValues = new Map(Object.entries(originText));
  const memo = new WantMemo(originValues);
  // Per trace: want = { ...normalizeAll(info.attrs), ...originText }, and the attributes where it differs
  // from what is stored; computed without building `want` unless the whole dataset is rewritten.
  let want: Record<string, string> | undefined;
  let nonStandard: string[] = [];
  let changes: Record<string, string> | undefined;
  const consider = (k: string, v: string, stored: string | undefined) => {
    if (want) setOwn(want, k, v);
    else if (stored !== v || nonStandard.includes(k)) setOwn((changes ??= {}), k, v);
  };
  for (const info of o.traces) {
    const path = `${traces}/${info.name}`;
    want = info.plainFloat64 === false ? {} : undefined;
    nonStandard = info.nonStandard;
    changes = undefined;
    const { names, values } = info.attrs;
    let originKeys = 0;
    let storedId: string | undefined;
    for (let p = 0; p < names.length; p++) {
      const k = names[p]!;
      const value = values[p]!;
      const v = memo.want(p, k, value);
      if (memo.fromOrigin(p)) originKeys++;
      if (k === "id") storedId = value;
      if (want || v !== value || nonStandard.length > 0) consider(k, v, value);
    }
    if (originKeys < originValues.size) {
      const have = new Set(names);
      for (const [k, v] of originValues) if (!have.has(k)) consider(k, v, undefined);
    }
    if (want) fixups.push({ op: "rewrite", path, attrs: want }); // offspect stores every trace as float64
    else if (changes) fixups.push({ op: "setAttrs", path, attrs: changes });
    const id = traceId(file, path, originValues.get("id") ?? (storedId !== undefined ? normalizeAttrValue("id", storedId) : info.name));
    if (finalNames.has(id)) throw duplicateId(file, o.origin, id);
    finalNames.add(id);
    if (id !== info.name) renames.push([info.name, id]);
  }
  renames.forEach(([from], k) => fixups.push({ op: "move", from: `${traces}/${from}`, to: `${traces}/\u0001renaming${k}` }));
  renames.forEach(([, to], k) => fixups.push({ op: "move", from: `${traces}/\u0001renaming${k}`, to: `${traces}/${to}` }));
  return fixups;
}

export function traceId(file: string, path: string, id: string): string {
  if (!TRACE_NAME.test(id)) throw new LayoutError(file, `trace ${path} has id ${JSON.stringify(id)}, which is not an integer`, "ETRACEID");
  return id;
}

export function duplicateId(file: string, origin: string, id: string): ConsistencyError {
  return new ConsistencyError("id", [id], `${file}: two traces of origin ${JSON.stringify(origin)} have id ${id}; ids must be unique within an origin`);
}

/** Applies fixups to the spliced file (datasets to rewrite are read from it too). */
export function applyFixups(dst: H5File, fixups: Iterable<Fixup>): void {
  for (const f of fixups) {
    switch (f.op) {
      case "setAttrs":
        dst.setAttrs(f.path, f.attrs);
        break;
      case "remove":
        dst.remove(f.path);
        break;
      case "deleteAttr":
        dst.deleteAttr(f.path, f.name);
        break;
      case "rewrite": {
        const raw = dst.read(f.path);
        dst.remove(f.path);
        dst.createDataset(f.path, raw.data, raw.shape);
        dst.setAttrs(f.path, f.attrs);
        break;
      }
      case "move":
        dst.move(f.from, f.to);
        break;
    }
  }
}

/** Rough size of fixups in memory, in characters. */
export function fixupSize(fixups: Fixup[]): number {
  let n = 0;
  for (const f of fixups) {
    n += 32;
    if (f.op === "move") n += f.from.length + f.to.length;
    else n += f.path.length;
    if (f.op === "setAttrs" || f.op === "rewrite") for (const [k, v] of Object.entries(f.attrs)) n += k.length + v.length + 16;
    if (f.op === "deleteAttr") n += f.name.length;
  }
  return n;
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * The origins of a spliced source when it is laid out as a CacheFile (root:
 * origin groups, each with a `traces` group of datasets named by integers,
 * every attribute read), else null.
 */
export function originsOf(objects: ParsedObject[]): OriginInfo[] | null {
  const children = new Map<string, ParsedObject[]>();
  for (const o of objects) {
    if (o.depth === 0) continue;
    const parent = o.depth === 1 ? "/" : o.path.slice(0, o.path.lastIndexOf("/"));
    let list = children.get(parent);
    if (!list) children.set(parent, (list = []));
    list.push(o);
  }
  const out: OriginInfo[] = [];
  for (const o of children.get("/") ?? []) {
    if (o.kind !== "group" || o.attrs === null) return null;
    const members = children.get(o.path) ?? [];
    const traces = members.find((m) => m.path === `${o.path}/traces`);
    if (!traces || traces.kind !== "group" || traces.attrs === null) return null;
    const list = children.get(traces.path) ?? [];
    const inspected: TraceInspection[] = [];
    for (const t of list) {
      if (t.kind !== "dataset" || t.attrs === null || !TRACE_NAME.test(baseName(t.path))) return null;
      inspected.push({ name: baseName(t.path), attrs: t.attrs, nonStandard: t.nonStandard, plainFloat64: t.plainFloat64 });
    }
    out.push({
      origin: baseName(o.path),
      attrs: attributeRecord(o.attrs),
      nonStandard: o.nonStandard,
      members: members.map((m) => baseName(m.path)),
      tracesAttrs: traces.attrs.names,
      traces: inspected,
    });
  }
  return out;
}

