import { monitorEventLoopDelay } from "node:perf_hooks";
import { setImmediate as tick } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheFile, encode, IndexRangeError, IndexTypeError, InvalidAttributeError, openObjectCount } from "../src/index.js";
import { copyFixture, dataSha256, expected, fixture, fixtureNames, tempDir } from "./helpers/fixtures.js";

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir()));
afterAll(() => cleanup());

describe("async API", () => {
  it("CacheFile.open, traceData, traceAttrs and traces give the sync answers for every fixture", async () => {
    for (const name of fixtureNames()) {
      const want = expected(name);
      const cf = await CacheFile.open(fixture(name));
      expect(cf.length).toBe(want.len);
      if (want.len > 0) {
        const last = want.len - 1;
        expect(await cf.traceAttrs(last)).toEqual({ ...want.traces[last]!.attrs, cache_file: cf.fname });
        expect(dataSha256((await cf.traceData(last)).data)).toBe(want.traces[last]!.sha256_f64le);
      }
      for (const batch of [1, 7, 64]) {
        let i = 0;
        for await (const [data, attrs] of cf.traces({ batch })) {
          expect(attrs).toEqual({ ...want.traces[i]!.attrs, cache_file: cf.fname });
          expect(data.shape).toEqual(want.traces[i]!.shape);
          expect(dataSha256(data.data)).toBe(want.traces[i]!.sha256_f64le);
          i++;
        }
        expect(i, `${name} batch ${batch}`).toBe(want.len);
      }
    }
    await tick();
    expect(openObjectCount()).toBe(0);
  });

  it("rejects bad indices as the sync calls throw", async () => {
    const cf = await CacheFile.open(fixture("template_R001.hdf5"));
    await expect(cf.traceAttrs(1.5)).rejects.toBeInstanceOf(IndexTypeError);
    await expect(cf.traceData(2)).rejects.toBeInstanceOf(IndexRangeError);
    await expect(CacheFile.open(fixture("nope.hdf5"))).rejects.toMatchObject({ code: "ENOENT" });
    await expect(cf.traces({ batch: 0 }).next()).rejects.toBeInstanceOf(RangeError);
  });

  it("saveTraceAttrs writes with setTraceAttrs' checks, also inside a streaming loop", async () => {
    const path = copyFixture("map_session.hdf5", dir, "async.hdf5");
    const cf = await CacheFile.open(path);
    let i = 0;
    for await (const [, attrs] of cf.traces({ batch: 16 })) {
      attrs["comment"] = `seen ${i}`;
      if (i % 2 === 0) attrs["reject"] = encode(true);
      expect((await cf.saveTraceAttrs(i, attrs)).written.length).toBeGreaterThan(0);
      i++;
    }
    expect(i).toBe(120);
    const attrs = await cf.traceAttrs(3);
    await expect(cf.saveTraceAttrs(3, { ...attrs, reject: "maybe" })).rejects.toBeInstanceOf(InvalidAttributeError);
    const sync = new CacheFile(path);
    const original = new CacheFile(fixture("map_session.hdf5"));
    for (let k = 0; k < 120; k++) {
      expect(sync.getTraceAttrs(k)["comment"]).toBe(`seen ${k}`);
      expect(sync.getTraceAttrs(k)["reject"]).toBe(k % 2 === 0 ? "true" : original.getTraceAttrs(k)["reject"]);
    }
  });

  it("the event loop stays responsive while traces stream", async () => {
    const cf = await CacheFile.open(fixture("map_session.hdf5"));
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    const t0 = performance.now();
    histogram.enable();
    let n = 0;
    for (let round = 0; round < 10; round++) for await (const _ of cf.traces({ batch: 32 })) n++;
    histogram.disable();
    const streamed = performance.now() - t0;
    // What the machine alone delays the loop by (a loaded machine delays every loop): as long, doing nothing but wait.
    const idle = monitorEventLoopDelay({ resolution: 1 });
    idle.enable();
    const t1 = performance.now();
    while (performance.now() - t1 < streamed) await new Promise((r) => setTimeout(r, 1));
    idle.disable();
    expect(n).toBe(1200);
    // Streaming adds at most 20 ms to the slowest turns of the loop (on a quiet machine the idle loop's p99 is ~1 ms).
    expect(histogram.percentile(99) / 1e6, `idle p99 ${idle.percentile(99) / 1e6} ms`).toBeLessThan(20 + idle.percentile(99) / 1e6);
  });
});
