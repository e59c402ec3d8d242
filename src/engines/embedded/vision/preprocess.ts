/**
 * Prepared pixels → the vision tower's patch tensor, exactly as the HF Glm4v image processor lays it out
 * (GLM-V-architecture §1.2): rescale 1/255, CLIP normalise, two frames per temporal patch, 14×14 patches,
 * rows in 2×2 merge-window order, columns in (channel, frame, y, x) order.
 */

import type { PreparedImage } from "../../../media/types.ts";
import { CLIP_MEAN, CLIP_STD, GRID_FACTOR, MERGE_SIZE, PATCH_SIZE, PATCH_VALUES } from "./config.ts";

/** The patch tensor of one temporal pair, row-major `[nPatches, 1176]`. */
export interface PatchTensor {
  /** `nPatches × 1176` values; row r is patch r in merge-window order. */
  data: Float32Array;
  nPatches: number;
  /** Patch rows (height / 14). */
  gridH: number;
  /** Patch columns (width / 14). */
  gridW: number;
}

/** Pixels that cannot be turned into patches; the message says what to fix. */
export class PatchInputError extends Error {
  override name = "PatchInputError";
}

/** Normalisation constants (CLIP by default, or the mmproj's image_mean/image_std). */
export interface Normalization {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

function checkImage(image: PreparedImage, what: string): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new PatchInputError(`${what} has an invalid size ${width}×${height}`);
  }
  if (width % GRID_FACTOR !== 0 || height % GRID_FACTOR !== 0) {
    throw new PatchInputError(
      `${what} is ${width}×${height}; both sides must be multiples of ${GRID_FACTOR} — resize it with the GLM-V smart_resize rule (src/media) first`,
    );
  }
  if (data.length !== width * height * 3) {
    throw new PatchInputError(
      `${what} carries ${data.length} bytes, expected ${width * height * 3} (RGB, ${width}×${height})`,
    );
  }
}

/**
 * The position of patch row r of a merge-window-ordered grid: rows enumerate
 * (window row, window column, row in window, column in window).
 */
export function patchCoordinates(gridH: number, gridW: number): { h: Int32Array; w: Int32Array } {
  const n = gridH * gridW;
  const h = new Int32Array(n);
  const w = new Int32Array(n);
  let r = 0;
  for (let bh = 0; bh < gridH / MERGE_SIZE; bh++) {
    for (let bw = 0; bw < gridW / MERGE_SIZE; bw++) {
      for (let mh = 0; mh < MERGE_SIZE; mh++) {
        for (let mw = 0; mw < MERGE_SIZE; mw++) {
          h[r] = bh * MERGE_SIZE + mh;
          w[r] = bw * MERGE_SIZE + mw;
          r++;
        }
      }
    }
  }
  return { h, w };
}

/**
 * Builds the patch tensor of a temporal pair of frames (same size, multiples of 28). Column index of a value is
 * `c·392 + t·196 + y·14 + x`, matching the Conv3d kernel `[d, 3, 2, 14, 14]` flattened.
 */
export function patchifyPair(
  frames: readonly [PreparedImage, PreparedImage],
  norm: Normalization = { mean: CLIP_MEAN, std: CLIP_STD },
): PatchTensor {
  const [f0, f1] = frames;
  checkImage(f0, "frame 1");
  checkImage(f1, "frame 2");
  if (f0.width !== f1.width || f0.height !== f1.height) {
    throw new PatchInputError(
      `the two frames of a temporal pair differ in size (${f0.width}×${f0.height} vs ${f1.width}×${f1.height}); size all frames of a video alike`,
    );
  }
  const width = f0.width;
  const gridH = f0.height / PATCH_SIZE;
  const gridW = width / PATCH_SIZE;
  const nPatches = gridH * gridW;
  const out = new Float32Array(nPatches * PATCH_VALUES);
  // Per-channel affine map of a byte: (b/255 - mean)/std, as a 256-entry table per channel.
  const lut = [0, 1, 2].map((c) => {
    const t = new Float32Array(256);
    for (let b = 0; b < 256; b++) t[b] = (Math.fround(b * Math.fround(1 / 255)) - norm.mean[c]) / norm.std[c];
    return t;
  });
  const { h, w } = patchCoordinates(gridH, gridW);
  const ps = PATCH_SIZE;
  for (let r = 0; r < nPatches; r++) {
    const y0 = h[r] * ps;
    const x0 = w[r] * ps;
    const rowBase = r * PATCH_VALUES;
    for (let t = 0; t < 2; t++) {
      const px = t === 0 ? f0.data : f1.data;
      for (let c = 0; c < 3; c++) {
        const table = lut[c];
        const colBase = rowBase + c * 2 * ps * ps + t * ps * ps;
        for (let y = 0; y < ps; y++) {
          const src = ((y0 + y) * width + x0) * 3 + c;
          const dst = colBase + y * ps;
          for (let x = 0; x < ps; x++) out[dst + x] = table[px[src + x * 3]];
        }
      }
    }
  }
  return { data: out, nPatches, gridH, gridW };
}

/** Builds the patch tensor of a still image: the frame is duplicated along time, as HF does. */
export function patchifyImage(image: PreparedImage, norm?: Normalization): PatchTensor {
  return patchifyPair([image, image], norm);
}
