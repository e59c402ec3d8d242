/**
 * The pipeline's gates (spec §11.2 steps 1–2) and the answer-part helpers the extractors share.
 * Pure functions over strings; the box reading itself comes from grammar.ts.
 */
import { BEGIN_OF_BOX, boxContents, END_OF_BOX } from "./grammar.ts";

// Python's `$` also matches before one final newline: `\n?$` reproduces it.
const THINK_ANSWER = /^<think>([\s\S]*?)<\/think>\s*<answer>([\s\S]*?)<\/answer>\n?$/i;
const THINK_REST = /^<think>([\s\S]*?)<\/think>([\s\S]*)$/i;
const NESTED_TAG = /<\/?(think|answer)>/i;

/** The two parts of a response in the `<think>…</think><answer>…</answer>` form. */
export interface ThinkAnswer {
  think: string;
  answer: string;
}

/** Splits a `<think>…</think><answer>…</answer>` response; null when it does not have that form. */
export function matchThinkAnswer(text: string): ThinkAnswer | null {
  const m = THINK_ANSWER.exec(text);
  return m ? { think: m[1], answer: m[2] } : null;
}

function count(haystack: string, needle: string): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + needle.length)) n++;
  return n;
}

/**
 * The format gate: the response must be `<think>R</think><answer>A</answer>`, neither part may contain those
 * tags again, and A must hold at most one `<|begin_of_box|>`, at most one `<|end_of_box|>` and no `\boxed{`.
 * Returns null when the gate passes, else the reason.
 */
export function formatGateFailure(text: string): string | null {
  const parts = matchThinkAnswer(text);
  if (!parts) return "not in the <think>…</think><answer>…</answer> form";
  if (NESTED_TAG.test(parts.think) || NESTED_TAG.test(parts.answer)) return "nested <think>/<answer> tags";
  const answer = parts.answer.trim();
  if (count(answer, BEGIN_OF_BOX) > 1 || count(answer, END_OF_BOX) > 1)
    return "more than one box in the answer";
  if (answer.includes("\\boxed{")) return "\\boxed{} in the answer (use the box tokens)";
  return null;
}

const WORD_CHAR = /[\p{L}\p{N}_]/u;

/** Whether a UTF-16 unit (with its neighbour for surrogates) is a Unicode word character, as Python's \w. */
function isWordChar(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 128) return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  if (c >= 0xdc00 && c <= 0xdfff && i > 0) return WORD_CHAR.test(text.slice(i - 1, i + 1));
  if (c >= 0xd800 && c <= 0xdbff) return WORD_CHAR.test(text.slice(i, i + 2));
  return WORD_CHAR.test(text[i]);
}

function isLongChinese(paragraph: string): boolean {
  if (paragraph.length < 50) return false;
  let n = 0;
  for (let i = 0; i < paragraph.length; i++) {
    const c = paragraph.charCodeAt(i);
    if (c >= 0x4e00 && c <= 0x9fff) n++;
  }
  return n >= 50 && n / paragraph.length > 0.8;
}

const isSpace = (c: number) =>
  c === 32 ||
  (c >= 9 && c <= 13) ||
  c === 0x3000 ||
  c === 0xa0 ||
  c === 0x2028 ||
  c === 0x2029 ||
  c === 0x85 ||
  (c >= 0x2000 && c <= 0x200a) ||
  c === 0x1680 ||
  c === 0x202f ||
  c === 0x205f ||
  (c >= 0x1c && c <= 0x1f);

function tokenCount(paragraph: string): number {
  let n = 0;
  let inToken = false;
  for (let i = 0; i < paragraph.length; i++) {
    const space = isSpace(paragraph.charCodeAt(i));
    if (!space && !inToken) n++;
    inToken = !space;
  }
  return n;
}

/** Count of `\b[a-zA-Z]{2,}\b` matches with Python's Unicode word boundaries. */
export function englishWordCount(text: string): number {
  let n = 0;
  let i = 0;
  const len = text.length;
  while (i < len) {
    const c = text.charCodeAt(i);
    const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (!letter) {
      i++;
      continue;
    }
    const start = i;
    while (i < len) {
      const d = text.charCodeAt(i);
      if (!((d >= 65 && d <= 90) || (d >= 97 && d <= 122))) break;
      i++;
    }
    // A run of ASCII letters is a word when it has 2+ letters and no word character touches either end.
    if (
      i - start >= 2 &&
      (start === 0 || !isWordChar(text, start - 1)) &&
      (i === len || !isWordChar(text, i))
    )
      n++;
    // Skip the rest of a longer word (digits, accents…) so that its tail is not counted.
    while (i < len && isWordChar(text, i)) i++;
  }
  return n;
}

function isLongEnglish(paragraph: string): boolean {
  const tokens = tokenCount(paragraph);
  if (tokens < 200) return false; // 200 words need at least 200 tokens
  const words = englishWordCount(paragraph);
  return words >= 200 && words / (tokens + 1e-5) > 0.7;
}

/**
 * The language-mix test (spec §11.2 step 2): true when the text has both a long Chinese paragraph (≥ 50 CJK
 * characters, > 80% of it) and a long English paragraph (≥ 200 words, > 70% of its tokens). Paragraphs are
 * separated by two or more newlines.
 */
export function isLanguageMixed(text: string): boolean {
  const paragraphs = text.split(/\n{2,}/).map((p) => p.trim());
  let chinese = false;
  let english = false;
  for (const p of paragraphs) {
    if (!chinese && isLongChinese(p)) chinese = true;
    else if (!english && isLongEnglish(p)) english = true;
    if (chinese && english) return true;
  }
  return false;
}

/** The answer part of a think/answer response with no nested tags; null otherwise. */
export function thinkAnswerPart(text: string): string | null {
  const parts = matchThinkAnswer(text);
  if (!parts || NESTED_TAG.test(parts.think) || NESTED_TAG.test(parts.answer)) return null;
  return parts.answer;
}

/**
 * The text after `</think>` of a `<think>…</think>…` response. One `<answer>…</answer>` wrapper around it is
 * removed: the pipeline's gate requires that wrapper, and upstream's chart/counting extractors rejected it so
 * they always scored the minimum (upstream defect 3, fixed here). Returns null without the think block, or
 * when think/answer tags remain after unwrapping.
 */
export function afterThinkPart(text: string): string | null {
  const m = THINK_REST.exec(text);
  if (!m) return null;
  return unwrapAnswer(m[2]);
}

/** Removes one `<answer>…</answer>` wrapper; null when think/answer tags remain. */
export function unwrapAnswer(text: string): string | null {
  const wrapped = /^\s*<answer>([\s\S]*)<\/answer>\s*$/i.exec(text);
  const rest = wrapped ? wrapped[1] : text;
  return NESTED_TAG.test(rest) ? null : rest;
}

/**
 * Exactly one box in `part` (`\boxed{}` first, then box tokens), trimmed. With `strict` false and no box at
 * all, the whole part, trimmed. Null otherwise.
 */
export function singleBox(part: string, strict: boolean): string | null {
  const boxes = boxContents(part);
  if (boxes.length === 1) return boxes[0].trim();
  if (boxes.length === 0 && !strict) return part.trim();
  return null;
}
