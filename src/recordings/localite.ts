/**
 * Localite TMS Navigator: the TriggerMarker XML file (one `<TriggerMarker>`
 * per pulse, with the coil's `Matrix4D`, its `recordingTime` in ms, and the
 * `ResponseValues` `amplitudeA` (% MSO) and `valueA` (di/dt, A/µs)), and the
 * messages of Localite's LSL marker stream in an XDF file (offspect's XDF
 * protocol: JSON objects carrying `coil_0_didt`, then the pulse's
 * `amplitude` and `x`, `y`, `z`).
 *
 * A pulse fired while the camera did not see the coil carries Localite's
 * placeholder matrix (the identity); its coordinates are NaN, and it stays a
 * pulse, so that counts and times still pair.
 * @module
 */
import { readFileSync, statSync } from "node:fs";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { type CoilPulse, type CoilPulses, NAN_XYZ } from "./coords.js";
import { FileNotFoundError } from "../base/errors.js";
import { CoordsError } from "./errors.js";
import { quote, type RecordingEvent } from "./types.js";

const MAX_XML = 256 * 1024 * 1024;

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "",
  parseAttributeValue: false,
  isArray: (name) => name === "TriggerMarker" || name === "Value",
});

function isPlaceholder(m: number[]): boolean {
  const id = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  return m.every((v, i) => v === id[i]);
}

function num(v: unknown): number {
  if (typeof v !== "string" || v.trim() === "" || v.trim().toLowerCase() === "nan") return NaN;
  const n = Number(v);
  return Number.isFinite(n) ? n : NaN;
}

/**
 * Reads a Localite TriggerMarker XML file (`TriggerMarkers_Coil0_*.xml`), the
 * pulses in the file's order (Localite writes the newest first; they are
 * sorted by `recordingTime`). LPS files are turned to RAS (x and y negated).
 * @example
 * ```ts
 * const { pulses } = readTriggerMarkers("TriggerMarkers_Coil0_20200517180200123.xml");
 * pulses[0]; // { time: 12.345, xyz: [37, 22.8, 54.2], mso: 54, didt: 36, tracked: true, matrix: [...] }
 * ```
 * @throws {CoordsError} not a TriggerMarker file (`EBADXML`), a marker without a matrix (`EBADMARKER`)
 */
export function readTriggerMarkers(path: string): CoilPulses {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new FileNotFoundError(path);
  }
  if (size > MAX_XML) throw new CoordsError("EBADXML", path, `is ${size} bytes, more than a TriggerMarker file can be`);
  const text = readFileSync(path, "utf8");
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new CoordsError("EBADXML", path, `is not well-formed XML (${valid.err.msg}): pass Localite's TriggerMarkers_Coil*.xml file`, { line: valid.err.line });
  }
  let doc: Record<string, unknown>;
  try {
    doc = xml.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new CoordsError("EBADXML", path, `is not well-formed XML (${(e as Error).message}): pass Localite's TriggerMarkers_Coil*.xml file`);
  }
  const list = doc["TriggerMarkerList"] as Record<string, unknown> | undefined;
  if (!list || typeof list !== "object") {
    const root = Object.keys(doc).filter((k) => k !== "?xml")[0];
    throw new CoordsError("EBADXML", path, `expected a <TriggerMarkerList>, got <${root ?? "nothing"}>: pass Localite's TriggerMarkers_Coil*.xml file (InstrumentMarker files hold targets, not pulses)`);
  }
  const space = String(list["coordinateSpace"] ?? "RAS").toUpperCase();
  if (space !== "RAS" && space !== "LPS") throw new CoordsError("EBADXML", path, `coordinateSpace ${quote(space)} is not supported: expected RAS or LPS`);
  const markers = (list["TriggerMarker"] as Record<string, unknown>[] | undefined) ?? [];
  const pulses: CoilPulse[] = markers.map((tm, i) => {
    const m4 = tm["Matrix4D"] as Record<string, unknown> | undefined;
    if (!m4 || typeof m4 !== "object") throw new CoordsError("EBADMARKER", path, `TriggerMarker ${i + 1} has no Matrix4D: the file is damaged`);
    const matrix: number[] = [];
    for (let r = 0; r < 4; r++) {
      for (let c = 0; c < 4; c++) {
        const v = Number(m4[`data${r}${c}`]);
        if (!Number.isFinite(v)) throw new CoordsError("EBADMARKER", path, `TriggerMarker ${i + 1}: expected a number for data${r}${c}, got ${quote(String(m4[`data${r}${c}`]))}`);
        matrix.push(v);
      }
    }
    const values = ((tm["ResponseValues"] as Record<string, unknown> | undefined)?.["Value"] as Record<string, unknown>[] | undefined) ?? [];
    const response = (key: string) => num(values.find((v) => v["key"] === key)?.["response"]);
    const tracked = !isPlaceholder(matrix);
    const sign = space === "LPS" ? -1 : 1;
    const xyz: [number, number, number] = tracked ? [sign * matrix[3]!, sign * matrix[7]!, matrix[11]!] : [...NAN_XYZ];
    const rt = num(tm["recordingTime"]);
    return { ...(Number.isFinite(rt) ? { time: rt / 1000 } : {}), xyz, mso: response("amplitudeA"), didt: response("valueA"), tracked, matrix };
  });
  if (pulses.every((p) => p.time !== undefined)) pulses.sort((a, b) => a.time! - b.time!);
  return { file: path, format: "localite", pulses };
}

/** The names of Localite's marker stream in offspect's XDF protocol. */
export const LOCALITE_STREAMS = ["localite_marker", "localite_flow"];

/** Localite's status messages that are not pulses. */
const MODE_MESSAGES = new Set(["Starte Hotspotsuche", "Starte Ruhemotorschwelle", "Starte freien Modus"]);

/** A pulse of Localite's marker stream: when it was triggered (LSL clock) and what Localite sent about it. */
export interface LocaliteStreamPulse extends CoilPulse {
  time: number;
}

function finite(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : NaN;
}

/**
 * The pulses of Localite's marker stream, as offspect's XDF readin finds
 * them: a message with `amplitude` other than 0 is a pulse; its time is that
 * of the last `coil_0_didt` message since the previous pulse (the trigger's
 * confirmation), else its own; its coordinates are the message's `x`, `y`,
 * `z` (NaN when null: the coil was not tracked), its intensities `amplitude`
 * (% MSO) and that `coil_0_didt` value (NaN when there was none).
 * @example
 * ```ts
 * const events = xdf.markerEvents(xdf.streams.find((s) => s.name === "localite_marker")!.id);
 * localiteStreamPulses(events); // [{ time: 91725.1, xyz: [37, 22.8, 54.2], mso: 54, didt: 36, tracked: true }, ...]
 * ```
 */
export function localiteStreamPulses(events: readonly RecordingEvent[], didtKey = "coil_0_didt"): LocaliteStreamPulse[] {
  const pulses: LocaliteStreamPulse[] = [];
  let triggerTime: number | undefined;
  let didt = NaN;
  for (const e of events) {
    if (MODE_MESSAGES.has(e.name)) continue;
    let msg: unknown;
    try {
      msg = JSON.parse(e.name);
    } catch {
      continue; // plain text messages carry no pulse
    }
    if (!msg || typeof msg !== "object" || Array.isArray(msg)) continue;
    const o = msg as Record<string, unknown>;
    if (didtKey in o) {
      triggerTime = e.time;
      didt = finite(o[didtKey]);
    }
    if ("amplitude" in o && o["amplitude"] !== 0) {
      const xyz: [number, number, number] = [finite(o["x"]), finite(o["y"]), finite(o["z"])];
      const tracked = xyz.every(Number.isFinite);
      pulses.push({ time: triggerTime ?? e.time, xyz: tracked ? xyz : [...NAN_XYZ], mso: finite(o["amplitude"]), didt, tracked });
      triggerTime = undefined;
      didt = NaN;
    }
  }
  return pulses;
}
