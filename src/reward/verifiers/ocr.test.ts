import assert from "node:assert/strict";
import { test } from "node:test";
import { normaliseOcr } from "./ocr.ts";
import { fixedJudge, makeVerifier, withJudge } from "./testing.ts";

const ctx = { question: "" };

test("ocr normalisation: case (optional), trim, newlines and spaces removed", () => {
  assert.equal(normaliseOcr(" Hello\nWorld  x ", false), "HelloWorldx");
  assert.equal(normaliseOcr("AbC", true), "abc");
});

test("ocr: continuous similarity between the bounds", async () => {
  const v = makeVerifier({ verifier_type: "ocr" });
  assert.deepEqual(await v.judge("hello world", "helloworld", ctx), { reward: 1, decidedBy: "rule" });
  assert.equal((await v.judge("abcd", "abcf", ctx)).reward, 0.75);
  assert.equal((await v.judge("abcd", "wxyz", ctx)).reward, 0);
  assert.equal(
    (await makeVerifier({ verifier_type: "ocr", ignore_case: true }).judge("ABC", "abc", ctx)).reward,
    1,
  );
});

test("ocr bounds: ≥ upper → 1, ≤ lower → 0", async () => {
  const v = makeVerifier({
    verifier_type: "ocr",
    edit_distance_upper_bound: 0.7,
    edit_distance_lower_bound: 0.5,
  });
  assert.equal((await v.judge("abcd", "abcf", ctx)).reward, 1);
  assert.equal((await v.judge("abcd", "abef", ctx)).reward, 0);
  const w = makeVerifier({
    verifier_type: "ocr",
    edit_distance_upper_bound: 0.9,
    edit_distance_lower_bound: 0.1,
  });
  assert.equal((await w.judge("abcd", "abcf", ctx)).reward, 0.75);
});

test("ocr judge: a yes gives 1, a no keeps the similarity", async () => {
  assert.deepEqual(await makeVerifier(withJudge("ocr"), fixedJudge("1.0")).judge("abcd", "abcf", ctx), {
    reward: 1,
    decidedBy: "llm",
  });
  const no = await makeVerifier(withJudge("ocr"), fixedJudge("0.0")).judge("abcd", "abcf", ctx);
  assert.equal(no.reward, 0.75);
});

test("ocr: when no judge answers, the similarity stands by rule", async () => {
  const failing = (async () => {
    throw new Error("down");
  }) as Parameters<typeof makeVerifier>[1];
  const v = await makeVerifier(withJudge("ocr"), failing).judge("abcd", "abcf", ctx);
  assert.equal(v.reward, 0.75);
  assert.equal(v.decidedBy, "rule");
  assert.match(v.detail ?? "", /judge unavailable/);
});
