/**
 * Recording readers (XDF, BrainVision, EDF/BDF), neuronavigation exports
 * (Localite, Brainsight), pairing, and the import into CacheFiles.
 * @module
 */
export { BrainVisionRecording, parseHeader as parseBrainVisionHeader, parseMarkers as parseBrainVisionMarkers, type BrainVisionHeader, type BrainVisionMarkers } from "./brainvision.js";
export { readBrainsight } from "./brainsight.js";
export { NAN_XYZ, type CoilPulse, type CoilPulses } from "./coords.js";
export { EdfRecording, parseEdfHeader, type EdfHeader, type EdfSignalHeader } from "./edf.js";
export { BrainVisionError, CoordsError, EdfError, ImportError, RecordingError, XdfError } from "./errors.js";
export { importRecording, importRecordingSync, readCoords, type ImportOptions, type ImportProgress, type ImportResult, type Pulse } from "./import.js";
export { formatInspection, inspectRecording, inspectRecordingSync, type InspectedEvents, type InspectedSignal, type Inspection } from "./inspect.js";
export { LOCALITE_STREAMS, localiteStreamPulses, readTriggerMarkers, type LocaliteStreamPulse } from "./localite.js";
export { openRecording, RECORDING_SUFFIXES, type OpenedRecording } from "./open.js";
export { pairPulses, type PairMode, type PairOptions } from "./pairing.js";
export { microvoltFactor, type ChannelInfo, type RecordingEvent, type Signal } from "./types.js";
export { XDF_FORMATS, XdfFile, XdfSignal, type XdfChannel, type XdfChannelFormat, type XdfStream } from "./xdf.js";
export { clockSegments, closestSample, robustFit, type ClockOffset, type ClockSegment, type TimeSegment } from "./xdf-sync.js";
