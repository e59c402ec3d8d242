/** Pure parts of the server: validation, chunk encoding, box-token stripping, queue, metrics, keys. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ChatResult } from "../runtime/types.ts";
import { KeyChecker, presentedKey } from "./auth.ts";
import { InvalidRequestError, QueueFullError, toApiError, UnsupportedFeatureError } from "./errors.ts";
import { BoxTokenStripper, ChunkEncoder, completionBody } from "./format.ts";
import { Histogram, Registry } from "./metrics.ts";
import { SlotQueue } from "./queue.ts";
import { validateChatCompletion } from "./validate.ts";

const result = (over: Partial<ChatResult> = {}): ChatResult => ({
  output: { reasoning: "r", content: "c", answer: null, toolCalls: [], boxes: [], reasoningTruncated: false },
  text: "<think>r</think>c",
  finishReason: "stop",
  usage: { promptTokens: 3, completionTokens: 4 },
  thinkingTruncated: false,
  imageSizes: [],
  ...over,
});

describe("validateChatCompletion", () => {
  it("maps every supported field onto the ChatRequest", () => {
    const v = validateChatCompletion({
      model: "m",
      messages: [
        { role: "system", content: "s" },
        {
          role: "user",
          content: [
            { type: "text", text: "t" },
            { type: "image_url", image_url: "data:image/png;base64,AA" },
            { type: "video_url", video_url: { url: "https://x/v.mp4" } },
            { type: "file", file: { file_data: "data:application/pdf;base64,AA", filename: "a.pdf" } },
          ],
        },
        {
          role: "assistant",
          content: null,
          reasoning: "why",
          tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: { a: 1 } } }],
        },
        { role: "tool", content: "42", tool_call_id: "call_1" },
      ],
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      tool_choice: { type: "function", function: { name: "f" } },
      chat_template_kwargs: { enable_thinking: true },
      thinking: { type: "enabled" },
      thinking_token_budget: 100,
      temperature: 0.5,
      top_p: 0.9,
      top_k: 20,
      min_p: 0.05,
      repetition_penalty: 1.1,
      seed: 7,
      stop: "END",
      max_tokens: 10,
      max_completion_tokens: 20,
      stream: true,
      stream_options: { include_usage: true },
      skip_special_tokens: true,
      n: 1,
    });
    assert.equal(v.stream, true);
    assert.equal(v.includeUsage, true);
    assert.equal(v.skipSpecialTokens, true);
    assert.deepEqual(v.request.options, {
      temperature: 0.5,
      topP: 0.9,
      topK: 20,
      minP: 0.05,
      repetitionPenalty: 1.1,
      seed: 7,
      maxTokens: 20,
      stop: ["END"],
    });
    assert.equal(v.request.enableThinking, true);
    assert.equal(v.request.thinkingBudget, 100);
    assert.deepEqual(v.request.messages[1].content, [
      { type: "text", text: "t" },
      { type: "image_url", image_url: { url: "data:image/png;base64,AA" } },
      { type: "video_url", video_url: { url: "https://x/v.mp4" } },
      { type: "file", file: { file_data: "data:application/pdf;base64,AA", filename: "a.pdf" } },
    ]);
    assert.equal(v.request.messages[2].reasoning, "why");
    assert.equal(v.request.messages[2].tool_calls?.[0].function.arguments, '{"a":1}');
  });

  it("names the field of every bad value", () => {
    const base = { messages: [{ role: "user", content: "x" }] };
    const cases: [
      Record<string, unknown>,
      string,
      typeof InvalidRequestError | typeof UnsupportedFeatureError,
    ][] = [
      [{ messages: [] }, "messages", InvalidRequestError],
      [{ messages: [{ role: "user" }] }, "messages[0].content", InvalidRequestError],
      [
        { messages: [{ role: "user", content: [{ type: "audio" }] }] },
        "messages[0].content[0].type",
        InvalidRequestError,
      ],
      [{ top_p: 0 }, "top_p", InvalidRequestError],
      [{ stop: [1] }, "stop", InvalidRequestError],
      [{ stream_options: { include_usage: 1 } }, "stream_options.include_usage", InvalidRequestError],
      [
        { tool_choice: { type: "function", function: { name: "nope" } } },
        "tool_choice.function.name",
        InvalidRequestError,
      ],
      [
        { chat_template_kwargs: { enable_thinking: false }, thinking: { type: "enabled" } },
        "thinking.type",
        InvalidRequestError,
      ],
      [{ chat_template_kwargs: { foo: 1 } }, "chat_template_kwargs.foo", UnsupportedFeatureError],
      [{ response_format: { type: "json_object" } }, "response_format", UnsupportedFeatureError],
      [{ presence_penalty: 0.5 }, "presence_penalty", UnsupportedFeatureError],
      [{ thinking_token_budget: -1 }, "thinking_token_budget", InvalidRequestError],
    ];
    for (const [patch, param, type] of cases) {
      assert.throws(
        () => validateChatCompletion({ ...base, ...patch }),
        (e: unknown) => e instanceof type && e.param === param && e.status === 400,
        param,
      );
    }
  });
});

describe("chunk encoding", () => {
  it("writes both reasoning keys, tool-call deltas, the finish chunk with the glmv extension and usage", () => {
    const enc = new ChunkEncoder("chatcmpl-1", 5, "m", false);
    const parse = (sse: string) =>
      sse
        .split("\n\n")
        .filter(Boolean)
        .map((s) => JSON.parse(s.slice(6)));
    assert.deepEqual(parse(enc.role())[0].choices[0].delta, { role: "assistant", content: "" });
    assert.deepEqual(parse(enc.delta({ reasoning_content: "hm" }))[0].choices[0].delta, {
      reasoning_content: "hm",
      reasoning: "hm",
    });
    const call = {
      index: 0,
      id: "call_1",
      type: "function" as const,
      function: { name: "f", arguments: "" },
    };
    assert.deepEqual(parse(enc.delta({ tool_calls: [call] }))[0].choices[0].delta, { tool_calls: [call] });
    const r = result({
      output: {
        reasoning: null,
        content: "x",
        answer: null,
        toolCalls: [],
        boxes: [{ x: 500, y: 500 }],
        reasoningTruncated: false,
      },
      imageSizes: [{ width: 100, height: 50 }],
    });
    const [finish, usage] = parse(enc.finish(r, true));
    assert.equal(finish.choices[0].finish_reason, "stop");
    assert.deepEqual(finish.glmv.boxes, [{ box: { x: 500, y: 500 }, pixels: { x: 50, y: 25 } }]);
    assert.deepEqual(usage.choices, []);
    assert.deepEqual(usage.usage, { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
    const body = completionBody("id", 1, "m", r, false) as {
      choices: { message: Record<string, unknown> }[];
    };
    assert.equal(body.choices[0].message.reasoning, null);
    assert.equal("tool_calls" in body.choices[0].message, false);
  });

  it("strips box tokens across chunk boundaries", () => {
    const text = "a <|begin_of_box|>[1,2,3,4]<|end_of_box|> b <|begin";
    for (let size = 1; size < text.length; size++) {
      const s = new BoxTokenStripper();
      let out = "";
      for (let i = 0; i < text.length; i += size) out += s.push(text.slice(i, i + size));
      out += s.flush();
      assert.equal(out, "a [1,2,3,4] b <|begin", `size ${size}`);
    }
  });
});

describe("SlotQueue", () => {
  it("grants slots FIFO, refuses beyond the wait list, and frees a waiter on abort", async () => {
    const q = new SlotQueue(1, 1);
    const r1 = await q.acquire();
    const controller = new AbortController();
    const waiting = q.acquire(controller.signal);
    await assert.rejects(q.acquire(), QueueFullError);
    controller.abort(new Error("gone"));
    await assert.rejects(waiting, /gone/);
    assert.equal(q.waiting, 0);
    const next = q.acquire();
    r1();
    const r2 = await next;
    assert.equal(q.inFlight, 1);
    r2();
    r2();
    assert.equal(q.inFlight, 0);
    await q.idle();
  });
});

describe("metrics", () => {
  it("renders cumulative histogram buckets in the text format", () => {
    const r = new Registry();
    const h = r.register(new Histogram("x_seconds", "help", [0.1, 1]));
    h.observe(0.05);
    h.observe(0.5);
    h.observe(5);
    const text = r.render();
    assert.match(text, /x_seconds_bucket\{le="0.1"\} 1\n/);
    assert.match(text, /x_seconds_bucket\{le="1"\} 2\n/);
    assert.match(text, /x_seconds_bucket\{le="\+Inf"\} 3\n/);
    assert.match(text, /x_seconds_count 3\n/);
  });
});

describe("keys and errors", () => {
  it("checks keys in constant time and reads Bearer or x-api-key", () => {
    const k = new KeyChecker(["abc", "def"]);
    assert.equal(k.check("def"), true);
    assert.equal(k.check("de"), false);
    assert.equal(k.check(undefined), false);
    assert.equal(new KeyChecker([]).check(undefined), true);
    assert.equal(presentedKey(new Headers({ authorization: "Bearer  xyz " })), "xyz");
    assert.equal(presentedKey(new Headers({ "x-api-key": "q" })), "q");
  });

  it("maps foreign errors without leaking stacks", () => {
    const media = Object.assign(new Error("bad.png: corrupt. Re-export it."), {
      isInputError: true,
      code: "corrupt",
    });
    media.name = "MediaError";
    assert.deepEqual(toApiError(media).toBody().error, {
      message: "bad.png: corrupt. Re-export it.",
      type: "invalid_request_error",
      param: null,
      code: "corrupt",
    });
    const boom = toApiError(new Error("kaput"));
    const kebab = Object.assign(new Error("x: unrecognised content"), {
      isInputError: true,
      code: "unsupported-type",
    });
    assert.equal(toApiError(kebab).toBody().error.code, "unsupported_type");
    assert.equal(boom.status, 500);
    assert.ok(!JSON.stringify(boom.toBody()).includes("at "));
  });
});
