/**
 * The scale a map's values are put on before anything is drawn or
 * computed: `transform` (the usual ones, named) or `foo` (any function, as
 * offspect's `plot_map` takes it), which exclude each other. One place for
 * `plotMap` and `mapStats`, so that a map and its statistics agree.
 * @module
 */

/**
 * How a map's values are transformed: peak-to-peak amplitude in
 * µV (`none`), `log10(µV + 1)` (`log`, colour bar ticks labelled in µV), or
 * 1 above a threshold in µV and 0 at or below it (`{ threshold }`, ticks
 * "0 (≤50µV)" to "1 (>50µV)").
 */
export type MapTransform = "none" | "log" | { threshold: number };

/** A map's scale: the function applied to each value (none for identity) and how its colour bar's ticks read. */
export interface MapScale {
  foo?: (value: number) => number;
  tickLabel?: (value: number) => string;
}

/** The errors a caller raises for a bad option (its own class: PlotError, AnalysisError). */
export interface ScaleErrors {
  option(option: string, expected: string, got: unknown): Error;
  conflict(option: string, message: string): Error;
}

/** A number in three significant digits, as the colour bar shows it. */
export function short(x: number): string {
  return String(Number(x.toPrecision(3)));
}

/**
 * The scale of `transform` or `foo` (at most one of them).
 * @throws what `errors` make: `transform` not "none", "log" or `{ threshold }`;
 *   `foo` not a function; both given
 */
export function resolveScale(transform: unknown, foo: unknown, errors: ScaleErrors): MapScale {
  if (transform !== undefined && foo !== undefined) {
    throw errors.conflict("transform", "transform and foo exclude each other: transform picks foo (log10(µV + 1) or a threshold); pass one of them");
  }
  if (foo !== undefined) {
    if (typeof foo !== "function") throw errors.option("foo", "a function of one number returning a number", foo);
    return { foo: foo as (value: number) => number };
  }
  if (transform === undefined || transform === "none") return {};
  if (transform === "log") {
    return { foo: (x) => Math.log10(x + 1), tickLabel: (t) => `${short(10 ** t - 1)}µV` };
  }
  const threshold = (transform as { threshold?: unknown } | null)?.threshold;
  if (transform !== null && typeof transform === "object" && typeof threshold === "number" && Number.isFinite(threshold)) {
    const uv = short(threshold);
    return {
      foo: (x) => (x > threshold ? 1 : 0),
      tickLabel: (t) => (t === 0 ? `0 (≤${uv}µV)` : t === 1 ? `1 (>${uv}µV)` : short(t)),
    };
  }
  throw errors.option("transform", `"none", "log" or { threshold: µV }`, transform);
}
