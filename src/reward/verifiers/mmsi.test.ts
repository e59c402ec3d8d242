import assert from "node:assert/strict";
import { test } from "node:test";
import { mmsiNumbersMatch, normaliseMmsi } from "./mmsi.ts";
import { gated, makeVerifier } from "./testing.ts";

const ctx = { question: "", imageFile: "a.png" };

test("mmsi normalisation: ° removed, a trailing % divides by 100", () => {
  assert.equal(normaliseMmsi("45°"), "45");
  assert.equal(normaliseMmsi("30^\\circ"), "30");
  assert.equal(normaliseMmsi("50%"), "0.5");
  assert.equal(normaliseMmsi("12.5\\%"), "0.125");
});

test("mmsi numbers: absolute test near zero, relative otherwise", () => {
  assert.equal(mmsiNumbersMatch(0.5, 0, 0.9), true);
  assert.equal(mmsiNumbersMatch(1, 0, 0.9), false);
  assert.equal(mmsiNumbersMatch(1e-6, 0, 1e-5), true);
  assert.equal(mmsiNumbersMatch(10.00001, 10, 1e-5), true);
  assert.equal(mmsiNumbersMatch(10.1, 10, 1e-5), false);
});

test("mmsi verifier: % against decimal, degrees, symbolic; takes the image argument (defect 2)", async () => {
  const v = makeVerifier({ verifier_type: "mmsi", sympy_tolerance: 1e-5 });
  assert.equal(v.extractAnswer(gated("50%")), "50%");
  assert.deepEqual(await v.judge("50%", "0.5", ctx), { reward: 1, decidedBy: "rule" });
  assert.deepEqual(await v.judge("90°", "90", ctx), { reward: 1, decidedBy: "rule" });
  assert.deepEqual(await v.judge("\\frac{1}{2}", "0.5", ctx), { reward: 1, decidedBy: "rule" });
  assert.deepEqual(await v.judge("\\sqrt{2}", "\\sqrt{3}", ctx), { reward: 0, decidedBy: "rule" });
  assert.equal((await v.judge("left", "right", ctx)).reward, 0);
});
