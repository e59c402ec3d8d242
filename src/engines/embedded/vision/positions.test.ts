import assert from "node:assert/strict";
import { test } from "node:test";
import { cubicWeights, resamplePositionTable, visionRopePositions } from "./positions.ts";
import { patchCoordinates } from "./preprocess.ts";

test("cubic weights sum to one and mirror (Keys kernel, A = -0.75)", () => {
  for (const t of [0, 0.1, 0.25, 0.5, 0.9]) {
    const w = cubicWeights(t);
    assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    const m = cubicWeights(1 - t);
    for (let k = 0; k < 4; k++) assert.ok(Math.abs(w[k] - m[3 - k]) < 1e-12);
  }
  assert.deepEqual(cubicWeights(0), [0, 1, 0, 0]);
  // PyTorch's value at t = 0.5: [-0.09375, 0.59375, 0.59375, -0.09375].
  assert.deepEqual(cubicWeights(0.5), [-0.09375, 0.59375, 0.59375, -0.09375]);
});

test("resampling the table to its own size is the identity (in merge-window order)", () => {
  const side = 4;
  const width = 3;
  const table = Float64Array.from({ length: side * side * width }, (_, i) => Math.sin(i));
  const out = resamplePositionTable(table, side, width, side, side);
  const { h, w } = patchCoordinates(side, side);
  for (let r = 0; r < side * side; r++) {
    for (let c = 0; c < width; c++) {
      assert.ok(Math.abs(out[r * width + c] - table[(h[r] * side + w[r]) * width + c]) < 1e-12);
    }
  }
});

test("a linear ramp is exact at half-cell offsets and clamped at the border", () => {
  const side = 8;
  // value = x-coordinate of the cell (one channel).
  const table = Float64Array.from({ length: side * side }, (_, i) => i % side);
  const gridW = 4; // downsample ×2: source x = (o+0.5)·2 − 0.5 = 2o + 0.5
  const out = resamplePositionTable(table, side, 1, 2, gridW);
  const { w } = patchCoordinates(2, gridW);
  for (let r = 0; r < out.length; r++) {
    const src = (w[r] + 0.5) * 2 - 0.5;
    if (src >= 1 && src <= side - 3) assert.ok(Math.abs(out[r] - src) < 1e-12, `col ${w[r]}`);
  }
  // Upsampling far past the edge: the first output column samples x = −0.375, taps clamped to 0.
  const up = resamplePositionTable(table, side, 1, 2, 32);
  const { w: wu } = patchCoordinates(2, 32);
  // Taps −2, −1, 0, 1 clamp to 0, 0, 0, 1: only the last tap sees a non-zero value.
  const first = up[[...wu].indexOf(0)];
  assert.ok(Math.abs(first - cubicWeights(0.625)[3]) < 1e-12);
});

test("vision rope positions are [h, w, h, w] blocks", () => {
  const p = visionRopePositions(2, 4);
  assert.equal(p.length, 32);
  assert.deepEqual([...p.slice(0, 8)], [0, 0, 1, 1, 0, 0, 1, 1]);
  assert.deepEqual([...p.slice(8, 16)], [0, 1, 0, 1, 2, 3, 2, 3]);
  assert.deepEqual([...p.slice(16, 24)], [...p.slice(0, 8)]);
});
