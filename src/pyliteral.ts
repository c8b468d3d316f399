/**
 * Python literals, as offspect reads and writes them.
 *
 * offspect parses stored attribute text with `ast.literal_eval` (in
 * `parse_traceattrs`, which feeds `recover_annotations`, `merge` and the peek
 * text) and stores values with Python's `str()`. To give the same answers,
 * this module parses Python literal syntax into tagged values that keep the
 * int/float distinction JavaScript numbers lose, and prints them back as
 * Python would.
 * @module
 */

/** A parsed Python literal. */
export type PyValue =
  | { t: "int"; v: bigint }
  | { t: "float"; v: number }
  | { t: "complex"; re: number; im: number }
  | { t: "str"; v: string }
  | { t: "bytes"; v: Uint8Array }
  | { t: "bool"; v: boolean }
  | { t: "none" }
  | { t: "ellipsis" }
  | { t: "list" | "tuple" | "set"; items: PyValue[] }
  | { t: "dict"; entries: [PyValue, PyValue][] };

/** The text is not a Python literal (Python raises SyntaxError or ValueError). */
export class PyLiteralError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PyLiteralError";
  }
}

const MAX_DEPTH = 200;

// Syntax tree of the expression subset literal_eval inspects.
type Node =
  | { k: "const"; v: PyValue }
  | { k: "seq"; t: "list" | "tuple" | "set"; items: Node[] }
  | { k: "dict"; keys: Node[]; values: Node[] }
  | { k: "unary"; op: "+" | "-"; operand: Node }
  | { k: "binop"; op: "+" | "-"; left: Node; right: Node }
  | { k: "emptyset" };

const DIGITS = String.raw`\d(?:_?\d)*`;
const RE_HEX = /0[xX](?:_?[0-9a-fA-F])+/y;
const RE_OCT = /0[oO](?:_?[0-7])+/y;
const RE_BIN = /0[bB](?:_?[01])+/y;
const RE_DEC = new RegExp(`(${DIGITS})?(\\.(${DIGITS})?)?([eE][+-]?${DIGITS})?`, "y");
const RE_STRING_START = /([rRbBuUfF]{0,2})('''|"""|'|")/y;
const RE_NAME = /[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*/y;

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(private readonly s: string) {}

  fail(message: string): never {
    throw new PyLiteralError(`${message} at offset ${this.pos}`);
  }

  /** Skips blanks, comments and continuations; newlines only inside brackets (or at the end). */
  ws(): void {
    const s = this.s;
    for (;;) {
      const c = s[this.pos];
      if (c === " " || c === "\t" || c === "\f") this.pos++;
      else if (c === "\\" && (s[this.pos + 1] === "\n" || (s[this.pos + 1] === "\r" && s[this.pos + 2] === "\n"))) {
        this.pos += s[this.pos + 1] === "\n" ? 2 : 3;
      } else if (c === "#") {
        while (this.pos < s.length && s[this.pos] !== "\n" && s[this.pos] !== "\r") this.pos++;
      } else if ((c === "\n" || c === "\r") && (this.depth > 0 || this.onlyBlankAfter())) this.pos++;
      else return;
    }
  }

  private onlyBlankAfter(): boolean {
    return /^[\s]*(#[^\n\r]*[\s]*)*$/.test(this.s.slice(this.pos));
  }

  peek(): string | undefined {
    return this.s[this.pos];
  }

  eat(ch: string): boolean {
    if (this.s.startsWith(ch, this.pos)) {
      this.pos += ch.length;
      return true;
    }
    return false;
  }

  parseInput(): Node {
    // Blank and comment-only lines before the expression are skipped, as Python's tokenizer does.
    while (/^[ \t\f]*(#[^\n\r]*)?(\r\n|\n|\r)/.test(this.s.slice(this.pos))) {
      this.pos += /^[ \t\f]*(#[^\n\r]*)?(\r\n|\n|\r)/.exec(this.s.slice(this.pos))![0].length;
    }
    this.ws();
    const node = this.exprList(true);
    this.ws();
    if (this.pos !== this.s.length) this.fail("unexpected text");
    return node;
  }

  /** expr (',' expr)* [','] — a tuple when a comma appears. */
  exprList(topLevel: boolean): Node {
    const first = this.expr();
    this.ws();
    if (this.peek() !== ",") return first;
    const items = [first];
    while (this.eat(",")) {
      this.ws();
      const c = this.peek();
      if (c === undefined || (!topLevel && c === ")")) break;
      items.push(this.expr());
      this.ws();
    }
    return { k: "seq", t: "tuple", items };
  }

  expr(): Node {
    let left = this.unary();
    for (;;) {
      this.ws();
      const c = this.peek();
      if (c !== "+" && c !== "-") return left;
      this.pos++;
      this.ws();
      const right = this.unary();
      left = { k: "binop", op: c, left, right };
    }
  }

  unary(): Node {
    this.ws();
    const c = this.peek();
    if (c === "+" || c === "-") {
      this.pos++;
      this.enter();
      const operand = this.unary();
      this.depth--;
      return { k: "unary", op: c, operand };
    }
    return this.atom();
  }

  enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail("too many nested parentheses");
  }

  atom(): Node {
    this.ws();
    const s = this.s;
    const c = s[this.pos];
    if (c === undefined) this.fail("unexpected end of input");
    if (c === "(") {
      this.pos++;
      this.enter();
      this.ws();
      if (this.eat(")")) {
        this.depth--;
        return { k: "seq", t: "tuple", items: [] };
      }
      const inner = this.exprList(false);
      this.ws();
      if (!this.eat(")")) this.fail("expected )");
      this.depth--;
      return inner;
    }
    if (c === "[") {
      this.pos++;
      this.enter();
      const items = this.items("]");
      this.depth--;
      return { k: "seq", t: "list", items };
    }
    if (c === "{") {
      this.pos++;
      this.enter();
      const node = this.braces();
      this.depth--;
      return node;
    }
    if (s.startsWith("...", this.pos)) {
      this.pos += 3;
      return { k: "const", v: { t: "ellipsis" } };
    }
    if ((c >= "0" && c <= "9") || (c === "." && /[0-9]/.test(s[this.pos + 1] ?? ""))) return this.number();
    RE_STRING_START.lastIndex = this.pos;
    const sm = RE_STRING_START.exec(s);
    if (sm) return this.strings();
    RE_NAME.lastIndex = this.pos;
    const nm = RE_NAME.exec(s);
    if (nm) {
      const name = nm[0];
      this.pos += name.length;
      if (name === "True") return { k: "const", v: { t: "bool", v: true } };
      if (name === "False") return { k: "const", v: { t: "bool", v: false } };
      if (name === "None") return { k: "const", v: { t: "none" } };
      if (name === "set") {
        this.ws();
        if (this.eat("(")) {
          this.ws();
          if (this.eat(")")) return { k: "emptyset" };
        }
      }
      this.fail(`malformed node: name ${name}`);
    }
    this.fail(`unexpected character ${JSON.stringify(c)}`);
  }

  items(close: string): Node[] {
    const items: Node[] = [];
    this.ws();
    if (this.eat(close)) return items;
    for (;;) {
      items.push(this.expr());
      this.ws();
      if (this.eat(close)) return items;
      if (!this.eat(",")) this.fail(`expected , or ${close}`);
      this.ws();
      if (this.eat(close)) return items;
    }
  }

  braces(): Node {
    this.ws();
    if (this.eat("}")) return { k: "dict", keys: [], values: [] };
    const first = this.expr();
    this.ws();
    if (this.eat(":")) {
      const keys = [first];
      const values = [this.expr()];
      for (;;) {
        this.ws();
        if (this.eat("}")) return { k: "dict", keys, values };
        if (!this.eat(",")) this.fail("expected , or }");
        this.ws();
        if (this.eat("}")) return { k: "dict", keys, values };
        keys.push(this.expr());
        this.ws();
        if (!this.eat(":")) this.fail("expected :");
        values.push(this.expr());
      }
    }
    const items = [first];
    for (;;) {
      this.ws();
      if (this.eat("}")) return { k: "seq", t: "set", items };
      if (!this.eat(",")) this.fail("expected , or }");
      this.ws();
      if (this.eat("}")) return { k: "seq", t: "set", items };
      items.push(this.expr());
    }
  }

  number(): Node {
    const s = this.s;
    const start = this.pos;
    let value: PyValue | undefined;
    for (const [re, radix] of [
      [RE_HEX, 16],
      [RE_OCT, 8],
      [RE_BIN, 2],
    ] as const) {
      re.lastIndex = start;
      const m = re.exec(s);
      if (m) {
        this.pos = start + m[0].length;
        const digits = m[0].slice(2).replace(/_/g, "");
        const prefix = radix === 16 ? "0x" : radix === 8 ? "0o" : "0b";
        value = { t: "int", v: BigInt(prefix + digits) };
        break;
      }
    }
    if (!value) {
      RE_DEC.lastIndex = start;
      const m = RE_DEC.exec(s)!;
      const [text, intPart, dot, fracPart, exp] = m;
      if (!intPart && !fracPart) this.fail("invalid number");
      this.pos = start + text.length;
      const clean = text.replace(/_/g, "");
      const next = s[this.pos];
      if (next === "j" || next === "J") {
        this.pos++;
        value = { t: "complex", re: 0, im: Number(clean) };
      } else if (dot !== undefined || exp !== undefined) {
        value = { t: "float", v: Number(clean) };
      } else {
        if (/^0/.test(clean) && !/^0+$/.test(clean)) {
          this.fail("leading zeros in decimal integer literals are not permitted");
        }
        value = { t: "int", v: BigInt(clean) };
      }
    }
    if (/[A-Za-z0-9_]/.test(s[this.pos] ?? "")) this.fail("invalid number literal");
    return { k: "const", v: value };
  }

  strings(): Node {
    let text = "";
    let bytes: number[] | undefined;
    let kind: "str" | "bytes" | undefined;
    for (;;) {
      this.ws();
      RE_STRING_START.lastIndex = this.pos;
      const m = RE_STRING_START.exec(this.s);
      if (!m) break;
      const prefix = m[1]!.toLowerCase();
      if (!["", "r", "u", "b", "br", "rb"].includes(prefix)) {
        this.fail(prefix.includes("f") ? "f-strings are not literals" : "invalid string prefix");
      }
      const isBytes = prefix.includes("b");
      const raw = prefix.includes("r");
      const thisKind = isBytes ? "bytes" : "str";
      if (kind !== undefined && kind !== thisKind) this.fail("cannot mix bytes and nonbytes literals");
      kind = thisKind;
      this.pos += m[0].length;
      const body = this.stringBody(m[2]!, raw, isBytes);
      if (isBytes) bytes = (bytes ?? []).concat(body as number[]);
      else text += body as string;
      // Adjacent literals concatenate ("a" 'b' is "ab").
      const save = this.pos;
      this.ws();
      RE_STRING_START.lastIndex = this.pos;
      const again = RE_STRING_START.exec(this.s);
      this.pos = save;
      if (!again) break;
    }
    return { k: "const", v: kind === "bytes" ? { t: "bytes", v: Uint8Array.from(bytes ?? []) } : { t: "str", v: text } };
  }

  stringBody(quote: string, raw: boolean, isBytes: boolean): string | number[] {
    const s = this.s;
    const triple = quote.length === 3;
    let out = "";
    for (;;) {
      if (this.pos >= s.length) this.fail("unterminated string literal");
      if (s.startsWith(quote, this.pos)) {
        this.pos += quote.length;
        break;
      }
      const c = s[this.pos]!;
      if ((c === "\n" || c === "\r") && !triple) this.fail("unterminated string literal");
      if (isBytes && c > "\x7f") this.fail("bytes can only contain ASCII literal characters");
      if (c !== "\\") {
        out += c;
        this.pos++;
        continue;
      }
      const n = s[this.pos + 1];
      if (n === undefined) this.fail("unterminated string literal");
      if (raw) {
        // A backslash keeps the next character from ending the string, and stays.
        out += c + n;
        this.pos += 2;
        continue;
      }
      this.pos += 2;
      switch (n) {
        case "\n":
          break;
        case "\r":
          if (s[this.pos] === "\n") this.pos++;
          break;
        case "\\":
        case "'":
        case '"':
          out += n;
          break;
        case "a":
          out += "\x07";
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "v":
          out += "\v";
          break;
        case "x": {
          const hex = s.slice(this.pos, this.pos + 2);
          if (!/^[0-9a-fA-F]{2}$/.test(hex)) this.fail("truncated \\xXX escape");
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 2;
          break;
        }
        case "u":
        case "U": {
          if (isBytes) {
            out += "\\" + n;
            break;
          }
          const len = n === "u" ? 4 : 8;
          const hex = s.slice(this.pos, this.pos + len);
          if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) this.fail(`truncated \\${n} escape`);
          const cp = parseInt(hex, 16);
          if (cp > 0x10ffff) this.fail("illegal Unicode character");
          out += String.fromCodePoint(cp);
          this.pos += len;
          break;
        }
        case "N":
          if (isBytes) {
            out += "\\N";
            break;
          }
          this.fail("named Unicode escapes are not supported");
        // eslint-disable-next-line no-fallthrough
        default:
          if (n >= "0" && n <= "7") {
            let oct = n;
            while (oct.length < 3 && /[0-7]/.test(s[this.pos] ?? "")) oct += s[this.pos++];
            out += String.fromCharCode(parseInt(oct, 8) & (isBytes ? 0xff : 0x1ff));
          } else {
            out += "\\" + n;
          }
      }
    }
    if (!isBytes) return out;
    return Array.from(out, (ch) => ch.charCodeAt(0));
  }
}

function isNumber(v: PyValue): boolean {
  return v.t === "int" || v.t === "float" || v.t === "complex";
}

function toFloatParts(v: PyValue): { re: number; im: number } {
  if (v.t === "int") return { re: Number(v.v), im: 0 };
  if (v.t === "float") return { re: v.v, im: 0 };
  if (v.t === "complex") return { re: v.re, im: v.im };
  throw new PyLiteralError("malformed node");
}

/** literal_eval's conversion of a syntax tree, with its rules on what is allowed. */
function convert(node: Node): PyValue {
  switch (node.k) {
    case "const":
      return node.v;
    case "seq":
      return { t: node.t, items: node.items.map(convert) };
    case "emptyset":
      return { t: "set", items: [] };
    case "dict":
      return { t: "dict", entries: node.keys.map((k, i) => [convert(k), convert(node.values[i]!)] as [PyValue, PyValue]) };
    case "unary":
      return signedNumber(node);
    case "binop": {
      const left = signedNumber(node.left);
      const right = plainNumber(node.right);
      if (right.t !== "complex") throw new PyLiteralError("malformed node or string");
      const l = toFloatParts(left);
      return node.op === "+"
        ? { t: "complex", re: l.re + right.re, im: l.im + right.im }
        : { t: "complex", re: l.re - right.re, im: l.im - right.im };
    }
  }
}

function plainNumber(node: Node): PyValue {
  if (node.k !== "const" || !isNumber(node.v)) throw new PyLiteralError("malformed node or string");
  return node.v;
}

function signedNumber(node: Node): PyValue {
  if (node.k === "unary") {
    const v = plainNumber(node.operand);
    if (node.op === "+") return v;
    if (v.t === "int") return { t: "int", v: -v.v };
    if (v.t === "float") return { t: "float", v: -v.v };
    if (v.t === "complex") return { t: "complex", re: -v.re, im: -v.im };
  }
  return plainNumber(node);
}

/**
 * Python's `ast.literal_eval(text)` (3.11): numbers, strings, bytes, tuples,
 * lists, dicts, sets, booleans, None and Ellipsis. One gap: named Unicode
 * escapes (`'\N{BULLET}'`) need Python's character database and are refused,
 * so such a value stays text.
 * @throws {PyLiteralError} where Python raises SyntaxError or ValueError
 * @example literalEval("[37.0, 22.8, 54.2]") // { t: "list", items: [{ t: "float", v: 37 }, ...] }
 */
export function literalEval(text: string): PyValue {
  const stripped = text.replace(/^[ \t]+/, "");
  return convert(new Parser(stripped).parseInput());
}

/** Python's `repr(float)`: shortest round-trip digits, exponent outside 1e-4..1e16. */
export function formatFloat(x: number, addDotZero = true): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return (Object.is(x, -0) ? "-0" : "0") + (addDotZero ? ".0" : "");
  const [mantissa, expText] = Math.abs(x).toExponential().split("e") as [string, string];
  const digits = mantissa.replace(".", "");
  const exp = Number(expText);
  const sign = x < 0 ? "-" : "";
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : String(Math.abs(exp));
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${e}`;
  }
  let body: string;
  if (exp < 0) body = `0.${"0".repeat(-exp - 1)}${digits}`;
  else if (digits.length <= exp + 1) body = digits + "0".repeat(exp + 1 - digits.length) + (addDotZero ? ".0" : "");
  else body = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  return sign + body;
}

const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python's `repr(str)`. */
export function reprString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (cp < 0x20 || cp === 0x7f) out += "\\x" + cp.toString(16).padStart(2, "0");
    else if (cp < 0x7f || ch === " ") out += ch;
    else if (!NON_PRINTABLE.test(ch)) out += ch;
    else if (cp <= 0xff) out += "\\x" + cp.toString(16).padStart(2, "0");
    else if (cp <= 0xffff) out += "\\u" + cp.toString(16).padStart(4, "0");
    else out += "\\U" + cp.toString(16).padStart(8, "0");
  }
  return out + quote;
}

function reprBytes(b: Uint8Array): string {
  let hasSingle = false;
  let hasDouble = false;
  for (const c of b) {
    if (c === 0x27) hasSingle = true;
    if (c === 0x22) hasDouble = true;
  }
  const quote = hasSingle && !hasDouble ? '"' : "'";
  let out = "b" + quote;
  for (const c of b) {
    const ch = String.fromCharCode(c);
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (c < 0x20 || c >= 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + quote;
}

function reprComplex(re: number, im: number): string {
  const imText = formatFloat(im, false) + "j";
  if (re === 0 && !Object.is(re, -0)) return imText;
  const sign = im < 0 || Object.is(im, -0) ? "" : "+";
  return `(${formatFloat(re, false)}${sign}${imText})`;
}

/** Python's `repr()` of a parsed literal. */
export function pyRepr(v: PyValue): string {
  switch (v.t) {
    case "int":
      return v.v.toString();
    case "float":
      return formatFloat(v.v);
    case "complex":
      return reprComplex(v.re, v.im);
    case "str":
      return reprString(v.v);
    case "bytes":
      return reprBytes(v.v);
    case "bool":
      return v.v ? "True" : "False";
    case "none":
      return "None";
    case "ellipsis":
      return "Ellipsis";
    case "list":
      return `[${v.items.map(pyRepr).join(", ")}]`;
    case "tuple":
      return v.items.length === 1 ? `(${pyRepr(v.items[0]!)},)` : `(${v.items.map(pyRepr).join(", ")})`;
    case "set":
      return v.items.length === 0 ? "set()" : `{${v.items.map(pyRepr).join(", ")}}`;
    case "dict":
      return `{${v.entries.map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(", ")}}`;
  }
}

/** Python's `str()` of a parsed literal (text as itself, everything else as repr). */
export function pyStr(v: PyValue): string {
  return v.t === "str" ? v.v : pyRepr(v);
}

/** JavaScript value of a parsed literal: numbers, strings, booleans, null, arrays, objects. */
export function pyToJs(v: PyValue): unknown {
  switch (v.t) {
    case "int":
      return Number(v.v);
    case "float":
      return v.v;
    case "complex":
      return { real: v.re, imag: v.im };
    case "str":
      return v.v;
    case "bytes":
      return v.v;
    case "bool":
      return v.v;
    case "none":
      return null;
    case "ellipsis":
      return "Ellipsis";
    case "list":
    case "tuple":
    case "set":
      return v.items.map(pyToJs);
    case "dict": {
      const out: Record<string, unknown> = {};
      for (const [k, x] of v.entries) {
        Object.defineProperty(out, pyStr(k), { value: pyToJs(x), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
  }
}

/** Python's `str(datetime)` for a JavaScript Date (UTC): "YYYY-MM-DD HH:MM:SS[.ffffff]". */
export function formatDateTime(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const base = `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(
    d.getUTCMinutes(),
  )}:${p(d.getUTCSeconds())}`;
  const ms = d.getUTCMilliseconds();
  return ms === 0 ? base : `${base}.${p(ms * 1000, 6)}`;
}

function isFloatNumber(x: number): boolean {
  return !Number.isInteger(x) || Math.abs(x) >= 2 ** 53 || Object.is(x, -0);
}

/**
 * The Python value a JavaScript value stands for. Numbers are ints when they
 * are safe integers and floats otherwise; `asFloat` forces floats. In an
 * array of numbers with any float, every number is a float (as a numpy
 * array or a list of measurements would be).
 */
export function jsToPy(value: unknown, asFloat = false): PyValue {
  if (value === null || value === undefined) return { t: "none" };
  if (typeof value === "string") return { t: "str", v: value };
  if (typeof value === "boolean") return { t: "bool", v: value };
  if (typeof value === "bigint") return { t: "int", v: value };
  if (typeof value === "number") {
    return asFloat || isFloatNumber(value) ? { t: "float", v: value } : { t: "int", v: BigInt(value) };
  }
  if (value instanceof Date) return { t: "str", v: formatDateTime(value) };
  if (value instanceof Uint8Array) return { t: "bytes", v: value };
  if (Array.isArray(value)) {
    const floats = asFloat || (value.every((x) => typeof x === "number") && value.some((x) => isFloatNumber(x as number)));
    return { t: "list", items: value.map((x) => jsToPy(x, floats && typeof x === "number")) };
  }
  if (typeof value === "object") {
    return {
      t: "dict",
      entries: Object.entries(value as Record<string, unknown>).map(([k, x]) => [{ t: "str", v: k }, jsToPy(x)] as [PyValue, PyValue]),
    };
  }
  return { t: "str", v: String(value) };
}

/** Python's `str(value)` for a JavaScript value (see {@link jsToPy}). */
export function pythonStr(value: unknown, asFloat = false): string {
  return pyStr(jsToPy(value, asFloat));
}

/**
 * offspect's `parse_traceattrs` for one value, as a parsed literal: the text's
 * literal, or on failure the text itself, except "inf" and "nan" (floats) and
 * any unparseable `xyz_coords` (three NaNs).
 */
export function parseAttrValue(key: string, text: string): PyValue {
  try {
    return literalEval(text);
  } catch (e) {
    if (!(e instanceof PyLiteralError)) throw e;
    if (key === "xyz_coords") {
      const nan: PyValue = { t: "float", v: NaN };
      return { t: "list", items: [nan, nan, nan] };
    }
    if (text === "inf") return { t: "float", v: Infinity };
    if (text === "nan") return { t: "float", v: NaN };
    return { t: "str", v: text };
  }
}

const RE_PLAIN_INT = /^(?:0|-?[1-9][0-9]*)$/;
const RE_WORD = /^[A-Za-z_][A-Za-z0-9_]*$/;
const normalized = new Map<string, string>();

/**
 * What offspect stores when it parses a value and writes it back (`merge`
 * and `populate` write `str(parse_traceattrs(...)[key])`). Common forms take
 * a shortcut with the same result, and answers are memoized, since merging
 * normalizes every attribute of every trace.
 */
export function normalizeAttrValue(key: string, text: string): string {
  if (key !== "xyz_coords") {
    // Decimal integers print as themselves; a bare word is a Python name
    // (literal_eval fails, the text stays) unless it is True, False or None,
    // which also print as themselves.
    if (RE_PLAIN_INT.test(text) || RE_WORD.test(text)) return text;
  }
  const memoKey = key === "xyz_coords" ? "x\u0000" + text : text;
  let out = normalized.get(memoKey);
  if (out === undefined) {
    out = pyStr(parseAttrValue(key, text));
    if (normalized.size >= 100_000) normalized.clear();
    normalized.set(memoKey, out);
  }
  return out;
}
