import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveVerifierSettings } from "../config.ts";
import type { JudgeTransport } from "../judge-http.ts";
import type { Verdict } from "../types.ts";
import { createVerifier } from "./index.ts";
import { compareQuantities, parseQuantity } from "./science.ts";
import { fixedJudge } from "./testing.ts";

const B = (x: string) => `<think>r</think><answer><|begin_of_box|>${x}<|end_of_box|></answer>`;
const make = (raw: Record<string, unknown>, transport?: JudgeTransport) =>
  createVerifier(resolveVerifierSettings("t", { ...raw, verifier_type: String(raw.verifier_type) }), {
    transport,
  });
const ctx = { question: "q" };
async function judge(
  raw: Record<string, unknown>,
  a: string,
  g: string,
  transport?: JudgeTransport,
): Promise<Verdict> {
  return await make(raw, transport).judge(a, g, ctx);
}
const withJudge = (type: string) => ({
  verifier_type: type,
  llm_judge_url: "http://judge.invalid/v1",
  llm_retries: 0,
});

test("math extraction: think/answer, exactly one box (strict) or the whole answer part", () => {
  const v = make({ verifier_type: "math" });
  assert.equal(v.extractAnswer(B(" 3/2 ")), "3/2");
  assert.equal(v.extractAnswer("<think>r</think><answer>3/2</answer>"), null);
  assert.equal(
    make({ verifier_type: "math", strict_boxed_extraction: false }).extractAnswer(
      "<think>r</think><answer> 3/2 </answer>",
    ),
    "3/2",
  );
  assert.equal(v.extractAnswer("<think>r</think>3/2"), null);
});

test("math: the numeric branch runs (defect 1): 3/2 = 1.5 by rule, tolerance respected, no judge call", async () => {
  const t = fixedJudge("1.0");
  assert.deepEqual(await judge(withJudge("math"), "3/2", "1.5", t), { reward: 1, decidedBy: "rule" });
  assert.deepEqual(await judge(withJudge("math"), "\\frac{3}{2}", "1.5", t), {
    reward: 1,
    decidedBy: "rule",
  });
  assert.equal((await judge({ verifier_type: "math", sympy_tolerance: 1e-6 }, "1.5000001", "1.5")).reward, 1);
  assert.equal((await judge({ verifier_type: "math", sympy_tolerance: 1e-6 }, "1.50001", "1.5")).reward, 0);
  assert.deepEqual(await judge(withJudge("math"), "1.6", "1.5", t), { reward: 0, decidedBy: "rule" });
  assert.equal(t.calls, 0);
});

test("math: symbolic equivalence by rule; prose goes to the judge, or scores 0 by rule without one", async () => {
  assert.deepEqual(await judge({ verifier_type: "math" }, "\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}"), {
    reward: 1,
    decidedBy: "rule",
  });
  const t = fixedJudge("1.0");
  assert.deepEqual(await judge(withJudge("math"), "the triangle", "triangle ABC", t), {
    reward: 1,
    decidedBy: "llm",
  });
  assert.equal(t.calls, 1);
  const noJudge = await judge({ verifier_type: "math" }, "the triangle", "triangle ABC");
  assert.equal(noJudge.reward, 0);
  assert.equal(noJudge.decidedBy, "rule");
  assert.match(noJudge.detail ?? "", /judge is disabled/);
  const off = make({ ...withJudge("math"), enable_llm_judge_fallback: false }, t);
  assert.equal((await off.judge("a b", "c d", ctx)).decidedBy, "rule");
});

test("physics/chemistry: units are whole tokens, converted by rule (defect 7)", async () => {
  assert.deepEqual(parseQuantity("9.8 m/s^2"), { value: 9.8, unit: "m/s^2" });
  assert.deepEqual(parseQuantity("9.8\\,\\mathrm{m/s^{2}}"), { value: 9.8, unit: "m/s^2" });
  assert.deepEqual(parseQuantity("3 \\text{ kg}"), { value: 3, unit: "kg" });
  assert.equal(parseQuantity("x + 2"), null);
  assert.equal(compareQuantities({ value: 1, unit: "km" }, { value: 1000, unit: "m" }, 1e-5), true);
  assert.equal(compareQuantities({ value: 1, unit: "kg" }, { value: 1000, unit: "m" }, 1e-5), false);
  const t = fixedJudge("0.0");
  assert.deepEqual(await judge(withJudge("physics"), "1 km", "1000 m", t), { reward: 1, decidedBy: "rule" });
  assert.deepEqual(
    await judge(withJudge("physics"), "0.5", "1/2", t),
    { reward: 1, decidedBy: "rule" },
    "no unit letters: numeric check",
  );
  assert.deepEqual(await judge(withJudge("chemistry"), "2.0 mol", "2 mol", t), {
    reward: 1,
    decidedBy: "rule",
  });
  assert.equal(t.calls, 0);
  // Upstream sent anything containing e.g. "s" to the judge even with fallback disabled.
  const off = await judge(
    { verifier_type: "physics", enable_llm_judge_fallback: false, llm_judge_url: "http://judge.invalid" },
    "5 s",
    "4 s",
    t,
  );
  assert.deepEqual(off, { reward: 0, decidedBy: "rule" });
  assert.equal(t.calls, 0);
  // A missing unit goes to the judge when there is one.
  assert.deepEqual(await judge(withJudge("physics"), "9.8", "9.8 m/s^2", t), { reward: 0, decidedBy: "llm" });
});

test("biology, liberal_arts, vqa: equality, else the judge", async () => {
  assert.equal((await judge({ verifier_type: "biology" }, " mitochondria ", "mitochondria")).reward, 1);
  assert.equal((await judge({ verifier_type: "liberal_arts" }, "Rome", "Rome")).reward, 1);
  assert.equal((await judge({ verifier_type: "vqa" }, "cat", "dog")).reward, 0);
  assert.deepEqual(await judge(withJudge("vqa"), "a cat", "cat", fixedJudge("1.0")), {
    reward: 1,
    decidedBy: "llm",
  });
});

test("geography: case-insensitive, set equality over separators, numbers", async () => {
  assert.equal((await judge({ verifier_type: "geography" }, "paris", "Paris")).reward, 1);
  assert.equal((await judge({ verifier_type: "geography" }, "Chile、Peru", "peru, chile")).reward, 1);
  assert.equal((await judge({ verifier_type: "geography" }, "8848", "8848.0")).reward, 1);
  assert.equal((await judge({ verifier_type: "geography" }, "Chile", "Peru")).reward, 0);
});

test("multi_image: extracts after </think> and asks a single judge", async () => {
  const v = make({ verifier_type: "multi_image" });
  assert.equal(v.extractAnswer("<think>r</think><|begin_of_box|>B<|end_of_box|>"), "B");
  assert.equal(v.extractAnswer(B("B")), "B");
  const t = fixedJudge("1.0");
  await judge(
    { ...withJudge("multi_image"), llm_judge_url: ["http://a", "http://b"] },
    "left one",
    "the left",
    t,
  );
  assert.equal(t.calls, 1);
});
