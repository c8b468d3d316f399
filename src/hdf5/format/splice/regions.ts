/**
 * The byte ranges of the structures a splice parse meets: each claimed
 * once; two that overlap are damage, the same one reached twice a hard link
 * (which the splicer cannot relocate twice).
 * @internal
 * @module
 */
import { damaged, unsupported } from "../errors.js";

/**
 * The byte ranges claimed so far, sorted, in blocks of at most 512 (so
 * that a claim costs O(log n + 512) in any order; files written front to
 * back claim in increasing order and append).
 */
export class RegionSet {
  readonly #blocks: { start: number[]; end: number[]; kind: string[] }[] = [{ start: [], end: [], kind: [] }];

  /**
   * Claims [addr, addr + length) for a structure of `kind`: the same range
   * claimed before for the same kind is the same structure reached twice
   * (unsupported); any other overlap is damage.
   */
  claim(addr: number, length: number, kind: string): void {
    if (length === 0) return;
    const blocks = this.#blocks;
    // The last block whose first start is <= addr (or the first block).
    let lo = 0;
    let hi = blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (blocks[mid]!.start[0]! <= addr) lo = mid;
      else hi = mid - 1;
    }
    const b = lo;
    const block = blocks[b]!;
    // The first region in the block starting after addr.
    let i = block.start.length;
    if (i > 0 && block.start[i - 1]! > addr) {
      let l = 0;
      let h = i;
      while (l < h) {
        const mid = (l + h) >> 1;
        if (block.start[mid]! <= addr) l = mid + 1;
        else h = mid;
      }
      i = l;
    }
    const end = addr + length;
    if (i > 0) {
      if (block.end[i - 1]! > addr) this.#conflict(block, i - 1, addr, end, kind);
    } else if (b > 0) {
      const before = blocks[b - 1]!;
      if (before.end[before.end.length - 1]! > addr) this.#conflict(before, before.end.length - 1, addr, end, kind);
    }
    if (i < block.start.length) {
      if (block.start[i]! < end) this.#conflict(block, i, addr, end, kind);
    } else if (b + 1 < blocks.length) {
      const after = blocks[b + 1]!;
      if (after.start[0]! < end) this.#conflict(after, 0, addr, end, kind);
    }
    if (i === block.start.length) {
      block.start.push(addr);
      block.end.push(end);
      block.kind.push(kind);
    } else {
      block.start.splice(i, 0, addr);
      block.end.splice(i, 0, end);
      block.kind.splice(i, 0, kind);
    }
    if (block.start.length > 512) {
      const half = block.start.length >> 1;
      blocks.splice(b + 1, 0, { start: block.start.splice(half), end: block.end.splice(half), kind: block.kind.splice(half) });
    }
  }

  #conflict(block: { start: number[]; end: number[]; kind: string[] }, at: number, addr: number, addrEnd: number, what: string): never {
    const start = block.start[at]!;
    const end = block.end[at]!;
    const kind = block.kind[at]!;
    if (start === addr && end === addrEnd && kind === what) {
      unsupported(`the ${what} at address ${addr} is reached twice (a hard link): the splicer relocates each structure once`);
    }
    damaged(`the ${what} at address ${addr} (${addrEnd - addr} bytes) overlaps the ${kind} at address ${start} (${end - start} bytes)`);
  }
}
