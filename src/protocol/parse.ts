/**
 * Batch parsing of a whole GLM-V generation (spec §4.1–§4.3). This is the streaming scanner fed one chunk,
 * so the batch and streaming results are the same by construction.
 */
import { StreamParser } from "./stream.ts";
import type { ParsedOutput, ParseOptions } from "./types.ts";

/**
 * Parses generated text (everything after the generation prompt) into reasoning, content, the 4.1V
 * answer, tool calls and boxes. Never throws on malformed or truncated markup: what cannot be parsed
 * stays content (or reasoning, inside an unterminated think block).
 *
 * @example
 * parseOutput("<think>Count.</think>\nThree.", { family: "glm-4.6v" })
 * // → { reasoning: "Count.", content: "Three.", answer: null, toolCalls: [], boxes: [], reasoningTruncated: false }
 */
export function parseOutput(text: string, options: ParseOptions): ParsedOutput {
  const parser = new StreamParser(options);
  parser.push(text);
  return parser.finish().output;
}

/**
 * The finish reason of a parsed generation in OpenAI terms: `tool_calls` when a call was parsed,
 * otherwise `length` when the engine stopped on the token limit, otherwise `stop`.
 */
export function finishReasonOf(
  output: ParsedOutput,
  hitTokenLimit: boolean,
): "stop" | "length" | "tool_calls" {
  if (output.toolCalls.length > 0) return "tool_calls";
  return hitTokenLimit ? "length" : "stop";
}
