import assert from "node:assert/strict";
import { test } from "node:test";
import { fixedJudge, makeVerifier } from "./testing.ts";

const general = (extra: Record<string, unknown> = {}) => ({
  verifier_type: "general",
  llm_api_key: "",
  llm_judge_url: "http://judge.invalid/v1",
  llm_judge_prompt_template: "{question}|{predict}|{label}",
  llm_retries: 0,
  ...extra,
});

test("general: regex extraction (named group or last group), else the whole response", () => {
  assert.equal(
    makeVerifier(general({ answer_extraction_regex: "Final: (?P<answer>.*)$" })).extractAnswer(
      "x\nFinal: 42",
    ),
    "42",
  );
  assert.equal(makeVerifier(general({ answer_extraction_regex: "(a)(b+)" })).extractAnswer("abbb"), "bbb");
  assert.equal(makeVerifier(general()).extractAnswer("whole"), "whole");
});

test("general: the judge's boxed Correct/Incorrect and plain 1.0/0.0 are both read (defect 4)", async () => {
  const ctx = { question: "q" };
  for (const [reply, reward] of [
    ["Reasoning… <|begin_of_box|>Correct<|end_of_box|>", 1],
    ["<|begin_of_box|>Incorrect<|end_of_box|>", 0],
    ["1.0", 1],
    ["0.0", 0],
  ] as const) {
    const t = fixedJudge(reply);
    assert.deepEqual(
      await makeVerifier(general(), t).judge("a", "b", ctx),
      { reward, decidedBy: "llm" },
      reply,
    );
    assert.equal(t.prompts[0], "q|a|b");
  }
  assert.deepEqual(await makeVerifier(general()).judge("same", "same", ctx), {
    reward: 1,
    decidedBy: "rule",
  });
  assert.equal((await makeVerifier(general({ llm_judge_url: "" })).judge("a", "b", ctx)).decidedBy, "rule");
});
