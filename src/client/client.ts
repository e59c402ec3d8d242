/**
 * The typed glmv client: one API for a glmv server, vLLM, SGLang or Z.ai. Requests are written in the
 * target's dialect; answers are re-parsed with glmv's protocol parser, so reasoning, content, tool calls
 * and boxes come out the same whichever engine produced them.
 *
 *   const client = createClient({ baseURL: "http://127.0.0.1:8080/v1" });
 *   const answer = await client.chat({ messages: [{ role: "user", content: "Hi" }] });
 *   for await (const event of client.stream({ messages })) if (event.type === "content") write(event.text);
 */
import { toPixels } from "../protocol/boxes.ts";
import { DEFAULT_FAMILY, type FamilyId, familyFromName } from "../protocol/families.ts";
import type { Box, ChatMessage, ToolCall, ToolDefinition } from "../protocol/types.ts";
import type { ImageSize } from "../runtime/types.ts";
import { type Dialect, readUpstreamChunk, upstreamBody } from "../server/upstream/dialect.ts";
import {
  type ChunkTranslator,
  ContractPassThrough,
  UpstreamNormalizer,
} from "../server/upstream/normalize.ts";
import { readSse } from "./sse.ts";

/** How to reach a server. */
export interface ClientOptions {
  /** API base, e.g. http://127.0.0.1:8080/v1, http://gpu1:8000/v1 or https://api.z.ai/api/paas/v4 */
  baseURL: string;
  apiKey?: string;
  /**
   * The server's dialect. "auto" (default) writes vLLM-style requests (accepted by glmv, vLLM and SGLang)
   * and re-parses the answer, so raw and parsed engines both work; Z.ai hosts are recognised. "glmv" trusts
   * a glmv server's stream as is.
   */
  dialect?: "auto" | Dialect;
  /** Default model id for requests that name none. */
  model?: string;
  /** Model family for parsing (default: from the model id, else GLM-4.6V). */
  family?: FamilyId;
  /** Retries on 429, 5xx and connection errors before any output (default 2). */
  maxRetries?: number;
  /** First backoff delay in ms, doubled each retry (default 500); a Retry-After header wins. */
  retryBaseMs?: number;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** The fetch to use (default: globalThis.fetch). */
  fetch?: typeof fetch;
}

/** One chat request. */
export interface ChatParams {
  messages: ChatMessage[];
  model?: string;
  tools?: ToolDefinition[];
  toolChoice?: "auto" | "none" | "required" | { type: "function"; function: { name: string } };
  /** false: answer without reasoning (families with a switch). */
  thinking?: boolean;
  /** Reasoning tokens before the close of thinking is forced. */
  thinkingBudget?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repetitionPenalty?: number;
  seed?: number;
  maxTokens?: number;
  stop?: string[];
  signal?: AbortSignal;
}

/** A box as returned: thousandths, plus pixels when the image size is known. */
export interface ClientBox {
  box: Box;
  pixels?: Box;
}

/** Token counts. */
export interface ClientUsage {
  promptTokens: number;
  completionTokens: number;
}

/** The parsed answer. */
export interface ChatAnswer {
  model: string;
  reasoning: string | null;
  content: string | null;
  toolCalls: ToolCall[];
  boxes: ClientBox[];
  finishReason: "stop" | "length" | "tool_calls";
  usage: ClientUsage | null;
  thinkingTruncated: boolean;
  imageSizes: ImageSize[];
}

/** One event of `stream()`. */
export type ChatStreamEvent =
  | { type: "reasoning"; text: string }
  | { type: "content"; text: string }
  | { type: "tool_call"; call: ToolCall }
  | { type: "box"; box: ClientBox }
  | { type: "usage"; usage: ClientUsage }
  | { type: "done"; answer: ChatAnswer };

/** The server answered with an error (HTTP status, or an error event inside the stream). */
export class GlmvApiError extends Error {
  override name = "GlmvApiError";
  readonly status: number | undefined;
  readonly type: string | undefined;
  readonly code: string | undefined;
  readonly param: string | undefined;
  constructor(message: string, info: { status?: number; type?: string; code?: string; param?: string } = {}) {
    super(message);
    this.status = info.status;
    this.type = info.type;
    this.code = info.code;
    this.param = info.param;
  }
}

/** The server could not be reached (after the retries). */
export class GlmvConnectionError extends Error {
  override name = "GlmvConnectionError";
}

/** A model the server lists. */
export interface ClientModel {
  id: string;
  ownedBy: string;
  contextSize: number | null;
}

/** The client returned by `createClient`. */
export interface GlmvClient {
  /** Sends one chat request and resolves with the parsed answer. */
  chat(params: ChatParams): Promise<ChatAnswer>;
  /** Streams one chat request as typed events, ending with `done`. */
  stream(params: ChatParams): AsyncIterable<ChatStreamEvent>;
  /** The models the server offers. */
  models(signal?: AbortSignal): Promise<ClientModel[]>;
}

/** Creates a client for a glmv, vLLM, SGLang or Z.ai server. */
export function createClient(options: ClientOptions): GlmvClient {
  const base = apiBase(options.baseURL);
  const doFetch = options.fetch ?? globalThis.fetch;
  const maxRetries = options.maxRetries ?? 2;
  const retryBaseMs = options.retryBaseMs ?? 500;
  const dialect: "auto" | Dialect = options.dialect ?? (isZaiHost(base) ? "zai" : "auto");

  const headers = (accept: string): Record<string, string> => {
    const h: Record<string, string> = { accept, ...options.headers };
    if (options.apiKey) h.authorization = `Bearer ${options.apiKey}`;
    return h;
  };

  /** POST/GET with retries on 429, 5xx and connection errors; resolves with an OK response. */
  async function send(path: string, init: RequestInit, signal: AbortSignal | undefined): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await doFetch(`${base}${path}`, { ...init, signal });
      } catch (error) {
        if (signal?.aborted) throw signal.reason ?? error;
        if (attempt >= maxRetries) {
          throw new GlmvConnectionError(`Cannot reach ${base}: ${(error as Error).message}`);
        }
        await sleep(backoff(attempt, retryBaseMs, null), signal);
        continue;
      }
      if (response.ok) return response;
      const retryable = response.status === 429 || response.status >= 500;
      if (retryable && attempt < maxRetries) {
        await response.body?.cancel();
        await sleep(backoff(attempt, retryBaseMs, response.headers.get("retry-after")), signal);
        continue;
      }
      throw await apiError(response);
    }
  }

  async function* stream(params: ChatParams): AsyncGenerator<ChatStreamEvent> {
    const model = params.model ?? options.model;
    const family = options.family ?? (model ? familyFromName(model) : null) ?? DEFAULT_FAMILY;
    const bodyDialect: Dialect = dialect === "auto" ? "vllm" : dialect;
    const body = upstreamBody(
      {
        model,
        messages: params.messages,
        tools: params.tools,
        toolChoice: params.toolChoice,
        enableThinking: params.thinking,
        thinkingBudget: params.thinkingBudget,
        options: {
          temperature: params.temperature,
          topP: params.topP,
          topK: params.topK,
          minP: params.minP,
          repetitionPenalty: params.repetitionPenalty,
          seed: params.seed,
          maxTokens: params.maxTokens,
          stop: params.stop,
        },
      },
      { dialect: bodyDialect, model: model ?? "", nativeBudget: true },
    );
    if (!model) delete body.model;
    stripUndefined(body);
    const response = await send(
      "/chat/completions",
      {
        method: "POST",
        headers: { ...headers("text/event-stream"), "content-type": "application/json" },
        body: JSON.stringify(body),
      },
      params.signal,
    );
    const translator: ChunkTranslator =
      dialect === "glmv"
        ? new ContractPassThrough()
        : new UpstreamNormalizer({
            family,
            enableThinking: params.thinking,
            tools: params.tools,
            upstreamParses: dialect === "zai",
          });
    let finishReason: ChatAnswer["finishReason"] = "stop";
    let usage: ClientUsage | null = null;
    let thinkingTruncated = false;
    let imageSizes: ImageSize[] = [];
    let responseModel = model ?? "";
    const calls = new Map<number, ToolCall>();
    let lastCall = -1;
    const completeCallsBefore = function* (index: number): Generator<ChatStreamEvent> {
      for (const [i, call] of calls) {
        if (i < index && i > lastCall) {
          lastCall = i;
          yield { type: "tool_call", call };
        }
      }
    };
    if (!response.body) throw new GlmvApiError("The server sent an empty response.");
    for await (const data of readSse(response.body)) {
      if (data === "[DONE]") break;
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(data) as Record<string, unknown>;
      } catch {
        throw new GlmvApiError("The server sent a malformed stream chunk.");
      }
      if (typeof json.model === "string") responseModel = json.model;
      const chunk = readUpstreamChunk(json);
      if (chunk.error) throw new GlmvApiError(chunk.error.message, { code: chunk.error.code });
      if (chunk.finishReason) finishReason = chunk.finishReason;
      if (chunk.usage) usage = chunk.usage;
      if (chunk.glmv?.thinkingTruncated) thinkingTruncated = true;
      if (chunk.glmv?.imageSizes) imageSizes = chunk.glmv.imageSizes;
      for (const delta of translator.push(chunk)) yield* deltaEvents(delta);
    }
    const end = translator.finish();
    for (const delta of end.deltas) yield* deltaEvents(delta);
    yield* completeCallsBefore(Number.POSITIVE_INFINITY);
    const size = imageSizes.length === 1 ? imageSizes[0] : undefined;
    const boxes = end.output.boxes.map((box) => (size ? { box, pixels: toPixels(box, size) } : { box }));
    for (const box of boxes) yield { type: "box", box };
    if (usage) yield { type: "usage", usage };
    if (end.output.toolCalls.length > 0) finishReason = "tool_calls";
    yield {
      type: "done",
      answer: {
        model: responseModel,
        reasoning: end.output.reasoning,
        content: end.output.content,
        toolCalls: end.output.toolCalls,
        boxes,
        finishReason,
        usage,
        thinkingTruncated,
        imageSizes,
      },
    };

    function* deltaEvents(delta: import("../protocol/types.ts").OutputDelta): Generator<ChatStreamEvent> {
      if (delta.reasoning_content) yield { type: "reasoning", text: delta.reasoning_content };
      if (delta.content) yield { type: "content", text: delta.content };
      for (const c of delta.tool_calls ?? []) {
        let call = calls.get(c.index);
        if (!call) {
          yield* completeCallsBefore(c.index);
          call = {
            id: c.id ?? "",
            type: "function",
            function: { name: c.function.name ?? "", arguments: "" },
          };
          calls.set(c.index, call);
        }
        call.function.arguments += c.function.arguments;
      }
    }
  }

  return {
    stream,
    async chat(params) {
      for await (const event of stream(params)) if (event.type === "done") return event.answer;
      throw new GlmvApiError("The stream ended without an answer.");
    },
    async models(signal) {
      const response = await send("/models", { method: "GET", headers: headers("application/json") }, signal);
      const json = (await response.json()) as {
        data?: { id: string; owned_by?: string; max_model_len?: number }[];
      };
      return (json.data ?? []).map((m) => ({
        id: m.id,
        ownedBy: m.owned_by ?? "",
        contextSize: typeof m.max_model_len === "number" ? m.max_model_len : null,
      }));
    },
  };
}

/** The API base: "http://host:8080" gets "/v1"; a URL already ending in /vN (or a deeper path) is kept. */
export function apiBase(url: string): string {
  const trimmed = url.replace(/\/+$/, "");
  let path: string;
  try {
    path = new URL(trimmed).pathname;
  } catch {
    throw new TypeError(`baseURL must be an absolute http(s) URL, got "${url}"`);
  }
  return path === "" || path === "/" ? `${trimmed}/v1` : trimmed;
}

function isZaiHost(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === "api.z.ai" || host.endsWith(".z.ai") || host.endsWith("bigmodel.cn");
  } catch {
    return false;
  }
}

function stripUndefined(obj: Record<string, unknown>): void {
  for (const key of Object.keys(obj)) if (obj[key] === undefined) delete obj[key];
}

/** Backoff: Retry-After (seconds, capped at 30) when given, else base·2^attempt with ±20% jitter. */
export function backoff(attempt: number, baseMs: number, retryAfter: string | null): number {
  const seconds = retryAfter === null ? Number.NaN : Number(retryAfter);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(30, seconds) * 1000;
  const delay = baseMs * 2 ** attempt;
  return delay * (0.8 + Math.random() * 0.4);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

async function apiError(response: Response): Promise<GlmvApiError> {
  const text = await response.text().catch(() => "");
  try {
    const json = JSON.parse(text) as {
      error?: { message?: string; type?: string; code?: string; param?: string };
    };
    if (json.error && typeof json.error.message === "string") {
      return new GlmvApiError(json.error.message, {
        status: response.status,
        type: json.error.type,
        code: json.error.code ?? undefined,
        param: json.error.param ?? undefined,
      });
    }
  } catch {
    // not JSON
  }
  return new GlmvApiError(`HTTP ${response.status}: ${text.slice(0, 300)}`, { status: response.status });
}
