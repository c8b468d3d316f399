/**
 * The review page in a real browser (Debian's chromium, driven by
 * playwright-core): a scripted session on a copy of map_session.hdf5
 * (navigate by keys, reject two traces, undo one of them, accept an
 * estimate, drag a peak, bulk-reject by a box selection in the scatter,
 * list a site's traces from the map); then h5py and offspect's own code
 * (its get_trace_attrs and decode, test/review/offspect_read.py) read
 * exactly the expected values, and every other attribute of every trace is
 * unchanged. Screenshots of the trace view, the overview and the linked
 * map are taken from the real page into docs/.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { startReview, type Review } from "../../src/review/index.js";
import { launchBrowser, type Browser } from "../helpers/browser.js";
import { copyFixture, PYTHON, ROOT, tempDir } from "../helpers/fixtures.js";

/** The page's globals, as the functions evaluated in the page see them (this file is compiled without the DOM's types). */
declare const window: unknown;
declare const document: { getElementById(id: string): { textContent: string | null } | null };

interface OffspectTrace {
  text: Record<string, string>;
  decoded: Record<string, unknown>;
}

function offspectRead(file: string): OffspectTrace[] {
  const out = execFileSync(PYTHON, [join(ROOT, "test", "review", "offspect_read.py"), file], { encoding: "utf8", maxBuffer: 64 << 20 });
  return (JSON.parse(out) as { traces: OffspectTrace[] }).traces;
}

/** What the page holds (window.review, the App of src/review/page/main.ts). */
interface PageState {
  index: number;
  reject: boolean;
  position: string;
}

const state = (page: Page): Promise<PageState> =>
  page.evaluate(() => {
    const r = (window as unknown as { review: { index: number; view: { index: number; attrs: Record<string, unknown> } } }).review;
    return { index: r.view.index, reject: r.view.attrs["reject"] === true, position: document.getElementById("position")!.textContent ?? "" };
  });

/**
 * Waits until the page shows trace `index`, and (with `key`) its stored `key`
 * equal to `value` (or, for `value` "number", a number). The page's CSP
 * forbids eval, so the check is data, not code.
 */
async function shown(page: Page, index: number, key?: string, value?: unknown): Promise<void> {
  await page.waitForFunction(
    ({ i, k, v }) => {
      const r = (window as unknown as { review: { view?: { index: number; attrs: Record<string, unknown> } } }).review;
      const view = r.view;
      if (view === undefined || view.index !== i) return false;
      if (k === undefined) return true;
      return v === "number" ? typeof view.attrs[k] === "number" : view.attrs[k] === v;
    },
    { i: index, k: key, v: value },
    { timeout: 300_000 },
  );
}

const tmp = tempDir("ocf-review-browser-");
let file: string;
let review: Review;
let browser: Browser;
let page: Page;
let before: OffspectTrace[];

beforeAll(async () => {
  file = copyFixture("map_session.hdf5", tmp.dir);
  before = offspectRead(file);
  review = await startReview([file], { port: 0 });
  browser = await launchBrowser();
  page = browser.page;
  await page.goto(review.url);
  await shown(page, 0);
  // The table (flags, scatter) is built in the background: wait for it.
  await page.waitForFunction(() => (window as unknown as { review: { table?: { ready: boolean } } }).review.table?.ready === true, undefined, { timeout: 300_000 });
});

afterAll(async () => {
  await browser?.close();
  await review?.close();
  tmp.cleanup();
});

/** The expected changes, by trace index: key → value as offspect decodes it. */
const expectedChanges = new Map<number, Record<string, unknown>>();
const setExpected = (index: number, values: Record<string, unknown>) => expectedChanges.set(index, { ...expectedChanges.get(index), ...values });

describe("a scripted review session", () => {
  it("takes the token from the fragment, shows the first trace and no error", async () => {
    expect(page.url()).not.toContain("token="); // cleared from the address bar
    expect((await state(page)).position).toBe("trace 1 of 120 (origin S07_map_run1.xdf, 1 of 40)");
    expect(browser.errors).toEqual([]);
  });

  it("navigates by keys: → j ← k, Shift+→ for 10, the position follows", async () => {
    for (const key of ["ArrowRight", "ArrowRight", "j"]) await page.keyboard.press(key);
    await shown(page, 3);
    await page.keyboard.press("k");
    await shown(page, 2);
    await page.keyboard.press("Shift+ArrowRight");
    await shown(page, 12);
    await page.keyboard.press("ArrowLeft");
    await shown(page, 11);
    await page.keyboard.press("End");
    await shown(page, 119);
    expect((await state(page)).position).toBe("trace 120 of 120 (origin S07_map_run3.xdf, 40 of 40)");
    await page.keyboard.press("Home");
    await shown(page, 0);
  });

  it("rejects two traces with r, and Ctrl+Z undoes the second (written back at once)", async () => {
    // Traces 0 and 1 are not rejected in the fixture.
    expect(before[0]!.decoded["reject"]).toBe(false);
    expect(before[1]!.decoded["reject"]).toBe(false);
    await page.keyboard.press("r");
    await shown(page, 0, "reject", true);
    await page.keyboard.press("ArrowRight");
    await shown(page, 1);
    await page.keyboard.press("r");
    await shown(page, 1, "reject", true);
    expect(offspectRead(file)[1]!.decoded["reject"]).toBe(true);
    await page.keyboard.press("Control+z");
    await shown(page, 1, "reject", false);
    setExpected(0, { reject: true });
    setExpected(1, { reject: false }); // undone: the old value written back (as offspect's encode writes false)
    // The history line follows the undo (the value shown first): wait for it rather than read it at once.
    await page.waitForFunction(() => document.getElementById("history")?.textContent?.includes("reject trace 0"), undefined, { timeout: 300_000 }).catch(() => undefined);
    const h = await page.evaluate(() => document.getElementById("history")!.textContent);
    expect(h).toContain("reject trace 0");
  });

  it("accepts the estimate of a trace nobody inspected with e", async () => {
    const uninspected = before.findIndex((t) => t.decoded["neg_peak_magnitude_uv"] === "None" || t.decoded["neg_peak_magnitude_uv"] === null);
    expect(uninspected).toBeGreaterThan(1);
    await page.fill("#jump", String(uninspected + 1));
    await page.press("#jump", "Enter");
    await shown(page, uninspected);
    const estimate = await page.evaluate(() => (window as unknown as { review: { view: { estimate: Record<string, number | null> } } }).review.view.estimate);
    await page.keyboard.press("e");
    await shown(page, uninspected, "neg_peak_magnitude_uv", "number");
    setExpected(uninspected, {
      neg_peak_magnitude_uv: estimate["neg_peak_magnitude_uv"],
      neg_peak_latency_ms: estimate["neg_peak_latency_ms"],
      pos_peak_magnitude_uv: estimate["pos_peak_magnitude_uv"],
      pos_peak_latency_ms: estimate["pos_peak_latency_ms"],
      zcr_latency_ms: estimate["zcr_latency_ms"],
    });
    await page.locator("#traceview").screenshot({ path: join(ROOT, "docs", "review-trace.png") });
  });

  it("drags the stored negative peak to the estimate's; it snaps to the extremum there", async () => {
    // Trace 5: annotated in the fixture, its stored negative peak away from the trace's minimum.
    const index = 5;
    await page.fill("#jump", String(index + 1));
    await page.press("#jump", "Enter");
    await shown(page, index);
    const where = await page.evaluate(() => {
      const r = (window as unknown as { review: { plot: { markerAt(w: string): { x: number; y: number }; pixelOf(ms: number, uv: number): { x: number; y: number } }; view: { estimate: Record<string, number> } } }).review;
      const e = r.view.estimate;
      return { from: r.plot.markerAt("neg"), to: r.plot.pixelOf(e["neg_peak_latency_ms"]! + 0.6, e["neg_peak_magnitude_uv"]! + 40), estimate: e };
    });
    expect(where.from).toBeDefined();
    await page.mouse.move(where.from.x, where.from.y);
    await page.mouse.down();
    await page.mouse.move((where.from.x + where.to.x) / 2, (where.from.y + where.to.y) / 2, { steps: 4 });
    await page.mouse.move(where.to.x, where.to.y, { steps: 4 });
    await page.mouse.up();
    await shown(page, index, "neg_peak_latency_ms", where.estimate["neg_peak_latency_ms"]);
    setExpected(index, { neg_peak_latency_ms: where.estimate["neg_peak_latency_ms"], neg_peak_magnitude_uv: where.estimate["neg_peak_magnitude_uv"] });
  });

  it("bulk-rejects by a box in the scatter, after a summary of what will change, as one batch", async () => {
    const index = 45; // origin 2
    await page.fill("#jump", String(index + 1));
    await page.press("#jump", "Enter");
    await shown(page, index);
    await page.waitForFunction(() => (window as unknown as { review: { overviewOrigin: number } }).review.overviewOrigin === 1);
    // The box: the lower-left of the scatter's points of origin 2.
    await page.locator("#scatter").scrollIntoViewIfNeeded();
    const pts = await page.evaluate(() => {
      const r = (window as unknown as { review: { table: { originStart: number[]; originCounts: number[] }; scatter: { pixelOf(i: number): { x: number; y: number } | undefined } } }).review;
      const out: { index: number; x: number; y: number }[] = [];
      for (let i = r.table.originStart[1]!; i < r.table.originStart[1]! + r.table.originCounts[1]!; i++) {
        const p = r.scatter.pixelOf(i);
        if (p) out.push({ index: i, ...p });
      }
      return out;
    });
    expect(pts.length).toBeGreaterThan(10);
    // Edges on whole pixels (the browser's mouse events are), none within 1.5 px of a point.
    const clear = (edge: number, along: (p: { x: number; y: number }) => number, dir: number) => {
      let e = Math.round(edge);
      while (pts.some((p) => Math.abs(along(p) - e) < 1.5)) e += dir;
      return e;
    };
    const xs = pts.map((p) => p.x).sort((a, b) => a - b);
    const ys = pts.map((p) => p.y).sort((a, b) => b - a);
    const box = {
      x0: clear(xs[0]! - 4, (p) => p.x, -1),
      x1: clear(xs[Math.floor(xs.length / 2)]! + 2, (p) => p.x, 1),
      y0: clear(ys[Math.floor(ys.length / 2)]! - 2, (p) => p.y, -1),
      y1: clear(ys[0]! + 4, (p) => p.y, 1),
    };
    const inBox = pts.filter((p) => p.x >= box.x0 && p.x <= box.x1 && p.y >= box.y0 && p.y <= box.y1).map((p) => p.index).sort((a, b) => a - b);
    expect(inBox.length).toBeGreaterThan(1);
    await page.mouse.move(box.x0, box.y1);
    await page.mouse.down();
    await page.mouse.move((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2, { steps: 3 });
    await page.mouse.move(box.x1, box.y0, { steps: 3 });
    await page.mouse.up();
    expect(await page.evaluate(() => (window as unknown as { review: { selection: number[] } }).review.selection)).toEqual(inBox);
    const stored = offspectRead(file);
    const changing = inBox.filter((i) => stored[i]!.decoded["reject"] !== true);
    await page.click("#bulk-reject");
    await page.waitForSelector("#plan");
    const plan = await page.textContent("#plan");
    expect(plan).toContain(`Reject ${changing.length} trace(s)`);
    expect(plan).toContain(`${inBox.length - changing.length} already rejected, unchanged`);
    await page.locator("#overview").screenshot({ path: join(ROOT, "docs", "review-overview.png") });
    expect(offspectRead(file).map((t) => t.text)).toEqual(stored.map((t) => t.text)); // the summary wrote nothing
    await page.click("#confirm");
    await page.waitForFunction((n) => document.getElementById("history")?.textContent?.includes(`reject ${n} traces (selection)`), changing.length, { timeout: 300_000 });
    for (const i of changing) setExpected(i, { reject: true });
    // The page's table follows (it is read again after the trace and the map).
    await page.waitForFunction((ids) => ids.every((i) => (window as unknown as { review: { table: { reject: boolean[] } } }).review.table.reject[i] === true), inBox, { timeout: 300_000 });
  });

  it("selects by a lasso (Shift+drag) the points inside it, and clears the selection with Escape", async () => {
    const pts = await page.evaluate(() => {
      const r = (window as unknown as { review: { table: { originStart: number[]; originCounts: number[] }; scatter: { pixelOf(i: number): { x: number; y: number } | undefined } } }).review;
      const out: { index: number; x: number; y: number }[] = [];
      for (let i = r.table.originStart[1]!; i < r.table.originStart[1]! + r.table.originCounts[1]!; i++) {
        const p = r.scatter.pixelOf(i);
        if (p) out.push({ index: i, ...p });
      }
      return out;
    });
    // A triangle around the upper part of the points' column, its corners on whole pixels.
    const xs = pts.map((p) => p.x);
    const ys = pts.map((p) => p.y);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const tri = [
      { x: Math.round(x0 - 30), y: Math.round(y0 - 6) },
      { x: Math.round(x1 + 30), y: Math.round(y0 - 6) },
      { x: Math.round((x0 + x1) / 2), y: Math.round((y0 + y1) / 2) },
    ];
    const inside = (x: number, y: number) => {
      let inn = false;
      for (let i = 0, j = tri.length - 1; i < tri.length; j = i++) {
        const a = tri[i]!;
        const b = tri[j]!;
        if (a.y > y !== b.y > y && x < ((b.x - a.x) * (y - a.y)) / (b.y - a.y) + a.x) inn = !inn;
      }
      return inn;
    };
    const want = pts.filter((p) => inside(p.x, p.y)).map((p) => p.index).sort((a, b) => a - b);
    expect(want.length).toBeGreaterThan(0);
    await page.keyboard.down("Shift");
    await page.mouse.move(tri[0]!.x, tri[0]!.y);
    await page.mouse.down();
    for (const p of [tri[1]!, tri[2]!]) await page.mouse.move(p.x, p.y, { steps: 12 });
    await page.mouse.up();
    await page.keyboard.up("Shift");
    expect(await page.evaluate(() => (window as unknown as { review: { selection: number[] } }).review.selection)).toEqual(want);
    await page.keyboard.press("Escape");
    expect(await page.evaluate(() => (window as unknown as { review: { selection: number[] } }).review.selection)).toEqual([]);
  });

  it("follows a change another program makes to the file", async () => {
    const index = 45;
    // (h5py does not wait for a lock the review holds for a moment: it tries again.)
    execFileSync(PYTHON, ["-c", "import h5py, sys, time\nfor attempt in range(100):\n    try:\n        f = h5py.File(sys.argv[1], 'r+')\n        break\n    except BlockingIOError:\n        time.sleep(0.05)\npaths = [f'{o}/traces/{k}' for o in f.keys() for k in sorted(f[o]['traces'].keys(), key=int)]\nf[paths[int(sys.argv[2])]].attrs['comment'] = 'seen by another program'\nf.close()", file, String(index)]);
    await shown(page, index, "comment", "seen by another program");
    expect(await page.inputValue("#comment")).toBe("seen by another program");
    setExpected(index, { comment: "seen by another program" });
  });

  it("lists a site's traces from a click on the map, and marks the coil position", async () => {
    const index = 45;
    const at = await page.evaluate((i) => {
      const r = (window as unknown as { review: { view: { index: number }; coilShown: { view: string; x: number; y: number }[]; map: { pagePixel(x: number, y: number): { x: number; y: number } } } }).review;
      const z = r.coilShown.find((p) => p.view === "z")!;
      return { page: r.map.pagePixel(z.x, z.y), index: r.view.index === i };
    }, index);
    expect(at.index).toBe(true);
    await page.locator("aside .glass").nth(1).scrollIntoViewIfNeeded();
    await page.mouse.click(at.page.x, at.page.y);
    await page.waitForSelector("#site button");
    const site = await page.evaluate(() => (window as unknown as { review: { site: number[] } }).review.site);
    expect(site).toContain(index);
    expect(await page.locator(".glass .coil").count()).toBeGreaterThanOrEqual(6); // three views, coil view and map
    await page.waitForFunction(() => (window as unknown as { review: { mapVersion: number; files: { version: number }[] } }).review.mapVersion === (window as unknown as { review: { files: { version: number }[] } }).review.files[0]!.version, undefined, { timeout: 300_000 });
    await page.locator("aside").screenshot({ path: join(ROOT, "docs", "review-map.png") });
  });

  it("shows every key in the help overlay (?)", async () => {
    await page.keyboard.press("?");
    const help = await page.textContent("#help");
    for (const k of ["→ or j", "← or k", "r", "e", "Ctrl+Z / Ctrl+Shift+Z", "?"]) expect(help).toContain(k);
    await page.keyboard.press("Escape");
    expect(await page.isHidden("#help")).toBe(true);
    expect(browser.errors, browser.errors.join("\n")).toEqual([]);
  });

  it("then h5py and offspect's code read exactly the expected values, and nothing else changed", async () => {
    await browser.close();
    await review.close();
    const after = offspectRead(file);
    expect(after.length).toBe(before.length);
    expect(expectedChanges.size).toBeGreaterThan(4);
    after.forEach((t, i) => {
      const changes = expectedChanges.get(i) ?? {};
      for (const [key, value] of Object.entries(t.decoded)) {
        if (key in changes) expect(value, `trace ${i} ${key}`).toBe(changes[key] ?? null);
        else expect(t.text[key], `trace ${i} ${key}`).toBe(before[i]!.text[key]);
      }
      expect(Object.keys(t.text).sort(), `trace ${i}`).toEqual(Object.keys(before[i]!.text).sort());
    });
    // h5py reads the same text.
    const h5 = JSON.parse(
      execFileSync(PYTHON, ["-c", "import h5py, json, sys\nf = h5py.File(sys.argv[1], 'r')\nprint(json.dumps([dict(f[o]['traces'][k].attrs) for o in f.keys() for k in sorted(f[o]['traces'].keys(), key=int)]))", file], { encoding: "utf8", maxBuffer: 64 << 20 }),
    ) as Record<string, string>[];
    expect(h5).toEqual(after.map((t) => t.text));
  });
});
