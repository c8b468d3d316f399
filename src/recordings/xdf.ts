/**
 * XDF 1.0 (the Extensible Data Format of LabRecorder): chunks 1-6 (file
 * header, stream header, samples, clock offset, boundary, stream footer) with
 * their variable-length lengths, XML headers and footers, every channel
 * format (int8, int16, int32, int64, float32, double64, string), time stamps
 * stated or deduced. Read in passes, never whole: the first walks the chunks
 * (headers, footers, clock offsets, marker streams' samples, sample counts
 * and a seek point every 64 KiB of each numeric stream); the second walks
 * one stream's time stamps for pyxdf's synchronisation and dejittering
 * (running fits, {@link module:recordings/xdf-sync}); windows of samples are
 * then read from the nearest seek point.
 * @module
 */
import { basename } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { XdfError } from "./errors.js";
import { FileSource, SequentialReader } from "./io.js";
import { type ChannelInfo, microvoltFactor, quote, type RecordingEvent, type Signal } from "./types.js";
import { backwardSegment, type ClockOffset, type ClockRange, clockRanges, ClockSync, closestSample, corruptedLastOffset, Dejitter, effectiveRate, type TimeSegment, timeAt } from "./xdf-sync.js";

/** Bytes per value of each numeric channel format. */
export const XDF_FORMATS = { int8: 1, int16: 2, int32: 4, int64: 8, float32: 4, double64: 8, string: 0 } as const;
export type XdfChannelFormat = keyof typeof XDF_FORMATS;

/** XML chunks larger than this are refused (a header of a few thousand channels is well below). */
const MAX_XML = 64 * 1024 * 1024;
/** Samples chunks up to this size are walked in one loop over the buffer. */
const FAST_CHUNK = 4 * 1024 * 1024;
/** A seek point every this many bytes of a numeric stream. */
const CHECKPOINT_BYTES = 64 * 1024;
/** More clock offsets than this in one stream (LabRecorder measures one every 5 s) mark a damaged file. */
const MAX_CLOCK_OFFSETS = 200_000;
/** Marker streams keep at most this many samples in memory. */
const MAX_MARKERS = 1_000_000;

/** A channel of an XDF stream, from `desc/channels/channel`. */
export interface XdfChannel {
  label: string;
  unit: string;
  type: string;
}

/** One stream of an XDF file, as the first pass finds it. */
export interface XdfStream {
  id: number;
  name: string;
  type: string;
  channelCount: number;
  channelFormat: XdfChannelFormat;
  nominalSrate: number;
  hostname: string;
  sourceId: string;
  /** `desc/channels/channel` entries; empty when the header has none. */
  channels: XdfChannel[];
  /** The stream header's `<info>` as parsed XML (values are text). */
  header: Record<string, unknown>;
  footer?: Record<string, unknown>;
  /** The samples the file holds. */
  sampleCount: number;
  clockOffsets: ClockOffset[];
  /** Kept samples of marker streams (string streams, and numeric streams without a nominal rate): first channel's value and raw time stamp. */
  markers?: { values: string[]; times: number[]; truncated: boolean };
  /** `desc/synchronization/can_drop_samples` is true: pyxdf leaves such a stream's time stamps undejittered. */
  canDropSamples: boolean;
  /** How pyxdf's `load_xdf` synchronises the stream (set after the first pass). */
  sync: StreamSync;
  /** Seek points of numeric streams: file offset of a samples chunk and its first sample's index. */
  checkpoints: { offset: number; sample: number }[];
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => name === "channel" || name === "offset",
});

function parseXml(file: string, bytes: Buffer, offset: number, what: string): Record<string, unknown> {
  const text = bytes.toString("utf8");
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new XdfError("EBADHEADER", file, `the ${what} is not well-formed XML (${valid.err.msg}, XML line ${valid.err.line}): the file is damaged`, { offset });
  }
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new XdfError("EBADHEADER", file, `the ${what} is not well-formed XML (${(e as Error).message}): the file is damaged`, { offset });
  }
  const info = doc["info"];
  // an empty <info/> (pyxdf reads it as None) is an element without content
  if (info === "") return {};
  if (!info || typeof info !== "object") throw new XdfError("EBADHEADER", file, `the ${what} has no <info> element: the file is damaged`, { offset });
  return info as Record<string, unknown>;
}

function text(v: unknown): string {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : "";
}

function channelsOf(info: Record<string, unknown>): XdfChannel[] {
  const desc = info["desc"];
  if (!desc || typeof desc !== "object") return [];
  const chans = (desc as Record<string, unknown>)["channels"];
  if (!chans || typeof chans !== "object") return [];
  const list = (chans as Record<string, unknown>)["channel"];
  if (!Array.isArray(list)) return [];
  return list.map((c) => {
    const o = (c && typeof c === "object" ? c : {}) as Record<string, unknown>;
    return { label: text(o["label"]), unit: text(o["unit"]), type: text(o["type"]) };
  });
}

/** How a stream is synchronised, as pyxdf's `load_xdf` does by default. */
export interface StreamSync {
  /** The samples used: all, or the footer's `sample_count` where pyxdf truncates (the pylsl#67 bug). */
  samples: number;
  /** The clock offsets used (the last one left out where pyxdf truncates). */
  offsets: ClockOffset[];
  /** The clock ranges between resets and their fits. */
  ranges: ClockRange[];
  /** What pyxdf warns about (a truncation, a range that cannot be fitted), for the user. */
  warnings: string[];
}

function canDropSamples(info: Record<string, unknown>): boolean {
  const desc = info["desc"];
  const sync = desc && typeof desc === "object" ? (desc as Record<string, unknown>)["synchronization"] : undefined;
  const v = sync && typeof sync === "object" ? (sync as Record<string, unknown>)["can_drop_samples"] : undefined;
  return text(v).toLowerCase() === "true";
}

/** pyxdf's `_truncate_corrupted_offsets` and `_clock_sync` ranges for one stream. */
function streamSync(s: XdfStream): StreamSync {
  const warnings: string[] = [];
  let samples = s.sampleCount;
  let offsets = s.clockOffsets;
  const footerText = text(s.footer?.["sample_count"]);
  const footerCount = footerText === "" ? NaN : Math.trunc(Number(footerText));
  if (Number.isFinite(footerCount) && s.sampleCount > footerCount && corruptedLastOffset(offsets)) {
    offsets = offsets.slice(0, -1);
    samples = Math.max(0, footerCount);
    warnings.push(
      `stream ${s.id} (${s.name}): its last clock offset is anomalous and it holds ${s.sampleCount} samples where its footer counts ${footerCount}: the extra sample(s) and that offset are left out, as pyxdf does (the pylsl#67 bug)`,
    );
  }
  const ranges = samples > 0 ? clockRanges(offsets) : [];
  for (const r of ranges) {
    if (!r.usable) warnings.push(`stream ${s.id} (${s.name}): clock offsets ${r.firstOffset}-${r.lastOffset} cannot be fitted (all measured at one time): those samples are left unsynchronised, as pyxdf does`);
  }
  return { samples, offsets, ranges, warnings };
}

/** An open XDF file after its first pass. */
export class XdfFile implements Disposable {
  readonly file: string;
  readonly name: string;
  /** The file header's `<info>`, parsed. */
  readonly fileHeader: Record<string, unknown>;
  readonly streams: XdfStream[];
  readonly #src: FileSource;
  readonly #byId = new Map<number, XdfStream>();
  readonly #signals = new Map<number, XdfSignal>();

  private constructor(src: FileSource) {
    this.#src = src;
    this.file = src.path;
    this.name = basename(src.path);
    this.streams = [];
    this.fileHeader = this.#firstPass();
  }

  /**
   * Opens an XDF file and walks its chunks once.
   * @example
   * ```ts
   * using xdf = XdfFile.open("run1.xdf");
   * xdf.streams.map((s) => `${s.name}: ${s.channelCount} x ${s.channelFormat} @ ${s.nominalSrate} Hz, ${s.sampleCount} samples`);
   * const emg = xdf.signal(xdf.streamWithChannel("EDC_L").id);
   * emg.readWindow([emg.channels.findIndex((c) => c.label === "EDC_L")], 5000, 1000);
   * ```
   * @throws {XdfError} not XDF (`ENOTXDF`), a length field of another size (`EBADLENGTH`), a chunk past the end (`ETRUNCATED`), a malformed chunk (`EBADCHUNK`) or header (`EBADHEADER`)
   */
  static open(path: string): XdfFile {
    const src = FileSource.open(path, (why) => new XdfError("ENOTFILE", path, `is ${why}: pass an .xdf file`));
    try {
      return new XdfFile(src);
    } catch (e) {
      src.close();
      throw e;
    }
  }

  /** The stream with this id. */
  stream(id: number): XdfStream {
    const s = this.#byId.get(id);
    if (!s) throw new XdfError("ENOSTREAM", this.file, `there is no stream ${id}: the streams are ${this.streams.map((x) => `${x.id} (${x.name})`).join(", ")}`);
    return s;
  }

  #firstPass(): Record<string, unknown> {
    const file = this.file;
    const r = new SequentialReader(this.#src, 0);
    if (!r.ensure(4) || r.bytes(4).toString("latin1") !== "XDF:") {
      throw new XdfError("ENOTXDF", file, 'the file does not begin with "XDF:": this is not an XDF file');
    }
    let fileHeader: Record<string, unknown> | undefined;
    const size = this.#src.size;
    const lastCheckpoint = new Map<number, number>();
    while (r.pos < size) {
      const chunkStart = r.pos;
      const { length, tag, contentStart } = readChunkHead(r, file, size);
      const end = contentStart + length;
      switch (tag) {
        case 1: {
          if (length - 2 > MAX_XML) throw new XdfError("EBADLENGTH", file, `the file header chunk declares ${length} bytes: too large for an XML header`, { offset: chunkStart });
          r.ensure(length - 2);
          fileHeader = parseXml(file, r.bytes(length - 2), r.pos - (length - 2), "file header");
          break;
        }
        case 2: {
          const id = streamId(r, file, length, chunkStart);
          if (length - 6 > MAX_XML) throw new XdfError("EBADLENGTH", file, `the stream header chunk of stream ${id} declares ${length} bytes: too large for an XML header`, { offset: chunkStart });
          r.ensure(length - 6);
          const info = parseXml(file, r.bytes(length - 6), contentStart + 6, `header of stream ${id}`);
          if (this.#byId.has(id)) throw new XdfError("EBADCHUNK", file, `stream ${id} has a second stream header: the file is damaged`, { offset: chunkStart });
          const stream = this.#streamFromHeader(id, info, chunkStart);
          this.#byId.set(id, stream);
          this.streams.push(stream);
          break;
        }
        case 3: {
          const id = streamId(r, file, length, chunkStart);
          const s = this.#byId.get(id);
          if (!s) throw new XdfError("EBADCHUNK", file, `a samples chunk of stream ${id} comes before that stream's header: the file is damaged`, { offset: chunkStart });
          if (!r.ensure(1)) throw truncated(file, chunkStart);
          const n = readVarLen(r, file, end, "the number of samples");
          if (s.channelFormat !== "string") {
            const prev = lastCheckpoint.get(id);
            if (prev === undefined || chunkStart - prev >= CHECKPOINT_BYTES) {
              s.checkpoints.push({ offset: chunkStart, sample: s.sampleCount });
              lastCheckpoint.set(id, chunkStart);
            }
          }
          if (s.markers) {
            readMarkerSamples(r, file, s, n, end, chunkStart);
            if (r.pos !== end) {
              throw new XdfError("EBADCHUNK", file, `a samples chunk of stream ${id} holds ${end - r.pos} bytes after its ${n} samples: the chunk's length or sample count is wrong`, { offset: chunkStart });
            }
          } else {
            const valueBytes = s.channelCount * XDF_FORMATS[s.channelFormat];
            const left = end - r.pos;
            if (n * (1 + valueBytes) > left || n * (9 + valueBytes) < left) {
              throw new XdfError(
                "EBADCHUNK",
                file,
                `a samples chunk of stream ${id} declares ${n} samples of ${s.channelCount} x ${s.channelFormat}, which cannot fill its ${left} bytes: the chunk's length or sample count is wrong`,
                { offset: chunkStart },
              );
            }
          }
          s.sampleCount += n;
          break;
        }
        case 4: {
          const id = streamId(r, file, length, chunkStart);
          const s = this.#byId.get(id);
          if (!s) throw new XdfError("EBADCHUNK", file, `a clock offset of stream ${id} comes before that stream's header: the file is damaged`, { offset: chunkStart });
          if (length !== 22) throw new XdfError("EBADLENGTH", file, `a clock offset chunk declares ${length} bytes: expected 22 (tag, stream id, two doubles)`, { offset: chunkStart });
          r.ensure(16);
          const time = r.f64();
          const value = r.f64();
          if (s.clockOffsets.length >= MAX_CLOCK_OFFSETS) {
            throw new XdfError("EBADCHUNK", file, `stream ${id} has more than ${MAX_CLOCK_OFFSETS} clock offsets (one every 5 s would be 11 days): the file is damaged`, { offset: chunkStart });
          }
          s.clockOffsets.push({ time, value });
          break;
        }
        case 6: {
          const id = streamId(r, file, length, chunkStart);
          const s = this.#byId.get(id);
          if (!s) throw new XdfError("EBADCHUNK", file, `the footer of stream ${id} comes before that stream's header: the file is damaged`, { offset: chunkStart });
          if (length - 6 > MAX_XML) throw new XdfError("EBADLENGTH", file, `the footer of stream ${id} declares ${length} bytes: too large for an XML footer`, { offset: chunkStart });
          r.ensure(length - 6);
          s.footer = parseXml(file, r.bytes(length - 6), contentStart + 6, `footer of stream ${id}`);
          break;
        }
        default:
          // 5 (boundary) and chunk types of later versions: skipped, as the specification asks
          break;
      }
      if (r.pos > end) throw new XdfError("EBADCHUNK", file, `a chunk with tag ${tag} holds more than its declared ${length} bytes: the chunk's length is wrong`, { offset: chunkStart });
      r.seek(end);
    }
    for (const s of this.streams) s.sync = streamSync(s);
    return fileHeader ?? {};
  }

  #streamFromHeader(id: number, info: Record<string, unknown>, offset: number): XdfStream {
    const file = this.file;
    const nch = Number(text(info["channel_count"]));
    if (!Number.isInteger(nch) || nch < 1 || nch > 1_000_000) {
      throw new XdfError("EBADHEADER", file, `stream ${id}: expected a positive integer for channel_count, got ${quote(text(info["channel_count"]))}`, { offset });
    }
    const fmt = text(info["channel_format"]);
    if (!(fmt in XDF_FORMATS)) {
      throw new XdfError("EBADHEADER", file, `stream ${id}: expected channel_format int8, int16, int32, int64, float32, double64 or string, got ${quote(fmt)}`, { offset });
    }
    const srateText = text(info["nominal_srate"]);
    const srate = srateText === "" ? 0 : Number(srateText);
    if (!Number.isFinite(srate) || srate < 0) {
      throw new XdfError("EBADHEADER", file, `stream ${id}: expected a non-negative number for nominal_srate, got ${quote(srateText)}`, { offset });
    }
    const channelFormat = fmt as XdfChannelFormat;
    const stream: XdfStream = {
      id,
      name: text(info["name"]),
      type: text(info["type"]),
      channelCount: nch,
      channelFormat,
      nominalSrate: srate,
      hostname: text(info["hostname"]),
      sourceId: text(info["source_id"]),
      channels: channelsOf(info),
      header: info,
      sampleCount: 0,
      clockOffsets: [],
      checkpoints: [],
      canDropSamples: canDropSamples(info),
      sync: { samples: 0, offsets: [], ranges: [], warnings: [] },
    };
    if (channelFormat === "string" || srate === 0) stream.markers = { values: [], times: [], truncated: false };
    return stream;
  }

  /**
   * The regular numeric stream that has a channel `label`, as
   * {@link channelLabels} lists it (so an unlabelled channel goes by its
   * 0-based index, as `cachefile inspect` shows it); an error naming the
   * option that resolves an ambiguity, or listing what there is.
   * @throws {XdfError} `EAMBIGUOUS` (in several streams: name one with --stream), `ENOCHANNEL`
   */
  streamWithChannel(label: string): XdfStream {
    const regular = this.streams.filter((s) => !s.markers);
    const found = regular.filter((s) => channelLabels(s).includes(label));
    if (found.length === 1) return found[0]!;
    if (found.length > 1) {
      throw new XdfError(
        "EAMBIGUOUS",
        this.file,
        `channel ${quote(label)} is in ${found.length} streams (${found.map((s) => `${s.id} ${quote(s.name)}`).join(", ")}): name the stream with --stream (e.g. --stream ${found[0]!.id})`,
      );
    }
    const listing = regular.map((s) => `stream ${s.id} ${quote(s.name)}: ${channelLabels(s).slice(0, 20).join(", ")}${s.channelCount > 20 ? ", ..." : ""}`).join("; ");
    throw new XdfError("ENOCHANNEL", this.file, `no stream has a channel ${quote(label)}; ${listing || "there is no regular data stream"}: pick one with --channel (and --stream where several streams have it)`);
  }

  /**
   * The kept samples of a marker stream as events, with pyxdf's time stamps
   * (synchronised; dejittered too where the stream has a nominal rate, as
   * pyxdf does for any stream with one).
   * @throws {XdfError} `ENOTMARKERS` the stream is a regular numeric stream; `ETIMEORDER` its dejittered time runs backwards
   */
  markerEvents(id: number): RecordingEvent[] {
    const s = this.stream(id);
    if (!s.markers) throw new XdfError("ENOTMARKERS", this.file, `stream ${id} (${s.name}) is a regular ${s.channelFormat} stream, not a marker stream`);
    const m = s.markers;
    const n = Math.min(m.times.length, s.sync.samples);
    const sync = new ClockSync(s.sync.offsets, s.sync.ranges);
    const synced = m.times.slice(0, n).map((t) => sync.apply(t));
    let times = synced;
    if (s.nominalSrate > 0 && !s.canDropSamples && n > 0) {
      const dj = new Dejitter(s.nominalSrate);
      synced.forEach((t, i) => dj.push(i, t));
      const segments = dj.finish();
      const bad = backwardSegment(segments);
      if (bad) throw backwards(this.file, s, bad);
      times = synced.map((_, i) => timeAt(segments, i));
    }
    return times.map((time, i) => ({ name: m.values[i]!, type: s.name, time }));
  }

  /**
   * A regular numeric stream as a signal, after its second pass (time stamps).
   * @throws {XdfError} `ENOTREGULAR` the stream has no nominal rate or holds strings
   */
  signal(id: number): XdfSignal {
    const cached = this.#signals.get(id);
    if (cached) return cached;
    const s = this.stream(id);
    if (s.channelFormat === "string" || s.nominalSrate <= 0) {
      throw new XdfError("ENOTREGULAR", this.file, `stream ${id} (${s.name}) is ${s.channelFormat === "string" ? "a string stream" : "irregularly sampled (nominal_srate 0)"}: traces are cut from a regularly sampled numeric stream`);
    }
    if (s.sync.samples === 0) throw new XdfError("EEMPTY", this.file, `stream ${id} (${s.name}) holds no samples`);
    const sig = new XdfSignal(this, this.#src, s);
    this.#signals.set(id, sig);
    return sig;
  }

  /** The recording date from the file header's `<datetime>`, as "YYYY-MM-DD HH:MM:SS"; undefined when the header states none (never guessed). */
  get recordingDate(): string | undefined {
    const dt = text(this.fileHeader["datetime"]);
    const m = /^([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2}:[0-9]{2})/.exec(dt);
    return m ? `${m[1]} ${m[2]}` : undefined;
  }

  close(): void {
    this.#src.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The channel labels of a stream as `cachefile inspect` lists them and
 * `--channel` takes them: each channel's `<label>`, or its 0-based index
 * where it has none.
 * @example
 * ```ts
 * using xdf = XdfFile.open("minimal.xdf");
 * channelLabels(xdf.streams[0]); // ["0", "1", "2"]
 * ```
 */
export function channelLabels(s: XdfStream): string[] {
  return Array.from({ length: s.channelCount }, (_, c) => s.channels[c]?.label || `${c}`);
}

function backwards(file: string, s: XdfStream, seg: TimeSegment): XdfError {
  return new XdfError(
    "ETIMEORDER",
    file,
    `stream ${s.id} (${s.name}): pyxdf's synchronisation and dejittering make time run backwards over samples ${seg.first} to ${seg.last} (${seg.slope.toPrecision(4)} s per sample), so pyxdf's times for this stream are unusable: its clock or clock offsets are damaged; import another stream (--stream)`,
  );
}

function truncated(file: string, at: number): XdfError {
  return new XdfError("ETRUNCATED", file, "the file ends inside a chunk: the recording was cut off or the copy is incomplete", { offset: at });
}

/** Reads a variable-length integer (1, 4 or 8 bytes after a byte naming the size), not past `end`. */
function readVarLen(r: SequentialReader, file: string, end: number, what: string): number {
  const at = r.pos;
  if (at + 1 > end || !r.ensure(1)) throw truncated(file, at);
  const nb = r.u8();
  if (nb !== 1 && nb !== 4 && nb !== 8) {
    throw new XdfError("EBADLENGTH", file, `${what} has a length field of ${nb} bytes: XDF allows 1, 4 or 8; the file is damaged`, { offset: at });
  }
  if (r.pos + nb > end || !r.ensure(nb)) throw truncated(file, at);
  return nb === 1 ? r.u8() : nb === 4 ? r.u32() : r.u64();
}

function readChunkHead(r: SequentialReader, file: string, size: number): { length: number; tag: number; contentStart: number } {
  const at = r.pos;
  const length = readVarLen(r, file, size, "a chunk");
  if (length < 2) throw new XdfError("EBADLENGTH", file, `a chunk declares ${length} bytes: a chunk holds at least its 2-byte tag`, { offset: at });
  const contentStart = r.pos;
  if (contentStart + length > size) {
    throw new XdfError(
      "ETRUNCATED",
      file,
      `a chunk declares ${length} bytes but the file ends ${size - contentStart} bytes later: the recording was cut off or the chunk's length is wrong`,
      { offset: at },
    );
  }
  r.ensure(2);
  return { length, tag: r.u16(), contentStart };
}

function streamId(r: SequentialReader, file: string, length: number, at: number): number {
  if (length < 6) throw new XdfError("EBADLENGTH", file, `a chunk of a stream declares ${length} bytes: it needs at least 6 (tag and stream id)`, { offset: at });
  r.ensure(4);
  return r.u32();
}

function readMarkerSamples(r: SequentialReader, file: string, s: XdfStream, n: number, end: number, at: number): void {
  const m = s.markers!;
  const size = XDF_FORMATS[s.channelFormat];
  const tdiff = s.nominalSrate > 0 ? 1 / s.nominalSrate : 0;
  let last = m.times.length > 0 ? m.times[m.times.length - 1]! : 0;
  for (let k = 0; k < n; k++) {
    const sampleAt = r.pos;
    if (r.pos + 1 > end || !r.ensure(1)) throw new XdfError("EBADCHUNK", file, `stream ${s.id}: a samples chunk ends after ${k} of its ${n} samples: the chunk's length or sample count is wrong`, { offset: at });
    const flag = r.u8();
    let t: number;
    if (flag === 8) {
      if (r.pos + 8 > end || !r.ensure(8)) throw new XdfError("EBADCHUNK", file, `stream ${s.id}: a time stamp runs past the end of its samples chunk`, { offset: sampleAt });
      t = r.f64();
    } else if (flag === 0) t = last + tdiff;
    else throw new XdfError("EBADCHUNK", file, `stream ${s.id}: a sample's time stamp field has ${flag} bytes: XDF allows 0 or 8`, { offset: sampleAt });
    last = t;
    let first = "";
    for (let c = 0; c < s.channelCount; c++) {
      let v: string;
      if (s.channelFormat === "string") {
        const len = readVarLen(r, file, end, `stream ${s.id}: a string value`);
        if (r.pos + len > end) throw new XdfError("EBADCHUNK", file, `stream ${s.id}: a string value of ${len} bytes runs past the end of its samples chunk`, { offset: r.pos });
        r.ensure(Math.min(len, end - r.pos));
        v = r.bytes(len).toString("utf8");
      } else {
        if (r.pos + size > end || !r.ensure(size)) throw new XdfError("EBADCHUNK", file, `stream ${s.id}: a value runs past the end of its samples chunk`, { offset: r.pos });
        v = String(readNumber(r.view, r.index, s.channelFormat));
        r.pos += size;
      }
      if (c === 0) first = v;
    }
    if (m.values.length < MAX_MARKERS) {
      m.values.push(first);
      m.times.push(t);
    } else m.truncated = true;
  }
}

function readNumber(view: DataView, at: number, fmt: XdfChannelFormat): number {
  switch (fmt) {
    case "int8":
      return view.getInt8(at);
    case "int16":
      return view.getInt16(at, true);
    case "int32":
      return view.getInt32(at, true);
    case "int64":
      return Number(view.getBigInt64(at, true));
    case "float32":
      return view.getFloat32(at, true);
    case "double64":
      return view.getFloat64(at, true);
    case "string":
      return NaN;
  }
}

/**
 * A regular numeric stream of an XDF file: time stamps as pyxdf's
 * `load_xdf` gives them (the second pass, run when it is made: synchronised,
 * then dejittered, or for a stream that can drop samples kept per sample),
 * windows read from the nearest seek point.
 */
export class XdfSignal implements Signal {
  readonly file: string;
  readonly name: string;
  readonly stream: XdfStream;
  readonly samplingRate: number;
  /** The samples used (pyxdf's: the footer's count where it truncates a pylsl#67 sample). */
  readonly nSamples: number;
  readonly channels: readonly ChannelInfo[];
  /** The dejittered time stamps, as lines per stretch without a break (pyxdf's `segments`); one undejittered segment for a stream that can drop samples. */
  readonly segments: readonly { first: number; last: number }[];
  /** The sample ranges of each clock range (pyxdf's `clock_segments`). */
  readonly clockSegments: readonly [number, number][];
  /** pyxdf's effective sampling rate; undefined where time runs backwards ({@link timeProblem}). */
  readonly effectiveRate: number | undefined;
  /** Why no time can be given to the samples (time runs backwards after synchronisation and dejittering); times and {@link sampleAt} throw it. */
  readonly timeProblem: XdfError | undefined;
  /** What pyxdf warns about for this stream (a truncation, a fit that failed, an effective rate 10% off the nominal). */
  readonly warnings: readonly string[];
  readonly #lines: readonly TimeSegment[];
  /** The time stamps of a stream that can drop samples (pyxdf leaves them undejittered). */
  readonly #times: Float64Array | undefined;
  readonly #xdf: XdfFile;
  readonly #src: FileSource;
  #reader: SequentialReader | undefined;
  /** Where the reader stands: at a chunk boundary whose next data sample is `#nextSample`. */
  #nextSample = -1;

  constructor(xdf: XdfFile, src: FileSource, stream: XdfStream) {
    this.#xdf = xdf;
    this.#src = src;
    this.file = xdf.file;
    this.name = stream.name;
    this.stream = stream;
    this.samplingRate = stream.nominalSrate;
    this.nSamples = stream.sync.samples;
    const labels = channelLabels(stream);
    this.channels = labels.map((label, c) => {
      const unit = stream.channels[c]?.unit ?? "";
      const factor = microvoltFactor(unit);
      // a channel without a stated unit is taken as µV, as offspect does
      return { label, unit, gain: factor ?? 1, offset: 0, microvolts: factor !== undefined || unit === "" };
    });
    const warnings = [...stream.sync.warnings];
    const sync = new ClockSync(stream.sync.offsets, stream.sync.ranges);
    const times = stream.canDropSamples ? new Float64Array(this.nSamples) : undefined;
    const dj = new Dejitter(stream.nominalSrate);
    this.#secondPass(sync, times ? (i, t) => (times[i] = t) : (i, t) => dj.push(i, t));
    this.clockSegments = sync.segments;
    this.#times = times;
    let problem: XdfError | undefined;
    if (times) {
      this.#lines = [];
      this.segments = [{ first: 0, last: this.nSamples - 1 }];
      const duration = times[times.length - 1]! - times[0]!;
      if (times.length > 1 && !(duration > 0)) {
        problem = backwards(this.file, stream, { first: 0, last: times.length - 1, intercept: times[0]!, slope: duration / (times.length - 1) });
      }
      this.effectiveRate = problem ? undefined : times.length > 1 ? (times.length - 1) / duration : 0;
    } else {
      const lines = dj.finish();
      this.#lines = lines;
      this.segments = lines.map((l) => ({ first: l.first, last: l.last }));
      const bad = backwardSegment(lines);
      if (bad) problem = backwards(this.file, stream, bad);
      this.effectiveRate = problem ? undefined : effectiveRate(lines);
    }
    this.timeProblem = problem;
    const eff = this.effectiveRate;
    if (eff !== undefined && Math.abs(this.samplingRate - eff) / this.samplingRate > 0.1) {
      warnings.push(`stream ${stream.id} (${stream.name}): its effective sampling rate ${eff.toFixed(4)} Hz differs from its nominal ${this.samplingRate} Hz by more than 10%`);
    }
    this.warnings = warnings;
  }

  /** Reads every time stamp of the stream in file order, synchronises it and hands it on. */
  #secondPass(sync: ClockSync, feed: (index: number, t: number) => void): void {
    const s = this.stream;
    const file = this.file;
    const nUsed = this.nSamples;
    const tdiff = 1 / s.nominalSrate;
    const valueBytes = s.channelCount * XDF_FORMATS[s.channelFormat];
    const r = new SequentialReader(this.#src, s.checkpoints[0]!.offset);
    const size = this.#src.size;
    let index = 0;
    let last = 0;
    while (r.pos < size && index < nUsed) {
      const chunkStart = r.pos;
      const { length, tag, contentStart } = readChunkHead(r, file, size);
      const end = contentStart + length;
      if (tag === 3) {
        r.ensure(4);
        const id = r.u32();
        if (id === s.id) {
          const n = readVarLen(r, file, end, "the number of samples");
          const body = end - r.pos;
          if (body <= FAST_CHUNK && r.ensure(body)) {
            // the whole chunk is in the buffer: one tight loop over it
            const buf = r.buffer;
            const view = r.view;
            let p = r.index;
            const stop = p + body;
            for (let k = 0; k < n; k++) {
              const flag = p < stop ? buf[p]! : -1;
              let t: number;
              if (flag === 8 && p + 9 + valueBytes <= stop) {
                t = view.getFloat64(p + 1, true);
                p += 9 + valueBytes;
              } else if (flag === 0 && p + 1 + valueBytes <= stop) {
                t = last + tdiff;
                p += 1 + valueBytes;
              } else {
                throw new XdfError(
                  "EBADCHUNK",
                  file,
                  flag === 8 || flag === 0 || flag === -1
                    ? `stream ${s.id}: a samples chunk ends after ${k} of its ${n} samples: the chunk's length or sample count is wrong`
                    : `stream ${s.id}: a sample's time stamp field has ${flag} bytes: XDF allows 0 or 8`,
                  { offset: r.pos + (p - r.index) },
                );
              }
              last = t;
              if (index < nUsed) feed(index, sync.apply(t));
              index++;
            }
            r.pos += p - r.index;
          } else {
            for (let k = 0; k < n; k++) {
              if (r.pos + 1 + valueBytes > end || !r.ensure(9 + valueBytes > end - r.pos ? end - r.pos : 9 + valueBytes)) {
                throw new XdfError("EBADCHUNK", file, `stream ${s.id}: a samples chunk ends after ${k} of its ${n} samples: the chunk's length or sample count is wrong`, { offset: chunkStart });
              }
              const flag = r.u8();
              let t: number;
              if (flag === 8) {
                if (r.pos + 8 + valueBytes > end) throw new XdfError("EBADCHUNK", file, `stream ${s.id}: a sample runs past the end of its samples chunk`, { offset: r.pos - 1 });
                t = r.f64();
              } else if (flag === 0) t = last + tdiff;
              else throw new XdfError("EBADCHUNK", file, `stream ${s.id}: a sample's time stamp field has ${flag} bytes: XDF allows 0 or 8`, { offset: r.pos - 1 });
              last = t;
              r.pos += valueBytes;
              if (index < nUsed) feed(index, sync.apply(t));
              index++;
            }
          }
          if (r.pos !== end) throw new XdfError("EBADCHUNK", file, `stream ${s.id}: a samples chunk holds ${end - r.pos} bytes after its ${n} samples: the chunk's length or sample count is wrong`, { offset: chunkStart });
        }
      }
      r.seek(end);
    }
  }

  /**
   * The stream's time of a sample as pyxdf gives it, seconds on the LSL clock.
   * @throws {XdfError} `ETIMEORDER` ({@link timeProblem})
   */
  timeOf(sample: number): number {
    if (this.timeProblem) throw this.timeProblem;
    return this.#times ? this.#times[sample]! : timeAt(this.#lines, sample);
  }

  /**
   * The sample closest in time to `t` (numpy's argmin over pyxdf's time
   * stamps, as offspect's find_closest_samples) and how far it is, seconds.
   * @throws {XdfError} `ETIMEORDER` ({@link timeProblem})
   */
  sampleAt(t: number): { index: number; delta: number } {
    if (this.timeProblem) throw this.timeProblem;
    const times = this.#times;
    if (!times) return closestSample(this.#lines, t);
    let index = -1, delta = Infinity;
    for (let i = 0; i < times.length; i++) {
      const d = Math.abs(times[i]! - t);
      if (d < delta) {
        delta = d;
        index = i;
      }
    }
    return { index, delta };
  }

  readWindow(channels: readonly number[], start: number, length: number): Float64Array {
    const s = this.stream;
    if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > this.nSamples) {
      throw new RangeError(`window ${start}..${start + length} is outside the stream's ${this.nSamples} samples`);
    }
    const out = new Float64Array(length * channels.length);
    if (length === 0) return out;
    const file = this.file;
    const size = this.#src.size;
    const fmt = s.channelFormat;
    const vsize = XDF_FORMATS[fmt];
    const valueBytes = s.channelCount * vsize;
    // the last seek point at or before the window, unless the reader already stands between it and the window
    let lo = 0, hi = s.checkpoints.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s.checkpoints[mid]!.sample <= start) lo = mid;
      else hi = mid - 1;
    }
    const cp = s.checkpoints[lo]!;
    if (!this.#reader) this.#reader = new SequentialReader(this.#src, cp.offset, 256 * 1024);
    const r = this.#reader;
    let index: number;
    if (this.#nextSample >= cp.sample && this.#nextSample <= start) index = this.#nextSample;
    else {
      r.seek(cp.offset);
      index = cp.sample;
    }
    const stop = start + length;
    const chs = channels.map((c) => this.channels[c]!);
    while (index < stop && r.pos < size) {
      const chunkStart = r.pos;
      const { length: clen, tag, contentStart } = readChunkHead(r, file, size);
      const end = contentStart + clen;
      if (tag === 3) {
        r.ensure(4);
        const id = r.u32();
        if (id === s.id) {
          const n = readVarLen(r, file, end, "the number of samples");
          const chunkFirst = index;
          if (index + n > start) {
            for (let k = 0; k < n && index < stop; k++, index++) {
              const need = Math.min(9 + valueBytes, end - r.pos);
              if (need < 1 + valueBytes || !r.ensure(need)) {
                throw new XdfError("EBADCHUNK", file, `stream ${s.id}: a samples chunk ends after ${k} of its ${n} samples`, { offset: chunkStart });
              }
              const flag = r.u8();
              if (flag === 8) r.pos += 8;
              else if (flag !== 0) throw new XdfError("EBADCHUNK", file, `stream ${s.id}: a sample's time stamp field has ${flag} bytes: XDF allows 0 or 8`, { offset: r.pos - 1 });
              if (index >= start) {
                const row = (index - start) * channels.length;
                const base = r.index;
                const view = r.view;
                for (let q = 0; q < channels.length; q++) {
                  out[row + q] = readNumber(view, base + channels[q]! * vsize, fmt) * chs[q]!.gain + chs[q]!.offset;
                }
              }
              r.pos += valueBytes;
            }
            if (index < stop) {
              r.seek(end);
              continue;
            }
            // the window ends inside this chunk: the next window may start in it again
            r.seek(chunkStart);
            this.#nextSample = chunkFirst;
            return out;
          }
          index += n;
        }
      }
      r.seek(end);
    }
    this.#nextSample = index;
    if (index < stop) throw new XdfError("ETRUNCATED", file, `stream ${s.id} ends before sample ${stop}`, {});
    return out;
  }

  /** The XDF file this signal belongs to. */
  get xdf(): XdfFile {
    return this.#xdf;
  }
}
