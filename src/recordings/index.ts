/**
 * Recording readers (XDF, BrainVision, EDF/BDF), trigger channels, events
 * files and the TMS artifact as sources of pulses, neuronavigation exports
 * (Localite, Brainsight), pairing, and the import into CacheFiles.
 * @module
 */
export { BrainVisionRecording, parseHeader as parseBrainVisionHeader, parseMarkers as parseBrainVisionMarkers, type BrainVisionHeader, type BrainVisionMarkers } from "./brainvision.js";
export { readBrainsight } from "./brainsight.js";
export { NAN_XYZ, type CoilPulse, type CoilPulses } from "./coords.js";
export { EdfRecording, parseEdfHeader, type EdfHeader, type EdfSignalHeader } from "./edf.js";
export { BrainVisionError, CoordsError, EdfError, ImportError, RecordingError, XdfError } from "./errors.js";
export { ARTIFACT_DEFAULTS, detectArtifacts, jumpSigma, parseThreshold, type ArtifactDetection, type ArtifactOptions, type ArtifactThreshold } from "./artifact.js";
export { readEventsFile, type EventsFile, type FileEvent } from "./eventsfile.js";
export { importRecording, importRecordingSync, readCoords, type ImportOptions, type ImportProgress, type ImportResult, type LeftOut, type Pulse, type PulseOptions } from "./import.js";
export { formatInspection, inspectRecording, inspectRecordingSync, type InspectedEvents, type InspectedSignal, type Inspection, type InspectOptions } from "./inspect.js";
export { LOCALITE_STREAMS, localiteStreamPulses, readTriggerMarkers, type LocaliteStreamPulse } from "./localite.js";
export { openRecording, RECORDING_SUFFIXES, type OpenedRecording } from "./open.js";
export { pairPulses, type PairMode, type PairOptions } from "./pairing.js";
export { preparePulses, type Prepared } from "./prepare.js";
export { isTriggerName, TRIGGER_NAMES, TriggerDecoder, triggerValues, type TriggerEvent, type TriggerEvents } from "./triggers.js";
export { microvoltFactor, type ChannelInfo, type RecordingEvent, type Signal } from "./types.js";
export { channelLabels, XDF_FORMATS, XdfFile, XdfSignal, type StreamSync, type XdfChannel, type XdfChannelFormat, type XdfStream } from "./xdf.js";
export { clockRanges, ClockSync, closestSample, corruptedLastOffset, Dejitter, detectClockResets, effectiveRate, robustFit, segmentIndices, SYNC_DEFAULTS, type ClockOffset, type ClockRange, type SyncOptions, type TimeSegment } from "./xdf-sync.js";
