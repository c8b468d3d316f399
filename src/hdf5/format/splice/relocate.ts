/**
 * Relocation: the file positions of the addresses a parse finds (in the
 * order found, or sorted for a copy in chunks), and adding a source's new
 * base to the address at each.
 * @internal
 * @module
 */
import { TWO32 } from "./layout.js";

/** File positions of the addresses to relocate, in the order found (mostly increasing). */
export class Patches {
  #at = new Float64Array(1024);
  #length = 0;
  #ordered = true;

  add(pos: number): void {
    if (this.#length === this.#at.length) {
      const grown = new Float64Array(this.#at.length * 2);
      grown.set(this.#at);
      this.#at = grown;
    }
    if (this.#length > 0 && pos < this.#at[this.#length - 1]!) this.#ordered = false;
    this.#at[this.#length++] = pos;
  }

  /** The positions in the order found. */
  found(): Float64Array {
    return this.#at.subarray(0, this.#length);
  }

  /** The positions in increasing order. */
  sorted(): Float64Array {
    const out = this.#at.slice(0, this.#length);
    return this.#ordered ? out : radixSort(out);
  }
}

/**
 * Sorts non-negative integers below 2^53 (file positions) in increasing
 * order, by 11-bit digits from the lowest: O(n) per digit, where
 * TypedArray sort compares (several times slower on a source's thousands).
 */
function radixSort(values: Float64Array): Float64Array {
  let max = 0;
  for (let i = 0; i < values.length; i++) if (values[i]! > max) max = values[i]!;
  let from: Float64Array = values;
  let to: Float64Array = new Float64Array(values.length);
  const start = new Uint32Array(2048);
  for (let div = 1; div <= max; div *= 2048) {
    start.fill(0);
    for (let i = 0; i < from.length; i++) start[Math.floor(from[i]! / div) % 2048]!++;
    let sum = 0;
    for (let d = 0; d < 2048; d++) {
      const n = start[d]!;
      start[d] = sum;
      sum += n;
    }
    for (let i = 0; i < from.length; i++) {
      const v = from[i]!;
      to[start[Math.floor(v / div) % 2048]!++] = v;
    }
    [from, to] = [to, from];
  }
  return from;
}

/** Adds `base` to the little-endian 8-byte address at `at` of `view`. */
export function relocate(view: DataView, at: number, base: number): void {
  let lo = view.getUint32(at, true) + (base % TWO32);
  let hi = view.getUint32(at + 4, true) + Math.floor(base / TWO32);
  if (lo >= TWO32) {
    lo -= TWO32;
    hi += 1;
  }
  view.setUint32(at, lo, true);
  view.setUint32(at + 4, hi >>> 0, true);
}
