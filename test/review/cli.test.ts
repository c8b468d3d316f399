/**
 * `cachefile review` as a user runs it (dist/cli/main.js in a child process):
 * exactly one line on stdout with the URL, a free port with --port 0,
 * warnings for --host and a file given twice, exit 0 after Ctrl-C (SIGINT)
 * with the files let go; a missing file exits 1 with one line; and the
 * package's root does not load the review (its own subpath does).
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { copyFixture, fileSha256, PYTHON, ROOT, tempDir } from "../helpers/fixtures.js";
import { CLI } from "../helpers/cli.js";

const tmp = tempDir("ocf-review-cli-");
afterAll(() => tmp.cleanup());

/** Starts `cachefile review ARGS`, waits for its first stdout line; `stop()` sends SIGINT and collects the rest. */
function serve(args: string[]): Promise<{ line: string; stop: () => Promise<{ code: number | null; stdout: string; stderr: string }> }> {
  const child = spawn(process.execPath, [CLI, "review", ...args], { cwd: tmp.dir, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return new Promise((resolveLine, reject) => {
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      if (stdout.includes("\n") && !stdout.startsWith("#")) {
        const line = stdout.split("\n")[0]!;
        stdout = "#" + stdout; // resolved once
        resolveLine({
          line,
          stop: async () => {
            child.kill("SIGINT");
            const code = await exited;
            return { code, stdout: stdout.slice(1), stderr };
          },
        });
      }
    });
    void exited.then((code) => reject(new Error(`cachefile review exited (${code}) before printing its URL: ${stderr}`)));
  });
}

describe("cachefile review", () => {
  it("prints one line with the URL and its token, serves the page, and exits 0 on Ctrl-C having written nothing", async () => {
    const file = copyFixture("map_session.hdf5", tmp.dir);
    const before = fileSha256(file);
    const { line, stop } = await serve([file, "--port", "0"]);
    const m = /^review: http:\/\/127\.0\.0\.1:([0-9]+)\/#token=([0-9a-f]{64})$/.exec(line);
    expect(m, line).not.toBeNull();
    const base = `http://127.0.0.1:${m![1]}`;
    expect((await fetch(`${base}/`)).status).toBe(200);
    const files = (await (await fetch(`${base}/api/files`, { headers: { Authorization: `Bearer ${m![2]}` } })).json()) as { files: { traces: number }[] };
    expect(files.files[0]!.traces).toBe(120);
    const r = await stop();
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${line}\n`);
    expect(r.stderr).toBe("");
    expect(fileSha256(file)).toBe(before);
    // Let go of: a writer gets the file at once.
    const w = spawnSync(PYTHON, ["-c", "import h5py, sys; h5py.File(sys.argv[1], 'r+').close()", file], { encoding: "utf8" });
    expect(w.status, w.stderr).toBe(0);
  });

  it("warns about a file given twice and about --host, whose name the URL then carries", async () => {
    const file = copyFixture("template_R001.hdf5", tmp.dir);
    const { line, stop } = await serve([file, "./template_R001.hdf5", "--port", "0", "--host", "127.0.0.1"]);
    expect(line).toMatch(/^review: http:\/\/127\.0\.0\.1:[0-9]+\/#token=/);
    const r = await stop();
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("warning: ./template_R001.hdf5 was given more than once: it is reviewed once\n");
    const other = await serve([file, "--port", "0", "--host", "localhost"]);
    expect(other.line).toMatch(/^review: http:\/\/localhost:[0-9]+\/#token=/);
    expect((await other.stop()).code).toBe(0);
  });

  it("a missing file, or a port in use, is one line on stderr and exit 1; a bad port is a usage error (exit 2)", async () => {
    const missing = spawnSync(process.execPath, [CLI, "review", "missing.hdf5", "--port", "0"], { cwd: tmp.dir, encoding: "utf8" });
    expect(missing.status).toBe(1);
    expect(missing.stdout).toBe("");
    expect(missing.stderr).toBe(`error: ${resolve(tmp.dir, "missing.hdf5")} does not exist: check the path\n`);
    const file = copyFixture("template_R003.hdf5", tmp.dir);
    const first = await serve([file, "--port", "0"]);
    const port = /:([0-9]+)\//.exec(first.line)![1]!;
    const taken = spawnSync(process.execPath, [CLI, "review", file, "--port", port], { cwd: tmp.dir, encoding: "utf8" });
    expect(taken.status).toBe(1);
    expect(taken.stderr).toBe(`error: cannot serve the review on 127.0.0.1:${port}: port ${port} is in use: pass another port, or 0 for a free one\n`);
    await first.stop();
    const bad = spawnSync(process.execPath, [CLI, "review", file, "--port", "70000"], { cwd: tmp.dir, encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/port must be 0 to 65535/);
  });
});

describe("the package's entry points", () => {
  /** Every module a module loads, statically or by import(), following relative imports of src/. */
  function reachable(entry: string): Set<string> {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) visit(resolve(dirname(file), m[1]!.replace(/\.js$/, ".ts")));
    };
    visit(entry);
    return seen;
  }

  it("the root does not load the review server or its page; offspect-cachefile/review does", () => {
    const root = [...reachable(join(ROOT, "src", "index.ts"))].map((f) => f.slice(ROOT.length + 1));
    expect(root.length).toBeGreaterThan(50);
    expect(root.filter((f) => f.startsWith("src/review/") || f.startsWith("src/cli/"))).toEqual([]);
    const review = [...reachable(join(ROOT, "src", "review", "index.ts"))].map((f) => f.slice(ROOT.length + 1));
    expect(review).toEqual(expect.arrayContaining(["src/review/server.ts", "src/review/api.ts", "src/review/session.ts"]));
    expect(review.filter((f) => f.startsWith("src/review/page/"))).toEqual([]); // the page is bundled, never imported by the server
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { exports: Record<string, unknown>; files: string[] };
    expect(pkg.exports["./review"]).toEqual({ types: "./dist/review/index.d.ts", default: "./dist/review/index.js" });
    // The CLI loads the review's server only when the command runs.
    const cli = readFileSync(join(ROOT, "src", "cli", "commands", "review.ts"), "utf8");
    expect(cli).not.toMatch(/^import .*\.\.\/review\//m);
  });

  it("has no import circle among the review's modules", () => {
    const graph = new Map<string, string[]>();
    for (const f of reachable(join(ROOT, "src", "review", "index.ts"))) {
      if (!f.includes("/src/review/")) continue;
      const text = readFileSync(f, "utf8");
      graph.set(f, [...text.matchAll(/from\s+"(\.\/[^"]+)"/g)].map((m) => resolve(dirname(f), m[1]!.replace(/\.js$/, ".ts"))));
    }
    const state = new Map<string, "open" | "done">();
    const circle: string[] = [];
    const dfs = (f: string, path: string[]): void => {
      if (state.get(f) === "done") return;
      if (state.get(f) === "open") {
        circle.push([...path, f].map((p) => p.slice(ROOT.length + 1)).join(" → "));
        return;
      }
      state.set(f, "open");
      for (const g of graph.get(f) ?? []) dfs(g, [...path, f]);
      state.set(f, "done");
    };
    for (const f of graph.keys()) dfs(f, []);
    expect(circle).toEqual([]);
  });
});
