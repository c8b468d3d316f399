/**
 * Runs one operation (or all of them) of the public API on one file and
 * prints one JSON line per operation: what happened, never a stack trace.
 *
 *   node test/faults/probe.mjs FILE OP [--partner GOOD.hdf5]
 *   node test/faults/probe.mjs --serve      (fuzz worker: one JSON request per stdin line)
 *   node test/faults/probe.mjs --batch [--partner GOOD.hdf5] FILE...
 *
 * It runs the built package (dist/) under plain node. With --batch, every
 * operation on each FILE in turn: {"start": FILE} before it, then
 * {"input": FILE, "lines": [one result per operation]} (the protocol of
 * test/helpers/spawn.ts's runBatch, which runs alone again a file its
 * child crashed or hung on). Types: probe.d.mts.
 *
 * OP is one of open, iterate, peek, validate, async, merge, or "all".
 * Each line: {"op", "ok": true, ...facts} or {"op", "ok": false, "name",
 * "code", "reason"?, "message", "generic"}. "generic" is true when the error
 * is not a specific one: not a CacheFileError, or the catch-all EHDF5.
 * Merge also reports whether a source changed ("sourcesChanged") and whether
 * a temporary file was left behind ("leftovers"): data-loss checks.
 * The process exits 0 whatever the files hold; anything else is a crash.
 * @module
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { CacheFile, merge } from "../../dist/offspect.js";
import { CacheFileError, validate } from "../../dist/index.js";
import { openObjectCount } from "../../dist/hdf5/index.js";
import { sessionOf } from "../../dist/cachefile/cachefile.js";

export const OPS = ["open", "iterate", "peek", "validate", "async", "merge"];

/** A source's fingerprint: its bytes, or for a directory (a corpus case) its listing. */
const sha = (path) => statSync(path).isDirectory() ? `directory:${readdirSync(path).join("/")}` : createHash("sha256").update(readFileSync(path)).digest("hex");

function describeError(op, e) {
  const err = e;
  const code = typeof err?.code === "string" ? err.code : undefined;
  const specific = e instanceof CacheFileError && code !== undefined && code !== "EHDF5";
  return {
    op,
    ok: false,
    name: err?.name ?? typeof e,
    ...(code !== undefined ? { code } : {}),
    ...(typeof err?.reason === "string" ? { reason: err.reason } : {}),
    message: String(err?.message ?? e).slice(0, 600),
    generic: !specific,
  };
}

function iterateAll(cf) {
  let n = 0;
  let sum = 0;
  for (const [data, attrs] of cf) {
    sum += data.data.length > 0 ? data.data[0] : 0;
    if (typeof attrs["cache_file_index"] !== "string")
      throw new Error("attributes without cache_file_index");
    n++;
  }
  return n + (Number.isNaN(sum) ? 0 : 0);
}

async function run(op, file, partner) {
  switch (op) {
    case "open": {
      const cf = new CacheFile(file);
      const traces = cf.length;
      cf.close();
      return { traces };
    }
    case "iterate": {
      const cf = new CacheFile(file);
      try {
        return { traces: iterateAll(cf) };
      }
      finally {
        cf.close();
      }
    }
    case "peek": {
      const cf = new CacheFile(file);
      try {
        const text = cf.toString();
        if (!text.includes("In total, there are"))
          throw new Error("peek text without totals");
        return { traces: cf.length };
      }
      finally {
        cf.close();
      }
    }
    case "validate": {
      const cf = new CacheFile(file);
      try {
        let problems = 0;
        for (let i = 0; i < cf.length; i++)
          problems += validate(cf.getTraceAttrs(i)).length;
        return { traces: cf.length, problems };
      }
      finally {
        cf.close();
      }
    }
    case "async": {
      const cf = await CacheFile.open(file);
      try {
        let n = 0;
        for await (const [data, attrs] of sessionOf(cf).tuplesAsync({ batch: 2 })) {
          if (!(data.data instanceof Float64Array) || attrs["cache_file_index"] !== String(n))
            throw new Error("inconsistent trace");
          n++;
        }
        if (n > 0)
          await cf.trace(n - 1);
        return { traces: n };
      }
      finally {
        cf.close();
      }
    }
    case "merge": {
      const dir = mkdtempSync(join(tmpdir(), "ocf-probe-"));
      const sources = partner ? [partner, file] : [file];
      const before = sources.map(sha);
      let result;
      let failure;
      try {
        const target = merge(join(dir, "merged.hdf5"), sources, { fsync: false });
        // What merge wrote must read back completely.
        const cf = new CacheFile(target);
        try {
          result = { traces: iterateAll(cf) };
        }
        finally {
          cf.close();
        }
      }
      catch (e) {
        failure = e;
      }
      const sourcesChanged = sources.some((s, i) => sha(s) !== before[i]);
      const leftovers = readdirSync(dir).filter((n) => n.includes(".partial-"));
      rmSync(dir, { recursive: true, force: true });
      if (failure !== undefined) {
        throw Object.assign(failure, { sourcesChanged, leftovers });
      }
      return { ...result, sourcesChanged, leftovers };
    }
  }
}

/** Runs one operation and describes the outcome; never throws. */
export async function probe(op, file, partner) {
  const t0 = performance.now();
  let out;
  try {
    out = { op, ok: true, ...(await run(op, file, partner)) };
  }
  catch (e) {
    out = describeError(op, e);
    const extra = e;
    if (op === "merge" && typeof extra === "object" && extra !== null) {
      out.sourcesChanged = extra.sourcesChanged ?? false;
      out.leftovers = extra.leftovers ?? [];
    }
  }
  // Let handles released "when the event loop turns" go, then count what is left.
  await new Promise((r) => setImmediate(r));
  out.open = openObjectCount();
  out.ms = Math.round(performance.now() - t0);
  return out;
}

function parseOps(text) {
  if (text === "all")
    return [...OPS];
  const ops = text.split(",");
  for (const op of ops)
    if (!OPS.includes(op))
      throw new Error(`unknown operation ${op}: use ${OPS.join(", ")} or all`);
  return ops;
}

async function main(argv) {
  if (argv[0] === "--serve") {
    // Fuzz worker: {"file", "ops", "partner"?} per line in, one JSON line out per request.
    const rl = createInterface({ input: process.stdin });
    for await (const line of rl) {
      if (line.trim() === "")
        continue;
      const req = JSON.parse(line);
      const results = [];
      for (const op of req.ops)
        results.push(await probe(op, req.file, req.partner));
      process.stdout.write(JSON.stringify({ id: req.id, results }) + "\n");
    }
    return;
  }
  if (argv[0] === "--batch") {
    const rest = argv.slice(1);
    let partner;
    if (rest[0] === "--partner") {
      partner = resolve(rest[1]);
      rest.splice(0, 2);
    }
    for (const file of rest) {
      process.stdout.write(JSON.stringify({ start: file }) + "\n");
      const lines = [];
      for (const op of OPS) lines.push(await probe(op, resolve(file), partner));
      process.stdout.write(JSON.stringify({ input: file, lines }) + "\n");
    }
    return;
  }
  const [file, opText = "all", ...rest] = argv;
  if (!file) {
    process.stderr.write("usage: probe.mjs FILE [open|iterate|peek|validate|async|merge|all] [--partner GOOD.hdf5]\n");
    process.exitCode = 2;
    return;
  }
  const p = rest.indexOf("--partner");
  const partner = p >= 0 && rest[p + 1] ? resolve(rest[p + 1]) : undefined;
  for (const op of parseOps(opText))
    process.stdout.write(JSON.stringify(await probe(op, resolve(file), partner)) + "\n");
}

await main(process.argv.slice(2));

