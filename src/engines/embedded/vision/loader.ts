/**
 * Reads a GLM-V mmproj GGUF: validates its keys and tensor shapes in TypeScript (llama.cpp aborts the process on
 * bad files, so nothing native sees an unchecked file), maps tensor-name aliases to canonical names, and returns
 * the config plus raw weight bytes for the ggml graph.
 */

import {
  type GgufFile,
  GgufFormatError,
  metaNumber,
  metaString,
  readGguf,
  readTensorBytes,
} from "../../../gguf/index.ts";
import { assertVisionConfig, CLIP_MEAN, CLIP_STD, type VisionConfig, VisionConfigError } from "./config.ts";
import type { WeightBlob } from "./graph.ts";
import { canonicalTensorName, validateTensorShapes } from "./weights.ts";

/** A tensor of the file under its canonical name (fused qkv already split). */
interface MmprojTensor {
  ne: number[];
  type: number;
  read: () => Uint8Array;
}

/** A parsed, validated mmproj. */
export interface Mmproj {
  config: VisionConfig;
  blobs: WeightBlob[];
  /** Merger SwiGLU width. */
  mergerWidth: number;
}

function requireU32(file: GgufFile, key: string): number {
  const v = file.metadata.get(key);
  if (!v) throw new VisionConfigError(`${file.path}: the mmproj lacks key ${key}`);
  if (v.type !== "u32") throw new VisionConfigError(`${file.path}: key ${key} must be u32, is ${v.type}`);
  return v.value;
}

function floats3(file: GgufFile, key: string, fallback: readonly [number, number, number]) {
  const v = file.metadata.get(key);
  if (!v) return fallback;
  if (v.type !== "array" || v.itemType !== "f32" || v.value.length !== 3) {
    throw new VisionConfigError(`${file.path}: key ${key} must be an array of 3 f32`);
  }
  return [v.value[0], v.value[1], v.value[2]] as const;
}

/** Reads and validates an mmproj file. `textEmbeddingWidth`, when given, must equal the output width. */
export function loadMmproj(path: string, textEmbeddingWidth?: number): Mmproj {
  let file: GgufFile;
  try {
    file = readGguf(path);
  } catch (e) {
    if (e instanceof GgufFormatError) throw new VisionConfigError(`not a readable mmproj GGUF: ${e.message}`);
    throw e;
  }
  const arch = metaString(file, "general.architecture");
  if (arch !== "clip") {
    throw new VisionConfigError(
      `${path}: general.architecture is "${arch}", an mmproj says "clip" — is this the text model?`,
    );
  }
  const proj = metaString(file, "clip.projector_type") ?? metaString(file, "clip.vision.projector_type");
  if (proj !== "glm4v") {
    throw new VisionConfigError(`${path}: projector type "${proj}" is not GLM-V's ("glm4v")`);
  }
  const byName = new Map<string, MmprojTensor>();
  for (const t of file.tensors) {
    const name = canonicalTensorName(t.name);
    const fused = /^v\.blk\.(\d+)\.attn_qkv\.(weight|bias)$/.exec(name);
    if (fused) {
      // A fused qkv (rows q | k | v along the output dimension) becomes three tensors; rows are whole blocks.
      const outDim = fused[2] === "weight" ? t.ne[1] : t.ne[0];
      if (outDim % 3 !== 0) throw new VisionConfigError(`${path}: fused ${t.name} does not split in three`);
      const third = t.byteSize / 3;
      const ne = fused[2] === "weight" ? [t.ne[0], outDim / 3] : [outDim / 3];
      ["attn_q", "attn_k", "attn_v"].forEach((part, k) => {
        byName.set(`v.blk.${fused[1]}.${part}.${fused[2]}`, {
          ne,
          type: t.type,
          read: () => readTensorBytes(file, t).slice(k * third, (k + 1) * third),
        });
      });
      continue;
    }
    byName.set(name, { ne: t.ne, type: t.type, read: () => readTensorBytes(file, t) });
  }
  const down = byName.get("mm.down.weight");
  if (!down) throw new VisionConfigError(`${path}: the mmproj lacks tensor mm.down.weight`);
  const hasPos = byName.has("v.position_embd.weight");
  const hasQNorm = byName.has("v.blk.0.attn_q_norm.weight");
  const config: VisionConfig = {
    variant: !hasPos && hasQNorm ? "glm-ocr" : "glm4v",
    hiddenSize: requireU32(file, "clip.vision.embedding_length"),
    blockCount: requireU32(file, "clip.vision.block_count"),
    headCount: requireU32(file, "clip.vision.attention.head_count"),
    feedForwardLength: requireU32(file, "clip.vision.feed_forward_length"),
    projectionDim: down.ne[1],
    imageSize: requireU32(file, "clip.vision.image_size"),
    patchSize: requireU32(file, "clip.vision.patch_size"),
    spatialMergeSize: metaNumber(file, "clip.vision.spatial_merge_size") ?? 2,
    eps: metaNumber(file, "clip.vision.attention.layer_norm_epsilon") ?? 1e-5,
    imageMean: floats3(file, "clip.vision.image_mean", CLIP_MEAN),
    imageStd: floats3(file, "clip.vision.image_std", CLIP_STD),
  };
  assertVisionConfig(config);
  const mergerWidth = down.ne[0];
  validateTensorShapes(config, new Map([...byName].map(([n, t]) => [n, t.ne])), mergerWidth);
  const pos = byName.get("v.position_embd.weight");
  if (pos) {
    const side = Math.round(Math.sqrt(pos.ne[1]));
    if (side * side !== pos.ne[1]) {
      throw new VisionConfigError(`${path}: the position table has ${pos.ne[1]} rows, not a square count`);
    }
  }
  if (textEmbeddingWidth !== undefined && textEmbeddingWidth !== config.projectionDim) {
    throw new VisionConfigError(
      `${path}: the mmproj outputs ${config.projectionDim}-wide embeddings but the text model is ${textEmbeddingWidth} wide; use the mmproj published with this model`,
    );
  }
  const blobs: WeightBlob[] = [];
  for (const [name, t] of byName) blobs.push({ name, type: t.type, ne: t.ne, bytes: t.read });
  return { config, blobs, mergerWidth };
}
