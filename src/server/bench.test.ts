import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { main } from "../cli/main.ts";
import { startServer } from "./app.ts";
import {
  type BenchOptions,
  formatTable,
  gamma,
  percentile,
  type RequestRecord,
  rng,
  runBench,
  summarize,
} from "./bench.ts";
import { FakeUpstream } from "./testing/fake-upstream.ts";
import { scriptFor } from "./testing/scripts.ts";
import { createUpstreamBackend } from "./upstream/backend.ts";

const options = (over: Partial<BenchOptions> = {}): BenchOptions => ({
  baseUrl: "http://127.0.0.1:1/v1",
  numPrompts: 4,
  requestRate: Number.POSITIVE_INFINITY,
  burstiness: 1,
  maxTokens: 16,
  inputWords: 8,
  images: 0,
  imageWidth: 64,
  imageHeight: 64,
  ignoreEos: false,
  seed: 0,
  percentiles: [50, 99],
  ...over,
});

describe("bench metrics", () => {
  it("computes TPOT, ITL, throughput and peaks with vLLM's definitions", () => {
    const record = (start: number, ttft: number, itl: number[], out: number): RequestRecord => ({
      success: true,
      start,
      ttft,
      itl,
      e2el: ttft + itl.reduce((s, v) => s + v, 0),
      promptTokens: 10,
      outputTokens: out,
      ttftReasoning: null,
      ttftContent: ttft,
      reasoningChunks: 0,
      finishReason: "stop",
    });
    const r = summarize([record(0, 0.1, [0.05, 0.05, 0.1], 4), record(0.5, 0.2, [0.1], 2)], 2, options());
    assert.equal(r.completed, 2);
    assert.equal(r.total_output_tokens, 6);
    assert.equal(r.output_throughput, 3);
    assert.equal(r.total_token_throughput, 13);
    // TPOT = (E2EL − TTFT)/(out − 1): (0.2/3, 0.1/1) → mean 0.0833 s
    assert.ok(Math.abs((r.mean_tpot_ms as number) - 83.333) < 0.01);
    assert.ok(Math.abs((r.median_itl_ms as number) - 75) < 1e-9);
    assert.equal(r.max_concurrent_requests, 2);
    assert.equal(r.max_output_tokens_per_s, 6);
    assert.match(formatTable(r, [50, 99]), /Successful requests:\s+2/);
  });

  it("draws Gamma arrivals with the requested mean and reads percentiles like numpy", () => {
    const random = rng(1);
    let sum = 0;
    for (let i = 0; i < 4000; i++) sum += gamma(0.5, 1 / (4 * 0.5), random);
    assert.ok(Math.abs(sum / 4000 - 0.25) < 0.02, `mean ${sum / 4000}`);
    assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
    assert.ok(Math.abs(percentile([1, 2, 3, 4], 99) - 3.97) < 1e-12);
  });
});

describe("glmv bench serve", () => {
  it("load-tests a glmv server with multimodal requests and reports JSON", async () => {
    const fake = await FakeUpstream.start({ respond: scriptFor });
    const backend = await createUpstreamBackend({ upstreams: [{ url: fake.url }], healthIntervalMs: 0 });
    const server = await startServer({ backend, slots: 4 });
    try {
      const r = await runBench(
        options({ baseUrl: `${server.url}/v1`, numPrompts: 6, maxConcurrency: 3, images: 1 }),
      );
      assert.equal(r.completed, 6);
      assert.equal(r.failed, 0);
      assert.equal(r.total_output_tokens, 120);
      // 1-second buckets count every request active during a second (vLLM's definition).
      assert.ok((r.max_concurrent_requests as number) >= 3);
      assert.ok((r.mean_ttft_ms as number) > 0);
      const sent = fake.requests.at(-1) as { messages: { content: { type: string }[] }[] };
      assert.deepEqual(
        sent.messages[0].content.map((p) => p.type),
        ["text", "image_url"],
      );
      let out = "";
      const io = {
        stdin: process.stdin,
        stdout: {
          write: (s: string) => {
            out += s;
            return true;
          },
        } as unknown as NodeJS.WritableStream,
        stderr: process.stderr,
      };
      const code = await main(
        [
          "bench",
          "serve",
          "--base-url",
          `${server.url}/v1`,
          "--num-prompts",
          "3",
          "--request-rate",
          "100",
          "--json",
          "-",
        ],
        io,
      );
      assert.equal(code, 0);
      const json = JSON.parse(out) as Record<string, unknown>;
      assert.equal(json.completed, 3);
      for (const key of [
        "mean_ttft_ms",
        "median_tpot_ms",
        "p99_itl_ms",
        "request_throughput",
        "ttfts",
        "itls",
        "start_times",
      ]) {
        assert.ok(key in json, key);
      }
    } finally {
      await server.close(100);
      await backend.close();
      await fake.kill();
    }
  });
});
