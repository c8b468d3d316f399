// Reads random traces' attributes until `seconds` pass; checks every value is one that was written.
import { setImmediate as tick } from "node:timers/promises";
import { CacheFile } from "../../dist/offspect.js";

const [path, seconds] = [process.argv[2], Number(process.argv[3])];
const cf = new CacheFile(path, { lockTimeout: 30_000 });
const n = cf.length;
const original = Array.from({ length: n }, (_, i) => cf.getTraceAttrs(i));
const deadline = Date.now() + seconds * 1000;
let reads = 0;
let updatesSeen = 0;
while (Date.now() < deadline) {
  const i = Math.floor(Math.random() * n);
  const a = cf.getTraceAttrs(i);
  const m = /^update (\d+)$/.exec(a["comment"]);
  if (m) {
    const u = Number(m[1]);
    if (u % n !== i || a["stimulation_intensity_mso"] !== String(u)) {
      console.log(JSON.stringify({ torn: { i, comment: a["comment"], stim: a["stimulation_intensity_mso"] } }));
      process.exit(3);
    }
    updatesSeen++;
  }
  else if (a["comment"] !== original[i]["comment"] || a["stimulation_intensity_mso"] !== original[i]["stimulation_intensity_mso"]) {
    console.log(JSON.stringify({ unknown: { i, comment: a["comment"], stim: a["stimulation_intensity_mso"] } }));
    process.exit(3);
  }
  reads++;
  if (reads % 5 === 0)
    await new Promise((r) => setTimeout(r, 1 + Math.random() * 4));
  else
    await tick();
}
console.log(JSON.stringify({ reads, updatesSeen }));

