import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { writeGguf } from "../../../gguf/index.ts";
import type { PreparedImage } from "../../../media/types.ts";
import { VisionConfigError } from "./config.ts";
import {
  createVisionEncoder,
  loadMmproj,
  mmprojSpec,
  patchifyPair,
  referenceEncode,
  tinyMmprojWeights,
  writeTinyMmproj,
} from "./index.ts";

const dir = mkdtempSync(join(tmpdir(), "glmv-vision-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function noise(width: number, height: number, seed: number): PreparedImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) data[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return { kind: "image", width, height, data, originalWidth: width, originalHeight: height };
}

test("a tiny mmproj written to disk loads back and encodes like the reference on the same weights", () => {
  const path = join(dir, "mmproj.gguf");
  const { config, weights } = writeTinyMmproj(path, { textEmbeddingLength: 48, seed: 11 });
  const loaded = loadMmproj(path, 48);
  assert.deepEqual(
    { ...loaded.config, eps: 0, imageMean: [], imageStd: [] },
    { ...config, eps: 0, imageMean: [], imageStd: [] },
  );
  assert.ok(Math.abs(loaded.config.imageStd[2] - config.imageStd[2]) < 1e-7);
  assert.equal(loaded.mergerWidth, 96);
  const enc = createVisionEncoder(
    { mmprojPath: path, threads: 1, textEmbeddingWidth: 48 },
    { flashAttention: false },
  );
  try {
    assert.equal(enc.outputWidth, 48);
    const a = noise(84, 56, 1);
    const b = noise(84, 56, 2);
    const out = enc.encode({ frames: [a, b], timestamp: 0 });
    assert.equal(out.gridH, 2);
    assert.equal(out.gridW, 3);
    const want = referenceEncode(config, weights, patchifyPair([a, b]));
    let max = 0;
    for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(out.data[i] - want[i]));
    assert.ok(max < 1e-5, `max |Δ| ${max}`);
    // A still image is the pair of two identical frames.
    const still = enc.encode(a);
    assert.deepEqual(still.data, enc.encode({ frames: [a, a], timestamp: 3 }).data);
    assert.ok(enc.lastEncodeMs >= 0);
  } finally {
    enc.close();
  }
});

test("F16 matrices stay close to the F32 result", () => {
  const p32 = join(dir, "m32.gguf");
  const p16 = join(dir, "m16.gguf");
  writeTinyMmproj(p32, { textEmbeddingLength: 32, seed: 5 });
  writeTinyMmproj(p16, { textEmbeddingLength: 32, seed: 5, matrixType: "F16" });
  const e32 = createVisionEncoder({ mmprojPath: p32, threads: 1, textEmbeddingWidth: 32 });
  const e16 = createVisionEncoder({ mmprojPath: p16, threads: 1, textEmbeddingWidth: 32 });
  try {
    const img = noise(56, 56, 9);
    const x = e32.encode(img).data;
    const y = e16.encode(img).data;
    let max = 0;
    let scale = 0;
    for (let i = 0; i < x.length; i++) {
      max = Math.max(max, Math.abs(x[i] - y[i]));
      scale = Math.max(scale, Math.abs(x[i]));
    }
    assert.ok(max < 1e-2 * Math.max(scale, 1e-3) + 1e-3, `max |Δ| ${max} (scale ${scale})`);
  } finally {
    e32.close();
    e16.close();
  }
});

test("a GLM-OCR-style mmproj (q/k norms, biases, no position table) loads and matches the reference", () => {
  const path = join(dir, "ocr.gguf");
  const { config, weights } = writeTinyMmproj(path, { textEmbeddingLength: 32, seed: 8, variant: "glm-ocr" });
  const loaded = loadMmproj(path, 32);
  assert.equal(loaded.config.variant, "glm-ocr");
  const enc = createVisionEncoder(
    { mmprojPath: path, threads: 1, textEmbeddingWidth: 32 },
    { flashAttention: false },
  );
  try {
    const img = noise(56, 84, 4);
    const out = enc.encode(img).data;
    const want = referenceEncode(config, weights, patchifyPair([img, img]));
    let max = 0;
    for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(out[i] - want[i]));
    assert.ok(max < 1e-5, `max |Δ| ${max}`);
  } finally {
    enc.close();
  }
});

test("a fused attn_qkv tensor is split into q, k and v", () => {
  const path = join(dir, "fused.gguf");
  const { config, weights } = tinyMmprojWeights({ textEmbeddingLength: 32, seed: 12 });
  const spec = mmprojSpec(config, weights);
  for (let i = 0; i < config.blockCount; i++) {
    const parts = ["attn_q", "attn_k", "attn_v"].map((p) => weights.get(`v.blk.${i}.${p}.weight`)!.data);
    const fused = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      fused.set(p, o);
      o += p.length;
    }
    spec.tensors = spec.tensors.filter(
      (t) => !/attn_[qkv]\.weight$/.test(t.name) || !t.name.startsWith(`v.blk.${i}.`),
    );
    spec.tensors.push({ name: `v.blk.${i}.attn_qkv.weight`, ne: [32, 96], type: "F32", data: fused });
  }
  writeGguf(path, spec);
  const enc = createVisionEncoder(
    { mmprojPath: path, threads: 1, textEmbeddingWidth: 32 },
    { flashAttention: false },
  );
  try {
    const img = noise(56, 56, 6);
    const out = enc.encode(img).data;
    const want = referenceEncode(config, weights, patchifyPair([img, img]));
    let max = 0;
    for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(out[i] - want[i]));
    assert.ok(max < 1e-5, `max |Δ| ${max}`);
  } finally {
    enc.close();
  }
});

test("bad mmproj files are clear errors, never crashes", () => {
  const path = join(dir, "w.gguf");
  writeTinyMmproj(path, { textEmbeddingLength: 48, seed: 1 });
  assert.throws(() => loadMmproj(path, 64), /48-wide embeddings but the text model is 64 wide/);
  const junk = join(dir, "junk.gguf");
  writeFileSync(junk, "not a gguf at all");
  assert.throws(() => loadMmproj(junk), VisionConfigError);
  assert.throws(() => loadMmproj(join(dir, "missing.gguf")), /missing\.gguf/);
});
