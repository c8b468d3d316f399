/**
 * `offspect-cachefile/recordings`: recordings into CacheFiles. Readers of
 * XDF (time stamps as pyxdf's `load_xdf`), BrainVision and EDF/BDF (samples
 * as MNE reads them), pulses from markers, trigger channels (as MNE's
 * `find_events`), events files or the TMS artifact, neuronavigation exports
 * (Localite, Brainsight) and their pairing with pulses, the import itself
 * and what a recording holds (`inspectRecording`).
 * @module
 */
export { BrainVisionRecording } from "./brainvision.js";
export { readBrainsight } from "./brainsight.js";
export { NAN_XYZ, type CoilPulse, type CoilPulses } from "./coords.js";
export { EdfRecording } from "./edf.js";
export { BrainVisionError, CoordsError, EdfError, ImportError, RecordingError, XdfError } from "./errors.js";
export { ARTIFACT_DEFAULTS, detectArtifacts, type ArtifactDetection, type ArtifactOptions, type ArtifactThreshold } from "./artifact.js";
export { readEventsFile, type EventsFile, type FileEvent } from "./eventsfile.js";
export { importRecording, importRecordingSync, readCoords, type ImportOptions, type ImportProgress, type ImportResult, type LeftOut, type Pulse, type PulseOptions } from "./import.js";
export { formatInspection, inspectRecording, inspectRecordingSync, type InspectedEvents, type InspectedSignal, type Inspection, type InspectOptions } from "./inspect.js";
export { LOCALITE_STREAMS, localiteStreamPulses, readTriggerMarkers, type LocaliteStreamPulse } from "./localite.js";
export { openRecording, RECORDING_SUFFIXES, type OpenedRecording } from "./open.js";
export { pairPulses, type PairMode, type PairOptions } from "./pairing.js";
export { TRIGGER_NAMES, type TriggerEvent, type TriggerEvents } from "./triggers.js";
export type { ChannelInfo, RecordingEvent, Signal } from "./types.js";
export { XdfFile, XdfSignal, type XdfChannel, type XdfChannelFormat, type XdfStream } from "./xdf.js";
export { SYNC_DEFAULTS, type SyncOptions } from "./xdf-sync.js";
