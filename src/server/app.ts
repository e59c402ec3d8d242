/**
 * The glmv HTTP server: an OpenAI-compatible API over any ChatBackend (embedded engine or upstream
 * gateway), built on Hono and served by @hono/node-server.
 *
 * Routes: POST /v1/chat/completions (SSE or JSON), GET /v1/models, GET /health, GET /metrics, and an
 * optional web UI under /ui.
 */
import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer, type HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { type Context, Hono } from "hono";
import { cors } from "hono/cors";
import type { ChatBackend, ChatEvent, ChatResult } from "../runtime/types.ts";
import { KeyChecker, presentedKey } from "./auth.ts";
import {
  type ApiError,
  AuthenticationError,
  NotFoundError,
  PayloadTooLargeError,
  toApiError,
  UnavailableError,
  UpstreamError,
} from "./errors.ts";
import { ChunkEncoder, completionBody, completionId, SSE_DONE, sseError } from "./format.ts";
import { ServerMetrics } from "./metrics.ts";
import { type Release, SlotQueue } from "./queue.ts";
import { parseJsonBody, validateChatCompletion } from "./validate.ts";

/** How the server is configured (every field but `backend` has a safe default). */
export interface ServerOptions {
  backend: ChatBackend;
  /** API keys accepted on /v1/* and /metrics; empty or absent = no authentication. */
  apiKeys?: string[];
  /** Origins allowed by CORS ("*" for any); absent = CORS off (no CORS headers). */
  corsOrigins?: string[];
  /** Largest accepted request body, bytes (default 64 MiB: room for a few base64 images). */
  bodyLimitBytes?: number;
  /** Generations running at once (default 4). */
  slots?: number;
  /** Requests allowed to wait for a slot before 429 (default 64). */
  maxWaiting?: number;
  /** A handler mounted under /ui (the web UI); GET / redirects there when set. */
  ui?: { fetch(request: Request): Response | Promise<Response> };
  /** Server name reported by /health and /version. */
  serverName?: string;
  /** One-line log sink (default: nothing). */
  log?: (line: string) => void;
}

/** The app plus the state tests and the CLI look at. */
export interface GlmvApp {
  app: Hono;
  metrics: ServerMetrics;
  queue: SlotQueue;
  /** Stops taking new chat requests (503) and resolves when in-flight ones are done or `timeoutMs` passed. */
  drain(timeoutMs: number): Promise<{ aborted: number }>;
  /** Aborts every running generation now. */
  abortAll(reason?: string): number;
}

/** The reason a generation was aborted because its client went away. */
export class ClientClosedError extends Error {
  override name = "AbortError";
  constructor() {
    super("The client closed the connection.");
  }
}

const VERSION = "0.1.0";

/** Builds the Hono app around a backend. */
export function createApp(options: ServerOptions): GlmvApp {
  const { backend } = options;
  const keys = new KeyChecker(options.apiKeys ?? []);
  const bodyLimitBytes = options.bodyLimitBytes ?? 64 * 1024 * 1024;
  const queue = new SlotQueue(options.slots ?? 4, options.maxWaiting ?? 64);
  const defaultModel = () => backend.models()[0]?.id ?? "glmv";
  const metrics = new ServerMetrics(
    { running: () => queue.inFlight, waiting: () => queue.waiting },
    defaultModel(),
  );
  const running = new Set<AbortController>();
  let draining = false;
  const log = options.log ?? (() => {});

  const app = new Hono();

  app.onError((error, c) => {
    const apiError = toApiError(error);
    if (apiError.status >= 500 && apiError.status !== 502 && apiError.status !== 503) {
      log(`error ${c.req.method} ${c.req.path}: ${apiError.message}`);
    }
    return errorResponse(apiError);
  });
  app.notFound((c) =>
    errorResponse(new NotFoundError(`No route ${c.req.method} ${c.req.path}.`, "route_not_found")),
  );

  // Count every response by handler and status.
  app.use("*", async (c, next) => {
    await next();
    const handler =
      c.req.routePath && c.req.routePath !== "*" && c.req.routePath !== "/*" ? c.req.routePath : "other";
    metrics.httpRequests.inc({ handler, method: c.req.method, status: String(c.res.status) });
  });

  if (options.corsOrigins && options.corsOrigins.length > 0) {
    const origins = options.corsOrigins;
    app.use(
      "*",
      cors({
        origin: origins.includes("*") ? "*" : origins,
        allowHeaders: ["Authorization", "Content-Type", "X-Api-Key"],
        allowMethods: ["GET", "POST", "OPTIONS"],
        maxAge: 600,
      }),
    );
  }

  /** The CORS headers for a request's Origin, as the cors middleware would set them (none when off). */
  const corsHeaders = (origin: string | undefined): Record<string, string> => {
    const allowed = options.corsOrigins ?? [];
    if (allowed.length === 0) return {};
    if (allowed.includes("*")) return { "access-control-allow-origin": "*" };
    if (origin && allowed.includes(origin)) return { "access-control-allow-origin": origin, vary: "Origin" };
    return {};
  };

  const requireKey = async (c: Context, next: () => Promise<void>) => {
    if (!keys.check(presentedKey(c.req.raw.headers))) throw new AuthenticationError();
    await next();
  };
  if (!keys.open) {
    app.use("/v1/*", requireKey);
    app.use("/metrics", requireKey);
  }

  app.get("/health", (c) => {
    if (draining) return c.json({ status: "draining", server: options.serverName ?? "glmv" }, 503);
    // A backend that can tell (the gateway: no upstream left) makes /health answer 503 for load balancers.
    if ((backend as { healthy?: boolean }).healthy === false) {
      return c.json(
        { status: "unhealthy", server: options.serverName ?? "glmv", backend: backend.name },
        503,
      );
    }
    return c.json({
      status: "ok",
      server: options.serverName ?? "glmv",
      backend: backend.name,
      in_flight: queue.inFlight,
      waiting: queue.waiting,
    });
  });
  app.get("/version", (c) => c.json({ version: VERSION, server: options.serverName ?? "glmv" }));

  app.get("/metrics", (c) => {
    return c.body(metrics.render(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });

  app.get("/v1/models", (c) => {
    const created = Math.floor(Date.now() / 1000);
    return c.json({
      object: "list",
      data: backend.models().map((m) => ({
        id: m.id,
        object: "model",
        created,
        owned_by: m.ownedBy,
        max_model_len: m.contextSize ?? null,
        glmv_family: m.family,
      })),
    });
  });

  app.post("/v1/chat/completions", async (c) => {
    const arrived = performance.now();
    if (draining)
      throw new UnavailableError("The server is shutting down; retry on another instance.", "draining");
    const node = (c.env as Partial<HttpBindings> | undefined)?.outgoing ? (c.env as HttpBindings) : undefined;
    const body = validateChatCompletion(parseJsonBody(await readBody(c, node, bodyLimitBytes)));
    const model = resolveModel(body.model);
    body.request.model = model;

    // Cancel the generation when the client goes away (a closed socket before the response ended).
    const controller = new AbortController();
    const onClientGone = () => controller.abort(new ClientClosedError());
    let detach: () => void;
    if (node) {
      const outgoing = node.outgoing;
      const onClose = () => {
        if (!outgoing.writableFinished) onClientGone();
      };
      outgoing.once("close", onClose);
      if (outgoing.destroyed) onClose();
      detach = () => outgoing.off("close", onClose);
    } else {
      const clientSignal = c.req.raw.signal;
      if (clientSignal.aborted) onClientGone();
      clientSignal.addEventListener("abort", onClientGone, { once: true });
      detach = () => clientSignal.removeEventListener("abort", onClientGone);
    }

    let release: Release;
    try {
      release = await queue.acquire(controller.signal);
    } catch (error) {
      detach();
      throw error;
    }
    metrics.queueTime.observe((performance.now() - arrived) / 1000);
    running.add(controller);

    const iterator = backend.chat(body.request, controller.signal)[Symbol.asyncIterator]();
    let finished = false;
    const finishOnce = () => {
      if (finished) return;
      finished = true;
      running.delete(controller);
      detach();
      release();
      // Let the backend run its cleanup (it may be suspended after its last event).
      void Promise.resolve(iterator.return?.()).catch(() => {});
    };

    let first: IteratorResult<ChatEvent>;
    try {
      first = await iterator.next();
    } catch (error) {
      finishOnce();
      throw error;
    }
    const ttftSeconds = (performance.now() - arrived) / 1000;
    const record = (result: ChatResult) => {
      const e2e = (performance.now() - arrived) / 1000;
      const reason = result.output.toolCalls.length > 0 ? "tool_calls" : result.finishReason;
      metrics.requestSuccess.inc({ finished_reason: reason });
      metrics.promptTokens.inc({}, result.usage.promptTokens);
      metrics.generationTokens.inc({}, result.usage.completionTokens);
      metrics.ttft.observe(ttftSeconds);
      metrics.e2e.observe(e2e);
      if (result.usage.completionTokens > 1) {
        metrics.tpot.observe((e2e - ttftSeconds) / (result.usage.completionTokens - 1));
      }
    };

    const id = completionId();
    const created = Math.floor(Date.now() / 1000);

    if (!body.stream) {
      try {
        let next = first;
        while (!next.done && next.value.type !== "done") next = await iterator.next();
        if (next.done) throw new UpstreamError("The backend ended without a result.", "incomplete");
        const result = (next.value as { type: "done"; result: ChatResult }).result;
        if (result.finishReason === "abort") throw abortError(controller.signal);
        record(result);
        return c.json(completionBody(id, created, model, result, body.skipSpecialTokens));
      } finally {
        finishOnce();
      }
    }

    const encoder = new ChunkEncoder(id, created, model, body.skipSpecialTokens);
    /** Turns one event into SSE text; "" when nothing is due; throws on an aborted or missing result. */
    const encode = (next: IteratorResult<ChatEvent>): { text: string; last: boolean } => {
      if (next.done) throw new UpstreamError("The backend ended the stream without a result.", "incomplete");
      const event = next.value;
      if (event.type === "delta") return { text: encoder.delta(event.delta), last: false };
      if (event.result.finishReason === "abort") throw abortError(controller.signal);
      record(event.result);
      return { text: encoder.finish(event.result, body.includeUsage) + SSE_DONE, last: true };
    };
    const failure = (error: unknown): string => {
      const apiError = toApiError(error);
      metrics.requestSuccess.inc({ finished_reason: controller.signal.aborted ? "abort" : "error" });
      if (!(controller.signal.reason instanceof ClientClosedError)) log(`stream error: ${apiError.message}`);
      return sseError(apiError) + SSE_DONE;
    };

    if (node) {
      // Write straight to the socket: no web streams between the backend and the client.
      const outgoing = node.outgoing;
      // This response bypasses Hono's, so the CORS middleware's headers are added here.
      const cors = options.corsOrigins?.length ? corsHeaders(node.incoming.headers.origin) : undefined;
      outgoing.writeHead(200, cors ? { ...cors, ...SSE_HEADERS } : SSE_HEADERS);
      outgoing.write(encoder.role());
      void (async () => {
        try {
          let next = first;
          for (;;) {
            const { text, last } = encode(next);
            if (last) {
              outgoing.end(text);
              return;
            }
            if (outgoing.destroyed) throw abortError(controller.signal);
            if (text !== "" && !outgoing.write(text)) await drained(outgoing);
            next = await iterator.next();
          }
        } catch (error) {
          if (!outgoing.destroyed && !outgoing.writableEnded) outgoing.end(failure(error));
        } finally {
          finishOnce();
        }
      })();
      return RESPONSE_ALREADY_SENT;
    }

    const bytes = new TextEncoder();
    let pending: IteratorResult<ChatEvent> | undefined = first;
    let closed = false;
    const stream = new ReadableStream<Uint8Array>({
      start(ctrl) {
        ctrl.enqueue(bytes.encode(encoder.role()));
      },
      async pull(ctrl) {
        try {
          for (;;) {
            const next = pending ?? (await iterator.next());
            pending = undefined;
            if (closed) return;
            const { text, last } = encode(next);
            if (text !== "") ctrl.enqueue(bytes.encode(text));
            if (last) {
              closed = true;
              ctrl.close();
              finishOnce();
            }
            if (text !== "" || last) return;
          }
        } catch (error) {
          if (closed) return;
          closed = true;
          try {
            ctrl.enqueue(bytes.encode(failure(error)));
            ctrl.close();
          } catch {
            // the client is gone
          }
          finishOnce();
        }
      },
      cancel() {
        closed = true;
        controller.abort(new ClientClosedError());
        finishOnce();
      },
    });
    return new Response(stream, { status: 200, headers: SSE_HEADERS });
  });

  if (options.ui) {
    const ui = options.ui;
    app.all("/ui", (c) => ui.fetch(c.req.raw));
    app.all("/ui/*", (c) => ui.fetch(c.req.raw));
    app.get("/", (c) => c.redirect("/ui/"));
  }

  function resolveModel(requested: string | undefined): string {
    const models = backend.models();
    if (requested === undefined || requested === "") return models[0]?.id ?? "glmv";
    if (models.length === 0 || models.some((m) => m.id === requested)) return requested;
    throw new NotFoundError(
      `The model "${requested}" is not served here. Available: ${models.map((m) => m.id).join(", ")}.`,
      "model_not_found",
      "model",
    );
  }

  function abortAll(reason = "The server is shutting down."): number {
    const list = [...running];
    for (const controller of list) controller.abort(new UnavailableError(reason, "shutdown"));
    return list.length;
  }

  async function drain(timeoutMs: number): Promise<{ aborted: number }> {
    draining = true;
    queue.rejectWaiting(new UnavailableError("The server is shutting down.", "draining"));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const outcome = await Promise.race([queue.idle().then(() => "idle" as const), timedOut]);
    clearTimeout(timer);
    if (outcome === "idle") return { aborted: 0 };
    const aborted = abortAll();
    await Promise.race([queue.idle(), new Promise((r) => setTimeout(r, 1000))]);
    return { aborted };
  }

  return { app, metrics, queue, drain, abortAll };
}

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
  "x-accel-buffering": "no",
};

/** Resolves when the socket can take more data, or has closed. */
function drained(outgoing: HttpBindings["outgoing"]): Promise<void> {
  return new Promise((resolve) => {
    if (outgoing.destroyed || outgoing.closed) return resolve();
    const done = () => {
      outgoing.off("drain", done);
      outgoing.off("close", done);
      resolve();
    };
    outgoing.once("drain", done);
    outgoing.once("close", done);
  });
}

/** Reads the request body as text within the size limit (straight from the socket under node-server). */
async function readBody(c: Context, node: HttpBindings | undefined, limit: number): Promise<string> {
  // Under node-server read the header from the socket's request (cheaper than building web Headers).
  const declared = Number(node ? node.incoming.headers["content-length"] : c.req.header("content-length"));
  if (Number.isFinite(declared) && declared > limit) throw new PayloadTooLargeError(limit);
  if (!node) {
    const text = await c.req.text();
    if (Buffer.byteLength(text) > limit) throw new PayloadTooLargeError(limit);
    return text;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of node.incoming) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new PayloadTooLargeError(limit);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function abortError(signal: AbortSignal): unknown {
  const reason = signal.reason;
  if (reason instanceof Error) return reason;
  return new UnavailableError("The generation was aborted.", "aborted");
}

function errorResponse(error: ApiError): Response {
  return new Response(JSON.stringify(error.toBody()), {
    status: error.status === 499 ? 400 : error.status,
    headers: { "content-type": "application/json", ...error.headers },
  });
}

/** A listening server. */
export interface RunningServer extends GlmvApp {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  host: string;
  /** The underlying node:http server. */
  httpServer: HttpServer;
  /**
   * Stops listening, lets in-flight streams finish (up to `drainTimeoutMs`, default 30 s), aborts the rest
   * and closes every connection. The backend is left open (its owner closes it).
   */
  close(drainTimeoutMs?: number): Promise<void>;
}

/** Starts the server on `host:port` (default 127.0.0.1, port 0 = any free port). */
export async function startServer(
  options: ServerOptions & { host?: string; port?: number },
): Promise<RunningServer> {
  const glmv = createApp(options);
  const host = options.host ?? "127.0.0.1";
  const server = createAdaptorServer({ fetch: glmv.app.fetch, autoCleanupIncoming: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    ...glmv,
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    host,
    httpServer: server as HttpServer,
    close(drainTimeoutMs = 30_000) {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        const http = server as unknown as {
          closeIdleConnections?: () => void;
          closeAllConnections?: () => void;
        };
        http.closeIdleConnections?.();
        await glmv.drain(drainTimeoutMs);
        http.closeAllConnections?.();
        await closed;
      })();
      return closing;
    },
  };
}
