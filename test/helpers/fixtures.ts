/** Shared test helpers: fixture paths, temporary copies, h5py calls. */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const FIXTURES = join(ROOT, "test", "fixtures", "offspect");

export function fixture(name: string): string {
  return join(FIXTURES, name);
}

export function fixtureNames(): string[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".hdf5"))
    .sort();
}

export interface ExpectedTrace {
  attrs: Record<string, string>;
  shape: [number, number];
  sum: number;
  head: number[];
  sha256_f64le: string;
}

export interface Expected {
  file: string;
  len: number;
  origins: string[];
  str: string;
  traces: ExpectedTrace[];
  recover_annotations: { origin: string; attrs: Record<string, unknown>; traces: Record<string, unknown>[] }[];
}

export function expected(name: string): Expected {
  return JSON.parse(readFileSync(fixture(name.replace(/\.hdf5$/, ".expected.json")), "utf8")) as Expected;
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = "ocf-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Copies a fixture into `dir` (fixtures are never modified by tests). */
export function copyFixture(name: string, dir: string, as = name): string {
  const target = join(dir, as);
  copyFileSync(fixture(name), target);
  return target;
}

export function sha256(bytes: Uint8Array | Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export function fileSha256(path: string): string {
  return sha256(readFileSync(path));
}

export function dataSha256(data: Float64Array): string {
  return sha256(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** Debian's python3, which carries python3-h5py (the `python3` on PATH may be another one). */
export const PYTHON = "/usr/bin/python3";

/** Runs a Python snippet with Debian's python3 and returns its stdout parsed as JSON. */
export function python<T = unknown>(code: string, args: string[] = []): T {
  const out = execFileSync(PYTHON, ["-c", code, ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(out) as T;
}

export function hasH5py(): boolean {
  return spawnSync(PYTHON, ["-c", "import h5py"]).status === 0;
}
