/**
 * Tiny GLM-V mmproj GGUFs with seeded random weights, for tests and the `glmv dev tiny-model` fixtures.
 * Keys and tensor names are exactly those llama.cpp's clip loader reads for `glm4v` (engine-notes §2.2), so the
 * same file runs through our ggml graph and through llama.cpp's own vision path (the oracle).
 */

import {
  type GgufTensorSpec,
  type GgufValue,
  type GgufWriteSpec,
  gv,
  writeGguf,
} from "../../../gguf/index.ts";
import { CLIP_MEAN, CLIP_STD, type VisionConfig, type VisionVariant } from "./config.ts";
import { randomVisionWeights, type VisionWeights } from "./weights.ts";

/** Options of a tiny mmproj. Only `textEmbeddingLength` and `seed` are required. */
export interface TinyMmprojOptions {
  /** The tiny text model's `embedding_length`; the mmproj's output width. */
  textEmbeddingLength: number;
  seed: number;
  /** "glm4v" (default; what llama.cpp runs) or "glm-ocr" (q/k norms and biases, no position table; ours only). */
  variant?: VisionVariant;
  /** Vision width (default 32). */
  hiddenSize?: number;
  /** ViT blocks (default 2). */
  blockCount?: number;
  /** Heads (default 2); hiddenSize / headCount must be a multiple of 4. */
  headCount?: number;
  /** ViT MLP width (default 2 × hiddenSize). */
  feedForwardLength?: number;
  /** Merger SwiGLU width (default 2 × textEmbeddingLength). */
  mergerWidth?: number;
  /** Native size of the position table in pixels (default 336 → 24×24). */
  imageSize?: number;
  /** Storage type of the matrices (default F32; norms, biases and the position table stay F32). */
  matrixType?: "F32" | "F16";
}

/** The tower config a set of tiny options describes. */
export function tinyMmprojConfig(options: TinyMmprojOptions): VisionConfig {
  const hiddenSize = options.hiddenSize ?? 32;
  return {
    variant: options.variant ?? "glm4v",
    hiddenSize,
    blockCount: options.blockCount ?? 2,
    headCount: options.headCount ?? 2,
    feedForwardLength: options.feedForwardLength ?? 2 * hiddenSize,
    projectionDim: options.textEmbeddingLength,
    imageSize: options.imageSize ?? 336,
    patchSize: 14,
    spatialMergeSize: 2,
    eps: 1e-5,
    imageMean: CLIP_MEAN,
    imageStd: CLIP_STD,
  };
}

/** The GGUF metadata of a GLM-V mmproj with this config (key types exactly as clip.cpp reads them). */
export function mmprojMetadata(config: VisionConfig, name = "tiny-glm4v-mmproj"): Record<string, GgufValue> {
  return {
    "general.architecture": gv.str("clip"),
    "general.name": gv.str(name),
    "general.file_type": gv.u32(0),
    "clip.has_vision_encoder": gv.bool(true),
    "clip.projector_type": gv.str("glm4v"),
    "clip.use_silu": gv.bool(true),
    "clip.vision.embedding_length": gv.u32(config.hiddenSize),
    "clip.vision.feed_forward_length": gv.u32(config.feedForwardLength),
    "clip.vision.block_count": gv.u32(config.blockCount),
    "clip.vision.attention.head_count": gv.u32(config.headCount),
    "clip.vision.attention.layer_norm_epsilon": gv.f32(config.eps),
    "clip.vision.projection_dim": gv.u32(config.projectionDim),
    "clip.vision.image_size": gv.u32(config.imageSize),
    "clip.vision.patch_size": gv.u32(config.patchSize),
    "clip.vision.spatial_merge_size": gv.u32(config.spatialMergeSize),
    "clip.vision.image_mean": gv.f32s([...config.imageMean]),
    "clip.vision.image_std": gv.f32s([...config.imageStd]),
  };
}

/** The GGUF write spec of an mmproj holding `weights`. */
export function mmprojSpec(
  config: VisionConfig,
  weights: VisionWeights,
  matrixType: "F32" | "F16" = "F32",
): GgufWriteSpec {
  const tensors: GgufTensorSpec[] = [];
  for (const [name, t] of weights) {
    const isMatrix = t.ne.length >= 2 && name !== "v.position_embd.weight";
    tensors.push({ name, ne: t.ne, type: isMatrix ? matrixType : "F32", data: t.data });
  }
  return { metadata: mmprojMetadata(config), tensors };
}

/** The weights and config a tiny mmproj is made of (to run the reference on the very same numbers). */
export function tinyMmprojWeights(options: TinyMmprojOptions): {
  config: VisionConfig;
  weights: VisionWeights;
} {
  const config = tinyMmprojConfig(options);
  const weights = randomVisionWeights(config, {
    seed: options.seed,
    mergerWidth: options.mergerWidth ?? 2 * options.textEmbeddingLength,
  });
  return { config, weights };
}

/**
 * Writes a tiny GLM-V mmproj GGUF with seeded random weights to `path`. The same options and seed always give
 * the same file. Returns the config and weights it wrote.
 */
export function writeTinyMmproj(
  path: string,
  options: TinyMmprojOptions,
): { config: VisionConfig; weights: VisionWeights } {
  const made = tinyMmprojWeights(options);
  writeGguf(path, mmprojSpec(made.config, made.weights, options.matrixType));
  return made;
}
