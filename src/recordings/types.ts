/**
 * What every recording reader hands to the import: a signal (channels at one
 * sampling rate, read in windows) and its events.
 * @module
 */

/** One channel of a signal. */
export interface ChannelInfo {
  label: string;
  /** The unit as the file states it ("µV", "mV", "uV", "microvolts", ...); "" when it states none. */
  unit: string;
  /** Physical value = stored value x gain + offset: microvolts when {@link microvolts}, else the channel's own unit. */
  gain: number;
  offset: number;
  /** The channel's physical values are voltages, converted to microvolts. */
  microvolts: boolean;
  /** The channel's own sampling rate where it differs between channels (EDF), Hz. */
  samplingRate?: number;
}

/** A marker, annotation or marker-stream sample. */
export interface RecordingEvent {
  /** What `--event` matches: a BrainVision marker's description, an EDF+ annotation's text, an XDF marker sample. */
  name: string;
  /** A BrainVision marker's type ("Stimulus"), the XDF stream's name. */
  type?: string;
  /** Seconds from the recording's first sample (XDF: on the synchronised LSL clock). */
  time: number;
  /** The 0-based sample of the signal (BrainVision, EDF at the highest rate); XDF: undefined (marker streams have their own clock). */
  sample?: number;
  /** Seconds (EDF+), or samples / rate (BrainVision). */
  duration?: number;
}

/** A signal: channels sampled together, read in windows. */
export interface Signal {
  /** The recording file. */
  readonly file: string;
  /** The stream's name (XDF), or the file's name. */
  readonly name: string;
  /** Hz. */
  readonly samplingRate: number;
  readonly nSamples: number;
  readonly channels: readonly ChannelInfo[];
  /**
   * Samples `start` to `start + length` (exclusive) of the given channels,
   * physical values (µV for voltage channels), row-major samples x channels.
   * Windows are read cheapest in increasing order of `start`.
   */
  readWindow(channels: readonly number[], start: number, length: number): Float64Array;
}

/** A small description of a value for messages. */
export function quote(s: string): string {
  return JSON.stringify(s);
}

const MICRO = new Set(["µv", "μv", "uv", "microvolt", "microvolts", "micro volts"]);
const MILLI = new Set(["mv", "millivolt", "millivolts"]);
const VOLT = new Set(["v", "volt", "volts"]);
const NANO = new Set(["nv", "nanovolt", "nanovolts"]);

/** Factor from a voltage unit to microvolts; undefined for any other unit. */
export function microvoltFactor(unit: string): number | undefined {
  const u = unit.trim().toLowerCase();
  if (MICRO.has(u)) return 1;
  if (MILLI.has(u)) return 1e3;
  if (VOLT.has(u)) return 1e6;
  if (NANO.has(u)) return 1e-3;
  return undefined;
}
