import assert from "node:assert/strict";
import { test } from "node:test";
import { pythonFixed1, videoTimestampText } from "./video.ts";

test("video timestamps: whole seconds for 4.1V/4.5V, one decimal and 'seconds' for the 4.6V family and OCR", () => {
  assert.equal(videoTimestampText("glm-4.1v-thinking", 2.9), "2");
  assert.equal(videoTimestampText("glm-4.5v", 2.9), "2");
  assert.equal(videoTimestampText("glm-4.6v", 2.96), "3.0 seconds");
  assert.equal(videoTimestampText("glm-4.6v-flash", 0.5), "0.5 seconds");
  assert.equal(videoTimestampText("glm-ocr", 2), "2.0 seconds");
});

test("pythonFixed1 rounds exact ties to even like Python's format", () => {
  assert.equal(pythonFixed1(0.25), "0.2");
  assert.equal(pythonFixed1(0.75), "0.8");
  assert.equal(pythonFixed1(2.25), "2.2");
  assert.equal(pythonFixed1(-0.25), "-0.2");
  assert.equal(pythonFixed1(0.35), "0.3");
  assert.equal(pythonFixed1(12), "12.0");
});
