/**
 * One file of a review session: its CacheFile, its table (built in the
 * background, kept up to date after the review's writes and rebuilt when
 * another program changes the file: the library's freshness rule, the
 * file's stamp), and its map.
 * @module
 */
import { basename } from "node:path";
import { CacheFile } from "../cachefile.js";
import { sameStamp, stampOf, type Stamp } from "../cachefile/freshness.js";
import type { WriteResult } from "../cachefile/types.js";
import type { TraceUpdate } from "../typed/types.js";
import type { Trace } from "../typed/types.js";
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

export class ReviewFile {
  readonly id: number;
  readonly path: string;
  readonly cf: CacheFile;
  #table: FileTable | undefined;
  #build: Promise<FileTable> | undefined;
  #progress = 0;
  #stamp: Stamp;
  #version = 1;
  #writing = 0;
  /** Traces written while a build ran: read again when it ends. */
  #dirty = new Set<number>();
  #globalComments: string[];
  /** Called when the file changed (version grew). */
  onChange: (() => void) | undefined;

  private constructor(id: number, cf: CacheFile) {
    this.id = id;
    this.cf = cf;
    this.path = cf.fname;
    this.#stamp = stampOf(cf.fname);
    this.#globalComments = this.#readGlobalComments();
  }

  /**
   * Opens a file for review and starts building its table.
   * @throws the errors of {@link CacheFile.open}
   */
  static async open(id: number, path: string, lockTimeout: number): Promise<ReviewFile> {
    const cf = await CacheFile.open(path, { lockTimeout });
    const f = new ReviewFile(id, cf);
    f.#startBuild();
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
    this.fresh();
    if (this.#table && !this.#build) return this.#table;
    return this.#build ?? this.#startBuild();
  }

  #readGlobalComments(): string[] {
    const counts = this.cf.originCounts;
    let start = 0;
    return counts.map((n) => {
      const at = start;
      start += n;
      return n > 0 ? (this.cf.getTraceAttrs(at)["global_comment"] ?? "") : "";
    });
  }

  #startBuild(): Promise<FileTable> {
    this.#progress = 0;
    const build = FileTable.build(this.cf, (done, total) => {
      if (this.#build === build) this.#progress = total === 0 ? 1 : done / total;
    }).then((table) => {
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
      origins: this.cf.origins,
      originCounts: this.cf.originCounts,
      traces: this.cf.length,
      status: t ? t.status() : null,
      progress: this.#table && !this.#build ? 1 : this.#progress,
      version: this.#version,
      globalComments: [...this.#globalComments],
    };
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
    try {
      results = await this.cf.updateMany(updates);
    } finally {
      this.#writing--;
    }
    const written = updates.filter((_, k) => results[k]!.written.length > 0).map((u) => u.index);
    this.#stamp = stampOf(this.path);
    if (written.length > 0) {
      if (this.#build) for (const i of written) this.#dirty.add(i);
      this.#table?.refresh(this.cf, written);
      this.#changed();
    }
    return results;
  }

  close(): void {
    this.cf.close();
  }
}
