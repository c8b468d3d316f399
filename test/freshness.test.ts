/**
 * Every call sees the file as it is now, also within one synchronous run
 * (no turn of the event loop): a file changed, copied over or replaced
 * between two calls is read again, never served from what was read before,
 * and never called damaged.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CacheFile } from "../src/offspect.js";
import { readFile } from "../src/hdf5/index.js";
import { copyFixture, fixture, tempDir } from "./helpers/fixtures.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

function libhdf5Comment(path: string, trace: string): string {
  using f = readFile(path);
  return f.attrs(trace)["comment"]!;
}

describe("a file changed within one synchronous run", () => {
  it("edited through this library, then the original copied over it: a new CacheFile and the old one read the original", () => {
    const original = fixture("map_session.hdf5");
    const x = copyFixture("map_session.hdf5", dir, "x.hdf5");
    const before = new CacheFile(x).getTraceAttrs(3)["comment"];
    const cf = new CacheFile(x);
    const attrs = cf.getTraceAttrs(3);
    attrs["comment"] = "changed once";
    cf.setTraceAttrs(3, attrs);
    expect(cf.getTraceAttrs(3)["comment"]).toBe("changed once");
    copyFileSync(original, x);
    expect(new CacheFile(x).getTraceAttrs(3)["comment"]).toBe(before);
    expect(cf.getTraceAttrs(3)["comment"]).toBe(before);
    for (let i = 0; i < cf.length; i++) {
      const a = cf.getTraceAttrs(i);
      expect(a["comment"]).toBe(libhdf5Comment(x, `/${a["origin"]}/traces/${a["id"]}`));
    }
  });

  it("copied over by another file of another layout: the next call reads the new file", () => {
    const x = copyFixture("map_session.hdf5", dir, "x.hdf5");
    const cf = new CacheFile(x);
    expect(cf.length).toBe(120);
    copyFileSync(fixture("template_R001.hdf5"), x);
    expect(cf.length).toBe(2);
    expect(cf.origins).toEqual(["template_R001.xdf"]);
    expect(cf.getTraceAttrs(1)["id"]).toBe("1");
  });

  it("replaced by a rename (another inode): the next call reads the new file", () => {
    const x = copyFixture("template_R001.hdf5", dir, "x.hdf5");
    const cf = new CacheFile(x);
    expect(cf.origins).toEqual(["template_R001.xdf"]);
    const other = copyFixture("template_R002.hdf5", dir, "other.hdf5");
    renameSync(other, x);
    expect(cf.origins).toEqual(["template_R002.xdf"]);
  });

  it("changed by another process between two calls (h5py writes, then a copy): each call reads what is there", () => {
    const x = copyFixture("template_R001.hdf5", dir, "x.hdf5");
    const cf = new CacheFile(x);
    const path = `/template_R001.xdf/traces/0`;
    expect(cf.getTraceAttrs(0)["comment"]).toBe(libhdf5Comment(x, path));
    execFileSync("/usr/bin/python3", [
      "-c",
      `import h5py, sys
with h5py.File(sys.argv[1], "r+") as f: f["${path}"].attrs["comment"] = "from h5py"`,
      x,
    ]);
    expect(cf.getTraceAttrs(0)["comment"]).toBe("from h5py");
    expect(spawnSync("cp", [fixture("template_R001.hdf5"), x]).status).toBe(0);
    expect(cf.getTraceAttrs(0)["comment"]).toBe(libhdf5Comment(fixture("template_R001.hdf5"), path));
    copyFileSync(fixture("template_R003.hdf5"), join(dir, "y.hdf5"));
    renameSync(join(dir, "y.hdf5"), x);
    expect(cf.origins).toEqual(["template_R003.xdf"]);
  });

  it("many edits and copies in a tight loop: every read equals libhdf5's read of the file as it is", () => {
    const x = copyFixture("template_R001.hdf5", dir, "x.hdf5");
    const cf = new CacheFile(x);
    for (let round = 0; round < 20; round++) {
      const attrs = cf.getTraceAttrs(round % 2);
      attrs["comment"] = `round ${round}`;
      cf.setTraceAttrs(round % 2, attrs);
      if (round % 3 === 0) copyFileSync(fixture("template_R001.hdf5"), x);
      for (let i = 0; i < cf.length; i++) {
        expect(cf.getTraceAttrs(i)["comment"]).toBe(libhdf5Comment(x, `/template_R001.xdf/traces/${i}`));
      }
    }
  });
});
