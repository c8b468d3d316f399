/**
 * Review benchmark, measured in the browser (Debian's chromium through
 * playwright-core) with the page's own `performance` marks, on a
 * 10,000-trace file (20 origins x 500 traces of 2000 samples at 1000 Hz,
 * synthetic MEPs over a 10 x 10 grid of sites, half of them annotated;
 * made on the first run with test/analysis/synthetic.ts, as the analysis
 * benchmark's data):
 *
 * - first trace: from the page's navigation to its first trace drawn
 *   (`first-trace`), the review just started (its tables being built);
 * - next trace: a key press (→) to the next trace drawn (`next-trace`),
 *   60 presses at a reader's pace (250 ms apart), p95 and max;
 * - overview: a jump into another origin of 500 traces to its butterfly
 *   and scatter drawn (`overview`), over several origins;
 * - map refresh: `r` (reject) to the new map shown (`map-refresh`).
 *
 * Each figure is the median over `runs` runs (a fresh review and browser
 * each); the file is a copy, as the rejects write to it.
 *
 * ```sh
 * node --import tsx scripts/bench/review.ts [--runs 3] [--json]
 * ```
 * @module
 */
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { mulberry32 } from "../../src/analysis/prng.js";
import { startReview } from "../../src/review/index.js";
import { launchBrowser } from "../../test/helpers/browser.js";
import { writeSession, type SyntheticTrace } from "../../test/analysis/synthetic.js";
import { buildPage } from "../build-page.js";
import { BENCH_DIR, median } from "./baseline.js";

/** One figure of the benchmark. */
export interface ReviewBenchResult {
  name: string;
  /** The figure, ms (median over the runs). */
  ms: number;
  runs: number[];
  /** The target, ms. */
  target_ms: number;
}

const DIR = join(BENCH_DIR, "review");
const FILE = join(DIR, "review-10000.hdf5");
const ORIGINS = 20;
const PER_ORIGIN = 500;

function originTraces(origin: number): SyntheticTrace[] {
  const r = mulberry32(5000 + origin);
  return Array.from({ length: PER_ORIGIN }, (_, k) => {
    const site = (origin * PER_ORIGIN + k) % 100;
    const gx = site % 10;
    const gy = Math.floor(site / 10);
    const amplitude = 1200 * Math.exp(-((gx - 4.5) ** 2 + (gy - 4.5) ** 2) / 8) * (0.6 + 0.8 * r());
    return {
      onsetMs: 18 + Math.floor(r() * 6),
      amplitude,
      periodMs: 10 + Math.floor(r() * 6),
      noise: k % 25 === 0 ? 30 : 2 + 3 * r(),
      onsetShift: 0,
      offset: 0,
      xyz: [-60 + 5 * gx + (r() - 0.5), -45 + 5 * gy + (r() - 0.5), 58 + (r() - 0.5)],
      peaks: k % 2 === 0 ? { neg: -amplitude, pos: amplitude } : null,
      reject: k % 50 === 7,
    };
  });
}

/** Makes the 10,000-trace file once (about 10 s). */
export function ensureReviewData(): string {
  if (existsSync(FILE)) return FILE;
  mkdirSync(DIR, { recursive: true });
  const origins = Array.from({ length: ORIGINS }, (_, o) => ({ name: `S01_run${String(o + 1).padStart(2, "0")}.xdf`, traces: originTraces(o) }));
  writeSession(FILE, { samplingrate: 1000, preMs: 1000, postMs: 1000, origins, seed: 3 });
  return FILE;
}

/** The page's globals, as functions evaluated in the page see them (this file is compiled without the DOM's types). */
declare const window: unknown;
declare const document: { getElementById(id: string): { textContent: string | null } | null };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RunFigures {
  first: number;
  next: number[];
  overview: number[];
  mapRefresh: number[];
}

/** The page's measures of one name, in ms. */
type Page = Awaited<ReturnType<typeof launchBrowser>>["page"];
const measures = (page: Page, name: string) =>
  page.evaluate((n) => performance.getEntriesByName(n).map((e) => e.duration), name);

async function oneRun(file: string): Promise<RunFigures> {
  const review = await startReview([file], { port: 0 });
  const browser = await launchBrowser(1500, 1000);
  try {
    const { page } = browser;
    await page.goto(review.url);
    await page.waitForFunction(() => performance.getEntriesByName("first-trace").length > 0, undefined, { timeout: 60_000 });
    const [first] = await measures(page, "first-trace");
    // Wait for the table (flags, scatter, overview): it is built in the background.
    await page.waitForFunction(() => (window as unknown as { review: { table?: { ready: boolean } } }).review.table?.ready === true, undefined, { timeout: 120_000 });
    await page.waitForFunction(() => performance.getEntriesByName("overview").length > 0, undefined, { timeout: 60_000 });
    await page.evaluate(() => performance.clearMeasures("overview"));
    // Next trace, at a reader's pace.
    for (let k = 0; k < 60; k++) {
      await page.keyboard.press("ArrowRight");
      await sleep(250);
    }
    const next = await measures(page, "next-trace");
    // Overviews of other origins (500 traces each).
    for (const o of [3, 8, 13, 18]) {
      await page.fill("#jump", String(o * PER_ORIGIN + 10));
      await page.press("#jump", "Enter");
      await page.waitForFunction((n) => performance.getEntriesByName("overview").length >= n, [3, 8, 13, 18].indexOf(o) + 1, { timeout: 60_000 });
    }
    const overview = await measures(page, "overview");
    // Map refreshes after a reject (r), then its undo (Ctrl+Z).
    await page.waitForFunction(() => (window as unknown as { review: { mapVersion: number; files: { version: number }[] } }).review.mapVersion >= 0, undefined, { timeout: 60_000 });
    for (let k = 0; k < 4; k++) {
      const before = (await measures(page, "map-refresh")).length;
      await page.keyboard.press(k % 2 === 0 ? "r" : "Control+z");
      await page.waitForFunction((n) => performance.getEntriesByName("map-refresh").length > n, before, { timeout: 60_000 });
      await sleep(300);
    }
    const mapRefresh = await measures(page, "map-refresh");
    if (browser.errors.length > 0) {
      const banner = await page.evaluate(() => document.getElementById("banner")?.textContent ?? "");
      throw new Error(`the page reported errors: ${browser.errors.join("; ")}; it shows: ${banner}`);
    }
    return { first: first!, next, overview, mapRefresh };
  } finally {
    await browser.close();
    await review.close();
  }
}

function p95(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)]!;
}

/** Runs the review benchmark: `runs` runs, each a fresh review and browser on a fresh copy. */
export async function benchReview(options: { runs?: number } = {}): Promise<ReviewBenchResult[]> {
  const runs = options.runs ?? 3;
  await buildPage();
  const source = ensureReviewData();
  const copy = join(DIR, "review-copy.hdf5");
  const all: RunFigures[] = [];
  try {
    for (let k = 0; k < runs; k++) {
      copyFileSync(source, copy);
      all.push(await oneRun(copy));
    }
  } finally {
    rmSync(copy, { force: true });
  }
  const figure = (name: string, per: (r: RunFigures) => number, target: number): ReviewBenchResult => {
    const values = all.map(per);
    return { name, ms: median(values), runs: values, target_ms: target };
  };
  return [
    figure("first trace drawn after the page loads (10,000 traces)", (r) => r.first, 1500),
    figure("next trace drawn after a key press, p95 of 60", (r) => p95(r.next), 50),
    figure("next trace drawn after a key press, max of 60", (r) => Math.max(...r.next), 50),
    figure("overview of a 500-trace origin (butterfly and scatter), median of 4", (r) => median(r.overview), 500),
    figure("overview of a 500-trace origin, max of 4", (r) => Math.max(...r.overview), 500),
    figure("map refreshed after a reject or its undo, median of 4", (r) => median(r.mapRefresh), 300),
    figure("map refreshed after a reject or its undo, max of 4", (r) => Math.max(...r.mapRefresh), 300),
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--runs");
  const results = await benchReview({ runs: at >= 0 ? Number(args[at + 1]) : 3 });
  if (args.includes("--json")) console.log(JSON.stringify(results, null, 2));
  else for (const r of results) console.log(`${r.ms.toFixed(0).padStart(6)} ms (target ${r.target_ms} ms: ${r.ms <= r.target_ms ? "met" : "MISSED"})  ${r.name}`);
}
