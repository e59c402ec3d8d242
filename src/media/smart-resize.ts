/**
 * GLM-V image sizing: an exact port of the processor's `smart_resize` (spec §6.2) and token counting.
 * Pure arithmetic, no I/O.
 */
import type { FamilyId } from "../protocol/families.ts";
import { MediaError } from "./errors.ts";

/** Patch 14 × spatial merge 2: every resized side is a multiple of this. */
export const FACTOR = 28;
/** Frames per temporal patch: a still image counts as two identical frames. */
export const TEMPORAL_FACTOR = 2;
/** Largest allowed ratio between the longer and the shorter side. */
export const MAX_ASPECT_RATIO = 200;

/** A pixel budget: `t̄·h̄·w̄` is kept within [minPixels, maxPixels] (two frames for a still image). */
export interface PixelBudget {
  minPixels: number;
  maxPixels: number;
}

/**
 * Image budgets by family (spec §6.1). GLM-OCR's is confirmed; the others follow the value tooling writes for
 * `glm4v` checkpoints. A checkpoint's `preprocessor_config.json` overrides these (pass a PixelBudget).
 */
export const IMAGE_BUDGETS: Readonly<Record<FamilyId, PixelBudget>> = {
  "glm-4.1v-thinking": { minPixels: 12_544, maxPixels: 9_633_792 },
  "glm-4.5v": { minPixels: 12_544, maxPixels: 9_633_792 },
  "glm-4.6v": { minPixels: 12_544, maxPixels: 9_633_792 },
  "glm-4.6v-flash": { minPixels: 12_544, maxPixels: 9_633_792 },
  "glm-ocr": { minPixels: 12_544, maxPixels: 9_633_792 },
};

/** Video budgets by family: `max_pixels` is summed over all sampled frames (spec §6.1, §7). */
export const VIDEO_BUDGETS: Readonly<Record<FamilyId, PixelBudget>> = {
  "glm-4.1v-thinking": { minPixels: 12_544, maxPixels: 47_040_000 },
  "glm-4.5v": { minPixels: 12_544, maxPixels: 47_040_000 },
  "glm-4.6v": { minPixels: 12_544, maxPixels: 47_040_000 },
  "glm-4.6v-flash": { minPixels: 12_544, maxPixels: 47_040_000 },
  "glm-ocr": { minPixels: 12_544, maxPixels: 47_040_000 },
};

/** The HF `Glm4vImageProcessor` class default, for checkpoints that do not say (spec §6.1). */
export const CLASS_DEFAULT_IMAGE_BUDGET: PixelBudget = { minPixels: 12_544, maxPixels: 11_760_000 };

/**
 * Python's built-in `round` for one argument: nearest integer, halves to even (2.5 → 2, 6.5 → 6).
 * `Math.round` rounds halves up, which changes GLM-V's grid for sides that are exactly x.5 × 28.
 */
export function pythonRound(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor; // exact for |x| < 2^52
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** A resized size: both sides are multiples of 28. */
export interface GridSize {
  width: number;
  height: number;
}

/** Options of {@link smartResize}. */
export interface SmartResizeOptions extends PixelBudget {
  /** Frames that share the budget: 2 for a still image, T for a video of T sampled frames. */
  numFrames?: number;
}

/**
 * GLM-V's `smart_resize(num_frames, height, width, min_pixels, max_pixels)`, step by step as spec §6.2 gives it,
 * with the same floating-point operations in the same order. Throws MediaError for fewer than 2 frames, a
 * non-positive size, or an aspect ratio over 200.
 */
export function smartResize(
  height: number,
  width: number,
  options: SmartResizeOptions,
  input = "image",
): GridSize {
  const numFrames = options.numFrames ?? TEMPORAL_FACTOR;
  const { minPixels, maxPixels } = options;
  if (!Number.isInteger(numFrames) || numFrames < TEMPORAL_FACTOR) {
    throw new MediaError(
      "invalid-argument",
      input,
      `${numFrames} frames is fewer than GLM-V's temporal patch of ${TEMPORAL_FACTOR}`,
      "Pass numFrames >= 2 (a still image counts as 2).",
    );
  }
  if (!(height >= 1 && width >= 1) || !Number.isInteger(height) || !Number.isInteger(width)) {
    throw new MediaError(
      "corrupt",
      input,
      `image size ${width}×${height} is not a positive whole number of pixels`,
      "Check that the file is a valid image.",
    );
  }
  let h = height;
  let w = width;
  if (h < FACTOR || w < FACTOR) {
    const scale = Math.max(FACTOR / h, FACTOR / w);
    h = Math.trunc(h * scale);
    w = Math.trunc(w * scale);
  }
  if (Math.max(h, w) / Math.min(h, w) > MAX_ASPECT_RATIO) {
    throw new MediaError(
      "aspect-ratio",
      input,
      `aspect ratio ${width}×${height} exceeds GLM-V's limit of ${MAX_ASPECT_RATIO}:1`,
      "Crop or pad the image so that its longer side is at most 200 times its shorter side.",
    );
  }
  let hBar = pythonRound(h / FACTOR) * FACTOR;
  let wBar = pythonRound(w / FACTOR) * FACTOR;
  const tBar = pythonRound(numFrames / TEMPORAL_FACTOR) * TEMPORAL_FACTOR;
  if (tBar * hBar * wBar > maxPixels) {
    const beta = Math.sqrt((numFrames * h * w) / maxPixels);
    hBar = Math.max(FACTOR, Math.floor(h / beta / FACTOR) * FACTOR);
    wBar = Math.max(FACTOR, Math.floor(w / beta / FACTOR) * FACTOR);
  } else if (tBar * hBar * wBar < minPixels) {
    const beta = Math.sqrt(minPixels / (h * w * numFrames));
    hBar = Math.ceil((h * beta) / FACTOR) * FACTOR;
    wBar = Math.ceil((w * beta) / FACTOR) * FACTOR;
  }
  return { width: wBar, height: hBar };
}

/** Visual tokens of one resized image or one video frame pair: `h̄·w̄/784` (wrapper tokens not counted). */
export function gridTokens(size: GridSize): number {
  return (size.width * size.height) / (FACTOR * FACTOR);
}

/** Resolves a family id or an explicit budget to a PixelBudget for images. */
export function imageBudget(familyOrBudget: FamilyId | PixelBudget): PixelBudget {
  if (typeof familyOrBudget === "string") {
    const budget = IMAGE_BUDGETS[familyOrBudget];
    if (!budget) {
      throw new MediaError(
        "invalid-argument",
        familyOrBudget,
        "unknown model family",
        `Use one of ${Object.keys(IMAGE_BUDGETS).join(", ")}.`,
      );
    }
    return budget;
  }
  return familyOrBudget;
}

/**
 * Visual tokens an image of `width × height` (oriented) costs for a family, before any encoding:
 * lets callers budget context. Throws MediaError where smart_resize would (aspect ratio over 200).
 */
export function imageTokens(width: number, height: number, family: FamilyId | PixelBudget): number {
  return gridTokens(smartResize(height, width, imageBudget(family)));
}

/** The grid an image of `width × height` is resized to for a family (or explicit budget). */
export function imageGrid(width: number, height: number, family: FamilyId | PixelBudget): GridSize {
  return smartResize(height, width, imageBudget(family));
}
