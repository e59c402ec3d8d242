/**
 * The typed client against a real glmv server (gateway over an imitation vLLM) and directly against the
 * imitation vLLM (raw GLM text, no server-side parsing): same events and answers either way.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, it } from "node:test";
import { type RunningServer, startServer } from "../server/app.ts";
import { FakeUpstream } from "../server/testing/fake-upstream.ts";
import { scriptFor, WEATHER_TOOL } from "../server/testing/scripts.ts";
import { createUpstreamBackend, type UpstreamBackend } from "../server/upstream/backend.ts";
import {
  apiBase,
  backoff,
  type ChatStreamEvent,
  createClient,
  GlmvApiError,
  GlmvConnectionError,
} from "./client.ts";

describe("typed client", () => {
  let fake: FakeUpstream;
  let backend: UpstreamBackend;
  let server: RunningServer;

  before(async () => {
    fake = await FakeUpstream.start({ respond: scriptFor });
    backend = await createUpstreamBackend({ upstreams: [{ url: fake.url }], healthIntervalMs: 0 });
    server = await startServer({ backend, apiKeys: ["k"], slots: 1, maxWaiting: 0 });
  });
  after(async () => {
    await server.close(100);
    await backend.close();
    await fake.kill();
  });

  for (const target of ["glmv server", "glmv server (glmv dialect)", "raw vLLM"] as const) {
    it(`streams typed events and parses the answer from a ${target}`, async () => {
      const client =
        target === "raw vLLM"
          ? createClient({ baseURL: `${fake.url}/v1`, model: "glm-4.5v" })
          : createClient({
              baseURL: `${server.url}/v1`,
              apiKey: "k",
              dialect: target === "glmv server" ? "auto" : "glmv",
            });
      const events: ChatStreamEvent[] = [];
      for await (const e of client.stream({ messages: [{ role: "user", content: "raw-think" }] }))
        events.push(e);
      const types = events.map((e) => e.type).filter((t, i, all) => t !== all[i - 1]);
      assert.deepEqual(types, ["reasoning", "content", "box", "usage", "done"]);
      const done = events.at(-1);
      assert.equal(done?.type, "done");
      if (done?.type !== "done") return;
      assert.equal(done.answer.reasoning, "The user asks for the cat. It sits in the middle.");
      assert.equal(done.answer.content, "The cat is here: <|begin_of_box|>[250,100,750,900]<|end_of_box|>");
      assert.deepEqual(done.answer.boxes, [{ box: { x1: 250, y1: 100, x2: 750, y2: 900 } }]);
      assert.deepEqual(done.answer.usage, { promptTokens: 12, completionTokens: 20 });

      const tools = await client.chat({
        messages: [{ role: "user", content: "raw-tool" }],
        tools: [WEATHER_TOOL],
      });
      assert.equal(tools.finishReason, "tool_calls");
      assert.equal(tools.toolCalls.length, 1);
      assert.match(tools.toolCalls[0].id, /^call_/);
      assert.deepEqual(JSON.parse(tools.toolCalls[0].function.arguments), { city: "Paris", days: 3 });
    });
  }

  it("emits a tool_call event with the complete call", async () => {
    const client = createClient({ baseURL: `${server.url}/v1`, apiKey: "k" });
    const calls = [];
    for await (const e of client.stream({
      messages: [{ role: "user", content: "parsed-tool" }],
      tools: [WEATHER_TOOL],
    })) {
      if (e.type === "tool_call") calls.push(e.call);
    }
    assert.equal(calls.length, 1);
    assert.equal(calls[0].function.name, "get_weather");
    assert.deepEqual(JSON.parse(calls[0].function.arguments), { city: "Paris", days: 3 });
  });

  it("raises typed errors with the field name, and lists models", async () => {
    const client = createClient({ baseURL: `${server.url}/v1`, apiKey: "k", maxRetries: 0 });
    await assert.rejects(
      client.chat({ messages: [{ role: "user", content: "x" }], temperature: 9 }),
      (e: unknown) => e instanceof GlmvApiError && e.status === 400 && e.param === "temperature",
    );
    const wrongKey = createClient({ baseURL: `${server.url}/v1`, apiKey: "nope" });
    await assert.rejects(
      wrongKey.chat({ messages: [{ role: "user", content: "x" }] }),
      (e: unknown) => e instanceof GlmvApiError && e.status === 401,
    );
    assert.deepEqual(
      (await client.models()).map((m) => m.id),
      ["glm-4.5v"],
    );
  });

  it("cancels with an AbortSignal", async () => {
    const client = createClient({ baseURL: `${server.url}/v1`, apiKey: "k" });
    const controller = new AbortController();
    let seen = 0;
    await assert.rejects(async () => {
      for await (const e of client.stream({
        messages: [{ role: "user", content: "endless" }],
        signal: controller.signal,
      })) {
        if (e.type === "content" && ++seen === 3) controller.abort();
      }
    });
    assert.equal(seen, 3);
    const start = performance.now();
    while (server.queue.inFlight > 0 && performance.now() - start < 1000)
      await new Promise((r) => setTimeout(r, 2));
    assert.equal(server.queue.inFlight, 0);
  });

  it("retries 429 and 5xx with backoff (Retry-After honoured) and connection errors", async () => {
    let calls = 0;
    const flaky = createServer((_req, res) => {
      calls++;
      if (calls === 1) {
        res.writeHead(429, { "retry-after": "0", "content-type": "application/json" });
        res.end('{"error":{"message":"busy","type":"rate_limit_error"}}');
        return;
      }
      if (calls === 2) {
        res.writeHead(503).end("down");
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(
        'data: {"choices":[{"index":0,"delta":{"content":"fine"},"finish_reason":null}]}\n\ndata: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
      );
    });
    await new Promise<void>((r) => flaky.listen(0, "127.0.0.1", r));
    const port = (flaky.address() as { port: number }).port;
    const client = createClient({ baseURL: `http://127.0.0.1:${port}/v1`, retryBaseMs: 1, maxRetries: 2 });
    const answer = await client.chat({ messages: [{ role: "user", content: "x" }], thinking: false });
    assert.equal(answer.content, "fine");
    assert.equal(calls, 3);
    await new Promise<void>((r) => flaky.close(() => r()));
    const gone = createClient({ baseURL: `http://127.0.0.1:${port}/v1`, retryBaseMs: 1, maxRetries: 1 });
    await assert.rejects(gone.chat({ messages: [{ role: "user", content: "x" }] }), GlmvConnectionError);
    assert.equal(backoff(0, 100, "2"), 2000);
    assert.equal(apiBase("http://127.0.0.1:8080"), "http://127.0.0.1:8080/v1");
    assert.equal(apiBase("https://api.z.ai/api/paas/v4/"), "https://api.z.ai/api/paas/v4");
    const d = backoff(3, 100, null);
    assert.ok(d >= 640 && d <= 960);
  });
});
