/**
 * A review session: the files named on the command line (by id, in the
 * order given; the same file given twice is reviewed once), every edit
 * written through `cf.updateMany` as one batch and kept on the session's
 * undo/redo stack.
 * @module
 */
import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import type { WriteResult } from "../cachefile/types.js";
import type { TraceUpdate } from "../cachefile/traceTypes.js";
import { ReviewError } from "./errors.js";
import { sameValue, History, type Edit } from "./history.js";
import { ReviewFile } from "./reviewfile.js";

/** A key's value before an edit, for undo: what the trace holds, or the key's empty value where it holds nothing. */
function valueBefore(attrs: Record<string, unknown>, key: string): unknown {
  if (key in attrs) return attrs[key];
  return key === "_log" ? [] : null;
}

/** What an edit did. */
export interface EditResult {
  results: WriteResult[];
  /** The label on the undo stack, when anything was written. */
  undo: string | null;
}

/**
 * The files of a review and its undo/redo stack; edits, undos and redos run
 * one at a time, each one batch write.
 * @example
 * ```ts
 * const session = await ReviewSession.open(["S01.hdf5"], 1000);
 * await session.edit(0, [{ index: 3, values: { reject: true } }], "reject trace 3");
 * await session.undo(); // writes reject: false back
 * await session.close();
 * ```
 */
export class ReviewSession {
  readonly files: ReviewFile[];
  /** Paths given more than once (reviewed once). */
  readonly duplicates: string[];
  readonly #history = new History();
  /** One edit, undo or redo at a time: the stack follows the order of the writes. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(files: ReviewFile[], duplicates: string[]) {
    this.files = files;
    this.duplicates = duplicates;
  }

  /**
   * Opens every file (each starts building its table).
   * @throws {ReviewError} `EREVIEWOPTION` without files
   * @throws the errors of opening a CacheFile (FileNotFoundError, InvalidSuffixError, ...)
   */
  static async open(paths: readonly string[], lockTimeout: number): Promise<ReviewSession> {
    if (!Array.isArray(paths) || paths.length === 0 || !paths.every((p) => typeof p === "string")) {
      throw new ReviewError("EREVIEWOPTION", "expected the CacheFiles to review (one or more paths to .hdf5 files)");
    }
    const seen = new Set<string>();
    const unique: string[] = [];
    const duplicates: string[] = [];
    for (const p of paths) {
      let key: string;
      try {
        key = realpathSync(p);
      } catch {
        key = resolve(p); // CacheFile.open reports it
      }
      if (seen.has(key)) duplicates.push(p);
      else {
        seen.add(key);
        unique.push(p);
      }
    }
    const files: ReviewFile[] = [];
    try {
      for (const [id, p] of unique.entries()) files.push(await ReviewFile.open(id, p, lockTimeout));
    } catch (e) {
      for (const f of files) f.close();
      throw e;
    }
    return new ReviewSession(files, duplicates);
  }

  /** A file by id, or undefined. */
  file(id: number): ReviewFile | undefined {
    return Number.isInteger(id) ? this.files[id] : undefined;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Writes `updates` to file `fileId` as one batch; when anything was
   * written, the edit goes on the undo stack under `label`.
   * @throws {InvalidAttributeError} a refused value (nothing written)
   * @throws {FileInUseError} another writer holds the file (nothing written)
   */
  edit(fileId: number, updates: { index: number; values: TraceUpdate }[], label: string): Promise<EditResult> {
    return this.#serial(async () => {
      const f = this.#fileOrThrow(fileId);
      await f.settled();
      // Only the values that differ from the stored ones are sent: a value stored in another spelling
      // (offspect's "True" for true) stays as it is.
      const before = updates.map((u) => (typeof u.values === "object" && u.values !== null ? (f.cf.traceSync(u.index).attrs as Record<string, unknown>) : {}));
      const sent = updates.map((u, k) => {
        if (typeof u.values !== "object" || u.values === null) return u;
        const values = Object.fromEntries(Object.entries(u.values).filter(([key, v]) => !sameValue(before[k]![key], v)));
        return { index: u.index, values: values as TraceUpdate };
      });
      const results = await f.write(sent);
      const changes = sent.flatMap((u, k) => {
        const keys = results[k]!.written;
        if (keys.length === 0) return [];
        const was = Object.fromEntries(keys.map((key) => [key, valueBefore(before[k]!, key)])) as TraceUpdate;
        const now = Object.fromEntries(keys.map((key) => [key, (u.values as Record<string, unknown>)[key]])) as TraceUpdate;
        return [{ index: u.index, before: was, after: now }];
      });
      if (changes.length === 0) return { results, undo: null };
      this.#history.push({ file: fileId, label, changes });
      return { results, undo: label };
    });
  }

  /**
   * Undoes the last edit: writes its old values back, as one batch.
   * @throws {ReviewError} `EREVIEWNOUNDO` when there is none; `EREVIEWCONFLICT` when another program changed those values since
   * @throws {FileInUseError} another writer holds the file (the edit stays on the stack)
   */
  undo(): Promise<Edit> {
    return this.#serial(async () => {
      const edit = this.#history.nextUndo;
      if (!edit) throw new ReviewError("EREVIEWNOUNDO", "nothing to undo: no edit was made in this session (or all were undone)");
      await this.#apply(edit, "undo");
      this.#history.undone();
      return edit;
    });
  }

  /**
   * Redoes the last undone edit.
   * @throws {ReviewError} `EREVIEWNOREDO` when there is none; `EREVIEWCONFLICT` as {@link undo}
   * @throws {FileInUseError} another writer holds the file
   */
  redo(): Promise<Edit> {
    return this.#serial(async () => {
      const edit = this.#history.nextRedo;
      if (!edit) throw new ReviewError("EREVIEWNOREDO", "nothing to redo: undo an edit first");
      await this.#apply(edit, "redo");
      this.#history.redone();
      return edit;
    });
  }

  async #apply(edit: Edit, how: "undo" | "redo"): Promise<void> {
    const f = this.#fileOrThrow(edit.file);
    await f.settled();
    const from = (c: Edit["changes"][number]) => (how === "undo" ? c.after : c.before);
    const to = (c: Edit["changes"][number]) => (how === "undo" ? c.before : c.after);
    for (const c of edit.changes) {
      const attrs = f.cf.traceSync(c.index).attrs as Record<string, unknown>;
      for (const [key, value] of Object.entries(from(c))) {
        if (!sameValue(valueBefore(attrs, key), value)) {
          throw new ReviewError(
            "EREVIEWCONFLICT",
            `cannot ${how} "${edit.label}": ${key} of trace ${c.index} of ${f.path} was changed by another program since; look at the trace again and edit it anew`,
            { file: f.path },
          );
        }
      }
    }
    await f.write(edit.changes.map((c) => ({ index: c.index, values: to(c) })));
  }

  /** The undo and redo labels, next first. */
  history(): { undo: string[]; redo: string[] } {
    return this.#history.labels();
  }

  #fileOrThrow(id: number): ReviewFile {
    const f = this.file(id);
    if (!f) throw new ReviewError("EREVIEWREQUEST", `no file ${id} in this review: the files are 0 to ${this.files.length - 1}`);
    return f;
  }

  /** Waits for the write under way (none is left half-done), then lets go of the files. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    for (const f of this.files) f.close();
  }
}
