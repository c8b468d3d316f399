/**
 * Records keyed by names read from files: `setOwn` makes every name an own
 * property, "__proto__" too (plain assignment would set the prototype).
 * @internal
 * @module
 */

/** Sets `obj[key] = value` as an own, enumerable property, for any key. */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}
