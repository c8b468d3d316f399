/**
 * One native call in a child process (run as user nobody by
 * binding.test.ts, so that file modes apply), printing one JSON line: the
 * error's class, code, errno and the innermost libhdf5 frame, or ok; and
 * the open object count after.
 *
 *   node test/native/child.mjs open-rw FILE | create FILE | lock FILE
 * @module
 */
import { Mode, native } from "../../dist/hdf5/native.js";

const [op = "", path = ""] = process.argv.slice(2);
let out;
try {
  if (op === "open-rw")
    native.fileClose(native.fileOpen(path, Mode.ReadWrite, true));
  else if (op === "create")
    native.fileClose(native.fileOpen(path, Mode.CreateNew, true));
  else if (op === "lock")
    native.lockRelease(native.lockAcquire(path, true, 100, true));
  else
    throw new TypeError(`unknown operation ${op}`);
  out = { ok: true };
}
catch (e) {
  const err = e;
  const frames = err.hdf5 ?? [];
  out = { ok: false, name: err.name, code: err.code, errno: err.errno, syscall: err.syscall, innermost: frames[frames.length - 1], message: err.message };
}
process.stdout.write(`${JSON.stringify({ ...out, objects: native.openObjectCount() })}\n`);

