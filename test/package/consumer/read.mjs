// Run inside the sandbox from a consumer project: reads a CacheFile through the installed package.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { CacheFile } from "offspect-cachefile/offspect";
import { hdf5Version } from "offspect-cachefile/hdf5";

const file = process.argv[2];
const cf = new CacheFile(file);
const traces = [];
for (let i = 0; i < cf.length; i++) {
  const { data, shape } = cf.getTraceData(i);
  traces.push({
    attrs: cf.getTraceAttrs(i),
    shape,
    head: Array.from(data.slice(0, 5)),
    sum: data.reduce((a, b) => a + b, 0),
    sha256_f64le: createHash("sha256").update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest("hex"),
  });
}
// Which addon and which libhdf5 this process really mapped.
const loaded = [
  ...new Set(
    readFileSync("/proc/self/maps", "utf8")
      .split("\n")
      .map((line) => line.trim().split(/\s+/)[5])
      .filter((p) => p !== undefined && /offspect_hdf5|libhdf5|liblzf/.test(p)),
  ),
];
console.log(JSON.stringify({ fname: cf.fname, len: cf.length, origins: cf.origins, str: cf.toString(), traces, hdf5: hdf5Version(), loaded }));
