/**
 * One write of the library in a child process (run as another user for the
 * permission cases), printing one JSON line: {"ok": true} or the error's
 * name, code and message.
 *
 *   node test/faults/io_child.mjs populate TARGET
 *   node test/faults/io_child.mjs merge TARGET SOURCE...
 *   node test/faults/io_child.mjs setTraceAttrs FILE
 * @module
 */
import { AnnotationFactory, CacheFile, merge, populate } from "../../dist/offspect.js";

function traces(n, samples) {
  return Array.from({ length: n }, (_, i) => {
    const data = new Float64Array(samples);
    for (let k = 0; k < samples; k++)
      data[k] = Math.sin(k / 7 + i);
    return { data, shape: [samples, 1] };
  });
}

function run(op, args) {
  if (op === "populate") {
    const f = new AnnotationFactory({ readin: "tms", readout: "cmep", origin: "io_run.xdf" });
    f.setOriginAttrs({
      channel_labels: ["EDC_L"],
      channel_of_interest: "EDC_L",
      samplingrate: 1000,
      samples_pre_event: 100,
      samples_post_event: 100,
      subject: "S01",
      filedate: "2020-05-17 18:02:00",
    });
    const n = 40;
    for (let i = 0; i < n; i++)
      f.appendTrace({ event_name: "S 1", event_sample: 1000 + i, event_time: 1 + i, xyz_coords: [37, 22.8, 54.2] });
    populate(args[0], [f.anno], [traces(n, 2000)], { fsync: true });
    return {};
  }
  if (op === "merge") {
    merge(args[0], args.slice(1));
    return {};
  }
  if (op === "setTraceAttrs") {
    const cf = new CacheFile(args[0], { lockTimeout: 500 });
    const attrs = cf.getTraceAttrs(0);
    // Longer than the free space of the file's heap collection: the write must grow the file.
    attrs["comment"] = "noisy baseline; ".repeat(600);
    attrs["reject"] = "True";
    const r = cf.setTraceAttrs(0, attrs);
    return { written: r.written };
  }
  throw new Error(`unknown operation ${op}`);
}

const [op = "", ...args] = process.argv.slice(2);
try {
  const extra = run(op, args);
  process.stdout.write(JSON.stringify({ ok: true, ...extra }) + "\n");
}
catch (e) {
  const err = e;
  process.stdout.write(JSON.stringify({ ok: false, name: err.name, code: err.code, message: err.message }) + "\n");
}

