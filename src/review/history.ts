/**
 * The session's undo/redo stack of annotation edits. Every edit is written
 * at once (so nothing is lost on a crash); undoing writes the old values
 * back, redoing the new ones, each as one batch, and only while the trace
 * still holds what the edit left (otherwise another program changed it
 * since, and the undo is refused rather than overwrite that change).
 * @module
 */
import type { TraceUpdate } from "../cachefile/traceTypes.js";

/** One trace's part of an edit: the values before and after, of the keys the edit wrote. */
export interface Change {
  index: number;
  before: TraceUpdate;
  after: TraceUpdate;
}

/** An edit: what one action of the reviewer wrote, in one file. */
export interface Edit {
  file: number;
  /** What the action was ("reject trace 17", "accept the estimate of trace 3", ...). */
  label: string;
  changes: Change[];
}

/** The stacks: the last edit is undone first. */
export class History {
  readonly #undo: Edit[] = [];
  readonly #redo: Edit[] = [];

  /** A new edit: it goes on the undo stack and the redo stack is cleared. */
  push(edit: Edit): void {
    this.#undo.push(edit);
    this.#redo.length = 0;
  }

  /** The edit an undo would undo. */
  get nextUndo(): Edit | undefined {
    return this.#undo.at(-1);
  }

  get nextRedo(): Edit | undefined {
    return this.#redo.at(-1);
  }

  /** Moves the last edit to the redo stack (after it was undone). */
  undone(): void {
    const e = this.#undo.pop();
    if (e) this.#redo.push(e);
  }

  /** Moves the last undone edit back (after it was redone). */
  redone(): void {
    const e = this.#redo.pop();
    if (e) this.#undo.push(e);
  }

  /** The labels, the next to undo (redo) first. */
  labels(): { undo: string[]; redo: string[] } {
    return { undo: this.#undo.map((e) => e.label).reverse(), redo: this.#redo.map((e) => e.label).reverse() };
  }
}

/** Whether a stored value (typed) is the value an edit wrote. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, k) => sameValue(v, b[k]));
  }
  if (typeof a === "number" && typeof b === "number") return a === b || (Number.isNaN(a) && Number.isNaN(b));
  return a === b;
}
