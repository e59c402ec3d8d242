import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { writeTinyModel } from "../tiny/model.ts";
import type { GenerateOptions, GenerateResult } from "../types.ts";
import { type EmbeddedEngine, loadEmbeddedEngine } from "./engine.ts";
import { EngineClosedError, EngineCrashedError, PromptTooLongError } from "./errors.ts";

const dir = mkdtempSync(join(tmpdir(), "glmv-host-"));
const PROMPT = "[gMASK]<sop><|user|>\nWhat is in the picture?<|assistant|>\n";
let engine: EmbeddedEngine;

async function run(
  options: GenerateOptions,
  signal?: AbortSignal,
  onText?: (streamed: string) => void,
): Promise<{ result: GenerateResult; streamed: string }> {
  let streamed = "";
  let result: GenerateResult | undefined;
  for await (const ev of engine.generate({ prompt: PROMPT, media: [], options }, signal)) {
    if (ev.type === "text") {
      streamed += ev.text;
      onText?.(streamed);
    } else result = ev.result;
  }
  assert.ok(result);
  return { result, streamed };
}

before(async () => {
  const model = writeTinyModel(join(dir, "loop"), { script: "tick tock", loop: true }).modelPath;
  engine = await loadEmbeddedEngine({ model, contextSize: 2048, threads: 1, slots: 2, isolation: "process" });
});
after(async () => {
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("isolation 'process': llama.cpp runs in a child process and serves as in a thread", async () => {
  assert.ok(engine.pid && engine.pid !== process.pid);
  const r = await run({ temperature: 0, maxTokens: 3 });
  assert.equal(r.result.text, "tick tocktick");
  assert.equal(r.streamed, "tick tocktick");
  assert.ok((await engine.countTokens(PROMPT)) > 5);
  await assert.rejects(
    (async () => {
      for await (const _ of engine.generate({ prompt: "x ".repeat(3000), media: [], options: {} })) {
        // drain
      }
    })(),
    PromptTooLongError,
  );
});

test("an abort crosses the process boundary within 100 ms", async () => {
  const ac = new AbortController();
  let abortedAt = 0;
  const r = await run({ temperature: 0 }, ac.signal, (s) => {
    if (abortedAt === 0 && s.length > 20) {
      abortedAt = performance.now();
      ac.abort();
    }
  });
  const latency = performance.now() - abortedAt;
  assert.equal(r.result.finishReason, "abort");
  assert.ok(latency < 100, `abort took ${latency.toFixed(1)} ms`);
});

test("a crash of the engine process fails the requests in flight with 503 and the engine restarts", async () => {
  const before = engine.pid!;
  // SIGABRT is what abort() inside llama.cpp (GGML_ASSERT) raises.
  const inFlight = [0, 1].map(() =>
    run({ temperature: 0, maxTokens: 1500 }, undefined, () => {
      if (engine.pid === before) process.kill(before, "SIGABRT");
    }).then(
      () => null,
      (e: unknown) => e,
    ),
  );
  for (const e of await Promise.all(inFlight)) {
    assert.ok(e instanceof EngineCrashedError, String(e));
    assert.equal(e.status, 503);
    assert.match(e.message, /restarting, retry/);
  }
  // The next request waits for the new process and succeeds.
  const r = await run({ temperature: 0, maxTokens: 3 });
  assert.equal(r.result.text, "tick tocktick");
  assert.notEqual(engine.pid, before);
  assert.equal(engine.restarts, 1);
});

test("after close the child is gone and requests fail with EngineClosedError", async () => {
  const model = writeTinyModel(join(dir, "loop2"), { script: "tick tock", loop: true }).modelPath;
  const e = await loadEmbeddedEngine({ model, contextSize: 256, threads: 1, isolation: "process" });
  const pid = e.pid!;
  await e.close();
  assert.throws(() => process.kill(pid, 0), /ESRCH/);
  await assert.rejects(
    (async () => {
      for await (const _ of e.generate({ prompt: PROMPT, media: [], options: {} })) {
        // drain
      }
    })(),
    EngineClosedError,
  );
});

test("the server answers an engine crash with 503 (retryable), not 500", async () => {
  const { toApiError } = await import("../../server/errors.ts");
  const api = toApiError(
    new EngineCrashedError("the engine process died; it is restarting, retry the request"),
  );
  assert.equal(api.status, 503);
});
