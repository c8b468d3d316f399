/**
 * What the review computes of a file: the status counts, the flags
 * (background EMG, ptp outliers within an origin, no coordinates, never
 * inspected) against definitions restated here, the map of the current
 * state (plotMap's picture, pixel for pixel, following a write at once),
 * the overview of an origin, and the undo stack's refusal to overwrite
 * another program's change.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { annotateTrace } from "../../src/analysis/measures.js";
import { CacheFile } from "../../src/offspect.js";
import { plotMap } from "../../src/map/index.js";
import { processData } from "../../src/steps/index.js";
import { mapOf, pointsOf } from "../../src/review/mapview.js";
import { overview } from "../../src/review/overview.js";
import { ReviewSession } from "../../src/review/session.js";
import { OUTLIER_Z } from "../../src/review/flags.js";
import { ReviewError } from "../../src/review/errors.js";
import { writeSession, type SyntheticTrace } from "../analysis/synthetic.js";
import { copyFixture, tempDir } from "../helpers/fixtures.js";

const tmp = tempDir("ocf-review-table-");
let session: ReviewSession;
let synthetic: string;

/** 30 traces of one origin: MEPs of about 500 µV, one of 5000 µV (an outlier, not annotated), one with background EMG, five more not annotated. */
function traces(): SyntheticTrace[] {
  return Array.from({ length: 30 }, (_, k) => ({
    onsetMs: 20,
    amplitude: k === 7 ? 5000 : 480 + (k % 5) * 10,
    periodMs: 12,
    noise: k === 11 ? 60 : 2,
    onsetShift: 0,
    offset: 0,
    xyz: [-37 + k * 0.1, -21, 58],
    peaks: k < 25 && k !== 7 ? { neg: -(480 + (k % 5) * 10), pos: 480 + (k % 5) * 10 } : null,
    reject: k === 3,
  }));
}

beforeAll(async () => {
  synthetic = writeSession(`${tmp.dir}/synthetic.hdf5`, { samplingrate: 1000, preMs: 200, postMs: 300, origins: [{ name: "run1.xdf", traces: traces() }, { name: "run2.xdf", traces: traces().slice(0, 10) }], seed: 4 });
  // One trace without usable coordinates (outside the MNI grid).
  new CacheFile(synthetic).updateSync(20, { xyz_coords: [500, 500, 500] });
  session = await ReviewSession.open([copyFixture("map_session.hdf5", tmp.dir), synthetic], 1000);
  await session.file(0)!.ready();
  await session.file(1)!.ready();
});
afterAll(async () => {
  await session?.close();
  tmp.cleanup();
});

describe("the table", () => {
  it("counts the review status as plotMap counts its traces", async () => {
    const f = session.file(0)!;
    const status = f.summary().status!;
    const map = await plotMap(f.cf);
    expect(status).toEqual({ uninspected: 9, rejected: 12, annotated: 99 });
    expect(status.rejected).toBe(map.counts.rejected);
    expect(status.uninspected).toBe(map.counts.uninspected);
  });

  it("flags background EMG (annotateTrace), ptp outliers within the origin, missing coordinates and uninspected traces", async () => {
    const f = session.file(1)!;
    const t = await f.ready();
    const cf = new CacheFile(synthetic);
    // The definitions, restated: ptp stored (else estimated); z within the origin over its traces not rejected.
    const ptp: number[] = [];
    const background: boolean[] = [];
    for (let i = 0; i < cf.length; i++) {
      const a = cf.getTraceAttrs(i);
      const m = annotateTrace(cf.getTraceData(i), a);
      background.push(m.background_active === true);
      const pos = Number(a["pos_peak_magnitude_uv"]);
      const neg = Number(a["neg_peak_magnitude_uv"]);
      ptp.push(Number.isFinite(pos) && Number.isFinite(neg) ? pos - neg : m.ptp_uv);
    }
    const outlier = new Array<boolean>(cf.length).fill(false);
    for (const [start, n] of [[0, 30], [30, 10]] as const) {
      const used = Array.from({ length: n }, (_, k) => start + k).filter((i) => cf.getTraceAttrs(i)["reject"] !== "True");
      const mean = used.reduce((s, i) => s + ptp[i]!, 0) / used.length;
      const sd = Math.sqrt(used.reduce((s, i) => s + (ptp[i]! - mean) ** 2, 0) / (used.length - 1));
      for (let k = 0; k < n; k++) outlier[start + k] = Math.abs((ptp[start + k]! - mean) / sd) > OUTLIER_Z;
    }
    t.rows.forEach((row, i) => {
      const want = [
        ...(background[i] ? ["background"] : []),
        ...(outlier[i] ? ["outlier"] : []),
        ...(i === 20 ? ["nocoords"] : []),
        ...((i >= 25 && i < 30) || i === 7 || i === 37 ? ["uninspected"] : []),
      ];
      expect(row.flags, `trace ${i}`).toEqual(want);
    });
    // What the data were made to be.
    expect(t.rows[7]!.flags).toContain("outlier");
    expect(t.rows[11]!.flags).toContain("background");
    expect(t.rows[20]!.flags).toContain("nocoords");
    expect(f.summary().status).toEqual({ uninspected: 7, rejected: 2, annotated: 31 });
  });

  it("the overview gives every trace of an origin after its steps, on the pulse's time axis", async () => {
    const f = session.file(0)!;
    const o = await overview(f, 1, -100, 200);
    expect(o.indices).toEqual(Array.from({ length: 40 }, (_, k) => 40 + k));
    expect([o.t0, o.dt, o.columns]).toEqual([-100, 1, 300]);
    const cf = new CacheFile(f.path);
    const k = 5;
    const data = processData(cf.getTraceData(45), cf.getTraceAttrs(45)).data;
    // Column c is the sample 200 + (-100 + c) (1000 Hz, pulse at sample 200).
    for (const c of [0, 100, 175, 299]) expect(o.values[k]![c]).toBeCloseTo(data[100 + c]!, 2);
    expect(o.reject[3]).toBe(cf.getTraceAttrs(43)["reject"] === "True");
  });
});

describe("the map of the current state", () => {
  it("is plotMap's picture of the file, pixel for pixel, and follows a reject at once", async () => {
    const f = session.file(0)!;
    const options = { displayMode: "ortho", scale: 1.5, marks: ["cog", "hotspot"] } as const;
    const first = await mapOf(f);
    expect(first.png.equals(await (await plotMap(f.path, options)).toBuffer())).toBe(true);
    expect(first.meta.counts).toEqual({ used: 108, total: 120, rejected: 12, uninspected: 9, dropped: 0 });
    expect(first.meta.marks.map((m) => m.name)).toEqual(["cog", "hotspot", "cog", "hotspot", "cog", "hotspot"]);
    expect((await pointsOf(f)).points).toHaveLength(120);
    const edit = await session.edit(0, [{ index: 0, values: { reject: true } }, { index: 1, values: { reject: true } }], "reject 0 and 1");
    expect(edit.results.map((r) => r.written)).toEqual([["reject"], ["reject"]]);
    const after = await mapOf(f);
    expect(after.meta.version).toBeGreaterThan(first.meta.version);
    expect(after.meta.counts!.rejected).toBe(14);
    expect(after.png.equals(await (await plotMap(f.path, options)).toBuffer())).toBe(true);
    expect(after.png.equals(first.png)).toBe(false);
    await session.undo();
    expect((await mapOf(f)).png.equals(first.png)).toBe(true);
  });
});

describe("undo", () => {
  it("refuses to write back over another program's change, and keeps the edit", async () => {
    const f = session.file(0)!;
    await session.edit(0, [{ index: 2, values: { comment: "ours" } }], "comment 2");
    new CacheFile(f.path).updateSync(2, { comment: "theirs" });
    await expect(session.undo()).rejects.toMatchObject({ code: "EREVIEWCONFLICT" });
    await expect(session.undo()).rejects.toBeInstanceOf(ReviewError);
    expect(session.history().undo[0]).toBe("comment 2");
    expect(new CacheFile(f.path).traceSync(2).attrs.comment).toBe("theirs");
  });
});
