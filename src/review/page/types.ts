/** What the API sends (see src/review/: reviewfile.ts, traceview.ts, api.ts, overview.ts, mapview.ts). */
export type FlagName = "background" | "outlier" | "nocoords" | "uninspected";

export interface FileSummary {
  id: number;
  path: string;
  name: string;
  origins: string[];
  originCounts: number[];
  traces: number;
  status: { uninspected: number; rejected: number; annotated: number } | null;
  progress: number;
  version: number;
  globalComments: string[];
}

export interface Estimate {
  neg_peak_magnitude_uv: number;
  neg_peak_latency_ms: number;
  pos_peak_magnitude_uv: number;
  pos_peak_latency_ms: number;
  ptp_uv: number;
  zcr_latency_ms: number | null;
  onset_latency_ms: number | null;
  mep_present: boolean;
  prestim_rms_uv: number | null;
  background_active: boolean | null;
}

export interface Pixel {
  view: string;
  x: number;
  y: number;
}

export interface TraceView {
  file: number;
  index: number;
  count: number;
  origin: string;
  originIndex: number;
  originCount: number;
  originPosition: number;
  id: number;
  shape: [number, number];
  channels: string[];
  channelOfInterest: number;
  samplingrate: number | null;
  pulseSample: number | null;
  attrs: Record<string, unknown>;
  text: Record<string, string>;
  steps: string[];
  stepError: string | null;
  estimate: Estimate | null;
  estimateError: string | null;
  flags: FlagName[];
  flagsFinal: boolean;
  windows: { peak: [number, number]; baseline: [number, number] };
  globalComment: string;
  coords: [number, number, number] | null;
  samples: (number | null)[];
}

export interface Table {
  version: number;
  ready: boolean;
  progress?: number;
  origins: string[];
  originStart: number[];
  originCounts: number[];
  origin: number[];
  id: number[];
  reject: boolean[];
  inspected: boolean[];
  ptp: (number | null)[];
  negLat: (number | null)[];
  posLat: (number | null)[];
  onset: (number | null)[];
  rms: (number | null)[];
  coords: ([number, number, number] | null)[];
  flags: FlagName[][];
}

export interface Overview {
  origin: string;
  indices: number[];
  t0: number;
  dt: number;
  columns: number;
  values: (number | null)[][];
  reject: boolean[];
}

export interface MapMeta {
  version: number;
  width: number;
  height: number;
  /** The coil view's glass brain (its views where the map's are). */
  glassWidth: number;
  glassHeight: number;
  counts: { used: number; total: number; rejected: number; uninspected: number; dropped: number } | null;
  summary: string;
  empty: string | null;
  marks: { name: string; label: string; view: string; x: number; y: number }[];
}

export interface MapPoints {
  version: number;
  points: { index: number; pixels: Pixel[] }[];
}
