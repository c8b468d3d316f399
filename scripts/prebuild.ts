/**
 * `npm run prebuild`: the addon as a consumer installs it, with no compiler
 * and no libhdf5 on their machine (the prebuildify / node-gyp-build layout).
 *
 *   node --import tsx scripts/prebuild.ts [--clean]
 *
 * 1. Builds the addon with node-gyp (N-API 8, so one build serves every
 *    Node >= 20); incremental unless --clean or nothing is configured yet.
 * 2. Copies it to prebuilds/linux-x64/offspect_hdf5.napi.glibc.node, the name
 *    node-gyp-build matches (any N-API runtime, glibc).
 * 3. Copies every shared library it loads (ldd's closure) beside it, except
 *    glibc's own, libstdc++ and libgcc_s, which every glibc system has; sets
 *    the RUNPATH of the addon and of each copy to `$ORIGIN`, so they find one
 *    another there before anything on the system.
 * 4. Writes each copied library's licence (Debian's copyright file of the
 *    package that holds it) to prebuilds/linux-x64/LICENSES/, a manifest
 *    (what was bundled, from which package and version, the oldest glibc and
 *    libstdc++ the bundle runs on) to prebuilds/linux-x64/manifest.json, and
 *    THIRD_PARTY_NOTICES.md at the top level.
 * 5. Checks the result: ldd resolves every bundled library to the bundle,
 *    and a fresh node loads the prebuild and reports libhdf5's version.
 *
 * Needs Linux x64 with glibc, the build tools of README's Development
 * section, and patchelf, readelf, ldd and dpkg (Debian/Ubuntu).
 * @module
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BUILT = join(ROOT, "build", "Release", "offspect_hdf5.node");
const OUT = join(ROOT, "prebuilds", "linux-x64");
const ADDON = "offspect_hdf5.napi.glibc.node";
const NOTICES = join(ROOT, "THIRD_PARTY_NOTICES.md");

/**
 * What every glibc system has, and so is never bundled: glibc's libraries
 * (package libc6), the C++ runtime (libstdc++6) and libgcc_s (libgcc-s1).
 * Node itself links libstdc++ and libgcc_s.
 */
const BASE = new Set([
  "linux-vdso.so.1",
  "ld-linux-x86-64.so.2",
  "libc.so.6",
  "libm.so.6",
  "libmvec.so.1",
  "libpthread.so.0",
  "libdl.so.2",
  "librt.so.1",
  "libresolv.so.2",
  "libutil.so.1",
  "libanl.so.1",
  "libnsl.so.1",
  "libBrokenLocale.so.1",
  "libstdc++.so.6",
  "libgcc_s.so.1",
]);

/** One library of the bundle, as the manifest records it. */
export interface BundledLibrary {
  soname: string;
  /** Where the build machine had it. */
  from: string;
  package: string;
  version: string;
  source: string;
  sourceVersion: string;
  /** Relative to prebuilds/linux-x64. */
  licenseFile: string;
}

/** prebuilds/linux-x64/manifest.json. */
export interface Manifest {
  addon: string;
  platform: "linux";
  arch: "x64";
  libc: "glibc";
  napi: number;
  builtWith: { node: string; system: string; hdf5: string };
  /** The oldest versions the bundle runs on (the highest each object asks for). */
  requires: { glibc: string; glibcxx: string | null };
  libraries: BundledLibrary[];
}

class PrebuildError extends Error {}

function fail(message: string): never {
  throw new PrebuildError(message);
}

function run(cmd: string, args: string[], what: string): string {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error) fail(`${what}: could not run ${cmd} (${r.error.message})`);
  if (r.status !== 0) fail(`${what}: ${cmd} ${args.join(" ")} exited with ${r.status}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

function checkHost(): void {
  if (process.platform !== "linux" || process.arch !== "x64") {
    fail(`prebuilds are made on linux-x64, this is ${process.platform}-${process.arch}: build from source instead (npm install builds the addon)`);
  }
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  if (!header?.glibcVersionRuntime) fail("prebuilds are made on a glibc system; this one has none (musl?)");
  const missing: string[] = [];
  for (const [tool, pkg] of [
    ["patchelf", "patchelf"],
    ["readelf", "binutils"],
    ["ldd", "libc-bin"],
    ["dpkg-query", "dpkg"],
  ] as const) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).status !== 0) missing.push(`${tool} (Debian package ${pkg})`);
  }
  if (missing.length > 0) {
    fail(`prebuild needs ${missing.join(", ")}: install them, e.g. apt-get install -y ${missing.map((m) => /package (\S+)\)/.exec(m)?.[1]).join(" ")}`);
  }
}

function buildAddon(clean: boolean): void {
  const nodeGyp = join(ROOT, "node_modules", "node-gyp", "bin", "node-gyp.js");
  if (!existsSync(nodeGyp)) fail(`node-gyp is not installed in ${ROOT}: run npm install first`);
  const steps = clean || !existsSync(join(ROOT, "build", "Makefile")) ? [["rebuild"]] : [["build"]];
  for (const step of steps) {
    const r = spawnSync(process.execPath, [nodeGyp, ...step], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) fail(`node-gyp ${step.join(" ")} failed (exit ${r.status}): see its output above`);
  }
  if (!existsSync(BUILT)) fail(`node-gyp finished but ${relative(ROOT, BUILT)} is missing`);
}

/** ldd's resolution of every library `file` loads: soname -> path. */
function closure(file: string): Map<string, string> {
  const env = { ...process.env };
  delete env.LD_LIBRARY_PATH;
  delete env.LD_PRELOAD;
  const r = spawnSync("ldd", [file], { encoding: "utf8", env });
  if (r.status !== 0) fail(`ldd ${file} failed: ${r.stderr}${r.stdout}`);
  const libs = new Map<string, string>();
  for (const line of r.stdout.split("\n")) {
    const m = /^\s*(\S+)\s+=>\s+(.+?)\s+\(0x[0-9a-f]+\)\s*$/.exec(line) ?? /^\s*(\S+)\s+=>\s+(not found)\s*$/.exec(line);
    if (m?.[1] === undefined || m[2] === undefined) continue;
    if (m[2] === "not found") fail(`${file} needs ${m[1]}, which this system does not have: install it (the package providing ${m[1]})`);
    libs.set(m[1], m[2]);
  }
  return libs;
}

/** The Debian package holding `path` (usrmerge: tried as given, with and without /usr, and resolved). */
function owningPackage(path: string): string {
  const real = realpathSync(path);
  const tries = new Set<string>();
  for (const p of [path, real]) {
    tries.add(p);
    tries.add(p.startsWith("/usr/") ? p.slice(4) : `/usr${p}`);
  }
  for (const p of tries) {
    const r = spawnSync("dpkg-query", ["-S", p], { encoding: "utf8" });
    const line = r.status === 0 ? r.stdout.split("\n").find((l) => l.includes(": ")) : undefined;
    // "libhdf5-103-1:amd64: /usr/lib/..." names the package with its architecture.
    if (line) return line.slice(0, line.indexOf(": ")).split(",")[0]!.trim().replace(/:[a-z0-9]+$/, "");
  }
  return fail(`no Debian package holds ${path}: its licence cannot be found, so it cannot be bundled`);
}

function packageInfo(pkg: string): { version: string; source: string; sourceVersion: string } {
  const out = run("dpkg-query", ["-W", "-f", "${Version}\t${source:Package}\t${source:Version}", pkg], `the version of ${pkg}`);
  const [version, source, sourceVersion] = out.split("\t");
  if (!version || !source || !sourceVersion) fail(`dpkg-query gave no version for ${pkg}`);
  return { version, source, sourceVersion };
}

/** The highest GLIBC_ and GLIBCXX_ symbol versions the objects ask for. */
function requiredVersions(files: string[]): { glibc: string; glibcxx: string | null } {
  const out = run("readelf", ["-V", "-W", ...files], "symbol versions");
  const highest = (prefix: string): string | null => {
    let best: number[] | null = null;
    for (const m of out.matchAll(new RegExp(`Name: ${prefix}_([0-9.]+)\\b`, "g"))) {
      const v = m[1]!.split(".").map(Number);
      if (best === null || compare(v, best) > 0) best = v;
    }
    return best === null ? null : best.join(".");
  };
  const glibc = highest("GLIBC");
  if (glibc === null) fail("readelf found no GLIBC symbol versions in the bundle");
  return { glibc, glibcxx: highest("GLIBCXX") };
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Loads the prebuild in a fresh node and returns libhdf5's version. */
function loadCheck(addon: string): string {
  const env = { ...process.env };
  delete env.LD_LIBRARY_PATH;
  delete env.LD_PRELOAD;
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(require(process.argv[1]).libraryVersion())", addon], { encoding: "utf8", env });
  if (r.status !== 0) fail(`the prebuild does not load: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

function notices(manifest: Manifest): string {
  const rows = manifest.libraries.map(
    (l) => `| \`${l.soname}\` | ${l.package} ${l.version} | [\`prebuilds/linux-x64/${l.licenseFile}\`](prebuilds/linux-x64/${l.licenseFile}) | ${l.source} ${l.sourceVersion} |`,
  );
  return [
    "# Third-party notices",
    "",
    "offspect-cachefile itself is under the MIT licence (`LICENSE`). It ships",
    "the following third-party material.",
    "",
    "## Libraries bundled with the prebuilt addon",
    "",
    `\`prebuilds/linux-x64/\` holds the native addon built on ${manifest.builtWith.system}`,
    `(libhdf5 ${manifest.builtWith.hdf5}) and the shared libraries it loads, copied unmodified`,
    "from the Debian packages named below except for their RUNPATH, which is set to",
    "`$ORIGIN` so they load one another from that folder. Each is used under its own",
    "licence, whose full text (Debian's copyright file for the package) is in",
    "`prebuilds/linux-x64/LICENSES/`. Each library is a separate shared object that",
    "can be replaced by another build of the same library. The corresponding source",
    "of each is Debian's source package of the version given, at",
    "`https://sources.debian.org/src/<source>/<version without its epoch>/` and from Debian's archive",
    "(`apt-get source <source>=<version>`).",
    "",
    "| library | Debian package | licence (Debian's copyright file) | source package |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
    `The bundle runs on Linux x64 with glibc ${manifest.requires.glibc} or newer${manifest.requires.glibcxx ? ` and libstdc++ with GLIBCXX_${manifest.requires.glibcxx}` : ""}.`,
    "",
    "## Other material",
    "",
    "- `assets/fonts/DejaVuSans.ttf`: DejaVu Sans, Bitstream Vera licence, see",
    "  `assets/fonts/DejaVuSans-LICENSE.txt`.",
    "- The brain outline in `dist/map/outline-data.js` is derived from the Colin27",
    "  template of Debian's `mricron-data` (BSD-3-clause); see `assets/colin27/NOTICE`.",
    "- The review page's bundle, `dist/review/page/app.js` and `app.css`, contains uPlot",
    "  (MIT); its licence is in `dist/review/page/licenses.txt`.",
    "- The file format and API follow offspect (MIT).",
    "",
  ].join("\n");
}

function main(): void {
  const clean = process.argv.includes("--clean");
  checkHost();
  buildAddon(clean);

  const libs = [...closure(BUILT)].filter(([soname]) => !BASE.has(soname));
  // Made beside the final folder and renamed into place: a failure leaves the previous bundle, or none, never half of one.
  const work = join(ROOT, "prebuilds", `.linux-x64.${process.pid}`);
  for (const stale of existsSync(join(ROOT, "prebuilds")) ? readdirSync(join(ROOT, "prebuilds")) : []) {
    if (stale.startsWith(".linux-x64.")) rmSync(join(ROOT, "prebuilds", stale), { recursive: true, force: true }); // left by a killed run
  }
  mkdirSync(join(work, "LICENSES"), { recursive: true });
  try {
    bundle(work, libs);
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
}

function bundle(work: string, libs: [string, string][]): void {
  const addon = join(work, ADDON);
  copyFileSync(BUILT, addon);
  run("patchelf", ["--set-rpath", "$ORIGIN", addon], "setting the addon's RUNPATH");

  const libraries: BundledLibrary[] = [];
  for (const [soname, from] of libs) {
    const copy = join(work, soname);
    copyFileSync(realpathSync(from), copy);
    chmodSync(copy, 0o644);
    run("patchelf", ["--set-rpath", "$ORIGIN", copy], `setting the RUNPATH of ${soname}`);
    const pkg = owningPackage(from);
    const copyright = `/usr/share/doc/${pkg}/copyright`;
    if (!existsSync(copyright)) fail(`${copyright} is missing: ${soname} cannot be bundled without its licence`);
    const text = readFileSync(copyright, "utf8");
    const licenseFile = `LICENSES/${pkg}.copyright`;
    writeFileSync(join(work, licenseFile), text);
    libraries.push({ soname, from, package: pkg, ...packageInfo(pkg), licenseFile });
  }
  libraries.sort((a, b) => a.soname.localeCompare(b.soname));

  // Every library the bundle loads must now come from the bundle.
  for (const [soname, path] of closure(addon)) {
    if (!BASE.has(soname) && dirname(path) !== work) fail(`${soname} still resolves to ${path}, outside the bundle`);
  }
  const hdf5 = loadCheck(addon);

  const manifest: Manifest = {
    addon: ADDON,
    platform: "linux",
    arch: "x64",
    libc: "glibc",
    napi: 8,
    builtWith: { node: process.version, system: osName(), hdf5 },
    requires: requiredVersions([addon, ...libraries.map((l) => join(work, l.soname))]),
    libraries,
  };
  writeFileSync(join(work, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  const size = libraries.reduce((s, l) => s + statSync(join(work, l.soname)).size, statSync(addon).size);

  rmSync(OUT, { recursive: true, force: true });
  renameSync(work, OUT);
  writeFileSync(NOTICES, notices(manifest));

  console.log(
    `prebuilds/linux-x64: ${ADDON} and ${libraries.length} libraries (${(size / 2 ** 20).toFixed(1)} MiB), libhdf5 ${hdf5}, ` +
      `needs glibc >= ${manifest.requires.glibc}${manifest.requires.glibcxx ? `, GLIBCXX_${manifest.requires.glibcxx}` : ""}`,
  );
}

try {
  main();
} catch (e) {
  if (!(e instanceof PrebuildError)) throw e;
  console.error(`prebuild: ${e.message}`);
  process.exitCode = 1;
}
