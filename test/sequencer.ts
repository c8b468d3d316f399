/**
 * The order test files start in: the long ones first (measured: each takes
 * a minute or more of one core), then vitest's own order for the rest
 * (failed first, then longest by its cache, unknown and larger files
 * first). With two workers the suite's wall time is bounded below by its
 * longest file; a long file that starts last leaves one core idle at the
 * end, and on a fresh checkout (no cache, as in CI) vitest orders by file
 * size, which puts a short file of many lines before a long file of few.
 */
import { BaseSequencer, type TestSpecification } from "vitest/node";

/** Test files by the core-time they take, longest first (re-measure when one grows). */
const LONGEST_FIRST = [
  "test/variants.test.ts",
  "test/faults-batch.test.ts",
  "test/splice.test.ts",
  "test/format.test.ts",
  "test/readme.test.ts",
  "test/package/install.test.ts",
  "test/commit.test.ts",
  "test/concurrency.test.ts",
  "test/merge.test.ts",
  "test/cli.test.ts",
  "test/recordings/pyxdf-restated.test.ts",
  "test/analysis/annotate.test.ts",
];

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = LONGEST_FIRST.findIndex((p) => f.moduleId.endsWith(`/${p}`));
      return i < 0 ? LONGEST_FIRST.length : i;
    };
    return sorted.map((f, i) => [f, i] as const).sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1]).map(([f]) => f);
  }
}
