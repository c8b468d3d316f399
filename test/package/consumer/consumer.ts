// A consumer of the typed API, compiled with tsc --strict against the installed package's .d.ts only.
import { CacheFile, type Trace, type TraceUpdate, type WriteResult } from "offspect-cachefile";

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
    const keys: string[] = written.written;
    return samples + (peak ?? 0) + keys.length;
  } finally {
    cf.close();
  }
}
