/**
 * Position helpers of the vision tower (GLM-V-architecture §1.3): the learned position table resampled
 * bicubically to a patch grid (PyTorch grid_sample, align_corners=False, border padding, A = −0.75), and the
 * rotary position ids ggml's vision rope takes.
 */

import { patchCoordinates } from "./preprocess.ts";

/** PyTorch's cubic-convolution coefficient. */
const CUBIC_A = -0.75;

/** The four bicubic weights for a fractional offset t ∈ [0, 1) (taps at −1, 0, +1, +2). */
export function cubicWeights(t: number): [number, number, number, number] {
  const A = CUBIC_A;
  const near = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1; // |x| ≤ 1
  const far = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; // 1 < |x| < 2
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}

/** Taps (clamped indices) and weights along one axis, for output index o of `outSize` over `inSize` cells. */
function axisTaps(o: number, outSize: number, inSize: number): { idx: number[]; wt: number[] } {
  const src = ((o + 0.5) * inSize) / outSize - 0.5;
  const base = Math.floor(src);
  const wt = cubicWeights(src - base);
  const idx = [base - 1, base, base + 1, base + 2].map((i) => Math.min(inSize - 1, Math.max(0, i)));
  return { idx, wt };
}

/**
 * Resamples a learned position table (`side × side` rows of `width` values, row index = y·side + x) to a
 * `gridH × gridW` patch grid, returning one row per patch **in merge-window order** (float64).
 */
export function resamplePositionTable(
  table: ArrayLike<number>,
  side: number,
  width: number,
  gridH: number,
  gridW: number,
): Float64Array {
  if (table.length !== side * side * width) {
    throw new RangeError(`position table has ${table.length} values, expected ${side}×${side}×${width}`);
  }
  const { h, w } = patchCoordinates(gridH, gridW);
  const n = gridH * gridW;
  const out = new Float64Array(n * width);
  const rowsY = Array.from({ length: gridH }, (_, y) => axisTaps(y, gridH, side));
  const colsX = Array.from({ length: gridW }, (_, x) => axisTaps(x, gridW, side));
  for (let r = 0; r < n; r++) {
    const ty = rowsY[h[r]];
    const tx = colsX[w[r]];
    const dst = r * width;
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        const wgt = ty.wt[i] * tx.wt[j];
        if (wgt === 0) continue;
        const src = (ty.idx[i] * side + tx.idx[j]) * width;
        for (let c = 0; c < width; c++) out[dst + c] += wgt * table[src + c];
      }
    }
  }
  return out;
}

/**
 * Rotary positions for ggml_rope_multi in vision mode with sections [hd/4]×4, as llama.cpp's GLM-4V graph
 * uses them: `[h…, w…, h…, w…]`, each block nPatches long, patches in merge-window order.
 */
export function visionRopePositions(gridH: number, gridW: number): Int32Array {
  const { h, w } = patchCoordinates(gridH, gridW);
  const n = h.length;
  const out = new Int32Array(4 * n);
  out.set(h, 0);
  out.set(w, n);
  out.set(h, 2 * n);
  out.set(w, 3 * n);
  return out;
}
