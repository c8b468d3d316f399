/**
 * A real browser for the tests: Debian's chromium (installed by .ci/run and
 * scripts/system-deps.sh test), driven by playwright-core, headless, with a
 * fresh profile that is removed on close. No browser is downloaded.
 * @module
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** Whether Debian's chromium is there. */
export function hasChromium(): boolean {
  return existsSync(CHROMIUM);
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Messages the page logged as errors, and exceptions it threw. */
  errors: string[];
  close(): Promise<void>;
}

/** Starts chromium with a fresh profile and opens one page of `width` x `height`. */
export async function launchBrowser(width = 1500, height = 1000): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "ocf-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width, height },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
