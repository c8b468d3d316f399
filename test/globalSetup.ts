/**
 * Before any test file:
 *
 * - build dist/ (the CLI tests run dist/cli/main.js, the children of the
 *   format, fault, splice, concurrency and README tests run dist/ under plain
 *   node; the review tests serve the page bundled into dist/review/page/),
 *   so that no test file rebuilds it in place while another runs it. The
 *   build is skipped when dist/ is newer than every source it is built from
 *   (`npm test` has just built it in its pretest). tsc emits even when a
 *   file has a type error (npm test's pretest, `npm run build:dist`, fails
 *   on one);
 * - make the generated variants (test/variants/generate.ts) beside the
 *   build, once, for the two test files that read them.
 */
import { spawn } from "node:child_process";
import { chmodSync, existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./helpers/fixtures.js";
import { generateVariantsAsync } from "./variants/generate.js";

/** The newest modification time among `paths` (files, or directories walked). */
function newest(paths: string[]): number {
  let t = 0;
  const visit = (p: string): void => {
    if (!existsSync(p)) return;
    const s = statSync(p);
    if (s.isDirectory()) for (const e of readdirSync(p)) visit(join(p, e));
    else t = Math.max(t, s.mtimeMs);
  };
  for (const p of paths) visit(p);
  return t;
}

function mtime(p: string): number {
  return existsSync(p) ? statSync(p).mtimeMs : 0;
}

function run(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: "inherit" });
    child.on("error", reject);
    child.on("close", () => resolve()); // a type error still emits: the tests say what is wrong
  });
}

async function build(): Promise<void> {
  const config = ["tsconfig.json", "tsconfig.build.json", "package.json"].map((f) => join(ROOT, f));
  const page = join(ROOT, "src", "review", "page");
  const tscStale = newest([join(ROOT, "src"), ...config]) > mtime(join(ROOT, "dist", "index.js"));
  if (tscStale) await run([join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "tsconfig.build.json")]);
  const pageStale = newest([page, join(ROOT, "scripts", "build-page.ts"), ...config]) > mtime(join(ROOT, "dist", "review", "page", "app.js"));
  if (pageStale) await run(["--import", "tsx", join(ROOT, "scripts", "build-page.ts")]);
  const cli = join(ROOT, "dist", "cli", "main.js");
  if (!existsSync(cli)) throw new Error(`the build wrote no ${cli}: run npm run build:dist and fix what it reports`);
  chmodSync(cli, 0o755);
}

export default async function setup(): Promise<void> {
  await Promise.all([build(), generateVariantsAsync()]);
}
