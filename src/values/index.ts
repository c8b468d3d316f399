/**
 * Python values, as offspect reads and writes them: one import path for the
 * modules under `values/` (the literal parser, Python's text of values, the
 * conversions to and from JavaScript, offspect's reading of attribute text).
 * @module
 */
export { PyLiteralError } from "./errors.js";
export { literalEval, type PyValue } from "./literal.js";
export { formatDateTime, formatFloat, pyRepr, pyStr, pythonStr, reprString } from "./format.js";
export { isFloatNumber, isPyValue, jsToPy } from "./convert.js";
export { pyToJs } from "./tojs.js";
export { normalizeAttrValue, parseAttrValue } from "./attrvalue.js";
