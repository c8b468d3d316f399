import { setImmediate as tick } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheFile, decode } from "../src/offspect.js";
import { CacheFile as TypedCacheFile, IndexRangeError, IndexTypeError, InvalidAttributeError } from "../src/index.js";
import { openObjectCount } from "../src/hdf5/index.js";
import { copyFixture, dataSha256, expected, fixture, fixtureNames, tempDir } from "./helpers/fixtures.js";

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir()));
afterAll(() => cleanup());

describe("async API", () => {
  it("CacheFile.open, trace, each and offspect's for await give the sync answers for every fixture", async () => {
    for (const name of fixtureNames()) {
      const want = expected(name);
      const cf = await TypedCacheFile.open(fixture(name));
      expect(cf.length).toBe(want.len);
      if (want.len > 0) {
        const last = want.len - 1;
        const t = await cf.trace(last);
        expect(t.text).toEqual({ ...want.traces[last]!.attrs, cache_file: cf.fname });
        expect(dataSha256(t.data)).toBe(want.traces[last]!.sha256_f64le);
      }
      for (const batch of [1, 7, 64]) {
        let i = 0;
        for await (const t of cf.each({ batch })) {
          expect(t.index).toBe(i);
          expect(t.text).toEqual({ ...want.traces[i]!.attrs, cache_file: cf.fname });
          expect(t.shape).toEqual(want.traces[i]!.shape);
          expect(dataSha256(t.data)).toBe(want.traces[i]!.sha256_f64le);
          i++;
        }
        expect(i, `${name} batch ${batch}`).toBe(want.len);
      }
      const offspect = await CacheFile.open(fixture(name));
      let i = 0;
      for await (const [data, attrs] of offspect) {
        expect(attrs).toEqual({ ...want.traces[i]!.attrs, cache_file: cf.fname });
        expect(dataSha256(data.data)).toBe(want.traces[i]!.sha256_f64le);
        i++;
      }
      expect(i).toBe(want.len);
    }
    await tick();
    expect(openObjectCount()).toBe(0);
  });

  it("rejects bad indices as the sync calls throw", async () => {
    const cf = await TypedCacheFile.open(fixture("template_R001.hdf5"));
    await expect(cf.trace(1.5)).rejects.toBeInstanceOf(IndexTypeError);
    await expect(cf.trace(2)).rejects.toBeInstanceOf(IndexRangeError);
    await expect(TypedCacheFile.open(fixture("nope.hdf5"))).rejects.toMatchObject({ code: "ENOENT" });
    await expect(cf.each({ batch: 0 }).next()).rejects.toBeInstanceOf(RangeError);
  });

  it("update writes with the readout's checks, also inside a streaming loop", async () => {
    const path = copyFixture("map_session.hdf5", dir, "async.hdf5");
    const cf = await TypedCacheFile.open(path);
    let i = 0;
    for await (const t of cf.each({ batch: 16 })) {
      expect((await cf.update(t.index, { comment: `seen ${i}`, ...(i % 2 === 0 ? { reject: true } : {}) })).written.length).toBeGreaterThan(0);
      i++;
    }
    expect(i).toBe(120);
    await expect(cf.update(3, { reject: "maybe" } as never)).rejects.toBeInstanceOf(InvalidAttributeError);
    const sync = new CacheFile(path);
    const original = new CacheFile(fixture("map_session.hdf5"));
    for (let k = 0; k < 120; k++) {
      expect(sync.getTraceAttrs(k)["comment"]).toBe(`seen ${k}`);
      if (k % 2 === 0) expect(decode(sync.getTraceAttrs(k)["reject"]!)).toBe(true);
      else expect(sync.getTraceAttrs(k)["reject"]).toBe(original.getTraceAttrs(k)["reject"]);
    }
  });

  it("the event loop turns while traces stream: at least once a batch", async () => {
    const cf = await TypedCacheFile.open(fixture("map_session.hdf5"));
    let turns = 0;
    let streaming = true;
    const spin = (async () => {
      while (streaming) {
        await tick();
        turns++;
      }
    })();
    let n = 0;
    for (let round = 0; round < 10; round++) for await (const _ of cf.each({ batch: 32 })) n++;
    streaming = false;
    await spin;
    expect(n).toBe(1200);
    // 120 traces in batches of 32 is 4 trips to the thread pool a round: the loop turns during each.
    expect(turns).toBeGreaterThanOrEqual(40);
  });
});
