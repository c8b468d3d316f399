/**
 * A reader beside writers (plain node on dist/): reads the `examiner` of
 * every trace in a loop (one `for await` over the file in one batch: one
 * read of one version of the file), through one CacheFile, until the file
 * STOP exists;
 * prints one JSON line: reads made, reads that saw more than one batch
 * (mixed), and the errors met (none expected but FileInUseError).
 *
 *   node test/faults/batch_reader.mjs FILE STOP
 * @module
 */
import { existsSync } from "node:fs";
import { CacheFile } from "../../dist/index.js";

const [file, stop] = process.argv.slice(2);
const cf = new CacheFile(file, { lockTimeout: 10_000 });
let reads = 0;
let mixed = 0;
let busy = 0;
const errors = [];
while (!existsSync(stop)) {
  try {
    const tags = new Set();
    for await (const t of cf.each({ batch: 4096 })) tags.add(t.text.examiner);
    reads++;
    if (tags.size !== 1) mixed++;
  } catch (e) {
    if (e?.code === "EBUSY") busy++;
    else errors.push(`${e?.name}: ${e?.message}`);
  }
  await new Promise((resolve) => setImmediate(resolve));
}
process.stdout.write(`${JSON.stringify({ reads, mixed, busy, errors: errors.slice(0, 10), errorCount: errors.length })}\n`);
