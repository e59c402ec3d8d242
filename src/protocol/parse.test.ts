import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { QUOTE_TOOLS } from "./fixtures/quote-tools.ts";
import { finishReasonOf, parseOutput } from "./parse.ts";
import { sequentialCallIds } from "./tools.ts";
import type { ParseOptions } from "./types.ts";

const v46 = (text: string, extra: Partial<ParseOptions> = {}) =>
  parseOutput(text, { family: "glm-4.6v", tools: QUOTE_TOOLS, idGenerator: sequentialCallIds(), ...extra });
const v41 = (text: string, extra: Partial<ParseOptions> = {}) =>
  parseOutput(text, { family: "glm-4.1v-thinking", ...extra });
const ID1 = "call_000000000000000000000001";
const ID2 = "call_000000000000000000000002";

describe("§4.1 reasoning and answer segments", () => {
  it("4.1V: <think>…</think><answer>…</answer>, official newline layout", () => {
    const out = v41("<think>\nI count them.\n</think>\n<answer>\nThree.\n</answer>");
    assert.equal(out.reasoning, "I count them.");
    assert.equal(out.content, "Three.");
    assert.equal(out.answer, "Three.");
    assert.equal(out.answerTruncated, false);
    assert.equal(out.reasoningTruncated, false);
  });
  it("4.1V: answer tags are stripped from content, box tokens kept", () => {
    const out = v41("<think>Look.</think><answer>It is <|begin_of_box|>a cat<|end_of_box|>.</answer>");
    assert.equal(out.content, "It is <|begin_of_box|>a cat<|end_of_box|>.");
    assert.equal(out.answer, "It is <|begin_of_box|>a cat<|end_of_box|>.");
  });
  it("4.1V: an unclosed <answer> means truncation", () => {
    const out = v41("<think>R</think><answer>Partial ans");
    assert.equal(out.answer, "Partial ans");
    assert.equal(out.content, "Partial ans");
    assert.equal(out.answerTruncated, true);
  });
  it("4.1V: no <answer> at all (e.g. a 4.5V-style reply): answer null, content after </think>", () => {
    const out = v41("<think>R</think>\nPlain.");
    assert.equal(out.answer, null);
    assert.equal(out.content, "Plain.");
  });
  it("4.1V ignores thinking:false (it always thinks)", () => {
    assert.equal(v41("<think>R</think><answer>A</answer>", { thinking: false }).reasoning, "R");
  });
  it("4.5V/4.6V on: <think> R </think> A, A starting with a newline", () => {
    const out = v46("<think>I count them.</think>\nThree.");
    assert.deepEqual(
      { reasoning: out.reasoning, content: out.content, answer: out.answer },
      { reasoning: "I count them.", content: "Three.", answer: null },
    );
    assert.equal("answerTruncated" in out, false);
  });
  it("whitespace may surround every tag", () => {
    const out = v46("\n  <think>\n R \n</think>\n\n A \n");
    assert.equal(out.reasoning, "R");
    assert.equal(out.content, "A");
  });
  it("rule 1: </think> without a leading <think>: the text before it is reasoning", () => {
    const out = v46("R only</think>A");
    assert.equal(out.reasoning, "R only");
    assert.equal(out.content, "A");
  });
  it("rule 1: only the first </think> ends reasoning; one leading <think> is removed, inner ones stay", () => {
    const out = v46("<think>a <think> b</think>c</think>d");
    assert.equal(out.reasoning, "a <think> b");
    assert.equal(out.content, "c</think>d");
  });
  it("rule 2: truncated reasoning: everything is reasoning, content empty", () => {
    const out = v46("<think>Still thinking about");
    assert.equal(out.reasoning, "Still thinking about");
    assert.equal(out.content, null);
    assert.equal(out.reasoningTruncated, true);
  });
  it("rule 3: no tags: everything is content (4.6V decided not to think)", () => {
    const out = v46("Three apples.");
    assert.equal(out.reasoning, null);
    assert.equal(out.content, "Three apples.");
    assert.equal(out.reasoningTruncated, false);
  });
  it("rule 4: <tool_call> inside unterminated think ends the reasoning", () => {
    const out = v46(
      "<think>Need the quote.\n<tool_call>get_quote\n<arg_key>symbol</arg_key>\n<arg_value>ACME</arg_value>\n</tool_call>",
    );
    assert.equal(out.reasoning, "Need the quote.");
    assert.equal(out.content, null);
    assert.deepEqual(out.toolCalls, [
      { id: ID1, type: "function", function: { name: "get_quote", arguments: '{"symbol": "ACME"}' } },
    ]);
    assert.equal(out.reasoningTruncated, false);
  });
  it("rule 4 only for a real call: an unclosed <tool_call> in unterminated think stays reasoning", () => {
    const out = v46("<think>Maybe <tool_call>get_quote\n<arg_key>sym");
    assert.equal(out.reasoning, "Maybe <tool_call>get_quote\n<arg_key>sym");
    assert.deepEqual(out.toolCalls, []);
    assert.equal(out.reasoningTruncated, true);
  });
  it("a <tool_call> inside a think block that does close is reasoning text (rule 1)", () => {
    const out = v46("<think>I could write <tool_call>x</tool_call> here</think>Done.");
    assert.equal(out.reasoning, "I could write <tool_call>x</tool_call> here");
    assert.equal(out.content, "Done.");
    assert.deepEqual(out.toolCalls, []);
  });
  it("thinking disabled: everything is content, even literal think tags", () => {
    const out = v46("Answer <think>x</think> y", { thinking: false });
    assert.equal(out.reasoning, null);
    assert.equal(out.content, "Answer <think>x</think> y");
  });
  it("thinking disabled still parses tool calls", () => {
    const out = v46("<tool_call>get_time\n</tool_call>", { thinking: false });
    assert.equal(out.toolCalls[0].function.name, "get_time");
  });
  it("promptOpenedThinking: generation starts inside reasoning", () => {
    const out = v46("still reasoning</think>\nAnswer.", { promptOpenedThinking: true });
    assert.equal(out.reasoning, "still reasoning");
    assert.equal(out.content, "Answer.");
    const cut = v46("cut off", { promptOpenedThinking: true });
    assert.equal(cut.reasoning, "cut off");
    assert.equal(cut.reasoningTruncated, true);
  });
  it("decided from generated text only: an empty think block yields no reasoning", () => {
    const out = v46("<think></think>\nHi");
    assert.equal(out.reasoning, null);
    assert.equal(out.content, "Hi");
  });
  it("empty or whitespace-only output", () => {
    for (const text of ["", "  \n", "<think>", "<think></think>"]) {
      const out = v46(text);
      assert.equal(out.content, null, JSON.stringify(text));
      assert.equal(out.reasoning, null, JSON.stringify(text));
    }
  });
  it("a partial tag at the very end is text", () => {
    assert.equal(v46("<thi").content, "<thi");
    assert.equal(v46("<think>R</thi").reasoning, "R</thi");
    assert.equal(v46("<think>R</think>A <tool_ca").content, "A <tool_ca");
  });
});

describe("§4.2 boxes in content", () => {
  it("README example", () => {
    const out = v46("<think>Find the cat.</think>The cat: <|begin_of_box|>[250,100,750,900]<|end_of_box|>");
    assert.equal(out.content, "The cat: <|begin_of_box|>[250,100,750,900]<|end_of_box|>");
    assert.deepEqual(out.boxes, [{ x1: 250, y1: 100, x2: 750, y2: 900 }]);
  });
  it("boxes in reasoning are not reported", () => {
    assert.deepEqual(v46("<think><|begin_of_box|>[1,2]<|end_of_box|></think>none").boxes, []);
  });
});

describe("§4.3 tool calls in a generation", () => {
  it("table row 1: content before the call and typed arguments", () => {
    const out = v46(
      "Let me check.\n<tool_call>get_quote\n<arg_key>symbol</arg_key>\n<arg_value>ACME</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call>",
    );
    assert.equal(out.content, "Let me check.\n");
    assert.deepEqual(out.toolCalls, [
      {
        id: ID1,
        type: "function",
        function: { name: "get_quote", arguments: '{"symbol": "ACME", "days": 3}' },
      },
    ]);
    assert.equal(finishReasonOf(out, false), "tool_calls");
  });
  it("table rows 2–4: note verbatim, days 007 string, flag True", () => {
    const out = v46(
      "<tool_call>get_quote\n<arg_key>note</arg_key><arg_value> 007 </arg_value>\n<arg_key>days</arg_key><arg_value>007</arg_value>\n<arg_key>flag</arg_key><arg_value>True</arg_value>\n</tool_call>",
    );
    assert.equal(out.toolCalls[0].function.arguments, '{"note": " 007 ", "days": "007", "flag": true}');
  });
  it("table row 5: zero-argument call", () => {
    const out = v46("<tool_call>get_time\n</tool_call>");
    assert.deepEqual(out.toolCalls[0].function, { name: "get_time", arguments: "{}" });
    assert.equal(v46("<tool_call>get_time</tool_call>").toolCalls[0].function.arguments, "{}");
  });
  it("content is null when whitespace-only before the first call", () => {
    assert.equal(v46("<think>R</think>\n\n<tool_call>get_time\n</tool_call>").content, null);
  });
  it("several calls in order; prose between and after calls is dropped; unknown functions kept", () => {
    const out = v46(
      "First.\n<tool_call>get_quote\n<arg_key>symbol</arg_key>\n<arg_value>A</arg_value>\n</tool_call>\nand then\n<tool_call>not_declared\n<arg_key>x</arg_key>\n<arg_value>[1, 2]</arg_value>\n</tool_call>\ntrailing prose",
    );
    assert.equal(out.content, "First.\n");
    assert.deepEqual(
      out.toolCalls.map((c) => [c.id, c.function.name, c.function.arguments]),
      [
        [ID1, "get_quote", '{"symbol": "A"}'],
        [ID2, "not_declared", '{"x": [1, 2]}'],
      ],
    );
  });
  it("an unclosed call at the end is not a call: its text stays content", () => {
    const out = v46("Checking <tool_call>get_quote\n<arg_key>symbol</arg_key>\n<arg_value>AC");
    assert.deepEqual(out.toolCalls, []);
    assert.equal(out.content, "Checking <tool_call>get_quote\n<arg_key>symbol</arg_key>\n<arg_value>AC");
    assert.equal(finishReasonOf(out, true), "length");
  });
  it("an unclosed call after a complete one is dropped with the other trailing prose", () => {
    const out = v46("<tool_call>get_time\n</tool_call><tool_call>get_quote\n");
    assert.equal(out.toolCalls.length, 1);
    assert.equal(out.content, null);
  });
  it("a block without a name is not a call", () => {
    const out = v46("x <tool_call>\n</tool_call> y");
    assert.deepEqual(out.toolCalls, []);
    assert.equal(out.content, "x <tool_call>\n</tool_call> y");
  });
  it("4.1V has no tool calling: the tags stay text", () => {
    const out = v41("<think>R</think><answer><tool_call>f\n</tool_call></answer>");
    assert.deepEqual(out.toolCalls, []);
    assert.equal(out.answer, "<tool_call>f\n</tool_call>");
  });
  it("random ids by default", () => {
    const out = parseOutput("<tool_call>f\n</tool_call>", { family: "glm-4.5v" });
    assert.match(out.toolCalls[0].id, /^call_[0-9a-f]{24}$/);
  });
  it("finish reasons", () => {
    assert.equal(finishReasonOf(v46("x"), false), "stop");
    assert.equal(finishReasonOf(v46("x"), true), "length");
  });
});

describe("robustness", () => {
  it("never throws on malformed markup", () => {
    const junk = [
      "</think></think><think>",
      "<tool_call></tool_call></tool_call>",
      "<answer></answer></answer><answer>",
      "<tool_call>f<arg_key></arg_key><arg_value></arg_value><arg_value>",
      "<<<>>></<//",
      "\ud800<think>\udc00",
    ];
    for (const text of junk) {
      for (const family of ["glm-4.1v-thinking", "glm-4.6v", "glm-ocr"] as const) {
        assert.doesNotThrow(() => parseOutput(text, { family }), `${family}: ${text}`);
      }
    }
  });
  it("unknown family: a clear error", () => {
    assert.throws(() => parseOutput("x", { family: "gpt" as never }), /unknown model family "gpt"/);
  });
});
