/** `npm pack` of this repository, as the install tests consume it. */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/fixtures.js";

/**
 * What a pack reads: the package's `files` and what builds them. Copied, so
 * that packing (which rebuilds dist/ and makes prebuilds/) never touches the
 * checkout other tests are reading at the same time.
 */
const INPUTS = [
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  "tsconfig.build.json",
  "binding.gyp",
  "README.md",
  "LICENSE",
  "src",
  "native",
  "assets",
  "docs",
  "scripts/prebuild.ts",
  "scripts/build-page.ts",
  "scripts/system-deps.sh",
];

export interface Packed {
  tarball: string;
  /** The copy of the repository that was packed (its prebuilds/ are the tarball's). */
  dir: string;
  /** Paths inside the tarball, without the leading "package/". */
  files: string[];
  bytes: number;
  seconds: number;
  /** This repository's package.json, which the tarball carries. */
  pkg: { name: string; version: string };
}

/**
 * Copies the repository's package inputs to `dest/repo` (node_modules
 * linked, not copied) and packs that with npm's own `npm pack`, lifecycle
 * scripts included: prepack makes the prebuild from a clean build, prepare
 * builds dist/.
 * @throws {Error} when npm pack fails (its output is in the message)
 */
export function pack(dest: string): Packed {
  const t0 = performance.now();
  const dir = join(dest, "repo");
  mkdirSync(dir, { recursive: true });
  for (const input of INPUTS) cpSync(join(ROOT, input), join(dir, input), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  const r = spawnSync("npm", ["pack", "--pack-destination", dest, "--foreground-scripts"], {
    cwd: dir,
    encoding: "utf8",
    maxBuffer: 64 << 20,
    timeout: 1_800_000, // a backstop only: generous, since it measures the machine
  });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`npm pack failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Packed["pkg"];
  const tarball = join(dest, `${pkg.name}-${pkg.version}.tgz`);
  const list = spawnSync("tar", ["-tzf", tarball], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (list.status !== 0) throw new Error(`tar -tzf ${tarball} failed: ${list.stderr}`);
  const files = list.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.replace(/^package\//, ""));
  return { tarball, dir, files, bytes: statSync(tarball).size, seconds, pkg };
}
