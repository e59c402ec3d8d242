/**
 * A loopback HTTP server that imitates a vLLM/SGLang OpenAI-compatible upstream, for tests and the gateway
 * benchmark (vLLM itself cannot run here). It replays scripted deltas over SSE exactly as an engine would:
 * raw GLM text in `content` (an engine without GLM parsers), or pre-split `reasoning_content`/`reasoning`
 * and `tool_calls` fields (an engine with `--reasoning-parser glm45 --tool-call-parser glm45`).
 *
 * It records every request body so tests can check the dialect translation, and it can stall, die
 * mid-stream or fail to simulate a broken engine.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** One upstream delta, sent verbatim as `choices[0].delta`. */
export type FakeDelta = Record<string, unknown>;

/** What the fake upstream answers to one chat request. */
export interface FakeScript {
  /** Deltas sent in order after the role chunk. */
  deltas: FakeDelta[];
  finishReason?: string;
  usage?: { prompt_tokens: number; completion_tokens: number };
  /** Milliseconds between chunks (default 0). */
  delayMs?: number;
  /** Destroy the connection after this many deltas (simulates a crash mid-stream). */
  dieAfter?: number;
  /** Never finish: keep sending a delta every `delayMs` until the client goes away. */
  endless?: boolean;
  /** Answer with this HTTP status and an error body instead of generating. */
  status?: number;
  /** Skip the role chunk (some engines do). */
  noRole?: boolean;
  /** Send each SSE message with `\r\n` line ends. */
  crlf?: boolean;
}

/** Splits raw text into content deltas of `size` characters (raw mode, no GLM parsers upstream). */
export function rawDeltas(text: string, size = 4): FakeDelta[] {
  const out: FakeDelta[] = [];
  for (let i = 0; i < text.length; i += size) out.push({ content: text.slice(i, i + size) });
  return out;
}

/** Options of the fake upstream. */
export interface FakeUpstreamOptions {
  /** Picks the script for a request body (default: the body's `fake_script` field, else a short answer). */
  respond?: (body: Record<string, unknown>) => FakeScript;
  /** Model ids served by /v1/models. */
  models?: string[];
  /** What GET /version answers (vLLM shape) — null answers 404. */
  version?: string | null;
  /** Require this bearer key. */
  apiKey?: string;
}

/** A running fake upstream. */
export class FakeUpstream {
  readonly requests: Record<string, unknown>[] = [];
  /** Number of chat streams whose client went away before the end. */
  clientAborts = 0;
  /** Resolvers waiting for the next client abort. */
  private abortWaiters: ((at: number) => void)[] = [];
  healthy = true;
  private server: Server;
  private sockets = new Set<Socket>();
  private options: FakeUpstreamOptions;
  url = "";

  private constructor(options: FakeUpstreamOptions) {
    this.options = options;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => res.destroy());
    });
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  /** Starts a fake upstream on 127.0.0.1 (port 0 = any). */
  static async start(options: FakeUpstreamOptions = {}, port = 0): Promise<FakeUpstream> {
    const fake = new FakeUpstream(options);
    await new Promise<void>((resolve) => fake.server.listen(port, "127.0.0.1", resolve));
    fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  /** Resolves with performance.now() at the next client abort of a chat stream. */
  nextAbort(): Promise<number> {
    return new Promise((resolve) => this.abortWaiters.push(resolve));
  }

  /** Stops the server and cuts every open connection (a crash). */
  async kill(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Listens again on the same port after kill(). */
  async restart(): Promise<void> {
    const port = Number(new URL(this.url).port);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => res.destroy());
    });
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server.listen(port, "127.0.0.1", resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? "/";
    if (this.options.apiKey && req.headers.authorization !== `Bearer ${this.options.apiKey}`) {
      return json(res, 401, { error: { message: "bad key", type: "authentication_error" } });
    }
    if (req.method === "GET" && url === "/health") {
      res.writeHead(this.healthy ? 200 : 503).end();
      return;
    }
    if (req.method === "GET" && url === "/version") {
      if (this.options.version === null) return json(res, 404, { detail: "Not Found" });
      return json(res, 200, { version: this.options.version ?? "0.11.0" });
    }
    if (req.method === "GET" && url.endsWith("/models")) {
      const ids = this.options.models ?? ["glm-4.5v"];
      return json(res, 200, {
        object: "list",
        data: ids.map((id) => ({ id, object: "model", owned_by: "vllm", max_model_len: 65536 })),
      });
    }
    if (req.method === "POST" && url.endsWith("/chat/completions")) {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
      this.requests.push(body);
      const script = this.options.respond ? this.options.respond(body) : defaultScript(body);
      return this.chat(body, script, res);
    }
    json(res, 404, { detail: "Not Found" });
  }

  private async chat(body: Record<string, unknown>, script: FakeScript, res: ServerResponse): Promise<void> {
    if (script.status) {
      return json(res, script.status, {
        error: { message: "scripted failure", type: "server_error", code: null },
      });
    }
    const id = "chatcmpl-fake";
    const created = 1700000000;
    const model = typeof body.model === "string" ? body.model : "glm-4.5v";
    const finishReason = script.finishReason ?? "stop";
    const usage = script.usage ?? { prompt_tokens: 10, completion_tokens: script.deltas.length };
    if (body.stream !== true) {
      const message: Record<string, unknown> = { role: "assistant", content: null };
      const calls: Record<string, unknown>[] = [];
      for (const d of script.deltas) {
        for (const [k, v] of Object.entries(d)) {
          if (k === "tool_calls") calls.push(...(v as Record<string, unknown>[]));
          else if (typeof v === "string") message[k] = ((message[k] as string | null) ?? "") + v;
        }
      }
      if (calls.length > 0) message.tool_calls = calls;
      return json(res, 200, {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
        usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
      });
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const eol = script.crlf ? "\r\n" : "\n";
    let gone = false;
    res.on("close", () => {
      if (!res.writableEnded) {
        gone = true;
        this.clientAborts++;
        const at = performance.now();
        for (const w of this.abortWaiters.splice(0)) w(at);
      }
    });
    const send = (obj: unknown) => res.write(`data: ${JSON.stringify(obj)}${eol}${eol}`);
    const chunk = (delta: FakeDelta, finish: string | null = null) => ({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    });
    if (!script.noRole) send(chunk({ role: "assistant", content: "" }));
    let i = 0;
    for (;;) {
      if (gone) return;
      if (script.dieAfter !== undefined && i === script.dieAfter) {
        res.socket?.destroy();
        return;
      }
      if (i >= script.deltas.length && !script.endless) break;
      const delta = script.endless
        ? (script.deltas[i % Math.max(1, script.deltas.length)] ?? { content: "x" })
        : script.deltas[i];
      send(chunk(delta));
      i++;
      if (script.delayMs) await new Promise((r) => setTimeout(r, script.delayMs).unref());
      else if (i % 64 === 0) await new Promise((r) => setImmediate(r));
    }
    send(chunk({}, finishReason));
    if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage) {
      send({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        choices: [],
        usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
      });
    }
    res.end(`data: [DONE]${eol}${eol}`);
  }
}

function defaultScript(body: Record<string, unknown>): FakeScript {
  const script = body.fake_script as FakeScript | undefined;
  if (script) return script;
  return { deltas: rawDeltas("<think>Let me look.</think>Hello from the fake upstream.") };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
