/**
 * The tree's layers, checked on the built package (dist/, where type-only
 * imports are gone): no import circles, each entry point loads only its
 * concern, and each layer imports only layers below it.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const DIST = resolve(import.meta.dirname, "../../dist");

/** The static imports of one built module: files of this package (relative to dist/) and packages. */
function importsOf(file: string): { files: string[]; packages: string[] } {
  const src = readFileSync(file, "utf8");
  const files: string[] = [];
  const packages: string[] = [];
  for (const m of src.matchAll(/^(?:import|export)\s[^;]*?from\s+"([^"]+)"|^import\s+"([^"]+)"/gms)) {
    const spec = (m[1] ?? m[2])!;
    if (spec.startsWith(".")) files.push(relative(DIST, resolve(dirname(file), spec)));
    else if (!spec.startsWith("node:")) packages.push(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!);
  }
  return { files, packages };
}

function allModules(dir = DIST): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === "page" ? [] : allModules(p);
    return e.name.endsWith(".js") ? [relative(DIST, p)] : [];
  });
}

/** Every module `entry` loads when imported (dynamic imports excluded), and the packages among them. */
function closure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const stack = [entry];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (files.has(f)) continue;
    files.add(f);
    const i = importsOf(join(DIST, f));
    for (const p of i.packages) packages.add(p);
    stack.push(...i.files.filter((x) => existsSync(join(DIST, x))));
  }
  return { files, packages };
}

describe("the tree's layers", () => {
  it("has no import circles", () => {
    const graph = new Map(allModules().map((m) => [m, importsOf(join(DIST, m)).files]));
    const state = new Map<string, "open" | "done">();
    const circles: string[] = [];
    const visit = (m: string, path: string[]): void => {
      if (state.get(m) === "done") return;
      if (state.get(m) === "open") {
        circles.push([...path.slice(path.indexOf(m)), m].join(" → "));
        return;
      }
      state.set(m, "open");
      for (const n of graph.get(m) ?? []) visit(n, [...path, m]);
      state.set(m, "done");
    };
    for (const m of graph.keys()) visit(m, []);
    expect(circles).toEqual([]);
  });

  it("the root loads the CacheFile API only: no sharp, opentype.js, fast-xml-parser, recordings, analysis, map or review", () => {
    const { files, packages } = closure("index.js");
    expect(files.has("cachefile/cachefile.js")).toBe(true);
    expect([...packages].sort()).toEqual([]);
    // The recordings entry does load fast-xml-parser: the closure sees packages.
    expect([...closure("recordings/index.js").packages]).toEqual(expect.arrayContaining(["fast-xml-parser"]));
    expect([...files].filter((f) => /^(recordings|analysis|map|review|steps|cli)\//.test(f))).toEqual([]);
  });

  it("each entry by concern loads what its concern needs", () => {
    expect([...closure("offspect.js").packages]).toEqual([]);
    expect([...closure("steps/index.js").files].filter((f) => !/^(steps|base|values|cachefile|hdf5)\//.test(f))).toEqual([]);
    expect([...closure("hdf5/index.js").files].filter((f) => !f.startsWith("hdf5/") && !f.startsWith("base/"))).toEqual([]);
    expect([...closure("recordings/index.js").files].filter((f) => /^(map|analysis|review|cli)\//.test(f))).toEqual([]);
    expect([...closure("analysis/index.js").packages].sort()).not.toContain("sharp");
    expect([...closure("cli/main.js").packages].sort()).toEqual(["commander"]);
  });

  it("each layer imports only the layers below it", () => {
    // base → values → hdf5 → cachefile → files, steps → map values → analysis → map rendering → review → cli
    const below: Record<string, RegExp> = {
      base: /^base\//,
      values: /^(base|values)\//,
      hdf5: /^(base|values|hdf5)\//,
      cachefile: /^(base|values|hdf5|cachefile)\//,
      files: /^(base|values|hdf5|cachefile|files)\//,
      steps: /^(base|values|hdf5|cachefile|steps)\//,
      recordings: /^(base|values|hdf5|cachefile|files|recordings)\//,
      analysis: /^(base|values|hdf5|cachefile|files|steps|analysis|map\/(values|project|transform|errors))\.?/,
    };
    const wrong: string[] = [];
    for (const m of allModules()) {
      const layer = m.split("/")[0]!;
      const allowed = below[layer];
      if (!allowed) continue;
      for (const f of importsOf(join(DIST, m)).files) if (!allowed.test(f)) wrong.push(`${m} → ${f}`);
    }
    // The map's core (values, projection, scales) sits below the analysis, its rendering above it.
    for (const core of ["map/values.js", "map/project.js", "map/transform.js", "map/errors.js"]) {
      for (const f of [...closure(core).files]) if (/^(analysis|review|cli)\//.test(f)) wrong.push(`${core} loads ${f}`);
    }
    expect(wrong).toEqual([]);
  });
});
