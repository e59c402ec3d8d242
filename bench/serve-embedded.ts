/**
 * The embedded server's throughput at concurrency 1, 4 and 8: a generated benchmark-size model (~344M
 * parameters, random weights, Q8_0) behind `startServer`, loaded with `glmv bench serve`'s load generator.
 * The ratio against concurrency 1 shows what serving several requests at once gains.
 *
 *   node bench/serve-embedded.ts [--threads N] [--max-tokens N] [--slots N]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadEmbeddedEngine } from "../src/engines/embedded/engine.ts";
import { writeTinyModel } from "../src/engines/tiny/model.ts";
import { createEmbeddedBackend } from "../src/runtime/embedded.ts";
import { startServer } from "../src/server/app.ts";
import { type BenchResult, runBench } from "../src/server/bench.ts";

const { values } = parseArgs({
  options: { threads: { type: "string" }, "max-tokens": { type: "string" }, slots: { type: "string" } },
});
const threads = Number(values.threads ?? availableParallelism());
const maxTokens = Number(values["max-tokens"] ?? 32);
const dir = mkdtempSync(join(tmpdir(), "glmv-bench-serve-"));
try {
  const { modelPath } = writeTinyModel(dir, { size: "bench", quant: "q8_0" });
  const engine = await loadEmbeddedEngine({ model: modelPath, threads, name: "bench" });
  const backend = createEmbeddedBackend({ engine, modelId: "bench" });
  const server = await startServer({ backend, slots: Number(values.slots ?? 8), maxWaiting: 64 });
  const rows: { concurrency: number; r: BenchResult }[] = [];
  for (const concurrency of [1, 4, 8]) {
    const base = {
      baseUrl: `${server.url}/v1`,
      requestRate: Number.POSITIVE_INFINITY,
      burstiness: 1,
      maxTokens,
      inputWords: 24,
      images: 0,
      imageWidth: 0,
      imageHeight: 0,
      ignoreEos: false,
      seed: concurrency,
      percentiles: [99],
      extraBody: { temperature: 0 },
    };
    await runBench({ ...base, numPrompts: 1, maxConcurrency: 1 });
    const r = await runBench({
      ...base,
      numPrompts: Math.max(8, 2 * concurrency),
      maxConcurrency: concurrency,
    });
    rows.push({ concurrency, r });
  }
  await server.close(1000);
  await backend.close();
  const f = (v: unknown, d = 1) => (typeof v === "number" ? v.toFixed(d) : String(v));
  const one = rows[0].r.output_throughput as number;
  const lines = [
    `model: generated ~344M-parameter Q8_0, ${threads} threads, max_tokens ${maxTokens}, server slots ${values.slots ?? 8}`,
    "| concurrency | requests | output tok/s | vs concurrency 1 | mean TTFT ms | mean TPOT ms | p99 E2EL ms |",
    "|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      ({ concurrency, r }) =>
        `| ${concurrency} | ${r.completed} | ${f(r.output_throughput)} | ${f((r.output_throughput as number) / one, 2)}× | ${f(r.mean_ttft_ms)} | ${f(r.mean_tpot_ms)} | ${f(r.p99_e2el_ms)} |`,
    ),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
