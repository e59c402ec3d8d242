import assert from "node:assert/strict";
import { test } from "node:test";
import { planarPositions, ropeIndex } from "./positions.ts";

test("text positions are plain and equal on every axis", () => {
  const p = ropeIndex([{ kind: "text", length: 4 }]);
  assert.deepEqual([...p.t], [0, 1, 2, 3]);
  assert.deepEqual([...p.h], [0, 1, 2, 3]);
  assert.deepEqual([...p.w], [0, 1, 2, 3]);
  assert.equal(p.next, 4);
});

test("an image span takes (st, st+row, st+col) and advances by max(gridH, gridW)", () => {
  // [gMASK]<sop><|user|>\n<|begin_of_image|> = 5 tokens, then a 2×3 image, then <|end_of_image|>Hi = 2 tokens.
  const p = ropeIndex([
    { kind: "text", length: 5 },
    { kind: "grid", gridH: 2, gridW: 3 },
    { kind: "text", length: 2 },
  ]);
  assert.deepEqual([...p.t], [0, 1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 8, 9]);
  assert.deepEqual([...p.h], [0, 1, 2, 3, 4, 5, 5, 5, 6, 6, 6, 8, 9]);
  assert.deepEqual([...p.w], [0, 1, 2, 3, 4, 5, 6, 7, 5, 6, 7, 8, 9]);
  assert.equal(p.next, 10);
});

test("video frame pairs are consecutive grids with their timestamp text between", () => {
  // <|begin_of_video|><|begin_of_image|> [2×2] <|end_of_image|>0<|begin_of_image|> [2×2] <|end_of_image|>1<|end_of_video|>
  const p = ropeIndex([
    { kind: "text", length: 2 },
    { kind: "grid", gridH: 2, gridW: 2 },
    { kind: "text", length: 3 },
    { kind: "grid", gridH: 2, gridW: 2 },
    { kind: "text", length: 3 },
  ]);
  assert.deepEqual([...p.t.subarray(2, 6)], [2, 2, 2, 2]);
  assert.deepEqual([...p.t.subarray(6, 9)], [4, 5, 6]);
  assert.deepEqual([...p.h.subarray(9, 13)], [7, 7, 8, 8]);
  assert.deepEqual([...p.w.subarray(9, 13)], [7, 8, 7, 8]);
  assert.equal(p.next, 12);
});

test("planar layout puts t, h, w, 0 in four consecutive sections", () => {
  const p = ropeIndex([{ kind: "grid", gridH: 1, gridW: 2 }], 7);
  const out = new Int32Array(8);
  planarPositions(p, 0, 2, out);
  assert.deepEqual([...out], [7, 7, 7, 7, 7, 8, 0, 0]);
  assert.throws(() => ropeIndex([{ kind: "grid", gridH: 0, gridW: 2 }]), RangeError);
});
