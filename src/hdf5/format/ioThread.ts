/**
 * The splicer's file reads and writes on a second thread: a worker reads
 * the next source and writes the last one into the target while this
 * thread parses, so that the copy's system time (the kernel copying from
 * and into the page cache: on a merge of small sources about as long as
 * the parse) overlaps the parse instead of adding to it.
 *
 * The buffers are shared memory, a few of {@link SLOT_BYTES} each. This
 * thread takes one ({@link IoThread.take}), has it filled from a
 * descriptor ({@link IoThread.read}, then {@link IoThread.awaitRead}) or
 * fills it itself, and hands it over for writing ({@link IoThread.write});
 * the buffer comes back once written. Requests pass through shared memory
 * too (a state and a request per buffer, and a doorbell the worker sleeps
 * on), not through messages, whose copying costs more than the writes. A
 * request the worker has not taken up yet when this thread waits for it
 * (the worker is busy with a write the kernel holds up, or there is no
 * worker) is taken back and done here, so this thread never waits for a
 * worker that has not started. The worker opens, closes and parses
 * nothing; every descriptor is this thread's, and none is closed while the
 * worker may still use it (the caller drains first: {@link IoThread.drain},
 * {@link IoThread.close}).
 *
 * Failures are Errors with the system's `code` (ENOSPC, EIO, ...): a failed
 * read is thrown by its awaitRead; a failed write is kept and thrown by
 * every later call that waits (take, write, drain).
 * @internal
 * @module
 */
import { readSync, writeSync } from "node:fs";
import { debuglog } from "node:util";
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";

const debug = debuglog("offspect");

/** Bytes of each buffer. */
export const SLOT_BYTES = 4 * 1024 * 1024;
/** Buffers: one being read ahead, one being parsed, one being written, and one spare. */
const SLOTS = 4;

// A buffer's state, shared with the worker (whose code repeats the numbers it sets).
const FREE = 0;
const WRITING = 1;
const HELD = 2;
const FAILED = 3;
const READING = 4;
/** Taken up by the worker (from READING or WRITING); until then this thread may take a request back and do it itself. */
const ACTIVE = 5;

/** A buffer this thread holds, until it is written or released. */
export interface Slot {
  readonly index: number;
  readonly bytes: Buffer;
  /** The same bytes, for reading and writing numbers in place. */
  readonly view: DataView;
}

// The control block, shared with the worker: a state per buffer, then the doorbell, the stop flag and whether the worker sleeps.
const BELL = SLOTS;
const STOP = SLOTS + 1;
const SLEEPING = SLOTS + 2;
// Each buffer's request, shared with the worker: read (0) or write (1), descriptor, length, position.
const FIELDS = 4;

/** A failure, as the worker reports it. */
interface Failure {
  slot: number;
  code: string;
  message: string;
}

/**
 * The worker's code, run from its source text (so it may use nothing but
 * its own body and Node's modules). It sleeps on the doorbell until a
 * buffer is marked READING or WRITING (reads first: the caller waits for
 * them, not for writes), does that request fully, then marks
 * the buffer HELD after a read, FREE after a write, or FAILED after posting
 * the error on the `failures` port; it returns when the stop flag is set.
 */
function ioThread(): void {
  const { workerData } = require("node:worker_threads") as typeof import("node:worker_threads");
  const { readSync, writeSync } = require("node:fs") as typeof import("node:fs");
  const data = workerData as { control: SharedArrayBuffer; requests: SharedArrayBuffer; slots: SharedArrayBuffer[]; failures: MessagePort };
  const control = new Int32Array(data.control);
  const requests = new Float64Array(data.requests);
  const buffers = data.slots.map((s) => Buffer.from(s));
  const slots = buffers.length;
  const bell = slots;
  const stop = slots + 1;
  const sleeping = slots + 2;
  for (;;) {
    const ticket = Atomics.load(control, bell);
    if (Atomics.load(control, stop) !== 0) return;
    // A read first (the caller waits for it), else a write.
    let slot = -1;
    for (let i = 0; i < slots && slot < 0; i++) if (Atomics.compareExchange(control, i, 4, 5) === 4) slot = i; // READING -> ACTIVE
    for (let i = 0; i < slots && slot < 0; i++) if (Atomics.compareExchange(control, i, 1, 5) === 1) slot = i; // WRITING -> ACTIVE
    if (slot >= 0) {
      const op = requests[4 * slot]!; // taken up: this thread no longer takes it back
      const fd = requests[4 * slot + 1]!;
      const length = requests[4 * slot + 2]!;
      const position = requests[4 * slot + 3]!;
      const buffer = buffers[slot]!;
      let outcome: number;
      try {
        if (op === 0) {
          for (let done = 0; done < length; ) {
            const n = readSync(fd, buffer, done, length - done, position + done);
            if (n === 0) throw Object.assign(new Error("the file became shorter while it was read"), { code: "EIO" });
            done += n;
          }
          outcome = 2; // HELD
        } else {
          for (let done = 0; done < length; ) done += writeSync(fd, buffer, done, length - done, position + done);
          outcome = 0; // FREE
        }
      } catch (e) {
        const error = e as NodeJS.ErrnoException;
        data.failures.postMessage({ slot, code: typeof error.code === "string" ? error.code : "EIO", message: String(error.message) });
        outcome = 3; // FAILED
      }
      Atomics.store(control, slot, outcome);
      Atomics.notify(control, slot);
    } else {
      Atomics.store(control, sleeping, 1);
      Atomics.wait(control, bell, ticket);
      Atomics.store(control, sleeping, 0);
    }
  }
}

function ioError(failure: Failure | undefined): Error {
  const e = new Error(failure?.message ?? "the I/O thread reported a failure") as NodeJS.ErrnoException;
  e.code = failure?.code ?? "EIO";
  return e;
}

export class IoThread {
  /** Null when there is no thread: requests are then done here, when waited for. */
  readonly #worker: Worker | null;
  readonly #failures: MessagePort;
  /** Failures received and not yet claimed, by buffer. */
  readonly #reported = new Map<number, Failure>();
  readonly #state: Int32Array;
  readonly #requests: Float64Array;
  readonly #buffers: Buffer[];
  readonly #views: DataView[];
  /** Buffers handed to the worker for writing, oldest first. */
  readonly #writing: number[] = [];
  /** Buffers with a read requested and not yet awaited. */
  readonly #reads = new Set<number>();
  #writeFailure: Error | null = null;
  #closed = false;

  private constructor(worker: Worker | null, failures: MessagePort, state: Int32Array, requests: Float64Array, buffers: Buffer[]) {
    this.#worker = worker;
    this.#failures = failures;
    this.#state = state;
    this.#requests = requests;
    this.#buffers = buffers;
    this.#views = buffers.map((b) => new DataView(b.buffer, b.byteOffset, b.byteLength));
  }

  /**
   * Starts the worker thread (it does not keep the process alive). Without
   * it (`thread: false`, or when no thread can be started: reported on
   * `NODE_DEBUG=offspect`) every request is done on this thread when it is
   * waited for, with the same results.
   */
  static start(options: { thread?: boolean } = {}): IoThread {
    const control = new SharedArrayBuffer(4 * (SLOTS + 3));
    const requests = new SharedArrayBuffer(8 * FIELDS * SLOTS);
    const slots = Array.from({ length: SLOTS }, () => new SharedArrayBuffer(SLOT_BYTES));
    const { port1, port2 } = new MessageChannel();
    port1.unref();
    let worker: Worker | null = null;
    if (options.thread !== false) {
      try {
        worker = new Worker(`(${ioThread.toString()})()`, {
          eval: true,
          execArgv: [],
          workerData: { control, requests, slots, failures: port2 },
          transferList: [port2],
        });
        worker.unref();
        // Its failures arrive through the shared state; an 'error' event must not become an uncaught one.
        worker.on("error", () => undefined);
      } catch (e) {
        debug("no I/O thread (%s): the splicer reads and writes on its own thread", (e as Error).message);
      }
    }
    return new IoThread(worker, port1, new Int32Array(control), new Float64Array(requests), slots.map((s) => Buffer.from(s)));
  }

  /** A free buffer, held until written or released; waits for the oldest write when none is free. */
  take(): Slot {
    this.#usable();
    for (;;) {
      for (let i = 0; i < SLOTS; i++) {
        if (Atomics.load(this.#state, i) === FREE && !this.#writing.includes(i)) {
          Atomics.store(this.#state, i, HELD);
          return { index: i, bytes: this.#buffers[i]!, view: this.#views[i]! };
        }
      }
      const oldest = this.#writing[0];
      if (oldest === undefined) throw new Error("IoThread: every buffer is held or being read; release one first");
      this.#settle(oldest);
      this.#usable();
    }
  }

  /** Gives back a held buffer (after {@link awaitRead}, if it was being read). */
  release(slot: Slot): void {
    if (Atomics.load(this.#state, slot.index) === HELD) Atomics.store(this.#state, slot.index, FREE);
  }

  /** Starts reading `length` bytes at `position` of `fd` into the start of a held buffer. */
  read(slot: Slot, fd: number, length: number, position: number): void {
    this.#send(0, slot, READING, fd, length, position);
  }

  /**
   * Waits for the read into `slot`; the buffer is held again afterwards,
   * whatever the outcome.
   * @throws Error with `code` when the read failed
   */
  awaitRead(slot: Slot): void {
    const i = slot.index;
    this.#reads.delete(i);
    // Not taken up yet (the worker is busy with a write the kernel holds up): read here instead.
    if (Atomics.compareExchange(this.#state, i, READING, HELD) === READING) {
      this.#readHere(i);
      return;
    }
    while (Atomics.load(this.#state, i) === ACTIVE) Atomics.wait(this.#state, i, ACTIVE);
    if (Atomics.load(this.#state, i) === FAILED) {
      Atomics.store(this.#state, i, HELD);
      throw ioError(this.#claim(i));
    }
  }

  /** Starts writing the first `length` bytes of a held buffer at `position` of `fd`; the buffer is the worker's until written. */
  write(slot: Slot, fd: number, length: number, position: number): void {
    this.#usable();
    this.#send(1, slot, WRITING, fd, length, position);
    this.#writing.push(slot.index);
  }

  /** Waits for every write handed over; throws the first that failed. */
  drain(): void {
    while (this.#writing.length > 0) this.#settle(this.#writing[0]!);
    this.#usable();
  }

  /** Waits for every request (whatever its outcome), then ends the thread; idempotent. */
  close(): void {
    if (this.#closed) return;
    try {
      for (let i = 0; i < SLOTS; i++) {
        // A read not taken up is taken back; one under way is waited for.
        if (Atomics.compareExchange(this.#state, i, READING, HELD) !== READING) {
          while (Atomics.load(this.#state, i) === ACTIVE && !this.#writing.includes(i)) Atomics.wait(this.#state, i, ACTIVE);
        }
      }
      while (this.#writing.length > 0) this.#settle(this.#writing[0]!);
    } finally {
      this.#closed = true;
      this.#reads.clear();
      Atomics.store(this.#state, STOP, 1);
      this.#ring();
      this.#failures.close();
      void this.#worker?.terminate().catch(() => undefined);
    }
  }

  #usable(): void {
    if (this.#closed) throw new Error("IoThread: closed");
    if (this.#writeFailure) throw this.#writeFailure;
  }

  /**
   * Writes the request of `slot` (op 0: read, 1: write) and marks the
   * buffer busy. A read wakes the worker; a write, while a read is
   * outstanding, waits for the worker to wake for it (it does every request
   * it finds), or for this thread to need the buffer and do it itself: one
   * system call to wake the worker a source, not two.
   */
  #send(op: number, slot: Slot, busy: number, fd: number, length: number, position: number): void {
    if (this.#closed) throw new Error("IoThread: closed");
    if (Atomics.load(this.#state, slot.index) !== HELD) throw new Error("IoThread: that buffer is not held");
    if (length > SLOT_BYTES) throw new RangeError(`IoThread: ${length} bytes do not fit a buffer of ${SLOT_BYTES}`);
    const r = FIELDS * slot.index;
    this.#requests[r] = op;
    this.#requests[r + 1] = fd;
    this.#requests[r + 2] = length;
    this.#requests[r + 3] = position;
    Atomics.store(this.#state, slot.index, busy);
    if (op === 0) this.#reads.add(slot.index);
    if (op === 0 || this.#reads.size === 0) this.#ring();
  }

  /** Rings the doorbell; the system call that wakes the worker only when it sleeps (it reads the bell before it sleeps). */
  #ring(): void {
    Atomics.add(this.#state, BELL, 1);
    if (Atomics.load(this.#state, SLEEPING) !== 0) Atomics.notify(this.#state, BELL);
  }

  /** Waits for the write in `slot` and takes the buffer back, keeping a failure. */
  #settle(slot: number): void {
    // Not taken up yet: written here instead.
    if (Atomics.compareExchange(this.#state, slot, WRITING, HELD) === WRITING) this.#writeHere(slot);
    while (Atomics.load(this.#state, slot) === ACTIVE) Atomics.wait(this.#state, slot, ACTIVE);
    this.#writing.splice(this.#writing.indexOf(slot), 1);
    if (Atomics.load(this.#state, slot) === FAILED) {
      const failure = this.#claim(slot);
      this.#writeFailure ??= ioError(failure);
      Atomics.store(this.#state, slot, FREE);
    }
  }

  /** Does the read request of `slot` (held) on this thread. */
  #readHere(slot: number): void {
    const [fd, length, position] = this.#request(slot);
    const buffer = this.#buffers[slot]!;
    for (let done = 0; done < length; ) {
      const n = readSync(fd, buffer, done, length - done, position + done);
      if (n === 0) throw Object.assign(new Error("the file became shorter while it was read"), { code: "EIO" });
      done += n;
    }
  }

  /** Does the write request of `slot` (held) on this thread; the buffer is FREE, or FAILED, afterwards. */
  #writeHere(slot: number): void {
    const [fd, length, position] = this.#request(slot);
    const buffer = this.#buffers[slot]!;
    try {
      for (let done = 0; done < length; ) done += writeSync(fd, buffer, done, length - done, position + done);
      Atomics.store(this.#state, slot, FREE);
    } catch (e) {
      const error = e as NodeJS.ErrnoException;
      this.#reported.set(slot, { slot, code: typeof error.code === "string" ? error.code : "EIO", message: String(error.message) });
      Atomics.store(this.#state, slot, FAILED);
    }
  }

  #request(slot: number): [fd: number, length: number, position: number] {
    const r = FIELDS * slot;
    return [this.#requests[r + 1]!, this.#requests[r + 2]!, this.#requests[r + 3]!];
  }

  /** The failure the worker reported for `slot` (posted before it marked the buffer failed). */
  #claim(slot: number): Failure | undefined {
    for (let m = receiveMessageOnPort(this.#failures); m; m = receiveMessageOnPort(this.#failures)) {
      const f = m.message as Failure;
      this.#reported.set(f.slot, f);
    }
    const failure = this.#reported.get(slot);
    this.#reported.delete(slot);
    return failure;
  }
}
