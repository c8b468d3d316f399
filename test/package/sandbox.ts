/**
 * A machine without a compiler and without libhdf5, for the install tests:
 * commands run in a private mount namespace (unshare) in which
 *
 * - libhdf5 and every library the prebuild bundles are hidden: an empty
 *   file is bind-mounted over each system copy (libhdf5_serial*.so*,
 *   liblzf.so*, libsz, libaec, libcurl, ...) and over libhdf5's pkg-config
 *   files, and an empty folder over /usr/lib/x86_64-linux-gnu/hdf5 and
 *   /usr/include/hdf5;
 * - PATH is one folder holding only node, npm, npx, sh (npm runs every
 *   script through it) and recording apt-get, apt and sudo shims, which
 *   append their arguments to `aptLog` and fail;
 * - the system's compilers, make, python3 and npm's own node-gyp are
 *   replaced by recording shims too (`toolLog`), so nothing can build from
 *   source even by absolute path, and any attempt is on record.
 *
 * Nothing outside the namespace changes.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const LIBDIR = "/usr/lib/x86_64-linux-gnu";
const HIDDEN_DIRS = [join(LIBDIR, "hdf5"), "/usr/include/hdf5"];
const TOOLS = ["cc", "c++", "gcc", "g++", "make", "python3", "python"];
const APT = ["apt-get", "apt", "sudo"];

/** How this process can enter a mount namespace, or why it cannot. */
export type Namespaces = { ok: true; unshare: string[] } | { ok: false; reason: string };

/** Probes `unshare -m` (as root) or `unshare -rm` (a user namespace otherwise). */
export function namespaces(): Namespaces {
  const unshare = ["/usr/bin/unshare", "/bin/unshare"].find((p) => existsSync(p));
  if (!unshare) return { ok: false, reason: "unshare (util-linux) is not installed" };
  const args = process.getuid?.() === 0 ? ["-m", "--propagation", "private"] : ["-r", "-m", "--propagation", "private"];
  const probe = spawnSync(unshare, [...args, "/bin/sh", "-c", "true"], { encoding: "utf8" });
  if (probe.status !== 0) return { ok: false, reason: `the kernel refuses a mount namespace here (${unshare} ${args.join(" ")}: ${probe.stderr.trim() || `exit ${probe.status}`})` };
  return { ok: true, unshare: [unshare, ...args] };
}

function find(cmd: string): string | undefined {
  for (const dir of ["/usr/local/bin", "/usr/bin", "/bin"]) {
    const p = join(dir, cmd);
    if (existsSync(p)) return realpathSync(p);
  }
  return undefined;
}

export interface Sandbox {
  /** The folder holding the shims, logs and the mount list. */
  readonly dir: string;
  /** The only folder on PATH inside. */
  readonly bin: string;
  /** One line per apt-get, apt or sudo call. */
  readonly aptLog: string;
  /** One line per compiler, make, python3 or node-gyp call. */
  readonly toolLog: string;
  /** Every system path hidden (files emptied, folders emptied). */
  readonly hiddenFiles: readonly string[];
  readonly hiddenDirs: readonly string[];
  /** Runs a command inside: PATH is {@link bin} only, HOME and TMPDIR are kept, nothing else of this environment. */
  run(cmd: string, args: string[], options?: { cwd?: string; env?: Record<string, string>; timeout?: number }): SpawnSyncReturns<string>;
}

/**
 * Prepares a sandbox in `dir`. `sonames` are the libraries whose system
 * copies are hidden besides libhdf5 and liblzf (the prebuild's bundle).
 */
export function createSandbox(dir: string, ns: Extract<Namespaces, { ok: true }>, sonames: readonly string[]): Sandbox {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  const aptLog = join(dir, "apt.log");
  const toolLog = join(dir, "tools.log");
  writeFileSync(aptLog, "");
  writeFileSync(toolLog, "");

  const shim = (log: string, what: string) =>
    `#!/bin/sh\nprintf '%s %s\\n' "$0" "$*" >> '${log}'\necho "sandbox: ${what} $0 is not available here" >&2\nexit 1\n`;
  const aptShim = join(dir, "apt-shim");
  writeFileSync(aptShim, shim(aptLog, "package manager"));
  const toolShim = join(dir, "tool-shim");
  writeFileSync(toolShim, shim(toolLog, "build tool"));
  const gypShim = join(dir, "node-gyp-shim.js");
  writeFileSync(
    gypShim,
    `require("fs").appendFileSync(${JSON.stringify(toolLog)}, "node-gyp " + process.argv.slice(2).join(" ") + "\\n");\nconsole.error("sandbox: node-gyp is not available here");\nprocess.exit(1);\n`,
  );
  for (const f of [aptShim, toolShim]) chmodSync(f, 0o755);

  const npmCli = realpathSync(find("npm") ?? fail("npm is not installed"));
  const npmRoot = dirname(dirname(npmCli));
  symlinkSync(process.execPath, join(bin, "node"));
  symlinkSync(npmCli, join(bin, "npm"));
  symlinkSync(join(npmRoot, "bin", "npx-cli.js"), join(bin, "npx"));
  symlinkSync("/bin/sh", join(bin, "sh"));
  for (const name of APT) symlinkSync(aptShim, join(bin, name));

  const emptyFile = join(dir, "empty");
  const emptyDir = join(dir, "empty.d");
  writeFileSync(emptyFile, "");
  mkdirSync(emptyDir);

  const hiddenFiles = new Set<string>();
  for (const name of readdirSync(LIBDIR)) {
    if (/^lib(hdf5|lzf)/.test(name) && /\.so(\.|$)/.test(name)) hiddenFiles.add(realpathSync(join(LIBDIR, name)));
  }
  const pkgconfig = join(LIBDIR, "pkgconfig");
  for (const name of existsSync(pkgconfig) ? readdirSync(pkgconfig) : []) {
    if (/^(hdf5|liblzf)/.test(name)) hiddenFiles.add(realpathSync(join(pkgconfig, name)));
  }
  for (const soname of sonames) {
    const p = join(LIBDIR, soname);
    if (existsSync(p)) hiddenFiles.add(realpathSync(p));
  }
  const hiddenDirs = HIDDEN_DIRS.filter((d) => existsSync(d));

  const mounts: [string, string][] = [];
  for (const f of hiddenFiles) mounts.push([emptyFile, f]);
  for (const d of hiddenDirs) mounts.push([emptyDir, d]);
  for (const name of APT) {
    const p = find(name);
    if (p) mounts.push([aptShim, p]);
  }
  for (const name of TOOLS) {
    const p = find(name);
    if (p && !mounts.some(([, target]) => target === p)) mounts.push([toolShim, p]);
  }
  const gyp = join(npmRoot, "node_modules", "node-gyp", "bin", "node-gyp.js");
  if (existsSync(gyp)) mounts.push([gypShim, gyp]);

  const mount = ["/usr/bin/mount", "/bin/mount"].find((p) => existsSync(p)) ?? fail("mount is not installed");
  const enter = join(dir, "enter.sh");
  writeFileSync(
    enter,
    ["#!/bin/sh", "set -e", ...mounts.map(([src, dst]) => `${mount} --bind '${src}' '${dst}'`), 'exec "$@"', ""].join("\n"),
  );

  return {
    dir,
    bin,
    aptLog,
    toolLog,
    hiddenFiles: [...hiddenFiles],
    hiddenDirs,
    run(cmd, args, options = {}) {
      const env: Record<string, string> = { PATH: bin, HOME: process.env.HOME ?? dir, TMPDIR: process.env.TMPDIR ?? "/tmp", LANG: "C.UTF-8", ...options.env };
      return spawnSync(ns.unshare[0]!, [...ns.unshare.slice(1), "/bin/sh", enter, cmd, ...args], {
        cwd: options.cwd ?? dir,
        env,
        encoding: "utf8",
        timeout: options.timeout ?? 1_200_000, // a backstop only: generous, since it measures the machine (npm may wait on the network)
        maxBuffer: 64 << 20,
      });
    },
  };
}

/** What a log recorded, one call a line. */
export function recorded(log: string): string[] {
  return readFileSync(log, "utf8").split("\n").filter((l) => l !== "");
}

function fail(message: string): never {
  throw new Error(message);
}
