import { defineConfig } from "vitest/config";
import LongestFirst from "./test/sequencer.js";

/**
 * Time limits: children (the CLI, the format and fault probes, README
 * blocks) are stopped by their CPU time (test/helpers/spawn.ts, cli.ts),
 * so that a hang fails and a slow, loaded machine does not. What is left
 * to vitest's clock is a test that awaits forever: its limits are long
 * enough that no machine, however loaded, reaches them by being slow.
 *
 * Two files at a time: vitest's default is one fewer worker than cores,
 * which on CI's two cores ran every file one after another. The longest
 * files start first (test/sequencer.ts), so that neither core idles at the
 * end while the other finishes a long one.
 */
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/globalSetup.ts"],
    testTimeout: 1_800_000,
    hookTimeout: 1_800_000,
    pool: "forks",
    maxWorkers: 2,
    sequence: { sequencer: LongestFirst },
    execArgv: ["--expose-gc"],
  },
});
