/**
 * The format module (src/hdf5/format/) against libhdf5: for every fixture,
 * every generated valid variant and every input of the fault corpus, each
 * read the module answers (the
 * tree, attributes as text, dataset values) equals libhdf5's, byte for
 * byte, or the module declines it (and libhdf5 answers), or the module
 * finds damage that libhdf5 finds too. The files run in child processes
 * on the built dist/ (test/format/differential.mjs), many to a child; a file
 * that crashes or hangs its child is run again alone and reported alone
 * (test/helpers/spawn.ts's runBatch).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { fixture, fixtureNames, ROOT } from "./helpers/fixtures.js";
import { runBatch, type BatchResult } from "./helpers/spawn.js";
import { CACHE, generateVariants, listVariants } from "./variants/generate.js";
import { FormatFile } from "../src/hdf5/format/file.js";

const CHILD = join(ROOT, "test", "format", "differential.mjs");

interface Verdict {
  verdict: "equal" | "declined" | "damaged" | "different";
  /** The module's first damage message. */
  damage?: string;
  moduleFailure?: string;
  libhdf5Failure?: string;
  objects: number;
  differences: string[];
}

/** CPU seconds a child may spend on one file (what the module and libhdf5 take on the largest variant, many times over). */
const CPU_PER_FILE_S = 60;
/**
 * CPU seconds libhdf5 may spend reading a damaged file: more is a hang
 * (which counts as failing on it). The slowest read of the corpus that ends
 * takes under 6 s (most under 0.2 s); the four that loop forever would burn
 * whatever they are given.
 */
const CPU_LIBHDF5_ONLY_S = 10;

function answer<T>(r: BatchResult<T> | undefined, what: string): T {
  if (!r) throw new Error(`${what}: no answer (the batch did not run)`);
  if (r.failure) {
    const f = r.failure;
    throw new Error(`${what}: the child ${f.hung ? `hung (${f.hung === "cpu" ? "used its CPU time" : "used no CPU for the idle limit"})` : f.signal ? `was killed by ${f.signal}` : `exited ${String(f.status)}`}\nstdout: ${f.stdout.slice(-2000)}\nstderr: ${f.stderr.slice(-2000)}`);
  }
  return r.result!;
}

/** The verdicts of `files`, by file, several files to a child. */
async function compareAll(files: string[]): Promise<Map<string, BatchResult<Verdict>>> {
  const results = await runBatch<Verdict>(process.execPath, [CHILD], files, { cwd: ROOT, perInputCpuS: CPU_PER_FILE_S });
  return new Map(results.map((r) => [r.input, r]));
}

/**
 * FormatFile.resolve, with each group's members read once: resolve reads a
 * group's members on every call, a quarter second each in the variant of
 * 65,600 traces (what this test asks of a path is its attributes, not how
 * fast resolve finds it).
 */
function resolver(f: FormatFile): (path: string) => number | undefined {
  const members = new Map<number, Map<string, { type: string; addr?: number }>>();
  return (path) => {
    let addr = f.root;
    let at = "";
    for (const part of path.split("/").filter((p) => p !== "")) {
      if (f.object(addr, at || "/").kind !== "group") return undefined;
      let byName = members.get(addr);
      if (!byName) {
        byName = new Map(f.members(addr, at || "/").byName.map((m) => [m.name, m.target as { type: string; addr?: number }]));
        members.set(addr, byName);
      }
      const target = byName.get(part);
      if (!target || target.type !== "hard") return undefined;
      addr = target.addr!;
      at += `/${part}`;
    }
    return addr;
  };
}

describe("the format module reads what libhdf5 reads", () => {
  let fixtures: Map<string, BatchResult<Verdict>>;
  beforeAll(async () => {
    fixtures = await compareAll(fixtureNames().map((n) => fixture(n)));
  });

  it.each(fixtureNames())("offspect's %s: every object, attribute and value equal", (name) => {
    const v = answer(fixtures.get(fixture(name)), name);
    expect(v.differences).toEqual([]);
    expect(v.verdict).toBe("equal");
    expect(v.objects).toBeGreaterThan(4);
  });

  describe("the generated valid variants (test/variants)", () => {
    const variants = listVariants().map((v) => v.name);
    let verdicts: Map<string, BatchResult<Verdict>>;
    beforeAll(async () => {
      generateVariants();
      verdicts = await compareAll(variants.map((name) => join(CACHE, `${name}.hdf5`)));
    });

    it.each(variants)("%s: every answer equal, or declined to libhdf5 (never damaged)", (name) => {
      const v = answer(verdicts.get(join(CACHE, `${name}.hdf5`)), name);
      expect(v.differences).toEqual([]);
      expect(["equal", "declined"], JSON.stringify(v)).toContain(v.verdict);
    });

    it.each(variants)("%s: an attribute is 'stored as h5py stores a str' exactly when h5py's type says so", (name) => {
      const view = JSON.parse(readFileSync(join(CACHE, `${name}.h5py.json`), "utf8")) as {
        objects: Record<string, { attrs: [string, unknown, { class: string; vlen?: boolean; cset?: string }][] }>;
      };
      const f = FormatFile.open(join(CACHE, `${name}.hdf5`));
      try {
        const resolve = resolver(f);
        let checked = 0;
        for (const [path, o] of Object.entries(view.objects)) {
          const addr = resolve(path);
          if (addr === undefined) continue;
          let ours;
          try {
            ours = f.attributes(addr, path);
          } catch {
            continue; // declined to libhdf5 (the other test covers it)
          }
          for (const [attr, , type] of o.attrs) {
            const a = ours.find((x) => x.name === attr);
            expect(a?.standard, `${path} ${attr}`).toBe(type.class === "string" && type.vlen === true && type.cset === "utf8");
            if (++checked > 20000) return;
          }
        }
      } finally {
        f.close();
      }
    });
  });

  const corpus = join(ROOT, "test", "faults", "corpus");
  const regressions = join(ROOT, "test", "faults", "regressions");
  const inputs = [
    ...readdirSync(corpus).filter((f) => f.endsWith(".hdf5")).map((f) => join(corpus, f)),
    ...readdirSync(regressions).filter((f) => f.endsWith(".hdf5")).map((f) => join(regressions, f)),
  ].sort();

  /**
   * Damage libhdf5 1.10.8 reads through without an error, by the module's
   * message: libhdf5 returns what the damage makes of the values, or reads
   * past a buffer (some runs crash, others do not), or allocates gigabytes
   * first, so a clean run of libhdf5 proves nothing about these.
   */
  const READ_THROUGH_BY_LIBHDF5: [RegExp, string][] = [
    [/refers to global heap object \d+ at address \d+, which does not exist/, "a string's heap ID names an object its collection does not hold: libhdf5 reads without checking"],
    [/its length \d+ differs from its global heap object's/, "a string's length exceeds its heap object: libhdf5 copies past the object"],
    [/a variable-length string of characters of \d+ bytes \(\d+ bits at bit \d+\)/, "a string's characters are not one byte of 8 bits: libhdf5 reads the value as empty"],
    [/its chunks are \d+ long in dimension \d+, more than its maximum/, "chunks longer than the dataset may grow: libhdf5 reads past its buffer"],
    [/a chunk of .* lies outside the file/, "a chunk's stored size reaches past the end of the file: libhdf5 allocates and reads that many bytes (up to 4 GiB) and returns what it makes of them"],
  ];
  /** Corpus inputs meant to be harmless (every operation expected "ok"): never damaged. */
  const harmless = new Set(
    (JSON.parse(readFileSync(join(corpus, "cases.json"), "utf8")) as { cases: { file: string; expect: Record<string, string> }[] }).cases
      .filter((c) => Object.values(c.expect).every((o) => o === "ok"))
      .map((c) => join(corpus, c.file)),
  );

  let verdicts: Map<string, BatchResult<Verdict>>;
  /** Whether libhdf5 alone reads the file without an error, for the inputs the module calls damaged (false also when libhdf5 crashes or hangs on it). */
  const libhdf5Clean = new Map<string, boolean>();
  beforeAll(async () => {
    verdicts = await compareAll(inputs);
    const damaged = inputs.filter((p) => {
      const r = verdicts.get(p)?.result;
      return r?.verdict === "damaged" && !READ_THROUGH_BY_LIBHDF5.some(([pattern]) => pattern.test(r.damage!));
    });
    const only = await runBatch<{ libhdf5Clean: boolean }>(process.execPath, [CHILD, "--libhdf5-only"], damaged, { cwd: ROOT, perInputCpuS: CPU_LIBHDF5_ONLY_S });
    for (const r of only) libhdf5Clean.set(r.input, r.result?.libhdf5Clean ?? false);
  });

  it.each(inputs.map((p) => [p.slice(ROOT.length + 1), p]))("%s: the same answers, a decline, or damage libhdf5 fails on or misreads", (name, path) => {
    const v = answer(verdicts.get(path), name);
    expect(v.differences, JSON.stringify(v)).toEqual([]);
    expect(v.verdict).not.toBe("different");
    if (harmless.has(path)) expect(v.verdict, "a harmless input called damaged").not.toBe("damaged");
    // What the module calls damaged, libhdf5 fails on (an error, a crash or a hang), or is known to read through.
    if (v.verdict === "damaged" && !READ_THROUGH_BY_LIBHDF5.some(([pattern]) => pattern.test(v.damage!))) {
      expect(libhdf5Clean.get(path), `libhdf5 reads this file without an error, where the module finds: ${v.damage}`).toBe(false);
    }
  });
});
