/**
 * EDF, EDF+ (continuous and discontinuous), BDF and BDF+: the header, each
 * signal's digital-to-physical scaling (physical = digital x gain + offset,
 * from the physical and digital extremes, then the physical dimension to µV),
 * and the annotations of EDF+/BDF+ ("EDF Annotations" signals, time-stamped
 * annotation lists) as events. Data are read by seeking to the data records
 * that hold a window; the annotations by one pass over the records.
 * @module
 */
import { basename } from "node:path";
import { EdfError } from "./errors.js";
import { FileSource, SequentialReader } from "./io.js";
import { TriggerDecoder, type TriggerEvents } from "./triggers.js";
import { type ChannelInfo, microvoltFactor, quote, type RecordingEvent, type Signal } from "./types.js";

/** One signal of the header. */
export interface EdfSignalHeader {
  label: string;
  transducer: string;
  physicalDimension: string;
  physicalMin: number;
  physicalMax: number;
  digitalMin: number;
  digitalMax: number;
  prefiltering: string;
  samplesPerRecord: number;
  /** An annotations signal ("EDF Annotations" / "BDF Annotations"). */
  annotations: boolean;
}

/** The header of an EDF or BDF file. */
export interface EdfHeader {
  format: "edf" | "bdf";
  /** "EDF+C", "EDF+D", "BDF+C", "BDF+D", "24BIT" or "" (plain EDF). */
  reserved: string;
  plus: boolean;
  patient: string;
  recording: string;
  /** "YYYY-MM-DD HH:MM:SS" from the header's start date and time; "" when the file states none (EDF+'s "Startdate X", or no valid date). */
  startDate: string;
  headerBytes: number;
  /** The data records read: as MNE, as many whole records as the file holds. */
  nRecords: number;
  /** The number of data records the header declares (-1: unknown, the recording was not closed). */
  declaredRecords: number;
  /** Bytes after the last whole data record (a record cut short). */
  trailingBytes: number;
  recordDuration: number;
  signals: EdfSignalHeader[];
  /** Bytes per sample: 2 (EDF) or 3 (BDF). */
  bytesPerSample: 2 | 3;
  /** Bytes of one data record. */
  recordBytes: number;
}

function field(buf: Buffer, start: number, len: number): string {
  return buf.toString("latin1", start, start + len).trim();
}

/**
 * Parses the header of an EDF/BDF file.
 * @throws {EdfError} `EBADHEADER` (not EDF/BDF, malformed numbers, inconsistent sizes), `ETRUNCATED` (shorter than the header or the records it declares)
 */
export function parseEdfHeader(src: FileSource): EdfHeader {
  const file = src.path;
  if (src.size < 256) throw new EdfError("ETRUNCATED", file, `the file has ${src.size} bytes, less than the 256 of an EDF/BDF header: the copy is incomplete or this is not an EDF/BDF file`);
  const h = src.read(0, 256);
  let format: "edf" | "bdf";
  if (h[0] === 0xff && h.toString("latin1", 1, 8) === "BIOSEMI") format = "bdf";
  else if (field(h, 0, 8) === "0") format = "edf";
  else throw new EdfError("EBADHEADER", file, `expected the version "0" (EDF) or 0xFF "BIOSEMI" (BDF) in the first 8 bytes, got ${quote(h.toString("latin1", 0, 8))}: this is not an EDF or BDF file`, { offset: 0 });
  const num = (start: number, len: number, what: string, integer: boolean): number => {
    const text = field(h, start, len);
    const v = Number(text);
    if (text === "" || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
      throw new EdfError("EBADHEADER", file, `expected ${integer ? "an integer" : "a number"} for ${what}, got ${quote(text)}`, { offset: start });
    }
    return v;
  };
  const headerBytes = num(184, 8, "the number of header bytes", true);
  const reserved = field(h, 192, 44);
  const declaredRecords = num(236, 8, "the number of data records", true);
  const recordDuration = num(244, 8, "the duration of a data record", false);
  const ns = num(252, 4, "the number of signals", true);
  if (ns < 1 || ns > 100000) throw new EdfError("EBADHEADER", file, `expected 1 or more signals, got ${ns}`, { offset: 252 });
  if (headerBytes !== 256 * (ns + 1)) {
    throw new EdfError("EBADHEADER", file, `the header declares ${headerBytes} header bytes, but ${ns} signals need ${256 * (ns + 1)}: the header is damaged`, { offset: 184 });
  }
  if (src.size < headerBytes) throw new EdfError("ETRUNCATED", file, `the file has ${src.size} bytes, less than its ${headerBytes}-byte header: the copy is incomplete`);
  if (recordDuration < 0) throw new EdfError("EBADHEADER", file, `expected a non-negative record duration, got ${recordDuration}`, { offset: 244 });
  const sh = src.read(256, headerBytes - 256);
  const signals: EdfSignalHeader[] = [];
  // field offsets (per signal block) in units of ns * width
  const layout = { label: [0, 16], transducer: [16, 80], dim: [96, 8], pmin: [104, 8], pmax: [112, 8], dmin: [120, 8], dmax: [128, 8], prefilter: [136, 80], spr: [216, 8] } as const;
  const colText = (key: keyof typeof layout, i: number) => {
    const [o, w] = layout[key];
    return field(sh, o * ns + i * w, w);
  };
  const colNum = (key: keyof typeof layout, i: number, what: string, integer: boolean) => {
    const [o, w] = layout[key];
    const text = colText(key, i);
    const v = Number(text);
    if (text === "" || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
      throw new EdfError("EBADHEADER", file, `signal ${i + 1} (${colText("label", i)}): expected ${integer ? "an integer" : "a number"} for ${what}, got ${quote(text)}`, { offset: 256 + o * ns + i * w });
    }
    return v;
  };
  const bps = format === "bdf" ? 3 : 2;
  let recordBytes = 0;
  for (let i = 0; i < ns; i++) {
    const label = colText("label", i);
    const annotations = label === "EDF Annotations" || label === "BDF Annotations";
    const s: EdfSignalHeader = {
      label,
      transducer: colText("transducer", i),
      physicalDimension: colText("dim", i),
      physicalMin: annotations ? -1 : colNum("pmin", i, "the physical minimum", false),
      physicalMax: annotations ? 1 : colNum("pmax", i, "the physical maximum", false),
      digitalMin: annotations ? -32768 : colNum("dmin", i, "the digital minimum", true),
      digitalMax: annotations ? 32767 : colNum("dmax", i, "the digital maximum", true),
      prefiltering: colText("prefilter", i),
      samplesPerRecord: colNum("spr", i, "the number of samples per record", true),
      annotations,
    };
    if (s.samplesPerRecord < 1) throw new EdfError("EBADHEADER", file, `signal ${i + 1} (${label}) has ${s.samplesPerRecord} samples per record: expected 1 or more`, { offset: 256 + 216 * ns + i * 8 });
    if (!annotations && s.digitalMax === s.digitalMin) {
      throw new EdfError("EBADHEADER", file, `signal ${i + 1} (${label}) has equal digital minimum and maximum (${s.digitalMin}): its scaling is undefined`, { offset: 256 + 120 * ns + i * 8 });
    }
    recordBytes += s.samplesPerRecord * bps;
    signals.push(s);
  }
  const plus = reserved.startsWith("EDF+") || reserved.startsWith("BDF+");
  if (declaredRecords < -1) throw new EdfError("EBADHEADER", file, `expected a non-negative number of data records (or -1), got ${declaredRecords}`, { offset: 236 });
  // as MNE: the records the file holds, whatever the header declares (a difference is reported by EdfRecording.warnings)
  const nRecords = Math.floor((src.size - headerBytes) / recordBytes);
  const trailingBytes = src.size - headerBytes - nRecords * recordBytes;
  // start date dd.mm.yy and time hh.mm.ss; years 85-99 are 19xx (EDF spec), EDF+ may state the year in the recording field
  const d = /^([0-9]{2})\.([0-9]{2})\.([0-9]{2})$/.exec(field(h, 168, 8));
  const t = /^([0-9]{2})\.([0-9]{2})\.([0-9]{2})$/.exec(field(h, 176, 8));
  let startDate = "";
  // EDF+: "Startdate X" in the recording field says the date is not known (the date field then holds a placeholder)
  const unknown = plus && /^Startdate X\b/.test(field(h, 88, 80));
  if (d && t && !unknown && Number(d[1]) >= 1 && Number(d[1]) <= 31 && Number(d[2]) >= 1 && Number(d[2]) <= 12) {
    let year = Number(d[3]) + (Number(d[3]) >= 85 ? 1900 : 2000);
    const ry = /Startdate [0-9]{2}-[A-Z]{3}-([0-9]{4})/.exec(field(h, 88, 80));
    if (ry) year = Number(ry[1]);
    startDate = `${year}-${d[2]}-${d[1]} ${t[1]}:${t[2]}:${t[3]}`;
  }
  return {
    format,
    reserved,
    plus,
    patient: field(h, 8, 80),
    recording: field(h, 88, 80),
    startDate,
    headerBytes,
    nRecords,
    declaredRecords,
    trailingBytes,
    recordDuration,
    signals,
    bytesPerSample: bps,
    recordBytes,
  };
}

/**
 * The annotations of one record's annotation signal: time-stamped annotation
 * lists `+onset[\x15duration]\x14text\x14...\x14\x00`. The first list of a
 * record keeps time (no text) and is not an event.
 */
function parseTals(bytes: Buffer, file: string, at: number, out: RecordingEvent[]): void {
  let i = 0;
  while (i < bytes.length) {
    if (bytes[i] === 0) {
      i++;
      continue;
    }
    const end = bytes.indexOf(0, i);
    const tal = bytes.toString("utf8", i, end === -1 ? bytes.length : end);
    const parts = tal.split("\x14");
    const head = parts[0]!;
    const m = /^([+-][0-9]+(?:\.[0-9]*)?)(?:\x15([0-9]+(?:\.[0-9]*)?))?$/.exec(head);
    if (!m) throw new EdfError("EBADANNOTATION", file, `expected an annotation onset like "+12.5", got ${quote(head.slice(0, 40))}`, { offset: at + i });
    const onset = Number(m[1]);
    const duration = m[2] === undefined ? 0 : Number(m[2]);
    for (const text of parts.slice(1)) if (text !== "") out.push({ name: text, time: onset, duration });
    i = end === -1 ? bytes.length : end + 1;
  }
}

/** An open EDF or BDF recording. */
export class EdfRecording implements Signal, Disposable {
  readonly file: string;
  readonly name: string;
  readonly header: EdfHeader;
  /** The highest of the data signals' rates, Hz (MNE's sampling rate of the file). */
  readonly samplingRate: number;
  /** Samples at {@link samplingRate}. */
  readonly nSamples: number;
  /** The data signals (annotation signals left out). */
  readonly channels: readonly ChannelInfo[];
  readonly events: RecordingEvent[];
  /** "YYYY-MM-DD HH:MM:SS", or "" when the file states no date. */
  readonly startDate: string;
  /** What the reader had to make of a file cut short or longer than its header says (read as MNE reads it). */
  readonly warnings: readonly string[];
  readonly #src: FileSource;
  /** For each data channel: its signal's index in the header and its byte offset within a record. */
  readonly #layout: { signal: number; byteOffset: number; spr: number }[];
  /** Each data record's start, seconds from the first (EDF+D records need not follow each other); undefined without annotations. */
  #recordStarts: Float64Array | undefined;

  private constructor(src: FileSource, header: EdfHeader) {
    this.#src = src;
    this.file = src.path;
    this.name = basename(src.path);
    this.header = header;
    this.startDate = header.startDate;
    const channels: ChannelInfo[] = [];
    this.#layout = [];
    let byteOffset = 0;
    header.signals.forEach((s, i) => {
      if (!s.annotations) {
        const gain = (s.physicalMax - s.physicalMin) / (s.digitalMax - s.digitalMin);
        const factor = microvoltFactor(s.physicalDimension);
        channels.push({
          label: s.label,
          unit: s.physicalDimension,
          gain: gain * (factor ?? 1),
          offset: (s.physicalMin - s.digitalMin * gain) * (factor ?? 1),
          microvolts: factor !== undefined,
          samplingRate: header.recordDuration > 0 ? s.samplesPerRecord / header.recordDuration : 0,
        });
        this.#layout.push({ signal: i, byteOffset, spr: s.samplesPerRecord });
      }
      byteOffset += s.samplesPerRecord * header.bytesPerSample;
    });
    this.channels = channels;
    const maxSpr = this.#layout.reduce((m, l) => Math.max(m, l.spr), 0);
    this.samplingRate = header.recordDuration > 0 ? maxSpr / header.recordDuration : 0;
    this.nSamples = maxSpr * header.nRecords;
    this.events = this.#readAnnotations();
    const warnings: string[] = [];
    const { declaredRecords: declared, nRecords: held, trailingBytes: trailing } = header;
    if (declared !== -1 && declared > held) {
      warnings.push(
        `the header declares ${declared} data records but the file holds ${held}${trailing > 0 ? ` and ${trailing} bytes of the next` : ""}: the file was cut short; the ${held} whole records are read, as MNE does, and anything recorded after ${(held * header.recordDuration).toFixed(3)} s is missing`,
      );
    } else if (declared !== -1 && declared < held) {
      warnings.push(`the header declares ${declared} data records but the file holds ${held}: all ${held} are read, as MNE does`);
    } else if (trailing > 0) {
      warnings.push(`the file ends with ${trailing} bytes of an incomplete data record: they are left out, as MNE does`);
    }
    this.warnings = warnings;
  }

  /**
   * Opens an EDF, EDF+, BDF or BDF+ file.
   * @example
   * ```ts
   * using rec = EdfRecording.open("S01.edf");
   * rec.channels.map((c) => c.label); rec.events; // EDF+ annotations
   * rec.readWindow([rec.channels.findIndex((c) => c.label === "EDC_L")], 5000, 1000); // µV
   * ```
   * @throws {EdfError} a malformed or truncated file
   */
  static open(path: string): EdfRecording {
    const src = FileSource.open(path, (why) => new EdfError("ENOTFILE", path, `is ${why}: pass an .edf or .bdf file`));
    try {
      const header = parseEdfHeader(src);
      if (header.recordDuration === 0 && header.signals.some((s) => !s.annotations)) {
        throw new EdfError("EBADHEADER", path, "the record duration is 0 but the file has data signals: the header is damaged");
      }
      return new EdfRecording(src, header);
    } catch (e) {
      src.close();
      throw e;
    }
  }

  #readAnnotations(): RecordingEvent[] {
    const h = this.header;
    const ann = h.signals.map((s, i) => ({ s, i })).filter(({ s }) => s.annotations);
    if (ann.length === 0 || h.nRecords === 0) return [];
    const offsets = ann.map(({ i }) => h.signals.slice(0, i).reduce((n, s) => n + s.samplesPerRecord * h.bytesPerSample, 0));
    const events: RecordingEvent[] = [];
    const reader = new SequentialReader(this.#src, h.headerBytes, Math.max(1 << 20, h.recordBytes));
    let firstOnset: number | undefined;
    const starts = new Float64Array(h.nRecords);
    for (let r = 0; r < h.nRecords; r++) {
      const start = h.headerBytes + r * h.recordBytes;
      reader.seek(start);
      if (!reader.ensure(h.recordBytes)) throw new EdfError("ETRUNCATED", this.file, `data record ${r + 1} ends past the end of the file`, { offset: start });
      ann.forEach(({ s }, k) => {
        const at = start + offsets[k]!;
        reader.seek(at);
        const bytes = reader.bytes(s.samplesPerRecord * h.bytesPerSample);
        parseTals(Buffer.from(bytes), this.file, at, events);
        if (k === 0) {
          // the record's time-keeping annotation: when the record starts
          const m = /^([+-][0-9]+(?:\.[0-9]*)?)\x14/.exec(bytes.toString("latin1", 0, 40));
          starts[r] = m ? Number(m[1]) : r * h.recordDuration;
          if (r === 0) firstOnset = m ? Number(m[1]) : 0;
        }
      });
    }
    // onsets are seconds from the start date; the first record's time-keeping onset is the recording's start
    const t0 = firstOnset ?? 0;
    for (let r = 0; r < h.nRecords; r++) starts[r] = starts[r]! - t0;
    this.#recordStarts = starts;
    for (const e of events) {
      e.time -= t0;
      e.sample = Math.round(e.time * this.samplingRate);
    }
    events.sort((a, b) => a.time - b.time);
    return events;
  }

  /**
   * The sample of a channel at `time` seconds from the recording's start,
   * through the records' own start times (EDF+D: records with gaps).
   */
  sampleOf(channel: number, time: number): number {
    const spr = this.#layout[channel]!.spr;
    const rate = this.rateOf(channel);
    const starts = this.#recordStarts;
    if (!starts || !this.header.reserved.endsWith("+D")) return Math.round(time * rate);
    let lo = 0, hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= time) lo = mid;
      else hi = mid - 1;
    }
    return lo * spr + Math.round((time - starts[lo]!) * rate);
  }

  /** The sampling rate of one channel, Hz. */
  rateOf(channel: number): number {
    return this.channels[channel]!.samplingRate ?? this.samplingRate;
  }

  /** Samples of one channel. */
  samplesOf(channel: number): number {
    return this.#layout[channel]!.spr * this.header.nRecords;
  }

  /**
   * The events of a trigger channel as MNE's `find_events` finds them with
   * its defaults, on the channel as MNE reads it when `read_raw_edf` /
   * `read_raw_bdf` are told it is the stim channel: BDF digital values, EDF
   * physical values truncated to integers, both masked to their 17 lowest
   * bits (`& 0x1FFFF`); a channel at another rate than the other channels
   * is held (zero order) onto their sample grid instead, unmasked, as MNE
   * does. Event samples count at `rate`, the highest rate of the other data
   * channels (MNE's sampling rate of the file). One pass over the channel.
   * @example
   * ```ts
   * using rec = EdfRecording.open("S01.bdf");
   * const { events, rate } = rec.triggerEvents(rec.channels.findIndex((c) => c.label === "Status"));
   * events.filter((e) => e.value === 1).map((e) => e.sample / rate); // seconds
   * ```
   */
  triggerEvents(channel: number): TriggerEvents & { rate: number } {
    const h = this.header;
    const lay = this.#layout[channel]!;
    const sig = h.signals[lay.signal]!;
    const others = this.#layout.filter((_, c) => c !== channel);
    const grid = others.length > 0 ? Math.max(...others.map((l) => l.spr)) : lay.spr;
    const rate = h.recordDuration > 0 ? grid / h.recordDuration : 0;
    const bdf = h.format === "bdf";
    const cal = bdf ? 1 : (sig.physicalMax - sig.physicalMin) / (sig.digitalMax - sig.digitalMin);
    const off = bdf ? 0 : sig.physicalMin - sig.digitalMin * cal;
    const physical = (dig: number) => (bdf ? dig : dig * cal + off);
    const decoder = new TriggerDecoder();
    if (lay.spr === grid) {
      this.#eachRecord(lay, (dig) => decoder.push(dig.map((d) => Math.trunc(physical(d)) & 0x1ffff)));
      return { ...decoder.finish(), rate };
    }
    // scipy's zero-order interp1d onto numpy's linspace grids, record by record, as MNE resamples a stim channel
    const n = lay.spr;
    const source = new Int32Array(grid);
    for (let j = 0; j < grid; j++) {
      const x = j * (1 / grid);
      let i = Math.min(n - 1, Math.floor((j * n) / grid));
      while (i + 1 < n && (i + 1) * (1 / n) <= x) i++;
      while (i > 0 && i * (1 / n) > x) i--;
      source[j] = i;
    }
    const held = (dig: Int32Array) => Float64Array.from(source, (i) => Math.trunc(physical(dig[i]!)));
    // as MNE's find_events: negative values anywhere make the whole channel absolute
    let negative = false;
    this.#eachRecord(lay, (dig) => {
      if (held(dig).some((v) => v < 0)) negative = true;
    });
    this.#eachRecord(lay, (dig) => decoder.push(negative ? held(dig).map(Math.abs) : held(dig)));
    return { ...decoder.finish(), rate };
  }

  /**
   * Calls `fn` with one channel's digital values of each data record in
   * turn: the channel's bytes of each record where they are a small part of
   * it (a trigger channel among many), else groups of whole records at once.
   */
  #eachRecord(lay: { byteOffset: number; spr: number }, fn: (digital: Int32Array) => void): void {
    const h = this.header;
    const bps = h.bytesPerSample;
    const dig = new Int32Array(lay.spr);
    const slice = lay.spr * bps;
    if (slice * 8 < h.recordBytes) {
      for (let r = 0; r < h.nRecords; r++) {
        const buf = this.#src.read(h.headerBytes + r * h.recordBytes + lay.byteOffset, slice);
        for (let q = 0; q < lay.spr; q++) dig[q] = bps === 2 ? buf.readInt16LE(q * 2) : buf.readIntLE(q * 3, 3);
        fn(dig);
      }
      return;
    }
    const perRead = Math.max(1, Math.floor((4 << 20) / h.recordBytes));
    for (let r0 = 0; r0 < h.nRecords; r0 += perRead) {
      const count = Math.min(perRead, h.nRecords - r0);
      const buf = this.#src.read(h.headerBytes + r0 * h.recordBytes, count * h.recordBytes);
      for (let r = 0; r < count; r++) {
        const base = r * h.recordBytes + lay.byteOffset;
        for (let q = 0; q < lay.spr; q++) dig[q] = bps === 2 ? buf.readInt16LE(base + q * 2) : buf.readIntLE(base + q * 3, 3);
        fn(dig);
      }
    }
  }

  /**
   * Samples `start` to `start + length` of the given channels (which must
   * share one sampling rate; `start` counts at that rate), physical values.
   */
  readWindow(channels: readonly number[], start: number, length: number): Float64Array {
    if (channels.length === 0) return new Float64Array(0);
    const spr = this.#layout[channels[0]!]!.spr;
    if (channels.some((c) => this.#layout[c]!.spr !== spr)) throw new RangeError("channels of one window must share a sampling rate");
    const total = spr * this.header.nRecords;
    if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > total) {
      throw new RangeError(`window ${start}..${start + length} is outside the channel's ${total} samples`);
    }
    const h = this.header;
    const bps = h.bytesPerSample;
    const out = new Float64Array(length * channels.length);
    let i = 0;
    while (i < length) {
      const s = start + i;
      const r = Math.floor(s / spr);
      const j = s - r * spr;
      const n = Math.min(spr - j, length - i);
      channels.forEach((c, k) => {
        const lay = this.#layout[c]!;
        const ch = this.channels[c]!;
        const buf = this.#src.read(h.headerBytes + r * h.recordBytes + lay.byteOffset + j * bps, n * bps);
        for (let q = 0; q < n; q++) {
          const p = q * bps;
          const dig = bps === 2 ? buf.readInt16LE(p) : buf.readIntLE(p, 3);
          out[(i + q) * channels.length + k] = dig * ch.gain + ch.offset;
        }
      });
      i += n;
    }
    return out;
  }

  close(): void {
    this.#src.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
