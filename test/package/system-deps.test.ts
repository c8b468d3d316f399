/**
 * scripts/system-deps.sh, the development set-up: on a machine missing
 * libhdf5's headers (the sandbox hides them) it calls apt-get only in a git
 * checkout that npm was started in (or when run by hand there), never for a
 * dependency's install, a copy without .git, or npm preparing a git
 * dependency. The sandbox's apt-get only records.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, tempDir } from "../helpers/fixtures.js";
import { createSandbox, namespaces, recorded, type Sandbox } from "./sandbox.js";

const ns = namespaces();
const skip = !ns.ok && !process.env["CI"];
if (!ns.ok) console.warn(`test/package/system-deps.test.ts ${skip ? "skipped" : "cannot run"}: ${ns.reason}`);

describe.skipIf(skip)("scripts/system-deps.sh installs system packages only for development", () => {
  const tmp = tempDir("ocf-deps-");
  let box: Sandbox;
  let n = 0;

  beforeAll(() => {
    if (!ns.ok) throw new Error(`cannot be checked on this machine: ${ns.reason}`);
    box = createSandbox(join(tmp.dir, "sandbox"), ns, []);
  });
  afterAll(() => tmp.cleanup());

  /** A package folder holding the script, with or without .git; returns the apt calls the run made. */
  function run(opts: { git: boolean; initCwd?: "here" | "elsewhere"; env?: Record<string, string> }) {
    const dir = join(tmp.dir, `pkg${n++}`);
    mkdirSync(join(dir, "scripts"), { recursive: true });
    copyFileSync(join(ROOT, "scripts", "system-deps.sh"), join(dir, "scripts", "system-deps.sh"));
    if (opts.git) mkdirSync(join(dir, ".git"));
    const before = recorded(box.aptLog).length;
    const env: Record<string, string> = { PATH: `${box.bin}:/usr/bin:/bin`, ...opts.env };
    if (opts.initCwd) env["INIT_CWD"] = opts.initCwd === "here" ? dir : tmp.dir;
    const r = box.run("sh", ["scripts/system-deps.sh", "build"], { cwd: dir, env });
    return { status: r.status, stderr: r.stderr, apt: recorded(box.aptLog).slice(before) };
  }

  it("in a checkout npm was started in, finds libhdf5-dev missing and calls apt-get for it", () => {
    const r = run({ git: true, initCwd: "here" });
    expect(r.apt).toEqual([expect.stringMatching(/apt-get update -qq$/)]);
    expect(r.stderr).toContain("offspect-cachefile: installing system packages: libhdf5-dev");
    expect(r.status).not.toBe(0); // the recording apt-get fails, and so the set-up
  });

  it("in a checkout, run by hand (no INIT_CWD), does the same", () => {
    expect(run({ git: true }).apt).toEqual([expect.stringMatching(/apt-get update -qq$/)]);
  });

  it("does nothing for a dependency's install (npm started elsewhere)", () => {
    expect(run({ git: true, initCwd: "elsewhere" })).toEqual({ status: 0, stderr: "", apt: [] });
  });

  it("does nothing without .git (an installed or unpacked package)", () => {
    expect(run({ git: false, initCwd: "here" })).toEqual({ status: 0, stderr: "", apt: [] });
  });

  it("does nothing while npm prepares a git dependency", () => {
    expect(run({ git: true, initCwd: "here", env: { _PACOTE_NO_PREPARE_: "offspect-cachefile" } })).toEqual({ status: 0, stderr: "", apt: [] });
  });

  it("does nothing with OFFSPECT_SKIP_SYSTEM_DEPS=1", () => {
    expect(run({ git: true, initCwd: "here", env: { OFFSPECT_SKIP_SYSTEM_DEPS: "1" } })).toEqual({ status: 0, stderr: "", apt: [] });
  });
});
