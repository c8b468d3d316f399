/**
 * Dataset values as float64, converted exactly as libhdf5 converts them
 * (`H5Dread` into `H5T_NATIVE_DOUBLE`): integers of 1 to 8 bytes and IEEE
 * floats of 2, 4 and 8 bytes, either byte order.
 * @internal
 * @module
 */
import { FormatValueError } from "./errors.js";
import { className, type Datatype, TYPE_CLASS } from "./messages.js";

/** Whether values of `type` convert here (otherwise libhdf5 reads them). */
export function convertible(type: Datatype): boolean {
  return type.kind === "integer" || type.kind === "float";
}

/** Checks that a dataset holds numbers, as the native reader does. */
export function checkNumeric(type: Datatype, path: string): void {
  if (type.cls !== TYPE_CLASS.INTEGER && type.cls !== TYPE_CLASS.FLOAT) {
    throw new FormatValueError("EDTYPE", `dataset '${path}' holds ${className(type.cls)} data, not numbers`);
  }
}

function half(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const man = bits & 0x3ff;
  if (exp === 0) return sign * man * 2 ** -24;
  if (exp === 31) return man === 0 ? sign * Infinity : NaN;
  return sign * (1 + man / 1024) * 2 ** (exp - 15);
}

/** Converts `count` stored values of `type` in `bytes` to float64 into `out`. */
export function toFloat64(type: Datatype, bytes: Uint8Array, count: number, out: Float64Array): void {
  const size = type.size;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (type.kind !== "integer" && type.kind !== "float") throw new TypeError(`not a number type: ${className(type.cls)}`);
  const le = !type.bigEndian;
  if (type.kind === "float") {
    if (size === 8) for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, le);
    else if (size === 4) for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, le);
    else for (let i = 0; i < count; i++) out[i] = half(view.getUint16(2 * i, le));
    return;
  }
  const signed = type.signed;
  switch (size) {
    case 1:
      if (signed) for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      else for (let i = 0; i < count; i++) out[i] = view.getUint8(i);
      return;
    case 2:
      if (signed) for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, le);
      else for (let i = 0; i < count; i++) out[i] = view.getUint16(2 * i, le);
      return;
    case 4:
      if (signed) for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, le);
      else for (let i = 0; i < count; i++) out[i] = view.getUint32(4 * i, le);
      return;
    default:
      // Number(bigint) rounds to nearest, ties to even: as the C cast libhdf5 uses.
      if (signed) for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(8 * i, le));
      else for (let i = 0; i < count; i++) out[i] = Number(view.getBigUint64(8 * i, le));
  }
}
