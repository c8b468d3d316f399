/**
 * One spliced file being written ({@link SpliceWriter}): each source
 * staged (parsed, parse.ts, and kept locked), then copied into the target
 * at a 4 KiB-aligned offset with its addresses relocated (relocate.ts), its
 * bytes read and written by the I/O thread (ioThread.ts: a source of at
 * most 4 MiB read whole once, ahead while the previous one is parsed, and
 * relocated in place; a larger one streamed in 4 MiB chunks); finishing
 * writes the root group and the superblock (emit.ts).
 * @internal
 * @module
 */
import { closeSync, openSync } from "node:fs";
import { UNDEF } from "../bytes.js";
import { IoThread, type Slot } from "../ioThread.js";
import { rootGroup, superblock } from "./emit.js";
import type { RootMember } from "./layout.js";
import { failure, readFully, Source, SpliceFailure, type SourceLock, writeFully } from "./io.js";
import { alignUp, COPY_CHUNK, SOURCE_ALIGN, SUPERBLOCK_SIZE, WHOLE } from "./layout.js";
import { type Parsed, parseSource, type ParseLimits, type ParseReport } from "./parse.js";
import { relocate } from "./relocate.js";

interface Staged {
  source: Source;
  parsed: Parsed;
  /** The buffer holding the whole source, when it was read whole for the parse. */
  slot: Slot | null;
}

/** The source to be staged next, opened, locked and (when read whole) being read. */
interface Ahead {
  path: string;
  source: Source;
  slot: Slot | null;
}

/**
 * One spliced file being written: {@link SpliceWriter.stage} parses a
 * source and keeps it open and locked until {@link SpliceWriter.commit}
 * copies it or {@link SpliceWriter.discard} drops it; {@link SpliceWriter.finish}
 * writes the root group and the superblock and closes the file. After any
 * failed step only {@link SpliceWriter.abort} is allowed; the caller removes
 * the half-written file.
 * @example
 * ```ts
 * const writer = SpliceWriter.create("/tmp/all.hdf5", lock);
 * try {
 *   for (const source of sources) {
 *     if (writer.stage(source, { maxDepth: 2 ** 20, attrDepth: 2 ** 20 }).supported) writer.commit();
 *   }
 *   writer.finish();
 * } finally {
 *   writer.abort();
 * }
 * ```
 */
export class SpliceWriter {
  readonly path: string;
  readonly #lock: SourceLock;
  #fd: number;
  /** The failure that stopped the writing: every later step fails with it. */
  #failed: SpliceFailure | null = null;
  /** End of what is written so far. */
  #end = SUPERBLOCK_SIZE;
  #staged: Staged | null = null;
  readonly #members: RootMember[] = [];
  readonly #names = new Set<string>();
  readonly #io: IoThread;
  #ahead: Ahead | null = null;

  private constructor(path: string, fd: number, lock: SourceLock, io: IoThread) {
    this.path = path;
    this.#fd = fd;
    this.#lock = lock;
    this.#io = io;
  }

  /**
   * Creates `target`, which must not exist.
   * @throws SpliceFailure (EEXIST, ENOENT, EACCES, ENOSPC, EIO)
   */
  static create(target: string, lock: SourceLock): SpliceWriter {
    let fd: number;
    try {
      fd = openSync(target, "wx", 0o666);
    } catch (e) {
      throw failure(e, `cannot create ${target}`);
    }
    return new SpliceWriter(target, fd, lock, IoThread.start());
  }

  #usable(): void {
    if (this.#fd < 0) throw new SpliceFailure("ECLOSED", `the spliced file ${this.path} is already finished or aborted`);
    if (this.#failed) throw this.#failed;
  }

  /**
   * Parses `source` completely; when it is supported it stays staged (open
   * and locked) until {@link SpliceWriter.commit} or {@link SpliceWriter.discard}.
   * `next`, the source to be staged after this one, is opened, locked and
   * read ahead meanwhile (when it cannot be, its own stage says why).
   * `verify` is handed the source's locked descriptor before it is read (it
   * throws when that is not the file the caller expects).
   * @throws SpliceFailure (EBUSY, ENOENT, EACCES, EIO) when the source cannot be opened, locked or read
   */
  stage(source: string, limits: ParseLimits, next?: string, verify?: (fd: number) => void): ParseReport {
    this.#usable();
    this.discard();
    let ahead = this.#ahead;
    this.#ahead = null;
    if (ahead && ahead.path !== source) {
      this.#dropAhead(ahead);
      ahead = null;
    }
    const file = ahead?.source ?? Source.open(source, this.#lock);
    let staged: Staged | null = null;
    let slot: Slot | null = null;
    let report: ParseReport;
    try {
      verify?.(file.fd);
      if (next !== undefined) this.#readAhead(next);
      const whole = () => {
        if (ahead?.slot) {
          slot = ahead.slot;
          ahead.slot = null;
          try {
            this.#io.awaitRead(slot);
          } catch (e) {
            throw failure(e, `cannot read ${file.path}`);
          }
        } else {
          slot = this.#take();
          readFully(file.fd, slot.bytes, file.size, 0, file.path);
        }
        return slot.bytes;
      };
      report = parseSource(file, limits, (parsed) => (staged = { source: file, parsed, slot }), whole);
    } catch (e) {
      if (slot) this.#io.release(slot);
      file.close();
      throw e;
    }
    if (report.supported && staged) {
      this.#staged = staged;
    } else {
      if (slot) this.#io.release(slot);
      file.close();
    }
    return report;
  }

  /** Opens and locks `path` and starts reading it (when it is read whole), for the next {@link stage}. */
  #readAhead(path: string): void {
    let source: Source;
    try {
      source = Source.open(path, this.#lock);
    } catch {
      return; // its stage opens it again, and reports why it cannot
    }
    let slot: Slot | null = null;
    if (source.regular && source.size > 0 && source.size <= WHOLE) {
      try {
        slot = this.#take();
      } catch (e) {
        source.close();
        throw e;
      }
      this.#io.read(slot, source.fd, source.size, 0);
    }
    this.#ahead = { path, source, slot };
  }

  /** Closes a source read ahead and not staged (once its read is over). */
  #dropAhead(ahead: Ahead): void {
    try {
      if (ahead.slot) {
        try {
          this.#io.awaitRead(ahead.slot);
        } catch {
          // Never staged: its read's failure does not matter.
        }
        this.#io.release(ahead.slot);
      }
    } finally {
      ahead.source.close();
    }
  }

  /**
   * Copies the staged source into the target, relocated; returns the bytes copied.
   * @throws SpliceFailure (ESTATE) nothing staged, (EEXIST) a root member's name is taken, (ENOSPC, EIO) the copy failed
   */
  commit(): number {
    this.#usable();
    const staged = this.#staged;
    if (!staged) throw new SpliceFailure("ESTATE", "no source is staged");
    this.#staged = null;
    try {
      const { members, eoa } = staged.parsed;
      const seen = new Set<string>();
      for (const m of members) {
        if (this.#names.has(m.name) || seen.has(m.name)) throw new SpliceFailure("EEXIST", `the spliced file already holds a root member named '${m.name}'`);
        seen.add(m.name);
      }
      const base = alignUp(this.#end, SOURCE_ALIGN);
      try {
        this.#copy(staged, base);
      } catch (e) {
        throw this.#fail(e);
      }
      for (const m of members) {
        this.#names.add(m.name);
        this.#members.push({
          name: m.name,
          nameBytes: m.nameBytes,
          header: m.header + base,
          group: m.group,
          btree: m.group ? m.btree + base : UNDEF,
          heap: m.group ? m.heap + base : UNDEF,
        });
      }
      this.#end = base + eoa;
      return eoa;
    } finally {
      staged.source.close();
    }
  }

  /** Drops the staged source (and its lock), if any. */
  discard(): void {
    const staged = this.#staged;
    this.#staged = null;
    if (staged?.slot) this.#io.release(staged.slot);
    staged?.source.close();
  }

  /**
   * Writes the root group and the superblock and closes the file; returns its size.
   * @throws SpliceFailure (ENOSPC, EIO) the write failed
   */
  finish(): number {
    this.#usable();
    this.discard();
    try {
      const ahead = this.#ahead;
      this.#ahead = null;
      if (ahead) this.#dropAhead(ahead);
      this.#drain();
      const addr = alignUp(this.#end, 8);
      const root = rootGroup(this.#members, addr);
      const eoa = addr + root.bytes.length;
      writeFully(this.#fd, root.bytes, root.bytes.length, addr, this.path);
      const sb = superblock(eoa, { addr, btree: root.btree, heap: root.heap });
      writeFully(this.#fd, sb, sb.length, 0, this.path);
      const fd = this.#fd;
      this.#fd = -1;
      this.#io.close();
      try {
        closeSync(fd);
      } catch (e) {
        throw failure(e, `cannot write ${this.path}`);
      }
      return eoa;
    } catch (e) {
      throw this.#fail(e);
    }
  }

  /** Records the failure that stops the writing (a failed write of the target is about the target). */
  #fail(e: unknown): SpliceFailure {
    const f = failure(e, `cannot write ${this.path}`);
    f.target ??= this.path;
    this.#failed ??= f;
    return f;
  }

  /** Closes everything without finishing (idempotent). */
  abort(): void {
    this.discard();
    const ahead = this.#ahead;
    this.#ahead = null;
    if (ahead) this.#dropAhead(ahead);
    // No read or write may be under way when a descriptor is closed (its number could be reused).
    this.#io.close();
    const fd = this.#fd;
    this.#fd = -1;
    if (fd >= 0) {
      try {
        closeSync(fd);
      } catch {
        // The file is abandoned: the caller removes it.
      }
    }
  }

  /** A buffer of {@link COPY_CHUNK} bytes from the writer thread (waiting for one to be written if none is free). */
  #take(): Slot {
    try {
      return this.#io.take();
    } catch (e) {
      throw this.#fail(e);
    }
  }

  /** Waits until everything handed to the writer thread is written. */
  #drain(): void {
    try {
      this.#io.drain();
    } catch (e) {
      throw this.#fail(e);
    }
  }

  /**
   * Streams the source into the target at `base` in chunks, adding `base`
   * at every recorded address; each chunk is written by the writer thread
   * while the next is read (and the next source parsed).
   */
  #copy(staged: Staged, base: number): void {
    const { patches, eoa } = staged.parsed;
    if (staged.slot) {
      // Read whole for the parse: relocated in place (the bytes are ours) and written at once.
      const slot = staged.slot;
      staged.slot = null;
      const view = slot.view;
      for (let i = 0; i < patches.length; i++) relocate(view, patches[i]!, base);
      this.#io.write(slot, this.#fd, eoa, base);
      return;
    }
    let next = 0;
    for (let off = 0; off < eoa; ) {
      let stop = Math.min(eoa, off + COPY_CHUNK);
      let last = next;
      while (last < patches.length && patches[last]! + 8 <= stop) last++;
      if (last < patches.length && patches[last]! < stop) stop = patches[last]!; // never split an address
      const n = stop - off;
      const slot = this.#take();
      try {
        readFully(staged.source.fd, slot.bytes, n, off, staged.source.path);
      } catch (e) {
        this.#io.release(slot);
        throw e;
      }
      for (; next < last; next++) relocate(slot.view, patches[next]! - off, base);
      this.#io.write(slot, this.#fd, n, base + off);
      off = stop;
    }
  }
}
