import assert from "node:assert/strict";
import { test } from "node:test";
import type { PreparedImage, PreparedVideo } from "../../../media/types.ts";
import { videoTimestampText } from "../../../protocol/video.ts";
import { imageRopePositions, videoLayout } from "./mrope.ts";

test("image positions: t constant, rows on y, columns on x, next = p0 + max(h, w)", () => {
  const { positions, next } = imageRopePositions(10, 2, 3);
  assert.deepEqual(
    [...positions],
    [
      ...[10, 10, 10, 10, 10, 10],
      ...[10, 10, 10, 11, 11, 11],
      ...[10, 11, 12, 10, 11, 12],
      ...[0, 0, 0, 0, 0, 0],
    ],
  );
  assert.equal(next, 13);
  assert.equal(imageRopePositions(0, 4, 2).next, 4);
});

test("video layout: one image-like slot per pair, followed by the family's timestamp", () => {
  const f: PreparedImage = {
    kind: "image",
    width: 28,
    height: 28,
    data: new Uint8Array(28 * 28 * 3),
    originalWidth: 28,
    originalHeight: 28,
  };
  const video: PreparedVideo = {
    kind: "video",
    pairs: [
      { frames: [f, f], timestamp: 0 },
      { frames: [f, f], timestamp: 1.5 },
    ],
    duration: 2,
    originalWidth: 28,
    originalHeight: 28,
  };
  assert.deepEqual(videoLayout(video, "glm-4.1v-thinking"), [
    { kind: "text", text: "<|begin_of_image|>" },
    { kind: "pair", index: 0 },
    { kind: "text", text: "<|end_of_image|>0" },
    { kind: "text", text: "<|begin_of_image|>" },
    { kind: "pair", index: 1 },
    { kind: "text", text: "<|end_of_image|>1" },
  ]);
  assert.equal(videoTimestampText("glm-4.6v-flash", 1.5), "1.5 seconds");
  assert.equal(videoTimestampText("glm-4.6v", 2), "2.0 seconds");
});

test("image positions agree with the engine's ropeIndex + planarPositions", async () => {
  const { ropeIndex, planarPositions } = await import("../positions.ts");
  const pos = ropeIndex([
    { kind: "text", length: 5 },
    { kind: "grid", gridH: 3, gridW: 4 },
    { kind: "text", length: 2 },
  ]);
  const planar = new Int32Array(4 * 12);
  planarPositions(pos, 5, 12, planar);
  const mine = imageRopePositions(5, 3, 4);
  assert.deepEqual(mine.positions, planar);
  assert.equal(pos.t[17], mine.next);
});
