/**
 * The texts most attribute values are (`66`, `-637.5788149316284`,
 * `1.0e-07`, `[37.0, 22.8, 54.2]`), read without the YAML parser, to
 * exactly what PyYAML and offspect's `decode` read: plain integers a
 * double holds exactly, floats as Python's `str()` and PyYAML's dump write
 * them (PyYAML's float resolver matches them; its `float()` and
 * JavaScript's `Number` both round the decimal text to the nearest double),
 * and lists of those as Python's `str()` of a list writes them (a YAML flow
 * sequence whose items offspect's list pass keeps as they are).
 * @internal
 * @module
 */

/** Integers PyYAML reads as such and a double holds exactly ("-0" is 0, as Python's int; leading zeros are YAML 1.1 octal, so not plain). */
const PLAIN_INT = /^(?:0|-?[1-9][0-9]{0,14})$/;
const PLAIN_FLOAT = /^-?[0-9]+\.[0-9]+(?:[eE][-+][0-9]+)?$/;

/** The number a plain numeric text is, or undefined when the text needs the parser. */
export function plainNumber(text: string): number | undefined {
  return PLAIN_INT.test(text) || PLAIN_FLOAT.test(text) ? Number(text) : undefined;
}

/** The numbers of a plain list (`[37.0, 22.8, 54.2]`), or undefined when the text needs the parser. */
export function plainNumberList(text: string): number[] | undefined {
  if (text.length < 3 || text.charCodeAt(0) !== 0x5b || text.charCodeAt(text.length - 1) !== 0x5d) return undefined;
  const out: number[] = [];
  for (const item of text.slice(1, -1).split(", ")) {
    const n = plainNumber(item);
    if (n === undefined) return undefined;
    out.push(n);
  }
  return out;
}
