import assert from "node:assert/strict";
import { test } from "node:test";
import { boxContents, firstBoxSpan, parsePythonLiteral, visibleText } from "./grammar.ts";

test("box contents: \\boxed{} first (brace-matched), else stack-matched box tokens", () => {
  assert.deepEqual(boxContents("so \\boxed{\\frac{1}{2}} and \\boxed{x}"), ["\\frac{1}{2}", "x"]);
  assert.deepEqual(boxContents("<|begin_of_box|>1<|end_of_box|> \\boxed{2}"), ["2"]);
  assert.deepEqual(boxContents("<|begin_of_box|> 5 <|end_of_box|>"), ["5"]);
  assert.deepEqual(
    boxContents("<|end_of_box|><|begin_of_box|>a<|begin_of_box|>b<|end_of_box|><|end_of_box|>"),
    ["a<|begin_of_box|>b<|end_of_box|>"],
  );
  assert.equal(firstBoxSpan("x <|begin_of_box|> a <|end_of_box|><|begin_of_box|>b<|end_of_box|>"), "a");
  assert.equal(firstBoxSpan("none"), null);
});

test("visibleText drops the reasoning of a judge reply", () => {
  assert.equal(visibleText("<think>hmm 1.0</think>0.0"), "0.0");
  assert.equal(visibleText("<think>still thinking"), "");
  assert.equal(visibleText("1.0"), "1.0");
});

test("Python literals parse safely, including True/False/None and tuples", () => {
  assert.deepEqual(parsePythonLiteral("{'a': True, 'b': None, \"c\": [1, (2, 3)], 'd': -1.5e2}"), {
    a: true,
    b: null,
    c: [1, [2, 3]],
    d: -150,
  });
  assert.throws(() => parsePythonLiteral("__import__('os')"), /not a Python literal/);
  assert.throws(() => parsePythonLiteral("{'a': 1} extra"), /not a Python literal/);
});
