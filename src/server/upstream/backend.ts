/**
 * The upstream ChatBackend: glmv as a gateway in front of vLLM, SGLang, Z.ai or another glmv.
 *
 * - Dialects are translated both ways (dialect.ts); deltas are re-parsed into glmv's contract (normalize.ts).
 * - Several upstreams share the load (least in-flight); one that refuses connections or fails its health
 *   check is taken out until its health check passes again. A request whose upstream cannot be reached is
 *   retried on another one before any output; when none is left the client gets 502.
 * - Thinking budget: sent natively to glmv upstreams and to vLLM >= 0.19 (`thinking_token_budget`);
 *   elsewhere emulated in two phases (spec §5.3): generate at most `budget` tokens, and when the reasoning
 *   is still open, continue the partial assistant turn with the close tag appended. Z.ai cannot continue a
 *   partial turn, so a budget there is refused.
 * - Its first event is an empty delta, sent as soon as the upstream accepted the request (HTTP 200), so a
 *   server can start its own response at that moment; consumers ignore it like any delta without text.
 */

import { readSse } from "../../client/sse.ts";
import type { MediaPolicy } from "../../media/policy.ts";
import { serverPolicy } from "../../media/policy.ts";
import {
  DEFAULT_FAMILY,
  effectiveThinking,
  type FamilyId,
  familyFromName,
  getFamily,
} from "../../protocol/families.ts";
import type {
  ChatBackend,
  ChatEvent,
  ChatFinishReason,
  ChatRequest,
  ImageSize,
  ModelCard,
} from "../../runtime/types.ts";
import { ApiError, UnsupportedFeatureError, UpstreamError } from "../errors.ts";
import {
  type Dialect,
  dialectFromUrl,
  readUpstreamChunk,
  type UpstreamChunk,
  upstreamBody,
} from "./dialect.ts";
import { sendRequest, type UpstreamResponse } from "./http.ts";
import { documentsToImages, hasDocuments, type LocalMediaMode, prepareUpstreamMedia } from "./media.ts";
import { type ChunkTranslator, ContractPassThrough, UpstreamNormalizer } from "./normalize.ts";
import { type Endpoint, endpointUrls, UpstreamPool } from "./pool.ts";

/** One upstream server. */
export interface UpstreamTarget {
  /** Base URL: http://host:8000, http://host:8000/v1 or https://api.z.ai/api/paas/v4 */
  url: string;
  /** Detected when absent (Z.ai hosts by name; /version tells glmv and vLLM apart; else vLLM). */
  dialect?: Dialect;
  /** Bearer key sent to this upstream. */
  apiKey?: string;
  /** Model ids it serves, when it cannot list them (Z.ai) or to restrict the list. */
  models?: string[];
}

/** Options of the upstream backend. */
export interface UpstreamBackendOptions {
  upstreams: UpstreamTarget[];
  /** Family for every model, when the model ids do not name one. */
  family?: FamilyId;
  /** Health-check period, ms (default 5000; 0 disables). */
  healthIntervalMs?: number;
  healthTimeoutMs?: number;
  /** Most ms to wait for an upstream's response headers (default 120000). */
  headersTimeoutMs?: number;
  /** Most ms of silence in the middle of a streamed answer before it counts as failed (default 300000). */
  idleTimeoutMs?: number;
  /**
   * `file:` media URLs: "forward" passes them on (the upstream shares this machine's disk and enforces its
   * own --allowed-local-media-path, as with `glmv serve --engine`); "inline" reads them under `mediaPolicy`
   * and sends data: URIs; "reject" (default) answers 400.
   */
  localMedia?: LocalMediaMode;
  /** The server's media policy (allowed folders, sizes); default `serverPolicy()`. */
  mediaPolicy?: MediaPolicy;
  /** Log sink for health changes. */
  log?: (line: string) => void;
}

interface EndpointInfo {
  dialect: Dialect;
  apiKey?: string;
  models: Set<string>;
  nativeBudget: boolean;
}

/** No upstream could serve a model at start-up. */
export class UpstreamSetupError extends Error {
  override name = "UpstreamSetupError";
}

/** Creates the backend: detects dialects, lists models, starts health checks. */
export async function createUpstreamBackend(options: UpstreamBackendOptions): Promise<UpstreamBackend> {
  const backend = new UpstreamBackend(options);
  await backend.init();
  return backend;
}

/** A ChatBackend that forwards to one or more OpenAI-compatible upstreams. */
export class UpstreamBackend implements ChatBackend {
  readonly name: string;
  readonly pool: UpstreamPool;
  private readonly options: UpstreamBackendOptions;
  private readonly info = new Map<Endpoint, EndpointInfo>();
  private cards: ModelCard[] = [];

  constructor(options: UpstreamBackendOptions) {
    if (options.upstreams.length === 0) throw new UpstreamSetupError("Give at least one --upstream URL.");
    this.options = options;
    const log = options.log ?? (() => {});
    this.pool = new UpstreamPool(
      options.upstreams.map((u) => u.url),
      {
        healthIntervalMs: options.healthIntervalMs,
        healthTimeoutMs: options.healthTimeoutMs,
        probe: (e, signal) => this.probe(e, signal),
        onChange: (e, healthy) =>
          log(`upstream ${e.rootUrl} ${healthy ? "is back" : `is down (${e.lastError})`}`),
      },
    );
    this.pool.endpoints.forEach((e, i) => {
      const target = options.upstreams[i];
      this.info.set(e, {
        dialect: target.dialect ?? dialectFromUrl(target.url) ?? "vllm",
        apiKey: target.apiKey,
        models: new Set(target.models ?? []),
        nativeBudget: false,
      });
    });
    this.name = `upstream:${this.pool.endpoints.map((e) => e.rootUrl).join(",")}`;
  }

  /** Detects dialects and budget support, and lists the models of every reachable upstream. */
  async init(): Promise<void> {
    await Promise.all(
      this.pool.endpoints.map(async (e, i) => {
        const target = this.options.upstreams[i];
        const info = this.info.get(e)!;
        try {
          if (!target.dialect && info.dialect !== "zai") await this.detect(e, info);
          else if (info.dialect === "glmv") info.nativeBudget = true;
          if (!target.models) {
            const listed = await this.listModels(e, info);
            for (const m of listed) info.models.add(m.id);
            for (const m of listed) this.addCard(m.id, m.contextSize, info.dialect);
          }
        } catch (error) {
          this.pool.markDown(e, `unreachable at start: ${(error as Error).message}`);
        }
        for (const id of target.models ?? []) this.addCard(id, undefined, info.dialect);
      }),
    );
    if (this.cards.length === 0) {
      throw new UpstreamSetupError(
        `No upstream answered with a model list (${this.pool.endpoints.map((e) => `${e.rootUrl}: ${e.lastError ?? "no models"}`).join("; ")}). ` +
          "Check the URLs, or name the models with --served-model-name.",
      );
    }
  }

  models(): ModelCard[] {
    return this.cards;
  }

  async close(): Promise<void> {
    this.pool.close();
  }

  /** Whether any upstream is healthy (GET /health answers 503 otherwise). */
  get healthy(): boolean {
    return this.pool.endpoints.some((e) => e.healthy);
  }

  chat(request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatEvent> {
    return this.run(request, signal ?? new AbortController().signal);
  }

  private async *run(request: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatEvent> {
    const model = request.model ?? this.cards[0]?.id;
    if (!model) throw new UpstreamError("No upstream model is known.", "no_model");
    const media = await prepareUpstreamMedia(
      request.messages,
      this.options.localMedia ?? "reject",
      this.options.mediaPolicy ?? serverPolicy(),
    );
    if (media.messages !== request.messages) request = { ...request, messages: media.messages };
    const familyId = this.options.family ?? familyFromName(model) ?? DEFAULT_FAMILY;
    const family = getFamily(familyId);
    const thinkingOn = effectiveThinking(family, request.enableThinking);

    const tried = new Set<Endpoint>();
    const accept = (e: Endpoint) => {
      const models = this.info.get(e)!.models;
      return models.size === 0 || models.has(model);
    };
    let lastFailure = "";
    for (;;) {
      const endpoint = this.pool.pick(tried, accept);
      if (!endpoint) {
        throw new UpstreamError(
          lastFailure
            ? `Every upstream failed: ${lastFailure}`
            : `No healthy upstream serves "${model}"; they are down or restarting.`,
          "upstream_unavailable",
        );
      }
      tried.add(endpoint);
      const info = this.info.get(endpoint)!;
      if (info.dialect !== "glmv" && hasDocuments(request.messages)) {
        // Only glmv takes PDF/office parts: render them to page images here, once.
        request = {
          ...request,
          messages: await documentsToImages(
            request.messages,
            familyId,
            this.options.mediaPolicy ?? serverPolicy(),
            signal,
          ),
        };
      }
      const budget = request.thinkingBudget;
      const maxTokens = request.options.maxTokens;
      const emulate =
        budget !== undefined &&
        thinkingOn &&
        !info.nativeBudget &&
        (maxTokens === undefined || budget < maxTokens);
      if (emulate && info.dialect === "zai") {
        throw new UnsupportedFeatureError(
          "Z.ai has no thinking budget and cannot continue a partial answer; drop thinking_token_budget.",
          "thinking_token_budget",
        );
      }
      const body = upstreamBody(request, {
        dialect: info.dialect,
        model,
        nativeBudget: info.nativeBudget,
        maxTokens: emulate ? budget : undefined,
      });
      endpoint.inFlight++;
      endpoint.served++;
      let response: UpstreamResponse;
      try {
        response = await this.open(endpoint, info, body, signal);
      } catch (error) {
        endpoint.inFlight--;
        if (signal.aborted) return yield* aborted();
        if (error instanceof RetryableUpstreamError) {
          lastFailure = `${endpoint.rootUrl}: ${error.message}`;
          continue;
        }
        throw error;
      }
      // The slot on the endpoint is released before the final event: a consumer may stop there.
      let released = false;
      try {
        const ctx = { familyId, model, emulate, signal, imageSizes: media.imageSizes };
        for await (const event of this.generate(endpoint, info, response, request, ctx)) {
          if (event.type === "done" && !released) {
            released = true;
            endpoint.inFlight--;
          }
          yield event;
        }
      } finally {
        if (!released) endpoint.inFlight--;
      }
      return;
    }
  }

  /** Streams one (or, with the budget emulation, two) upstream responses through the normaliser. */
  private async *generate(
    endpoint: Endpoint,
    info: EndpointInfo,
    response: UpstreamResponse,
    request: ChatRequest,
    ctx: {
      familyId: FamilyId;
      model: string;
      emulate: boolean;
      signal: AbortSignal;
      imageSizes: ImageSize[];
    },
  ): AsyncGenerator<ChatEvent> {
    const normalizer: ChunkTranslator =
      info.dialect === "glmv"
        ? new ContractPassThrough()
        : new UpstreamNormalizer({
            family: ctx.familyId,
            enableThinking: request.enableThinking,
            tools: request.tools,
            upstreamParses: info.dialect === "zai",
          });
    const state: StreamState = { finishReason: undefined, promptTokens: 0, completionTokens: 0, chunks: 0 };
    let thinkingTruncated = false;
    let imageSizes: ImageSize[] = ctx.imageSizes;
    // The upstream accepted the request: an empty delta tells the server it may start its response now
    // (its role chunk then leaves when the upstream's does, as with vLLM, instead of after the prefill).
    yield { type: "delta", delta: {} };
    try {
      for await (const chunk of this.chunks(endpoint, response, ctx.signal, state)) {
        if (chunk.glmv?.thinkingTruncated) thinkingTruncated = true;
        if (chunk.glmv?.imageSizes) imageSizes = chunk.glmv.imageSizes;
        for (const delta of normalizer.push(chunk)) yield { type: "delta", delta };
      }
      const budget = request.thinkingBudget ?? 0;
      const maxTokens = request.options.maxTokens;
      const phase1Tokens = state.completionTokens || state.chunks;
      if (ctx.emulate && state.finishReason === "length" && !normalizer.answered) {
        thinkingTruncated = true;
        const forced = normalizer.forceClose();
        for (const delta of forced.deltas) yield { type: "delta", delta };
        const rest = maxTokens === undefined ? undefined : maxTokens - Math.max(budget, phase1Tokens);
        if (rest === undefined || rest > 0) {
          const body = upstreamBody(request, {
            dialect: info.dialect,
            model: ctx.model,
            nativeBudget: false,
            maxTokens: rest,
            continuation: { assistantPrefix: normalizer.raw },
          });
          const second = await this.open(endpoint, info, body, ctx.signal).catch((error: unknown) => {
            if (error instanceof RetryableUpstreamError) throw new UpstreamError(error.message);
            throw error;
          });
          const phase2: StreamState = {
            finishReason: undefined,
            promptTokens: 0,
            completionTokens: 0,
            chunks: 0,
          };
          for await (const chunk of this.chunks(endpoint, second, ctx.signal, phase2)) {
            for (const delta of normalizer.push(chunk)) yield { type: "delta", delta };
          }
          state.finishReason = phase2.finishReason;
          state.completionTokens = phase1Tokens + (phase2.completionTokens || phase2.chunks);
        } else {
          state.finishReason = "length";
        }
      }
    } catch (error) {
      if (ctx.signal.aborted) {
        yield* aborted();
        return;
      }
      throw error;
    }
    const end = normalizer.finish();
    for (const delta of end.deltas) yield { type: "delta", delta };
    let finishReason: ChatFinishReason = state.finishReason ?? "stop";
    if (end.output.toolCalls.length > 0) finishReason = "tool_calls";
    yield {
      type: "done",
      result: {
        output: end.output,
        text: normalizer.raw,
        finishReason,
        usage: { promptTokens: state.promptTokens, completionTokens: state.completionTokens || state.chunks },
        thinkingTruncated,
        imageSizes,
      },
    };
  }

  /** Reads the SSE chunks of one upstream response, updating finish reason and usage. */
  private async *chunks(
    endpoint: Endpoint,
    response: UpstreamResponse,
    signal: AbortSignal,
    state: StreamState,
  ): AsyncGenerator<UpstreamChunk> {
    let sawDone = false;
    let sawFinish = false;
    try {
      for await (const data of readSse(response.body)) {
        // Read on to the end of the body after [DONE] (it follows at once), so the connection is reused.
        if (sawDone) continue;
        if (data === "[DONE]") {
          sawDone = true;
          continue;
        }
        let json: unknown;
        try {
          json = JSON.parse(data);
        } catch {
          throw new UpstreamError(`${endpoint.rootUrl} sent a malformed stream chunk.`, "upstream_malformed");
        }
        const chunk = readUpstreamChunk(json);
        if (chunk.error) {
          throw new UpstreamError(
            `Upstream ${endpoint.rootUrl} reported: ${chunk.error.message}`,
            chunk.error.code,
          );
        }
        if (chunk.usage) {
          state.promptTokens = chunk.usage.promptTokens;
          state.completionTokens = chunk.usage.completionTokens;
        }
        if (chunk.finishReason) {
          state.finishReason = chunk.finishReason;
          sawFinish = true;
        }
        if (chunk.reasoning || chunk.content || chunk.toolCalls) state.chunks++;
        yield chunk;
      }
    } catch (error) {
      if (signal.aborted || error instanceof ApiError) throw error;
      this.pool.markDown(endpoint, `stream broke: ${(error as Error).message}`);
      throw new UpstreamError(
        `The upstream ${endpoint.rootUrl} failed mid-stream (${describe(error)}); the answer is incomplete.`,
        "upstream_disconnected",
      );
    }
    if (!sawDone && !sawFinish) {
      if (signal.aborted) throw signal.reason;
      this.pool.markDown(endpoint, "stream ended early");
      throw new UpstreamError(
        `The upstream ${endpoint.rootUrl} closed the stream before finishing; the answer is incomplete.`,
        "upstream_disconnected",
      );
    }
  }

  /** POSTs one request; connection failures and 5xx/429 are retryable on another upstream. */
  private async open(
    endpoint: Endpoint,
    info: EndpointInfo,
    body: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<UpstreamResponse> {
    let response: UpstreamResponse;
    try {
      response = await sendRequest(`${endpoint.baseUrl}/chat/completions`, {
        method: "POST",
        headers: headers(info.apiKey, true),
        body: JSON.stringify(body),
        signal,
        headersTimeoutMs: this.options.headersTimeoutMs ?? 120_000,
        idleTimeoutMs: this.options.idleTimeoutMs ?? 300_000,
      });
    } catch (error) {
      if (signal.aborted) throw signal.reason ?? error;
      this.pool.markDown(endpoint, describe(error));
      throw new RetryableUpstreamError(describe(error));
    }
    if (response.ok) return response;
    const text = await response.text().catch(() => "");
    const message = upstreamMessage(text) ?? `HTTP ${response.status}`;
    if (response.status >= 500 || response.status === 429) {
      throw new RetryableUpstreamError(`HTTP ${response.status}: ${message}`);
    }
    if (response.status === 401 || response.status === 403) {
      throw new UpstreamError(
        `The upstream ${endpoint.rootUrl} refused glmv's credentials: ${message}`,
        "upstream_auth",
      );
    }
    throw new ApiError(response.status, `Upstream: ${message}`, { code: "upstream_rejected" });
  }

  private async probe(endpoint: Endpoint, signal: AbortSignal): Promise<boolean> {
    const info = this.info.get(endpoint)!;
    const url = info.dialect === "zai" ? `${endpoint.baseUrl}/models` : `${endpoint.rootUrl}/health`;
    try {
      const response = await sendRequest(url, {
        method: "GET",
        headers: headers(info.apiKey, false),
        signal,
      });
      response.discard();
      // Z.ai may not list models; any answer below 500 means it is reachable.
      return info.dialect === "zai" ? response.status < 500 : response.ok;
    } catch {
      return false;
    }
  }

  private async getJson(url: string, apiKey: string | undefined): Promise<{ status: number; json: unknown }> {
    const response = await sendRequest(url, {
      method: "GET",
      headers: headers(apiKey, false),
      signal: AbortSignal.timeout(this.options.healthTimeoutMs ?? 5000),
    });
    const text = await response.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: response.status, json };
  }

  private async detect(endpoint: Endpoint, info: EndpointInfo): Promise<void> {
    const { status, json } = await this.getJson(`${endpoint.rootUrl}/version`, info.apiKey);
    if (status !== 200 || typeof json !== "object" || json === null) return;
    const v = json as { version?: unknown; server?: unknown };
    if (v.server === "glmv") {
      info.dialect = "glmv";
      info.nativeBudget = true;
    } else if (typeof v.version === "string") {
      info.dialect = "vllm";
      info.nativeBudget = versionAtLeast(v.version, 0, 19);
    }
  }

  private async listModels(
    endpoint: Endpoint,
    info: EndpointInfo,
  ): Promise<{ id: string; contextSize?: number }[]> {
    const { status, json } = await this.getJson(`${endpoint.baseUrl}/models`, info.apiKey);
    if (status !== 200) throw new Error(`GET /models answered ${status}`);
    const data = (json as { data?: { id?: unknown; max_model_len?: unknown }[] } | null)?.data ?? [];
    return data
      .filter((m) => typeof m.id === "string")
      .map((m) => ({
        id: m.id as string,
        contextSize: typeof m.max_model_len === "number" ? m.max_model_len : undefined,
      }));
  }

  private addCard(id: string, contextSize: number | undefined, dialect: Dialect): void {
    if (this.cards.some((c) => c.id === id)) return;
    const family = this.options.family ?? familyFromName(id) ?? DEFAULT_FAMILY;
    const card: ModelCard = { id, family, ownedBy: dialect };
    if (contextSize !== undefined) card.contextSize = contextSize;
    this.cards.push(card);
  }
}

interface StreamState {
  finishReason: "stop" | "length" | "tool_calls" | undefined;
  promptTokens: number;
  completionTokens: number;
  /** Upstream chunks that carried text, a stand-in for tokens when usage is absent. */
  chunks: number;
}

/** A failure before any output: the request may go to another upstream. */
class RetryableUpstreamError extends Error {
  override name = "RetryableUpstreamError";
}

async function* aborted(): AsyncGenerator<ChatEvent> {
  yield {
    type: "done",
    result: {
      output: {
        reasoning: null,
        content: null,
        answer: null,
        toolCalls: [],
        boxes: [],
        reasoningTruncated: false,
      },
      text: "",
      finishReason: "abort",
      usage: { promptTokens: 0, completionTokens: 0 },
      thinkingTruncated: false,
      imageSizes: [],
    },
  };
}

function headers(apiKey: string | undefined, json: boolean): Record<string, string> {
  const h: Record<string, string> = { accept: json ? "text/event-stream" : "application/json" };
  if (json) h["content-type"] = "application/json";
  if (apiKey) h.authorization = `Bearer ${apiKey}`;
  return h;
}

function upstreamMessage(text: string): string | undefined {
  try {
    const json = JSON.parse(text) as {
      error?: { message?: unknown } | string;
      message?: unknown;
      detail?: unknown;
    };
    if (typeof json.error === "object" && typeof json.error?.message === "string") return json.error.message;
    if (typeof json.error === "string") return json.error;
    if (typeof json.message === "string") return json.message;
    if (typeof json.detail === "string") return json.detail;
  } catch {
    // not JSON
  }
  return text.trim().slice(0, 300) || undefined;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) return `${error.message}: ${cause.message}`;
  return error.message;
}

/** "0.19.2", "v0.20.0rc1" → compares major.minor. */
export function versionAtLeast(version: string, major: number, minor: number): boolean {
  const m = /(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a > major || (a === major && b >= minor);
}

export { endpointUrls };
