/**
 * The readout registry: offspect's readouts cannot be replaced by accident,
 * specs are checked, and values offspect can store (big ints) validate.
 */
import { describe, expect, it } from "vitest";
import { CacheFile } from "../src/offspect.js";
import { CacheFileError } from "../src/base/errors.js";
import { checkValue, getReadout, GENERIC_TRACE_KEYS, InvalidReadoutSpecError, listReadouts, ReadoutExistsError, registerReadout, validate } from "../src/cachefile/readouts.js";
import { fixture } from "./helpers/fixtures.js";

describe("registerReadout", () => {
  it("refuses to replace a built-in readout unless asked, and leaves it as it was", () => {
    const before = getReadout("tms", "cmep");
    let e: unknown;
    try {
      registerReadout({ readin: "tms", readout: "cmep", description: "mine", keys: {} });
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(ReadoutExistsError);
    expect(e).toBeInstanceOf(CacheFileError);
    expect(e).toMatchObject({ code: "EREADOUTEXISTS", message: "readout tms/cmep is already registered (offspect's own): pick another name, or pass { replace: true } to replace it" });
    expect(getReadout("tms", "cmep")).toBe(before);
    // The trace of an offspect file still validates against the real cmep.
    expect(validate(new CacheFile(fixture("template_R001.hdf5")).getTraceAttrs(0))).toEqual([]);
  });

  it("adds a new readout, refuses it a second time, and replaces it with { replace: true }", () => {
    const spec = { readin: "tms", readout: "silent-test", description: "silent period", keys: { ...getReadout("tms", "cmep").keys, silent_period_ms: { kind: "number" as const, nullable: true } } };
    registerReadout(spec);
    expect(listReadouts()).toContainEqual({ readin: "tms", readout: "silent-test", description: "silent period" });
    expect(() => registerReadout(spec)).toThrow(/readout tms\/silent-test is already registered: pick another name/);
    registerReadout({ ...spec, description: "silent period, v2" }, { replace: true });
    expect(getReadout("tms", "silent-test").description).toBe("silent period, v2");
  });

  it("refuses a spec that is not one, saying what is expected", () => {
    expect(() => registerReadout({ readin: "tms", readout: "", description: "x", keys: {} })).toThrow(InvalidReadoutSpecError);
    expect(() => registerReadout({ readin: "tms", readout: "odd", description: "x", keys: { a: { kind: "float" as "number" } } })).toThrow(
      expect.objectContaining({ code: "EREADOUTSPEC", message: expect.stringMatching(/^invalid readout spec: expected a kind \(one of int, number, .*\) for keys\.a, got "float"/) }),
    );
    expect(() => registerReadout(null as never)).toThrow(/expected a readout spec/);
  });
});

describe("validation of values offspect stores", () => {
  it("takes integers beyond 2^53 as numbers (they decode as bigints)", () => {
    expect(checkValue("event_time", "12345678901234567890", GENERIC_TRACE_KEYS["event_time"]!)).toBeUndefined();
    expect(checkValue("time_since_last_pulse_in_s", "12345678901234567890", GENERIC_TRACE_KEYS["time_since_last_pulse_in_s"]!)).toBeUndefined();
    expect(checkValue("time_since_last_pulse_in_s", "-12345678901234567890", GENERIC_TRACE_KEYS["time_since_last_pulse_in_s"]!)).toMatchObject({ key: "time_since_last_pulse_in_s" });
  });

  it("reads -inf as text, as offspect does: not a number", () => {
    expect(checkValue("event_time", "-inf", GENERIC_TRACE_KEYS["event_time"]!)).toMatchObject({ expected: "a number" });
    expect(checkValue("event_time", "-.inf", GENERIC_TRACE_KEYS["event_time"]!)).toBeUndefined();
  });
});
