// A fresh process of the cold iterate benchmark (scripts/bench/cold.ts):
// loads the built package (dist/), opens FILE and reads every trace's data
// and attributes through offspect's API, and prints one JSON line: seconds
// of the module loading, the open (the constructor), the reads, and open +
// reads (what the C program times: H5Fopen to H5Fclose).
// Usage: node scripts/bench/cold-iterate.mjs FILE.hdf5
const t0 = process.hrtime.bigint();
const { CacheFile } = await import(new URL("../../dist/offspect.js", import.meta.url).href);
const t1 = process.hrtime.bigint();
const cf = new CacheFile(process.argv[2]);
const t2 = process.hrtime.bigint();
let traces = 0;
let checksum = 0;
for (const [data] of cf) {
  traces++;
  checksum += data.data[0];
}
cf.close();
const t3 = process.hrtime.bigint();
if (!Number.isFinite(checksum)) throw new Error("data not finite");
const s = (a, b) => Number(b - a) / 1e9;
process.stdout.write(`${JSON.stringify({ load: s(t0, t1), open: s(t1, t2), read: s(t2, t3), seconds: s(t1, t3), traces })}\n`);
