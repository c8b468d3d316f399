/**
 * The error thrown when no build of the native addon loads: one
 * {@link NativeLoadError} naming every place looked in, what was wrong
 * there, and what fixes it. The cause of a failed load is read from the
 * dynamic loader's message (dlopen reports no number to go by).
 *
 * @example
 * ```ts
 * try {
 *   await import("offspect-cachefile");
 * } catch (e) {
 *   if ((e as { code?: string }).code === "ENATIVE") console.error((e as Error).message);
 * }
 * ```
 * @internal
 * @module
 */
import { CacheFileError } from "../base/errors.js";

/** Where an addon was looked for: a source build (build/) or a prebuild (prebuilds/). */
export type CandidateKind = "source build" | "prebuild";

/** One place looked in, and why it did not give an addon. */
export interface LoadCause {
  kind: CandidateKind;
  /** The file tried, or the folder searched. */
  path: string;
  problem: string;
  fix: string;
}

/** What the prebuild's manifest.json says it needs (written by scripts/prebuild.ts). */
export interface PrebuildRequirements {
  glibc: string;
  glibcxx: string | null;
}

/** The Debian/Ubuntu packages a source build needs. */
export const BUILD_PACKAGES = "libhdf5-dev liblzf-dev pkg-config g++ make python3";

/** The fix that always works where a compiler may be installed; the message ends with how. */
export const BUILD_FROM_SOURCE = "build it from source (below)";

/** How to build from source, the last line of the message. */
export const HOW_TO_BUILD = `To build from source: install the build tools and libhdf5 (Debian/Ubuntu: apt-get install -y ${BUILD_PACKAGES}), then run: npm rebuild offspect-cachefile --build-from-source (where npm blocks install scripts, allow this package's first: npm install-scripts approve offspect-cachefile)`;

/**
 * No build of the addon could be loaded (`ENATIVE`): `causes` lists each
 * place looked in, what was wrong there and its fix; the message says the
 * same, one cause a line.
 */
export class NativeLoadError extends CacheFileError {
  readonly causes: readonly LoadCause[];

  constructor(root: string, causes: LoadCause[]) {
    const glibc = glibcVersion();
    const where = `${process.platform}-${process.arch}${glibc ? ` glibc ${glibc}` : ""}, Node ${process.versions.node}`;
    super(
      "ENATIVE",
      [
        `offspect-cachefile: no build of its native libhdf5 addon loads here (${where}; package at ${root}): fix one of these and import again`,
        ...causes.map((c) => `  - ${c.kind} ${c.path}: ${c.problem}: ${c.fix}`),
        HOW_TO_BUILD,
      ].join("\n"),
    );
    this.causes = causes;
  }
}

/** This process's glibc version, or undefined off glibc (musl, other systems). */
export function glibcVersion(): string | undefined {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime;
}

/**
 * Why a file that exists did not load as the addon, and the fix, from the
 * error `require` threw for it.
 */
export function diagnose(kind: CandidateKind, path: string, error: unknown, needs?: PrebuildRequirements): LoadCause {
  const message = error instanceof Error ? error.message : String(error);
  const reinstall = "reinstall the package (npm install offspect-cachefile)";
  let problem = message.replace(/\s+/g, " ").trim();
  let fix: string;
  const version = /version [`']((?:GLIBC|GLIBCXX|CXXABI)_[0-9.]+)' not found/.exec(message);
  const missing = /([^\s:/]+\.so(?:\.[0-9]+)*): cannot open shared object file/.exec(message);
  if (version) {
    const system = glibcVersion();
    const wanted =
      kind === "prebuild" && needs ? `glibc ${needs.glibc}${needs.glibcxx ? ` and libstdc++ with GLIBCXX_${needs.glibcxx}` : ""} or newer` : version[1];
    problem = `it needs ${wanted}, newer than this system's${system ? ` (glibc ${system})` : ""} (${version[1]} not found)`;
    fix = kind === "prebuild" ? BUILD_FROM_SOURCE : `re${BUILD_FROM_SOURCE} on this system`;
  } else if (missing) {
    problem = `the library ${missing[1]} it loads is missing`;
    fix =
      kind === "prebuild"
        ? `it should lie beside the prebuild, so the package is incomplete: ${reinstall}`
        : `the system library it was built against is gone (removed or upgraded since): re${BUILD_FROM_SOURCE}`;
  } else if (/file too short|invalid ELF header|wrong ELF class|ELF load command|not an ELF|ELF file/.test(message)) {
    problem = `a damaged file or one built for another system (${problem})`;
    fix = kind === "prebuild" ? reinstall : `re${BUILD_FROM_SOURCE}`;
  } else if (/setErrorFactory|did not self-register/.test(message)) {
    problem = `not this package's addon (${problem})`;
    fix = kind === "prebuild" ? reinstall : `re${BUILD_FROM_SOURCE}`;
  } else {
    fix = kind === "prebuild" ? `${reinstall}, or ${BUILD_FROM_SOURCE}` : `re${BUILD_FROM_SOURCE}`;
  }
  return { kind, path, problem, fix };
}
