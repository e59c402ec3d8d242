import assert from "node:assert/strict";
import { test } from "node:test";
import type { PreparedImage } from "../../../media/types.ts";
import { CLIP_MEAN, CLIP_STD } from "./config.ts";
import { PatchInputError, patchCoordinates, patchifyImage, patchifyPair } from "./preprocess.ts";

function image(
  width: number,
  height: number,
  pixel: (x: number, y: number, c: number) => number,
): PreparedImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = pixel(x, y, c);
  return { kind: "image", width, height, data, originalWidth: width, originalHeight: height };
}

test("patch rows follow the 2×2 merge-window order", () => {
  const { h, w } = patchCoordinates(4, 6);
  // First window (0,0): (0,0) (0,1) (1,0) (1,1); then window (0,1) starts at column 2.
  assert.deepEqual([...h.slice(0, 8)], [0, 0, 1, 1, 0, 0, 1, 1]);
  assert.deepEqual([...w.slice(0, 8)], [0, 1, 0, 1, 2, 3, 2, 3]);
  // Window row 1 begins after the 3 windows of window row 0.
  assert.equal(h[12], 2);
  assert.equal(w[12], 0);
});

test("values are rescaled, CLIP-normalised and laid out (c, t, y, x)", () => {
  // Each pixel encodes its own coordinates so every value can be traced back.
  const img = image(56, 28, (x, y, c) => (x + 2 * y + 50 * c) % 256);
  const p = patchifyImage(img);
  assert.equal(p.gridH, 2);
  assert.equal(p.gridW, 4);
  assert.equal(p.nPatches, 8);
  assert.equal(p.data.length, 8 * 1176);
  // Patch row 5 is window 1, in-window (0,1) → patch (h=0, w=3).
  const r = 5;
  for (const [c, t, y, x] of [
    [0, 0, 0, 0],
    [1, 1, 3, 7],
    [2, 0, 13, 13],
  ]) {
    const byte = (3 * 14 + x + 2 * y + 50 * c) % 256;
    const expected = (byte / 255 - CLIP_MEAN[c]) / CLIP_STD[c];
    const got = p.data[r * 1176 + c * 392 + t * 196 + y * 14 + x];
    assert.ok(Math.abs(got - expected) < 1e-6, `c${c} t${t} y${y} x${x}: ${got} vs ${expected}`);
  }
});

test("a still image equals a pair of identical frames; different frames fill the two time slots", () => {
  const a = image(28, 28, (x, y, c) => (x * 7 + y + c) % 256);
  const b = image(28, 28, (x, _y, c) => (255 - x * 3 - c) % 256);
  assert.deepEqual(patchifyImage(a).data, patchifyPair([a, a]).data);
  const ab = patchifyPair([a, b]);
  const bb = patchifyImage(b);
  const aa = patchifyImage(a);
  for (let c = 0; c < 3; c++) {
    for (let k = 0; k < 196; k++) {
      assert.equal(ab.data[c * 392 + k], aa.data[c * 392 + k]);
      assert.equal(ab.data[c * 392 + 196 + k], bb.data[c * 392 + 196 + k]);
    }
  }
});

test("bad sizes are clear errors", () => {
  assert.throws(() => patchifyImage(image(30, 28, () => 0)), PatchInputError);
  const a = image(28, 28, () => 0);
  const b = image(56, 28, () => 0);
  assert.throws(() => patchifyPair([a, b]), /differ in size/);
  assert.throws(() => patchifyImage({ ...a, data: new Uint8Array(5) }), /bytes/);
});
