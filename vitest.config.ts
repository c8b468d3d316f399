import { defineConfig } from "vitest/config";

/**
 * Time limits: children (the CLI, the format and fault probes, README
 * blocks) are stopped by their CPU time (test/helpers/spawn.ts, cli.ts),
 * so that a hang fails and a slow, loaded machine does not. What is left
 * to vitest's clock is a test that awaits forever: its limits are long
 * enough that no machine, however loaded, reaches them by being slow.
 */
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/globalSetup.ts"],
    testTimeout: 1_800_000,
    hookTimeout: 1_800_000,
    pool: "forks",
    execArgv: ["--expose-gc"],
  },
});
