/**
 * Superblocks libhdf5 accepts in forms h5py does not write: a file driver
 * information block, and a base address that is not the superblock's
 * position. Each file is made here from offspect's template_R001.hdf5
 * (superblock version 0: base address at byte 24, end of file at 40,
 * driver information block address at 48), read through the package and
 * through h5py.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CacheFile } from "../../src/offspect.js";
import { expected, fixture, python, tempDir } from "../helpers/fixtures.js";

const tmp = tempDir("ocf-superblock-");
afterAll(() => tmp.cleanup());
const template = readFileSync(fixture("template_R001.hdf5"));

/** The template with a driver information block of driver `name` appended. */
function withDriverBlock(name: string): string {
  const block = Buffer.alloc(24);
  block.writeUInt32LE(8, 4); // version 0, 3 reserved bytes, then the size of the driver's information
  block.write(name, 8, "latin1");
  const b = Buffer.concat([template, block]);
  b.writeBigUInt64LE(BigInt(b.length), 40);
  b.writeBigUInt64LE(BigInt(template.length), 48);
  const path = join(tmp.dir, `driver-${name}.hdf5`);
  writeFileSync(path, b);
  return path;
}

/** What h5py reads of trace 0: its first samples, or its error. */
function h5pyTrace0(path: string): { head?: number[]; error?: string } {
  return python(
    `import h5py, json, sys
try:
    with h5py.File(sys.argv[1], "r") as f:
        print(json.dumps({"head": f["template_R001.xdf/traces/0"][:5, 0].tolist()}))
except Exception as e:
    print(json.dumps({"error": str(e)}))`,
    [path],
  );
}

describe("superblocks libhdf5 reads in forms h5py does not write", () => {
  const want = expected("template_R001.hdf5");

  it("a driver information block of a driver other than family or multi is ignored, as libhdf5 ignores it", () => {
    const path = withDriverBlock("TESTdrvr");
    expect(h5pyTrace0(path).head).toEqual(want.traces[0]!.head.slice(0, 5));
    const cf = new CacheFile(path);
    expect(cf.length).toBe(want.len);
    expect(Array.from(cf.getTraceData(0).data.subarray(0, 5))).toEqual(want.traces[0]!.head.slice(0, 5));
    expect(cf.getTraceAttrs(1)["comment"]).toBe(want.traces[1]!.attrs["comment"]);
  });

  it.each([
    ["NCSAfami", "family", /h5repart/],
    ["NCSAmult", "multi", /h5repack/],
  ])("a %s block (one part of a file split by the %s driver) is refused with ELAYOUT/EDRIVER and how to join it, as h5py refuses it", (name, driver, fix) => {
    const path = withDriverBlock(name);
    expect(h5pyTrace0(path).error).toMatch(new RegExp(`${driver} driver should be used`));
    expect(() => new CacheFile(path)).toThrow(expect.objectContaining({ code: "ELAYOUT", reason: "EDRIVER", message: expect.stringMatching(fix) }));
  });

  it("a stored base address that is not the superblock's position: libhdf5 takes the position and moves the end of file by the difference", () => {
    const b = Buffer.from(template);
    b.writeBigUInt64LE(16n, 24);
    b.writeBigUInt64LE(BigInt(template.length + 16), 40);
    const path = join(tmp.dir, "base-16.hdf5");
    writeFileSync(path, b);
    expect(h5pyTrace0(path).head).toEqual(want.traces[0]!.head.slice(0, 5));
    const cf = new CacheFile(path);
    expect(cf.length).toBe(want.len);
    expect(cf.getTraceAttrs(0)["event_name"]).toBe(want.traces[0]!.attrs["event_name"]);
  });
});
