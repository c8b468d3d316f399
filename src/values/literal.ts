/**
 * Python's `ast.literal_eval`: the parser of Python literal syntax offspect
 * reads stored attribute text with (`parse_traceattrs`, which feeds
 * `recover_annotations`, `merge` and the peek text).
 *
 * Values come back as tagged {@link PyValue}s, which keep what JavaScript
 * numbers lose: an `int` is a `bigint` (every digit kept) and a `float` a
 * number, so `1` and `1.0` stay apart. `JSON.stringify` refuses bigints:
 * turn a PyValue into plain JavaScript with `pyToJs` first (ints become
 * numbers), or print it as Python does with `pyRepr`/`pyStr`.
 * @module
 */
import { describe } from "../base/errors.js";
import { ArgumentTypeError, PyLiteralError } from "./errors.js";

/** A parsed Python literal. `int`s are bigints, so no digit is lost; see the module note on JSON. */
export type PyValue =
  | { t: "int"; v: bigint }
  | { t: "float"; v: number }
  | { t: "complex"; re: number; im: number }
  | { t: "str"; v: string }
  | { t: "bytes"; v: Uint8Array }
  | { t: "bool"; v: boolean }
  | { t: "none" }
  | { t: "ellipsis" }
  | { t: "datetime"; v: Date }
  | { t: "list" | "tuple" | "set"; items: PyValue[] }
  | { t: "dict"; entries: [PyValue, PyValue][] };

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
    throw new PyLiteralError(this.s, message, this.pos);
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

/** A tree literal_eval refuses (Python: ValueError "malformed node or string"). */
class MalformedNode extends Error {}

function isNumber(v: PyValue): boolean {
  return v.t === "int" || v.t === "float" || v.t === "complex";
}

function toFloatParts(v: PyValue): { re: number; im: number } {
  if (v.t === "int") return { re: Number(v.v), im: 0 };
  if (v.t === "float") return { re: v.v, im: 0 };
  if (v.t === "complex") return { re: v.re, im: v.im };
  throw new MalformedNode("malformed node");
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
      if (right.t !== "complex") throw new MalformedNode("malformed node or string");
      const l = toFloatParts(left);
      return node.op === "+"
        ? { t: "complex", re: l.re + right.re, im: l.im + right.im }
        : { t: "complex", re: l.re - right.re, im: l.im - right.im };
    }
  }
}

function plainNumber(node: Node): PyValue {
  if (node.k !== "const" || !isNumber(node.v)) throw new MalformedNode("malformed node or string");
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
 *
 * Ints are bigints (`{ t: "int", v: 12345678901234567890n }`), so
 * `JSON.stringify(literalEval(text))` throws on them; `pyToJs` gives plain
 * JavaScript values (ints as numbers) and `pyRepr`/`pyStr` Python's text.
 * @throws {PyLiteralError} where Python raises SyntaxError or ValueError
 * @throws {ArgumentTypeError} (a TypeError) the argument is not a string
 * @example
 * literalEval("[37.0, 22.8, 54.2]") // { t: "list", items: [{ t: "float", v: 37 }, { t: "float", v: 22.8 }, ...] }
 * literalEval("66")                 // { t: "int", v: 66n }
 * pyToJs(literalEval("[1, 2.5]"))   // [1, 2.5]: JSON-ready
 */
export function literalEval(text: string): PyValue {
  if (typeof text !== "string") throw new ArgumentTypeError(`expected a string for literalEval, got ${describe(text)}`);
  const stripped = text.replace(/^[ \t]+/, "");
  const tree = new Parser(stripped).parseInput();
  try {
    return convert(tree);
  } catch (e) {
    if (e instanceof MalformedNode) throw new PyLiteralError(stripped, e.message, 0);
    throw e;
  }
}
