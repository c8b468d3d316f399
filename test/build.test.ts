/**
 * populate, checkConsistency and AnnotationFactory refuse what they cannot
 * use with CacheFileErrors that say what to pass, and write nothing; their
 * progress events name their unit.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AnnotationError, AnnotationFactory, checkConsistency, populate, type ProgressEvent, TraceDataError } from "../src/files/build.js";
import { CacheFile } from "../src/index.js";
import { CacheFileError, TargetFolderError } from "../src/base/errors.js";
import { recoverAnnotations } from "../src/files/recover.js";
import { fixture, tempDir } from "./helpers/fixtures.js";

const tmp = tempDir("ocf-build-");
afterAll(() => tmp.cleanup());

function factory(origin = "run1.xdf", traces = 2): AnnotationFactory {
  const f = new AnnotationFactory({ readin: "tms", readout: "cmep", origin });
  f.setOriginAttrs({ channel_labels: ["EDC_L"], channel_of_interest: "EDC_L", samplingrate: 1000, samples_pre_event: 10, samples_post_event: 10, subject: "S01", filedate: "2020-05-17 18:02:00" });
  for (let i = 0; i < traces; i++) f.appendTrace({ event_name: "S 1", event_sample: 1000 + i, event_time: 1 + i, xyz_coords: [37, 22.8, 54.2] });
  return f;
}

function withoutId(trace: Record<string, unknown>): Record<string, unknown> {
  const { id: _id, ...rest } = trace;
  return rest;
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error");
}

describe("populate refuses what it cannot store, with a CacheFileError and nothing written", () => {
  const target = join(tmp.dir, "never.hdf5");
  const anno = factory().anno;
  const two = () => [new Float64Array(20), new Float64Array(20)];

  it.each<[string, () => unknown, new (...args: never[]) => Error, string, RegExp]>([
    ["more annotations than lists of traces", () => populate(target, [anno, { ...anno, origin: "run2.xdf" }], [two()]), AnnotationError, "EANNOTATION", /^populate: expected one list of traces per annotation, got 2 annotations and 1 list of traces$/],
    ["fewer traces than trace annotations", () => populate(target, [anno], [[new Float64Array(20)]]), AnnotationError, "EANNOTATION", /origin "run1\.xdf" has 2 trace annotations but 1 traces; pass one trace per trace annotation/],
    ["rows of different lengths", () => populate(target, [anno], [[[[1, 2], [3]], new Float64Array(2)]]), TraceDataError, "ETRACEDATA", /trace 0: expected 2 values in row 1 \(as in row 0\), got 1/],
    ["a value that is not a number", () => populate(target, [anno], [[[1, "x" as unknown as number], new Float64Array(2)]]), TraceDataError, "ETRACEDATA", /trace 0: expected a number at \[1\], got "x"/],
    ["a shape that does not match the values", () => populate(target, [anno], [[{ data: new Float64Array(20), shape: [10, 3] }, new Float64Array(2)]]), TraceDataError, "ETRACEDATA", /expected a shape whose product is the 20 values, got \[10, 3\]/],
    ["a trace without an id", () => populate(target, [{ ...anno, traces: [withoutId(anno.traces[0]!)] }], [[new Float64Array(2)]]), AnnotationError, "EANNOTATION", /expected an id for origin "run1\.xdf", trace 0: the trace attributes have none/],
    ["an id that is not an integer", () => populate(target, [{ ...anno, traces: [{ ...anno.traces[0], id: 1.5 }] }], [[new Float64Array(2)]]), AnnotationError, "EANNOTATION", /expected an integer id for origin "run1\.xdf", trace 0, got "1\.5"/],
    ["a file name instead of an annotation", () => populate(target, ["a.hdf5" as never], [[]]), AnnotationError, "EANNOTATION", /populate takes annotations \(\{ origin, attrs, traces \}\), not file names: got "a\.hdf5" at \[0\]/],
  ])("%s", (_what, call, type, code, message) => {
    const e = thrown(call);
    expect(e).toBeInstanceOf(type);
    expect(e).toBeInstanceOf(CacheFileError);
    expect(e).toMatchObject({ code, message: expect.stringMatching(message) });
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(tmp.dir).filter((f) => f.includes("partial"))).toEqual([]);
  });

  it("a target in a missing folder names that folder, before anything is written", () => {
    const e = thrown(() => populate(join(tmp.dir, "no", "dir", "out.hdf5"), [anno], [two()]));
    expect(e).toBeInstanceOf(TargetFolderError);
    expect(e).toMatchObject({ code: "ENOTARGETDIR", folder: join(tmp.dir, "no", "dir"), message: expect.stringMatching(/the folder .*\/no\/dir does not exist; create it first/) });
    expect(existsSync(join(tmp.dir, "no"))).toBe(false);
  });

  it("AnnotationFactory refuses an origin that is not a file name, typed", () => {
    expect(thrown(() => new AnnotationFactory({ readin: "tms", readout: "cmep", origin: "a/b.xdf" }))).toMatchObject({ code: "EANNOTATION", message: 'AnnotationFactory: expected a file name without "/" for origin, got "a/b.xdf"' });
  });
});

describe("checkConsistency", () => {
  it("takes annotations, and says so when given file names", () => {
    const e = thrown(() => checkConsistency(["a.hdf5", "b.hdf5"] as never));
    expect(e).toBeInstanceOf(AnnotationError);
    expect((e as Error).message).toBe(
      'checkConsistency takes annotations ({ origin, attrs, traces }), not file names: got "a.hdf5" at [0]; read a file\'s annotations with recoverAnnotations(new CacheFile("a.hdf5")), or let merge() check the files',
    );
    expect((e as Error).message).not.toMatch(/undefined/);
    // What the message says to do works.
    const annotations = [...recoverAnnotations(new CacheFile(fixture("template_R001.hdf5"))), ...recoverAnnotations(new CacheFile(fixture("template_R002.hdf5")))];
    expect(() => checkConsistency(annotations)).not.toThrow();
    expect(() => checkConsistency([{ origin: "x.xdf" } as never])).toThrow(/expected an object of origin attributes for \[0\]\.attrs \(origin "x\.xdf"\), got undefined/);
  });
});

describe("progress events", () => {
  it("populate counts traces and says so in every event", () => {
    const events: ProgressEvent[] = [];
    const a = factory("a.xdf", 3).anno;
    const b = factory("b.xdf", 2).anno;
    populate(join(tmp.dir, "progress.hdf5"), [a, b], [[0, 1, 2].map(() => new Float64Array(20)), [0, 1].map(() => new Float64Array(20))], { onProgress: (e) => events.push(e), fsync: false });
    expect(events.map((e) => [e.phase, e.unit, e.done, e.total])).toEqual([
      ["write", "traces", 1, 5],
      ["write", "traces", 2, 5],
      ["write", "traces", 3, 5],
      ["write", "traces", 4, 5],
      ["write", "traces", 5, 5],
      ["done", "traces", 5, 5],
    ]);
  });
});
