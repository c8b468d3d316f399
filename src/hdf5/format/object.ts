/**
 * What an object header describes: a group (and where its members are), a
 * dataset (shape, type, storage), or a committed datatype; every message
 * the object carries decoded once and checked.
 * @internal
 * @module
 */
import { Cursor, UNDEF } from "./bytes.js";
import { damaged, unsupported } from "./errors.js";
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
import { type Message, MSG, type ObjectHeader, messageName } from "./objectHeader.js";

export type ObjectKind = "group" | "dataset" | "datatype";

export interface DatasetInfo {
  space: Dataspace;
  type: Datatype;
  layout: Layout;
  filters: Filter[];
  fill: FillValue;
  /** Raw data kept in external files (the external file list message). */
  external: boolean;
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

/** Decodes and checks every message of `header`, and classifies the object as libhdf5 does. */
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
  const links: Link[] = [];
  const attributes: Message[] = [];
  const once = <T>(current: T | null, m: Message): void => {
    if (current !== null) unsupported(`two ${messageName(m.type)} messages in ${what}`);
  };
  for (const m of header.messages) {
    if (m.type === MSG.ATTRIBUTE) {
      attributes.push(m);
      continue;
    }
    const c = new Cursor(m.body, m.addr, () => `${messageName(m.type)} message of ${what}`);
    switch (m.type) {
      case MSG.NIL:
      case MSG.BOGUS:
      case MSG.CONTINUATION:
        break;
      case MSG.DATASPACE:
        once(space, m);
        space = decodeDataspace(c);
        break;
      case MSG.DATATYPE:
        once(type, m);
        type = decodeDatatype(c);
        break;
      case MSG.FILL_OLD:
        decodeOldFillValue(c);
        break;
      case MSG.FILL:
        fill = decodeFillValue(c);
        break;
      case MSG.LAYOUT:
        once(layout, m);
        layout = decodeLayout(c);
        break;
      case MSG.FILTERS:
        filters = decodeFilters(c);
        break;
      case MSG.EXTERNAL:
        external = true;
        break;
      case MSG.ATTRIBUTE_INFO:
        once(attributeInfo, m);
        attributeInfo = decodeAttributeInfo(c);
        break;
      case MSG.SYMBOL_TABLE: {
        once(stab, m);
        const [btree, heap] = decodeSymbolTable(c);
        stab = [btree, heap, m.addr];
        break;
      }
      case MSG.LINK_INFO:
        once(linkInfo, m);
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
        unsupported(`a ${messageName(m.type)} message in ${what}`);
    }
  }
  const kind = classify(header, what);
  let group: GroupStorage | null = null;
  let dataset: DatasetInfo | null = null;
  if (kind === "group") {
    if (stab && (linkInfo || links.length > 0)) unsupported(`${what} is both an old-style and a new-style group`);
    if (stab) {
      if (stab[0] === UNDEF || stab[1] === UNDEF) damaged(`the symbol table of ${what} has no B-tree or heap`);
      group = { kind: "symbolTable", btree: stab[0], heap: stab[1], stabPos: stab[2] };
    } else {
      group = { kind: "links", links, info: linkInfo };
    }
  } else if (kind === "dataset") {
    if (!layout) damaged(`dataset ${what} has no data layout`);
    dataset = { space: space!, type: type!, layout, filters, fill, external };
  } else if (links.length > 0) {
    unsupported(`${what} holds link messages but is not a group`);
  }
  return { header, kind, group, dataset, attributes, attributeInfo };
}
