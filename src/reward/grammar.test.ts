import assert from "node:assert/strict";
import { test } from "node:test";
import { boxContents, boxedContents, boxTokenContents, parsePythonLiteral, visibleText } from "./grammar.ts";

test("\\boxed{} contents are brace-matched and take precedence over box tokens", () => {
  assert.deepEqual(boxedContents("so \\boxed{\\frac{1}{2}} and \\boxed{x}"), ["\\frac{1}{2}", "x"]);
  assert.deepEqual(boxedContents("\\boxed{a \\boxed{b}}"), ["a \\boxed{b}"]);
  assert.deepEqual(boxedContents("\\boxed{unclosed"), []);
  assert.deepEqual(boxContents("<|begin_of_box|>1<|end_of_box|> \\boxed{2}"), ["2"]);
});

test("box tokens are stack-matched; outermost pairs only; unmatched tokens ignored", () => {
  assert.deepEqual(boxTokenContents("<|begin_of_box|> 5 <|end_of_box|>"), ["5"]);
  assert.deepEqual(
    boxTokenContents("<|end_of_box|><|begin_of_box|>a<|begin_of_box|>b<|end_of_box|><|end_of_box|>"),
    ["a<|begin_of_box|>b<|end_of_box|>"],
  );
  assert.deepEqual(boxTokenContents("<|begin_of_box|>x<|end_of_box|> <|begin_of_box|>y"), ["x"]);
  assert.deepEqual(boxTokenContents("<|begin_of_box|>x<|end_of_box|><|begin_of_box|>y<|end_of_box|>"), [
    "x",
    "y",
  ]);
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
  assert.deepEqual(parsePythonLiteral("[[010,20,300,400]]"), [[10, 20, 300, 400]]);
  assert.throws(() => parsePythonLiteral("__import__('os')"), /not a Python literal/);
  assert.throws(() => parsePythonLiteral("{'a': 1} extra"), /trailing/);
});
