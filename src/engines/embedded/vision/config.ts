/**
 * Vision-encoder hyper-parameters and constants shared by the preprocessing, the float64 reference and the
 * ggml graph. Values come from the mmproj GGUF keys (engine-notes §2.2); the constants are GLM-V's fixed
 * preprocessing rules (GLM-V-spec §6.1).
 */

/** Pixels per patch side. */
export const PATCH_SIZE = 14;
/** Patches per merge-window side (2×2 patches become one LLM token). */
export const MERGE_SIZE = 2;
/** Frames per temporal patch; a still image is two identical frames. */
export const TEMPORAL_PATCH = 2;
/** Side multiple every prepared image has: patch × merge. */
export const GRID_FACTOR = PATCH_SIZE * MERGE_SIZE;
/** Values per patch row of the patch tensor: 3 channels × 2 frames × 14 × 14. */
export const PATCH_VALUES = 3 * TEMPORAL_PATCH * PATCH_SIZE * PATCH_SIZE;
/** CLIP normalisation mean (RGB). */
export const CLIP_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
/** CLIP normalisation std (RGB). */
export const CLIP_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];
/** Base of the vision tower's 2-D rotary frequencies. */
export const VISION_ROPE_THETA = 10000;

/** Which vision tower an mmproj holds. */
export type VisionVariant = "glm4v" | "glm-ocr";

/** Hyper-parameters of one GLM-V vision tower, as read from an mmproj GGUF. */
export interface VisionConfig {
  variant: VisionVariant;
  /** Vision width d (`clip.vision.embedding_length`). */
  hiddenSize: number;
  /** Number of ViT blocks. */
  blockCount: number;
  /** Attention heads; head_dim = hiddenSize / headCount. */
  headCount: number;
  /** ViT MLP width (`clip.vision.feed_forward_length`). */
  feedForwardLength: number;
  /** Output width = the text model's embedding_length (`clip.vision.projection_dim`). */
  projectionDim: number;
  /** Native image size of the learned position table (336 → 24×24). */
  imageSize: number;
  patchSize: number;
  spatialMergeSize: number;
  /** RMSNorm epsilon of the tower. */
  eps: number;
  imageMean: readonly [number, number, number];
  imageStd: readonly [number, number, number];
}

/** Head dimension of a config. */
export function headDim(config: VisionConfig): number {
  return config.hiddenSize / config.headCount;
}

/** A vision config or input that cannot be used; the message says what to fix. */
export class VisionConfigError extends Error {
  override name = "VisionConfigError";
}

/** Throws VisionConfigError when the config breaks an invariant the encoder relies on. */
export function assertVisionConfig(config: VisionConfig): void {
  const hd = config.hiddenSize / config.headCount;
  if (!Number.isInteger(hd) || hd % 4 !== 0) {
    throw new VisionConfigError(
      `vision width ${config.hiddenSize} / ${config.headCount} heads must give an integer head size divisible by 4 (2-D rotary); check the mmproj file`,
    );
  }
  if (config.patchSize !== PATCH_SIZE || config.spatialMergeSize !== MERGE_SIZE) {
    throw new VisionConfigError(
      `only patch size ${PATCH_SIZE} with merge ${MERGE_SIZE} is supported (got ${config.patchSize}/${config.spatialMergeSize}); is this a GLM-V mmproj?`,
    );
  }
}
