/**
 * BrainVision Core Data Format 1.0: the header (`.vhdr`), the markers
 * (`.vmrk`) and the binary data (`.eeg`): INT_16, INT_32 and IEEE_FLOAT_32,
 * multiplexed or vectorized, each channel's resolution and unit, in the old
 * ("Brain Vision ... Version 1.0") and the new ("BrainVision ... Version
 * 2.0") layout, UTF-8 or latin-1 (Codepage=ANSI or none). Data are read by
 * seeking to the windows asked for; only the two text files are read whole.
 * @module
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { FileNotFoundError } from "../base/errors.js";
import { BrainVisionError } from "./errors.js";
import { FileSource } from "./io.js";
import { type ChannelInfo, microvoltFactor, quote, type RecordingEvent, type Signal } from "./types.js";

const FORMATS = { INT_16: 2, INT_32: 4, IEEE_FLOAT_32: 4 } as const;
type BinaryFormat = keyof typeof FORMATS;

/** Header text files larger than this are not BrainVision headers. */
const MAX_TEXT = 16 * 1024 * 1024;

/** One `[Section]` of key=value lines, with each key's line number. */
type Sections = Map<string, Map<string, { value: string; line: number }>>;

/** Decodes a header or marker file: UTF-8 when it says `Codepage=UTF-8`, else latin-1 (Windows' ANSI). */
export function decodeText(bytes: Buffer): { text: string; encoding: "utf-8" | "latin1" } {
  const probe = bytes.toString("latin1");
  const cp = /^\s*Codepage\s*=\s*([^\r\n;]*)/im.exec(probe);
  let b = bytes;
  const utf8 = (cp && cp[1]!.trim().toUpperCase() === "UTF-8") || (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf);
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) b = b.subarray(3);
  return utf8 ? { text: b.toString("utf8"), encoding: "utf-8" } : { text: b.toString("latin1"), encoding: "latin1" };
}

function readText(path: string, what: string, reason: string): { text: string; encoding: "utf-8" | "latin1" } {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new BrainVisionError("ENOTFILE", path, `the ${what} is not a regular file: pass the .vhdr file of a BrainVision recording`);
    size = st.size;
  } catch (e) {
    if (e instanceof BrainVisionError) throw e;
    if (reason === "ENOENT") throw new FileNotFoundError(path);
    throw new BrainVisionError(reason, path, `the ${what} does not exist: keep the .vhdr, .vmrk and .eeg files of a recording together`);
  }
  if (size > MAX_TEXT) throw new BrainVisionError("EBADHEADER", path, `the ${what} is ${size} bytes, more than a BrainVision text file can be: pass the .vhdr file`);
  return decodeText(readFileSync(path));
}

/** Parses the `[Section]` / `key=value` structure, stopping at `[Comment]` (free text). */
function parseSections(text: string): Sections {
  const sections: Sections = new Map();
  let current: Map<string, { value: string; line: number }> | undefined;
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith(";")) continue;
    const sec = /^\[(.*)\]$/.exec(line);
    if (sec) {
      const name = sec[1]!.trim();
      if (name.toLowerCase() === "comment") break;
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0 || !current) continue;
    current.set(line.slice(0, eq).trim(), { value: line.slice(eq + 1), line: i + 1 });
  }
  return sections;
}

/** The header of a BrainVision recording. */
export interface BrainVisionHeader {
  version: 1 | 2;
  encoding: "utf-8" | "latin1";
  dataFile: string;
  markerFile?: string;
  orientation: "MULTIPLEXED" | "VECTORIZED";
  binaryFormat: BinaryFormat;
  samplingRate: number;
  /** Sampling interval, µs. */
  samplingInterval: number;
  /** The number of samples the header declares (DataPoints, version 2 headers), if it does. */
  dataPoints?: number;
  channels: ChannelInfo[];
  /** Each channel's reference as the header states it. */
  references: string[];
}

function need(sections: Sections, file: string, section: string, key: string): { value: string; line: number } {
  const v = sections.get(section)?.get(key);
  if (!v || v.value.trim() === "") {
    throw new BrainVisionError("EBADHEADER", file, `the header has no ${key} in [${section}]: this is not a complete BrainVision header`);
  }
  return v;
}

/**
 * Parses a `.vhdr` file.
 * @throws {BrainVisionError} `EBADHEADER` (not a BrainVision header, a missing or malformed entry), `EUNSUPPORTED` (ASCII data, another binary format)
 */
export function parseHeader(path: string): BrainVisionHeader {
  const { text, encoding } = readText(path, "header file", "ENOENT");
  const first = text.split(/\r\n|\r|\n/, 1)[0]!.trim();
  const m = /^Brain ?Vision Data Exchange Header File,? Version ([12])\.0$/i.exec(first);
  if (!m) {
    throw new BrainVisionError(
      "EBADHEADER",
      path,
      `expected "Brain Vision Data Exchange Header File Version 1.0" (or "BrainVision ... Version 2.0") on the first line, got ${quote(first.slice(0, 80))}: pass the .vhdr file of a BrainVision recording`,
      { line: 1 },
    );
  }
  const version = m[1] === "2" ? 2 : 1;
  const s = parseSections(text);
  const common = "Common Infos";
  const dataFormat = need(s, path, common, "DataFormat").value.trim().toUpperCase();
  if (dataFormat !== "BINARY") {
    throw new BrainVisionError("EUNSUPPORTED", path, `DataFormat=${dataFormat} is not supported: export the recording with DataFormat=BINARY`, { line: need(s, path, common, "DataFormat").line });
  }
  const orientEntry = need(s, path, common, "DataOrientation");
  const orientation = orientEntry.value.trim().toUpperCase();
  if (orientation !== "MULTIPLEXED" && orientation !== "VECTORIZED") {
    throw new BrainVisionError("EBADHEADER", path, `expected DataOrientation MULTIPLEXED or VECTORIZED, got ${quote(orientation)}`, { line: orientEntry.line });
  }
  const nEntry = need(s, path, common, "NumberOfChannels");
  const nch = Number(nEntry.value.trim());
  if (!Number.isInteger(nch) || nch < 1 || nch > 65535) {
    throw new BrainVisionError("EBADHEADER", path, `expected a positive integer for NumberOfChannels, got ${quote(nEntry.value.trim())}`, { line: nEntry.line });
  }
  const siEntry = need(s, path, common, "SamplingInterval");
  const si = Number(siEntry.value.trim());
  if (!Number.isFinite(si) || si <= 0) {
    throw new BrainVisionError("EBADHEADER", path, `expected a positive number of microseconds for SamplingInterval, got ${quote(siEntry.value.trim())}`, { line: siEntry.line });
  }
  const fmtEntry = need(s, path, "Binary Infos", "BinaryFormat");
  const fmt = fmtEntry.value.trim().toUpperCase();
  if (!(fmt in FORMATS)) {
    throw new BrainVisionError("EUNSUPPORTED", path, `BinaryFormat=${fmt} is not supported: expected INT_16, INT_32 or IEEE_FLOAT_32`, { line: fmtEntry.line });
  }
  const channels: ChannelInfo[] = [];
  const references: string[] = [];
  const infos = s.get("Channel Infos");
  for (let c = 1; c <= nch; c++) {
    const entry = infos?.get(`Ch${c}`);
    if (!entry) throw new BrainVisionError("EBADHEADER", path, `[Channel Infos] has no Ch${c} but NumberOfChannels=${nch}: the header is incomplete`);
    const props = entry.value.split(",");
    const label = (props[0] ?? "").trim().replace(/\\1/g, ",");
    if (label === "") throw new BrainVisionError("EBADHEADER", path, `Ch${c} has no name`, { line: entry.line });
    const resText = (props[2] ?? "").trim();
    const resolution = resText === "" ? 1 : Number(resText);
    if (!Number.isFinite(resolution)) {
      throw new BrainVisionError("EBADHEADER", path, `expected a number for the resolution of Ch${c} (${label}), got ${quote(resText)}`, { line: entry.line });
    }
    const unit = (props[3] ?? "").trim() || "µV";
    const factor = microvoltFactor(unit);
    channels.push({ label, unit, gain: resolution * (factor ?? 1), offset: 0, microvolts: factor !== undefined });
    references.push((props[1] ?? "").trim());
  }
  const dpEntry = s.get(common)?.get("DataPoints");
  const dataPoints = dpEntry ? Number(dpEntry.value.trim()) : undefined;
  if (dataPoints !== undefined && (!Number.isInteger(dataPoints) || dataPoints < 0)) {
    throw new BrainVisionError("EBADHEADER", path, `expected a whole number for DataPoints, got ${quote(dpEntry!.value.trim())}`, { line: dpEntry!.line });
  }
  const dataFile = need(s, path, common, "DataFile").value.trim();
  const markerFile = s.get(common)?.get("MarkerFile")?.value.trim();
  return {
    version,
    encoding,
    dataFile,
    ...(markerFile ? { markerFile } : {}),
    orientation,
    binaryFormat: fmt as BinaryFormat,
    samplingRate: 1e6 / si,
    samplingInterval: si,
    ...(dataPoints !== undefined ? { dataPoints } : {}),
    channels,
    references,
  };
}

/** The markers of a `.vmrk` file and the recording's start (the first "New Segment" marker's date). */
export interface BrainVisionMarkers {
  events: RecordingEvent[];
  /** "YYYY-MM-DD HH:MM:SS.ffffff", when the file states it. */
  startDate?: string;
}

/**
 * Parses a `.vmrk` file. Positions are 1-based in the file and 0-based in the events.
 * @throws {BrainVisionError} `EBADMARKER` (not a marker file, a malformed entry)
 */
export function parseMarkers(path: string, samplingRate: number): BrainVisionMarkers {
  const { text } = readText(path, "marker file", "ENOENT");
  const first = text.split(/\r\n|\r|\n/, 1)[0]!.trim();
  if (!/^Brain ?Vision Data Exchange Marker File,? Version [12]\.0$/i.test(first)) {
    throw new BrainVisionError("EBADMARKER", path, `expected "Brain Vision Data Exchange Marker File, Version 1.0" on the first line, got ${quote(first.slice(0, 80))}`, { line: 1 });
  }
  const infos = parseSections(text).get("Marker Infos");
  const events: RecordingEvent[] = [];
  let startDate: string | undefined;
  const entries = [...(infos?.entries() ?? [])].filter(([k]) => /^Mk[0-9]+$/i.test(k));
  entries.sort((a, b) => Number(a[0].slice(2)) - Number(b[0].slice(2)));
  for (const [key, { value, line }] of entries) {
    const f = value.split(",");
    const pos = Number((f[2] ?? "").trim());
    const size = (f[3] ?? "").trim() === "" ? 1 : Number(f[3]!.trim());
    if (!Number.isInteger(pos) || pos < 0 || !Number.isFinite(size)) {
      throw new BrainVisionError("EBADMARKER", path, `${key}: expected <type>,<description>,<position>,<size>,<channel> with whole numbers, got ${quote(value)}`, { line });
    }
    const type = (f[0] ?? "").trim().replace(/\\1/g, ",");
    const name = (f[1] ?? "").replace(/\\1/g, ",");
    const sample = Math.max(0, pos - 1);
    events.push({ name, type, sample, time: sample / samplingRate, duration: size / samplingRate });
    const date = (f[5] ?? "").trim();
    if (startDate === undefined && type === "New Segment" && /^[0-9]{20}$/.test(date) && date !== "00000000000000000000") {
      startDate = `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)} ${date.slice(8, 10)}:${date.slice(10, 12)}:${date.slice(12, 14)}.${date.slice(14)}`;
    }
  }
  return { events, ...(startDate ? { startDate } : {}) };
}

/** An open BrainVision recording. */
export class BrainVisionRecording implements Signal, Disposable {
  readonly file: string;
  readonly name: string;
  readonly header: BrainVisionHeader;
  readonly samplingRate: number;
  readonly nSamples: number;
  readonly channels: readonly ChannelInfo[];
  /** The markers within the data. */
  readonly events: RecordingEvent[];
  /** Markers of the marker file past the end of the data: left out of {@link events}, as MNE does (which warns "Omitted N annotation(s) that were outside data range"). */
  readonly omitted: readonly RecordingEvent[];
  /** "YYYY-MM-DD HH:MM:SS.ffffff" from the first New Segment marker; undefined when the marker file states none. */
  readonly startDate?: string;
  /** What the reader had to make of a data file cut short (read as MNE reads it: the whole samples it holds). */
  readonly warnings: readonly string[];
  readonly dataPath: string;
  readonly markerPath?: string;
  readonly #src: FileSource;
  readonly #bps: number;

  private constructor(file: string, header: BrainVisionHeader, dataPath: string, src: FileSource, markers: BrainVisionMarkers, markerPath?: string) {
    this.file = file;
    this.name = basename(file);
    this.header = header;
    this.samplingRate = header.samplingRate;
    this.channels = header.channels;
    this.dataPath = dataPath;
    this.#src = src;
    this.#bps = FORMATS[header.binaryFormat];
    const frame = this.#bps * header.channels.length;
    this.nSamples = Math.floor(src.size / frame);
    // as MNE, markers past the end of the data are left out (and listed)
    this.events = markers.events.filter((e) => e.sample! < this.nSamples);
    this.omitted = markers.events.filter((e) => e.sample! >= this.nSamples);
    if (markers.startDate !== undefined) this.startDate = markers.startDate;
    if (markerPath !== undefined) this.markerPath = markerPath;
    const warnings: string[] = [];
    const partial = src.size % frame;
    const n = this.nSamples;
    if (header.dataPoints !== undefined && header.dataPoints > n) {
      warnings.push(`the header declares ${header.dataPoints} samples (DataPoints) but the data file holds ${n}: the data file was cut short; the ${n} samples it holds are read, as MNE does`);
    } else if (partial > 0) {
      warnings.push(`the data file ends ${partial} bytes into sample ${n} (a sample of ${header.channels.length} channels is ${frame} bytes): it was cut short; the ${n} whole samples are read, as MNE does`);
    }
    if (this.omitted.length > 0) {
      warnings.push(
        `${this.omitted.length} marker(s) of the marker file lie beyond the data's last sample ${n - 1}${warnings.length === 0 ? " (the data file may have been cut short)" : ""}: left out, as MNE does (first: ${quote(this.omitted[0]!.name)} at sample ${this.omitted[0]!.sample})`,
      );
    }
    this.warnings = warnings;
  }

  /**
   * Opens a recording by its `.vhdr` file.
   * @example
   * ```ts
   * using rec = BrainVisionRecording.open("S01.vhdr");
   * rec.channels.map((c) => c.label); rec.events.filter((e) => e.name === "S  1").length;
   * const uv = rec.readWindow([0], 1200, 200); // 200 samples of the first channel, µV
   * ```
   * @throws {BrainVisionError} a malformed header or marker file, a missing data file (one cut short is read as MNE reads it, and {@link warnings} says so)
   */
  static open(path: string): BrainVisionRecording {
    const header = parseHeader(path);
    const dir = dirname(path);
    let dataPath = join(dir, header.dataFile);
    if (!existsSync(dataPath)) {
      // files renamed after recording: the data file named like the header
      const alt = join(dir, basename(path).replace(/\.vhdr$/i, ".eeg"));
      if (alt !== dataPath && existsSync(alt)) dataPath = alt;
      else throw new BrainVisionError("EMISSINGFILE", path, `the data file ${quote(header.dataFile)} named by DataFile= does not exist in ${dir}: keep the .eeg file beside the .vhdr`);
    }
    let markers: BrainVisionMarkers = { events: [] };
    let markerPath: string | undefined;
    if (header.markerFile !== undefined) {
      markerPath = join(dir, header.markerFile);
      if (!existsSync(markerPath)) {
        const alt = join(dir, basename(path).replace(/\.vhdr$/i, ".vmrk"));
        if (alt !== markerPath && existsSync(alt)) markerPath = alt;
        else throw new BrainVisionError("EMISSINGFILE", path, `the marker file ${quote(header.markerFile)} named by MarkerFile= does not exist in ${dir}: keep the .vmrk file beside the .vhdr`);
      }
      markers = parseMarkers(markerPath, header.samplingRate);
    }
    const src = FileSource.open(dataPath, (why) => new BrainVisionError("ENOTFILE", dataPath, `the data file is ${why}`));
    try {
      return new BrainVisionRecording(path, header, dataPath, src, markers, markerPath);
    } catch (e) {
      src.close();
      throw e;
    }
  }

  readWindow(channels: readonly number[], start: number, length: number): Float64Array {
    if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > this.nSamples) {
      throw new RangeError(`window ${start}..${start + length} is outside the recording's ${this.nSamples} samples`);
    }
    const nch = this.channels.length;
    const out = new Float64Array(length * channels.length);
    const bps = this.#bps;
    const fmt = this.header.binaryFormat;
    const get = (view: DataView, at: number) =>
      fmt === "INT_16" ? view.getInt16(at, true) : fmt === "INT_32" ? view.getInt32(at, true) : view.getFloat32(at, true);
    if (this.header.orientation === "MULTIPLEXED") {
      const buf = this.#src.read(start * nch * bps, length * nch * bps);
      const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      channels.forEach((c, k) => {
        const ch = this.channels[c]!;
        for (let i = 0; i < length; i++) out[i * channels.length + k] = get(view, (i * nch + c) * bps) * ch.gain + ch.offset;
      });
    } else {
      channels.forEach((c, k) => {
        const ch = this.channels[c]!;
        const buf = this.#src.read((c * this.nSamples + start) * bps, length * bps);
        const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
        for (let i = 0; i < length; i++) out[i * channels.length + k] = get(view, i * bps) * ch.gain + ch.offset;
      });
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
