import assert from "node:assert/strict";
import { test } from "node:test";
import { readGeoScore } from "./geoquest.ts";
import { fixedJudge, makeVerifier } from "./testing.ts";

const geo = (extra: Record<string, unknown> = {}) => ({
  verifier_type: "geoquest",
  llm_api_key: "",
  llm_judge_url: "http://judge.invalid/v1",
  llm_judge_prompt_template: "{question} {predict} {label}",
  llm_retries: 0,
  ...extra,
});
const gt = JSON.stringify({ place_name: "Eiffel Tower", address: "Paris, France" });

test("geoquest reads a JSON ground truth, which is not put through the format gate (defect 5)", () => {
  const v = makeVerifier(geo());
  assert.equal(v.gatesGroundTruth, false);
  assert.deepEqual(v.extractGroundTruth(gt), { place_name: "Eiffel Tower", address: "Paris, France" });
  assert.equal(v.extractGroundTruth("not json"), null);
});

test("geoquest scores: first JSON object's score, else the regex; reasoning removed", () => {
  assert.equal(readGeoScore('{"score": 0.8, "reason": "close"}'), 0.8);
  assert.equal(readGeoScore('<think>{"score": 0.1}</think> ok {"score": 0.9}'), 0.9);
  assert.equal(readGeoScore('broken {"score": 0.75, } tail'), 0.75);
  assert.equal(readGeoScore("no score"), null);
});

test("geoquest: > 0.7 counts as 1, averaged over judges; long answers score 0", async () => {
  const ctx = { question: "Where?" };
  assert.deepEqual(
    await makeVerifier(geo(), fixedJudge('{"score": 0.8}')).judge("Eiffel", JSON.parse(gt), ctx),
    { reward: 1, decidedBy: "llm" },
  );
  assert.equal(
    (await makeVerifier(geo(), fixedJudge('{"score": 0.7}')).judge("Paris", JSON.parse(gt), ctx)).reward,
    0,
  );
  const two = makeVerifier(geo({ llm_judge_url: ["http://a", "http://b"] }), fixedJudge('{"score": 0.9}'));
  assert.equal((await two.judge("Eiffel", JSON.parse(gt), ctx)).reward, 1);
  assert.equal((await makeVerifier(geo()).judge("x".repeat(51), JSON.parse(gt), ctx)).reward, 0);
  const rules = await makeVerifier(geo({ llm_judge_url: "" })).judge("eiffel tower", JSON.parse(gt), ctx);
  assert.equal(rules.reward, 1);
  assert.equal(rules.decidedBy, "rule");
});
