/**
 * The checksum of HDF5's version-2 metadata structures (superblock 2/3,
 * object headers "OHDR"/"OCHK", fractal heaps, v2 B-trees, ...): Bob
 * Jenkins' lookup3 `hashlittle` with an initial value of 0, as libhdf5's
 * `H5_checksum_metadata`.
 * @internal
 * @module
 */

const rot = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

/** lookup3 hashlittle over `bytes[start, end)`. */
export function lookup3(bytes: Uint8Array, start = 0, end = bytes.length, initval = 0): number {
  let length = end - start;
  let a = (0xdeadbeef + length + initval) >>> 0;
  let b = a;
  let c = a;
  let k = start;
  const at = (i: number) => bytes[k + i]!;
  while (length > 12) {
    a = (a + (at(0) | (at(1) << 8) | (at(2) << 16) | (at(3) << 24))) >>> 0;
    b = (b + (at(4) | (at(5) << 8) | (at(6) << 16) | (at(7) << 24))) >>> 0;
    c = (c + (at(8) | (at(9) << 8) | (at(10) << 16) | (at(11) << 24))) >>> 0;
    // mix(a, b, c)
    a = (a - c) >>> 0; a = (a ^ rot(c, 4)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rot(a, 6)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rot(b, 8)) >>> 0; b = (b + a) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rot(c, 16)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rot(a, 19)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rot(b, 4)) >>> 0; b = (b + a) >>> 0;
    length -= 12;
    k += 12;
  }
  if (length === 0) return c;
  // The tail, as lookup3's fall-through switch adds it.
  const add = (word: number, i: number, shift: number) => (i < length ? (word + (at(i) << shift)) >>> 0 : word);
  c = add(add(add(add(c, 8, 0), 9, 8), 10, 16), 11, 24);
  b = add(add(add(add(b, 4, 0), 5, 8), 6, 16), 7, 24);
  a = add(add(add(add(a, 0, 0), 1, 8), 2, 16), 3, 24);
  // final(a, b, c)
  c = (c ^ b) >>> 0; c = (c - rot(b, 14)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rot(c, 11)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rot(a, 25)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rot(b, 16)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rot(c, 4)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rot(a, 14)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rot(b, 24)) >>> 0;
  return c;
}

/** Whether the 4 bytes at `end` hold the checksum of `bytes[start, end)`. */
export function checksumMatches(bytes: Uint8Array, start: number, end: number): boolean {
  if (end + 4 > bytes.length) return false;
  const stored = (bytes[end]! | (bytes[end + 1]! << 8) | (bytes[end + 2]! << 16) | (bytes[end + 3]! << 24)) >>> 0;
  return lookup3(bytes, start, end) === stored;
}
