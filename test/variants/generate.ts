/**
 * The variants of test/variants/make_variants.py, generated once into
 * os.tmpdir()/ocf-variants-<sha256 of the generator, its views and
 * offspect_reference.py> and reused while complete (a DONE marker, written
 * last); a generation interrupted is removed by the next.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PYTHON, ROOT, sha256 } from "../helpers/fixtures.js";

const GENERATOR = join(ROOT, "test", "variants", "make_variants.py");
const VIEWS = join(ROOT, "test", "variants", "views.py");
const REFERENCE = join(ROOT, "test", "helpers", "offspect_reference.py");

const sources = [GENERATOR, VIEWS, REFERENCE].map((p) => readFileSync(p));
export const CACHE = join(tmpdir(), `ocf-variants-${sha256(Buffer.concat(sources))}`);

/** The variants' names, descriptions and second merge sources, known before generation. */
export function listVariants(): { name: string; description: string; merge_with: string[] | null }[] {
  return JSON.parse(execFileSync(PYTHON, [GENERATOR, "--list"], { encoding: "utf8" })) as { name: string; description: string; merge_with: string[] | null }[];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
}

/** Removes what earlier runs left: partial generations of processes that are gone, other generators' output older than a day. */
function removeStale(): void {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith("ocf-variants-")) continue;
    const path = join(tmpdir(), entry);
    const partial = /\.partial-(\d+)$/.exec(entry);
    if (partial ? !alive(Number(partial[1])) : path !== CACHE && Date.now() - statSync(path).mtimeMs > 24 * 3600_000) {
      rmSync(path, { recursive: true, force: true });
    }
  }
}

/** Runs the generator into CACHE unless a complete generation is there; another process's finished one wins. */
export function generateVariants(): void {
  removeStale();
  if (existsSync(join(CACHE, "DONE"))) return;
  const partial = `${CACHE}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  try {
    execFileSync(PYTHON, [GENERATOR, partial], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    rmSync(partial, { recursive: true, force: true });
    const err = e as { stderr?: string; message: string };
    throw new Error(`make_variants.py failed: ${(err.stderr ?? err.message).split("\n").slice(-15).join("\n")}`);
  }
  settle(partial);
}

/**
 * generateVariants without blocking the event loop: what the tests' global
 * set-up runs, beside the build, so that the test files that use the
 * variants (format, variants) find them made once instead of each making
 * them.
 */
export async function generateVariantsAsync(): Promise<void> {
  removeStale();
  if (existsSync(join(CACHE, "DONE"))) return;
  const partial = `${CACHE}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  await new Promise<void>((resolve, reject) =>
    execFile(PYTHON, [GENERATOR, partial], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }, (e, _stdout, stderr) => {
      if (!e) return resolve();
      rmSync(partial, { recursive: true, force: true });
      reject(new Error(`make_variants.py failed: ${(stderr || e.message).split("\n").slice(-15).join("\n")}`));
    }),
  );
  settle(partial);
}

/** Moves a finished generation into place (unless another process's is there already). */
function settle(partial: string): void {
  if (existsSync(join(CACHE, "DONE"))) {
    rmSync(partial, { recursive: true, force: true });
    return;
  }
  rmSync(CACHE, { recursive: true, force: true }); // an incomplete one (no DONE)
  try {
    renameSync(partial, CACHE);
  } catch (e) {
    if (!existsSync(join(CACHE, "DONE"))) throw e;
    rmSync(partial, { recursive: true, force: true }); // another process was faster
  }
}

