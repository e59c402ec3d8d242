/**
 * The mmproj tensors of a GLM-V vision tower: canonical names (engine-notes §2.2 — what llama.cpp's clip
 * loader reads), aliases other converters write, the tensor roles each variant needs, and a seeded random
 * weight set for tiny test models.
 */

import { PATCH_SIZE, type VisionConfig, VisionConfigError } from "./config.ts";

/** A tensor held in host memory as float32, with its ggml shape (`ne`, fastest dimension first). */
export interface HostTensor {
  ne: number[];
  data: Float32Array;
}

/** Canonical tensor name → tensor. */
export type VisionWeights = Map<string, HostTensor>;

/** Canonical name of block `i`'s tensor `suffix` (e.g. `attn_q.weight`). */
export function blockTensor(i: number, suffix: string): string {
  return `v.blk.${i}.${suffix}`;
}

/**
 * Other names some GGUF converters give the same tensors. The loader maps them to the canonical names; the
 * canonical ones are what llama.cpp's `clip.cpp` (b10257 and current master) reads.
 */
const ALIASES: Record<string, string> = {
  "v.post_conv_ln.weight": "v.norm_embd.weight",
  "v.post_conv_norm.weight": "v.norm_embd.weight",
  "mm.downsample.weight": "mm.patch_merger.weight",
  "mm.downsample.bias": "mm.patch_merger.bias",
  "v.downsample.weight": "mm.patch_merger.weight",
  "v.downsample.bias": "mm.patch_merger.bias",
  "mm.merger.proj.weight": "mm.model.fc.weight",
  "mm.proj.weight": "mm.model.fc.weight",
  "mm.merger.norm.weight": "mm.post_norm.weight",
  "mm.merger.norm.bias": "mm.post_norm.bias",
  "mm.merger.gate.weight": "mm.gate.weight",
  "mm.merger.up.weight": "mm.up.weight",
  "mm.merger.down.weight": "mm.down.weight",
  "v.patch_embd.weight.0": "v.patch_embd.weight",
};

/** Maps a tensor name found in an mmproj file to the canonical name the encoder uses. */
export function canonicalTensorName(name: string): string {
  const alias = ALIASES[name];
  if (alias) return alias;
  // Per-block aliases: `attn_proj` / `attn_output` for `attn_out`, `norm1`/`norm2` for `ln1`/`ln2`.
  const m = /^v\.blk\.(\d+)\.(attn_proj|attn_output|norm1|norm2)\.(weight|bias)$/.exec(name);
  if (m) {
    const map: Record<string, string> = {
      attn_proj: "attn_out",
      attn_output: "attn_out",
      norm1: "ln1",
      norm2: "ln2",
    };
    return `v.blk.${m[1]}.${map[m[2]]}.${m[3]}`;
  }
  return name;
}

/** Expected shape of every tensor of a tower with this config; null entries are optional tensors. */
export function expectedTensorShapes(config: VisionConfig): Map<string, { ne: number[]; required: boolean }> {
  const d = config.hiddenSize;
  const ff = config.feedForwardLength;
  const p = config.projectionDim;
  const hd = d / config.headCount;
  const ocr = config.variant === "glm-ocr";
  const side = config.imageSize / config.patchSize;
  const out = new Map<string, { ne: number[]; required: boolean }>();
  const put = (name: string, ne: number[], required = true) => out.set(name, { ne, required });
  put("v.patch_embd.weight", [PATCH_SIZE, PATCH_SIZE, 3, d]);
  put("v.patch_embd.weight.1", [PATCH_SIZE, PATCH_SIZE, 3, d]);
  put("v.patch_embd.bias", [d], false);
  put("v.norm_embd.weight", [d], !ocr);
  put("v.position_embd.weight", [d, side * side], !ocr);
  for (let i = 0; i < config.blockCount; i++) {
    const b = (s: string) => blockTensor(i, s);
    put(b("ln1.weight"), [d]);
    put(b("ln2.weight"), [d]);
    for (const t of ["attn_q", "attn_k", "attn_v", "attn_out"]) {
      put(b(`${t}.weight`), [d, d]);
      put(b(`${t}.bias`), [d], false);
    }
    put(b("attn_q_norm.weight"), [hd], ocr);
    put(b("attn_k_norm.weight"), [hd], ocr);
    put(b("ffn_gate.weight"), [d, ff]);
    put(b("ffn_up.weight"), [d, ff]);
    put(b("ffn_down.weight"), [ff, d]);
    put(b("ffn_gate.bias"), [ff], false);
    put(b("ffn_up.bias"), [ff], false);
    put(b("ffn_down.bias"), [d], false);
  }
  put("v.post_ln.weight", [d]);
  put("mm.patch_merger.weight", [2, 2, d, p]);
  put("mm.patch_merger.bias", [p], false);
  put("mm.model.fc.weight", [p, p]);
  put("mm.post_norm.weight", [p]);
  put("mm.post_norm.bias", [p]);
  return out;
}

/** Checks the tensors a loader found against the config; throws VisionConfigError naming the first problem. */
export function validateTensorShapes(
  config: VisionConfig,
  found: Map<string, number[]>,
  mergerWidth: number,
): void {
  const expect = expectedTensorShapes(config);
  const p = config.projectionDim;
  expect.set("mm.gate.weight", { ne: [p, mergerWidth], required: true });
  expect.set("mm.up.weight", { ne: [p, mergerWidth], required: true });
  expect.set("mm.down.weight", { ne: [mergerWidth, p], required: true });
  for (const [name, { ne, required }] of expect) {
    const got = found.get(name);
    if (!got) {
      if (required) {
        throw new VisionConfigError(
          `the mmproj file lacks tensor ${name}; is it a GLM-V (${config.variant}) mmproj?`,
        );
      }
      continue;
    }
    const g = [...got];
    while (g.length > ne.length && g[g.length - 1] === 1) g.pop();
    if (g.length !== ne.length || g.some((v, k) => v !== ne[k])) {
      throw new VisionConfigError(
        `mmproj tensor ${name} has shape [${got.join(",")}], expected [${ne.join(",")}] for this config`,
      );
    }
  }
}

/** A small deterministic PRNG (mulberry32), returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Options for a random tower. */
export interface RandomWeightOptions {
  seed: number;
  /** Merger SwiGLU width (HF context_dim). */
  mergerWidth: number;
}

/**
 * Seeded random weights for every tensor of a tower (variant-specific optional tensors included). Linear
 * weights are uniform in ±1/√fan_in so activations stay O(1); norm weights are 1 ± 0.2.
 */
export function randomVisionWeights(config: VisionConfig, options: RandomWeightOptions): VisionWeights {
  const rnd = seededRandom(options.seed);
  const ocr = config.variant === "glm-ocr";
  const shapes = expectedTensorShapes(config);
  const p = config.projectionDim;
  shapes.set("mm.gate.weight", { ne: [p, options.mergerWidth], required: true });
  shapes.set("mm.up.weight", { ne: [p, options.mergerWidth], required: true });
  shapes.set("mm.down.weight", { ne: [options.mergerWidth, p], required: true });
  const out: VisionWeights = new Map();
  for (const [name, { ne, required }] of shapes) {
    const isBias = name.endsWith(".bias");
    const isNorm = /(ln1|ln2|post_ln|norm_embd|post_norm|_norm)\.weight$/.test(name);
    const blockBias = isBias && name.startsWith("v.blk.");
    if (!required && !(ocr && blockBias) && name !== "v.patch_embd.bias" && name !== "mm.patch_merger.bias") {
      continue;
    }
    const n = ne.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    let fanIn = ne.length >= 2 ? ne.slice(0, ne.length - 1).reduce((a, b) => a * b, 1) : 1;
    if (name.startsWith("v.patch_embd.weight")) fanIn *= 2;
    const scale = name === "v.position_embd.weight" ? 0.5 : isBias ? 0.1 : 1 / Math.sqrt(fanIn);
    for (let k = 0; k < n; k++) {
      const u = rnd() * 2 - 1;
      data[k] = isNorm ? 1 + 0.2 * u : scale * u;
    }
    out.set(name, { ne: [...ne], data });
  }
  return out;
}

/** A tiny glm4v config for tests: width 32, 2 heads (head 16), 2 blocks, MLP 64, 24×24 position table. */
export function tinyVisionConfig(
  projectionDim: number,
  variant: VisionConfig["variant"] = "glm4v",
): VisionConfig {
  return {
    variant,
    hiddenSize: 32,
    blockCount: 2,
    headCount: 2,
    feedForwardLength: 64,
    projectionDim,
    imageSize: 336,
    patchSize: 14,
    spatialMergeSize: 2,
    eps: 1e-5,
    imageMean: [0.48145466, 0.4578275, 0.40821073],
    imageStd: [0.26862954, 0.26130258, 0.27577711],
  };
}
