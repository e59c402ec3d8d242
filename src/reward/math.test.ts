import assert from "node:assert/strict";
import { test } from "node:test";
import { mathEquivalence, parseRealNumber, relativelyClose } from "./math.ts";

const opts = { tolerance: 1e-6, timeLimitMs: 5000 };
const eq = (a: string, b: string) => mathEquivalence(a, b, opts).verdict;

test("parseRealNumber reads the common answer shapes", () => {
  assert.equal(parseRealNumber("42"), 42);
  assert.equal(parseRealNumber("-3.5"), -3.5);
  assert.equal(parseRealNumber("3/2"), 1.5);
  assert.equal(parseRealNumber("-3/4"), -0.75);
  assert.equal(parseRealNumber("\\frac{3}{4}"), 0.75);
  assert.equal(parseRealNumber("\\dfrac{1}{2}"), 0.5);
  assert.equal(parseRealNumber("-\\frac{1}{2}"), -0.5);
  assert.equal(parseRealNumber("1.5e3"), 1500);
  assert.equal(parseRealNumber("1.5\\times10^{-3}"), 0.0015);
  assert.equal(parseRealNumber("12,000"), 12000);
  assert.equal(parseRealNumber("$0.5$"), 0.5);
  assert.equal(parseRealNumber("1/0"), null);
  assert.equal(parseRealNumber("x"), null);
  assert.equal(parseRealNumber("1,2"), null, "a pair is not a thousands separator");
});

test("relativelyClose is upstream's |a−b|/(|b|+1e-6) < tol", () => {
  assert.equal(relativelyClose(1.5, 1.5, 1e-6), true);
  assert.equal(relativelyClose(100.001, 100, 1e-5), true);
  assert.equal(relativelyClose(100.01, 100, 1e-5), false);
  assert.equal(relativelyClose(1e-7, 0, 1e-6), false);
});

test("computer algebra: fractions, radicals, constants, scientific notation", () => {
  assert.equal(eq("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}"), "equal");
  assert.equal(eq("2\\sqrt{3}", "\\sqrt{12}"), "equal");
  assert.equal(eq("sqrt(2)/2", "0.7071067811865"), "equal");
  assert.equal(eq("\\pi/2", "\\frac{\\pi}{2}"), "equal");
  assert.equal(eq("1.5\\times10^{3}", "1500"), "equal");
  assert.equal(eq("\\sqrt{2}", "\\sqrt{3}"), "different");
});

test("computer algebra: intervals, sets, tuples, unions", () => {
  assert.equal(eq("[1,2)", "[1, 2)"), "equal");
  assert.equal(eq("[1,2)", "[1,2]"), "different");
  assert.equal(eq("[0,1]", "\\left[0, 1\\right]"), "equal");
  assert.equal(eq("\\{1,2\\}", "\\{2,1\\}"), "equal");
  assert.equal(eq("\\{1,2\\}", "\\{1,3\\}"), "different");
  assert.equal(eq("(-\\infty,2)\\cup(3,\\infty)", "(3,\\infty)\\cup(-\\infty,2)"), "equal");
});

test("computer algebra: expressions in variables and equations", () => {
  assert.equal(eq("(x+1)^2", "x^2+2x+1"), "equal");
  assert.equal(eq("(x+1)^2", "x^2+1"), "different");
  assert.equal(eq("x=3", "3"), "equal");
  assert.equal(eq("y=2x+1", "2y=4x+2"), "equal");
});

test("prose is never compared symbolically ('no' is not 'on')", () => {
  const r = mathEquivalence("no", "on", opts);
  assert.equal(r.verdict, "unknown");
  assert.equal(mathEquivalence("\\text{red}", "\\text{der}", opts).verdict, "unknown");
});

test("a check past its time limit answers unknown", () => {
  const r = mathEquivalence("(x+1)^2", "x^2+2x+1", { tolerance: 1e-6, timeLimitMs: -1 });
  assert.equal(r.verdict, "unknown");
  assert.equal(r.detail, "time limit");
});
