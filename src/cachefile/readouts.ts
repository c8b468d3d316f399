/**
 * The registry of readins and readouts: which attribute keys a trace of each
 * readout carries, and what their values must look like.
 *
 * Checks accept what offspect itself writes: `None` and the empty string are
 * null wherever a number, a list or a boolean is expected, and `True`/`False`
 * are booleans.
 * @module
 */
import { decode, isYamlInt } from "../values/codec.js";
import { type AttributeProblem, CacheFileError, describe, UnknownReadoutError } from "../base/errors.js";

/** What a value must be. */
export type ValueKind =
  | "int"
  | "number"
  | "positive-or-inf"
  | "bool"
  | "coords"
  | "number-list"
  | "string-list"
  | "text"
  | "version"
  | "filedate"
  | "readout"
  | "readin"
  | "log";

export interface KeySpec {
  kind: ValueKind;
  /** Null (stored as `None`, `null`, `~` or empty) is allowed. */
  nullable?: boolean;
  /** May be absent without being a problem. */
  optional?: boolean;
  /** Numbers are floats (written as `37.0`, not `37`). */
  float?: boolean;
}

export interface ReadoutSpec {
  readin: string;
  readout: string;
  description: string;
  /** The readout's own trace keys. */
  keys: Record<string, KeySpec>;
}

const num = (extra: Partial<KeySpec> = {}): KeySpec => ({ kind: "number", nullable: true, float: true, ...extra });

/** Keys every trace carries, whatever its readout. */
export const GENERIC_TRACE_KEYS: Readonly<Record<string, KeySpec>> = Object.freeze({
  id: { kind: "int" },
  event_name: { kind: "text" },
  event_sample: { kind: "int" },
  event_time: { kind: "number", float: true },
  onset_shift: { kind: "int" },
  time_since_last_pulse_in_s: { kind: "positive-or-inf", nullable: true, float: true },
  reject: { kind: "bool" },
  comment: { kind: "text" },
  examiner: { kind: "text" },
  _log: { kind: "log", optional: true },
});

/** Keys of every origin group (copied onto each trace by populate). */
export const ORIGIN_KEYS: Readonly<Record<string, KeySpec>> = Object.freeze({
  channel_labels: { kind: "string-list" },
  channel_of_interest: { kind: "text" },
  samples_post_event: { kind: "int" },
  samples_pre_event: { kind: "int" },
  samplingrate: { kind: "int" },
  subject: { kind: "text" },
  readout: { kind: "readout" },
  readin: { kind: "readin" },
  version: { kind: "version" },
  global_comment: { kind: "text" },
  filedate: { kind: "filedate" },
  history: { kind: "text", optional: true },
});

/** Origin keys whose values must be identical across all origins of one file. */
export const MUST_BE_IDENTICAL: readonly string[] = Object.freeze([
  "channel_labels",
  "channel_of_interest",
  "samples_post_event",
  "samples_pre_event",
  "samplingrate",
  "subject",
  "readout",
  "readin",
  "version",
]);

/** The fields added to collapsed attributes, never stored. */
export const TRANSIENT_KEYS: readonly string[] = Object.freeze(["origin", "cache_file", "cache_file_index"]);

const CMEP: Record<string, KeySpec> = {
  stimulation_intensity_mso: num({ float: false }),
  stimulation_intensity_didt: num({ float: false }),
  neg_peak_magnitude_uv: num(),
  neg_peak_latency_ms: num(),
  pos_peak_magnitude_uv: num(),
  pos_peak_latency_ms: num(),
  zcr_latency_ms: num(),
  xyz_coords: { kind: "coords", float: true },
  channel_of_interest: { kind: "text" },
};

const registry = new Map<string, ReadoutSpec>();
/** The readouts offspect defines (registered below, before any user's). */
const BUILT_IN = new Set<string>();

const keyOf = (readin: string, readout: string) => `${readin}\u0000${readout}`;

/**
 * `registerReadout` was asked to register a readin/readout that is already
 * registered (`EREADOUTEXISTS`); the registry is unchanged.
 */
export class ReadoutExistsError extends CacheFileError {
  readonly readin: string;
  readonly readout: string;
  constructor(readin: string, readout: string, builtIn: boolean) {
    super(
      "EREADOUTEXISTS",
      `readout ${readin}/${readout} is already registered${builtIn ? " (offspect's own)" : ""}: pick another name, or pass { replace: true } to replace it`,
    );
    this.readin = readin;
    this.readout = readout;
  }
}

/** A readout spec that is not one (`EREADOUTSPEC`): a missing name, keys that are not key specs. */
export class InvalidReadoutSpecError extends CacheFileError {
  constructor(detail: string) {
    super("EREADOUTSPEC", `invalid readout spec: ${detail}; see getReadout("tms", "cmep") for an example`);
  }
}

const VALUE_KINDS: readonly ValueKind[] = ["int", "number", "positive-or-inf", "bool", "coords", "number-list", "string-list", "text", "version", "filedate", "readout", "readin", "log"];

function checkSpec(spec: unknown): asserts spec is ReadoutSpec {
  const bad = (what: string, got: unknown): never => {
    throw new InvalidReadoutSpecError(`expected ${what}, got ${describe(got)}`);
  };
  if (spec === null || typeof spec !== "object") bad("a readout spec { readin, readout, description, keys }", spec);
  const s = spec as Record<string, unknown>;
  for (const field of ["readin", "readout", "description"] as const) {
    if (typeof s[field] !== "string" || (field !== "description" && s[field] === "")) bad(`a non-empty string for ${field}`, s[field]);
  }
  if (s["keys"] === null || typeof s["keys"] !== "object" || Array.isArray(s["keys"])) bad("an object of key specs for keys", s["keys"]);
  for (const [key, k] of Object.entries(s["keys"] as object)) {
    const kind = (k as { kind?: unknown } | null)?.kind;
    if (!VALUE_KINDS.includes(kind as ValueKind)) bad(`a kind (one of ${VALUE_KINDS.join(", ")}) for keys.${key}`, kind);
  }
}

/**
 * Adds a readout to the registry, e.g. for a lab's own readout. A readin/
 * readout that is already registered (offspect's own `cmep`, `imep`,
 * `pdmep`, `erp` included) is refused unless `replace` is true, so that no
 * built-in readout is replaced by accident.
 * @example
 * registerReadout({ readin: "tms", readout: "silent", description: "silent period",
 *   keys: { ...getReadout("tms", "cmep").keys, silent_period_ms: { kind: "number", nullable: true } } });
 * registerReadout({ ...getReadout("tms", "cmep"), description: "our cMEP" }, { replace: true });
 * @throws {ReadoutExistsError} the readin/readout is registered and `replace` is not true
 * @throws {InvalidReadoutSpecError} the spec has no readin, readout or description, or a key without a valid kind
 */
export function registerReadout(spec: ReadoutSpec, options: { replace?: boolean } = {}): void {
  checkSpec(spec);
  const key = keyOf(spec.readin, spec.readout);
  if (registry.has(key) && options.replace !== true) throw new ReadoutExistsError(spec.readin, spec.readout, BUILT_IN.has(key));
  registry.set(key, Object.freeze({ ...spec, keys: Object.freeze({ ...spec.keys }) }));
}

function registerBuiltIn(spec: ReadoutSpec): void {
  registerReadout(spec);
  BUILT_IN.add(keyOf(spec.readin, spec.readout));
}

registerBuiltIn({ readin: "tms", readout: "cmep", description: "contralateral MEP", keys: CMEP });
registerBuiltIn({
  readin: "tms",
  readout: "imep",
  description: "ipsilateral MEP",
  keys: {
    ...CMEP,
    imep_occurence: { kind: "bool", nullable: true },
    imep_latency: num(),
    imep_magnitude: num(),
    estimation_method: { kind: "text" },
    target_phase: num(),
    exact_phase: num(),
  },
});
registerBuiltIn({
  readin: "tms",
  readout: "pdmep",
  description: "phase-dependent MEP",
  keys: { ...CMEP, measured_phase: num(), target_phase: num() },
});
registerBuiltIn({
  readin: "tms",
  readout: "erp",
  description: "evoked potential (EEG)",
  keys: {
    stimulation_intensity_mso: num({ float: false }),
    stimulation_intensity_didt: num({ float: false }),
    xyz_coords: { kind: "coords", float: true },
    gmfp_neg_peaks_magnitude_uv: { kind: "number-list", nullable: true, float: true },
    gmfp_neg_peaks_latency_ms: { kind: "number-list", nullable: true, float: true },
    gmfp_pos_peaks_magnitude_uv: { kind: "number-list", nullable: true, float: true },
    gmfp_pos_peaks_latency_ms: { kind: "number-list", nullable: true, float: true },
    gmfp_zcr_latencies_ms: { kind: "number-list", nullable: true, float: true },
  },
});

/** Every registered readin/readout pair. */
export function listReadouts(): { readin: string; readout: string; description: string }[] {
  return [...registry.values()].map(({ readin, readout, description }) => ({ readin, readout, description }));
}

/**
 * The registered readout; `readin` defaults to "tms" (files of offspect
 * versions before readins existed carry none).
 * @throws {UnknownReadoutError} when it is not registered
 */
export function getReadout(readin: string | undefined, readout: string | undefined): ReadoutSpec {
  const spec = readout === undefined ? undefined : registry.get(keyOf(readin ?? "tms", readout));
  if (!spec) {
    const known = listReadouts()
      .map((r) => `${r.readin}/${r.readout}`)
      .join(", ");
    throw new UnknownReadoutError(
      `readout ${JSON.stringify(readout)} of readin ${JSON.stringify(readin ?? "tms")} is not registered (known: ${known}); register it with registerReadout()`,
    );
  }
  return spec;
}

/** The keys a trace of this readout stores: the generic trace keys and the readout's own. */
export function traceKeySpecs(spec: ReadoutSpec): Record<string, KeySpec> {
  return { ...GENERIC_TRACE_KEYS, ...spec.keys };
}

const EXPECTED: Record<ValueKind, string> = {
  int: "an integer",
  number: "a number",
  "positive-or-inf": "a positive number or inf",
  bool: "True or False",
  coords: "a list of three finite numbers (MNI mm), e.g. [37.0, 22.8, 54.2], or [nan, nan, nan] for none",
  "number-list": "a list of numbers",
  "string-list": "a list of texts, e.g. ['EDC_L']",
  text: "text",
  version: "a version MAJOR.MINOR.PATCH with an optional letter",
  filedate: "a date or date-time, e.g. 2020-05-17 18:02:00",
  readout: "a registered readout",
  readin: "a registered readin",
  log: 'a list of "STEP on YYYY-mm-dd HH:MM:SS" with STEP one of baseline, detrend, linenoise, flipsign',
};

/** Human description of what a key's value must be. */
export function expectedText(spec: KeySpec): string {
  return EXPECTED[spec.kind] + (spec.nullable ? " (or None)" : "");
}

function isNullText(text: string): boolean {
  const t = text.trim();
  return t === "" || t === "None" || t === "null" || t === "Null" || t === "NULL" || t === "~";
}

function tryDecode(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: decode(text) };
  } catch {
    return { ok: false };
  }
}

/** Whether `coi` is one of the decoded `labels`, as offspect compares them (both decoded: "0" is the label 0). */
export function isLabel(labels: readonly unknown[], coi: string): boolean {
  if (labels.includes(coi)) return true;
  const d = tryDecode(coi);
  return d.ok && labels.some((l) => l === d.value || (typeof l === "bigint" && typeof d.value === "bigint" && l === d.value));
}

/**
 * A list from text as offspect's `decode` reads it (YAML, with the text
 * items decoded again): what its readers (`iscoords`, the map) can use. A
 * Python tuple or bare comma-separated numbers are text to it.
 */
function decodedList(text: string): unknown[] | undefined {
  const d = tryDecode(text);
  return d.ok && Array.isArray(d.value) ? d.value : undefined;
}

const isNum = (x: unknown) => typeof x === "number" || typeof x === "bigint";

function checkKind(kind: ValueKind, text: string): boolean {
  switch (kind) {
    case "text":
      return true;
    case "int":
      return isYamlInt(text);
    case "number": {
      const d = tryDecode(text);
      return d.ok && (typeof d.value === "number" || typeof d.value === "bigint");
    }
    case "positive-or-inf": {
      const d = tryDecode(text);
      return d.ok && (typeof d.value === "number" || typeof d.value === "bigint") && d.value > 0;
    }
    case "bool": {
      const d = tryDecode(text);
      return d.ok && typeof d.value === "boolean";
    }
    case "coords": {
      // Three finite numbers, or three NaN (offspect's "no coordinates"): a mix reads back as neither.
      const list = decodedList(text);
      if (list === undefined || list.length !== 3 || !list.every(isNum)) return false;
      const n = list.map(Number);
      return n.every(Number.isFinite) || n.every(Number.isNaN);
    }
    case "number-list":
      return decodedList(text)?.every(isNum) ?? false;
    case "string-list":
      // offspect decodes a list's text items again: ['0'] reads as [0], which it still uses as a label.
      return decodedList(text)?.every((x) => typeof x === "string" || isNum(x)) ?? false;
    case "version":
      return /^[0-9]+[.][0-9]+[.][0-9]+[a-zA-Z]?$/.test(text);
    case "filedate": {
      if (text === "") return true;
      const d = tryDecode(text);
      return d.ok && d.value instanceof Date;
    }
    case "readin":
      return listReadouts().some((r) => r.readin === text);
    case "readout":
      return listReadouts().some((r) => r.readout === text);
    case "log": {
      const d = tryDecode(text);
      return (
        d.ok &&
        Array.isArray(d.value) &&
        d.value.every((e) => typeof e === "string" && /^(baseline|detrend|linenoise|flipsign) on .+$/.test(e))
      );
    }
  }
}

/**
 * Checks one stored value against its key's spec; undefined when valid.
 * @example checkValue("reject", "maybe", GENERIC_TRACE_KEYS.reject) // { key: "reject", ... expected: "True or False" }
 */
export function checkValue(key: string, text: unknown, spec: KeySpec): AttributeProblem | undefined {
  const expected = expectedText(spec);
  if (typeof text !== "string") {
    return {
      key,
      value: undefined,
      expected: "text (encode the value with encode())",
      message: `${key}: expected text (encode the value with encode()), got ${describe(text)}`,
    };
  }
  if (spec.kind !== "text" && spec.kind !== "filedate" && isNullText(text)) {
    if (spec.nullable) return undefined;
    return { key, value: text, expected, message: `${key}: expected ${expected}, got ${JSON.stringify(text)}` };
  }
  if (checkKind(spec.kind, text)) return undefined;
  return { key, value: text, expected, message: `${key}: expected ${expected}, got ${JSON.stringify(text)}` };
}

/**
 * Every problem in a trace's attributes (collapsed or as stored): missing
 * keys and invalid values of the generic trace keys, the readout's keys and
 * the origin keys. An empty list means the trace is valid.
 *
 * @example
 * for (const p of validate(cf.getTraceAttrs(0))) console.log(p.message);
 */
export function validate(attrs: Record<string, string>): AttributeProblem[] {
  const problems: AttributeProblem[] = [];
  let specs: Record<string, KeySpec>;
  try {
    specs = { ...ORIGIN_KEYS, ...traceKeySpecs(getReadout(attrs["readin"], attrs["readout"])) };
  } catch (e) {
    if (!(e instanceof UnknownReadoutError)) throw e;
    problems.push({
      key: "readout",
      value: attrs["readout"],
      expected: EXPECTED.readout,
      message: e.message,
    });
    specs = { ...ORIGIN_KEYS, ...GENERIC_TRACE_KEYS };
    delete specs["readout"];
  }
  for (const [key, spec] of Object.entries(specs)) {
    if (!(key in attrs)) {
      if (!spec.optional) {
        problems.push({
          key,
          value: undefined,
          expected: expectedText(spec),
          message: `${key}: missing, expected ${expectedText(spec)}`,
        });
      }
      continue;
    }
    const problem = checkValue(key, attrs[key], spec);
    if (problem) problems.push(problem);
  }
  // offspect finds the channel of interest among the labels: one that is not there cannot be read.
  const coi = attrs["channel_of_interest"];
  const labels = coi === undefined ? undefined : decodedList(attrs["channel_labels"] ?? "");
  if (coi !== undefined && labels && !isLabel(labels, coi) && !problems.some((p) => p.key === "channel_labels" || p.key === "channel_of_interest")) {
    problems.push({
      key: "channel_of_interest",
      value: coi,
      expected: `one of channel_labels ${JSON.stringify(labels)}`,
      message: `channel_of_interest: expected one of the channel_labels ${JSON.stringify(labels)}, got ${JSON.stringify(coi)}`,
    });
  }
  return problems;
}
