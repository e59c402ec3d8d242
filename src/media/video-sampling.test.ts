import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  dedupeEven,
  linspaceInt,
  sampleFrameIndices,
  sampleGlm41v,
  sampleGlm46v,
  samplingRuleOf,
} from "./video-sampling.ts";

describe("GLM-4.1V sampling rule", () => {
  it("takes floor(duration·2) frames at ceil(i·fps/2) up to 300 s", () => {
    // 10 s at 30 fps: 20 frames, every 15th
    const idx = sampleGlm41v({ totalFrames: 300, fps: 30, duration: 10 });
    assert.equal(idx.length, 20);
    assert.deepEqual(idx.slice(0, 4), [0, 15, 30, 45]);
    assert.equal(idx[19], 285);
  });
  it("rounds up non-integer steps (25 fps → 0, 13, 25, 38, ...)", () => {
    const idx = sampleGlm41v({ totalFrames: 125, fps: 25, duration: 5 });
    assert.deepEqual(idx, [0, 13, 25, 38, 50, 63, 75, 88, 100, 113]);
  });
  it("clamps to the last frame, de-duplicates and keeps an even count", () => {
    // 3 s at 1 fps: 6 samples at ceil(i/2) → 0,1,1,2,2,3→clamped 2; unique 0,1,2 → odd → 0,1,2,2
    assert.deepEqual(sampleGlm41v({ totalFrames: 3, fps: 1, duration: 3 }), [0, 1, 2, 2]);
  });
  it("spreads 600 instants evenly over videos longer than 300 s", () => {
    const idx = sampleGlm41v({ totalFrames: 600 * 30, fps: 30, duration: 600 });
    assert.equal(idx.length, 600);
    assert.equal(idx[0], 0);
    assert.equal(idx[599], 600 * 30 - 1); // clamped last frame
    assert.equal(idx[1], Math.ceil((600 / 599) * 30));
  });
  it("takes every frame when a long video has fewer frames than samples", () => {
    const idx = sampleGlm41v({ totalFrames: 400, fps: 1, duration: 400 });
    assert.deepEqual(
      idx,
      Array.from({ length: 400 }, (_, i) => i),
    );
  });
  it("assumes 24 fps when the frame rate is unknown", () => {
    assert.deepEqual(sampleGlm41v({ totalFrames: 48, duration: 2 }), [0, 12, 24, 36]);
  });
  it("honours a per-call fps", () => {
    assert.equal(sampleGlm41v({ totalFrames: 300, fps: 30, duration: 10 }, { fps: 1 }).length, 10);
  });
});

describe("GLM-4.6V sampling rule", () => {
  it("samples 3 fps pairs (6 frames a second) up to 30 s", () => {
    const idx = sampleGlm46v({ totalFrames: 300, fps: 30, duration: 10 });
    assert.equal(idx.length, 60);
    assert.deepEqual(idx.slice(0, 3), [0, 5, 10]);
  });
  it("samples 1 fps (2 frames a second) up to 300 s", () => {
    const idx = sampleGlm46v({ totalFrames: 60 * 30, fps: 30, duration: 60 });
    assert.equal(idx.length, 120);
    assert.deepEqual(idx.slice(0, 3), [0, 15, 30]);
  });
  it("samples 0.5 fps beyond 300 s and caps at 640 frames", () => {
    assert.equal(sampleGlm46v({ totalFrames: 600 * 25, fps: 25, duration: 600 }).length, 600);
    const long = sampleGlm46v({ totalFrames: 3000 * 25, fps: 25, duration: 3000 });
    assert.equal(long.length, 640);
    assert.equal(long[0], 0);
    assert.equal(long[639], 3000 * 25 - 1);
  });
  it("spreads evenly when the video has fewer frames than wanted, then de-duplicates", () => {
    const idx = sampleGlm46v({ totalFrames: 10, fps: 5, duration: 2 });
    assert.deepEqual(idx, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
  it("chooses the rule by family", () => {
    assert.equal(samplingRuleOf("glm-4.1v-thinking"), "glm-4.1v");
    assert.equal(samplingRuleOf("glm-4.5v"), "glm-4.1v");
    assert.equal(samplingRuleOf("glm-4.6v"), "glm-4.6v");
    assert.equal(samplingRuleOf("glm-4.6v-flash"), "glm-4.6v");
    const t = { totalFrames: 300, fps: 30, duration: 10 };
    assert.equal(sampleFrameIndices("glm-4.1v-thinking", t).length, 20);
    assert.equal(sampleFrameIndices("glm-4.6v", t).length, 60);
  });
});

describe("helpers", () => {
  it("linspaceInt matches numpy's linspace(dtype=int)", () => {
    assert.deepEqual(linspaceInt(0, 9, 4), [0, 3, 6, 9]);
    assert.deepEqual(linspaceInt(0, 4, 10), [0, 0, 0, 1, 1, 2, 2, 3, 3, 4]);
    assert.deepEqual(linspaceInt(5, 5, 1), [5]);
  });
  it("dedupeEven keeps first occurrences and pads to even", () => {
    assert.deepEqual(dedupeEven([0, 0, 1, 2, 2]), [0, 1, 2, 2]);
    assert.deepEqual(dedupeEven([3, 1, 3, 1]), [3, 1]);
  });
  it("gives a short clip its first frame twice", () => {
    assert.deepEqual(
      sampleFrameIndices("glm-4.1v-thinking", { totalFrames: 5, fps: 25, duration: 0.2 }),
      [0, 0],
    );
    assert.deepEqual(sampleFrameIndices("glm-4.1v-thinking", { totalFrames: 0, fps: 25, duration: 0 }), []);
  });
});
