/**
 * The correctness oracle: llama.cpp's own GLM-V vision path (@fugood/llama.node, in a child process) and ours must
 * give the same next-token distribution for a tiny text model + tiny mmproj + an image.
 *
 * Tolerance: max relative difference of the top-40 token probabilities ≤ 2e-3 (observed 2.4e-4 … 4.5e-4 at every
 * grid tried; text alone agrees to 4e-7). For scale, the structural mistakes the check must catch move the same
 * numbers by 2.8e-2 (no vision rotary), 0.16 (no position table), 0.24 (tokens transposed) and 0.32 (a perturbed
 * image), so the tolerance is ≥ 10× below the smallest of them. At 448×336 (table resampled 24×24 → 24×32) a
 * bilinear table instead of our bicubic one moves them by 3.1e-2, so llama.cpp's GLM-V path (b10257) resamples
 * bicubically too. Sizes that are not multiples of 28, or below llama.cpp's minimum of 8 tokens (e.g. 28×84), are
 * resized by llama.cpp's own preprocessor and are not comparable: our engine takes pixels the media pipeline
 * already resized with HF's smart_resize.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import type { PreparedImage } from "../../../media/types.ts";
import { writeTinyModel } from "../../tiny/model.ts";
import { createVisionEncoder, type TimedVisionEncoder, writeTinyMmproj } from "./index.ts";
import { compareDistributions, ourNextTokenDistribution, runLlamaNodeOracle } from "./oracle.ts";

const hasLlamaNode = (() => {
  try {
    createRequire(import.meta.url).resolve("@fugood/llama.node");
    return true;
  } catch {
    return false;
  }
})();

const MAX_REL = 2e-3;
const BEFORE = "[gMASK]<sop><|user|>\n<|begin_of_image|>";
const AFTER = "<|end_of_image|>Describe.<|assistant|>\n";
const MEDIA_PROMPT = "[gMASK]<sop><|user|>\n<__media__>Describe.<|assistant|>\n";

const dir = mkdtempSync(join(tmpdir(), "glmv-oracle-"));
let modelPath = "";
let mmproj = "";
let encoder: TimedVisionEncoder;

before(() => {
  const made = writeTinyModel(dir, { seed: 3 });
  modelPath = made.modelPath;
  mmproj = join(dir, "mmproj.gguf");
  writeTinyMmproj(mmproj, { textEmbeddingLength: made.description.shape.embd, seed: 4 });
  encoder = createVisionEncoder(
    { mmprojPath: mmproj, threads: 1, textEmbeddingWidth: made.description.shape.embd },
    { flashAttention: false },
  );
});
after(() => {
  encoder?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function image(width: number, height: number): Promise<{ image: PreparedImage; png: string }> {
  const data = new Uint8Array(width * height * 3);
  let s = 1;
  for (let i = 0; i < data.length; i++) data[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  const png = join(dir, `img-${width}x${height}.png`);
  await sharp(Buffer.from(data), { raw: { width, height, channels: 3 } })
    .png()
    .toFile(png);
  return { image: { kind: "image", width, height, data, originalWidth: width, originalHeight: height }, png };
}

for (const [w, h] of [
  [336, 336], // the position table's native 24×24 grid
  [448, 336], // a resampled table (bicubic on both sides)
]) {
  test(`${w}×${h}: our vision path gives llama.cpp's next-token distribution`, {
    skip: !hasLlamaNode,
  }, async () => {
    const { image: img, png } = await image(w, h);
    const emb = encoder.encode(img);
    const ours = ourNextTokenDistribution(modelPath, BEFORE, emb, AFTER);
    const theirs = await runLlamaNodeOracle({
      model: modelPath,
      mmproj,
      image: png,
      prompt: MEDIA_PROMPT,
      nProbs: 40,
    });
    assert.equal(theirs.promptN, 16 + emb.gridH * emb.gridW, "llama.cpp saw the same number of image tokens");
    const same = compareDistributions(theirs.probs, ours);
    assert.equal(same.matched, 40);
    assert.ok(same.maxRel <= MAX_REL, `max relative difference ${same.maxRel}`);
    if (w === 336) {
      // The check has teeth: the same embeddings in transposed token order are far off.
      const t = new Float32Array(emb.data.length);
      const width = emb.data.length / (emb.gridH * emb.gridW);
      for (let i = 0; i < emb.gridH * emb.gridW; i++) {
        const j = (i % emb.gridW) * emb.gridH + Math.floor(i / emb.gridW);
        t.set(emb.data.subarray(j * width, (j + 1) * width), i * width);
      }
      const wrong = compareDistributions(
        theirs.probs,
        ourNextTokenDistribution(modelPath, BEFORE, { ...emb, data: t }, AFTER),
      );
      assert.ok(wrong.maxRel > 10 * MAX_REL, `transposed tokens differ by only ${wrong.maxRel}`);
    }
  });
}
