/**
 * Python-compatible values for GLM-4.5 tool-call arguments (spec §4.3): an order-preserving JSON parser,
 * a safe Python-literal parser (the subset `ast.literal_eval` accepts that `json.dumps` can serialise), and
 * a serialiser that writes like Python `json.dumps(value, ensure_ascii=False)`.
 *
 * Values keep what JavaScript numbers and objects would lose: ints are `bigint` (any size), floats are
 * `PyFloat` (so `1.0` stays `1.0`), and dicts are `Map`s (insertion order even for keys like `"2"`).
 */

/** A Python float, kept apart from ints so that it serialises as Python writes it (`1.0`, `1e-07`). */
export class PyFloat {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
}

/** A JSON-serialisable Python value: None, bool, str, int, float, list/tuple, dict. */
export type PyValue = null | boolean | string | bigint | PyFloat | PyValue[] | PyDict;

/** A Python dict whose keys are already in their JSON form (`json.dumps` converts int/bool/None keys). */
export type PyDict = Map<string, PyValue>;

/** Thrown internally when a text is not a literal of the grammar being tried. */
class NotALiteral extends Error {
  override name = "NotALiteral";
}

/**
 * Parses strict JSON (RFC 8259, as Python `json.loads` reads it, minus NaN/Infinity) into a PyValue.
 * Returns undefined when the text is not valid JSON or holds a non-finite number.
 */
export function parseJsonValue(text: string): PyValue | undefined {
  return tryParse(text, "json");
}

/**
 * Parses a Python literal (True/False/None, ints in any base, floats, strings with ' or " or triple quotes
 * and r/u prefixes, tuples, lists, dicts; a bare top-level tuple `1, 2`) into a PyValue.
 * Returns undefined for anything else, for values `json.dumps` cannot write (sets, bytes, complex,
 * tuple or list dict keys) and for non-finite floats.
 */
export function parsePythonLiteral(text: string): PyValue | undefined {
  return tryParse(text, "python");
}

function tryParse(text: string, mode: "json" | "python"): PyValue | undefined {
  try {
    return new LiteralParser(text, mode).parseDocument();
  } catch (error) {
    if (error instanceof NotALiteral) return undefined;
    throw error;
  }
}

const JSON_WS = new Set([" ", "\t", "\n", "\r"]);
const PY_WS = new Set([" ", "\t", "\n", "\r", "\f", "\v"]);

class LiteralParser {
  private readonly src: string;
  private readonly mode: "json" | "python";
  private pos = 0;

  constructor(src: string, mode: "json" | "python") {
    this.src = src;
    this.mode = mode;
  }

  parseDocument(): PyValue {
    this.skipWs();
    let value = this.parseValue();
    this.skipWs();
    if (this.mode === "python" && this.peek() === ",") {
      // A bare tuple: `1, 2` is a valid literal_eval input.
      const items = [value];
      while (this.peek() === ",") {
        this.pos++;
        this.skipWs();
        if (this.pos >= this.src.length) break;
        items.push(this.parseValue());
        this.skipWs();
      }
      value = items;
    }
    if (this.pos !== this.src.length) this.fail();
    return value;
  }

  private fail(): never {
    throw new NotALiteral(`not a ${this.mode} literal at ${this.pos}`);
  }

  private peek(): string {
    return this.src[this.pos] ?? "";
  }

  private skipWs(): void {
    const ws = this.mode === "json" ? JSON_WS : PY_WS;
    while (this.pos < this.src.length && ws.has(this.src[this.pos])) this.pos++;
  }

  private expect(ch: string): void {
    if (this.src[this.pos] !== ch) this.fail();
    this.pos++;
  }

  private parseValue(): PyValue {
    const c = this.peek();
    if (c === "{") return this.parseDict();
    if (c === "[") return this.parseSequence("[", "]");
    if (c === "(" && this.mode === "python") return this.parseParen();
    if (c === '"' || (c === "'" && this.mode === "python")) return this.parseStrings();
    if (c === "-" || c === "+" || c === "." || (c >= "0" && c <= "9")) return this.parseNumber();
    if (/[A-Za-z_]/.test(c)) return this.parseWord();
    return this.fail();
  }

  private parseWord(): PyValue {
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.pos));
    if (!match) return this.fail();
    const word = match[0];
    const lower = word.toLowerCase();
    // Python string prefixes: r, u (and combinations). b and f prefixes are not JSON-serialisable / literals.
    if (this.mode === "python" && (lower === "r" || lower === "u")) {
      const next = this.src[this.pos + word.length];
      if (next === "'" || next === '"') return this.parseStrings();
    }
    this.pos += word.length;
    const table: Record<string, PyValue> =
      this.mode === "json"
        ? { true: true, false: false, null: null }
        : { True: true, False: false, None: null };
    if (Object.hasOwn(table, word)) return table[word];
    return this.fail();
  }

  private parseSequence(open: string, close: string): PyValue[] {
    this.expect(open);
    const items: PyValue[] = [];
    this.skipWs();
    if (this.peek() === close) {
      this.pos++;
      return items;
    }
    for (;;) {
      this.skipWs();
      if (this.mode === "python" && this.peek() === close && items.length > 0) {
        this.pos++;
        return items;
      }
      items.push(this.parseValue());
      this.skipWs();
      const c = this.peek();
      if (c === ",") {
        this.pos++;
        continue;
      }
      if (c === close) {
        this.pos++;
        return items;
      }
      return this.fail();
    }
  }

  /** `()` empty tuple, `(x)` a parenthesised value, `(x,)` / `(x, y)` tuples. */
  private parseParen(): PyValue {
    this.expect("(");
    this.skipWs();
    if (this.peek() === ")") {
      this.pos++;
      return [];
    }
    const first = this.parseValue();
    this.skipWs();
    if (this.peek() === ")") {
      this.pos++;
      return first;
    }
    if (this.peek() !== ",") return this.fail();
    const items = [first];
    while (this.peek() === ",") {
      this.pos++;
      this.skipWs();
      if (this.peek() === ")") break;
      items.push(this.parseValue());
      this.skipWs();
    }
    this.expect(")");
    return items;
  }

  private parseDict(): PyDict {
    this.expect("{");
    const dict: PyDict = new Map();
    this.skipWs();
    if (this.peek() === "}") {
      this.pos++;
      return dict;
    }
    for (;;) {
      this.skipWs();
      if (this.mode === "python" && this.peek() === "}" && dict.size > 0) {
        this.pos++;
        return dict;
      }
      const key = this.mode === "json" ? this.parseJsonKey() : dictKey(this.parseValue(), () => this.fail());
      this.skipWs();
      // A Python set literal ({1, 2}) has no colon: sets are not JSON-serialisable, so fail here too.
      this.expect(":");
      this.skipWs();
      const value = this.parseValue();
      dict.set(key, value);
      this.skipWs();
      const c = this.peek();
      if (c === ",") {
        this.pos++;
        continue;
      }
      if (c === "}") {
        this.pos++;
        return dict;
      }
      return this.fail();
    }
  }

  private parseJsonKey(): string {
    if (this.peek() !== '"') return this.fail();
    return this.parseJsonString();
  }

  /** A string, plus (Python) adjacent string literals, which Python concatenates. */
  private parseStrings(): string {
    if (this.mode === "json") return this.parseJsonString();
    let out = this.parsePythonString();
    for (;;) {
      const save = this.pos;
      this.skipWs();
      const c = this.peek();
      const next = this.src[this.pos + 1];
      const prefixed = /[rRuU]/.test(c) && (next === "'" || next === '"');
      if (c === "'" || c === '"' || prefixed) out += this.parsePythonString();
      else {
        this.pos = save;
        return out;
      }
    }
  }

  private parseJsonString(): string {
    this.expect('"');
    let out = "";
    for (;;) {
      if (this.pos >= this.src.length) return this.fail();
      const c = this.src[this.pos++];
      if (c === '"') return out;
      if (c < " ") return this.fail(); // control characters must be escaped (json.loads strict mode)
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = this.src[this.pos++];
      const simple: Record<string, string> = {
        '"': '"',
        "\\": "\\",
        "/": "/",
        b: "\b",
        f: "\f",
        n: "\n",
        r: "\r",
        t: "\t",
      };
      if (e !== undefined && Object.hasOwn(simple, e)) out += simple[e];
      else if (e === "u") {
        const hex = this.src.slice(this.pos, this.pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) return this.fail();
        out += String.fromCharCode(Number.parseInt(hex, 16));
        this.pos += 4;
      } else return this.fail();
    }
  }

  private parsePythonString(): string {
    let raw = false;
    while (/[rRuU]/.test(this.peek())) {
      if (/[rR]/.test(this.peek())) raw = true;
      this.pos++;
    }
    const q = this.peek();
    if (q !== "'" && q !== '"') return this.fail();
    const triple = this.src.startsWith(q.repeat(3), this.pos);
    const closer = triple ? q.repeat(3) : q;
    this.pos += closer.length;
    let out = "";
    for (;;) {
      if (this.pos >= this.src.length) return this.fail();
      if (this.src.startsWith(closer, this.pos)) {
        this.pos += closer.length;
        return out;
      }
      const c = this.src[this.pos++];
      if ((c === "\n" || c === "\r") && !triple) return this.fail();
      if (c !== "\\") {
        out += c;
        continue;
      }
      if (this.pos >= this.src.length) return this.fail();
      const e = this.src[this.pos++];
      if (raw) {
        // Raw strings keep the backslash; it still stops the next character from closing the string.
        out += c + e;
        continue;
      }
      out += this.pythonEscape(e);
    }
  }

  private pythonEscape(e: string): string {
    const simple: Record<string, string> = {
      "\n": "",
      "\\": "\\",
      "'": "'",
      '"': '"',
      a: "\x07",
      b: "\b",
      f: "\f",
      n: "\n",
      r: "\r",
      t: "\t",
      v: "\v",
    };
    if (Object.hasOwn(simple, e)) return simple[e];
    if (e >= "0" && e <= "7") {
      let digits = e;
      while (digits.length < 3 && /[0-7]/.test(this.peek())) digits += this.src[this.pos++];
      return String.fromCodePoint(Number.parseInt(digits, 8));
    }
    const hexLength = e === "x" ? 2 : e === "u" ? 4 : e === "U" ? 8 : 0;
    if (hexLength > 0) {
      const hex = this.src.slice(this.pos, this.pos + hexLength);
      if (hex.length !== hexLength || !/^[0-9a-fA-F]+$/.test(hex)) return this.fail();
      const code = Number.parseInt(hex, 16);
      if (code > 0x10ffff) return this.fail();
      this.pos += hexLength;
      return String.fromCodePoint(code);
    }
    if (e === "N") return this.fail(); // \N{NAME} needs the Unicode name table; not supported
    return "\\" + e; // Python keeps unknown escapes as written
  }

  private parseNumber(): PyValue {
    const rest = this.src.slice(this.pos);
    if (this.mode === "json") {
      const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(rest);
      if (!m) return this.fail();
      this.pos += m[0].length;
      if (m[1] === undefined && m[2] === undefined) return BigInt(m[0]);
      return finiteFloat(Number(m[0]), () => this.fail());
    }
    // Python: one optional unary sign (ast.literal_eval allows +x / -x on a numeric constant).
    let sign = "";
    if (rest[0] === "-" || rest[0] === "+") {
      sign = rest[0];
      this.pos++;
      this.skipWs();
    }
    const body = this.src.slice(this.pos);
    const based = /^0([xX](?:_?[0-9a-fA-F])+|[oO](?:_?[0-7])+|[bB](?:_?[01])+)(?![0-9A-Za-z_.])/.exec(body);
    if (based) {
      this.pos += based[0].length;
      const value = BigInt(based[0].replaceAll("_", ""));
      return sign === "-" ? -value : value;
    }
    const digits = "\\d(?:_?\\d)*";
    const floatRe = new RegExp(
      `^(?:(?:${digits})?\\.${digits}|${digits}\\.?)(?:[eE][+-]?${digits})?(?![0-9A-Za-z_.])`,
    );
    const m = floatRe.exec(body);
    if (!m || m[0] === ".") return this.fail();
    this.pos += m[0].length;
    const text = m[0].replaceAll("_", "");
    if (/^\d+$/.test(text)) {
      // Decimal ints: leading zeros are only allowed for zero itself ("00" is 0, "007" is a SyntaxError).
      if (text.length > 1 && text[0] === "0" && /[1-9]/.test(text)) return this.fail();
      const value = BigInt(text);
      return sign === "-" ? -value : value;
    }
    const value = Number(text);
    return finiteFloat(sign === "-" ? -value : value, () => this.fail());
  }
}

function finiteFloat(value: number, fail: () => never): PyFloat {
  // Spec §4.3: NaN and Infinity are rejected (the whole value then stays a string).
  if (!Number.isFinite(value)) fail();
  return new PyFloat(value);
}

/** Converts a Python dict key the way `json.dumps` does (str, int, float, bool, None); others are errors. */
function dictKey(key: PyValue, fail: () => never): string {
  if (typeof key === "string") return key;
  if (typeof key === "bigint") return key.toString();
  if (key instanceof PyFloat) return pythonFloatRepr(key.value);
  if (key === true) return "true";
  if (key === false) return "false";
  if (key === null) return "null";
  return fail();
}

/** Python's `repr(float)`: shortest round-trip digits, scientific below 1e-4 and from 1e16 (`1e-07`, `1e+16`). */
export function pythonFloatRepr(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const sign = value < 0 ? "-" : "";
  const [mantissa, expText] = Math.abs(value).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = `${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
    return `${sign}${m}e${e}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
  const frac = digits.slice(exp + 1) || "0";
  return `${sign}${intPart}.${frac}`;
}

/** A JSON string literal as Python `json.dumps(s, ensure_ascii=False)` writes it. */
export function pythonJsonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const code = text.charCodeAt(i);
    if (c === '"') out += '\\"';
    else if (c === "\\") out += "\\\\";
    else if (c === "\n") out += "\\n";
    else if (c === "\r") out += "\\r";
    else if (c === "\t") out += "\\t";
    else if (c === "\b") out += "\\b";
    else if (c === "\f") out += "\\f";
    else if (code < 0x20) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else if (code >= 0xd800 && code <= 0xdfff) {
      // Keep surrogate pairs; escape lone surrogates so that the output stays valid UTF-8 JSON.
      const next = text.charCodeAt(i + 1);
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += c + text[i + 1];
        i++;
      } else out += `\\u${code.toString(16)}`;
    } else out += c;
  }
  return out + '"';
}

/** Serialises a PyValue like Python `json.dumps(value, ensure_ascii=False)`: `", "` and `": "` separators. */
export function dumpsPython(value: PyValue): string {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "string") return pythonJsonString(value);
  if (typeof value === "bigint") return value.toString();
  if (value instanceof PyFloat) return pythonFloatRepr(value.value);
  if (Array.isArray(value)) return `[${value.map(dumpsPython).join(", ")}]`;
  const parts: string[] = [];
  for (const [k, v] of value) parts.push(`${pythonJsonString(k)}: ${dumpsPython(v)}`);
  return `{${parts.join(", ")}}`;
}

/**
 * Converts a PyValue to plain JavaScript data (ints that fit become numbers, bigger ones stay bigint;
 * dicts become objects). Use it when a caller wants `JSON.parse`-like output.
 */
export function toPlain(value: PyValue): unknown {
  if (typeof value === "bigint") {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value;
  }
  if (value instanceof PyFloat) return value.value;
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) out[k] = toPlain(v);
    return out;
  }
  return value;
}

/**
 * Converts plain JavaScript data (as from `JSON.parse`) to a PyValue: integral numbers become ints,
 * other numbers floats, objects dicts. Non-finite numbers and unsupported types become null.
 */
export function fromPlain(value: unknown): PyValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "boolean" || typeof value === "string" || typeof value === "bigint") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return null;
    return Number.isInteger(value) ? BigInt(value) : new PyFloat(value);
  }
  if (Array.isArray(value)) return value.map(fromPlain);
  if (value instanceof PyFloat) return value;
  if (value instanceof Map) return new Map(Array.from(value, ([k, v]) => [String(k), fromPlain(v)]));
  if (typeof value === "object") {
    return new Map(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, fromPlain(v)]));
  }
  return null;
}
