import assert from "node:assert/strict";
import { test } from "node:test";
import { CHART_REGEX } from "../config.ts";
import { decideChart } from "./chart.ts";
import { fixedJudge, gated, makeVerifier, withJudge } from "./testing.ts";

const chart = { verifier_type: "chart", answer_extraction_regex: CHART_REGEX, sympy_tolerance: 2.5e-2 };

test("chart extraction accepts the <answer> tags the gate requires (defect 3)", () => {
  const v = makeVerifier(chart);
  assert.equal(v.extractAnswer(gated("12.5")), "12.5");
  assert.equal(v.extractAnswer("<think>r</think><|begin_of_box|>12.5<|end_of_box|>"), "12.5");
  assert.equal(v.extractAnswer("12.5"), null);
});

test("chart rules: equality, years exactly, other numbers within the relative tolerance", () => {
  assert.deepEqual(decideChart("Q1", "Q1", 0.025), { reward: 1, decidedBy: "rule" });
  assert.equal(decideChart("2019", "2020", 0.025)?.reward, 0, "years must match exactly");
  assert.equal(decideChart("2019.0", "2019", 0.025)?.reward, 1);
  assert.equal(decideChart("102", "100", 0.025)?.reward, 1, "2% off is within 2.5%");
  assert.equal(decideChart("103", "100", 0.025)?.reward, 0);
  assert.equal(decideChart("12.30", "12.3", 0.025)?.reward, 1);
  assert.equal(decideChart("germany", "Germany", 0.025), null, "text goes to the judge");
});

test("chart: text falls to a single judge", async () => {
  const t = fixedJudge("1.0");
  const v = makeVerifier({ ...chart, ...withJudge("chart"), llm_judge_url: ["http://a", "http://b"] }, t);
  assert.deepEqual(await v.judge("germany", "Germany", { question: "" }), { reward: 1, decidedBy: "llm" });
  assert.equal(t.calls, 1);
});
