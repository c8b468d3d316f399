/**
 * offspect's `recover_annotations` and `recover_parts`: the annotations (and
 * traces) of a CacheFile, organised by origin, in the form `populate` takes.
 * @module
 */
import { type CacheFileBase, parseTraceAttrs, parseTraceData, sessionOf, type TraceData } from "../cachefile/index.js";
import type { Annotation } from "./build.js";

/**
 * The per-origin annotations of a CacheFile: origin attributes and every
 * trace's attributes, values parsed as offspect's `parse_traceattrs` does.
 * Traces come in the file's name order ("0", "1", "10", "2", ...), as h5py
 * and offspect list them.
 * @example
 * const [first] = recoverAnnotations(new CacheFile("session.hdf5"));
 * first.attrs.readout; // "cmep"
 */
export function recoverAnnotations(cf: CacheFileBase): Annotation[] {
  return sessionOf(cf).withReader((f) =>
    f.keys("/").map((origin) => ({
      origin,
      attrs: parseTraceAttrs(f.attrs(`/${origin}`)),
      traces: f.keys(`/${origin}/traces`).map((name) => parseTraceAttrs(f.attrs(`/${origin}/traces/${name}`))),
    })),
  );
}

/**
 * The two parts of a CacheFile: the annotations (as {@link recoverAnnotations})
 * and the traces, organised `[origin][trace]` in the same order.
 * @example
 * const [annotations, traces] = recoverParts(cf);
 * populate("copy.hdf5", annotations, traces);
 */
export function recoverParts(cf: CacheFileBase): [Annotation[], TraceData[][]] {
  return sessionOf(cf).withReader((f) => {
    const annotations: Annotation[] = [];
    const traces: TraceData[][] = [];
    for (const origin of f.keys("/")) {
      const names = f.keys(`/${origin}/traces`);
      annotations.push({
        origin,
        attrs: parseTraceAttrs(f.attrs(`/${origin}`)),
        traces: names.map((name) => parseTraceAttrs(f.attrs(`/${origin}/traces/${name}`))),
      });
      traces.push(names.map((name) => parseTraceData(f, `/${origin}/traces/${name}`)));
    }
    return [annotations, traces];
  });
}
