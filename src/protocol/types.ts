/** Shapes of GLM-V's wire grammar shared by every module (pure data, no behaviour). */

import type { FamilyId } from "./families.ts";

/** A grounding box or point in thousandths (0–999) of the original image. */
export type Box = { x1: number; y1: number; x2: number; y2: number } | { x: number; y: number };

/** An OpenAI-style tool call as returned in a response. */
export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** An OpenAI-style tool definition, as sent in a request's `tools`. */
export interface ToolDefinition {
  type: "function";
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}

/** The result of parsing a whole model output. */
export interface ParsedOutput {
  /** Reasoning text with the think tags removed; null when the model did not think. */
  reasoning: string | null;
  /** Visible answer text (4.1V: `<answer>` tags removed); null when empty or only tool calls. */
  content: string | null;
  /** GLM-4.1V: the inner text of `<answer>`; null for other families or when absent. */
  answer: string | null;
  toolCalls: ToolCall[];
  /** Boxes found in the content, in order of appearance. */
  boxes: Box[];
  /** The output ended inside `<think>` (no `</think>`). */
  reasoningTruncated: boolean;
  /** GLM-4.1V: an `<answer>` was opened but never closed (the output was cut off). */
  answerTruncated?: boolean;
}

/** A fragment of a tool call in a stream, OpenAI-style. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function: { name?: string; arguments: string };
}

/** One streamed delta: exactly one of the fields is set. */
export interface OutputDelta {
  reasoning_content?: string;
  content?: string;
  tool_calls?: ToolCallDelta[];
}

/** A content part of an OpenAI-style message. */
export type MessagePart =
  | { type: "text"; text: string }
  | { type: "image_url"; image_url: { url: string } | string }
  | { type: "video_url"; video_url: { url: string } | string }
  | { type: "image"; image?: unknown }
  | { type: "video"; video?: unknown }
  | { type: "file"; file: { file_data?: string; filename?: string; url?: string } };

/** An OpenAI-style chat message. */
export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string | MessagePart[] | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  name?: string;
  /** GLM-4.1V template: printed right after the assistant header when set. */
  metadata?: string;
}

/** Options for parsing a generation (batch `parseOutput` and `StreamParser`). */
export interface ParseOptions {
  /** The model family (decides `<answer>` stripping and whether `<tool_call>` is parsed). */
  family: FamilyId;
  /**
   * The request's thinking switch (`enable_thinking`). `false` means the prompt already closed the think
   * block, so everything generated is content. Ignored for always-thinking families (4.1V).
   */
  thinking?: boolean;
  /** The request's tools: their schemas type the arguments (string properties stay verbatim). */
  tools?: readonly ToolDefinition[];
  /** The prompt itself ended inside `<think>` (e.g. a forced-answer round 2): generation starts as reasoning. */
  promptOpenedThinking?: boolean;
  /**
   * The generated text shows `<think>` itself whenever the model thinks (engines that render special tokens,
   * such as glmv's embedded engine, or vLLM with `skip_special_tokens: false`). Output that does not start with
   * `<think>` is then content at once and streams without waiting for a `</think>` that cannot belong to it.
   * Leave it unset for engines that may strip the opening tag (spec §4.1 rule 1 then needs the whole text).
   */
  thinkOpenVisible?: boolean;
  /** Makes tool-call ids; defaults to random `call_<24 hex>`. Inject one for deterministic output. */
  idGenerator?: () => string;
}
