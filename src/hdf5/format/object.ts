/**
 * What an object header describes: a group (and where its members are), a
 * dataset (shape, type, storage), or a committed datatype; every message
 * the object carries decoded once and checked.
 * @internal
 * @module
 */
import { Cursor, UNDEF } from "./bytes.js";
import { damaged, FormatUnsupported } from "./errors.js";
import {
  type AttributeInfo,
  checkComment,
  checkGroupInfo,
  checkModificationTime,
  checkOldModificationTime,
  checkRefCount,
  type Dataspace,
  type Datatype,
  decodeAttributeInfo,
  decodeDataspace,
  decodeDatatype,
  decodeFillValue,
  decodeFilters,
  decodeLayout,
  decodeLink,
  decodeLinkInfo,
  decodeOldFillValue,
  decodeSymbolTable,
  type FillValue,
  type Filter,
  type Layout,
  type Link,
  type LinkInfo,
} from "./messages.js";
import { FLAG_SHARED, type Message, MSG, type ObjectHeader, messageName } from "./objectHeader.js";

export type ObjectKind = "group" | "dataset" | "datatype";

export interface DatasetInfo {
  space: Dataspace;
  type: Datatype;
  layout: Layout;
  filters: Filter[];
  fill: FillValue;
  /** Raw data kept in external files (the external file list message). */
  external: boolean;
  /** Why libhdf5 must read this dataset's shape and values (a shared datatype, an old layout), if it must. */
  declined?: string;
}

export type GroupStorage =
  | { kind: "symbolTable"; btree: number; heap: number; stabPos: number }
  | { kind: "links"; links: Link[]; info: LinkInfo | null };

export interface ObjectInfo {
  header: ObjectHeader;
  kind: ObjectKind;
  group: GroupStorage | null;
  dataset: DatasetInfo | null;
  /** Attribute messages kept in the header. */
  attributes: Message[];
  /** Dense attribute storage, when the object has one. */
  attributeInfo: AttributeInfo | null;
  /** Why libhdf5 must read this object's attributes, if it must. */
  attributesDeclined?: string;
}

/**
 * The kind of object a header describes, as libhdf5 decides it from the
 * messages present (H5O__obj_class): a symbol table or link info message
 * makes a group, a datatype and a dataspace a dataset, a datatype alone a
 * committed datatype.
 */
export function classify(header: ObjectHeader, what: string): ObjectKind {
  let group = false;
  let type = false;
  let space = false;
  for (const m of header.messages) {
    if (m.type === MSG.SYMBOL_TABLE || m.type === MSG.LINK_INFO) group = true;
    else if (m.type === MSG.DATATYPE) type = true;
    else if (m.type === MSG.DATASPACE) space = true;
  }
  if (group) return "group";
  if (type && space) return "dataset";
  if (type) return "datatype";
  damaged(`the object header of ${what} at address ${header.addr} describes no group, dataset or datatype`);
}

/**
 * Decodes and checks every message of `header`, and classifies the object
 * as libhdf5 does. What the module does not read (a committed datatype, an
 * old layout, shared attribute messages) is declined for that part only
 * (`dataset.declined`, `attributesDeclined`), so the rest is still read and
 * checked here; what contradicts the format is damage.
 */
export function describeObject(header: ObjectHeader, what: string): ObjectInfo {
  let space: Dataspace | null = null;
  let type: Datatype | null = null;
  let layout: Layout | null = null;
  let filters: Filter[] = [];
  let fill: FillValue = { value: null };
  let external = false;
  let stab: [number, number, number] | null = null;
  let linkInfo: LinkInfo | null = null;
  let attributeInfo: AttributeInfo | null = null;
  let declined: string | undefined;
  let attributesDeclined: string | undefined;
  const links: Link[] = [];
  const attributes: Message[] = [];
  const seen = new Set<number>();
  for (const m of header.messages) {
    if (m.type === MSG.ATTRIBUTE) {
      if (m.flags & FLAG_SHARED) attributesDeclined ??= `a shared attribute message (a shared message table) in ${what}`;
      else attributes.push(m);
      continue;
    }
    if (ONCE.has(m.type)) {
      if (seen.has(m.type)) damaged(`two ${messageName(m.type)} messages in ${what}`);
      seen.add(m.type);
    }
    if (m.flags & FLAG_SHARED) {
      // A committed datatype, or a message in a shared message table: libhdf5 reads the dataset.
      declined ??= `a shared ${messageName(m.type)} message in ${what}`;
      if (m.type === MSG.DATATYPE) type = { kind: "other", cls: -1, size: 0 };
      if (m.type === MSG.DATASPACE) space = { kind: "simple", dims: [], maxDims: null, elements: 0 };
      continue;
    }
    const c = new Cursor(m.body, m.addr, `${messageName(m.type)} message of ${what}`);
    switch (m.type) {
      case MSG.NIL:
      case MSG.BOGUS:
      case MSG.CONTINUATION:
        break;
      case MSG.DATASPACE:
        space = decodeDataspace(c);
        break;
      case MSG.DATATYPE:
        type = decodeDatatype(c);
        break;
      case MSG.FILL_OLD:
        decodeOldFillValue(c);
        break;
      case MSG.FILL:
        fill = decodeFillValue(c);
        break;
      case MSG.LAYOUT:
        try {
          layout = decodeLayout(c);
        } catch (e) {
          if (!(e instanceof FormatUnsupported)) throw e;
          declined ??= e.message;
          layout = { kind: "virtual", version: 0 };
        }
        break;
      case MSG.FILTERS:
        filters = decodeFilters(c);
        break;
      case MSG.EXTERNAL:
        external = true;
        break;
      case MSG.ATTRIBUTE_INFO:
        attributeInfo = decodeAttributeInfo(c);
        break;
      case MSG.SYMBOL_TABLE: {
        const [btree, heap] = decodeSymbolTable(c);
        stab = [btree, heap, m.addr];
        break;
      }
      case MSG.LINK_INFO:
        linkInfo = decodeLinkInfo(c);
        break;
      case MSG.LINK:
        links.push(decodeLink(c));
        break;
      case MSG.GROUP_INFO:
        checkGroupInfo(c);
        break;
      case MSG.COMMENT:
        checkComment(c);
        break;
      case MSG.MTIME:
        checkModificationTime(c);
        break;
      case MSG.MTIME_OLD:
        checkOldModificationTime(c);
        break;
      case MSG.REFCOUNT:
        checkRefCount(c);
        break;
      default:
        // Types libhdf5 1.10 does not know: ignored, as libhdf5 ignores them.
        if (m.type > MSG.FILE_SPACE) break;
        // Superblock extension messages (shared message table, B-tree K values, driver, file space) belong nowhere else.
        damaged(`a ${messageName(m.type)} message in the object header of ${what}`);
    }
  }
  const kind = classify(header, what);
  let group: GroupStorage | null = null;
  let dataset: DatasetInfo | null = null;
  if (kind === "group") {
    if (stab && (linkInfo || links.length > 0)) damaged(`${what} is both an old-style and a new-style group`);
    if (stab) {
      if (stab[0] === UNDEF || stab[1] === UNDEF) damaged(`the symbol table of ${what} has no B-tree or heap`);
      group = { kind: "symbolTable", btree: stab[0], heap: stab[1], stabPos: stab[2] };
    } else {
      group = { kind: "links", links, info: linkInfo };
    }
  } else if (kind === "dataset") {
    if (!layout) damaged(`dataset ${what} has no data layout`);
    dataset = { space: space!, type: type!, layout, filters, fill, external, ...(declined !== undefined ? { declined } : {}) };
  } else if (links.length > 0) {
    damaged(`${what} holds link messages but is not a group`);
  }
  return { header, kind, group, dataset, attributes, attributeInfo, ...(attributesDeclined !== undefined ? { attributesDeclined } : {}) };
}

/** Messages an object header holds at most once. */
const ONCE = new Set<number>([MSG.DATASPACE, MSG.DATATYPE, MSG.LAYOUT, MSG.FILTERS, MSG.FILL, MSG.FILL_OLD, MSG.ATTRIBUTE_INFO, MSG.SYMBOL_TABLE, MSG.LINK_INFO, MSG.GROUP_INFO, MSG.EXTERNAL]);
