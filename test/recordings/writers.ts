/**
 * Small writers of the recording formats for tests and the benchmark: XDF
 * (streaming, chunk by chunk), BrainVision, EDF/BDF(+), Localite
 * TriggerMarker XML and Brainsight text. Each writes what the format's
 * specification says, so the readers can be checked against known truth.
 */
import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";

/** Bytes of a variable-length XDF integer, with a chosen width (1, 4 or 8; 0: the smallest that fits). */
export function varLen(n: number, width: 0 | 1 | 4 | 8 = 0): Buffer {
  const w = width || (n < 256 ? 1 : n < 2 ** 32 ? 4 : 8);
  const b = Buffer.alloc(1 + w);
  b[0] = w;
  if (w === 1) b[1] = n;
  else if (w === 4) b.writeUInt32LE(n, 1);
  else b.writeBigUInt64LE(BigInt(n), 1);
  return b;
}

export type XdfFormat = "int8" | "int16" | "int32" | "int64" | "float32" | "double64" | "string";
const SIZE: Record<XdfFormat, number> = { int8: 1, int16: 2, int32: 4, int64: 8, float32: 4, double64: 8, string: 0 };

export interface XdfStreamSpec {
  name: string;
  type?: string;
  format: XdfFormat;
  channels: number | { label: string; unit?: string }[];
  srate: number;
  hostname?: string;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Writes an XDF file chunk by chunk (bounded memory). */
export class XdfWriter {
  readonly fd: number;
  readonly specs = new Map<number, XdfStreamSpec>();
  /** Width of chunk length fields (0: smallest). */
  lengthWidth: 0 | 1 | 4 | 8 = 0;
  constructor(path: string, fileHeader = "<?xml version=\"1.0\"?><info><version>1.0</version><datetime>2020-05-17T18:02:00+0200</datetime></info>") {
    this.fd = openSync(path, "w");
    writeSync(this.fd, Buffer.from("XDF:"));
    this.chunk(1, Buffer.from(fileHeader));
  }

  chunk(tag: number, content: Buffer, streamId?: number): void {
    const head = Buffer.alloc(streamId === undefined ? 2 : 6);
    head.writeUInt16LE(tag, 0);
    if (streamId !== undefined) head.writeUInt32LE(streamId, 2);
    writeSync(this.fd, Buffer.concat([varLen(head.length + content.length, this.lengthWidth), head, content]));
  }

  header(id: number, spec: XdfStreamSpec, extra = ""): void {
    this.specs.set(id, spec);
    const nch = typeof spec.channels === "number" ? spec.channels : spec.channels.length;
    const chans =
      typeof spec.channels === "number"
        ? ""
        : `<channels>${spec.channels.map((c) => `<channel><label>${xmlEscape(c.label)}</label>${c.unit ? `<unit>${c.unit}</unit>` : ""}<type>EMG</type></channel>`).join("")}</channels>`;
    const xml =
      `<?xml version="1.0"?><info><name>${xmlEscape(spec.name)}</name><type>${spec.type ?? "EMG"}</type><channel_count>${nch}</channel_count>` +
      `<nominal_srate>${spec.srate}</nominal_srate><channel_format>${spec.format}</channel_format><source_id>test</source_id>` +
      `<hostname>${spec.hostname ?? "testhost"}</hostname><created_at>0</created_at><uid>u${id}</uid><desc>${chans}</desc>${extra}</info>`;
    this.chunk(2, Buffer.from(xml), id);
  }

  /** One samples chunk; `stamps[k]` undefined deduces the time stamp. `values` row-major (numbers) or strings (one per sample per channel). */
  samples(id: number, stamps: (number | undefined)[], values: ArrayLike<number> | string[][], nbWidth: 0 | 1 | 4 | 8 = 0): void {
    const spec = this.specs.get(id)!;
    const nch = typeof spec.channels === "number" ? spec.channels : spec.channels.length;
    const parts: Buffer[] = [varLen(stamps.length, nbWidth)];
    const size = SIZE[spec.format];
    for (let k = 0; k < stamps.length; k++) {
      const t = stamps[k];
      if (t === undefined) parts.push(Buffer.from([0]));
      else {
        const b = Buffer.alloc(9);
        b[0] = 8;
        b.writeDoubleLE(t, 1);
        parts.push(b);
      }
      if (spec.format === "string") {
        for (const s of (values as string[][])[k]!) {
          const v = Buffer.from(s, "utf8");
          parts.push(varLen(v.length), v);
        }
      } else {
        const b = Buffer.alloc(nch * size);
        for (let c = 0; c < nch; c++) {
          const v = (values as ArrayLike<number>)[k * nch + c]!;
          const at = c * size;
          switch (spec.format) {
            case "int8": b.writeInt8(v, at); break;
            case "int16": b.writeInt16LE(v, at); break;
            case "int32": b.writeInt32LE(v, at); break;
            case "int64": b.writeBigInt64LE(BigInt(v), at); break;
            case "float32": b.writeFloatLE(v, at); break;
            case "double64": b.writeDoubleLE(v, at); break;
          }
        }
        parts.push(b);
      }
    }
    this.chunk(3, Buffer.concat(parts), id);
  }

  clockOffset(id: number, time: number, value: number): void {
    const b = Buffer.alloc(16);
    b.writeDoubleLE(time, 0);
    b.writeDoubleLE(value, 8);
    this.chunk(4, b, id);
  }

  boundary(): void {
    this.chunk(5, Buffer.from([0x43, 0xa5, 0x46, 0xdc, 0xcb, 0xf5, 0x41, 0x0f, 0xb3, 0x0e, 0xd5, 0x46, 0x73, 0x83, 0xcb, 0xe4]));
  }

  footer(id: number, first: number, last: number, count: number): void {
    this.chunk(6, Buffer.from(`<?xml version="1.0"?><info><first_timestamp>${first}</first_timestamp><last_timestamp>${last}</last_timestamp><sample_count>${count}</sample_count></info>`), id);
  }

  close(): void {
    closeSync(this.fd);
  }
}

export interface BvChannel {
  label: string;
  resolution?: number | "";
  unit?: string;
}

/** Writes a BrainVision recording (`base`.vhdr, .vmrk, .eeg); `data` is digital values, row-major samples x channels. */
export function writeBrainVision(
  base: string,
  opts: {
    channels: BvChannel[];
    rate: number;
    format?: "INT_16" | "INT_32" | "IEEE_FLOAT_32";
    orientation?: "MULTIPLEXED" | "VECTORIZED";
    data: ArrayLike<number>;
    markers?: { type: string; description: string; sample: number }[];
    version?: 1 | 2;
    encoding?: "utf-8" | "latin1";
    date?: string;
  },
): string {
  const fmt = opts.format ?? "INT_16";
  const orient = opts.orientation ?? "MULTIPLEXED";
  const nch = opts.channels.length;
  const n = opts.data.length / nch;
  const enc = opts.encoding ?? "utf-8";
  const name = base.split("/").pop()!;
  const head =
    (opts.version === 2 ? "BrainVision Data Exchange Header File Version 2.0" : "Brain Vision Data Exchange Header File Version 1.0") +
    "\r\n; written by the test writer\r\n\r\n[Common Infos]\r\n" +
    (enc === "utf-8" ? "Codepage=UTF-8\r\n" : "") +
    `DataFile=${name}.eeg\r\nMarkerFile=${name}.vmrk\r\nDataFormat=BINARY\r\nDataOrientation=${orient}\r\nNumberOfChannels=${nch}\r\n` +
    (opts.version === 2 ? `DataPoints=${n}\r\n` : "") +
    `SamplingInterval=${1e6 / opts.rate}\r\n\r\n[Binary Infos]\r\nBinaryFormat=${fmt}\r\n\r\n[Channel Infos]\r\n` +
    opts.channels.map((c, i) => `Ch${i + 1}=${c.label.replace(/,/g, "\\1")},,${c.resolution ?? 1}${c.unit === undefined ? "" : `,${c.unit}`}`).join("\r\n") +
    "\r\n\r\n[Comment]\r\nfree text = not a key\r\n";
  writeFileSync(`${base}.vhdr`, Buffer.from(head, enc));
  const mk =
    "Brain Vision Data Exchange Marker File, Version 1.0\r\n\r\n[Common Infos]\r\n" +
    (enc === "utf-8" ? "Codepage=UTF-8\r\n" : "") +
    `DataFile=${name}.eeg\r\n\r\n[Marker Infos]\r\nMk1=New Segment,,1,1,0,${opts.date ?? "20200517180200000000"}\r\n` +
    (opts.markers ?? []).map((m, i) => `Mk${i + 2}=${m.type},${m.description.replace(/,/g, "\\1")},${m.sample + 1},1,0`).join("\r\n") +
    "\r\n";
  writeFileSync(`${base}.vmrk`, Buffer.from(mk, enc));
  const size = fmt === "INT_16" ? 2 : 4;
  const buf = Buffer.alloc(n * nch * size);
  for (let s = 0; s < n; s++) {
    for (let c = 0; c < nch; c++) {
      const v = opts.data[s * nch + c]!;
      const at = (orient === "MULTIPLEXED" ? s * nch + c : c * n + s) * size;
      if (fmt === "INT_16") buf.writeInt16LE(v, at);
      else if (fmt === "INT_32") buf.writeInt32LE(v, at);
      else buf.writeFloatLE(v, at);
    }
  }
  writeFileSync(`${base}.eeg`, buf);
  return `${base}.vhdr`;
}

export interface EdfSignal {
  label: string;
  dim: string;
  pmin: number;
  pmax: number;
  dmin: number;
  dmax: number;
  spr: number;
}

/** Writes an EDF/EDF+ or BDF/BDF+ file; `data[signal]` digital values; `annotations` make it EDF+C/BDF+C. */
export function writeEdf(
  path: string,
  opts: { bdf?: boolean; signals: EdfSignal[]; data: ArrayLike<number>[]; records: number; duration: number; annotations?: { onset: number; duration?: number; text: string }[]; annotationBytes?: number; recordStarts?: number[] },
): void {
  const bdf = opts.bdf ?? false;
  const bps = bdf ? 3 : 2;
  const plus = opts.annotations !== undefined;
  const annBytes = opts.annotationBytes ?? 120;
  const sigs = [...opts.signals];
  if (plus) sigs.push({ label: bdf ? "BDF Annotations" : "EDF Annotations", dim: "", pmin: -1, pmax: 1, dmin: -32768, dmax: 32767, spr: Math.ceil(annBytes / bps) });
  const ns = sigs.length;
  const pad = (s: string | number, n: number) => String(s).padEnd(n, " ").slice(0, n);
  let h = "";
  h += bdf ? "\xffBIOSEMI" : pad("0", 8);
  h += pad(plus ? "X X X X" : "patient", 80) + pad(plus ? "Startdate 17-MAY-2020 X X X" : "recording", 80);
  h += "17.05.20" + "18.02.00" + pad(256 * (ns + 1), 8) + pad(plus ? `${bdf ? "BDF" : "EDF"}+${opts.recordStarts ? "D" : "C"}` : bdf ? "24BIT" : "", 44);
  h += pad(opts.records, 8) + pad(opts.duration, 8) + pad(ns, 4);
  const col = (f: (s: EdfSignal) => string | number, n: number) => sigs.map((s) => pad(f(s), n)).join("");
  h += col((s) => s.label, 16) + col(() => "", 80) + col((s) => s.dim, 8) + col((s) => s.pmin, 8) + col((s) => s.pmax, 8);
  h += col((s) => s.dmin, 8) + col((s) => s.dmax, 8) + col(() => "", 80) + col((s) => s.spr, 8) + col(() => "", 32);
  const parts: Buffer[] = [Buffer.from(h, "latin1")];
  for (let r = 0; r < opts.records; r++) {
    sigs.forEach((s, k) => {
      const b = Buffer.alloc(s.spr * bps);
      if (k < opts.signals.length) {
        for (let j = 0; j < s.spr; j++) {
          const v = opts.data[k]![r * s.spr + j]!;
          if (bdf) b.writeIntLE(v, j * 3, 3);
          else b.writeInt16LE(v, j * 2);
        }
      } else {
        const start = opts.recordStarts?.[r] ?? r * opts.duration;
        let tal = `+${start}\x14\x14\x00`;
        for (const a of opts.annotations ?? []) {
          if (a.onset >= start && a.onset < start + opts.duration) tal += `+${a.onset}${a.duration ? `\x15${a.duration}` : ""}\x14${a.text}\x14\x00`;
        }
        Buffer.from(tal, "utf8").copy(b);
      }
      parts.push(b);
    });
  }
  writeFileSync(path, Buffer.concat(parts));
}

export interface TriggerMarkerSpec {
  timeMs: number;
  xyz?: [number, number, number];
  mso: number;
  didt: number;
}

/** Writes a Localite TriggerMarker file (untracked pulses: no xyz, the identity matrix). */
export function writeTriggerMarkers(path: string, pulses: TriggerMarkerSpec[], space = "RAS"): void {
  const markers = pulses
    .map((p) => {
      const m = p.xyz ? [0.1, 0.9, 0.4, p.xyz[0], 0.9, -0.1, 0.2, p.xyz[1], 0.4, 0.2, -0.9, p.xyz[2], 0, 0, 0, 1] : [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
      const attrs = m.map((v, i) => `data${Math.floor(i / 4)}${i % 4}="${v}"`).join(" ");
      return (
        `    <TriggerMarker description="" recordingTime="${p.timeMs}" responseChannelAverage="" set="false">\n` +
        `        <ResponseValues>\n            <Value key="valueA" response="${p.didt}"/>\n            <Value key="valueB" response="0.0"/>\n` +
        `            <Value key="amplitudeA" response="${p.mso}"/>\n            <Value key="amplitudeB" response="0.0"/>\n        </ResponseValues>\n` +
        `        <Matrix4D ${attrs}/>\n    </TriggerMarker>\n`
      );
    })
    .reverse() // Localite lists the newest first
    .join("");
  writeFileSync(path, `<?xml version="1.0" encoding="UTF-8"?>\n<TriggerMarkerList coordinateSpace="${space}">\n${markers}</TriggerMarkerList>\n`);
}

/** Writes a Brainsight text export with samples at `time` seconds after 18:02:00. */
export function writeBrainsight(path: string, pulses: { time: number; xyz?: [number, number, number]; mso: number }[]): void {
  const cols = ["Sample Name", "Session Name", "Index", "Assoc. Target", "Loc. X", "Loc. Y", "Loc. Z", "m0n0", "m0n1", "m0n2", "m1n0", "m1n1", "m1n2", "m2n0", "m2n1", "m2n2", "Dist. to Target", "Stim. Power A", "Date", "Time", "Creation Cause"];
  const time = (s: number) => {
    const t = 18 * 3600 + 2 * 60 + s;
    const hh = Math.floor(t / 3600), mm = Math.floor((t % 3600) / 60), ss = t % 60;
    return `${String(hh).padStart(2, "0")}:${String(mm).padStart(2, "0")}:${ss.toFixed(3).padStart(6, "0")}`;
  };
  const rows = pulses.map((p, i) => {
    const loc = p.xyz ? p.xyz.map((v) => v.toFixed(4)) : ["(null)", "(null)", "(null)"];
    return [`Sample ${i + 1}`, "Session 1", String(i), "(null)", ...loc, "1", "0", "0", "0", "1", "0", "0", "0", "1", "0.0", String(p.mso), "2020-05-17", time(p.time), "TMS Pulse"].join("\t");
  });
  const text =
    "# Version: 12\n# Coordinate system: NIfTI:Aligned\n# Created by: Brainsight 2.4\n# Units: millimetres, degrees, milliseconds, and microvolts\n# Encoding: UTF-8\n" +
    "# Notes: Each column is delimited by a tab. Each value within a column is delimited by a semicolon.\n" +
    "# Target Name\tLoc. X\tLoc. Y\tLoc. Z\tm0n0\tm0n1\tm0n2\tm1n0\tm1n1\tm1n2\tm2n0\tm2n1\tm2n2\n" +
    "hotspot\t-37.0\t-21.0\t58.0\t1\t0\t0\t0\t1\t0\t0\t0\t1\n" +
    `# ${cols.join("\t")}\n${rows.join("\n")}\n`;
  writeFileSync(path, text);
}
