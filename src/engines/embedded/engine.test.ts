import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Template } from "@huggingface/jinja";
import { gv, writeGguf } from "../../gguf/index.ts";
import type { PreparedImage } from "../../media/types.ts";
import { writeTinyModel } from "../tiny/model.ts";
import type { GenerateOptions, GenerateResult } from "../types.ts";
import { type EmbeddedEngine, loadEmbeddedEngine } from "./engine.ts";
import { EngineClosedError, InvalidModelError, MediaInputError, PromptTooLongError } from "./errors.ts";

const dir = mkdtempSync(join(tmpdir(), "glmv-engine-"));
const SCRIPT = "<think>Let me look at the picture.</think>\nThe answer is <|begin_of_box|>42<|end_of_box|>.";
const SCRIPT_41V = "<think>One two three four five.</think><answer>Yes.</answer>";
const PROMPT = "[gMASK]<sop><|user|>\nWhat is in the picture?<|assistant|>\n";
const greedy: GenerateOptions = { temperature: 0 };

async function run(
  engine: EmbeddedEngine,
  prompt: string,
  options: GenerateOptions = greedy,
  signal?: AbortSignal,
): Promise<{ result: GenerateResult; streamed: string; pieces: number }> {
  let streamed = "";
  let pieces = 0;
  let result: GenerateResult | undefined;
  for await (const ev of engine.generate({ prompt, media: [], options }, signal)) {
    if (ev.type === "text") {
      streamed += ev.text;
      pieces++;
    } else result = ev.result;
  }
  assert.ok(result, "a done event arrives");
  return { result, streamed, pieces };
}

let engine: EmbeddedEngine;
let model: string;

before(async () => {
  model = writeTinyModel(join(dir, "s46"), { script: SCRIPT }).modelPath;
  engine = await loadEmbeddedEngine({ model, contextSize: 256, threads: 1 });
});
after(async () => {
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("embedded engine with the scripted tiny model", () => {
  test("emits the script exactly, streamed and in the result, and stops on the end token", async () => {
    assert.equal(engine.info.engine, "embedded");
    assert.equal(engine.info.family, "glm-4.6v-flash");
    assert.equal(engine.info.contextSize, 256);
    assert.equal(engine.info.vision, false);
    assert.ok(engine.info.devices[0].startsWith("CPU"));
    const { result, streamed } = await run(engine, PROMPT);
    assert.equal(result.text, SCRIPT);
    assert.equal(streamed, SCRIPT);
    assert.equal(result.finishReason, "stop");
    assert.equal(result.thinkingTruncated, false);
    assert.equal(result.usage.promptTokens, await engine.countTokens(PROMPT));
    assert.ok(result.usage.completionTokens >= 15);
    assert.ok(result.timings.decodeTokensPerSecond > 0 && result.timings.promptTokensPerSecond > 0);
    // Sampling at temperature 1 gives the same text: the script's logits dominate.
    assert.equal((await run(engine, PROMPT, { temperature: 1, seed: 7 })).result.text, SCRIPT);
  });

  test("renders thinking on/off prompts with the model's own template; both decode", async () => {
    const t = new Template(engine.info.chatTemplate);
    const messages = [{ role: "user", content: "What is in the picture?" }];
    const on = t.render({ messages, add_generation_prompt: true });
    const off = t.render({ messages, add_generation_prompt: true, enable_thinking: false });
    assert.equal(on, PROMPT);
    assert.equal(
      off,
      "[gMASK]<sop><|user|>\nWhat is in the picture?/nothink<|assistant|>\n<think></think>\n",
    );
    assert.equal((await run(engine, off)).result.text, SCRIPT);
  });

  test("thinking budget forces </think> and the answer follows", async () => {
    const { result, streamed } = await run(engine, PROMPT, { ...greedy, thinkingBudget: 3 });
    assert.equal(result.text, "<think>Let me look</think>\nThe answer is <|begin_of_box|>42<|end_of_box|>.");
    assert.equal(streamed, result.text);
    assert.equal(result.thinkingTruncated, true);
    assert.equal(result.finishReason, "stop");
    const roomy = await run(engine, PROMPT, { ...greedy, thinkingBudget: 100 });
    assert.equal(roomy.result.text, SCRIPT);
    assert.equal(roomy.result.thinkingTruncated, false);
  });

  test("stop strings end the text before the match, also across tokens, without leaking it", async () => {
    const a = await run(engine, PROMPT, { ...greedy, stop: ["answer"] });
    assert.equal(a.result.text, "<think>Let me look at the picture.</think>\nThe ");
    assert.equal(a.streamed, a.result.text);
    assert.equal(a.result.finishReason, "stop");
    const b = await run(engine, PROMPT, { ...greedy, stop: ["picture.</think>", "zzz"] });
    assert.equal(b.result.text, "<think>Let me look at the ");
    assert.equal(b.streamed, b.result.text);
  });

  test("max tokens ends with finish reason length", async () => {
    const { result } = await run(engine, PROMPT, { ...greedy, maxTokens: 4 });
    assert.equal(result.finishReason, "length");
    assert.equal(result.usage.completionTokens, 4);
    assert.equal(result.text, "<think>Let me look");
  });

  test("reuses the KV cache for a shared prefix", async () => {
    const first = await run(engine, PROMPT);
    const follow = `${PROMPT}The answer is 42.<|user|>\nAnd why?<|assistant|>\n`;
    const second = await run(engine, follow);
    const n = await engine.countTokens(PROMPT);
    assert.equal(first.result.text, SCRIPT);
    assert.equal(second.result.text, SCRIPT);
    assert.ok(
      (second.result.usage.cachedPromptTokens ?? 0) >= n,
      `cached ${second.result.usage.cachedPromptTokens}`,
    );
    assert.equal(second.result.usage.promptTokens, await engine.countTokens(follow));
    // The very same prompt again decodes only its last token.
    const again = await run(engine, follow);
    assert.equal(again.result.usage.cachedPromptTokens, again.result.usage.promptTokens - 1);
    assert.equal(again.result.text, SCRIPT);
  });

  test("a prompt longer than the context is a clear error and the engine keeps working", async () => {
    const long = `${PROMPT}${"word ".repeat(400)}`;
    await assert.rejects(run(engine, long), (e: unknown) => {
      assert.ok(e instanceof PromptTooLongError);
      assert.match(e.message, /--context-size/);
      return true;
    });
    assert.equal((await run(engine, PROMPT)).result.text, SCRIPT);
  });

  test("media without a vision projector, or a marker/media mismatch, is a clear error", async () => {
    const img: PreparedImage = {
      kind: "image",
      width: 28,
      height: 28,
      data: new Uint8Array(28 * 28 * 3),
      originalWidth: 28,
      originalHeight: 28,
    };
    const withImage = "[gMASK]<sop><|user|>\n<|begin_of_image|><|image|><|end_of_image|>Hi<|assistant|>\n";
    const gen = async (prompt: string, media: PreparedImage[]) => {
      for await (const _ of engine.generate({ prompt, media, options: greedy })) {
        // drain
      }
    };
    await assert.rejects(
      gen(withImage, [img]),
      (e: unknown) => e instanceof MediaInputError && /mmproj/.test(e.message),
    );
    await assert.rejects(gen(PROMPT, [img]), /0 media markers .* 1 media items/);
  });

  test("counts tokens with special tokens parsed", async () => {
    assert.equal(await engine.countTokens("[gMASK]<sop><|user|>"), 3);
  });
});

describe("thinking budget for the GLM-4.1V family", () => {
  test("forces </think><answer> and continues the answer", async () => {
    const path = writeTinyModel(join(dir, "s41"), {
      script: SCRIPT_41V,
      family: "glm-4.1v-thinking",
    }).modelPath;
    const e41 = await loadEmbeddedEngine({ model: path, contextSize: 128, threads: 1 });
    try {
      assert.equal(e41.info.family, "glm-4.1v-thinking");
      const { result } = await run(e41, PROMPT, { ...greedy, thinkingBudget: 2 });
      assert.equal(result.text, "<think>One two</think><answer>Yes.</answer>");
      assert.equal(result.thinkingTruncated, true);
    } finally {
      await e41.close();
    }
  });
});

describe("abort", () => {
  test("an abort mid-generation ends the stream within 100 ms", async () => {
    const path = writeTinyModel(join(dir, "loop"), { script: "tick tock", loop: true }).modelPath;
    const loop = await loadEmbeddedEngine({ model: path, contextSize: 4096, threads: 1 });
    try {
      const ac = new AbortController();
      let abortedAt = 0;
      let pieces = 0;
      let result: GenerateResult | undefined;
      for await (const ev of loop.generate({ prompt: PROMPT, media: [], options: greedy }, ac.signal)) {
        if (ev.type === "text" && ++pieces === 3) {
          abortedAt = performance.now();
          ac.abort();
        }
        if (ev.type === "done") result = ev.result;
      }
      const latency = performance.now() - abortedAt;
      assert.equal(result?.finishReason, "abort");
      assert.ok(latency < 100, `abort took ${latency.toFixed(1)} ms`);
      assert.ok((result?.usage.completionTokens ?? 0) < 4000);
      // Aborted before the start: nothing is generated; the engine stays usable.
      const pre = new AbortController();
      pre.abort();
      const r = await run(loop, PROMPT, greedy, pre.signal);
      assert.equal(r.result.finishReason, "abort");
      assert.equal(r.result.usage.completionTokens, 0);
      const short = await run(loop, PROMPT, { ...greedy, maxTokens: 3 });
      assert.equal(short.result.text, "tick tocktick");
    } finally {
      await loop.close();
    }
  });
});

describe("abort during prefill", () => {
  test("llama.cpp's in-graph check ends a long prefill within 100 ms and keeps the finished batches", async () => {
    const shape = { embd: 256, layers: 4, heads: 8, kvHeads: 2, headDim: 32, ffn: 512 };
    const path = writeTinyModel(join(dir, "mid"), { shape }).modelPath;
    const mid = await loadEmbeddedEngine({ model: path, contextSize: 4096, threads: 1 });
    try {
      const prompt = `[gMASK]<sop>${" the".repeat(2000)}`;
      const ac = new AbortController();
      let abortedAt = 0;
      let result: GenerateResult | undefined;
      const timer = setTimeout(() => {
        abortedAt = performance.now();
        ac.abort();
      }, 60);
      for await (const ev of mid.generate(
        { prompt, media: [], options: { ...greedy, maxTokens: 1 } },
        ac.signal,
      )) {
        if (ev.type === "done") result = ev.result;
      }
      clearTimeout(timer);
      assert.equal(result?.finishReason, "abort");
      const latency = performance.now() - abortedAt;
      assert.ok(latency < 100, `abort took ${latency.toFixed(1)} ms`);
      // The next request reuses the batches that were complete before the abort.
      const { result: next } = await run(mid, prompt, { ...greedy, maxTokens: 1 });
      assert.equal(next.finishReason, "length");
      assert.equal((next.usage.cachedPromptTokens ?? 0) % 512, 0);
    } finally {
      await mid.close();
    }
  });
});

describe("context limit", () => {
  test("generation that fills the context ends with finish reason length", async () => {
    const path = writeTinyModel(join(dir, "loop-small"), { script: "tick tock", loop: true }).modelPath;
    const small = await loadEmbeddedEngine({ model: path, contextSize: 32, threads: 1 });
    try {
      const { result } = await run(small, PROMPT);
      assert.equal(result.finishReason, "length");
      // llama.cpp rounds the context up (to 256 cells here); the engine reports and uses the real size.
      assert.equal(result.usage.promptTokens + result.usage.completionTokens, small.info.contextSize);
    } finally {
      await small.close();
    }
  });
});

describe("bad model files never crash the process", () => {
  test("truncated, foreign, missing and mmproj-as-model files are InvalidModelErrors", async () => {
    const bytes = readFileSync(model);
    const cut = join(dir, "cut.gguf");
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await assert.rejects(loadEmbeddedEngine({ model: cut }), (e: unknown) => {
      assert.ok(e instanceof InvalidModelError);
      assert.match(e.message, /truncated/);
      return true;
    });
    const junk = join(dir, "junk.gguf");
    writeFileSync(junk, "this is not a model file at all, just some text");
    await assert.rejects(loadEmbeddedEngine({ model: junk }), /not a GGUF file/);
    await assert.rejects(loadEmbeddedEngine({ model: join(dir, "nope.gguf") }), InvalidModelError);
    const clip = join(dir, "clip.gguf");
    writeGguf(clip, { metadata: { "general.architecture": gv.str("clip") }, tensors: [] });
    await assert.rejects(loadEmbeddedEngine({ model: clip }), /vision projector/);
    const llama = join(dir, "llama.gguf");
    writeGguf(llama, { metadata: { "general.architecture": gv.str("llama") }, tensors: [] });
    await assert.rejects(loadEmbeddedEngine({ model: llama }), /expected glm4/);
    // A model whose token table disagrees with its embedding matrix.
    const copy = join(dir, "copy.gguf");
    copyFileSync(model, copy);
    await assert.rejects(loadEmbeddedEngine({ model: model, mmproj: copy }), /expected an mmproj/);
  });

  test("close is final and idempotent", async () => {
    const e = await loadEmbeddedEngine({ model, contextSize: 64, threads: 1 });
    await e.close();
    await e.close();
    await assert.rejects(run(e, PROMPT), EngineClosedError);
  });
});

describe("images and video through the vision hook", () => {
  test("image rows are fed at 3-D positions, cached across calls, and video pairs expand", async (t) => {
    let writeTinyMmproj:
      | ((path: string, o: { textEmbeddingLength: number; seed: number }) => unknown)
      | undefined;
    try {
      ({ writeTinyMmproj } = await import("./vision/index.ts"));
    } catch {
      t.skip("vision module not present");
      return;
    }
    const mmproj = join(dir, "mmproj.gguf");
    writeTinyMmproj!(mmproj, { textEmbeddingLength: 64, seed: 3 });
    const narrow = join(dir, "mmproj-32.gguf");
    writeTinyMmproj!(narrow, { textEmbeddingLength: 32, seed: 3 });
    await assert.rejects(loadEmbeddedEngine({ model, mmproj: narrow }), /outputs 32-wide/);
    const ve = await loadEmbeddedEngine({ model, mmproj, contextSize: 256, threads: 1 });
    try {
      assert.equal(ve.info.vision, true);
      const img = (seed: number): PreparedImage => ({
        kind: "image",
        width: 56,
        height: 84,
        data: new Uint8Array(56 * 84 * 3).map((_, i) => (i * seed) % 251),
        originalWidth: 56,
        originalHeight: 84,
      });
      const prompt =
        "[gMASK]<sop><|user|>\n<|begin_of_image|><|image|><|end_of_image|>What is it?<|assistant|>\n";
      const go = async (p: string, media: GenerateRequestMedia) => {
        let result: GenerateResult | undefined;
        for await (const ev of ve.generate({ prompt: p, media, options: greedy }))
          if (ev.type === "done") result = ev.result;
        return result!;
      };
      const first = await go(prompt, [img(7)]);
      assert.equal(first.text, SCRIPT);
      // One <|image|> marker becomes 3×2 = 6 embedding rows.
      assert.equal(first.usage.promptTokens, (await ve.countTokens(prompt)) - 1 + 6);
      assert.ok(first.timings.visionMs > 0);
      const again = await go(prompt, [img(7)]);
      assert.equal(again.timings.visionMs, 0, "a cached image is not encoded again");
      assert.equal(again.usage.cachedPromptTokens, again.usage.promptTokens - 1);
      const other = await go(prompt, [img(11)]);
      assert.ok(other.timings.visionMs > 0, "a different image is encoded");
      assert.ok((other.usage.cachedPromptTokens ?? 0) <= 5, "the cache is cut before the changed image");
      const video = prompt.replace(
        "<|begin_of_image|><|image|><|end_of_image|>",
        "<|begin_of_video|><|video|><|end_of_video|>",
      );
      const pair = (ts: number) => ({
        frames: [img(5), img(9)] as [PreparedImage, PreparedImage],
        timestamp: ts,
      });
      const v = await go(video, [
        { kind: "video", pairs: [pair(0), pair(1)], duration: 2, originalWidth: 56, originalHeight: 84 },
      ]);
      assert.equal(v.text, SCRIPT);
      // Per pair: <|begin_of_image|> + 6 rows + <|end_of_image|> + "0.0 seconds" text; the <|video|> marker goes.
      assert.ok(v.usage.promptTokens > (await ve.countTokens(video)) + 2 * 8);
    } finally {
      await ve.close();
    }
  });
});

type GenerateRequestMedia = Parameters<EmbeddedEngine["generate"]>[0]["media"];
