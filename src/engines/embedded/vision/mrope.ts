import { videoTimestampText } from "../../../protocol/video.ts";
/**
 * Where the vision embeddings go in the LLM: GLM-V's 3-D rotary positions for an image (or one video frame pair)
 * and the expanded prompt layout of a video (GLM-V-architecture §1.5, GLM-V-spec §7, engine-notes §4.4).
 */

import type { PreparedVideo } from "../../../media/types.ts";
import type { FamilyId } from "../../../protocol/families.ts";

/** Positions of one image run for a llama.cpp embedding batch. */
export interface ImageRopePositions {
  /**
   * `4·n` positions, planar by section as llama_batch.pos wants them for M-RoPE: `[t…, y…, x…, e…]` with
   * t = p0, y = p0 + row, x = p0 + column, e = 0 (n = gridH·gridW, raster order over the merged grid).
   */
  positions: Int32Array;
  /** First position of whatever follows the image: `p0 + max(gridH, gridW)`. */
  next: number;
}

/** The M-RoPE positions of a merged `gridH × gridW` token grid starting at position `p0`. */
export function imageRopePositions(p0: number, gridH: number, gridW: number): ImageRopePositions {
  const n = gridH * gridW;
  const positions = new Int32Array(4 * n);
  for (let i = 0; i < n; i++) {
    positions[i] = p0;
    positions[n + i] = p0 + Math.floor(i / gridW);
    positions[2 * n + i] = p0 + (i % gridW);
  }
  return { positions, next: p0 + Math.max(gridH, gridW) };
}

/** One piece of an expanded video span: literal prompt text, or the embeddings of frame pair `index`. */
export type VideoSegment = { kind: "text"; text: string } | { kind: "pair"; index: number };

/**
 * The inside of `<|begin_of_video|>…<|end_of_video|>` after the processor's expansion: per pair,
 * `<|begin_of_image|>`, the pair's embeddings, `<|end_of_image|>`, then the timestamp of the pair's first frame.
 * Each pair is positioned exactly like an image (its own run with t offset 0), and the timestamp text advances the
 * positions as ordinary text does.
 */
export function videoLayout(video: PreparedVideo, family: FamilyId): VideoSegment[] {
  const out: VideoSegment[] = [];
  video.pairs.forEach((pair, index) => {
    out.push({ kind: "text", text: "<|begin_of_image|>" });
    out.push({ kind: "pair", index });
    out.push({ kind: "text", text: `<|end_of_image|>${videoTimestampText(family, pair.timestamp)}` });
  });
  return out;
}
