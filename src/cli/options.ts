/**
 * Parsers of the command line's option values: what a malformed or
 * out-of-range value is, said as commander reports it (a usage error, exit
 * code 2).
 * @module
 */
import { availableParallelism } from "node:os";
import { InvalidArgumentError, Option } from "commander";

/**
 * A parser of a number option: a finite number, within [min, max] where
 * given (`open` leaves min itself out); anything else is a usage error.
 */
export function number(name: string, range: { min?: number; max?: number; open?: boolean; what?: string } = {}) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got ${JSON.stringify(value)}`);
    const { min, max, open } = range;
    if ((min !== undefined && (open ? n <= min : n < min)) || (max !== undefined && n > max)) {
      const span =
        range.what ?? (min !== undefined && max !== undefined ? `from ${min} to ${max}` : min !== undefined ? (open ? `above ${min}` : `at least ${min}`) : `at most ${max}`);
      throw new InvalidArgumentError(`${name} must be ${span}, got ${value}`);
    }
    return n;
  };
}

/** A parser of a non-negative integer option. */
export function integer(name: string) {
  return (value: string): number => {
    if (!/^[0-9]+$/.test(value.trim())) throw new InvalidArgumentError(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
    return Number(value);
  };
}

/** A repeatable option's values, in order. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * `--jobs N`: how many files a batch command works on at once (the
 * command's own process and N - 1 worker processes); default the machine's
 * cores (`os.availableParallelism()`), 1 works in the command's own process
 * alone, as before. Anything but a positive
 * integer is a usage error.
 */
export function jobsOption(): Option {
  return new Option("-j, --jobs <n>", "files worked on at once: this process and n - 1 worker processes (1: one after the other, in this process alone)")
    .argParser((value: string): number => {
      if (!/^[0-9]+$/.test(value.trim()) || Number(value) < 1) throw new InvalidArgumentError(`jobs must be a positive integer, got ${JSON.stringify(value)}`);
      return Number(value);
    })
    .default(availableParallelism(), "the number of cores");
}
