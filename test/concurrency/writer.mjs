// Makes `count` attribute updates, one every `pace` ms, printing "ack U" after each returns.
import { CacheFile } from "../../dist/offspect.js";

const [path, count, pace] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const cf = new CacheFile(path, { lockTimeout: 30_000 });
const n = cf.length;
for (let u = 0; u < count; u++) {
  const i = u % n;
  const attrs = cf.getTraceAttrs(i);
  attrs["comment"] = `update ${u}`;
  attrs["stimulation_intensity_mso"] = String(u);
  cf.setTraceAttrs(i, attrs);
  process.stdout.write(`ack ${u}\n`);
  if (pace > 0)
    await new Promise((r) => setTimeout(r, pace));
}

