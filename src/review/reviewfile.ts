/**
 * One file of a review session: its CacheFile, its table (built in the
 * background, kept up to date after the review's writes and rebuilt when
 * another program changes the file: the library's freshness rule, the
 * file's stamp), and its map.
 * @module
 */
import { basename } from "node:path";
import { OffspectCacheFile as CacheFile } from "../cachefile/index.js";
import { sameStamp, stampOf, type Stamp } from "../cachefile/freshness.js";
import type { WriteResult } from "../cachefile/types.js";
import type { TraceUpdate } from "../cachefile/traceTypes.js";
import type { Trace } from "../cachefile/traceTypes.js";
import { FileTable, type ReviewStatus } from "./table.js";

/** What `GET /api/files` says of a file. */
export interface FileSummary {
  id: number;
  path: string;
  name: string;
  origins: string[];
  originCounts: number[];
  traces: number;
  /** Review status counts; null while the table is being built. */
  status: ReviewStatus | null;
  /** Fraction of the table built (1 when ready). */
  progress: number;
  /** Grows whenever the file changes (the review's writes, another program's). */
  version: number;
  /** Each origin's global_comment (the origin's attribute, shown, not written: updates write trace keys only). */
  globalComments: string[];
}

/** How long a new review waits for the page before it builds a file's table. */
const BUILD_DELAY_MS = 1000;

/**
 * One file of a review: its CacheFile (every page read and every write),
 * a second CacheFile for the table's background reads, the table, and the
 * version the page follows.
 */
export class ReviewFile {
  readonly id: number;
  readonly path: string;
  readonly cf: CacheFile;
  /** The same file for the background reads of the table: a session of its own, so that page requests do not wait for it. */
  readonly #reader: CacheFile;
  #table: FileTable | undefined;
  #build: Promise<FileTable> | undefined;
  #progress = 0;
  #stamp: Stamp;
  #version = 1;
  #writing = 0;
  /** Traces written while a build ran: read again when it ends. */
  #dirty = new Set<number>();
  #globalComments: string[];
  /** The origins and their trace counts, read when the file was opened and whenever it changed. */
  #origins: string[];
  #originCounts: number[];
  /** The write under way: no blocking read of the file may start while it waits for its lock (see {@link settled}). */
  #pendingWrite: Promise<unknown> | undefined;
  #deferred: NodeJS.Timeout | undefined;
  /** Called when the file changed (version grew). */
  onChange: (() => void) | undefined;

  private constructor(id: number, cf: CacheFile, reader: CacheFile) {
    this.id = id;
    this.cf = cf;
    this.#reader = reader;
    this.path = cf.fname;
    this.#stamp = stampOf(cf.fname);
    this.#origins = cf.origins;
    this.#originCounts = cf.originCounts;
    this.#globalComments = this.#readGlobalComments();
  }

  /**
   * Opens a file for review and starts building its table.
   * @throws the errors of {@link CacheFile.open}
   */
  static async open(id: number, path: string, lockTimeout: number): Promise<ReviewFile> {
    const cf = await CacheFile.open(path, { lockTimeout });
    const f = new ReviewFile(id, cf, await CacheFile.open(path, { lockTimeout }));
    // The table is built when first asked for (the page asks once its first trace is drawn), or
    // after a second: the first trace does not wait behind it.
    f.#deferred = setTimeout(() => void f.ready().catch(() => undefined), BUILD_DELAY_MS);
    f.#deferred.unref();
    return f;
  }

  get version(): number {
    return this.#version;
  }

  /** The table when built (possibly of the file before a change another program made, while it is built again). */
  get table(): FileTable | undefined {
    return this.#table;
  }

  /** The table, once built. */
  async ready(): Promise<FileTable> {
    clearTimeout(this.#deferred);
    this.fresh();
    if (this.#table && !this.#build) return this.#table;
    return this.#build ?? this.#startBuild();
  }

  #readGlobalComments(): string[] {
    const counts = this.#originCounts;
    let start = 0;
    return counts.map((n) => {
      const at = start;
      start += n;
      return n > 0 ? (this.cf.getTraceAttrs(at)["global_comment"] ?? "") : "";
    });
  }

  #startBuild(): Promise<FileTable> {
    this.#progress = 0;
    const build = FileTable.build(
      this.#reader,
      (done, total) => {
        if (this.#build === build) this.#progress = total === 0 ? 1 : done / total;
      },
      () => this.settled(),
    ).then((table) => {
      if (this.#build !== build) return table;
      if (this.#dirty.size > 0) table.refresh(this.cf, this.#dirty);
      this.#dirty.clear();
      this.#table = table;
      this.#build = undefined;
      this.#progress = 1;
      this.#changed();
      return table;
    });
    build.catch(() => {
      if (this.#build === build) this.#build = undefined;
    });
    this.#build = build;
    return build;
  }

  #changed(): void {
    this.#version++;
    this.onChange?.();
  }

  /**
   * Follows changes another program made: when the file's stamp is not the
   * one after this review's last read or write, the version grows and the
   * table is built again (the old one is served meanwhile).
   */
  fresh(): void {
    if (this.#writing > 0) return;
    const now = stampOf(this.path);
    if (sameStamp(now, this.#stamp)) return;
    this.#stamp = now;
    this.#origins = this.cf.origins;
    this.#originCounts = this.cf.originCounts;
    this.#globalComments = this.#readGlobalComments();
    this.#changed();
    void this.#startBuild().catch(() => undefined);
  }

  summary(): FileSummary {
    const t = this.#table;
    return {
      id: this.id,
      path: this.path,
      name: basename(this.path),
      origins: [...this.#origins],
      originCounts: [...this.#originCounts],
      traces: this.#originCounts.reduce((a, b) => a + b, 0),
      status: t ? t.status() : null,
      progress: this.#table && !this.#build ? 1 : this.#progress,
      version: this.#version,
      globalComments: [...this.#globalComments],
    };
  }

  /**
   * Resolves when no write of this review is under way on the file. A
   * blocking read must not start while a write waits for its lock: the
   * read would wait for the write, and the write for the event loop the
   * read blocks. Every blocking read of the review's modules awaits this
   * first (writes themselves are one at a time, see session.ts).
   */
  async settled(): Promise<void> {
    while (this.#pendingWrite) await this.#pendingWrite;
  }

  /** One trace, read now. @throws {IndexRangeError} / {IndexTypeError} a bad index */
  trace(index: number): Promise<Trace> {
    return this.cf.trace(index);
  }

  /**
   * Writes typed updates as one batch (`cf.updateMany`: every update
   * checked first, all written or none), then brings the table up to date.
   * @throws {InvalidAttributeError} a value refused (nothing written)
   * @throws {FileInUseError} another writer holds the file
   */
  async write(updates: { index: number; values: TraceUpdate }[]): Promise<WriteResult[]> {
    this.fresh();
    this.#writing++;
    let results: WriteResult[];
    const write = this.cf.updateMany(updates);
    this.#pendingWrite = write.catch(() => undefined);
    try {
      results = await write;
    } finally {
      this.#writing--;
      this.#pendingWrite = undefined;
    }
    const written = updates.filter((_, k) => results[k]!.written.length > 0).map((u) => u.index);
    this.#stamp = stampOf(this.path);
    if (written.length > 0) {
      if (this.#build) for (const i of written) this.#dirty.add(i);
      // Read through the CacheFile that wrote: its index stays valid across its own writes.
      this.#table?.refresh(this.cf, written);
      this.#changed();
    }
    return results;
  }

  close(): void {
    clearTimeout(this.#deferred);
    this.cf.close();
    this.#reader.close();
  }
}
