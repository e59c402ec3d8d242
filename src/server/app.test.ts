/**
 * The server over real HTTP on 127.0.0.1, driven by the official `openai` client: the backend is the
 * upstream gateway in front of a loopback imitation of vLLM (raw GLM text, or pre-parsed fields).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import sharp from "sharp";
import { readSse } from "../client/sse.ts";
import { makePdf } from "../media/test-media.ts";
import { createApp, type RunningServer, startServer } from "./app.ts";
import { FakeUpstream } from "./testing/fake-upstream.ts";
import { RAW_THINK, scriptFor, WEATHER_TOOL } from "./testing/scripts.ts";
import { createUpstreamBackend, type UpstreamBackend } from "./upstream/backend.ts";

type Delta = Record<string, unknown> & {
  reasoning_content?: string;
  reasoning?: string;
  content?: string | null;
};

async function collect(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) {
  const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
  for await (const c of stream) chunks.push(c);
  const deltas = chunks.flatMap((c) => c.choices.map((ch) => ch.delta as Delta));
  return {
    chunks,
    reasoning: deltas.map((d) => d.reasoning_content ?? "").join(""),
    reasoningAlias: deltas.map((d) => d.reasoning ?? "").join(""),
    content: deltas.map((d) => d.content ?? "").join(""),
    finish: chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter(Boolean),
    usage: chunks.find((c) => c.usage)?.usage,
  };
}

describe("glmv server over an imitation vLLM upstream", () => {
  let fake: FakeUpstream;
  let backend: UpstreamBackend;
  let server: RunningServer;
  let client: OpenAI;

  before(async () => {
    fake = await FakeUpstream.start({ respond: scriptFor, models: ["glm-4.5v"] });
    backend = await createUpstreamBackend({ upstreams: [{ url: fake.url }], healthIntervalMs: 0 });
    server = await startServer({ backend, slots: 4, maxWaiting: 4 });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await server.close(1000);
    await backend.close();
    await fake.kill();
  });

  it("streams raw GLM text as role, reasoning (both keys), content, finish and usage chunks", async () => {
    const stream = await client.chat.completions.create({
      model: "glm-4.5v",
      messages: [{ role: "user", content: "raw-think where is the cat?" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const r = await collect(stream);
    assert.deepEqual(r.chunks[0].choices[0].delta, { role: "assistant", content: "" });
    assert.equal(r.reasoning, "The user asks for the cat. It sits in the middle.");
    assert.equal(r.reasoningAlias, r.reasoning);
    assert.equal(r.content, "The cat is here: <|begin_of_box|>[250,100,750,900]<|end_of_box|>");
    assert.deepEqual(r.finish, ["stop"]);
    assert.deepEqual(r.usage, { prompt_tokens: 12, completion_tokens: 20, total_tokens: 32 });
    // Order: reasoning before content, finish chunk then the usage chunk (choices: []).
    const kinds = r.chunks.map((c) => {
      const ch = c.choices[0];
      if (!ch) return "usage";
      if (ch.finish_reason) return "finish";
      const d = ch.delta as Delta;
      return d.role ? "role" : d.reasoning_content ? "reasoning" : "content";
    });
    const squashed = kinds.filter((k, i) => k !== kinds[i - 1]);
    assert.deepEqual(squashed, ["role", "reasoning", "content", "finish", "usage"]);
    const finish = r.chunks.at(-2) as unknown as { glmv: { boxes: unknown[] } };
    assert.deepEqual(finish.glmv.boxes, [{ box: { x1: 250, y1: 100, x2: 750, y2: 900 } }]);
  });

  it("gives the same answer from an upstream that already split the reasoning", async () => {
    const raw = await client.chat.completions.create({
      messages: [{ role: "user", content: "raw-think" }],
      model: "glm-4.5v",
    });
    const parsed = await client.chat.completions.create({
      messages: [{ role: "user", content: "parsed-think" }],
      model: "glm-4.5v",
    });
    for (const r of [raw, parsed]) {
      const m = r.choices[0].message as unknown as Delta;
      assert.equal(m.content, "The cat is here: <|begin_of_box|>[250,100,750,900]<|end_of_box|>");
      assert.equal(m.reasoning_content, "The user asks for the cat. It sits in the middle.");
      assert.equal(m.reasoning, m.reasoning_content);
      assert.equal(r.choices[0].finish_reason, "stop");
      assert.equal(r.object, "chat.completion");
      assert.match(r.id, /^chatcmpl-/);
    }
  });

  it("asks vLLM for special tokens and passes the thinking switch as chat_template_kwargs", async () => {
    const before = fake.requests.length;
    await client.chat.completions.create({
      model: "glm-4.5v",
      messages: [{ role: "user", content: "hello" }],
      temperature: 0.2,
      max_completion_tokens: 50,
      // @ts-expect-error vLLM/glmv request extensions
      top_k: 2,
      repetition_penalty: 1.1,
      thinking: { type: "disabled" },
    });
    const sent = fake.requests[before];
    assert.equal(sent.skip_special_tokens, false);
    assert.deepEqual(sent.chat_template_kwargs, { enable_thinking: false });
    assert.equal(sent.max_completion_tokens, 50);
    assert.equal(sent.top_k, 2);
    assert.equal(sent.repetition_penalty, 1.1);
    assert.equal(sent.stream, true);
  });

  for (const kind of ["raw-tool", "parsed-tool"]) {
    it(`returns tool calls with ids from ${kind} output, streaming and not`, async () => {
      const whole = await client.chat.completions.create({
        model: "glm-4.5v",
        messages: [{ role: "user", content: kind }],
        tools: [WEATHER_TOOL],
      });
      const choice = whole.choices[0];
      assert.equal(choice.finish_reason, "tool_calls");
      // Raw text keeps the whitespace before the call (spec §4.3); an engine that parsed the call itself
      // leaves the parser no call to see, so the content's trailing whitespace is trimmed.
      assert.equal(choice.message.content, kind === "raw-tool" ? "Let me check.\n" : "Let me check.");
      const calls = choice.message.tool_calls ?? [];
      assert.equal(calls.length, 1);
      const call = calls[0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
      assert.match(call.id, /^call_/);
      assert.equal(call.function.name, "get_weather");
      assert.deepEqual(JSON.parse(call.function.arguments), { city: "Paris", days: 3 });

      const stream = await client.chat.completions.create({
        model: "glm-4.5v",
        messages: [{ role: "user", content: kind }],
        tools: [WEATHER_TOOL],
        stream: true,
      });
      const toolDeltas: OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
      let finish: string | null = null;
      for await (const c of stream) {
        for (const ch of c.choices) {
          toolDeltas.push(...(ch.delta.tool_calls ?? []));
          finish = ch.finish_reason ?? finish;
        }
      }
      assert.equal(finish, "tool_calls");
      assert.match(toolDeltas[0].id ?? "", /^call_/);
      assert.equal(toolDeltas[0].type, "function");
      assert.equal(toolDeltas[0].function?.name, "get_weather");
      assert.equal(toolDeltas[0].function?.arguments, "");
      assert.ok(toolDeltas.slice(1).every((d) => d.id === undefined && d.index === 0));
      const args = toolDeltas.map((d) => d.function?.arguments ?? "").join("");
      assert.deepEqual(JSON.parse(args), { city: "Paris", days: 3 });
    });
  }

  it("converts boxes to pixels when the image size is known (data: URI)", async () => {
    const png = await sharp({ create: { width: 1920, height: 1080, channels: 3, background: "#fff" } })
      .png()
      .toBuffer();
    const response = await client.chat.completions.create({
      model: "glm-4.5v",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "raw-think" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${png.toString("base64")}` } },
          ],
        },
      ],
    });
    const glmv = (response as unknown as { glmv: { boxes: unknown[]; image_sizes: unknown[] } }).glmv;
    assert.deepEqual(glmv.image_sizes, [{ width: 1920, height: 1080 }]);
    assert.deepEqual(glmv.boxes, [
      { box: { x1: 250, y1: 100, x2: 750, y2: 900 }, pixels: { x1: 480, y1: 108, x2: 1440, y2: 972 } },
    ]);
  });

  it("renders a PDF file part to page images for a vLLM upstream", async () => {
    const pdf = await makePdf(2, [300, 200]);
    const before = fake.requests.length;
    await client.chat.completions.create({
      model: "glm-4.5v",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "hello" },
            {
              type: "file",
              file: {
                file_data: `data:application/pdf;base64,${Buffer.from(pdf).toString("base64")}`,
                filename: "a.pdf",
              },
            },
          ],
        },
      ],
    });
    const sent = fake.requests[before].messages as {
      content: { type: string; image_url?: { url: string } }[];
    }[];
    const parts = sent[0].content;
    assert.deepEqual(
      parts.map((p) => p.type),
      ["text", "image_url", "image_url"],
    );
    assert.match(parts[1].image_url?.url ?? "", /^data:image\/jpeg;base64,/);
  });

  it("refuses media URLs that point the upstream at internal addresses", async () => {
    for (const url of [
      "http://127.0.0.1:9/x.png",
      "http://169.254.169.254/latest/meta-data",
      "http://[::1]/a.png",
    ]) {
      await assert.rejects(
        client.chat.completions.create({
          model: "glm-4.5v",
          messages: [{ role: "user", content: [{ type: "image_url", image_url: { url } }] }],
        }),
        (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === "messages[0].content[0]",
        url,
      );
    }
  });

  it("refuses file: URLs on a remote upstream with 400 naming the part", async () => {
    await assert.rejects(
      client.chat.completions.create({
        model: "glm-4.5v",
        messages: [
          { role: "user", content: [{ type: "image_url", image_url: { url: "file:///etc/passwd" } }] },
        ],
      }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === "messages[0].content[0]",
    );
  });

  it("strips box tokens on skip_special_tokens: true and keeps them otherwise", async () => {
    const stream = await client.chat.completions.create({
      model: "glm-4.5v",
      messages: [{ role: "user", content: "raw-think" }],
      stream: true,
      // @ts-expect-error vLLM extension
      skip_special_tokens: true,
    });
    const r = await collect(stream);
    assert.equal(r.content, "The cat is here: [250,100,750,900]");
  });

  it("answers 400 naming the field for wrong types and unsupported features", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ temperature: "hot" }, "temperature"],
      [{ n: 2 }, "n"],
      [{ max_tokens: 1.5 }, "max_tokens"],
      [{ messages: [{ role: "wizard", content: "x" }] }, "messages[0].role"],
      [
        { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "ftp://x" } }] }] },
        "messages[0].content[0].image_url.url",
      ],
      [{ tools: [{ type: "function", function: { name: "bad name!" } }] }, "tools[0].function.name"],
      [{ chat_template_kwargs: { enable_thinking: "yes" } }, "chat_template_kwargs.enable_thinking"],
      [{ thinking: { type: "maybe" } }, "thinking.type"],
      [{ logprobs: true }, "logprobs"],
    ];
    for (const [patch, param] of cases) {
      const body = { model: "glm-4.5v", messages: [{ role: "user", content: "hi" }], ...patch };
      await assert.rejects(
        client.chat.completions.create(body as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming),
        (error: unknown) => {
          assert.ok(error instanceof OpenAI.BadRequestError, `${param}: ${error}`);
          assert.equal(error.param, param);
          assert.equal(error.type, "invalid_request_error");
          assert.ok(error.message.includes(param.split(".")[0].replace(/\[.*$/, "")));
          return true;
        },
      );
    }
  });

  it("answers 400 for malformed JSON and 404 for an unknown model or route", async () => {
    const bad = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"messages": [',
    });
    assert.equal(bad.status, 400);
    const body = (await bad.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "invalid_json");
    assert.ok(!body.error.message.includes("    at "), "no stack trace");
    await assert.rejects(
      client.chat.completions.create({ model: "gpt-4", messages: [{ role: "user", content: "hi" }] }),
      (e: unknown) => e instanceof OpenAI.NotFoundError && e.param === "model",
    );
    const route = await fetch(`${server.url}/v1/nothing`);
    assert.equal(route.status, 404);
    assert.equal(((await route.json()) as { error: { type: string } }).error.type, "not_found_error");
  });

  it("passes an upstream 400 through and turns an upstream 500 into 502", async () => {
    await assert.rejects(
      client.chat.completions.create({
        model: "glm-4.5v",
        messages: [{ role: "user", content: "reject400" }],
      }),
      (e: unknown) => e instanceof OpenAI.BadRequestError,
    );
    await assert.rejects(
      client.chat.completions.create({ model: "glm-4.5v", messages: [{ role: "user", content: "fail500" }] }),
      (e: unknown) => e instanceof OpenAI.APIError && e.status === 502,
    );
  });

  it("surfaces a mid-stream upstream failure to the openai client as an APIError", async () => {
    const stream = await client.chat.completions.create({
      model: "glm-4.5v",
      messages: [{ role: "user", content: "die" }],
      stream: true,
    });
    let chunks = 0;
    await assert.rejects(
      async () => {
        for await (const _ of stream) chunks++;
      },
      (e: unknown) => e instanceof OpenAI.APIError && /failed mid-stream/.test(e.message),
    );
    assert.ok(chunks >= 1);
    await backend.pool.checkAll(); // the imitation engine is still up: bring it back for the next tests
  });

  it("lists models and reports health", async () => {
    const models = await client.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      ["glm-4.5v"],
    );
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, "ok");
  });

  it("emulates a thinking budget in two phases on a vLLM upstream without native budgets", async () => {
    const before = fake.requests.length;
    const response = await client.chat.completions.create({
      model: "glm-4.5v",
      messages: [{ role: "user", content: "budget" }],
      max_completion_tokens: 100,
      // @ts-expect-error glmv/vLLM extension
      thinking_token_budget: 8,
    });
    const [first, second] = fake.requests.slice(before);
    assert.equal(first.max_completion_tokens, 8);
    assert.equal(first.thinking_token_budget, undefined);
    assert.equal(second.continue_final_message, true);
    assert.equal(second.add_generation_prompt, false);
    assert.equal(second.max_completion_tokens, 92);
    const messages = second.messages as { role: string; content: string }[];
    assert.deepEqual(messages.at(-1), {
      role: "assistant",
      content: "<think>Let me think about this for a very long time\n</think>\n",
    });
    const m = response.choices[0].message as unknown as Delta;
    assert.equal(m.reasoning_content, "Let me think about this for a very long time");
    assert.equal(m.content, "The answer is 42.");
    assert.equal(
      (response as unknown as { glmv: { thinking_truncated: boolean } }).glmv.thinking_truncated,
      true,
    );
    assert.equal(response.usage?.completion_tokens, 14);
  });

  it("keeps the raw example of the spec intact through the gateway", async () => {
    const r = await client.chat.completions.create({
      model: "glm-4.5v",
      messages: [{ role: "user", content: "raw-think" }],
    });
    assert.ok(RAW_THINK.includes(r.choices[0].message.content ?? "!"));
  });
});

describe("the app on a fetch-style runtime (no node socket)", () => {
  it("streams the same contract through a web ReadableStream and enforces the body limit", async () => {
    const fake = await FakeUpstream.start({ respond: scriptFor });
    const backend = await createUpstreamBackend({ upstreams: [{ url: fake.url }], healthIntervalMs: 0 });
    try {
      const { app } = createApp({ backend, bodyLimitBytes: 4000 });
      const response = await app.request("/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: "raw-think" }], stream: true }),
      });
      assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
      const events: string[] = [];
      for await (const data of readSse(response.body!)) events.push(data);
      assert.equal(events.at(-1), "[DONE]");
      const deltas = events.slice(0, -1).map((e) => JSON.parse(e).choices[0]?.delta ?? {});
      assert.equal(
        deltas.map((d) => d.reasoning_content ?? "").join(""),
        "The user asks for the cat. It sits in the middle.",
      );
      const big = await app.request("/v1/chat/completions", {
        method: "POST",
        body: JSON.stringify({ messages: [{ role: "user", content: "x".repeat(5000) }] }),
      });
      assert.equal(big.status, 413);
      const withUi = createApp({
        backend,
        ui: { fetch: (req) => new Response(`ui at ${new URL(req.url).pathname}`) },
      });
      assert.equal(await (await withUi.app.request("/ui/index.html")).text(), "ui at /ui/index.html");
      const root = await withUi.app.request("/");
      assert.equal(root.status, 302);
      assert.equal(root.headers.get("location"), "/ui/");
    } finally {
      await backend.close();
      await fake.kill();
    }
  });
});
