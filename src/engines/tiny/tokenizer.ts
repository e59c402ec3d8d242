/**
 * A small, real byte-level BPE tokenizer for the tiny GLM-V test models: GPT-2's byte-to-unicode alphabet (256
 * byte tokens), merges learned from a short built-in English text, and every GLM-V special token. Pure logic.
 */

/** GPT-2's reversible byte → printable unicode character map (bytes that are printable keep their character). */
export function bytesToUnicode(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const map: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (keep.includes(b)) map[b] = String.fromCodePoint(b);
    else map[b] = String.fromCodePoint(256 + extra++);
  }
  return map;
}

const BYTE_CHARS = bytesToUnicode();

/** Encodes text as GPT-2 byte-unicode characters (how BPE token strings are stored in GGUF). */
export function toByteUnicode(text: string): string {
  let out = "";
  for (const b of Buffer.from(text, "utf8")) out += BYTE_CHARS[b];
  return out;
}

/** The GLM-V special tokens, as control tokens, in a fixed order (ids follow the merges). */
export const GLM_SPECIAL_TOKENS = [
  "<|endoftext|>",
  "[MASK]",
  "[gMASK]",
  "[sMASK]",
  "<sop>",
  "<eop>",
  "<|system|>",
  "<|user|>",
  "<|assistant|>",
  "<|observation|>",
  "<|begin_of_image|>",
  "<|end_of_image|>",
  "<|begin_of_video|>",
  "<|end_of_video|>",
  "<|image|>",
  "<|video|>",
  "<think>",
  "</think>",
  "<answer>",
  "</answer>",
  "<|begin_of_box|>",
  "<|end_of_box|>",
  "<tool_call>",
  "</tool_call>",
  "<arg_key>",
  "</arg_key>",
  "<arg_value>",
  "</arg_value>",
  "<tool_response>",
  "</tool_response>",
] as const;

/** llama.cpp token types as stored in `tokenizer.ggml.token_type`. */
export const TokenType = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** Built-in training text for the merges: plain English plus words GLM-V prompts and answers use. */
const CORPUS = `The quick brown fox jumps over the lazy dog. What is in the image? The image shows a cat sitting on
a red chair next to the window. Describe the picture in detail. There are three apples on the table, and two of
them are green. Read the title of the document. The answer is in the box. Think about the question step by step,
then answer it. The weather in Paris is sunny today. Find the location of the button on the screen and click it.
How many people are in the photo? This is a test of the tokenizer with some common words: the, and, of, to, in,
is, that, it, for, on, with, as, was, at, by, an, be, this, are, from, or, have, not, but, what, all, were, when.
Hello world! Text Recognition: Table Recognition: Formula Recognition: the video shows a person walking.`;

/** Splits text into pre-tokenizer words (a simplified GLM-4 pattern: optional space + letters, digits, marks). */
export function preTokenize(text: string): string[] {
  return text.match(/ ?\p{L}+| ?\p{N}| ?[^\s\p{L}\p{N}]+|\s+/gu) ?? [];
}

/** Learns `count` BPE merges over the byte-unicode form of `corpus` (most frequent pair first, ties by order). */
export function learnMerges(corpus: string, count: number): [string, string][] {
  const words = new Map<string, number>();
  for (const w of preTokenize(corpus)) words.set(w, (words.get(w) ?? 0) + 1);
  const seqs = [...words].map(([w, n]) => ({ parts: [...toByteUnicode(w)], n }));
  const merges: [string, string][] = [];
  while (merges.length < count) {
    const pairs = new Map<string, number>();
    for (const { parts, n } of seqs) {
      for (let i = 0; i + 1 < parts.length; i++) {
        const k = `${parts[i]} ${parts[i + 1]}`;
        pairs.set(k, (pairs.get(k) ?? 0) + n);
      }
    }
    let best = "";
    let bestN = 1;
    for (const [k, n] of pairs) if (n > bestN) [best, bestN] = [k, n];
    if (!best) break;
    const [a, b] = best.split(" ");
    merges.push([a, b]);
    for (const s of seqs) {
      const next: string[] = [];
      for (let i = 0; i < s.parts.length; i++) {
        if (i + 1 < s.parts.length && s.parts[i] === a && s.parts[i + 1] === b) {
          next.push(a + b);
          i++;
        } else next.push(s.parts[i]);
      }
      s.parts = next;
    }
  }
  return merges;
}

/** A vocabulary ready for GGUF: token strings, their types and the merges. */
export interface TinyVocab {
  tokens: string[];
  types: number[];
  merges: string[];
  /** Token id by stored string. */
  ids: Map<string, number>;
}

/** Builds the base vocabulary: 256 byte tokens, merge results, then the GLM special tokens. */
export function buildBaseVocab(mergeCount = 120): TinyVocab {
  const tokens: string[] = [];
  const types: number[] = [];
  const ids = new Map<string, number>();
  const add = (s: string, type: number) => {
    if (ids.has(s)) return ids.get(s)!;
    ids.set(s, tokens.length);
    tokens.push(s);
    types.push(type);
    return tokens.length - 1;
  };
  for (let b = 0; b < 256; b++) add(BYTE_CHARS[b], TokenType.normal);
  const merges = learnMerges(CORPUS, mergeCount);
  for (const [a, b] of merges) add(a + b, TokenType.normal);
  for (const s of GLM_SPECIAL_TOKENS) add(s, TokenType.control);
  return { tokens, types, merges: merges.map(([a, b]) => `${a} ${b}`), ids };
}

/** Adds a normal token holding `text` (stored in byte-unicode form) unless it exists; returns its id. */
export function addTextToken(vocab: TinyVocab, text: string): number {
  const s = toByteUnicode(text);
  const have = vocab.ids.get(s);
  if (have !== undefined) return have;
  vocab.ids.set(s, vocab.tokens.length);
  vocab.tokens.push(s);
  vocab.types.push(TokenType.normal);
  return vocab.tokens.length - 1;
}

/** Adds a user-defined token holding `text` raw (llama.cpp renders it as-is and matches it in prompts). */
export function addUserToken(vocab: TinyVocab, text: string): number {
  const have = vocab.ids.get(text);
  if (have !== undefined) {
    if (vocab.types[have] !== TokenType.userDefined)
      throw new RangeError(`token ${JSON.stringify(text)} exists`);
    return have;
  }
  vocab.ids.set(text, vocab.tokens.length);
  vocab.tokens.push(text);
  vocab.types.push(TokenType.userDefined);
  return vocab.tokens.length - 1;
}

/** Pads the vocabulary with unused tokens up to `size` entries. */
export function padVocab(vocab: TinyVocab, size: number): void {
  for (let i = 0; vocab.tokens.length < size; i++) {
    const s = `<|unused_${i}|>`;
    vocab.ids.set(s, vocab.tokens.length);
    vocab.tokens.push(s);
    vocab.types.push(TokenType.unused);
  }
}
