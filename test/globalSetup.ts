/**
 * Before any test file: build dist/ once (the CLI tests run dist/cli/main.js and
 * the README test runs against dist/; the review tests serve the page
 * bundled into dist/review/page/), so that no test file rebuilds it in
 * place while another runs it. tsc emits even when a file has a type error
 * (npm test's pretest, `npm run build:dist`, fails on one).
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./helpers/fixtures.js";

export default function setup(): void {
  spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "tsconfig.build.json")], { cwd: ROOT, stdio: "inherit" });
  spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "scripts", "build-page.ts")], { cwd: ROOT, stdio: "inherit" });
  const cli = join(ROOT, "dist", "cli", "main.js");
  if (!existsSync(cli)) throw new Error(`the build wrote no ${cli}: run npm run build:dist and fix what it reports`);
  chmodSync(cli, 0o755);
}
