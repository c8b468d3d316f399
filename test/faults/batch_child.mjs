/**
 * Batch writes of the library in a child process (plain node on dist/),
 * for the tests of what a full disk, SIGKILL and readers beside a writer
 * see. One JSON line on stdout per batch written, or the error's name,
 * code and message; the process must exit 0 either way (a crash at exit
 * shows as a signal).
 *
 *   node test/faults/batch_child.mjs update-many-sync FILE TAG
 *   node test/faults/batch_child.mjs update-many FILE TAG
 *   node test/faults/batch_child.mjs annotate FILE
 *   node test/faults/batch_child.mjs loop FILE TAG [COUNT]   (batches tagged TAG-1, TAG-2, ...; printed as written)
 * @module
 */
import { CacheFile } from "../../dist/index.js";
import { annotateFileSync } from "../../dist/analysis/index.js";

/** A batch on every trace: a 20 KB comment tagged `tag`, and the tag as examiner (so that a reader can tell batches apart). */
function batch(cf, tag) {
  return Array.from({ length: cf.length }, (_, index) => ({ index, values: { comment: `${tag} ${"noisy baseline; ".repeat(1250)}`, examiner: tag } }));
}

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function failure(e) {
  return { ok: false, name: e?.name, code: e?.code, message: e?.message };
}

const [op, file, tag = "batch", count = "1000000"] = process.argv.slice(2);
try {
  if (op === "update-many-sync") {
    const cf = new CacheFile(file, { lockTimeout: 5000 });
    cf.updateManySync(batch(cf, tag));
    emit({ ok: true });
  } else if (op === "update-many") {
    const cf = await CacheFile.open(file, { lockTimeout: 5000 });
    await cf.updateMany(batch(cf, tag));
    emit({ ok: true });
  } else if (op === "annotate") {
    annotateFileSync(file, { overwrite: true });
    emit({ ok: true });
  } else if (op === "loop") {
    const cf = new CacheFile(file, { lockTimeout: 10_000 });
    for (let k = 1; k <= Number(count); k++) {
      cf.updateManySync(batch(cf, `${tag}-${k}`));
      emit({ ok: true, written: `${tag}-${k}` });
    }
  } else {
    throw new Error(`unknown operation ${op}`);
  }
} catch (e) {
  emit(failure(e));
}
