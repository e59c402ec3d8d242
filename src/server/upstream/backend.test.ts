/**
 * A glmv gateway in front of two glmv servers (each over its own imitation vLLM): dialect detection,
 * pass-through of parsed fields, least-in-flight spreading, an upstream dying mid-stream, 502 when all are
 * down, and an upstream coming back after its health check passes.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { readSse } from "../../client/sse.ts";
import { type RunningServer, startServer } from "../app.ts";
import { FakeUpstream } from "../testing/fake-upstream.ts";
import { scriptFor, WEATHER_TOOL } from "../testing/scripts.ts";
import { createUpstreamBackend, type UpstreamBackend, versionAtLeast } from "./backend.ts";

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Node {
  fake: FakeUpstream;
  backend: UpstreamBackend;
  server: RunningServer;
}

async function glmvNode(port = 0): Promise<Node> {
  const fake = await FakeUpstream.start({ respond: scriptFor, models: ["glm-4.5v"] });
  const backend = await createUpstreamBackend({ upstreams: [{ url: fake.url }], healthIntervalMs: 30 });
  const server = await startServer({ backend, port });
  return { fake, backend, server };
}

/** Crashes a glmv node: every connection is cut, nothing drains. */
async function crash(node: Node): Promise<void> {
  node.server.httpServer.closeAllConnections();
  await new Promise<void>((resolve) => node.server.httpServer.close(() => resolve()));
  node.server.abortAll();
}

describe("glmv gateway in front of glmv servers", () => {
  let a: Node;
  let b: Node;
  let gatewayBackend: UpstreamBackend;
  let gateway: RunningServer;
  let client: OpenAI;

  before(async () => {
    a = await glmvNode();
    b = await glmvNode();
    gatewayBackend = await createUpstreamBackend({
      upstreams: [{ url: a.server.url }, { url: `${b.server.url}/v1` }],
      healthIntervalMs: 40,
      healthTimeoutMs: 500,
    });
    gateway = await startServer({ backend: gatewayBackend, slots: 16 });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "x", maxRetries: 0 });
  });
  after(async () => {
    await gateway.close(200);
    await gatewayBackend.close();
    for (const n of [a, b]) {
      await n.server.close(100);
      await n.backend.close();
      await n.fake.kill();
    }
  });

  it("detects glmv upstreams and lists their models", async () => {
    assert.deepEqual(
      gatewayBackend.models().map((m) => [m.id, m.family, m.ownedBy]),
      [["glm-4.5v", "glm-4.5v", "glmv"]],
    );
  });

  it("relays reasoning, content, boxes and tool calls unchanged", async () => {
    const direct = new OpenAI({ baseURL: `${a.server.url}/v1`, apiKey: "x", maxRetries: 0 });
    for (const text of ["raw-think", "raw-tool"]) {
      const params = {
        model: "glm-4.5v",
        messages: [{ role: "user" as const, content: text }],
        tools: [WEATHER_TOOL],
      };
      const viaGateway = await client.chat.completions.create(params);
      const viaDirect = await direct.chat.completions.create(params);
      const g = viaGateway.choices[0];
      const d = viaDirect.choices[0];
      assert.equal(g.message.content, d.message.content);
      assert.equal(
        (g.message as unknown as { reasoning_content: string }).reasoning_content,
        (d.message as unknown as { reasoning_content: string }).reasoning_content,
      );
      assert.equal(g.finish_reason, d.finish_reason);
      assert.deepEqual(
        g.message.tool_calls?.map((c) => (c as { function: unknown }).function),
        d.message.tool_calls?.map((c) => (c as { function: unknown }).function),
      );
      assert.deepEqual(
        (viaGateway as unknown as { glmv: unknown }).glmv,
        (viaDirect as unknown as { glmv: unknown }).glmv,
      );
    }
  });

  it("passes the thinking budget natively to a glmv upstream", async () => {
    const before = a.fake.requests.length + b.fake.requests.length;
    await client.chat.completions.create({
      model: "glm-4.5v",
      messages: [{ role: "user", content: "budget" }],
      max_completion_tokens: 100,
      // @ts-expect-error glmv extension
      thinking_token_budget: 8,
    });
    // The budget travelled to the inner glmv, which emulates it against its vLLM: two requests there.
    const after = a.fake.requests.length + b.fake.requests.length;
    assert.equal(after - before, 2);
  });

  it("relays an inner engine's mid-stream failure as an error event without taking the glmv upstream out", async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "die" }], stream: true }),
    });
    const events: string[] = [];
    for await (const data of readSse(response.body!)) events.push(data);
    assert.equal(events.at(-1), "[DONE]");
    const error = JSON.parse(events.at(-2)!) as { error: { code: string; message: string } };
    assert.equal(error.error.code, "upstream_disconnected");
    assert.ok(gatewayBackend.pool.endpoints.every((e) => e.healthy));
    // The inner glmv took its crashed engine out; its health check brings it back.
    // (Meanwhile the gateway may have seen that glmv's /health answer 503 and taken it out for a moment.)
    await until(() => [a, b].every((n) => n.backend.pool.endpoints.every((e) => e.healthy)));
    await gatewayBackend.pool.checkAll(); // a round that may have started before they were back
    await gatewayBackend.pool.checkAll(); // a fresh round
    assert.ok(gatewayBackend.pool.endpoints.every((e) => e.healthy));
  });

  it("spreads concurrent streams over both upstreams (least in flight)", async () => {
    const servedA = a.fake.requests.length;
    const servedB = b.fake.requests.length;
    const controllers = [new AbortController(), new AbortController()];
    const responses = await Promise.all(
      controllers.map((c) =>
        fetch(`${gateway.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ messages: [{ role: "user", content: "endless" }], stream: true }),
          signal: c.signal,
        }),
      ),
    );
    for (const r of responses) await r.body!.getReader().read();
    assert.equal(a.fake.requests.length - servedA, 1);
    assert.equal(b.fake.requests.length - servedB, 1);
    for (const c of controllers) c.abort();
    await until(
      () => gateway.queue.inFlight === 0 && a.server.queue.inFlight === 0 && b.server.queue.inFlight === 0,
    );
  });

  it("reports an upstream that dies mid-stream as an error event, then serves from the other, then 502", async () => {
    // Occupy B so the next stream goes to A.
    const holder = new AbortController();
    const held = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "endless" }], stream: true }),
      signal: holder.signal,
    });
    await held.body!.getReader().read();
    const busy = gatewayBackend.pool.endpoints.find((e) => e.inFlight === 1)!;
    const victim = busy.rootUrl === a.server.url ? b : a;
    const survivor = victim === a ? b : a;

    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "slow" }], stream: true }),
    });
    assert.equal(response.status, 200);
    const events: string[] = [];
    for await (const data of readSse(response.body!)) {
      events.push(data);
      if (events.length === 2) await crash(victim);
    }
    holder.abort();
    assert.equal(events.at(-1), "[DONE]");
    const error = JSON.parse(events.at(-2)!) as { error: { code: string; type: string; message: string } };
    assert.equal(error.error.code, "upstream_disconnected");
    assert.equal(error.error.type, "upstream_error");

    // The dead one is out: requests keep working through the survivor.
    const ok = await client.chat.completions.create({
      model: "glm-4.5v",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(ok.choices[0].message.content, "hi");

    // With the survivor gone too, the gateway answers 502.
    const survivorPort = survivor.server.port;
    await crash(survivor);
    await assert.rejects(
      client.chat.completions.create({ model: "glm-4.5v", messages: [{ role: "user", content: "hi" }] }),
      (e: unknown) => e instanceof OpenAI.APIError && e.status === 502,
    );
    const health = await fetch(`${gateway.url}/health`);
    assert.equal(health.status, 503, "no upstream left: unhealthy for load balancers");
    assert.equal(((await health.json()) as { status: string }).status, "unhealthy");

    // Bring one back on its port: the health check returns it to service.
    await survivor.server.close(0).catch(() => {});
    survivor.server = await startServer({ backend: survivor.backend, port: survivorPort });
    await until(() => gatewayBackend.pool.endpoints.some((e) => e.healthy));
    const back = await client.chat.completions.create({
      model: "glm-4.5v",
      messages: [{ role: "user", content: "again" }],
    });
    assert.equal(back.choices[0].message.content, "again");
  });
});

describe("upstream dialects", () => {
  it("speaks Z.ai: thinking {type}, one stop string, reasoning_content, object arguments", async () => {
    const fake = await FakeUpstream.start({
      version: null,
      respond: () => ({
        noRole: true,
        deltas: [
          { role: "assistant", reasoning_content: "\n" },
          { role: "assistant", reasoning_content: "Weather needed." },
          {
            role: "assistant",
            tool_calls: [
              {
                id: "call_-8",
                index: 0,
                type: "function",
                function: { name: "get_weather", arguments: { city: "Oslo" } },
              },
            ],
          },
        ],
        finishReason: "tool_calls",
      }),
    });
    const backend = await createUpstreamBackend({
      upstreams: [{ url: `${fake.url}/api/paas/v4`, dialect: "zai", models: ["glm-4.6v"] }],
      healthIntervalMs: 0,
    });
    const events = [];
    for await (const e of backend.chat({
      model: "glm-4.6v",
      messages: [{ role: "user", content: "weather?" }],
      enableThinking: true,
      tools: [WEATHER_TOOL],
      options: { stop: ["END"], maxTokens: 64 },
    })) {
      events.push(e);
    }
    const sent = fake.requests[0];
    assert.deepEqual(sent.thinking, { type: "enabled" });
    assert.deepEqual(sent.stop, ["END"]);
    assert.equal(sent.max_tokens, 64);
    assert.equal(sent.skip_special_tokens, undefined);
    assert.equal(sent.chat_template_kwargs, undefined);
    const done = events.at(-1)!;
    assert.equal(done.type, "done");
    if (done.type !== "done") return;
    assert.equal(done.result.output.reasoning, "Weather needed.");
    assert.equal(done.result.finishReason, "tool_calls");
    assert.deepEqual(JSON.parse(done.result.output.toolCalls[0].function.arguments), { city: "Oslo" });
    await assert.rejects(
      async () => {
        for await (const _ of backend.chat({
          model: "glm-4.6v",
          messages: [{ role: "user", content: "x" }],
          options: { stop: ["a", "b"] },
        })) {
          // drain
        }
      },
      (e: Error & { param?: string }) => e.param === "stop",
    );
    await backend.close();
    await fake.kill();
  });

  it("reads vLLM's version to decide on the native thinking budget", async () => {
    assert.equal(versionAtLeast("0.19.2", 0, 19), true);
    assert.equal(versionAtLeast("0.11.0", 0, 19), false);
    assert.equal(versionAtLeast("1.0.0rc1", 0, 19), true);
    const fake = await FakeUpstream.start({ version: "0.20.1", respond: scriptFor });
    const backend = await createUpstreamBackend({ upstreams: [{ url: fake.url }], healthIntervalMs: 0 });
    for await (const _ of backend.chat({
      messages: [{ role: "user", content: "hi" }],
      thinkingBudget: 5,
      options: { maxTokens: 100 },
    })) {
      // drain
    }
    assert.equal(fake.requests[0].thinking_token_budget, 5);
    assert.equal(fake.requests[0].max_completion_tokens, 100);
    await backend.close();
    await fake.kill();
  });

  it("fails a stream whose upstream goes silent for longer than the idle timeout", async () => {
    const fake = await FakeUpstream.start({
      respond: () => ({ deltas: [{ content: "<think>a</think>b" }, { content: "c" }], delayMs: 10_000 }),
    });
    const backend = await createUpstreamBackend({
      upstreams: [{ url: fake.url }],
      healthIntervalMs: 0,
      idleTimeoutMs: 100,
    });
    const started = performance.now();
    let text = "";
    await assert.rejects(
      async () => {
        for await (const e of backend.chat({ messages: [{ role: "user", content: "x" }], options: {} })) {
          if (e.type === "delta") text += e.delta.content ?? "";
        }
      },
      (e: Error & { code?: string }) => e.code === "upstream_disconnected" && /sent nothing/.test(e.message),
    );
    assert.equal(text, "b");
    assert.ok(performance.now() - started < 2000);
    await backend.close();
    await fake.kill();
  });

  it("fails over to another upstream when the first refuses connections", async () => {
    const live = await FakeUpstream.start({ respond: scriptFor });
    const dead = await FakeUpstream.start({ respond: scriptFor });
    await dead.kill();
    const backend = await createUpstreamBackend({
      upstreams: [{ url: dead.url }, { url: live.url }],
      healthIntervalMs: 0,
    });
    assert.equal(backend.pool.endpoints[0].healthy, false, "unreachable at start");
    backend.pool.endpoints[0].healthy = true; // pretend it looked fine, to exercise the retry
    let text = "";
    for await (const e of backend.chat({ messages: [{ role: "user", content: "hello" }], options: {} })) {
      if (e.type === "delta") text += e.delta.content ?? "";
    }
    assert.equal(text, "hello");
    assert.equal(backend.pool.endpoints[0].healthy, false);
    await backend.close();
    await live.kill();
  });
});
