/**
 * The addon loader (src/hdf5/native.ts): which build it loads, that one
 * that exists but does not load never hides the next, and the one error,
 * listing each cause and its fix, when none loads. Each case loads the
 * module in a fresh node, pointed at a prepared folder through
 * OFFSPECT_CACHEFILE_PREBUILD (node-gyp-build's override).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { diagnose, HOW_TO_BUILD } from "../../src/hdf5/loadError.js";
import { ROOT, tempDir } from "../helpers/fixtures.js";

const SOURCE_BUILD = join(ROOT, "build", "Release", "offspect_hdf5.node");
const PREBUILD = join("prebuilds", "linux-x64", "offspect_hdf5.napi.glibc.node");
const RELEASE = join("build", "Release", "offspect_hdf5.node");

interface Outcome {
  ok: boolean;
  hdf5?: string;
  mapped?: string[];
  code?: string;
  message?: string;
  isCacheFileError?: boolean;
  causes?: { kind: string; path: string; problem: string; fix: string }[];
}

const tmp = tempDir("ocf-loader-");
afterAll(() => tmp.cleanup());
let n = 0;

/** A folder laid out as a package: each entry a path in it and the addon copied there (or the text written). */
function layout(files: Record<string, "addon" | string>): string {
  const base = join(tmp.dir, `case${n++}`);
  mkdirSync(base);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(base, path)), { recursive: true });
    if (content === "addon") copyFileSync(SOURCE_BUILD, join(base, path));
    else writeFileSync(join(base, path), content);
  }
  return base;
}

function load(base: string, env: Record<string, string> = {}): Outcome {
  const code = `
    const print = (o) => process.stdout.write(JSON.stringify(o));
    import(${JSON.stringify(join(ROOT, "dist", "hdf5", "native.js"))}).then((m) => (m.native.libraryVersion(), m)).then(
      async (m) => print({ ok: true, hdf5: m.native.libraryVersion(), mapped: [...new Set(require("fs").readFileSync("/proc/self/maps", "utf8").split("\\n").map((l) => l.trim().split(/\\s+/)[5]).filter((p) => p && p.endsWith(".node")))] }),
      async (e) => {
        const { CacheFileError } = await import(${JSON.stringify(join(ROOT, "dist", "base", "errors.js"))});
        print({ ok: false, code: e.code, message: e.message, causes: e.causes, isCacheFileError: e instanceof CacheFileError });
      });`;
  const r = spawnSync(process.execPath, ["-e", code], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, OFFSPECT_CACHEFILE_PREBUILD: base, ...env },
  });
  if (r.status !== 0) throw new Error(`the loader probe failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Outcome;
}

describe("the addon loader", () => {
  it("needs the repository's source build to make its cases", () => {
    expect(existsSync(SOURCE_BUILD), `${SOURCE_BUILD} is missing: run npm install first`).toBe(true);
  });

  it("prefers a source build (made on purpose, or because no prebuild loaded) to the prebuild", () => {
    const base = layout({ [RELEASE]: "addon", [PREBUILD]: "addon" });
    const got = load(base);
    expect(got.ok).toBe(true);
    expect(got.mapped).toEqual([join(base, RELEASE)]);
  });

  it("loads the prebuild when the source build is there but does not load, and with PREBUILDS_ONLY", () => {
    const broken = layout({ [RELEASE]: "not an ELF file", [PREBUILD]: "addon" });
    const got = load(broken);
    expect(got.ok).toBe(true);
    expect(got.hdf5).toBe("1.10.8");
    expect(got.mapped).toEqual([join(broken, PREBUILD)]);
    const both = layout({ [RELEASE]: "addon", [PREBUILD]: "addon" });
    expect(load(both, { PREBUILDS_ONLY: "1" }).mapped).toEqual([join(both, PREBUILD)]);
  });

  it("when none loads, throws one ENATIVE CacheFileError listing each candidate, its cause and fix", () => {
    const base = layout({ [RELEASE]: "junk", [PREBUILD]: "junk" });
    const got = load(base);
    expect(got.ok).toBe(false);
    expect(got.code).toBe("ENATIVE");
    expect(got.isCacheFileError).toBe(true);
    expect(got.causes?.map((c) => [c.kind, c.path])).toEqual([
      ["source build", join(base, RELEASE)],
      ["prebuild", join(base, PREBUILD)],
    ]);
    expect(got.causes?.[0]?.problem).toMatch(/^a damaged file or one built for another system \(.*(file too short|invalid ELF header)/);
    expect(got.causes?.[0]?.fix).toBe("rebuild it from source (below)");
    expect(got.causes?.[1]?.fix).toBe("reinstall the package (npm install offspect-cachefile)");
    const lines = got.message!.split("\n");
    expect(lines[0]).toMatch(/^offspect-cachefile: no build of its native libhdf5 addon loads here \(linux-x64 glibc [0-9.]+, Node [0-9.]+; .*\): fix one of these and import again$/);
    expect(lines.slice(1, 3)).toEqual(got.causes!.map((c) => `  - ${c.kind} ${c.path}: ${c.problem}: ${c.fix}`));
    expect(lines[3]).toBe(HOW_TO_BUILD);
    expect(lines).toHaveLength(4);
    expect(HOW_TO_BUILD).toContain("apt-get install -y libhdf5-dev liblzf-dev pkg-config g++ make python3");
    expect(HOW_TO_BUILD).toContain("npm rebuild offspect-cachefile --build-from-source");
  });

  it("says when there is no build at all, and which prebuilds the package ships", () => {
    const empty = load(layout({}));
    expect(empty.causes?.map((c) => c.problem)).toEqual(["not built", "none for linux-x64 (this package ships prebuilds for: none)"]);
    expect(empty.causes?.every((c) => c.fix === "build it from source (below)")).toBe(true);
    const foreign = load(layout({ "prebuilds/darwin-arm64/offspect_hdf5.napi.node": "x" }));
    expect(foreign.causes?.[1]?.problem).toBe("none for linux-x64 (this package ships prebuilds for: darwin-arm64)");
    const musl = load(layout({ "prebuilds/linux-x64/offspect_hdf5.napi.musl.node": "x" }));
    expect(musl.causes?.[1]?.problem).toMatch(/^none in linux-x64 matches Node [0-9.]+ on glibc \(this package ships prebuilds for: linux-x64\)$/);
  });

  it("names a library missing beside the prebuild and says to reinstall", () => {
    const base = layout({ [PREBUILD]: "addon" });
    const patch = spawnSync("patchelf", ["--add-needed", "libocf_missing.so.1", join(base, PREBUILD)], { encoding: "utf8" });
    expect(patch.status, `patchelf (npm test installs it): ${patch.stderr}`).toBe(0);
    const got = load(base);
    expect(got.ok).toBe(false);
    expect(got.causes?.[1]).toEqual({
      kind: "prebuild",
      path: join(base, PREBUILD),
      problem: "the library libocf_missing.so.1 it loads is missing",
      fix: "it should lie beside the prebuild, so the package is incomplete: reinstall the package (npm install offspect-cachefile)",
    });
  });

  it("reads a too-old glibc from the dynamic loader's message and says what the prebuild needs", () => {
    // glibc's own wording for a missing symbol version.
    const error = new Error("/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by /p/prebuilds/linux-x64/libhdf5_serial.so.103)");
    const prebuild = diagnose("prebuild", "/p/x.node", error, { glibc: "2.34", glibcxx: "3.4.29" });
    expect(prebuild.problem).toMatch(/^it needs glibc 2\.34 and libstdc\+\+ with GLIBCXX_3\.4\.29 or newer, newer than this system's \(glibc [0-9.]+\) \(GLIBC_2\.34 not found\)$/);
    expect(prebuild.fix).toBe("build it from source (below)");
    const source = diagnose("source build", "/p/build/Release/offspect_hdf5.node", error);
    expect(source.problem).toMatch(/^it needs GLIBC_2\.34, newer than this system's/);
    expect(source.fix).toBe("rebuild it from source (below) on this system");
  });

  it("says a source build whose system library is gone must be rebuilt", () => {
    const error = new Error("/p/build/Release/offspect_hdf5.node: libhdf5_serial.so.103: cannot open shared object file: No such file or directory");
    expect(diagnose("source build", "/p/build/Release/offspect_hdf5.node", error)).toEqual({
      kind: "source build",
      path: "/p/build/Release/offspect_hdf5.node",
      problem: "the library libhdf5_serial.so.103 it loads is missing",
      fix: "the system library it was built against is gone (removed or upgraded since): rebuild it from source (below)",
    });
  });
});
