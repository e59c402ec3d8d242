/**
 * Security and reliability of the server over real HTTP: auth, CORS, body limit, the 429 queue, client
 * disconnects cancelling generation within 100 ms, metrics, and draining on shutdown.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { readSse } from "../client/sse.ts";
import { type RunningServer, type ServerOptions, startServer } from "./app.ts";
import { FakeUpstream } from "./testing/fake-upstream.ts";
import { scriptFor } from "./testing/scripts.ts";
import { createUpstreamBackend, type UpstreamBackend } from "./upstream/backend.ts";

let fake: FakeUpstream;
let backend: UpstreamBackend;
const servers: RunningServer[] = [];

async function serve(options: Omit<ServerOptions, "backend"> = {}): Promise<RunningServer> {
  const server = await startServer({ backend, ...options });
  servers.push(server);
  return server;
}

function post(
  server: RunningServer,
  body: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
) {
  return fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal,
  });
}

const chat = (text: string, stream = true) => ({ messages: [{ role: "user", content: text }], stream });

/** Resolves when `check` holds, polling on the event loop (no fixed sleeps). */
async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 2));
  }
}

before(async () => {
  fake = await FakeUpstream.start({ respond: scriptFor });
  backend = await createUpstreamBackend({ upstreams: [{ url: fake.url }], healthIntervalMs: 0 });
});
after(async () => {
  for (const s of servers) await s.close(200);
  await backend.close();
  await fake.kill();
});

describe("auth", () => {
  it("refuses a missing or wrong key with 401 and accepts the right one (Bearer or x-api-key)", async () => {
    const server = await serve({ apiKeys: ["s3cret", "other"] });
    const noKey = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "wrong", maxRetries: 0 });
    await assert.rejects(
      noKey.chat.completions.create({ messages: [{ role: "user", content: "hi" }], model: "glm-4.5v" }),
      (e: unknown) => e instanceof OpenAI.AuthenticationError && e.status === 401,
    );
    const good = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "other", maxRetries: 0 });
    const ok = await good.chat.completions.create({
      messages: [{ role: "user", content: "hi" }],
      model: "glm-4.5v",
    });
    assert.equal(ok.choices[0].message.content, "hi");
    assert.equal((await post(server, chat("hi", false), { "x-api-key": "s3cret" })).status, 200);
    assert.equal((await post(server, chat("hi", false))).status, 401);
    assert.equal((await fetch(`${server.url}/health`)).status, 200, "health stays open");
    assert.equal((await fetch(`${server.url}/metrics`)).status, 401, "metrics need the key");
    assert.equal(
      (await fetch(`${server.url}/metrics`, { headers: { authorization: "Bearer s3cret" } })).status,
      200,
    );
  });
});

describe("CORS", () => {
  it("sends no CORS headers unless origins are configured", async () => {
    const closed = await serve();
    const r = await fetch(`${closed.url}/v1/models`, { headers: { origin: "https://evil.example" } });
    assert.equal(r.headers.get("access-control-allow-origin"), null);
    const open = await serve({ corsOrigins: ["https://app.example"] });
    const pre = await fetch(`${open.url}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST" },
    });
    assert.equal(pre.headers.get("access-control-allow-origin"), "https://app.example");
    const streamed = await post(open, chat("raw-think"), { origin: "https://app.example" });
    assert.equal(streamed.headers.get("access-control-allow-origin"), "https://app.example");
    assert.equal(streamed.headers.get("content-type"), "text/event-stream; charset=utf-8");
    await streamed.text();
    const whole = await post(open, chat("raw-think", false), { origin: "https://app.example" });
    assert.equal(whole.headers.get("access-control-allow-origin"), "https://app.example");
    await whole.json();
  });
});

describe("limits", () => {
  it("answers 413 for a body over the limit", async () => {
    const server = await serve({ bodyLimitBytes: 2000 });
    const r = await post(server, chat("x".repeat(5000)));
    assert.equal(r.status, 413);
    const body = (await r.json()) as { error: { code: string } };
    assert.equal(body.error.code, "payload_too_large");
  });

  it("answers 429 with Retry-After when every slot is busy and the queue is full", async () => {
    const server = await serve({ slots: 1, maxWaiting: 0 });
    const holder = new AbortController();
    const first = await post(server, chat("endless"), {}, holder.signal);
    assert.equal(first.status, 200);
    const reader = first.body!.getReader();
    await reader.read();
    const refused = await post(server, chat("hi", false));
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);
    assert.equal(((await refused.json()) as { error: { type: string } }).error.type, "rate_limit_error");
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "x", maxRetries: 0 });
    await assert.rejects(
      client.chat.completions.create({ messages: [{ role: "user", content: "hi" }], model: "glm-4.5v" }),
      (e: unknown) => e instanceof OpenAI.RateLimitError,
    );
    holder.abort();
    await until(() => server.queue.inFlight === 0);
    assert.equal((await post(server, chat("hi", false))).status, 200, "the slot is free again");
  });
});

describe("cancellation", () => {
  it("cancels the upstream generation and frees the slot within 100 ms of a client disconnect", async () => {
    const server = await serve({ slots: 2 });
    const controller = new AbortController();
    const response = await post(server, chat("endless"), {}, controller.signal);
    const reader = response.body!.getReader();
    await reader.read();
    await reader.read();
    assert.equal(server.queue.inFlight, 1);
    const upstreamSaw = fake.nextAbort();
    const abortedAt = performance.now();
    controller.abort();
    const upstreamAt = await upstreamSaw;
    assert.ok(
      upstreamAt - abortedAt < 100,
      `upstream cancelled after ${(upstreamAt - abortedAt).toFixed(1)} ms`,
    );
    await until(() => server.queue.inFlight === 0, 100);
    const freedAt = performance.now();
    assert.ok(freedAt - abortedAt < 100, `slot freed after ${(freedAt - abortedAt).toFixed(1)} ms`);
  });

  it("cancels a non-streaming generation when its client goes away", async () => {
    const server = await serve({ slots: 2 });
    const controller = new AbortController();
    const before = fake.requests.length;
    const pending = post(server, chat("endless", false), {}, controller.signal).catch(() => "aborted");
    await until(() => fake.requests.length > before && server.queue.inFlight === 1);
    const upstreamSaw = fake.nextAbort();
    const abortedAt = performance.now();
    controller.abort();
    assert.equal(await pending, "aborted");
    const upstreamAt = await upstreamSaw;
    assert.ok(
      upstreamAt - abortedAt < 100,
      `upstream cancelled after ${(upstreamAt - abortedAt).toFixed(1)} ms`,
    );
    await until(() => server.queue.inFlight === 0, 100);
  });

  it("removes a queued request whose client goes away", async () => {
    const server = await serve({ slots: 1, maxWaiting: 4 });
    const holder = new AbortController();
    const first = await post(server, chat("endless"), {}, holder.signal);
    await first.body!.getReader().read();
    const waiter = new AbortController();
    const queued = post(server, chat("hi", false), {}, waiter.signal).catch(() => "aborted");
    await until(() => server.queue.waiting === 1);
    waiter.abort();
    assert.equal(await queued, "aborted");
    await until(() => server.queue.waiting === 0);
    holder.abort();
    await until(() => server.queue.inFlight === 0);
  });
});

describe("metrics", () => {
  it("exposes request counts by status, token counters, TTFT/TPOT histograms, queue depth and in-flight", async () => {
    const server = await serve();
    await (await post(server, chat("raw-think", false))).json();
    const stream = await post(server, chat("raw-think"));
    await stream.text();
    await (await post(server, { messages: "nope" })).json();
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /# TYPE glmv:http_requests_total counter/);
    assert.match(
      text,
      /glmv:http_requests_total\{handler="\/v1\/chat\/completions",method="POST",status="200"\} 2/,
    );
    assert.match(
      text,
      /glmv:http_requests_total\{handler="\/v1\/chat\/completions",method="POST",status="400"\} 1/,
    );
    assert.match(text, /glmv:prompt_tokens_total 24/);
    assert.match(text, /glmv:generation_tokens_total 40/);
    assert.match(text, /glmv:request_success_total\{finished_reason="stop"\} 2/);
    assert.match(text, /# TYPE glmv:time_to_first_token_seconds histogram/);
    assert.match(text, /glmv:time_to_first_token_seconds_count 2/);
    assert.match(text, /glmv:time_to_first_token_seconds_bucket\{le="\+Inf"\} 2/);
    assert.match(text, /glmv:request_time_per_output_token_seconds_count 2/);
    assert.match(text, /glmv:num_requests_waiting\{model_name="glm-4.5v"\} 0/);
    assert.match(text, /glmv:num_requests_running\{model_name="glm-4.5v"\} 0/);
  });
});

describe("shutdown", () => {
  it("drains an in-flight stream to its end, refuses new work, then closes", async () => {
    const server = await serve();
    const response = await post(server, chat("slow"));
    const events: string[] = [];
    const reading = (async () => {
      for await (const data of readSse(response.body!)) events.push(data);
    })();
    await until(() => events.length >= 2);
    const closing = server.close(5000);
    const refused = await post(server, chat("hi", false)).then(
      (r) => r.status,
      () => "refused",
    );
    assert.ok(refused === 503 || refused === "refused", `new request during drain: ${refused}`);
    await closing;
    await reading;
    assert.equal(events.at(-1), "[DONE]");
    const final = JSON.parse(events.at(-2)!) as { choices: { finish_reason: string }[] };
    assert.equal(final.choices[0].finish_reason, "stop");
  });

  it("aborts streams still running when the drain time is up, with an error event", async () => {
    const server = await serve();
    const response = await post(server, chat("endless"));
    const events: string[] = [];
    const reading = (async () => {
      for await (const data of readSse(response.body!)) events.push(data);
    })();
    await until(() => events.length >= 2);
    await server.close(50);
    await reading;
    assert.equal(events.at(-1), "[DONE]");
    const error = JSON.parse(events.at(-2)!) as { error: { code: string } };
    assert.equal(error.error.code, "shutdown");
  });
});
