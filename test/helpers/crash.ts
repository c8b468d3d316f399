/**
 * What a crash or a full disk leaves of a commit: a performer that records
 * each operation a commit makes (by file path, with the bytes written) while
 * carrying it out, the states a crash after any prefix of them can leave on
 * disk (with the writes since the last flush of a file lost in any subset
 * and order, or torn at a sector), and a performer whose disk fills after a
 * given number of bytes.
 */
import { fstatSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import type { Op } from "../../src/cachefile/commit.js";
import { performSync } from "../../src/cachefile/commitIo.js";

/** One recorded operation, by file path. `put`: a file's whole content at that point (a copy, or libhdf5's writes). */
export type Recorded =
  | { op: "write"; file: string; at: number; bytes: Buffer }
  | { op: "truncate"; file: string; length: number }
  | { op: "sync"; file: string }
  | { op: "create"; file: string }
  | { op: "put"; file: string; bytes: Buffer }
  | { op: "rename"; from: string; to: string }
  | { op: "syncDir" }
  | { op: "unlink"; file: string };

/** A performer that carries out each operation on the file system and records it; `fds` maps descriptors already open (the target's) to paths. */
export function recorder(fds: Map<number, string>): { perform: (op: Op) => unknown; ops: Recorded[] } {
  const ops: Recorded[] = [];
  const path = (fd: number) => {
    const p = fds.get(fd);
    if (p === undefined) throw new Error(`the recorder does not know descriptor ${fd}`);
    return p;
  };
  const perform = (op: Op): unknown => {
    const result = performSync(op);
    switch (op.op) {
      case "write":
        ops.push({ op: "write", file: path(op.fd), at: op.at, bytes: Buffer.from(op.bytes) });
        break;
      case "writev":
        ops.push({ op: "write", file: path(op.fd), at: op.at, bytes: Buffer.concat(op.buffers) });
        break;
      case "copyRange": {
        const bytes = Buffer.alloc(op.length);
        readFileSync(path(op.source)).copy(bytes, 0, op.from, op.from + op.length);
        ops.push({ op: "write", file: path(op.to), at: op.at, bytes });
        break;
      }
      case "copyFile":
        ops.push({ op: "create", file: op.to }, { op: "put", file: op.to, bytes: readFileSync(op.to) });
        break;
      case "libhdf5":
        ops.push({ op: "put", file: op.path, bytes: readFileSync(op.path) });
        break;
      case "sync":
        ops.push({ op: "sync", file: path(op.fd) });
        break;
      case "truncate":
        ops.push({ op: "truncate", file: path(op.fd), length: op.length });
        break;
      case "create":
        fds.set(result as number, op.path);
        ops.push({ op: "create", file: op.path });
        break;
      case "open":
        fds.set(result as number, op.path);
        break;
      case "rename":
        ops.push({ op: "rename", from: op.from, to: op.to });
        break;
      case "syncDir":
        ops.push({ op: "syncDir" });
        break;
      case "unlink":
        ops.push({ op: "unlink", file: op.path });
        break;
      default:
        break; // statfs, close, keepOwner: nothing on disk to lose
    }
    return result;
  };
  return { perform, ops };
}

/** A directory's files by path. */
export type DiskState = Map<string, Buffer>;

function applyData(old: Buffer | undefined, op: Recorded, tornAt?: number): Buffer {
  const base = old ?? Buffer.alloc(0);
  switch (op.op) {
    case "write": {
      const bytes = tornAt === undefined ? op.bytes : op.bytes.subarray(0, tornAt);
      const next = Buffer.alloc(Math.max(base.length, op.at + bytes.length));
      base.copy(next);
      bytes.copy(next, op.at);
      return next;
    }
    case "truncate": {
      const next = Buffer.alloc(op.length);
      base.copy(next, 0, 0, Math.min(base.length, op.length));
      return next;
    }
    case "put":
      return Buffer.from(op.bytes);
    default:
      return base;
  }
}

/** A small deterministic generator (the tests' runs repeat). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SECTOR = 512;
const isData = (op: Recorded) => op.op === "write" || op.op === "truncate" || op.op === "put";
const isDir = (op: Recorded) => op.op === "create" || op.op === "rename" || op.op === "unlink";

/**
 * The disk states a crash right after `ops[0..k)` can leave, for every k:
 * what was flushed stays (a file's data before its last `sync`, the
 * folder's entries before the last `syncDir`); of the rest, the states keep
 * all of it, none of it, and `samples` random choices: a subset of the
 * pending writes applied in a random order (one of them torn at a sector
 * boundary), and a prefix of the pending folder changes (a journal keeps
 * their order). Files are followed through renames.
 */
export function* crashStates(initial: DiskState, ops: readonly Recorded[], samples = 8, seed = 1): Generator<{ label: string; state: DiskState }> {
  const random = rng(seed);
  // Which file (by identity) each operation concerns.
  const names = new Map<string, number>();
  let next = 0;
  const initialIds = new Map<number, Buffer>();
  for (const [path, bytes] of initial) {
    names.set(path, next);
    initialIds.set(next++, bytes);
  }
  const idOf: number[] = [];
  for (const op of ops) {
    if (op.op === "create") names.set(op.file, next++);
    if (op.op === "rename") {
      const id = names.get(op.from);
      if (id === undefined) throw new Error(`rename of ${op.from}, which does not exist`);
      names.delete(op.from);
      names.set(op.to, id);
      idOf.push(id);
      continue;
    }
    idOf.push("file" in op ? (names.get(op.file) ?? -1) : -1);
    if (op.op === "unlink") names.delete(op.file);
  }
  const initialNames = new Map([...initial.keys()].map((p, i) => [p, i]));
  for (let k = 0; k <= ops.length; k++) {
    const pendingData: number[] = [];
    const pendingDir: number[] = [];
    for (let i = 0; i < k; i++) {
      const op = ops[i]!;
      if (isData(op)) {
        let synced = false;
        for (let j = i + 1; j < k && !synced; j++) synced = ops[j]!.op === "sync" && idOf[j] === idOf[i];
        if (!synced) pendingData.push(i);
      } else if (isDir(op)) {
        let synced = false;
        for (let j = i + 1; j < k && !synced; j++) synced = ops[j]!.op === "syncDir";
        if (!synced) pendingDir.push(i);
      }
    }
    const choices: { label: string; writes: number[]; dir: number; torn?: number }[] = [
      { label: `after ${k} of ${ops.length} operations, all on disk`, writes: pendingData, dir: pendingDir.length },
    ];
    if (pendingData.length > 0 || pendingDir.length > 0) {
      choices.push({ label: `after ${k} of ${ops.length} operations, only what was flushed`, writes: [], dir: 0 });
      for (let s = 0; s < samples; s++) {
        const writes = pendingData.filter(() => random() < 0.5);
        for (let i = writes.length - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1));
          [writes[i], writes[j]] = [writes[j]!, writes[i]!];
        }
        const torn = writes.length > 0 && random() < 0.5 ? writes[writes.length - 1] : undefined;
        choices.push({ label: `after ${k} of ${ops.length} operations, sample ${s}`, writes, dir: Math.floor(random() * (pendingDir.length + 1)), ...(torn !== undefined ? { torn } : {}) });
      }
    }
    for (const c of choices) {
      const contents = new Map(initialIds);
      const where = new Map(initialNames);
      const dropDir = new Set(pendingDir.slice(c.dir));
      const pending = new Set(pendingData);
      let fresh = initial.size;
      for (let i = 0; i < k; i++) {
        const op = ops[i]!;
        if (op.op === "create") {
          // Identities are given in the order of creation, as in the first pass.
          const id = fresh++;
          if (!dropDir.has(i)) where.set(op.file, id);
          contents.set(id, contents.get(id) ?? Buffer.alloc(0));
        } else if (op.op === "rename") {
          if (!dropDir.has(i)) {
            where.delete(op.from);
            where.set(op.to, idOf[i]!);
          }
        } else if (op.op === "unlink") {
          if (!dropDir.has(i)) where.delete(op.file);
        } else if (isData(op) && !pending.has(i)) {
          contents.set(idOf[i]!, applyData(contents.get(idOf[i]!), op));
        }
      }
      for (const i of c.writes) {
        const op = ops[i]!;
        const len = op.op === "write" ? op.bytes.length : 0;
        const tornAt = c.torn === i && len > SECTOR ? SECTOR * (1 + Math.floor(random() * Math.floor((len - 1) / SECTOR))) : undefined;
        contents.set(idOf[i]!, applyData(contents.get(idOf[i]!), op, tornAt));
      }
      const state: DiskState = new Map();
      for (const [path, id] of where) state.set(path, contents.get(id) ?? Buffer.alloc(0));
      yield { label: c.label, state };
    }
  }
}

/**
 * A performer whose disk is full after `budget` new bytes (a write that
 * crosses it writes what fits, then fails with ENOSPC); writing over bytes a
 * file already has takes no space.
 */
export function fillingDisk(budget: number): { perform: (op: Op) => unknown; written: () => number } {
  let used = 0;
  const enospc = () => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28, syscall: "write" });
  const perform = (op: Op): unknown => {
    if (op.op === "statfs") return Number.MAX_SAFE_INTEGER; // the check before cannot see this disk fill: the writes meet it
    const fd = op.op === "write" || op.op === "writev" ? op.fd : op.op === "copyRange" ? op.to : -1;
    const length = op.op === "write" ? op.bytes.length : op.op === "writev" ? op.buffers.reduce((n, b) => n + b.length, 0) : op.op === "copyRange" ? op.length : 0;
    const at = op.op === "write" || op.op === "writev" || op.op === "copyRange" ? op.at : 0;
    const bytes = fd < 0 ? 0 : Math.max(0, at + length - Math.max(at, fstatSync(fd).size));
    if (bytes > 0 && used + bytes > budget) {
      const fits = Math.max(0, budget - used);
      if (fits > 0 && op.op === "write") performSync({ ...op, bytes: op.bytes.subarray(0, length - bytes + fits) });
      if (fits > 0 && op.op === "writev") performSync({ op: "write", fd: op.fd, at: op.at, bytes: Buffer.concat(op.buffers).subarray(0, length - bytes + fits) });
      used = budget;
      throw enospc();
    }
    if (op.op === "copyFile" || op.op === "libhdf5") {
      const result = performSync(op);
      const size = readFileSync(op.op === "copyFile" ? op.to : op.path).length;
      used += size;
      if (used > budget) throw enospc();
      return result;
    }
    used += bytes;
    return performSync(op);
  };
  return { perform, written: () => used };
}

/** The file names of a state, for messages. */
export function describeState(state: DiskState): string {
  return [...state.keys()].map((p) => basename(p)).join(", ");
}
