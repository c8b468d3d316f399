/**
 * The format module against libhdf5, on one file (run in a child process,
 * so that a file which crashes libhdf5 fails the test instead of the test
 * runner): both walk the file from the root, four levels deep, and report
 * every object's kind, members (name order), attributes (name and text, in
 * h5py's order) and dataset values
 * (shape and the SHA-256 of the float64 bytes), or the error each gave.
 *
 * Prints one JSON line: { verdict, differences, ... } where verdict is
 * "equal" (every answer the same), "declined" (the module declined the file
 * or one of its values, and libhdf5 gave that answer instead), "damaged"
 * (the module found damage somewhere, `damage` its first message: such a
 * file is never handed to libhdf5, so it is not here either) or "different".
 *
 * With --libhdf5-only, only libhdf5 walks the file and the line says
 * whether it read every object without an error ({ libhdf5Clean }), for
 * checking that what the module calls damaged libhdf5 fails on too (in a
 * child of its own: it may crash or hang there).
 *
 * Several files per child (the start-up of a child costs more than most
 * files): before each file the line {"start": FILE}, after it the answer
 * with "input": FILE (test/helpers/spawn.ts's runBatch protocol).
 *
 * Usage: node test/format/differential.mjs [--libhdf5-only] FILE...   (on the built dist/)
 */
import { createHash } from "node:crypto";
import { FormatFile } from "../../dist/hdf5/format/file.js";
import { FormatDamage, FormatNotHdf5, FormatTruncated, FormatUnsupported, FormatValueError } from "../../dist/hdf5/format/errors.js";
import { H5File } from "../../dist/hdf5/file.js";

const MAX = 2 ** 28;
const DEPTH = 4;

function sha(d) {
  return createHash("sha256").update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)).digest("hex");
}

/** The message of the first damage the module found (what the test checks its verdict by). */
let damage;

/** An error as the comparison sees it: the class of answer, not its wording. */
function outcome(e) {
  if (e instanceof FormatValueError) return `value:${e.code}`;
  if (e instanceof FormatDamage) {
    damage ??= e.message;
    return "damaged";
  }
  if (e instanceof FormatUnsupported) return "declined";
  if (e instanceof FormatTruncated) return "truncated";
  if (e instanceof FormatNotHdf5) return "nothdf5";
  const code = e?.code;
  const reason = e?.reason;
  if (code === "ELAYOUT") return `value:${reason}`;
  if (code === "ECORRUPT") return "damaged";
  if (code === "ETRUNCATED") return "truncated";
  if (code === "ENOTHDF5") return "nothdf5";
  return `error:${code ?? e?.name}`;
}

function attempt(fn) {
  try {
    return fn();
  } catch (e) {
    return `!${outcome(e)}`;
  }
}

function walkModule(f, addr, path, depth, out) {
  const info = f.object(addr, path);
  out.push(`${path}\tkind\t${info.kind}`);
  out.push(`${path}\tattrs\t${attempt(() => JSON.stringify(f.attributes(addr, path).map((a) => [a.name, a.value])))}`);
  if (info.kind === "dataset") {
    out.push(
      `${path}\tdata\t${attempt(() => {
        const v = f.values(addr, path, MAX);
        if (!("libhdf5" in v)) return `${JSON.stringify(v.shape)} ${sha(v.data)}`;
        f.preflight(addr, path); // what the package checks before libhdf5 reads these values
        return "libhdf5";
      })}`,
    );
  }
  if (info.kind !== "group") return;
  const members = f.members(addr, path).byName;
  out.push(`${path}\tmembers\t${JSON.stringify(members.map((m) => m.name))}`);
  if (depth >= DEPTH) return;
  for (const m of members) {
    const child = `${path === "/" ? "" : path}/${m.name}`;
    if (m.target.type === "hard") walkModule(f, m.target.addr, child, depth + 1, out);
    else out.push(`${child}\tkind\tother`);
  }
}

function walkLibhdf5(f, path, kind, depth, out) {
  out.push(`${path}\tkind\t${kind}`);
  if (kind === "other") return;
  out.push(
    `${path}\tattrs\t${attempt(() => JSON.stringify(Object.entries(f.attrs(path))))}`,
  );
  if (kind === "dataset") {
    out.push(
      `${path}\tdata\t${attempt(() => {
        const r = f.read(path, MAX);
        return `${JSON.stringify(r.shape)} ${sha(r.data)}`;
      })}`,
    );
  }
  if (kind !== "group") return;
  const members = f.members(path);
  out.push(`${path}\tmembers\t${JSON.stringify(members.map((m) => m.name))}`);
  if (depth >= DEPTH) return;
  for (const m of members) walkLibhdf5(f, `${path === "/" ? "" : path}/${m.name}`, m.kind, depth + 1, out);
}

/** What libhdf5 reads of `file` (walkLibhdf5's lines, as far as it got) and how it failed, if it did. */
function readByLibhdf5(file) {
  const lines = [];
  try {
    const f = H5File.open(file, "r");
    try {
      walkLibhdf5(f, "/", "group", 0, lines);
    } finally {
      f.close();
    }
  } catch (e) {
    return { lines, failure: outcome(e) };
  }
  return { lines, failure: undefined };
}

function libhdf5Only(file) {
  const { lines, failure } = readByLibhdf5(file);
  const errors = lines.filter((l) => l.includes("\t!")).length;
  return { libhdf5Clean: failure === undefined && errors === 0, failure, errors };
}

function compare(file) {
  damage = undefined;
  const module = [];
  let moduleFailure;
  try {
    const f = FormatFile.open(file);
    try {
      walkModule(f, f.root, "/", 0, module);
    } finally {
      f.close();
    }
  } catch (e) {
    moduleFailure = outcome(e);
  }

  const moduleDamaged = moduleFailure === "damaged" || module.some((l) => l.endsWith("\t!damaged"));
  const { lines: libhdf5, failure: libhdf5Failure } = moduleDamaged ? { lines: [], failure: undefined } : readByLibhdf5(file);

  let verdict;
  const differences = [];
  if (moduleFailure === "declined") verdict = "declined";
  else if (moduleDamaged) verdict = "damaged";
  else if (moduleFailure !== undefined || libhdf5Failure !== undefined) {
    verdict = moduleFailure === libhdf5Failure ? "equal" : "different";
    if (verdict === "different") differences.push(`module: ${moduleFailure ?? "read"}, libhdf5: ${libhdf5Failure ?? "read"}`);
  } else {
    let declined = false;
    const n = Math.max(module.length, libhdf5.length);
    for (let i = 0; i < n; i++) {
      const a = module[i];
      const b = libhdf5[i];
      if (a === b) continue;
      if (a !== undefined && b !== undefined) {
        const [pathA, fieldA, valueA] = a.split("\t");
        const [pathB, fieldB] = b.split("\t");
        if (pathA === pathB && fieldA === fieldB) {
          // A value the module leaves to libhdf5 (chunked, filtered, ...) or declines.
          if (valueA === "libhdf5" || valueA === "!declined") {
            declined = true;
            continue;
          }
        }
      }
      differences.push(`module:  ${a ?? "(nothing)"}\nlibhdf5: ${b ?? "(nothing)"}`);
    }
    verdict = differences.length > 0 ? "different" : declined ? "declined" : "equal";
  }
  return { verdict, damage, moduleFailure, libhdf5Failure, libhdf5Errors: libhdf5.filter((l) => l.includes("\t!")).length, objects: module.length, differences: differences.slice(0, 5) };
}

const only = process.argv.includes("--libhdf5-only");
for (const file of process.argv.slice(2).filter((a) => a !== "--libhdf5-only")) {
  process.stdout.write(`${JSON.stringify({ start: file })}\n`);
  const answer = only ? libhdf5Only(file) : compare(file);
  process.stdout.write(`${JSON.stringify({ input: file, ...answer })}\n`);
}
