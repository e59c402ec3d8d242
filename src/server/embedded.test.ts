/**
 * The server over the embedded engine running scripted tiny models (real llama.cpp decoding, greedy output
 * fixed by the script), driven by the official openai client over loopback HTTP.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { loadEmbeddedEngine } from "../engines/embedded/engine.ts";
import { writeTinyModel } from "../engines/tiny/model.ts";
import { createEmbeddedBackend } from "../runtime/embedded.ts";
import type { ChatBackend } from "../runtime/types.ts";
import { type RunningServer, startServer } from "./app.ts";
import { WEATHER_TOOL } from "./testing/scripts.ts";

const ANSWER = "<think>I see a cat.</think>The cat is at <|begin_of_box|>[250,100,750,900]<|end_of_box|>.";
// A scripted model is a bigram machine: each special token may appear once, so one argument.
const TOOL =
  "<think>Weather.</think>Checking.\n<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>";

async function tinyServer(dir: string, script: string, loop = false) {
  const { modelPath } = writeTinyModel(dir, { script, loop });
  const engine = await loadEmbeddedEngine({ model: modelPath, threads: 1, name: "tiny" });
  const backend = createEmbeddedBackend({ engine, modelId: "tiny" });
  const server = await startServer({ backend, slots: 1, maxWaiting: 4 });
  return { backend, server };
}

describe("glmv server over the embedded engine (scripted tiny models)", () => {
  let root: string;
  const nodes: { backend: ChatBackend; server: RunningServer }[] = [];
  let answer: { backend: ChatBackend; server: RunningServer };
  let tools: { backend: ChatBackend; server: RunningServer };
  let loop: { backend: ChatBackend; server: RunningServer };
  let budget: { backend: ChatBackend; server: RunningServer };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), "glmv-serve-tiny-"));
    answer = await tinyServer(join(root, "answer"), ANSWER);
    tools = await tinyServer(join(root, "tools"), TOOL);
    loop = await tinyServer(join(root, "loop"), "<think>ok</think>tick ", true);
    budget = await tinyServer(
      join(root, "budget"),
      "<think>one two three four five six seven eight</think>The answer.",
    );
    nodes.push(answer, tools, loop, budget);
  });
  after(async () => {
    for (const n of nodes) {
      await n.server.close(200);
      await n.backend.close();
    }
    rmSync(root, { recursive: true, force: true });
  });

  const client = (node: { server: RunningServer }) =>
    new OpenAI({ baseURL: `${node.server.url}/v1`, apiKey: "x", maxRetries: 0 });

  it("streams reasoning under both keys, then content with the box tokens, then usage", async () => {
    const stream = await client(answer).chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: "Where is the cat?" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let reasoning = "";
    let alias = "";
    let content = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      const d = chunk.choices[0]?.delta as
        | { reasoning_content?: string; reasoning?: string; content?: string }
        | undefined;
      reasoning += d?.reasoning_content ?? "";
      alias += d?.reasoning ?? "";
      content += d?.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    assert.equal(reasoning, "I see a cat.");
    assert.equal(alias, reasoning);
    assert.equal(content, "The cat is at <|begin_of_box|>[250,100,750,900]<|end_of_box|>.");
    assert.equal(finish, "stop");
    assert.ok(usage && usage.prompt_tokens > 0 && usage.completion_tokens > 0);
  });

  it("answers non-streaming with the glmv extension and honours max_tokens", async () => {
    const r = await client(answer).chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: "Where?" }],
    });
    assert.deepEqual((r as unknown as { glmv: { boxes: unknown[] } }).glmv.boxes, [
      { box: { x1: 250, y1: 100, x2: 750, y2: 900 } },
    ]);
    const short = await client(answer).chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: "Where?" }],
      max_tokens: 3,
    });
    assert.equal(short.choices[0].finish_reason, "length");
    assert.equal(short.usage?.completion_tokens, 3);
  });

  it("returns tool calls parsed from the model's output", async () => {
    const r = await client(tools).chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: "Weather in Paris?" }],
      tools: [WEATHER_TOOL],
    });
    assert.equal(r.choices[0].finish_reason, "tool_calls");
    const call = r.choices[0].message
      .tool_calls?.[0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    assert.match(call.id, /^call_/);
    assert.equal(call.function.name, "get_weather");
    assert.deepEqual(JSON.parse(call.function.arguments), { city: "Paris" });
  });

  it("applies thinking_token_budget natively and reports thinking_truncated", async () => {
    const r = await client(budget).chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: "go" }],
      // @ts-expect-error glmv extension
      thinking_token_budget: 3,
    });
    const m = r.choices[0].message as unknown as { reasoning_content: string; content: string };
    assert.equal(m.reasoning_content, "one two three");
    assert.equal(m.content, "The answer.");
    assert.equal((r as unknown as { glmv: { thinking_truncated: boolean } }).glmv.thinking_truncated, true);
  });

  it("stops generating within 100 ms when the client disconnects, and serves the next request", async () => {
    const controller = new AbortController();
    const response = await fetch(`${loop.server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "go" }], stream: true, max_tokens: 100000 }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.read();
    assert.equal(loop.server.queue.inFlight, 1);
    const abortedAt = performance.now();
    controller.abort();
    while (loop.server.queue.inFlight > 0 && performance.now() - abortedAt < 1000) {
      await new Promise((r) => setTimeout(r, 1));
    }
    const freed = performance.now() - abortedAt;
    assert.ok(freed < 100, `slot freed after ${freed.toFixed(1)} ms`);
    const next = await client(loop).chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: "again" }],
      max_tokens: 4,
    });
    assert.equal(next.choices[0].finish_reason, "length");
  });
});

describe("glmv server over the embedded engine with 4 slots (continuous batching)", () => {
  let root: string;
  let node: { backend: ChatBackend; server: RunningServer };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), "glmv-serve-slots-"));
    const { modelPath } = writeTinyModel(join(root, "loop"), {
      script: "<think>ok</think>tick ",
      loop: true,
    });
    const engine = await loadEmbeddedEngine({ model: modelPath, threads: 1, name: "tiny", slots: 4 });
    const backend = createEmbeddedBackend({ engine, modelId: "tiny" });
    node = { backend, server: await startServer({ backend, slots: 4, maxWaiting: 8 }) };
  });
  after(async () => {
    await node.server.close(200);
    await node.backend.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("answers concurrent requests as it answers them alone; a disconnect leaves the others intact", async () => {
    const openai = new OpenAI({ baseURL: `${node.server.url}/v1`, apiKey: "x", maxRetries: 0 });
    const ask = (max: number) =>
      openai.chat.completions.create({
        model: "tiny",
        messages: [{ role: "user", content: `count ${max}` }],
        max_tokens: max,
        temperature: 0,
      });
    const alone = await ask(7);
    const alone12 = await ask(12);
    // A long stream that the client drops, while requests of mixed lengths run beside it.
    const controller = new AbortController();
    const dropped = fetch(`${node.server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "go" }], stream: true, max_tokens: 100000 }),
      signal: controller.signal,
    }).then(async (response) => {
      const reader = response.body!.getReader();
      await reader.read();
      controller.abort();
    });
    const answers = await Promise.all([ask(7), ask(3), ask(12), ask(7), ask(5)]);
    await dropped.catch(() => {});
    for (const i of [0, 3]) assert.deepEqual(answers[i].choices[0].message, alone.choices[0].message);
    assert.deepEqual(
      answers.map((a) => a.usage?.completion_tokens),
      [7, 3, 12, 7, 5],
    );
    assert.ok(answers.every((a) => a.choices[0].finish_reason === "length"));
    assert.deepEqual(answers[2].choices[0].message, alone12.choices[0].message);
  });
});
