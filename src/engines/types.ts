import type { PreparedMedia } from "../media/types.ts";
import type { FamilyId } from "../protocol/families.ts";

/** Sampling and stopping options shared by every engine. Unset fields take the family's defaults. */
export interface GenerateOptions {
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repetitionPenalty?: number;
  seed?: number;
  /** Most new tokens to generate (reasoning included). */
  maxTokens?: number;
  /** Stop strings: generation ends before the first occurrence; the string is not returned. */
  stop?: string[];
  /** Extra stop token ids, beyond the model's end tokens. */
  stopTokens?: number[];
  /** false renders the prompt with thinking disabled (families that can switch). */
  enableThinking?: boolean;
  /** After this many reasoning tokens without `</think>`, the engine forces the close. */
  thinkingBudget?: number;
}

/** What one `generate` call consumes: a rendered prompt plus its media, in marker order. */
export interface GenerateRequest {
  /** The prompt text rendered from the model's chat template (media markers included). */
  prompt: string;
  /** One entry per `<|image|>` / `<|video|>` marker in the prompt, in order. */
  media: PreparedMedia[];
  options: GenerateOptions;
}

/** Token usage, OpenAI-style. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens taken from the KV cache of the previous request (not decoded again), when the engine knows. */
  cachedPromptTokens?: number;
}

/** Where the time of one request went. */
export interface Timings {
  /** Vision encoder time, ms (0 without media). */
  visionMs: number;
  promptMs: number;
  promptTokensPerSecond: number;
  decodeMs: number;
  decodeTokensPerSecond: number;
}

/** Why generation ended. */
export type FinishReason = "stop" | "length" | "abort";

/** The summary an engine reports after the last token. */
export interface GenerateResult {
  /** The whole generated text, special tokens rendered as text (`<think>`, boxes, tool calls). */
  text: string;
  finishReason: FinishReason;
  usage: Usage;
  timings: Timings;
  /** The thinking budget ran out and the engine closed the reasoning itself. */
  thinkingTruncated: boolean;
}

/** One event of a generation stream: text pieces as they decode, then the result. */
export type GenerateEvent = { type: "text"; text: string } | { type: "done"; result: GenerateResult };

/** What an engine says about itself after loading. */
export interface EngineInfo {
  /** Engine kind, e.g. "embedded". */
  engine: string;
  /** Model identifier shown to users (alias, repo or file name). */
  model: string;
  family: FamilyId;
  contextSize: number;
  vision: boolean;
  /** Compute devices in use, e.g. ["CPU (zen4)"]. */
  devices: string[];
  /** The model's chat template (Jinja source). */
  chatTemplate: string;
}

/** The narrow interface every local engine implements. */
export interface Engine {
  readonly info: EngineInfo;
  /** Streams text pieces, then one `done` event. Aborting the signal ends it with finishReason "abort". */
  generate(request: GenerateRequest, signal?: AbortSignal): AsyncIterable<GenerateEvent>;
  /** Counts the tokens of a text (special tokens parsed). */
  countTokens(text: string): Promise<number>;
  /** Frees the model and context; the engine is unusable afterwards. */
  close(): Promise<void>;
}
