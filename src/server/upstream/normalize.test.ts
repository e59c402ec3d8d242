import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sequentialCallIds } from "../../protocol/tools.ts";
import type { OutputDelta } from "../../protocol/types.ts";
import type { UpstreamChunk } from "./dialect.ts";
import { ContractPassThrough, type NormalizerOptions, UpstreamNormalizer } from "./normalize.ts";

function run(chunks: UpstreamChunk[], options: Partial<NormalizerOptions> = {}) {
  const n = new UpstreamNormalizer({
    family: "glm-4.5v",
    enableThinking: undefined,
    tools: undefined,
    upstreamParses: false,
    idGenerator: sequentialCallIds(),
    ...options,
  });
  const deltas: OutputDelta[] = [];
  for (const c of chunks) deltas.push(...n.push(c));
  const end = n.finish();
  deltas.push(...end.deltas);
  return { deltas, output: end.output, raw: n.raw };
}

const join = (deltas: OutputDelta[], key: "reasoning_content" | "content") =>
  deltas.map((d) => d[key] ?? "").join("");

describe("UpstreamNormalizer", () => {
  it("re-emits several SGLang-style tool calls (no ids) with ids, call-order indexes and whole arguments", () => {
    const { deltas, output } = run([
      { reasoning: "Two lookups." },
      { toolCalls: [{ index: 3, name: "a", arguments: '{"x": ' }] },
      { toolCalls: [{ index: 3, arguments: "1}" }] },
      { toolCalls: [{ index: 0, name: "b", arguments: "" }] },
    ]);
    const calls = deltas.flatMap((d) => d.tool_calls ?? []);
    assert.deepEqual(calls, [
      {
        index: 0,
        id: "call_000000000000000000000001",
        type: "function",
        function: { name: "a", arguments: "" },
      },
      { index: 0, function: { arguments: '{"x": 1}' } },
      {
        index: 1,
        id: "call_000000000000000000000002",
        type: "function",
        function: { name: "b", arguments: "" },
      },
      { index: 1, function: { arguments: "{}" } },
    ]);
    assert.equal(output.reasoning, "Two lookups.");
    assert.deepEqual(
      output.toolCalls.map((c) => [c.function.name, c.function.arguments]),
      [
        ["a", '{"x": 1}'],
        ["b", "{}"],
      ],
    );
  });

  it("strips GLM-4.1V answer tags whether the upstream sent raw text or a reasoning field", () => {
    const raw = run([{ content: "<think>Hmm.</think><answer>Forty" }, { content: "-two</answer>" }], {
      family: "glm-4.1v-thinking",
    });
    assert.equal(raw.output.reasoning, "Hmm.");
    assert.equal(raw.output.content, "Forty-two");
    const parsed = run([{ reasoning: "Hmm." }, { content: "<answer>Forty-two</answer>" }], {
      family: "glm-4.1v-thinking",
    });
    assert.equal(parsed.output.reasoning, "Hmm.");
    assert.equal(parsed.output.content, "Forty-two");
  });

  it("marks reasoning that never closed as truncated, and streams un-thought answers at once", () => {
    assert.equal(run([{ reasoning: "Still thinking" }]).output.reasoningTruncated, true);
    const n = new UpstreamNormalizer({
      family: "glm-4.6v",
      enableThinking: undefined,
      tools: undefined,
      upstreamParses: false,
    });
    assert.equal(join(n.push({ content: "Hello there" }), "content"), "Hello there");
  });

  it("continues after a forced close: all later text is answer, reasoning fields included", () => {
    const n = new UpstreamNormalizer({
      family: "glm-4.5v",
      enableThinking: undefined,
      tools: undefined,
      upstreamParses: false,
    });
    n.push({ content: "<think>long reasoning" });
    const forced = n.forceClose();
    assert.equal(forced.appended, "\n</think>\n");
    const later = n.push({ reasoning: "The answer" });
    later.push(...n.push({ content: " is 4." }));
    const end = n.finish();
    assert.equal(join([...later, ...end.deltas], "content"), "The answer is 4.");
    assert.equal(end.output.reasoning, "long reasoning");
    assert.equal(n.raw, "<think>long reasoning\n</think>\nThe answer is 4.");
  });
});

describe("ContractPassThrough", () => {
  it("passes a glmv stream through and rebuilds the parse with the upstream's boxes", () => {
    const p = new ContractPassThrough();
    const out = [
      ...p.push({ reasoning: "r" }),
      ...p.push({ content: "c " }),
      ...p.push({ toolCalls: [{ index: 0, id: "call_1", name: "f", arguments: "" }] }),
      ...p.push({ toolCalls: [{ index: 0, arguments: '{"a": 1}' }] }),
      ...p.push({ glmv: { boxes: [{ x: 1, y: 2 }] } }),
    ];
    assert.equal(out.length, 4);
    const { output } = p.finish();
    assert.deepEqual(output.boxes, [{ x: 1, y: 2 }]);
    assert.equal(output.content, "c ");
    assert.deepEqual(output.toolCalls, [
      { id: "call_1", type: "function", function: { name: "f", arguments: '{"a": 1}' } },
    ]);
  });
});
