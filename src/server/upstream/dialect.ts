/**
 * Request and response dialects of the engines glmv fronts (spec §4.5, §5, §9.2, §9.3): vLLM, SGLang,
 * Z.ai and another glmv. Pure functions: a backend `ChatRequest` becomes the body one upstream expects, and
 * one upstream stream chunk becomes a dialect-free `UpstreamChunk`.
 */
import type { FamilyId } from "../../protocol/families.ts";
import type { Box, ChatMessage, MessagePart } from "../../protocol/types.ts";
import type { ChatRequest } from "../../runtime/types.ts";
import { UnsupportedFeatureError } from "../errors.ts";

/** The upstream engines glmv speaks to. */
export type Dialect = "glmv" | "vllm" | "sglang" | "zai";

/** The dialects, for validating flags. */
export const DIALECTS: readonly Dialect[] = ["glmv", "vllm", "sglang", "zai"];

/** Extra request fields for the second phase of a two-phase thinking budget. */
export interface ContinuationOptions {
  /** The partial assistant turn (reasoning so far plus the forced close) to continue from. */
  assistantPrefix: string;
}

/** How to build one upstream request body. */
export interface BodyOptions {
  dialect: Dialect;
  /** The model id the upstream knows. */
  model: string;
  /** Send `thinking_token_budget` (the upstream enforces the budget itself). */
  nativeBudget: boolean;
  /** Override of the request's max tokens (phase 1 of the budget emulation, or the rest in phase 2). */
  maxTokens?: number;
  /** Phase 2 of the budget emulation: continue the partial assistant turn. */
  continuation?: ContinuationOptions;
}

/** Guesses the GLM-V family from a model id ("zai-org/GLM-4.1V-9B-Thinking", "glm-4.6v-flash"…). */
export function familyFromModelId(id: string): FamilyId {
  const s = id.toLowerCase();
  if (s.includes("ocr")) return "glm-ocr";
  if (s.includes("4.1v") || s.includes("4_1v") || s.includes("41v")) return "glm-4.1v-thinking";
  if (s.includes("4.6v-flash") || (s.includes("4.6v") && s.includes("flash"))) return "glm-4.6v-flash";
  if (s.includes("4.5v")) return "glm-4.5v";
  return "glm-4.6v";
}

/** Guesses the dialect of an upstream URL that was given without one (Z.ai hosts; else vLLM-compatible). */
export function dialectFromUrl(url: string): Dialect | undefined {
  const host = new URL(url).hostname;
  if (
    host === "api.z.ai" ||
    host.endsWith(".z.ai") ||
    host === "open.bigmodel.cn" ||
    host.endsWith(".bigmodel.cn")
  ) {
    return "zai";
  }
  return undefined;
}

/**
 * The JSON body for an upstream `/chat/completions` request. Always streams (with usage), so one code path
 * serves streaming and non-streaming clients. Throws UnsupportedFeatureError when the request needs
 * something the dialect cannot express (e.g. Z.ai and several stop strings).
 */
export function upstreamBody(request: ChatRequest, options: BodyOptions): Record<string, unknown> {
  const { dialect } = options;
  const o = request.options;
  const messages: unknown[] = request.messages.map((m) => wireMessage(m, dialect));
  const body: Record<string, unknown> = { model: options.model, messages, stream: true };
  body.stream_options = { include_usage: true };
  if (o.temperature !== undefined) body.temperature = o.temperature;
  if (o.topP !== undefined) body.top_p = o.topP;
  const maxTokens = options.maxTokens ?? o.maxTokens;
  if (request.tools && request.tools.length > 0 && request.toolChoice !== "none") {
    body.tools = request.tools;
    if (request.toolChoice !== undefined) body.tool_choice = request.toolChoice;
  }
  if (options.continuation) {
    messages.push({ role: "assistant", content: options.continuation.assistantPrefix });
  }

  if (dialect === "zai") {
    rejectFor("Z.ai", {
      top_k: o.topK,
      min_p: o.minP,
      repetition_penalty: o.repetitionPenalty,
      seed: o.seed,
      stop_token_ids: o.stopTokens?.length ? o.stopTokens : undefined,
    });
    if (o.stop && o.stop.length > 1) {
      throw new UnsupportedFeatureError("Z.ai accepts at most one stop string.", "stop");
    }
    if (o.stop) body.stop = o.stop;
    // Z.ai wants temperature in (0, 1]; greedy decoding is `do_sample: false` (spec §1.3).
    if (o.temperature === 0) {
      delete body.temperature;
      body.do_sample = false;
    }
    if (body.tool_choice !== undefined && body.tool_choice !== "auto") {
      throw new UnsupportedFeatureError('Z.ai only supports tool_choice "auto".', "tool_choice");
    }
    if (request.enableThinking !== undefined) {
      body.thinking = { type: request.enableThinking ? "enabled" : "disabled" };
    }
    if (maxTokens !== undefined) body.max_tokens = maxTokens;
    if (options.continuation) {
      throw new UnsupportedFeatureError(
        "Z.ai cannot continue a partial answer, so a thinking budget cannot be emulated there.",
        "thinking_token_budget",
      );
    }
    return body;
  }

  // vLLM, SGLang and glmv share vLLM's extensions.
  if (o.topK !== undefined) body.top_k = o.topK;
  if (o.minP !== undefined) body.min_p = o.minP;
  if (o.repetitionPenalty !== undefined) body.repetition_penalty = o.repetitionPenalty;
  if (o.seed !== undefined) body.seed = o.seed;
  if (o.stop) body.stop = o.stop;
  if (o.stopTokens && o.stopTokens.length > 0) body.stop_token_ids = o.stopTokens;
  if (maxTokens !== undefined) body.max_completion_tokens = maxTokens;
  // Box, answer and think tokens are special tokens: keep them or they vanish (spec §4.2).
  body.skip_special_tokens = false;
  if (request.enableThinking !== undefined)
    body.chat_template_kwargs = { enable_thinking: request.enableThinking };
  if (options.nativeBudget && request.thinkingBudget !== undefined) {
    body.thinking_token_budget = request.thinkingBudget;
  }
  if (dialect === "sglang") {
    body.separate_reasoning = true;
    body.stream_reasoning = true;
  }
  if (options.continuation) {
    body.continue_final_message = true;
    body.add_generation_prompt = false;
  }
  return body;
}

function rejectFor(engine: string, fields: Record<string, unknown>): void {
  for (const [field, value] of Object.entries(fields)) {
    if (value !== undefined) {
      throw new UnsupportedFeatureError(`\`${field}\` is not supported by the ${engine} upstream.`, field);
    }
  }
}

/** A message as the upstream expects it: reasoning under both keys, parts passed through. */
function wireMessage(m: ChatMessage, dialect: Dialect): Record<string, unknown> {
  const out: Record<string, unknown> = { role: m.role, content: wireContent(m.content) };
  const reasoning = m.reasoning_content ?? m.reasoning;
  if (reasoning != null && m.role === "assistant") {
    out.reasoning_content = reasoning;
    if (dialect === "vllm" || dialect === "glmv") out.reasoning = reasoning;
  }
  if (m.tool_calls) out.tool_calls = m.tool_calls;
  if (m.tool_call_id !== undefined) out.tool_call_id = m.tool_call_id;
  if (m.name !== undefined) out.name = m.name;
  return out;
}

function wireContent(content: ChatMessage["content"]): unknown {
  if (content === null || typeof content === "string") return content;
  return content.map((part: MessagePart) => {
    if (part.type === "image_url") {
      return {
        type: "image_url",
        image_url: { url: typeof part.image_url === "string" ? part.image_url : part.image_url.url },
      };
    }
    if (part.type === "video_url") {
      return {
        type: "video_url",
        video_url: { url: typeof part.video_url === "string" ? part.video_url : part.video_url.url },
      };
    }
    return part;
  });
}

/** A dialect-free view of one upstream stream chunk. */
export interface UpstreamChunk {
  reasoning?: string;
  content?: string;
  toolCalls?: UpstreamToolCallDelta[];
  finishReason?: "stop" | "length" | "tool_calls";
  usage?: { promptTokens: number; completionTokens: number };
  /** glmv upstreams: the `glmv` extension of the final chunk. */
  glmv?: { thinkingTruncated?: boolean; imageSizes?: { width: number; height: number }[]; boxes?: Box[] };
  /** An in-stream error event. */
  error?: { message: string; code?: string };
}

/** One tool-call fragment as an upstream sent it (ids and indexes vary by engine, spec §4.5). */
export interface UpstreamToolCallDelta {
  index: number;
  id?: string;
  name?: string;
  arguments?: string;
}

/** Z.ai finish reasons mapped onto OpenAI's (spec §4.5). */
const FINISH: Record<string, UpstreamChunk["finishReason"]> = {
  stop: "stop",
  length: "length",
  tool_calls: "tool_calls",
  model_context_window_exceeded: "length",
  sensitive: "stop",
  function_call: "tool_calls",
};

/**
 * Reads one parsed SSE JSON chunk of any dialect. Reasoning comes from `reasoning_content` or `reasoning`
 * (vLLM 0.14–0.15 send both with the same text, so only one is taken); Z.ai's object arguments are
 * serialised; `finish_reason` is mapped; `network_error` becomes an error.
 */
export function readUpstreamChunk(json: unknown): UpstreamChunk {
  const out: UpstreamChunk = {};
  if (typeof json !== "object" || json === null) return out;
  const obj = json as Record<string, unknown>;
  if (obj.error && typeof obj.error === "object") {
    const e = obj.error as Record<string, unknown>;
    out.error = { message: typeof e.message === "string" ? e.message : "upstream error" };
    if (typeof e.code === "string") out.error.code = e.code;
    return out;
  }
  const usage = obj.usage as Record<string, unknown> | undefined | null;
  if (usage && typeof usage.prompt_tokens === "number") {
    out.usage = { promptTokens: usage.prompt_tokens, completionTokens: Number(usage.completion_tokens ?? 0) };
  }
  const ext = obj.glmv as Record<string, unknown> | undefined;
  if (ext && typeof ext === "object") {
    out.glmv = {};
    if (typeof ext.thinking_truncated === "boolean") out.glmv.thinkingTruncated = ext.thinking_truncated;
    if (Array.isArray(ext.image_sizes))
      out.glmv.imageSizes = ext.image_sizes as { width: number; height: number }[];
    if (Array.isArray(ext.boxes)) out.glmv.boxes = (ext.boxes as { box: Box }[]).map((b) => b.box);
  }
  const choices = obj.choices as Record<string, unknown>[] | undefined;
  const choice = Array.isArray(choices) ? choices[0] : undefined;
  if (!choice) return out;
  const delta = (choice.delta ?? choice.message) as Record<string, unknown> | undefined;
  if (delta) {
    const reasoning =
      typeof delta.reasoning_content === "string"
        ? delta.reasoning_content
        : typeof delta.reasoning === "string"
          ? delta.reasoning
          : undefined;
    if (reasoning) out.reasoning = reasoning;
    if (typeof delta.content === "string" && delta.content !== "") out.content = delta.content;
    if (Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0) {
      out.toolCalls = (delta.tool_calls as Record<string, unknown>[]).map((c, i) => {
        const fn = (c.function ?? {}) as Record<string, unknown>;
        const call: UpstreamToolCallDelta = { index: typeof c.index === "number" ? c.index : i };
        if (typeof c.id === "string" && c.id !== "") call.id = c.id;
        if (typeof fn.name === "string" && fn.name !== "") call.name = fn.name;
        if (typeof fn.arguments === "string") call.arguments = fn.arguments;
        else if (fn.arguments !== undefined && fn.arguments !== null)
          call.arguments = JSON.stringify(fn.arguments);
        return call;
      });
    }
  }
  const reason = choice.finish_reason;
  if (typeof reason === "string") {
    if (reason === "network_error")
      out.error = { message: "The upstream reported a network error.", code: "network_error" };
    else out.finishReason = FINISH[reason] ?? "stop";
  }
  return out;
}
