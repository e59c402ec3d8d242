import assert from "node:assert/strict";
import { test } from "node:test";
import type { PreparedImage } from "../../../media/types.ts";
import { VisionAbortedError, VisionTower } from "./graph.ts";
import { patchifyImage, patchifyPair } from "./preprocess.ts";
import { referenceEncode } from "./reference.ts";
import { randomVisionWeights, tinyVisionConfig } from "./weights.ts";

function noise(width: number, height: number, seed: number): PreparedImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) data[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return { kind: "image", width, height, data, originalWidth: width, originalHeight: height };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; scale: number } {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { diff, scale };
}

/** F32 weights: the ggml graph must match the float64 reference to float32 rounding. */
const TOLERANCE = 1e-5;

for (const variant of ["glm4v", "glm-ocr"] as const) {
  test(`${variant}: the ggml graph matches the float64 reference (max |Δ| ≤ ${TOLERANCE})`, () => {
    const config = tinyVisionConfig(64, variant);
    const weights = randomVisionWeights(config, { seed: 7, mergerWidth: 128 });
    const enc = VisionTower.fromHostWeights(config, weights, { threads: 1, flashAttention: false });
    try {
      for (const [w, h] of [
        [84, 56],
        [56, 112],
      ]) {
        const patches = patchifyPair([noise(w, h, 1), noise(w, h, 2)]);
        const got = enc.encode(patches);
        const want = referenceEncode(config, weights, patches);
        assert.equal(got.length, want.length);
        const { diff, scale } = maxAbsDiff(got, want);
        assert.ok(diff <= TOLERANCE, `${w}×${h}: max |Δ| ${diff} (max |ref| ${scale})`);
        if (process.env.GLMV_VERBOSE)
          console.log(`${variant} ${w}×${h}: max |Δ| ${diff}, max |ref| ${scale}`);
      }
      // Cached graph reused: same answer twice.
      const p = patchifyImage(noise(84, 56, 5));
      assert.deepEqual(enc.encode(p), enc.encode(p));
    } finally {
      enc.close();
    }
  });
}

test("flash attention path agrees with the explicit soft-max path", () => {
  const config = tinyVisionConfig(64);
  const weights = randomVisionWeights(config, { seed: 9, mergerWidth: 128 });
  const a = VisionTower.fromHostWeights(config, weights, { threads: 1, flashAttention: false });
  const b = VisionTower.fromHostWeights(config, weights, { threads: 1, flashAttention: true });
  try {
    const p = patchifyImage(noise(112, 84, 3));
    const { diff, scale } = maxAbsDiff(b.encode(p), a.encode(p));
    assert.ok(diff <= 2e-2 * Math.max(1, scale), `max |Δ| ${diff} (scale ${scale})`);
  } finally {
    a.close();
    b.close();
  }
});

test("evicting cached graphs keeps results exact when grids alternate", () => {
  const config = tinyVisionConfig(32);
  const weights = randomVisionWeights(config, { seed: 3, mergerWidth: 64 });
  const enc = VisionTower.fromHostWeights(config, weights, {
    threads: 1,
    flashAttention: false,
    maxCachedGraphs: 1,
  });
  try {
    const a = patchifyImage(noise(84, 56, 1));
    const b = patchifyImage(noise(56, 112, 2));
    const first = enc.encode(a);
    const second = enc.encode(b);
    assert.deepEqual(enc.encode(a), first);
    assert.deepEqual(enc.encode(b), second);
  } finally {
    enc.close();
  }
  assert.throws(() => enc.encode(patchifyImage(noise(28, 28, 1))), /closed/);
});

test("a 1024-patch image takes the flash-attention path and stays within 1e-3 of the reference", () => {
  const config = tinyVisionConfig(32);
  const weights = randomVisionWeights(config, { seed: 21, mergerWidth: 64 });
  const enc = VisionTower.fromHostWeights(config, weights, { threads: 2 }); // flashAttention "auto": on from 1024
  try {
    const patches = patchifyImage(noise(448, 448, 5));
    const got = enc.encode(patches);
    const want = referenceEncode(config, weights, patches);
    const { diff, scale } = maxAbsDiff(got, want);
    assert.ok(diff <= 1e-3 * Math.max(1, scale), `max |Δ| ${diff} (max |ref| ${scale})`);
    if (process.env.GLMV_VERBOSE) console.log(`flash 32×32: max |Δ| ${diff}, max |ref| ${scale}`);
  } finally {
    enc.close();
  }
});

test("staged (abortable) encoding equals the cached whole graph, and aborts between stages", () => {
  const config = tinyVisionConfig(32);
  const weights = randomVisionWeights(config, { seed: 4, mergerWidth: 64 });
  const enc = VisionTower.fromHostWeights(config, weights, { threads: 1, flashAttention: false });
  try {
    const p = patchifyPair([noise(84, 56, 1), noise(84, 56, 2)]);
    const whole = enc.encode(p);
    let asked = 0;
    const staged = enc.encode(p, {
      shouldAbort: () => {
        asked++;
        return false;
      },
    });
    assert.equal(asked, config.blockCount + 2);
    const { diff } = maxAbsDiff(staged, whole);
    assert.ok(diff <= 1e-6, `max |Δ| ${diff}`);
    let calls = 0;
    assert.throws(() => enc.encode(p, { shouldAbort: () => ++calls > 2 }), VisionAbortedError);
    assert.equal(calls, 3);
    // The encoder stays usable after an abort.
    assert.deepEqual(enc.encode(p), whole);
  } finally {
    enc.close();
  }
});

test("encodeStages runs one stage per next(), equals the abortable encode exactly, and can be aborted or dropped", () => {
  const config = tinyVisionConfig(32);
  const weights = randomVisionWeights(config, { seed: 4, mergerWidth: 64 });
  const enc = VisionTower.fromHostWeights(config, weights, { threads: 1, flashAttention: false });
  try {
    const p = patchifyPair([noise(84, 56, 1), noise(84, 56, 2)]);
    const oneShot = enc.encode(p, { shouldAbort: () => false });
    let asked = 0;
    const job = enc.encodeStages(p, {
      shouldAbort: () => {
        asked++;
        return false;
      },
    });
    let yields = 0;
    let r = job.next();
    while (!r.done) {
      assert.equal(asked, yields + 1, "one stage (one abort check) per next()");
      yields++;
      r = job.next();
    }
    assert.equal(yields, config.blockCount + 1);
    assert.equal(asked, config.blockCount + 2);
    assert.deepEqual(r.value, oneShot);
    // An abort between stages throws at the next stage.
    let abort = false;
    const aborted = enc.encodeStages(p, { shouldAbort: () => abort });
    aborted.next();
    abort = true;
    assert.throws(() => aborted.next(), VisionAbortedError);
    // A job dropped halfway frees its allocator; the tower stays usable and interleaved jobs do not mix.
    const a = enc.encodeStages(p);
    const other = patchifyPair([noise(84, 56, 3), noise(84, 56, 4)]);
    const b = enc.encodeStages(other);
    a.next();
    b.next();
    a.return(new Float32Array(0));
    let rb = b.next();
    while (!rb.done) rb = b.next();
    assert.deepEqual(rb.value, enc.encode(other, { shouldAbort: () => false }));
    assert.deepEqual(enc.encode(p, { shouldAbort: () => false }), oneShot);
  } finally {
    enc.close();
  }
});
