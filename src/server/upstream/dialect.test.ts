import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readUpstreamChunk, upstreamBody } from "./dialect.ts";

const request = {
  model: "m",
  messages: [
    { role: "user" as const, content: [{ type: "image_url" as const, image_url: "https://x/a.png" }] },
    { role: "assistant" as const, content: "hi", reasoning: "thought" },
  ],
  enableThinking: false,
  thinkingBudget: 64,
  options: { temperature: 0, topK: 5, maxTokens: 100, stop: ["END"] },
};

describe("request dialects", () => {
  it("writes vLLM's extensions, shorthand media as objects and history reasoning under both keys", () => {
    const body = upstreamBody(request, { dialect: "vllm", model: "m", nativeBudget: true });
    assert.deepEqual(body.chat_template_kwargs, { enable_thinking: false });
    assert.equal(body.skip_special_tokens, false);
    assert.equal(body.thinking_token_budget, 64);
    assert.equal(body.max_completion_tokens, 100);
    assert.equal(body.top_k, 5);
    const messages = body.messages as Record<string, unknown>[];
    assert.deepEqual(messages[0].content, [{ type: "image_url", image_url: { url: "https://x/a.png" } }]);
    assert.equal(messages[1].reasoning_content, "thought");
    assert.equal(messages[1].reasoning, "thought");
  });

  it("adds SGLang's reasoning flags and the phase-2 continuation", () => {
    const body = upstreamBody(request, {
      dialect: "sglang",
      model: "m",
      nativeBudget: false,
      continuation: { assistantPrefix: "<think>x\n</think>\n" },
    });
    assert.equal(body.separate_reasoning, true);
    assert.equal(body.stream_reasoning, true);
    assert.equal(body.thinking_token_budget, undefined);
    assert.equal(body.continue_final_message, true);
    assert.equal(body.add_generation_prompt, false);
    assert.deepEqual((body.messages as unknown[]).at(-1), {
      role: "assistant",
      content: "<think>x\n</think>\n",
    });
  });

  it("maps Z.ai: thinking type, do_sample for greedy, and refuses what it cannot express", () => {
    const body = upstreamBody(
      { ...request, options: { temperature: 0, stop: ["END"] } },
      {
        dialect: "zai",
        model: "glm-4.6v",
        nativeBudget: false,
      },
    );
    assert.deepEqual(body.thinking, { type: "disabled" });
    assert.equal(body.do_sample, false);
    assert.equal(body.temperature, undefined);
    assert.throws(
      () => upstreamBody(request, { dialect: "zai", model: "m", nativeBudget: false }),
      (e: Error & { param?: string }) => e.param === "top_k",
    );
    assert.throws(
      () =>
        upstreamBody(
          {
            ...request,
            options: {},
            tools: [{ type: "function", function: { name: "f" } }],
            toolChoice: "required",
          },
          {
            dialect: "zai",
            model: "m",
            nativeBudget: false,
          },
        ),
      (e: Error & { param?: string }) => e.param === "tool_choice",
    );
  });
});

describe("response dialects", () => {
  it("reads reasoning once when vLLM 0.14 sends both keys, and maps Z.ai finish reasons", () => {
    assert.deepEqual(
      readUpstreamChunk({
        choices: [{ delta: { reasoning: "a", reasoning_content: "a" }, finish_reason: null }],
      }),
      { reasoning: "a" },
    );
    assert.equal(
      readUpstreamChunk({ choices: [{ delta: {}, finish_reason: "model_context_window_exceeded" }] })
        .finishReason,
      "length",
    );
    assert.equal(
      readUpstreamChunk({ choices: [{ delta: {}, finish_reason: "network_error" }] }).error?.code,
      "network_error",
    );
    assert.deepEqual(
      readUpstreamChunk({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 4 } }).usage,
      {
        promptTokens: 3,
        completionTokens: 4,
      },
    );
    const call = readUpstreamChunk({
      choices: [
        { delta: { tool_calls: [{ index: 2, id: null, function: { name: "f", arguments: { a: 1 } } }] } },
      ],
    }).toolCalls?.[0];
    assert.deepEqual(call, { index: 2, name: "f", arguments: '{"a":1}' });
  });
});
