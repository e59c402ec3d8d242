import assert from "node:assert/strict";
import { test } from "node:test";
import type { PreparedImage } from "../../../media/types.ts";
import { patchifyImage, patchifyPair } from "./preprocess.ts";
import { erf, referenceEncode } from "./reference.ts";
import { randomVisionWeights, tinyVisionConfig } from "./weights.ts";

function noise(width: number, height: number, seed: number): PreparedImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) data[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return { kind: "image", width, height, data, originalWidth: width, originalHeight: height };
}

test("erf matches known values to 1e-14", () => {
  for (const [x, v] of [
    [0, 0],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [-2, -0.9953222650189527],
    [2.9, 0.9999589021219005],
    [3.5, 0.9999992569016276],
    [5, 0.9999999999984626],
  ]) {
    assert.ok(Math.abs(erf(x) - v) < 1e-14, `erf(${x}) = ${erf(x)}`);
  }
});

test("the reference tower maps a 56×84 image to 6 tokens of the projection width", () => {
  const config = tinyVisionConfig(64);
  const weights = randomVisionWeights(config, { seed: 1, mergerWidth: 128 });
  const out = referenceEncode(config, weights, patchifyImage(noise(84, 56, 3)));
  assert.equal(out.length, 6 * 64);
  assert.ok(out.every(Number.isFinite));
  // Deterministic, and sensitive to the second frame of a pair.
  assert.deepEqual(referenceEncode(config, weights, patchifyImage(noise(84, 56, 3))), out);
  const pair = referenceEncode(config, weights, patchifyPair([noise(84, 56, 3), noise(84, 56, 4)]));
  assert.ok(pair.some((v, i) => Math.abs(v - out[i]) > 1e-3));
});

test("the GLM-OCR variant (q/k norms, biases, no position table) runs", () => {
  const config = tinyVisionConfig(48, "glm-ocr");
  const weights = randomVisionWeights(config, { seed: 2, mergerWidth: 96 });
  assert.ok(!weights.has("v.position_embd.weight"));
  assert.ok(weights.has("v.blk.0.attn_q_norm.weight"));
  const out = referenceEncode(config, weights, patchifyImage(noise(56, 56, 1)));
  assert.equal(out.length, 4 * 48);
  assert.ok(out.every(Number.isFinite));
});
