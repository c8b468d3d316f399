// A consumer of the typed API and of the entries by concern, compiled with tsc --strict against the installed package's .d.ts only.
import { CacheFile, type Trace, type TraceUpdate, type WriteResult } from "offspect-cachefile";
import { CacheFile as OffspectCacheFile, encode, type TraceAttributes, type TraceData } from "offspect-cachefile/offspect";
import { mapValues, type MapValues } from "offspect-cachefile/map";
import { annotateTrace } from "offspect-cachefile/analysis";

export async function annotate(path: string): Promise<number> {
  const cf = await CacheFile.open(path);
  try {
    const first: Trace = await cf.trace(0);
    const peak: number | null = first.attrs.readout === "erp" ? null : first.attrs.pos_peak_magnitude_uv;
    const change: TraceUpdate = { reject: true, comment: "x" };
    const written: WriteResult = await cf.update(0, change);
    let samples = 0;
    for await (const t of cf.each({ batch: 8 })) {
      const data: Float64Array = t.data;
      const rejected: boolean = t.attrs.reject;
      samples += rejected ? 0 : data.length + t.shape[0];
    }
    // Both iterations of the root's CacheFile yield Traces.
    for (const t of cf) samples += t.index;
    for await (const t of cf) samples += t.id;
    const keys: string[] = written.written;
    return samples + (peak ?? 0) + keys.length;
  } finally {
    cf.close();
  }
}

export async function ported(path: string): Promise<number> {
  // offspect's CacheFile: text values, and [data, attrs] from both iterations.
  const cf = new OffspectCacheFile(path);
  const attrs: TraceAttributes = cf.getTraceAttrs(0);
  attrs["reject"] = encode(true);
  cf.setTraceAttrs(0, attrs);
  let n = 0;
  for (const [data, a] of cf) n += data.data.length + Object.keys(a).length;
  for await (const [data, a] of cf) n += (data satisfies TraceData).shape[1] + (a["id"] ?? "").length;
  const values: MapValues = mapValues(cf);
  const measured = annotateTrace(cf.getTraceData(0), cf.getTraceAttrs(0));
  return n + values.values.length + (measured.pos_peak_magnitude_uv ?? 0);
}
