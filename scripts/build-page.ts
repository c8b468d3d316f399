/**
 * Bundles the review page (src/review/page/: TypeScript, uPlot, CSS) into
 * dist/review/page/ with esbuild: index.html, app.js (one IIFE, minified)
 * and its source map app.js.map, app.css, and licenses.txt (the notices
 * of what the bundle contains). Run by `npm run build:dist`, so that the
 * package ships the page and needs no network or CDN at run time.
 *
 * ```sh
 * node --import tsx scripts/build-page.ts
 * ```
 * @module
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SRC = join(ROOT, "src", "review", "page");
/** Where the server looks for the page (src/review/assets.ts). */
export const PAGE_OUT = join(ROOT, "dist", "review", "page");

/** Bundles the page into dist/review/page/. */
export async function buildPage(out = PAGE_OUT): Promise<void> {
  mkdirSync(out, { recursive: true });
  const require = createRequire(import.meta.url);
  const uplotCss = require.resolve("uplot/dist/uPlot.min.css");
  await build({
    entryPoints: [join(SRC, "main.ts")],
    bundle: true,
    format: "iife",
    target: "es2022",
    minify: true,
    // Linked, with the sources inside: stack traces and the browser's tools map to the TypeScript.
    sourcemap: "linked",
    sourcesContent: true,
    legalComments: "none",
    outfile: join(out, "app.js"),
    logLevel: "warning",
  });
  const css = `${readFileSync(uplotCss, "utf8")}\n${readFileSync(join(SRC, "style.css"), "utf8")}`;
  writeFileSync(join(out, "app.css"), css);
  copyFileSync(join(SRC, "index.html"), join(out, "index.html"));
  const uplotLicense = readFileSync(join(dirname(require.resolve("uplot/package.json")), "LICENSE"), "utf8");
  writeFileSync(join(out, "licenses.txt"), `The review page bundles uPlot (https://github.com/leeoniya/uPlot):\n\n${uplotLicense}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildPage();
}
