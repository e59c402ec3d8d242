import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { FamilyId } from "./families.ts";
import { QUOTE_TOOLS } from "./fixtures/quote-tools.ts";
import { parseOutput } from "./parse.ts";
import { StreamClosedError, StreamParser } from "./stream.ts";
import { sequentialCallIds } from "./tools.ts";
import type { OutputDelta, ParseOptions, ToolCall } from "./types.ts";

/** mulberry32: a small seeded PRNG so that every run tests the same cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Splits text at random places: mostly tiny chunks (tags split anywhere), sometimes big ones. */
function randomChunks(text: string, rand: () => number): string[] {
  const chunks: string[] = [];
  let pos = 0;
  while (pos < text.length) {
    const size = rand() < 0.1 ? 1 + Math.floor(rand() * 40) : 1 + Math.floor(rand() * 4);
    chunks.push(text.slice(pos, pos + size));
    pos += size;
  }
  if (rand() < 0.2) chunks.splice(Math.floor(rand() * (chunks.length + 1)), 0, ""); // empty chunks are fine
  return chunks;
}

interface StreamRun {
  reasoning: string;
  content: string;
  toolCalls: ToolCall[];
  pushDeltas: OutputDelta[];
  final: ReturnType<StreamParser["finish"]>["output"];
}

function runStream(chunks: string[], options: ParseOptions): StreamRun {
  const parser = new StreamParser(options);
  const pushDeltas: OutputDelta[] = [];
  for (const chunk of chunks) pushDeltas.push(...parser.push(chunk));
  const { deltas, output } = parser.finish();
  const all = [...pushDeltas, ...deltas];
  let reasoning = "";
  let content = "";
  const calls: ToolCall[] = [];
  for (const delta of all) {
    const keys = Object.keys(delta);
    assert.equal(keys.length, 1, `exactly one field per delta: ${JSON.stringify(delta)}`);
    if (delta.reasoning_content !== undefined) reasoning += delta.reasoning_content;
    if (delta.content !== undefined) content += delta.content;
    for (const tc of delta.tool_calls ?? []) {
      if (tc.id !== undefined) {
        assert.equal(tc.index, calls.length, "calls are numbered in order");
        assert.equal(tc.type, "function");
        assert.equal(tc.function.arguments, "", "the first delta of a call has empty arguments");
        assert.ok(tc.function.name);
        calls.push({ id: tc.id, type: "function", function: { name: tc.function.name, arguments: "" } });
      } else {
        assert.equal(tc.function.name, undefined, "later deltas carry only arguments");
        calls[tc.index].function.arguments += tc.function.arguments;
      }
    }
  }
  return { reasoning, content, toolCalls: calls, pushDeltas, final: output };
}

function assertInvariant(text: string, options: Omit<ParseOptions, "idGenerator">, rand: () => number): void {
  const batch = parseOutput(text, { ...options, idGenerator: sequentialCallIds() });
  const where = `${options.family} thinking=${options.thinking} opened=${options.promptOpenedThinking}: ${JSON.stringify(text)}`;
  for (let round = 0; round < 3; round++) {
    const run = runStream(randomChunks(text, rand), { ...options, idGenerator: sequentialCallIds() });
    assert.equal(run.reasoning, batch.reasoning ?? "", `reasoning — ${where}`);
    assert.equal(run.content, batch.content ?? "", `content — ${where}`);
    assert.deepEqual(run.toolCalls, batch.toolCalls, `tool calls — ${where}`);
    assert.deepEqual(run.final, batch, `final output — ${where}`);
  }
}

const PIECES = [
  "<think>",
  "</think>",
  "<answer>",
  "</answer>",
  "<tool_call>",
  "</tool_call>",
  "<arg_key>",
  "</arg_key>",
  "<arg_value>",
  "</arg_value>",
  "<|begin_of_box|>",
  "<|end_of_box|>",
  "[250,100,750,900]",
  "\n",
  "\n\n",
  " ",
  "\\n",
  "<",
  "</",
  "<th",
  "</thi",
  "<tool_",
  "</tool_call",
  "<ans",
  ">",
  "get_quote",
  "get_time",
  "symbol",
  "days",
  "note",
  "3",
  "007",
  " 7 ",
  "True",
  "'x'",
  "[1, 2.0]",
  "ACME",
  "Hello world.",
  "東京",
  "😀",
  "Let me check.",
];

function soup(rand: () => number): string {
  const n = Math.floor(rand() * 14);
  let out = "";
  for (let i = 0; i < n; i++) out += PIECES[Math.floor(rand() * PIECES.length)];
  return out;
}

function wellFormed(rand: () => number, family: FamilyId): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  let out = "";
  if (rand() < 0.8)
    out +=
      pick(["<think>", "\n<think>\n", "<think>\n"]) +
      pick(["", "Reasoning here.", "Step 1\n\nStep 2 ", "a < b and </th"]) +
      pick(["</think>", "\n</think>\n"]);
  if (family === "glm-4.1v-thinking") {
    out +=
      pick(["<answer>", "\n<answer>\n"]) +
      pick(["Three.", "<|begin_of_box|>[1,2,3,4]<|end_of_box|>", ""]) +
      pick(["</answer>", "\n</answer>", ""]);
    return out;
  }
  out += pick(["", "\n", "Let me check.\n", "The cat: <|begin_of_box|>[250,100,750,900]<|end_of_box|>"]);
  const calls = Math.floor(rand() * 3);
  for (let c = 0; c < calls; c++) {
    out += `<tool_call>${pick(["get_quote", "get_time", " other "])}${pick(["\n", "\\n", ""])}`;
    const args = Math.floor(rand() * 3);
    for (let a = 0; a < args; a++) {
      out += `<arg_key>${pick(["symbol", "days", "note", "flag", "x"])}</arg_key>${pick(["\n", ""])}<arg_value>${pick(["ACME", "3", " 007 ", "True", "{'a': (1,)}", "東京", "NaN"])}</arg_value>${pick(["\n", ""])}`;
    }
    out += "</tool_call>" + pick(["", "\n", " prose "]);
  }
  return out;
}

/** Damages a text: truncation, or a deleted span. */
function mutate(text: string, rand: () => number): string {
  const r = rand();
  if (r < 0.4) return text.slice(0, Math.floor(rand() * (text.length + 1)));
  if (r < 0.6) {
    const a = Math.floor(rand() * (text.length + 1));
    const b = a + Math.floor(rand() * 12);
    return text.slice(0, a) + text.slice(b);
  }
  return text;
}

const OPTION_SETS: Omit<ParseOptions, "idGenerator">[] = [
  { family: "glm-4.6v", tools: QUOTE_TOOLS },
  { family: "glm-4.6v", tools: QUOTE_TOOLS, thinking: false },
  { family: "glm-4.6v", promptOpenedThinking: true },
  { family: "glm-4.5v" },
  { family: "glm-4.1v-thinking" },
  { family: "glm-ocr", thinking: true },
  { family: "glm-4.6v", tools: QUOTE_TOOLS, thinkOpenVisible: true },
];

describe("StreamParser invariant: any chunking gives the batch result", () => {
  it("600 generated well-formed, truncated and damaged outputs, 7 option sets, 3 chunkings each", () => {
    const rand = prng(20260826);
    let cases = 0;
    for (let i = 0; i < 600; i++) {
      const options = OPTION_SETS[i % OPTION_SETS.length];
      const text = mutate(wellFormed(rand, options.family), rand);
      assertInvariant(text, options, rand);
      cases++;
    }
    assert.equal(cases, 600);
  });
  it("600 random tag soups (malformed markup), 3 chunkings each", () => {
    const rand = prng(42);
    for (let i = 0; i < 600; i++) {
      const options = OPTION_SETS[i % OPTION_SETS.length];
      assertInvariant(soup(rand), options, rand);
    }
  });
  it("one character at a time and one big chunk agree on every spec example", () => {
    const examples = [
      "<think>\nI count them.\n</think>\n<answer>\nThree.\n</answer>",
      "Let me check.\n<tool_call>get_quote\n<arg_key>symbol</arg_key>\n<arg_value>ACME</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call>",
      "<think>x<tool_call>get_time\n</tool_call>",
      "R</think>A",
    ];
    for (const text of examples) {
      for (const options of OPTION_SETS) {
        const batch = parseOutput(text, { ...options, idGenerator: sequentialCallIds() });
        const run = runStream(Array.from(text), { ...options, idGenerator: sequentialCallIds() });
        assert.deepEqual(run.final, batch);
        assert.equal(run.content, batch.content ?? "");
        assert.equal(run.reasoning, batch.reasoning ?? "");
      }
    }
  });
});

describe("StreamParser holds back only what it must", () => {
  // That no delta holds part of a tag follows from the invariant above: deltas are append-only and the
  // batch result has the tags removed, so an emitted tag fragment would show up in the concatenation.
  it("reasoning streams as it arrives", () => {
    const p = new StreamParser({ family: "glm-4.6v" });
    assert.deepEqual(p.push("<thi"), []);
    assert.deepEqual(p.push("nk>Let me"), [{ reasoning_content: "Let me" }]);
    assert.deepEqual(p.push(" look</th"), [{ reasoning_content: " look" }]);
    assert.deepEqual(p.push("ink>\nIt is"), [{ content: "It is" }]);
    assert.deepEqual(p.push(" a cat.\n"), [{ content: " a cat." }]);
    const end = p.finish();
    assert.deepEqual(end.deltas, []);
    assert.equal(end.output.content, "It is a cat.");
  });
  it("4.1V answer tags are never emitted, even split", () => {
    const p = new StreamParser({ family: "glm-4.1v-thinking" });
    const got = ["<think>R</think>\n<ans", "wer>Th", "ree.</ans", "wer>"].flatMap((c) => p.push(c));
    assert.deepEqual(got, [{ reasoning_content: "R" }, { content: "Th" }, { content: "ree." }]);
    assert.equal(p.finish().output.answer, "Three.");
  });
  it("text without a leading <think> is held until it is known to be content (rule 1 vs rule 3)", () => {
    const p = new StreamParser({ family: "glm-4.6v" });
    assert.deepEqual(p.push("Plain answer"), []);
    const end = p.finish();
    assert.deepEqual(end.deltas, [{ content: "Plain answer" }]);
    const q = new StreamParser({ family: "glm-4.6v", thinking: false });
    assert.deepEqual(
      q.push("Plain answer"),
      [{ content: "Plain answer" }],
      "with thinking off it streams at once",
    );
  });
  it("with thinkOpenVisible, output without <think> streams as content at once and matches batch", () => {
    const options = { family: "glm-4.6v" as const, thinkOpenVisible: true };
    const p = new StreamParser(options);
    assert.deepEqual(p.push("Plain "), [{ content: "Plain" }]);
    assert.deepEqual(p.push("answer</think>x"), [{ content: " answer</think>x" }]);
    const end = p.finish();
    assert.deepEqual(end.output, parseOutput("Plain answer</think>x", options));
    assert.equal(end.output.reasoning, null);
    const q = new StreamParser(options);
    assert.deepEqual(q.push("<think>R</think>A"), [{ reasoning_content: "R" }, { content: "A" }]);
  });
});

describe("StreamParser tool-call deltas (§4.4)", () => {
  it("first delta has index/id/type/name with empty arguments; fragments join to the batch arguments", () => {
    const p = new StreamParser({ family: "glm-4.6v", tools: QUOTE_TOOLS, idGenerator: sequentialCallIds() });
    const text =
      "<think>Need it.</think>Let me check.\n<tool_call>get_quote\n<arg_key>symbol</arg_key>\n<arg_value>ACME</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call><tool_call>get_time\n</tool_call>";
    const deltas = [...Array.from(text).flatMap((c) => p.push(c)), ...p.finish().deltas];
    const tools = deltas.filter((d) => d.tool_calls);
    assert.deepEqual(tools, [
      {
        tool_calls: [
          {
            index: 0,
            id: "call_000000000000000000000001",
            type: "function",
            function: { name: "get_quote", arguments: "" },
          },
        ],
      },
      { tool_calls: [{ index: 0, function: { arguments: '{"symbol": "ACME"' } }] },
      { tool_calls: [{ index: 0, function: { arguments: ', "days": 3' } }] },
      { tool_calls: [{ index: 0, function: { arguments: "}" } }] },
      {
        tool_calls: [
          {
            index: 1,
            id: "call_000000000000000000000002",
            type: "function",
            function: { name: "get_time", arguments: "" },
          },
        ],
      },
      { tool_calls: [{ index: 1, function: { arguments: "{}" } }] },
    ]);
    const content = deltas
      .filter((d) => d.content !== undefined)
      .map((d) => d.content)
      .join("");
    assert.equal(content, "Let me check.\n");
    // Order: reasoning, then content, then tool calls.
    const kinds = deltas.map((d) => Object.keys(d)[0]);
    assert.equal(kinds.lastIndexOf("reasoning_content") < kinds.indexOf("content"), true);
    assert.equal(kinds.lastIndexOf("content") < kinds.indexOf("tool_calls"), true);
  });
  it("nothing of a call is emitted before </tool_call> (a call that never closes is not a call)", () => {
    const p = new StreamParser({ family: "glm-4.6v", thinking: false });
    assert.deepEqual(p.push("<tool_call>get_quote\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n"), []);
    const end = p.finish();
    assert.deepEqual(end.deltas, [
      { content: "<tool_call>get_quote\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>" },
    ]);
  });
  it("push after finish is an error", () => {
    const p = new StreamParser({ family: "glm-4.6v" });
    p.finish();
    assert.throws(() => p.push("x"), StreamClosedError);
    assert.throws(() => p.finish(), StreamClosedError);
  });
});
