import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCount } from "./counting.ts";
import { fixedJudge, gated, makeVerifier, withJudge } from "./testing.ts";

test("counts: digits, English number words, Chinese numerals", () => {
  assert.equal(parseCount("007"), 7);
  assert.equal(parseCount("five"), 5);
  assert.equal(parseCount("Twenty-one"), 21);
  assert.equal(parseCount("one hundred and five"), 105);
  assert.equal(parseCount("十二"), 12);
  assert.equal(parseCount("二十一"), 21);
  assert.equal(parseCount("两个"), 2);
  assert.equal(parseCount("一百零五"), 105);
  assert.equal(parseCount("many"), null);
});

test("counting accepts the <answer> tags the gate requires (defect 3) and compares counts", async () => {
  const v = makeVerifier({ verifier_type: "counting" });
  assert.equal(v.extractAnswer(gated("5")), "5");
  const ctx = { question: "", imageFile: "img.png" }; // the image argument the pipeline passes (defect 2)
  assert.deepEqual(await v.judge("05", "5", ctx), { reward: 1, decidedBy: "rule" });
  assert.deepEqual(await v.judge("five", "5", ctx), { reward: 1, decidedBy: "rule" });
  assert.deepEqual(await v.judge("五", "5", ctx), { reward: 1, decidedBy: "rule" });
  assert.deepEqual(await v.judge("6", "5", ctx), { reward: 0, decidedBy: "rule" });
  assert.equal((await v.judge("a few", "5", ctx)).reward, 0);
  const t = fixedJudge("1.0");
  assert.deepEqual(await makeVerifier(withJudge("counting"), t).judge("five apples", "5", ctx), {
    reward: 1,
    decidedBy: "llm",
  });
});
