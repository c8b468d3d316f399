/**
 * A set of names looked up by their UTF-8 bytes where they lie in a
 * buffer, without decoding them: for the few attributes a writer or a
 * selective read wants among the dozens each object carries.
 * @internal
 * @module
 */

/** Sets made before, by their names (a batch asks for the same few names on every object). */
const made = new Map<string, NameSet>();

export class NameSet {
  /** The set of `names`, made once for the same names in the same order. */
  static of(names: readonly string[]): NameSet {
    const key = names.join("\u0000");
    let set = made.get(key);
    if (!set) {
      if (made.size >= 256) made.clear();
      made.set(key, (set = new NameSet(names)));
    }
    return set;
  }

  /** The names of the set {@link ofKeys} gave last, in order. */
  static #lastKeys: string[] = [];
  static #last: NameSet | undefined;

  /**
   * {@link of} the keys of `map`, in its order: the set given last again
   * when the keys are the same (a batch sets the same names on every
   * object), without joining them.
   */
  static ofKeys(map: ReadonlyMap<string, unknown>): NameSet {
    const last = NameSet.#lastKeys;
    let same = NameSet.#last !== undefined && map.size === last.length;
    if (same) {
      let i = 0;
      for (const k of map.keys()) {
        if (k !== last[i++]) {
          same = false;
          break;
        }
      }
    }
    if (same) return NameSet.#last!;
    const keys = [...map.keys()];
    NameSet.#lastKeys = keys;
    return (NameSet.#last = NameSet.of(keys));
  }

  readonly #byLength = new Map<number, { name: string; bytes: Buffer }[]>();

  constructor(names: Iterable<string>) {
    for (const name of names) {
      const bytes = Buffer.from(name, "utf8");
      let list = this.#byLength.get(bytes.length);
      if (!list) this.#byLength.set(bytes.length, (list = []));
      list.push({ name, bytes });
    }
  }

  /** The name whose bytes are `buf[start, end)`, or undefined when none is. */
  find(buf: Uint8Array, start: number, end: number): string | undefined {
    const list = this.#byLength.get(end - start);
    if (!list) return undefined;
    outer: for (const { name, bytes } of list) {
      for (let i = 0; i < bytes.length; i++) if (buf[start + i] !== bytes[i]) continue outer;
      return name;
    }
    return undefined;
  }

  /** The name of the attribute message `buf[start, start + n)` (see {@link attributeNameAt}) when it is in the set, else undefined. */
  findAttribute(buf: Uint8Array, start: number, n: number): string | undefined {
    if (n < 10) return undefined;
    const nameSize = buf[start + 2]! | (buf[start + 3]! << 8);
    const at = start + (buf[start] === 3 ? 9 : 8);
    if (nameSize === 0 || at + nameSize > start + n) return undefined;
    return this.find(buf, at, at + nameSize - 1);
  }
}

/**
 * Where the name of an attribute message lies in `buf` (the message's body
 * at `start`, `n` bytes: versions 1 to 3), without its NUL; undefined when
 * it does not fit (the full decoder judges such a message).
 */
export function attributeNameAt(buf: Uint8Array, start: number, n: number): [number, number] | undefined {
  if (n < 10) return undefined;
  const nameSize = buf[start + 2]! | (buf[start + 3]! << 8);
  const at = start + (buf[start] === 3 ? 9 : 8);
  if (nameSize === 0 || at + nameSize > start + n) return undefined;
  return [at, at + nameSize - 1];
}
