/**
 * offspect's test fixtures (tests/conftest.py and tests/mock/cache.py of
 * neuromti/tool-offspect), restated with this package: the settings come
 * from the YAML template (test/offspect-suite/cache_template.yml, read with
 * YAML 1.1 as offspect's `get_cachefile_template` reads its template), and
 * each fixture file is written with this package's `populate`, which stores
 * what offspect's `create_test_cachefile` stores (one origin, its attributes
 * copied onto every trace, Python's `str()` of every value, datasets named
 * by id) from the test signal of {@link createFakeTrace}.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { type Annotation } from "../../src/index.js";
import { populate } from "../../src/offspect.js";
import { createFakeTrace } from "./fake-trace.js";
import { mulberry32 } from "../../src/analysis/prng.js";

export const SUITE_DIR = fileURLToPath(new URL(".", import.meta.url));
export const TEMPLATE = join(SUITE_DIR, "cache_template.yml");

/** One fixture: the file, the settings the Python fixture yields, and the artefact draws of its traces. */
export interface Fixture {
  file: string;
  settings: Annotation;
  artefacts: number[][][];
}

function isAnnotation(doc: unknown): doc is Annotation {
  if (!doc || typeof doc !== "object") return false;
  const d = doc as Record<string, unknown>;
  return typeof d["origin"] === "string" && !!d["attrs"] && typeof d["attrs"] === "object" && Array.isArray(d["traces"]);
}

/** offspect's `get_cachefile_template`: every document of the template, read fresh (callers may change them). */
export function getCachefileTemplate(): Annotation[] {
  const docs = parseAllDocuments(readFileSync(TEMPLATE, "utf8"), { version: "1.1" });
  return docs.map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${TEMPLATE}: document ${i}: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    if (!isAnnotation(value)) throw new Error(`${TEMPLATE}: document ${i} is not { origin, attrs, traces }`);
    return value;
  });
}

/**
 * offspect's `create_test_cachefile`, with this package's `populate`: refuses
 * an existing file (offspect raises FileExistsError), makes each trace's
 * signal from its settings and the origin attributes, and (as offspect's
 * version does, in place) leaves every trace's settings with the origin
 * attributes merged in, which is what the Python tests compare against.
 */
export function createTestCachefile(tf: string, settings: Annotation, seed: number): Fixture {
  if (existsSync(tf)) throw new Error(`${tf} already exists`);
  const uniform = mulberry32(seed);
  const traces = settings.traces.map((t) => Object.assign(t, settings.attrs));
  const made = traces.map((t) => createFakeTrace(t, uniform));
  populate(tf, [settings], [made.map((m) => m.trace)]);
  return { file: tf, settings, artefacts: made.map((m) => m.artefacts) };
}

/** The fixtures test_file.py uses: cachefile0, cachefile1 and cachefile0inconsistent, in `dir`. */
export function makeFixtures(dir: string): { cachefile0: Fixture; cachefile1: Fixture; cachefile0inconsistent: Fixture } {
  // cachefile0: the template's first origin
  const cachefile0 = createTestCachefile(join(dir, "cachefile0.hdf5"), getCachefileTemplate()[0]!, 1);
  // cachefile1: the third, different to but fully consistent with cachefile0
  const cachefile1 = createTestCachefile(join(dir, "cachefile1.hdf5"), getCachefileTemplate()[2]!, 2);
  // cachefile0inconsistent: the second, with channel_labels that differ from cachefile0's
  const second = getCachefileTemplate()[1]!;
  second.attrs["channel_labels"] = ["INVALID"];
  const cachefile0inconsistent = createTestCachefile(join(dir, "cachefile0inconsistent.hdf5"), second, 3);
  return { cachefile0, cachefile1, cachefile0inconsistent };
}
