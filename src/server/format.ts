/**
 * Wire shapes of the chat-completions API: the non-streaming response and the SSE chunks of spec §4.4
 * (role chunk, reasoning deltas under both keys, content, tool-call deltas, final chunk, usage chunk,
 * `[DONE]`). Pure: strings in, strings out.
 */
import { randomBytes } from "node:crypto";
import { BOX_BEGIN, BOX_END, type PixelBox, toPixels } from "../protocol/boxes.ts";
import type { Box, OutputDelta, ToolCall } from "../protocol/types.ts";
import type { ChatResult, ImageSize } from "../runtime/types.ts";
import type { ApiError } from "./errors.ts";

/** One box of the `glmv` extension: thousandths as the model wrote them, and pixels when the size is known. */
export interface GlmvBox {
  box: Box;
  pixels?: PixelBox;
}

/** The `glmv` extension object added to responses (ignored by OpenAI clients). */
export interface GlmvExtension {
  boxes: GlmvBox[];
  thinking_truncated: boolean;
  image_sizes: ImageSize[];
}

/** OpenAI usage object. */
export interface UsageBody {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** A fresh completion id, `chatcmpl-<24 hex>`. */
export function completionId(): string {
  return `chatcmpl-${randomBytes(12).toString("hex")}`;
}

/** Maps a backend finish reason to the OpenAI one ("abort" never reaches a client as a finish reason). */
export function finishReasonOf(result: ChatResult): "stop" | "length" | "tool_calls" {
  if (result.output.toolCalls.length > 0) return "tool_calls";
  if (result.finishReason === "length") return "length";
  if (result.finishReason === "tool_calls") return "tool_calls";
  return "stop";
}

/**
 * The `glmv` extension of a result. Pixels are given when the request held exactly one image, whose
 * original size is known; with several images the reference image is ambiguous, so only thousandths.
 */
export function glmvExtension(result: ChatResult): GlmvExtension {
  const size = result.imageSizes.length === 1 ? result.imageSizes[0] : undefined;
  return {
    boxes: result.output.boxes.map((box) => (size ? { box, pixels: toPixels(box, size) } : { box })),
    thinking_truncated: result.thinkingTruncated,
    image_sizes: result.imageSizes,
  };
}

/** The OpenAI usage object of a result. */
export function usageOf(result: ChatResult): UsageBody {
  const { promptTokens, completionTokens } = result.usage;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

const BOX_TOKENS = [BOX_BEGIN, BOX_END];

/** Removes the box special tokens from content (for `skip_special_tokens: true`). */
export function stripBoxTokens(text: string): string {
  return text.split(BOX_TOKENS[0]).join("").split(BOX_TOKENS[1]).join("");
}

/**
 * Streaming version of `stripBoxTokens`: holds back a suffix that could begin a box token until the next
 * piece resolves it.
 */
export class BoxTokenStripper {
  private held = "";
  push(text: string): string {
    const all = stripBoxTokens(this.held + text);
    const lt = all.lastIndexOf("<");
    if (lt >= 0 && BOX_TOKENS.some((t) => t.startsWith(all.slice(lt)) && all.length - lt < t.length)) {
      this.held = all.slice(lt);
      return all.slice(0, lt);
    }
    this.held = "";
    return all;
  }
  flush(): string {
    const rest = this.held;
    this.held = "";
    return rest;
  }
}

/** The non-streaming `chat.completion` body. */
export function completionBody(
  id: string,
  created: number,
  model: string,
  result: ChatResult,
  skipSpecialTokens: boolean,
): Record<string, unknown> {
  const { output } = result;
  let content = output.content;
  if (content !== null && skipSpecialTokens) content = stripBoxTokens(content);
  const message: Record<string, unknown> = {
    role: "assistant",
    content,
    reasoning_content: output.reasoning,
    reasoning: output.reasoning,
  };
  if (output.toolCalls.length > 0) message.tool_calls = output.toolCalls.map(normaliseCall);
  return {
    id,
    object: "chat.completion",
    created,
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReasonOf(result) }],
    usage: usageOf(result),
    glmv: glmvExtension(result),
  };
}

function normaliseCall(call: ToolCall): ToolCall {
  return {
    id: call.id,
    type: "function",
    function: { name: call.function.name, arguments: call.function.arguments },
  };
}

/** `data: [DONE]` closing every stream. */
export const SSE_DONE = "data: [DONE]\n\n";

/** An in-stream error event, `data: {"error": …}` (followed by `[DONE]`). */
export function sseError(error: ApiError): string {
  return `data: ${JSON.stringify(error.toBody())}\n\n`;
}

/**
 * Builds the SSE messages of one streamed completion, in the order of spec §4.4. The common chunk prefix is
 * serialised once; each delta costs one small JSON.stringify.
 */
export class ChunkEncoder {
  private readonly head: string;
  private readonly usageHead: string;
  private readonly stripper: BoxTokenStripper | undefined;

  constructor(id: string, created: number, model: string, skipSpecialTokens: boolean) {
    const common = `{"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)}`;
    this.head = `data: ${common},"choices":[{"index":0,"delta":`;
    this.usageHead = `data: ${common},"choices":[],"usage":`;
    this.stripper = skipSpecialTokens ? new BoxTokenStripper() : undefined;
  }

  /** The first chunk: `delta: {role: "assistant", content: ""}`. */
  role(): string {
    return this.chunk('{"role":"assistant","content":""}');
  }

  /** The SSE message for one parsed delta ("" when everything is held back). */
  delta(delta: OutputDelta): string {
    let out = "";
    if (delta.reasoning_content !== undefined && delta.reasoning_content !== "") {
      const text = JSON.stringify(delta.reasoning_content);
      out += this.chunk(`{"reasoning_content":${text},"reasoning":${text}}`);
    }
    if (delta.content !== undefined && delta.content !== "") {
      const text = this.stripper ? this.stripper.push(delta.content) : delta.content;
      if (text !== "") out += this.chunk(`{"content":${JSON.stringify(text)}}`);
    }
    if (delta.tool_calls && delta.tool_calls.length > 0) {
      out += this.chunk(`{"tool_calls":${JSON.stringify(delta.tool_calls)}}`);
    }
    return out;
  }

  /** The final chunk with `finish_reason` and the `glmv` extension, then the usage chunk when asked. */
  finish(result: ChatResult, includeUsage: boolean): string {
    let out = "";
    const held = this.stripper?.flush();
    if (held) out += this.chunk(`{"content":${JSON.stringify(held)}}`);
    const reason = finishReasonOf(result);
    out += `${this.head}{},"logprobs":null,"finish_reason":"${reason}"}],"glmv":${JSON.stringify(glmvExtension(result))}}\n\n`;
    if (includeUsage) out += `${this.usageHead}${JSON.stringify(usageOf(result))}}\n\n`;
    return out;
  }

  private chunk(deltaJson: string): string {
    return `${this.head}${deltaJson},"logprobs":null,"finish_reason":null}]}\n\n`;
  }
}
