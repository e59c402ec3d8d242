/**
 * The pieces of GLM-V's output grammar the reward system uses, all from src/protocol (nothing here parses
 * the grammar a second time): answer-box contents (`\boxed{}` first, then `<|begin_of_box|>…`), the first box
 * span, the visible part of a judge's reply, and safe Python-literal parsing.
 *
 * What stays in the reward code is reward logic defined by spec §11.2–11.3: the format gate's regex and the
 * extractors' anchored `^<think>…</think>` patterns (gate.ts), which are stricter than the protocol's
 * tolerant parser on purpose.
 */
import {
  BOX_BEGIN,
  BOX_END,
  boxSpans,
  extractBoxContents,
  parseOutput,
  parsePythonLiteral as parsePy,
  toPlain,
} from "../protocol/index.ts";

/** The begin-of-box special token. */
export const BEGIN_OF_BOX = BOX_BEGIN;
/** The end-of-box special token. */
export const END_OF_BOX = BOX_END;

/**
 * Box contents as the reward extractors read them (spec §11.2): every top-level `\boxed{…}` if the text has
 * one, else the trimmed content of each outermost stack-matched box-token pair.
 */
export function boxContents(text: string): string[] {
  return extractBoxContents(text);
}

/** The text between the first `<|begin_of_box|>` and the next `<|end_of_box|>`, trimmed; null if none. */
export function firstBoxSpan(text: string): string | null {
  if (!text.includes(BOX_BEGIN)) return null;
  const spans = boxSpans(text);
  return spans.length ? spans[0].trim() : null;
}

/** The visible part (content) of a judge's reply: its reasoning removed; "" for unterminated reasoning. */
export function visibleText(reply: string): string {
  if (!reply.includes("think>")) return reply;
  return parseOutput(reply, { family: "glm-4.6v" }).content ?? "";
}

/** A Python literal that could not be parsed. */
export class PythonLiteralError extends Error {
  override name = "PythonLiteralError";
}

/**
 * Parses a Python literal safely (never evaluated): dicts, lists, tuples (as arrays), strings in either quote,
 * numbers, True/False/None. JSON is a subset. Throws PythonLiteralError on anything else.
 */
export function parsePythonLiteral(text: string): unknown {
  const value = parsePy(text);
  if (value === undefined)
    throw new PythonLiteralError(`not a Python literal: ${JSON.stringify(text.slice(0, 80))}`);
  return toPlain(value);
}
