/**
 * The page's files, as `npm run build:dist` bundles them into
 * `dist/review/page/` (scripts/build-page.ts): read once when a review
 * starts, served by name only (no path from a request reaches the file
 * system).
 * @module
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ReviewError } from "./errors.js";

/** Where the bundle is: dist/review/page/ of this package (the same from src/ and from dist/). */
export const PAGE_DIR = fileURLToPath(new URL("../../dist/review/page/", import.meta.url));

/** The files served, by URL path. */
const FILES: Record<string, { name: string; type: string }> = {
  "/": { name: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { name: "app.js", type: "text/javascript; charset=utf-8" },
  "/app.js.map": { name: "app.js.map", type: "application/json; charset=utf-8" },
  "/app.css": { name: "app.css", type: "text/css; charset=utf-8" },
  "/licenses.txt": { name: "licenses.txt", type: "text/plain; charset=utf-8" },
};

/** A page file: its type and bytes. */
export interface Asset {
  type: string;
  bytes: Buffer;
}

/**
 * The page's files, by URL path.
 * @throws {ReviewError} `EREVIEWPAGE` when the bundle is missing
 */
export function loadAssets(dir = PAGE_DIR): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const [path, { name, type }] of Object.entries(FILES)) {
    try {
      out.set(path, { type, bytes: readFileSync(`${dir}${name}`) });
    } catch (e) {
      throw new ReviewError("EREVIEWPAGE", `the review page is missing (${dir}${name}): run npm run build:dist in the package's folder, which bundles it`, { cause: e });
    }
  }
  return out;
}
