import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { gv, readGguf, readTensorF32, writeGguf } from "../../gguf/index.ts";
import { writeTinyModel } from "../tiny/model.ts";
import { LlamaSession } from "./session.ts";

const dir = mkdtempSync(join(tmpdir(), "glmv-session-"));
let session: LlamaSession;

before(async () => {
  const { modelPath } = writeTinyModel(dir, { script: "Ça va ✓ très bien." });
  session = await LlamaSession.open({ model: modelPath, contextSize: 128, threads: 1 });
});
after(() => {
  session?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("tokenizes with special tokens parsed and detokenizes multi-byte text split across byte tokens", () => {
  const ids = session.tokenize("[gMASK]<sop><|user|>\ncafé ✓");
  assert.equal(ids.length > 5, true);
  assert.equal(session.detokenize(ids), "[gMASK]<sop><|user|>\ncafé ✓");
  // "✓" is three byte tokens in the tiny vocabulary: each alone is partial UTF-8.
  const check = session.tokenize("✓");
  assert.equal(check.length, 3);
  assert.equal(session.pieceBytes(check[0]).length, 1);
  assert.equal(session.detokenize(check), "✓");
});

test("a scripted non-ASCII answer streams as whole characters", () => {
  const pieces: string[] = [];
  const r = session.generate(
    { prompt: "[gMASK]<sop><|user|>\nHi<|assistant|>\n", media: [], options: { temperature: 0 } },
    null,
    (t) => pieces.push(t),
  );
  assert.equal(r.text, "Ça va ✓ très bien.");
  assert.equal(pieces.join(""), r.text);
  assert.ok(pieces.every((p) => !p.includes("\uFFFD")));
  assert.equal(session.info.family, "glm-4.6v-flash");
  assert.ok(session.cachedItems > 0);
  session.clearCache();
  assert.equal(session.cachedItems, 0);
});

test("embedding rows of 1×1 grids give the same logits as the token ids (random model)", async () => {
  const { modelPath } = writeTinyModel(join(dir, "random"), { seed: 5 });
  const s = await LlamaSession.open({ model: modelPath, contextSize: 128, threads: 1 });
  try {
    const ids = s.tokenize("[gMASK]<sop><|user|>\nWhat is the answer?");
    const byTokens = s.evaluate([{ kind: "text", tokens: ids }]);
    const table = readTensorF32(readGguf(modelPath), "token_embd.weight");
    const embd = s.info.embeddingWidth;
    const tail = ids.slice(4);
    const spans = [
      { kind: "text" as const, tokens: ids.slice(0, 4) },
      ...tail.map((t) => ({
        kind: "embeddings" as const,
        data: table.slice(t * embd, (t + 1) * embd),
        gridH: 1,
        gridW: 1,
      })),
    ];
    const byRows = s.evaluate(spans);
    assert.equal(byRows.length, s.info.vocabSize);
    let max = 0;
    for (let i = 0; i < byRows.length; i++) max = Math.max(max, Math.abs(byRows[i] - byTokens[i]));
    assert.ok(max < 1e-5, `max |Δlogit| ${max}`);
    // The same prompt through the text path gives the same logits as evaluate.
    const viaPrompt = s.nextTokenLogits({ prompt: "[gMASK]<sop><|user|>\nWhat is the answer?", media: [] });
    assert.deepEqual(viaPrompt, byTokens);
    assert.throws(() => s.evaluate([{ kind: "text", tokens: [1e9] }]), /outside the vocabulary/);
    assert.throws(
      () => s.evaluate([{ kind: "embeddings", data: new Float32Array(3), gridH: 1, gridW: 1 }]),
      /needs/,
    );
  } finally {
    s.close();
  }
});

test("repetition penalty lowers the prompt's tokens as llama.cpp's rule says, without a huge allocation", async () => {
  const { modelPath } = writeTinyModel(join(dir, "rnd-pen"), { seed: 3 });
  const rnd = await LlamaSession.open({ model: modelPath, contextSize: 128, threads: 1 });
  try {
    // A prompt whose next-token pick already occurs in it (the pick's text placed early in the user turn), so
    // the penalty has something to change.
    const argmax = (v: Float32Array) => v.reduce((b, x, i) => (x > v[b] ? i : b), 0);
    const base = "What is in the picture?";
    const wrap = (user: string) => `[gMASK]<sop><|user|>\n${user}<|assistant|>\n`;
    let user = base;
    let prompt = wrap(user);
    let logits = rnd.nextTokenLogits({ prompt, media: [] });
    for (let k = 0; k < 8 && !rnd.tokenize(prompt).includes(argmax(logits)); k++) {
      user = `${rnd.detokenize([argmax(logits)])}${user}`;
      prompt = wrap(user);
      logits = rnd.nextTokenLogits({ prompt, media: [] });
    }
    // The sampler is fed the prompt's last 64 tokens: each seen token's logit is divided (positive) or
    // multiplied (negative) by the penalty once.
    const penalty = 3;
    const seen = new Set(rnd.tokenize(prompt).slice(-64));
    assert.ok(seen.has(argmax(logits)), "the test needs a repeated pick");
    const expected = Float32Array.from(logits, (v, i) =>
      seen.has(i) ? (v > 0 ? v / penalty : v * penalty) : v,
    );
    const best = argmax(expected);
    assert.notEqual(best, argmax(logits));
    const options = { temperature: 0, maxTokens: 1, repetitionPenalty: penalty };
    const t0 = performance.now();
    const r = rnd.generate({ prompt, media: [], options }, null, () => {});
    assert.equal(r.text, rnd.detokenize([best]));
    // The 4-argument declaration made llama.cpp zero gigabytes here (seconds); the fixed one takes microseconds.
    assert.ok(performance.now() - t0 < 1000, `took ${(performance.now() - t0).toFixed(0)} ms`);
  } finally {
    rnd.close();
  }
});

test("sampler chain: min_p 1 and a tiny top_p equal greedy; seeds are reproducible (random model)", async () => {
  const { modelPath } = writeTinyModel(join(dir, "random-sampling"), { seed: 9 });
  const s = await LlamaSession.open({ model: modelPath, contextSize: 128, threads: 1 });
  try {
    const prompt = "[gMASK]<sop><|user|>\nHello there<|assistant|>\n";
    const gen = (o: object) => {
      s.clearCache();
      return s.generate({ prompt, media: [], options: { maxTokens: 12, ...o } }, null, () => {}).text;
    };
    const greedy = gen({ temperature: 0 });
    assert.equal(gen({ temperature: 1, topP: 1, minP: 1, seed: 5 }), greedy);
    assert.equal(gen({ temperature: 1, topP: 1e-6, seed: 9 }), greedy);
    assert.equal(
      gen({ temperature: 1.5, topP: 1, topK: 40, seed: 1 }),
      gen({ temperature: 1.5, topP: 1, topK: 40, seed: 1 }),
    );
    assert.notEqual(gen({ temperature: 1.5, topP: 1, seed: 1 }), gen({ temperature: 1.5, topP: 1, seed: 2 }));
  } finally {
    s.close();
  }
});

test("an abort during image encoding ends the request as aborted; the session stays usable", async () => {
  const { modelPath } = writeTinyModel(join(dir, "scripted-vision"), { script: "A cat." });
  const mmproj = join(dir, "fake-mmproj.gguf");
  writeGguf(mmproj, { metadata: { "general.architecture": gv.str("clip") }, tensors: [] });
  const flag = new Int32Array(new SharedArrayBuffer(4));
  let encodes = 0;
  const s = await LlamaSession.open({
    model: modelPath,
    mmproj,
    contextSize: 128,
    threads: 1,
    visionFactory: ({ textEmbeddingWidth }) => ({
      outputWidth: textEmbeddingWidth,
      encode(input, options) {
        encodes++;
        Atomics.store(flag, 0, 1); // the user aborts while the encoder runs
        if (options?.shouldAbort?.()) {
          const e = new Error("aborted");
          e.name = "VisionAbortedError";
          throw e;
        }
        const img = "frames" in input ? input.frames[0] : input;
        const gridH = img.height / 28;
        const gridW = img.width / 28;
        return { data: new Float32Array(gridH * gridW * textEmbeddingWidth), gridH, gridW };
      },
      close() {},
    }),
  });
  try {
    const image = {
      kind: "image" as const,
      width: 28,
      height: 56,
      data: new Uint8Array(28 * 56 * 3),
      originalWidth: 28,
      originalHeight: 56,
    };
    const prompt = "[gMASK]<sop><|user|>\n<|begin_of_image|><|image|><|end_of_image|>What?<|assistant|>\n";
    const r = s.generate({ prompt, media: [image], options: { temperature: 0 } }, flag, () => {});
    assert.equal(r.finishReason, "abort");
    assert.equal(encodes, 1);
    Atomics.store(flag, 0, 0);
    const ok = s.generate({ prompt, media: [image], options: { temperature: 0 } }, null, () => {});
    assert.equal(ok.text, "A cat.");
    assert.equal(ok.usage.promptTokens, s.countTokens(prompt) - 1 + 2);
  } finally {
    s.close();
  }
});

test("F16, Q8_0 and Q4_0 tiny models load and give logits close to the F32 model's", async () => {
  const logits: Record<string, Float32Array> = {};
  for (const quant of ["f32", "f16", "q8_0", "q4_0"] as const) {
    const { modelPath } = writeTinyModel(join(dir, `quant-${quant}`), { quant, seed: 21 });
    const s = await LlamaSession.open({ model: modelPath, contextSize: 64, threads: 1 });
    try {
      logits[quant] = s.nextTokenLogits({ prompt: "[gMASK]<sop><|user|>\nHello", media: [] });
    } finally {
      s.close();
    }
  }
  const maxDiff = (a: Float32Array, b: Float32Array) =>
    a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
  const scale = logits.f32.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  assert.ok(maxDiff(logits.f16, logits.f32) < 0.01 * scale, "f16"); // measured 0.16 %
  assert.ok(maxDiff(logits.q8_0, logits.f32) < 0.05 * scale, "q8_0"); // measured 1.7 %
  assert.ok(maxDiff(logits.q4_0, logits.f32) < 0.3 * scale, "q4_0"); // measured 15 %
  assert.ok(maxDiff(logits.q4_0, logits.f32) > 0, "quantisation changes something");
});

test("read and mmap load modes give the same logits", async () => {
  const { modelPath } = writeTinyModel(join(dir, "modes"), { quant: "q4_0", seed: 4 });
  const out: Float32Array[] = [];
  for (const loadMode of ["read", "mmap"] as const) {
    const s = await LlamaSession.open({ model: modelPath, contextSize: 64, threads: 1, loadMode });
    try {
      out.push(s.nextTokenLogits({ prompt: "[gMASK]<sop><|user|>\nHi", media: [] }));
    } finally {
      s.close();
    }
  }
  assert.deepEqual(out[0], out[1]);
});
