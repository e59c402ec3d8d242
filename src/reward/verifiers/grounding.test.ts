import assert from "node:assert/strict";
import { test } from "node:test";
import type { BoxTuple } from "../geometry.ts";
import { groundingScore, readBoxes } from "./grounding.ts";
import { makeVerifier } from "./testing.ts";

test("readBoxes: bracket styles and <bbox>, corners ordered", () => {
  assert.deepEqual(readBoxes("[[1,2,3,4],[5,6,7,8]]"), [
    [1, 2, 3, 4],
    [5, 6, 7, 8],
  ]);
  assert.deepEqual(readBoxes("(10, 20, 5, 40)"), [[5, 20, 10, 40]]);
  assert.deepEqual(readBoxes("<bbox>1 2 3 4</bbox>"), [[1, 2, 3, 4]]);
  assert.deepEqual(readBoxes("[1,2]"), []);
});

test("grounding: one box, thresholded or continuous", () => {
  const g: BoxTuple[] = [[100, 100, 300, 200]];
  const p: BoxTuple[] = [[110, 100, 300, 210]]; // IoU 0.8676
  assert.equal(groundingScore(p, g, 0.5, "threshold"), 1);
  assert.equal(groundingScore(p, g, 0.9, "threshold"), 0);
  assert.ok(Math.abs(groundingScore(p, g, 0.5, "continuous") - 0.8676) < 1e-4);
});

test("grounding: several boxes matched one-to-one, misses on either side count", () => {
  const g: BoxTuple[] = [
    [0, 0, 100, 100],
    [500, 500, 600, 600],
  ];
  assert.equal(groundingScore([g[1], g[0]], g, 0.5, "threshold"), 1, "order does not matter");
  assert.equal(
    groundingScore([g[0], g[0]], g, 0.5, "threshold"),
    0.5,
    "one predicted box cannot match twice",
  );
  assert.equal(groundingScore([g[0]], g, 0.5, "continuous"), 0.5);
  assert.equal(groundingScore([g[0], g[1], [800, 800, 900, 900]], g, 0.5, "threshold"), 2 / 3);
  assert.equal(groundingScore([], g, 0.5, "threshold"), 0);
  assert.equal(groundingScore([], [], 0.5, "threshold"), 1);
});

test("grounding verifier: boxes from the answer, a raw box-list ground truth (not gated)", async () => {
  const v = makeVerifier({ verifier_type: "grounding", grounding_scoring: "continuous" });
  assert.equal(v.gatesGroundTruth, false);
  const a = v.extractAnswer(
    "<think>r</think><answer><|begin_of_box|>[[100,100,300,210]]<|end_of_box|></answer>",
  );
  const g = v.extractGroundTruth("[[100,100,300,200]]");
  assert.deepEqual(a, [[100, 100, 300, 210]]);
  const verdict = await v.judge(a!, g!, { question: "" });
  assert.ok(Math.abs(verdict.reward - 0.9091) < 1e-3);
  assert.equal(
    v.extractAnswer("<think>r</think><answer>[[1,2,3,4]]</answer>"),
    null,
    "strict: a box is required",
  );
});
