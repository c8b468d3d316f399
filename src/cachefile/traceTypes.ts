/**
 * The typed view of a trace: its attributes as JavaScript values, typed per
 * readout, and the partial updates a user writes.
 * @module
 */
import type { TraceData } from "./types.js";

/** Attributes every trace carries (FORMAT.md's generic trace keys), and the origin's copied onto it. */
export interface GenericTraceAttrs {
  id: number;
  event_name: string;
  event_sample: number;
  event_time: number;
  onset_shift: number;
  /** Seconds since the previous pulse; Infinity for the first, null when unknown. */
  time_since_last_pulse_in_s: number | null;
  reject: boolean;
  comment: string;
  examiner: string;
  /** The preprocessing steps applied ("linenoise on 2020-05-17 18:02:00", ...), when any. */
  _log?: string[];
  // The origin's attributes, copied onto each trace by offspect's populate.
  channel_labels: string[];
  channel_of_interest: string;
  samples_post_event: number;
  samples_pre_event: number;
  samplingrate: number;
  subject: string;
  readin: string;
  readout: string;
  version: string;
  global_comment: string;
  filedate: string;
  history?: string;
  /** Keys no readout declares: read as offspect's parse_traceattrs reads them. */
  [key: string]: unknown;
}

/** MNI coordinates in millimetres, [x, y, z] ([NaN, NaN, NaN] where offspect stored unreadable ones). */
export type Coordinates = [number, number, number];

/** The keys of the MEP readouts (cmep, and imep and pdmep, which add to them). */
export interface MepTraceAttrs extends GenericTraceAttrs {
  stimulation_intensity_mso: number | null;
  stimulation_intensity_didt: number | null;
  neg_peak_magnitude_uv: number | null;
  neg_peak_latency_ms: number | null;
  pos_peak_magnitude_uv: number | null;
  pos_peak_latency_ms: number | null;
  zcr_latency_ms: number | null;
  xyz_coords: Coordinates | null;
}

/** A contralateral MEP (readout `cmep`). */
export interface CmepTraceAttrs extends MepTraceAttrs {
  readout: "cmep";
}

/** An ipsilateral MEP (readout `imep`): the cmep keys and the ipsilateral response. */
export interface ImepTraceAttrs extends MepTraceAttrs {
  readout: "imep";
  imep_occurence: boolean | null;
  imep_latency: number | null;
  imep_magnitude: number | null;
  estimation_method: string;
  target_phase: number | null;
  exact_phase: number | null;
}

/** A phase-dependent MEP (readout `pdmep`). */
export interface PdmepTraceAttrs extends MepTraceAttrs {
  readout: "pdmep";
  measured_phase: number | null;
  target_phase: number | null;
}

/** An evoked potential (readout `erp`). */
export interface ErpTraceAttrs extends GenericTraceAttrs {
  readout: "erp";
  stimulation_intensity_mso: number | null;
  stimulation_intensity_didt: number | null;
  xyz_coords: Coordinates | null;
  gmfp_neg_peaks_magnitude_uv: number[] | null;
  gmfp_neg_peaks_latency_ms: number[] | null;
  gmfp_pos_peaks_magnitude_uv: number[] | null;
  gmfp_pos_peaks_latency_ms: number[] | null;
  gmfp_zcr_latencies_ms: number[] | null;
}

/** A trace's attributes, by readout (narrow with `attrs.readout === "cmep"`). */
export type TraceAttrs = CmepTraceAttrs | ImepTraceAttrs | PdmepTraceAttrs | ErpTraceAttrs;

/** One trace: where it is, its data, and its attributes as values. */
export interface Trace<A extends GenericTraceAttrs = TraceAttrs> {
  /** Its index in the file (offspect's `cache_file_index`). */
  readonly index: number;
  /** The origin (source recording) it was cut from. */
  readonly origin: string;
  /** Its id within the origin. */
  readonly id: number;
  /** Samples x channels, float64, row-major. */
  readonly data: Float64Array;
  readonly shape: TraceData["shape"];
  /** Its attributes as values (see {@link decodeTraceAttrs}). */
  readonly attrs: A;
  /** Its attributes as stored (text), as offspect's `get_trace_attrs` returns them. */
  readonly text: Readonly<Record<string, string>>;
}

/** Writable trace keys of every readout, as values. */
export interface GenericTraceUpdate {
  event_name?: string;
  event_sample?: number;
  event_time?: number;
  onset_shift?: number;
  time_since_last_pulse_in_s?: number | null;
  reject?: boolean;
  comment?: string;
  examiner?: string;
  _log?: string[];
}

/** Writable keys of the MEP readouts (cmep, imep, pdmep). */
export interface MepTraceUpdate extends GenericTraceUpdate {
  stimulation_intensity_mso?: number | null;
  stimulation_intensity_didt?: number | null;
  neg_peak_magnitude_uv?: number | null;
  neg_peak_latency_ms?: number | null;
  pos_peak_magnitude_uv?: number | null;
  pos_peak_latency_ms?: number | null;
  zcr_latency_ms?: number | null;
  xyz_coords?: Coordinates | null;
  imep_occurence?: boolean | null;
  imep_latency?: number | null;
  imep_magnitude?: number | null;
  estimation_method?: string;
  target_phase?: number | null;
  exact_phase?: number | null;
  measured_phase?: number | null;
}

/** Writable keys of the erp readout. */
export interface ErpTraceUpdate extends GenericTraceUpdate {
  stimulation_intensity_mso?: number | null;
  stimulation_intensity_didt?: number | null;
  xyz_coords?: Coordinates | null;
  gmfp_neg_peaks_magnitude_uv?: number[] | null;
  gmfp_neg_peaks_latency_ms?: number[] | null;
  gmfp_pos_peaks_magnitude_uv?: number[] | null;
  gmfp_pos_peaks_latency_ms?: number[] | null;
  gmfp_zcr_latencies_ms?: number[] | null;
}

/**
 * A partial update of a trace: only the keys given are written (each must
 * be a trace key of the trace's readout; values are checked as
 * setTraceAttrs checks them, then stored as offspect's `encode` stores them).
 */
export type TraceUpdate = MepTraceUpdate & ErpTraceUpdate;
