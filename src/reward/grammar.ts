/**
 * The few pieces of GLM-V's output grammar the reward system needs: box contents (`\boxed{}` first, then
 * `<|begin_of_box|>…<|end_of_box|>`), removal of a judge reply's reasoning, and safe Python-literal parsing.
 *
 * This is an adapter: once src/protocol exports the same operations, these functions delegate to it so that
 * nothing in the project parses the grammar twice. The format gate (tag counting) is reward logic and stays in
 * gate.ts.
 */

/** The begin-of-box special token. */
export const BEGIN_OF_BOX = "<|begin_of_box|>";
/** The end-of-box special token. */
export const END_OF_BOX = "<|end_of_box|>";

/** Contents of every top-level `\boxed{…}` (brace-matched; nested braces and boxes stay as text). */
export function boxedContents(text: string): string[] {
  const out: string[] = [];
  let from = 0;
  for (;;) {
    const start = text.indexOf("\\boxed{", from);
    if (start < 0) break;
    let depth = 1;
    let i = start + 7;
    for (; i < text.length && depth > 0; i++) {
      const c = text.charCodeAt(i);
      if (c === 123) depth++;
      else if (c === 125) depth--;
    }
    if (depth !== 0) break; // unclosed: not a box
    out.push(text.slice(start + 7, i - 1));
    from = i;
  }
  return out;
}

/** Trimmed contents of every outermost `<|begin_of_box|>…<|end_of_box|>` pair; unmatched tokens are ignored. */
export function boxTokenContents(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let contentStart = 0;
  let i = text.indexOf("<|", 0);
  while (i >= 0) {
    if (text.startsWith(BEGIN_OF_BOX, i)) {
      if (depth === 0) contentStart = i + BEGIN_OF_BOX.length;
      depth++;
      i = text.indexOf("<|", i + BEGIN_OF_BOX.length);
    } else if (text.startsWith(END_OF_BOX, i)) {
      if (depth > 0) {
        depth--;
        if (depth === 0) out.push(text.slice(contentStart, i).trim());
      }
      i = text.indexOf("<|", i + END_OF_BOX.length);
    } else i = text.indexOf("<|", i + 2);
  }
  return out;
}

/** Box contents as the reward extractors read them: `\boxed{}` if any is present, else the box tokens. */
export function boxContents(text: string): string[] {
  return text.includes("\\boxed{") ? boxedContents(text) : boxTokenContents(text);
}

/** The visible part of a judge's reply: the text after the first `</think>`; "" for unterminated reasoning. */
export function visibleText(reply: string): string {
  const close = reply.indexOf("</think>");
  if (close >= 0) return reply.slice(close + 8);
  if (reply.trimStart().startsWith("<think>")) return "";
  return reply;
}

/** A Python literal that could not be parsed. */
export class PythonLiteralError extends Error {
  override name = "PythonLiteralError";
}

/**
 * Parses a Python literal safely (no evaluation): dicts, lists, tuples (as arrays), strings in either quote,
 * numbers, True/False/None. JSON is a subset. Throws PythonLiteralError on anything else.
 */
export function parsePythonLiteral(text: string): unknown {
  let i = 0;
  const fail = (what: string): never => {
    throw new PythonLiteralError(`not a Python literal: ${what} at offset ${i}`);
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const obj: Record<string, unknown> = {};
      ws();
      if (text[i] === "}") {
        i++;
        return obj;
      }
      for (;;) {
        const key = value();
        if (typeof key !== "string" && typeof key !== "number") fail("dict key");
        ws();
        if (text[i] !== ":") fail("expected ':'");
        i++;
        obj[String(key)] = value();
        ws();
        if (text[i] === ",") {
          i++;
          ws();
          if (text[i] === "}") {
            i++;
            return obj;
          }
          continue;
        }
        if (text[i] === "}") {
          i++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === "[" || c === "(") {
      const close = c === "[" ? "]" : ")";
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === close) {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value());
        ws();
        if (text[i] === ",") {
          i++;
          ws();
          if (text[i] === close) {
            i++;
            return arr;
          }
          continue;
        }
        if (text[i] === close) {
          i++;
          return arr;
        }
        fail(`expected ',' or '${close}'`);
      }
    }
    if (c === '"' || c === "'") {
      i++;
      let s = "";
      while (i < text.length && text[i] !== c) {
        if (text[i] === "\\") {
          const e = text[i + 1];
          const map: Record<string, string> = {
            n: "\n",
            t: "\t",
            r: "\r",
            "\\": "\\",
            "'": "'",
            '"': '"',
            "/": "/",
          };
          if (e === "u") {
            s += String.fromCharCode(Number.parseInt(text.slice(i + 2, i + 6), 16));
            i += 6;
            continue;
          }
          s += map[e] ?? `\\${e}`;
          i += 2;
          continue;
        }
        s += text[i++];
      }
      if (text[i] !== c) fail("unterminated string");
      i++;
      return s;
    }
    const word = /^(True|False|None|true|false|null)\b/.exec(text.slice(i, i + 6));
    if (word) {
      i += word[1].length;
      return word[1] === "True" || word[1] === "true"
        ? true
        : word[1] === "None" || word[1] === "null"
          ? null
          : false;
    }
    const num = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(text.slice(i, i + 64));
    if (num) {
      i += num[0].length;
      const digits = num[0].replace(/^[-+]/, "");
      // Python 3 rejects leading zeros on integers; be lenient (the model writes 0-999 coordinates).
      return Number(num[0].startsWith("-") ? `-${digits}` : digits);
    }
    return fail(c === undefined ? "unexpected end" : `unexpected '${c}'`);
  };
  const result = value();
  ws();
  if (i !== text.length) fail("trailing text");
  return result;
}
