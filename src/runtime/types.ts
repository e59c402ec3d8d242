import type { GenerateOptions, Timings, Usage } from "../engines/types.ts";
import type { FamilyId } from "../protocol/families.ts";
import type { ChatMessage, OutputDelta, ParsedOutput, ToolDefinition } from "../protocol/types.ts";

/**
 * An engine-agnostic chat request: what the CLI, the server and the SDK hand to a backend.
 * Media stay inside the messages as parts (image_url, video_url, file); the backend resolves them.
 */
export interface ChatRequest {
  /** The model id the client asked for (a backend serving several models routes on it); undefined = default. */
  model?: string;
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  /** OpenAI tool_choice; "none" hides the tools from the model. */
  toolChoice?: "auto" | "none" | "required" | { type: "function"; function: { name: string } };
  /** false disables thinking on families with a switch; undefined keeps the model's default. */
  enableThinking?: boolean;
  /** Reasoning tokens allowed before the close of thinking is forced. */
  thinkingBudget?: number;
  /** Sampling and stopping (enableThinking/thinkingBudget above take precedence over the same fields here). */
  options: GenerateOptions;
}

/** Why a chat ended, OpenAI-style ("abort" when the caller cancelled). */
export type ChatFinishReason = "stop" | "length" | "tool_calls" | "abort";

/** Size of an input image, for converting boxes from thousandths to pixels. */
export interface ImageSize {
  width: number;
  height: number;
}

/** The end of a chat: the parsed output and its accounting. */
export interface ChatResult {
  output: ParsedOutput;
  /** The raw generated text (special tokens rendered as text). */
  text: string;
  finishReason: ChatFinishReason;
  usage: Usage;
  timings?: Timings;
  thinkingTruncated: boolean;
  /** Original sizes of the input images, in prompt order. */
  imageSizes: ImageSize[];
}

/** One event of a chat stream: parsed deltas as they arrive, then the result. */
export type ChatEvent = { type: "delta"; delta: OutputDelta } | { type: "done"; result: ChatResult };

/** A model a backend serves. */
export interface ModelCard {
  id: string;
  family: FamilyId;
  contextSize?: number;
  ownedBy: string;
}

/** What the server and CLI talk to: the embedded runtime or a remote upstream. */
export interface ChatBackend {
  /** Short name for logs and metrics, e.g. "embedded" or "upstream:http://host:8000". */
  readonly name: string;
  /** Compute devices the model runs on, e.g. ["CPU (zen4, AMD EPYC …)"] (embedded engine only). */
  readonly devices?: readonly string[];
  models(): ModelCard[];
  /** Streams parsed deltas, then one `done`. Aborting the signal ends it with finishReason "abort". */
  chat(request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatEvent>;
  close(): Promise<void>;
}
