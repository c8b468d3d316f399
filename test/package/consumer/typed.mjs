// Run inside the sandbox: the typed, async API writes through the installed package's libhdf5.
import { CacheFile } from "offspect-cachefile";

const cf = await CacheFile.open(process.argv[2]);
const before = await cf.trace(0);
await cf.update(0, { reject: true, comment: "x" });
const after = await cf.trace(0);
let n = 0;
for await (const t of cf.each({ batch: 1 })) n += t.data.length > 0 ? 1 : 0;
cf.close();
console.log(JSON.stringify({ before: before.attrs.reject, after: after.attrs.reject, comment: after.attrs.comment, stored: after.text.reject, each: n }));
