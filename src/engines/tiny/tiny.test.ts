import assert from "node:assert/strict";
import { test } from "node:test";
import { Template } from "@huggingface/jinja";
import { buildTinyModel, mropeSections } from "./model.ts";
import { TINY_TEMPLATE_41V, TINY_TEMPLATE_46V } from "./templates.ts";
import {
  buildBaseVocab,
  bytesToUnicode,
  GLM_SPECIAL_TOKENS,
  learnMerges,
  toByteUnicode,
} from "./tokenizer.ts";

test("byte-level alphabet is GPT-2's and the vocabulary is unique", () => {
  const map = bytesToUnicode();
  assert.equal(map[32], "Ġ");
  assert.equal(map[10], "Ċ");
  assert.equal(map[65], "A");
  assert.equal(new Set(map).size, 256);
  assert.equal(toByteUnicode(" é"), "ĠÃ©");
  const v = buildBaseVocab();
  assert.equal(new Set(v.tokens).size, v.tokens.length);
  for (const s of GLM_SPECIAL_TOKENS) assert.equal(v.types[v.ids.get(s)!], 3, s);
  // Every merge joins two existing tokens into an existing token.
  for (const m of v.merges) {
    const [a, b] = m.split(" ");
    assert.ok(v.ids.has(a) && v.ids.has(b) && v.ids.has(a + b), m);
  }
  assert.deepEqual(learnMerges("aab aab aab", 2), [
    ["a", "a"],
    ["aa", "b"],
  ]);
});

test("model metadata turns M-RoPE on and the scripted weights form a bigram chain", () => {
  assert.deepEqual(mropeSections(8), [2, 1, 1, 0]);
  assert.deepEqual(mropeSections(64), [8, 12, 12, 0]);
  const { metadata, tensors, description } = buildTinyModel({ script: "Hi there<|end_of_box|>" });
  assert.deepEqual(metadata.get("glm4.rope.dimension_sections")?.value, [2, 1, 1, 0]);
  assert.equal(metadata.get("general.architecture")?.value, "glm4");
  assert.equal(description.scriptTokens.length, 3);
  const names = tensors.map((t) => t.name);
  assert.ok(names.includes("blk.1.post_ffw_norm.weight") && names.includes("output.weight"));
  const up = tensors.find((t) => t.name === "blk.0.ffn_up.weight")!;
  assert.deepEqual(up.ne, [64, 256]); // fused gate‖up
});

test("our 4.6V-family template renders the spec §3.3 layouts", () => {
  const t = new Template(TINY_TEMPLATE_46V);
  const img = { type: "image" };
  assert.equal(
    t.render({
      messages: [{ role: "user", content: [img, { type: "text", text: "Read the title." }] }],
      add_generation_prompt: true,
      enable_thinking: false,
    }),
    "[gMASK]<sop><|user|>\n<|begin_of_image|><|image|><|end_of_image|>Read the title./nothink<|assistant|>\n<think></think>\n",
  );
  assert.equal(
    t.render({
      messages: [
        { role: "user", content: [img, { type: "text", text: "How many apples?" }] },
        { role: "assistant", content: "<think>I count them.</think>\nThree." },
        { role: "user", content: "How many are green?" },
      ],
      add_generation_prompt: true,
    }),
    "[gMASK]<sop><|user|>\n<|begin_of_image|><|image|><|end_of_image|>How many apples?<|assistant|>\n<think></think>\nThree.<|user|>\nHow many are green?<|assistant|>\n",
  );
  const withTools = t.render({
    tools: [{ type: "function", function: { name: "get_quote" } }],
    messages: [
      { role: "user", content: "ACME price for 3 days?" },
      {
        role: "assistant",
        content: "",
        reasoning_content: "Need the quote tool.",
        tool_calls: [
          { type: "function", function: { name: "get_quote", arguments: { symbol: "ACME", days: 3 } } },
        ],
      },
      { role: "tool", content: '{"close": [10.5, 10.7, 10.6]}' },
    ],
    add_generation_prompt: true,
  });
  assert.ok(withTools.startsWith("[gMASK]<sop><|system|>\n"));
  assert.ok(withTools.includes('<tools>\n{"type": "function", "function": {"name": "get_quote"}}\n</tools>'));
  assert.ok(
    withTools.endsWith(
      "<|user|>\nACME price for 3 days?<|assistant|>\n<think>Need the quote tool.</think>\n<tool_call>get_quote\n" +
        "<arg_key>symbol</arg_key>\n<arg_value>ACME</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n" +
        '</tool_call><|observation|>\n<tool_response>\n{"close": [10.5, 10.7, 10.6]}\n</tool_response>\n<|assistant|>\n',
    ),
  );
});

test("our 4.1V template renders the spec §3.2 layouts", () => {
  const t = new Template(TINY_TEMPLATE_41V);
  assert.equal(
    t.render({
      messages: [
        { role: "system", content: "Answer briefly." },
        { role: "user", content: "Hello" },
      ],
      add_generation_prompt: true,
    }),
    "[gMASK]<sop><|system|>\nAnswer briefly.<|user|>\nHello<|assistant|>\n",
  );
  assert.equal(
    t.render({
      messages: [
        { role: "user", content: [{ type: "image" }, { type: "text", text: "How many apples?" }] },
        { role: "assistant", content: "Three." },
        { role: "user", content: "How many are green?" },
      ],
      add_generation_prompt: true,
    }),
    "[gMASK]<sop><|user|>\n<|begin_of_image|><|image|><|end_of_image|>How many apples?<|assistant|>\nThree.<|user|>\nHow many are green?<|assistant|>\n",
  );
});
