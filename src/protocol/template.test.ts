import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { QUOTE_TOOLS } from "./fixtures/quote-tools.ts";
import { assertMatchesExample, SPEC_EXAMPLES } from "./fixtures/spec-examples.ts";
import {
  ChatTemplateError,
  ChatTemplateNotFoundError,
  compileChatTemplate,
  findChatTemplate,
  MessageFormatError,
  normalizeMessages,
  renderChatTemplate,
  renderPrompt,
} from "./template.ts";
import type { ChatMessage } from "./types.ts";

/** glmv's own fixture templates (written for this project; see fixtures/*.jinja). */
const FIXTURES = {
  "glm-4.1v": readFileSync(new URL("./fixtures/glm41v-layout.jinja", import.meta.url), "utf8"),
  "glm-4.6v": readFileSync(new URL("./fixtures/glm46v-layout.jinja", import.meta.url), "utf8"),
} as const;
const T41 = FIXTURES["glm-4.1v"];
const T46 = FIXTURES["glm-4.6v"];

describe("every spec §3.2/§3.3 example renders with glmv's own fixture templates", () => {
  for (const example of SPEC_EXAMPLES) {
    it(example.name, () => {
      assertMatchesExample(
        renderPrompt(FIXTURES[example.layout], example.options),
        example.expected,
        example.name,
      );
    });
  }
});

describe("normalisation (§3.1)", () => {
  it("image_url/video_url parts become image/video parts, in order; payloads are not passed", () => {
    const out = normalizeMessages(
      [
        {
          role: "user",
          content: [
            { type: "video_url", video_url: { url: "v" } },
            { type: "text", text: "a" },
            { type: "image_url", image_url: "i" },
            { type: "image", image: "raw" },
          ],
        },
      ],
      "glm-4.6v",
    );
    assert.deepEqual(out[0].content, [
      { type: "video" },
      { type: "text", text: "a" },
      { type: "image" },
      { type: "image" },
    ]);
  });
  it("tool_call arguments: JSON string → object; objects kept; empty → {}", () => {
    const out = normalizeMessages(
      [
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "a", type: "function", function: { name: "f", arguments: '{"x": 1, "y": "東京"}' } },
            {
              id: "b",
              type: "function",
              function: { name: "g", arguments: { z: true } as unknown as string },
            },
            { id: "c", type: "function", function: { name: "h", arguments: "" } },
          ],
        },
      ],
      "glm-4.6v",
    );
    assert.deepEqual(
      out[0].tool_calls?.map((c) => c.function.arguments),
      [{ x: 1, y: "東京" }, { z: true }, {}],
    );
    assert.equal(out[0].content, "", "null content becomes an empty string (Python would print None)");
  });
  it("bad arguments: a MessageFormatError that says how to fix it", () => {
    const bad = (args: string) => () =>
      normalizeMessages(
        [
          {
            role: "assistant",
            content: "",
            tool_calls: [{ id: "a", type: "function", function: { name: "f", arguments: args } }],
          },
        ],
        "glm-4.6v",
      );
    assert.throws(
      bad("{not json"),
      (e: Error) => e instanceof MessageFormatError && /JSON object string/.test(e.message),
    );
    assert.throws(
      bad("[1, 2]"),
      (e: Error) => e instanceof MessageFormatError && /must be a JSON object/.test(e.message),
    );
  });
  it("reasoning → reasoning_content (reasoning_content wins when both are given)", () => {
    const out = normalizeMessages(
      [
        { role: "assistant", content: "A", reasoning: "r1" },
        { role: "assistant", content: "B", reasoning: "r2", reasoning_content: "rc" },
      ],
      "glm-4.6v",
    );
    assert.equal(out[0].reasoning_content, "r1");
    assert.equal(out[1].reasoning_content, "rc");
    assert.equal("reasoning" in out[0], false);
  });
  it("rejects malformed messages with a clear error", () => {
    assert.throws(
      () => normalizeMessages([{ content: "x" } as never], "glm-4.6v"),
      /messages\[0\] must be an object with a string "role"/,
    );
    assert.throws(
      () => normalizeMessages([{ role: "user", content: 5 } as never], "glm-4.6v"),
      /content must be a string/,
    );
  });
});

describe("history rules (§3.5)", () => {
  const history = (assistant: ChatMessage) =>
    normalizeMessages(
      [{ role: "user", content: "Q" }, assistant, { role: "user", content: "Q2" }],
      "glm-4.1v-thinking",
    )[1].content;
  it("4.1V: the <answer> inner text, box tokens kept, reasoning never re-sent", () => {
    assert.equal(
      history({
        role: "assistant",
        content: "<think>long</think><answer>It is <|begin_of_box|>[1,2,3,4]<|end_of_box|></answer>",
      }),
      "It is <|begin_of_box|>[1,2,3,4]<|end_of_box|>",
    );
  });
  it("4.1V: without <answer> (e.g. a 4.5V answer) falls back to the text after </think>", () => {
    assert.equal(history({ role: "assistant", content: "<think>r</think>\nPlain answer." }), "Plain answer.");
    assert.equal(history({ role: "assistant", content: "Just text." }), "Just text.");
    assert.equal(history({ role: "assistant", content: "<think>cut off" }), "");
  });
  it("4.1V: content given as parts", () => {
    assert.equal(
      history({ role: "assistant", content: [{ type: "text", text: "<answer>A</answer>" }] }),
      "A",
    );
  });
  it("4.1V: a final assistant turn without a generation prompt is a target and kept verbatim", () => {
    const target = "<think>R</think><answer>A</answer>";
    const out = normalizeMessages(
      [
        { role: "user", content: "Q" },
        { role: "assistant", content: target },
      ],
      "glm-4.1v-thinking",
      {
        addGenerationPrompt: false,
      },
    );
    assert.equal(out[1].content, target);
  });
  it("4.5V/4.6V: content and reasoning passed through for the template to handle", () => {
    const out = normalizeMessages(
      [{ role: "assistant", content: "<think>r</think>A", reasoning_content: "x" }],
      "glm-4.5v",
    );
    assert.equal(out[0].content, "<think>r</think>A");
    assert.equal(out[0].reasoning_content, "x");
  });
  it("4.6V: reasoning survives inside a tool loop (after the last user turn) and is dropped before it", () => {
    const out = renderPrompt(T46, {
      family: "glm-4.6v",
      messages: [
        { role: "user", content: "Q1" },
        { role: "assistant", content: "A1", reasoning_content: "old" },
        { role: "user", content: "Q2" },
        {
          role: "assistant",
          content: "",
          reasoning_content: "new",
          tool_calls: [{ id: "c", type: "function", function: { name: "get_time", arguments: "{}" } }],
        },
        { role: "tool", content: "12:00" },
      ],
    });
    assert.ok(out.includes("Q1<|assistant|>\n<think></think>\nA1<|user|>"));
    assert.ok(out.includes("Q2<|assistant|>\n<think>new</think>\n<tool_call>get_time\n</tool_call>"));
  });
});

describe("rendering details with the fixture templates", () => {
  it("consecutive tool messages share one <|observation|>", () => {
    const out = renderPrompt(T46, {
      family: "glm-4.6v",
      messages: [
        { role: "user", content: "Q" },
        {
          role: "assistant",
          content: "",
          tool_calls: [{ id: "a", type: "function", function: { name: "f", arguments: "{}" } }],
        },
        { role: "tool", content: "one" },
        { role: "tool", content: "two" },
      ],
    });
    assert.ok(
      out.endsWith(
        "<|observation|>\n<tool_response>\none\n</tool_response>\n\n<tool_response>\ntwo\n</tool_response>\n<|assistant|>\n",
      ),
      out,
    );
    assert.equal(out.split("<|observation|>").length, 2);
  });
  it("/nothink goes on every user turn, but not twice", () => {
    const out = renderPrompt(T46, {
      family: "glm-4.6v",
      messages: [
        { role: "user", content: "one" },
        { role: "assistant", content: "x" },
        { role: "user", content: "two /nothink" },
      ],
      enableThinking: false,
    });
    assert.ok(out.includes("<|user|>\none/nothink<|assistant|>"));
    assert.ok(out.includes("<|user|>\ntwo /nothink<|assistant|>\n<think></think>\n"));
    assert.equal(out.split("/nothink").length - 1, 2);
  });
  it("enable_thinking true renders like undefined", () => {
    const messages: ChatMessage[] = [{ role: "user", content: "Hi" }];
    assert.equal(
      renderPrompt(T46, { family: "glm-4.6v", messages, enableThinking: true }),
      renderPrompt(T46, { family: "glm-4.6v", messages }),
    );
  });
  it("tools are rendered with a Python-style tojson that keeps non-ASCII", () => {
    const out = renderPrompt(T46, {
      family: "glm-4.6v",
      messages: [{ role: "user", content: "天气?" }],
      tools: [
        {
          type: "function",
          function: { name: "天气", description: '查询 "城市"', parameters: { type: "object" } },
        },
      ],
    });
    assert.ok(
      out.includes(
        '{"type": "function", "function": {"name": "天气", "description": "查询 \\"城市\\"", "parameters": {"type": "object"}}}\n',
      ),
      out,
    );
  });
  it("non-string arguments are tojson-encoded, strings raw", () => {
    const out = renderPrompt(T46, {
      family: "glm-4.6v",
      messages: [
        { role: "user", content: "Q" },
        {
          role: "assistant",
          content: "",
          tool_calls: [
            {
              id: "a",
              type: "function",
              function: { name: "f", arguments: '{"s": "raw \\"q\\"", "o": {"k": [1, "é"]}, "b": false}' },
            },
          ],
        },
      ],
      addGenerationPrompt: false,
    });
    assert.ok(
      out.endsWith(
        '<arg_key>s</arg_key>\n<arg_value>raw "q"</arg_value>\n<arg_key>o</arg_key>\n<arg_value>{"k": [1, "é"]}</arg_value>\n<arg_key>b</arg_key>\n<arg_value>false</arg_value>\n</tool_call>',
      ),
      out,
    );
  });
  it("an empty tools list renders no tools section", () => {
    const out = renderPrompt(T46, {
      family: "glm-4.6v",
      messages: [{ role: "user", content: "Hi" }],
      tools: [],
    });
    assert.equal(out, "[gMASK]<sop><|user|>\nHi<|assistant|>\n");
  });
  it("media markers in system content (4.6V)", () => {
    const out = renderPrompt(T46, {
      family: "glm-4.6v",
      messages: [
        {
          role: "system",
          content: [
            { type: "text", text: "Ref:" },
            { type: "image_url", image_url: { url: "x" } },
          ],
        },
        { role: "user", content: "Hi" },
      ],
    });
    assert.ok(
      out.startsWith("[gMASK]<sop><|system|>\nRef:<|begin_of_image|><|image|><|end_of_image|><|user|>"),
      out,
    );
  });
  it("4.1V metadata after the assistant header", () => {
    const out = renderPrompt(T41, {
      family: "glm-4.1v-thinking",
      messages: [
        { role: "user", content: "Q" },
        { role: "assistant", content: "<answer>A</answer>", metadata: "meta" },
        { role: "user", content: "Q2" },
      ],
    });
    assert.ok(out.includes("<|assistant|>meta\nA<|user|>"), out);
  });
  it("4.1V ignores tools and enable_thinking", () => {
    const messages: ChatMessage[] = [{ role: "user", content: "Hi" }];
    assert.equal(
      renderPrompt(T41, { family: "glm-4.1v-thinking", messages, tools: QUOTE_TOOLS, enableThinking: false }),
      "[gMASK]<sop><|user|>\nHi<|assistant|>\n",
    );
  });
  it("renderChatTemplate renders raw variables; template errors are typed", () => {
    assert.equal(
      renderChatTemplate("{{ a }}-{{ b | tojson }}", { a: "x", b: { k: ["é", 1.5] } }),
      'x-{"k": ["é", 1.5]}',
    );
    assert.throws(() => compileChatTemplate("{% if %}"), ChatTemplateError);
    assert.throws(
      () => renderChatTemplate("{{ raise_exception('nope') }}", {}),
      (e: Error) => e instanceof ChatTemplateError && /nope/.test(e.message),
    );
  });
  it("tojson matches Python json.dumps(ensure_ascii=False) except integral floats (a JavaScript limit)", () => {
    const value = { s: 'é\u2028\n"', n: [1, 2.5, -0.125, null, true], e: {} };
    // Python: json.dumps(value, ensure_ascii=False) gives exactly this.
    assert.equal(
      renderChatTemplate("{{ v | tojson }}", { v: value }),
      '{"s": "é\u2028\\n\\"", "n": [1, 2.5, -0.125, null, true], "e": {}}',
    );
    assert.equal(
      renderChatTemplate("{{ v | tojson }}", { v: 1.0 }),
      "1",
      "Python would write 1.0; JavaScript cannot tell 1.0 from 1",
    );
  });
  it("trim_blocks/lstrip_blocks behave like HF's Python environment", () => {
    assert.equal(renderChatTemplate("  {% if true %}\nA\n  {% endif %}\nB\n", {}), "A\nB");
  });
});

describe("findChatTemplate (§3.1 order)", () => {
  it("GGUF first, then chat_template.jinja, chat_template.json, tokenizer_config.json", () => {
    const all = {
      ggufChatTemplate: "G",
      chatTemplateJinja: "J",
      chatTemplateJson: { chat_template: "JS" },
      tokenizerConfig: { chat_template: "TC" },
    };
    assert.deepEqual(findChatTemplate(all), { template: "G", source: "gguf" });
    assert.deepEqual(findChatTemplate({ ...all, ggufChatTemplate: undefined }), {
      template: "J",
      source: "chat_template.jinja",
    });
    assert.deepEqual(findChatTemplate({ ...all, ggufChatTemplate: undefined, chatTemplateJinja: "" }), {
      template: "JS",
      source: "chat_template.json",
    });
    assert.deepEqual(findChatTemplate({ tokenizerConfig: { chat_template: "TC" } }), {
      template: "TC",
      source: "tokenizer_config.json",
    });
  });
  it("a list of named templates: take default", () => {
    const tokenizerConfig = {
      chat_template: [
        { name: "tool_use", template: "T" },
        { name: "default", template: "D" },
      ],
    };
    assert.deepEqual(findChatTemplate({ tokenizerConfig }), {
      template: "D",
      source: "tokenizer_config.json",
    });
    assert.throws(
      () => findChatTemplate({ tokenizerConfig: { chat_template: [{ name: "rag", template: "R" }] } }),
      (e: Error) =>
        e instanceof ChatTemplateNotFoundError && /rag/.test(e.message) && /default/.test(e.message),
    );
  });
  it("nothing found: says where it looked", () => {
    assert.throws(
      () => findChatTemplate({ tokenizerConfig: { eos_token: "x" } }),
      (e: Error) => e instanceof ChatTemplateNotFoundError && /chat_template.jinja/.test(e.message),
    );
  });
});
