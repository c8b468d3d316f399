/**
 * Python values, as offspect reads and writes them: one import path for the
 * modules under `values/` (the literal parser, Python's text of values, the
 * conversions to and from JavaScript, offspect's reading of attribute text).
 * @module
 */
export { PyLiteralError } from "./values/errors.js";
export { literalEval, type PyValue } from "./values/literal.js";
export { formatDateTime, formatFloat, pyRepr, pyStr, pythonStr, reprString } from "./values/format.js";
export { isFloatNumber, isPyValue, jsToPy } from "./values/convert.js";
export { pyToJs } from "./values/tojs.js";
export { normalizeAttrValue, parseAttrValue } from "./values/attrvalue.js";
