/**
 * The splicer's I/O thread: reads and writes through shared buffers, done
 * by the worker or, when it has not taken them up (or there is no worker),
 * by the caller, with the same bytes and the same failures either way.
 */
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IoThread, SLOT_BYTES } from "../src/hdf5/format/ioThread.js";
import { tempDir } from "./helpers/fixtures.js";

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir("ocf-io-")));
afterAll(() => cleanup());

/** Deterministic bytes (a different pattern per seed). */
function pattern(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

for (const thread of [true, false]) {
  describe(thread ? "with its worker" : "without a worker (every request done by the caller)", () => {
    it("writes many buffers where asked, more than it has buffers, and reads them back", () => {
      const io = IoThread.start({ thread });
      const path = join(dir, `written-${thread}.bin`);
      const fd = openSync(path, "wx");
      const pieces = 11;
      const size = SLOT_BYTES - 12_345;
      try {
        for (let k = 0; k < pieces; k++) {
          const slot = io.take();
          pattern(size, k + 1).copy(slot.bytes);
          // Written back to front: positions, not order, decide where bytes land.
          io.write(slot, fd, size, (pieces - 1 - k) * size);
        }
        io.drain();
      } finally {
        io.close();
        closeSync(fd);
      }
      const written = readFileSync(path);
      expect(written.length).toBe(pieces * size);
      for (let k = 0; k < pieces; k++) {
        expect(written.subarray((pieces - 1 - k) * size, (pieces - k) * size).equals(pattern(size, k + 1)), `piece ${k}`).toBe(true);
      }

      const reader = IoThread.start({ thread });
      const rfd = openSync(path, "r");
      try {
        const slots = [reader.take(), reader.take()];
        reader.read(slots[0]!, rfd, size, 3 * size);
        reader.read(slots[1]!, rfd, 1000, 5 * size + 17);
        reader.awaitRead(slots[1]!);
        reader.awaitRead(slots[0]!);
        expect(slots[0]!.bytes.subarray(0, size).equals(pattern(size, pieces - 3))).toBe(true);
        expect(slots[1]!.bytes.subarray(0, 1000).equals(pattern(size, pieces - 5).subarray(17, 1017))).toBe(true);
        for (const s of slots) reader.release(s);
      } finally {
        reader.close();
        closeSync(rfd);
      }
    });

    it("reports a failed write with the system's code, from then on", () => {
      const path = join(dir, `readonly-${thread}.bin`);
      writeFileSync(path, "x");
      const fd = openSync(path, "r"); // writes fail: EBADF
      const io = IoThread.start({ thread });
      try {
        const slot = io.take();
        io.write(slot, fd, 100, 0);
        expect(() => io.drain()).toThrow(expect.objectContaining({ code: "EBADF" }));
        expect(() => io.take()).toThrow(expect.objectContaining({ code: "EBADF" }));
      } finally {
        io.close();
        closeSync(fd);
      }
      expect(readFileSync(path, "utf8")).toBe("x");
    });

    it("reports a read past the end of the file, and gives the buffer back", () => {
      const path = join(dir, `short-${thread}.bin`);
      writeFileSync(path, pattern(5000, 9));
      const fd = openSync(path, "r");
      const io = IoThread.start({ thread });
      try {
        const slot = io.take();
        io.read(slot, fd, 8000, 0);
        expect(() => io.awaitRead(slot)).toThrow(expect.objectContaining({ code: "EIO", message: expect.stringMatching(/shorter/) }));
        io.release(slot);
        // Every buffer is free again.
        const all = [io.take(), io.take(), io.take(), io.take()];
        expect(new Set(all.map((s) => s.index)).size).toBe(4);
        expect(() => io.take()).toThrow(/every buffer is held/);
      } finally {
        io.close();
        closeSync(fd);
      }
    });

    it("refuses requests once closed, and waits for what was handed over before", () => {
      const path = join(dir, `closing-${thread}.bin`);
      const fd = openSync(path, "wx");
      const io = IoThread.start({ thread });
      const slot = io.take();
      pattern(SLOT_BYTES, 3).copy(slot.bytes);
      io.write(slot, fd, SLOT_BYTES, 0);
      io.close();
      closeSync(fd);
      expect(readFileSync(path).equals(pattern(SLOT_BYTES, 3))).toBe(true);
      expect(() => io.take()).toThrow(/closed/);
      expect(() => io.close()).not.toThrow();
    });
  });
}
