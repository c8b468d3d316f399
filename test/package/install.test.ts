/**
 * The package as a consumer gets it: `npm pack` of this repository,
 * installed into a fresh project on a machine with no compiler, no libhdf5
 * and an apt-get that only records (./sandbox.ts); then imported, read,
 * written, required from CommonJS, run as a CLI, and compiled against with
 * tsc. Takes about 1.5 minutes (the pack builds the addon, the prebuild and
 * dist/ in a copy of the repository).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expected, fixture, PYTHON, ROOT, tempDir } from "../helpers/fixtures.js";
import { pack, type Packed } from "./pack.js";
import { createSandbox, namespaces, recorded, type Sandbox } from "./sandbox.js";

const ns = namespaces();
// Skipped only where the kernel forbids namespaces, and never in CI, where a skipped proof would pass for one.
const skip = !ns.ok && !process.env["CI"];
if (!ns.ok) console.warn(`test/package/install.test.ts ${skip ? "skipped" : "cannot run"}: ${ns.reason}`);

const CONSUMER_FILES = join(ROOT, "test", "package", "consumer");
const SOURCE_BUILD = join(ROOT, "build", "Release", "offspect_hdf5.node");
const FIXTURE = "template_R001.hdf5";
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");

interface Manifest {
  addon: string;
  requires: { glibc: string; glibcxx: string | null };
  libraries: { soname: string; package: string; licenseFile: string }[];
}

describe.skipIf(skip)("the packed package on a machine without compiler or libhdf5", () => {
  const tmp = tempDir("ocf-pack-");
  let packed: Packed;
  let manifest: Manifest;
  let box: Sandbox;
  let project: string;
  let installed: string;
  let install: { status: number | null; output: string; seconds: number };

  beforeAll(() => {
    if (!ns.ok) throw new Error(`the install cannot be proven on this machine: ${ns.reason}`);
    packed = pack(tmp.dir);
    manifest = JSON.parse(readFileSync(join(packed.dir, "prebuilds", "linux-x64", "manifest.json"), "utf8")) as Manifest;
    box = createSandbox(join(tmp.dir, "sandbox"), ns, manifest.libraries.map((l) => l.soname));

    project = join(tmp.dir, "consumer");
    mkdirSync(project);
    const init = box.run("npm", ["init", "-y"], { cwd: project });
    expect(init.status, init.stderr).toBe(0);
    installed = join(project, "node_modules", "offspect-cachefile");
    const t0 = performance.now();
    // The registry is reachable, but everything comes from npm's cache when it can.
    const r = box.run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--foreground-scripts", packed.tarball], { cwd: project, timeout: 1_800_000 });
    install = { status: r.status, output: `${r.stdout}\n${r.stderr}`, seconds: (performance.now() - t0) / 1000 };
    for (const f of readdirSync(CONSUMER_FILES)) copyFileSync(join(CONSUMER_FILES, f), join(project, f));
    copyFileSync(fixture(FIXTURE), join(project, FIXTURE));
    console.log(
      `npm pack: ${(packed.bytes / 2 ** 20).toFixed(1)} MiB, ${packed.files.length} files, ${packed.seconds.toFixed(1)} s; ` +
        `npm install without compiler: ${install.seconds.toFixed(1)} s`,
    );
  });

  afterAll(() => tmp.cleanup());

  describe("the sandbox is real", () => {
    it("hides the system's libhdf5 and the bundled libraries' system copies", () => {
      const probe = box.run("node", [
        "-e",
        `const fs = require("fs");
         const sizes = JSON.parse(process.argv[1]).map((f) => fs.statSync(f).size);
         const dirs = JSON.parse(process.argv[2]).map((d) => fs.readdirSync(d).length);
         let dlopen;
         try { process.dlopen({ exports: {} }, "libhdf5_serial.so.103"); dlopen = "loaded"; } catch (e) { dlopen = e.message; }
         console.log(JSON.stringify({ sizes, dirs, dlopen }));`,
        JSON.stringify(box.hiddenFiles),
        JSON.stringify(box.hiddenDirs),
      ]);
      expect(probe.status, probe.stderr).toBe(0);
      const seen = JSON.parse(probe.stdout) as { sizes: number[]; dirs: number[]; dlopen: string };
      expect(box.hiddenFiles.some((f) => /libhdf5_serial\.so/.test(f))).toBe(true);
      expect(box.hiddenDirs).toContain("/usr/include/hdf5");
      expect(seen.sizes.every((s) => s === 0)).toBe(true);
      expect(seen.dirs.every((n) => n === 0)).toBe(true);
      // The dynamic loader finds nothing it can load under libhdf5's name (outside, it loads and only fails to self-register).
      expect(seen.dlopen).not.toMatch(/self-register/);
      expect(seen.dlopen).toMatch(/libhdf5_serial\.so\.103/);
      expect(box.hiddenFiles.every((f) => statSync(f).size > 0)).toBe(true); // untouched outside
    });

    it("so the repository's own addon, linked against the system libhdf5, does not load inside (and does outside)", () => {
      expect(existsSync(SOURCE_BUILD), `${SOURCE_BUILD} is missing: run npm install in the repository first`).toBe(true);
      const code = "process.dlopen({ exports: {} }, process.argv[1]); console.log('loaded')";
      const inside = box.run("node", ["-e", code, SOURCE_BUILD]);
      expect(inside.status).not.toBe(0);
      expect(inside.stderr).toMatch(/lib(hdf5_serial|lzf)\.so/);
      const outside = spawnSync(process.execPath, ["-e", code, SOURCE_BUILD], { encoding: "utf8" });
      expect(outside.stdout.trim(), outside.stderr).toBe("loaded");
    });

    it("has no compiler, make, python or node-gyp on PATH", () => {
      const r = box.run("sh", ["-c", "for c in cc c++ gcc g++ make python3 python node-gyp pkg-config; do command -v $c; done; true"]);
      expect(r.stdout.trim()).toBe("");
      expect(readdirSync(box.bin).sort()).toEqual(["apt", "apt-get", "node", "npm", "npx", "sh", "sudo"]);
    });
  });

  describe("the tarball", () => {
    it("holds dist, the prebuild with its libraries and licences, the source fallback, README, LICENSE and notices", () => {
      const files = new Set(packed.files);
      for (const f of [
        "package.json",
        "README.md",
        "LICENSE",
        "THIRD_PARTY_NOTICES.md",
        "dist/index.js",
        "dist/index.d.ts",
        "dist/cli/main.js",
        "binding.gyp",
        "native/binding.cc",
        "prebuilds/linux-x64/manifest.json",
        `prebuilds/linux-x64/${manifest.addon}`,
        "assets/fonts/DejaVuSans.ttf",
      ]) {
        expect(files, f).toContain(f);
      }
      for (const lib of manifest.libraries) {
        expect(files, lib.soname).toContain(`prebuilds/linux-x64/${lib.soname}`);
        expect(files, lib.licenseFile).toContain(`prebuilds/linux-x64/${lib.licenseFile}`);
      }
      // No library in the bundle that the manifest (and so the notices) does not name.
      const bundled = packed.files.filter((f) => /^prebuilds\/linux-x64\/[^/]+\.so(\.|$)/.test(f)).map((f) => f.split("/").pop());
      expect(bundled.sort()).toEqual(manifest.libraries.map((l) => l.soname).sort());
      const known = new Set([manifest.addon, "manifest.json", ...manifest.libraries.flatMap((l) => [l.soname, l.licenseFile])]);
      expect(packed.files.filter((f) => f.startsWith("prebuilds/") && !known.has(f.slice("prebuilds/linux-x64/".length)))).toEqual([]);
      expect(manifest.libraries.map((l) => l.soname)).toEqual(expect.arrayContaining(["libhdf5_serial.so.103", "liblzf.so.1"]));
    });

    it("ships every image the README shows", () => {
      const readme = readFileSync(join(ROOT, "README.md"), "utf8");
      const images = [...readme.matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((src) => !/^https?:/.test(src));
      expect(images.length).toBeGreaterThan(0);
      for (const src of images) expect(packed.files, src).toContain(src.replace(/^\.\//, ""));
    });

    it("holds no tests, scripts, bench data, HDF5 files, build output or dev set-up", () => {
      const unwanted = packed.files.filter(
        (f) => /^(test|scripts|build|src|\.ci|node_modules)\//.test(f) || /\.(test|spec)\.|\.hdf5$|\.tsbuildinfo$|(^|\/)\.git/.test(f) || /^dist\/(test|scripts|src)\//.test(f),
      );
      expect(unwanted).toEqual([]);
      expect(packed.bytes).toBeLessThan(16 * 2 ** 20);
    });

    it("declares its licence, repository, engines and what its types need", () => {
      const pkg = JSON.parse(readFileSync(join(installed, "package.json"), "utf8")) as Record<string, unknown>;
      expect(pkg.license).toBe("MIT");
      expect(readFileSync(join(installed, "LICENSE"), "utf8")).toMatch(/^MIT License\n\nCopyright \(c\) offspect-cachefile contributors/);
      expect(pkg.repository).toEqual({ type: "git", url: "git+https://github.com/offspect-cachefile/offspect-cachefile.git" });
      expect(pkg.homepage).toMatch(/^https:\/\/github\.com\/offspect-cachefile\/offspect-cachefile/);
      expect((pkg.bugs as { url: string }).url).toMatch(/\/issues$/);
      // require(esm) is unflagged from 20.19 and 22.12 (the CommonJS test below relies on it).
      expect((pkg.engines as { node: string }).node).toBe("^20.19.0 || >=22.12.0");
      expect((pkg.dependencies as Record<string, string>)["@types/node"]).toBeDefined();
      expect((pkg.dependencies as Record<string, string>)["node-gyp-build"]).toBeDefined();
      expect(readFileSync(join(installed, "dist", "index.d.ts"), "utf8")).toMatch(/^\/\/\/ <reference types="node"/);
    });

    it("names every bundled library in THIRD_PARTY_NOTICES.md with its licence text beside it", () => {
      const notices = readFileSync(join(installed, "THIRD_PARTY_NOTICES.md"), "utf8");
      for (const lib of manifest.libraries) {
        expect(notices).toContain(`\`${lib.soname}\``);
        expect(notices).toContain(lib.licenseFile);
        expect(readFileSync(join(installed, "prebuilds", "linux-x64", lib.licenseFile), "utf8")).toMatch(/Copyright|copyright/);
      }
      expect(notices).toContain(`glibc ${manifest.requires.glibc} or newer`);
    });
  });

  describe("npm install", () => {
    it("succeeds running the package's install scripts, without building or calling apt-get", () => {
      expect(install.status, install.output).toBe(0);
      // The install scripts ran (so they were put to the test): preinstall, then node-gyp-build, which found the prebuild.
      expect(install.output).toContain("> offspect-cachefile@");
      expect(install.output).toContain("> node-gyp-build");
      expect(existsSync(join(installed, "build")), "a source build was attempted").toBe(false);
      expect(existsSync(join(installed, "scripts"))).toBe(false);
      expect(recorded(box.toolLog)).toEqual([]);
      expect(recorded(box.aptLog)).toEqual([]);
    });
  });

  describe("using it", () => {
    it("imports and reads a fixture exactly as offspect does, through the bundled libhdf5", () => {
      const r = box.run("node", ["read.mjs", FIXTURE], { cwd: project });
      expect(r.status, r.stderr).toBe(0);
      const got = JSON.parse(r.stdout) as {
        fname: string;
        len: number;
        origins: string[];
        str: string;
        traces: { attrs: Record<string, string>; shape: number[]; head: number[]; sum: number; sha256_f64le: string }[];
        hdf5: string;
        loaded: string[];
      };
      const want = expected(FIXTURE);
      expect(got.len).toBe(want.len);
      expect(got.origins).toEqual(want.origins);
      expect(got.str).toBe(want.str);
      want.traces.forEach((t, i) => {
        const trace = got.traces[i]!;
        expect(trace.attrs).toEqual({ ...t.attrs, cache_file: got.fname });
        expect(Object.keys(trace.attrs)).toEqual(Object.keys(t.attrs));
        expect(trace.shape).toEqual(t.shape);
        expect(trace.head).toEqual(t.head);
        expect(trace.sum).toBeCloseTo(t.sum, 9);
        expect(trace.sha256_f64le).toBe(t.sha256_f64le);
      });
      expect(got.hdf5).toBe("1.10.8");
      const bundle = join(installed, "prebuilds", "linux-x64");
      expect(got.loaded.map((p) => relative(bundle, p)).sort()).toEqual(["libhdf5_serial.so.103", "liblzf.so.1", manifest.addon].sort());
    });

    it("writes with the typed async API (CacheFile.open, trace, update, each), as h5py reads it back", () => {
      const copy = join(project, "typed.hdf5");
      copyFileSync(fixture(FIXTURE), copy);
      const r = box.run("node", ["typed.mjs", copy], { cwd: project });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ before: false, after: true, comment: "x", stored: "true", each: expected(FIXTURE).len }); // stored as offspect's encode (yaml) stores a boolean
      const h5py = spawnSync(
        PYTHON,
        ["-c", "import h5py, sys, json; f = h5py.File(sys.argv[1], 'r'); t = f[list(f.keys())[0]]['traces']['0']; print(json.dumps([t.attrs['reject'], t.attrs['comment']]))", copy],
        { encoding: "utf8" },
      );
      expect(h5py.status, h5py.stderr).toBe(0);
      expect(JSON.parse(h5py.stdout)).toEqual(["true", "x"]);
    });

    it("serves the review from its own subpath, the page bundle inside the package, no network needed", () => {
      const copy = join(project, "review.hdf5");
      copyFileSync(fixture(FIXTURE), copy);
      const r = box.run("node", ["review.mjs", copy], { cwd: project });
      expect(r.status, r.stderr).toBe(0);
      const got = JSON.parse(r.stdout) as { url: string; page: number; html: boolean; script: number; bytes: number; traces: number };
      expect(got).toEqual({ url: "http://127.0.0.1:PORT/#token=TOKEN", page: 200, html: true, script: 200, bytes: got.bytes, traces: expected(FIXTURE).len });
      expect(got.bytes).toBeGreaterThan(10_000);
      expect(packed.files).toEqual(expect.arrayContaining(["dist/review/index.js", "dist/review/page/app.js", "dist/review/page/index.html", "dist/review/page/licenses.txt"]));
    });

    it("is require()d from CommonJS on this Node (require(esm))", () => {
      const r = box.run("node", ["require.cjs"], { cwd: project });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ CacheFile: "function", hdf5: "1.10.8" });
    });

    it("maps its stack traces to its TypeScript sources through the shipped source maps", () => {
      const r = box.run("node", ["--enable-source-maps", "stack.mjs"], { cwd: project });
      expect(r.status, r.stderr).toBe(0);
      const { code, stack } = JSON.parse(r.stdout) as { code: string; stack: string };
      expect(code).toBe("ENOENT");
      expect(stack).toMatch(/offspect-cachefile\/src\/[\w/]+\.ts:\d+:\d+/);
      // Every map carries the sources it names, and every script names a map that exists.
      const dist = join(installed, "dist");
      const scripts = (readdirSync(dist, { recursive: true }) as string[]).filter((f) => f.endsWith(".js"));
      expect(scripts.length).toBeGreaterThan(50);
      for (const f of scripts) {
        const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(dist, f), "utf8"))?.[1];
        expect(url, f).toBeDefined();
        const map = JSON.parse(readFileSync(join(dist, f, "..", url!), "utf8")) as { sources: string[]; sourcesContent?: (string | null)[] };
        expect(map.sourcesContent?.length, f).toBe(map.sources.length);
        expect(map.sourcesContent!.every((s) => typeof s === "string" && s.length > 0), f).toBe(true);
      }
    });

    it("runs the CLI: --version prints this package's version wherever it runs, peek prints offspect's text", () => {
      const consumerVersion = (JSON.parse(readFileSync(join(project, "package.json"), "utf8")) as { version: string }).version;
      expect(consumerVersion).not.toBe(packed.pkg.version);
      const here = box.run("npx", ["--no-install", "cachefile", "--version"], { cwd: project });
      expect(here.status, here.stderr).toBe(0);
      expect(here.stdout.trim()).toBe(packed.pkg.version);
      const elsewhere = box.run(join(project, "node_modules", ".bin", "cachefile"), ["--version"], { cwd: "/" });
      expect(elsewhere.status, elsewhere.stderr).toBe(0);
      expect(elsewhere.stdout.trim()).toBe(packed.pkg.version);
      const peek = box.run("npx", ["--no-install", "cachefile", "peek", FIXTURE], { cwd: project });
      expect(peek.status, peek.stderr).toBe(0);
      expect(peek.stdout).toBe(`${expected(FIXTURE).str}\n`);
    });
  });

  describe("types", () => {
    function tsc(args: string[]) {
      return spawnSync(process.execPath, [TSC, ...args], { cwd: project, encoding: "utf8", timeout: 1_200_000 });
    }

    beforeAll(() => {
      // tsc --init's defaults (strict, nodenext, types: []), but checking the package's .d.ts too: --init skips them.
      const init = tsc(["--init"]);
      expect(init.status, init.stdout).toBe(0);
      const config = readFileSync(join(project, "tsconfig.json"), "utf8");
      expect(config).toMatch(/"skipLibCheck": true/);
      writeFileSync(join(project, "tsconfig.json"), config.replace(/"skipLibCheck": true/, '"skipLibCheck": false').replace(/\{/, '{\n  "files": ["consumer.ts", "wrong.ts"],'));
      writeFileSync(join(project, "tsconfig.bare.json"), JSON.stringify({ extends: "./tsconfig.json", files: ["wrong-bare.ts"] }));
      writeFileSync(join(project, "wrong-bare.ts"), readFileSync(join(project, "wrong.ts"), "utf8").replace(/^.*@ts-expect-error.*\n/m, ""));
      const pkg = JSON.parse(readFileSync(join(project, "package.json"), "utf8")) as Record<string, unknown>;
      writeFileSync(join(project, "package.json"), JSON.stringify({ ...pkg, type: "module" }, null, 2));
    });

    it("a consumer using the typed API compiles with --strict, the package's .d.ts included, without installing @types/node itself", () => {
      const pkg = JSON.parse(readFileSync(join(project, "package.json"), "utf8")) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
      expect(Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })).toEqual(["offspect-cachefile"]);
      const r = tsc(["--noEmit", "-p", "tsconfig.json"]);
      expect(r.status, r.stdout).toBe(0);
      // And as an older CommonJS project compiles it (node10 resolution through "types").
      const cjs = tsc(["--noEmit", "--strict", "--module", "commonjs", "--target", "es2022", "consumer.ts"]);
      expect(cjs.status, cjs.stdout).toBe(0);
    });

    it('a wrong type (update({ reject: "yes" })) is a compile error', () => {
      // wrong.ts compiled above with its @ts-expect-error: the directive held. Without it, tsc fails on that line.
      const r = tsc(["--noEmit", "-p", "tsconfig.bare.json"]);
      expect(r.status).not.toBe(0);
      expect(r.stdout).toMatch(/wrong-bare\.ts\(\d+,\d+\): error TS2322: Type 'string' is not assignable to type 'boolean/);
      expect(r.stdout.trim().split("\n")).toHaveLength(1);
    });
  });

  describe("afterwards", () => {
    it("no apt-get, apt, sudo, compiler or node-gyp call was recorded", () => {
      expect(recorded(box.aptLog)).toEqual([]);
      expect(recorded(box.toolLog)).toEqual([]);
    });
  });
});
