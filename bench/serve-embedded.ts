/**
 * The embedded server's throughput at concurrency 1, 4 and 8, one request at a time (engine and server slots 1)
 * against continuous batching (engine and server slots N, default 8), in one run: a generated benchmark-size model
 * (~344M parameters, random weights, Q8_0) behind `startServer`, loaded with `glmv bench serve`'s load generator.
 * Both servers run side by side; every (concurrency, round) measures them back to back, alternating the order,
 * and the gain is the median of those paired ratios.
 *
 *   node bench/serve-embedded.ts [--threads N] [--max-tokens N] [--slots N] [--rounds N]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadEmbeddedEngine } from "../src/engines/embedded/engine.ts";
import { writeTinyModel } from "../src/engines/tiny/model.ts";
import { createEmbeddedBackend } from "../src/runtime/embedded.ts";
import { startServer } from "../src/server/app.ts";
import { type BenchResult, runBench } from "../src/server/bench.ts";

const { values } = parseArgs({
  options: {
    threads: { type: "string" },
    "max-tokens": { type: "string" },
    slots: { type: "string" },
    rounds: { type: "string" },
  },
});
const threads = Number(values.threads ?? availableParallelism());
const maxTokens = Number(values["max-tokens"] ?? 32);
const slotsN = Number(values.slots ?? 8);
const rounds = Number(values.rounds ?? 1);
const concurrencies = [1, 4, 8];

/** A server over its own engine with `slots`. */
async function serve(modelPath: string, slots: number) {
  const engine = await loadEmbeddedEngine({
    model: modelPath,
    threads,
    name: "bench",
    slots,
    contextSize: 4096,
  });
  const backend = createEmbeddedBackend({ engine, modelId: "bench" });
  const server = await startServer({ backend, slots, maxWaiting: 64 });
  return {
    url: server.url,
    async close() {
      await server.close(1000);
      await backend.close();
    },
  };
}

/** One measurement at `concurrency` against the server at `url`. */
async function measure(url: string, concurrency: number): Promise<BenchResult> {
  const base = {
    baseUrl: `${url}/v1`,
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
  return runBench({ ...base, numPrompts: Math.max(8, 2 * concurrency), maxConcurrency: concurrency });
}

const dir = mkdtempSync(join(tmpdir(), "glmv-bench-serve-"));
try {
  const { modelPath } = writeTinyModel(dir, { size: "bench", quant: "q8_0" });
  const load0 = loadavg()[0];
  // Both servers stay up; each (concurrency, round) measures slots 1 and slots N back to back, alternating which
  // goes first, so the machine's changing load hits both sides of each ratio alike.
  const one = await serve(modelPath, 1);
  const many = await serve(modelPath, slotsN);
  const rows: { round: number; concurrency: number; r1: BenchResult; rN: BenchResult; load: number }[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      for (const concurrency of concurrencies) {
        const firstOne = (round + concurrencies.indexOf(concurrency)) % 2 === 0;
        const a = await measure(firstOne ? one.url : many.url, concurrency);
        const b = await measure(firstOne ? many.url : one.url, concurrency);
        const [r1, rN] = firstOne ? [a, b] : [b, a];
        rows.push({ round, concurrency, r1, rN, load: loadavg()[0] });
      }
    }
  } finally {
    await one.close();
    await many.close();
  }
  const load1 = loadavg()[0];
  const f = (v: unknown, d = 1) => (typeof v === "number" ? v.toFixed(d) : String(v));
  const tps = (r: BenchResult) => r.output_throughput as number;
  const median = (v: number[]) => {
    const s = [...v].sort((x, y) => x - y);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const lines = [
    `model: generated ~344M-parameter Q8_0, ${threads} threads, max_tokens ${maxTokens}, context 4096, ` +
      `${cpus()[0]?.model ?? "?"}, load average ${load0.toFixed(2)} → ${load1.toFixed(2)}`,
    "",
    `| concurrency | slots 1 output tok/s (median) | slots ${slotsN} output tok/s (median) | gain (median of paired ratios) | slots 1 / ${slotsN} mean TTFT ms | slots 1 / ${slotsN} mean TPOT ms |`,
    "|---:|---:|---:|---:|---:|---:|",
  ];
  for (const c of concurrencies) {
    const at = rows.filter((x) => x.concurrency === c);
    lines.push(
      `| ${c} | ${f(median(at.map((x) => tps(x.r1))))} | ${f(median(at.map((x) => tps(x.rN))))} | ` +
        `${f(median(at.map((x) => tps(x.rN) / tps(x.r1))), 2)}× | ` +
        `${f(median(at.map((x) => x.r1.mean_ttft_ms as number)), 0)} / ${f(median(at.map((x) => x.rN.mean_ttft_ms as number)), 0)} | ` +
        `${f(median(at.map((x) => x.r1.mean_tpot_ms as number)))} / ${f(median(at.map((x) => x.rN.mean_tpot_ms as number)))} |`,
    );
  }
  lines.push(
    "",
    "samples (output tok/s, slots 1 → slots N, load average after):",
    ...rows.map(
      (x) =>
        `- round ${x.round + 1}, concurrency ${x.concurrency}: ${f(tps(x.r1))} → ${f(tps(x.rN))} (${f(tps(x.rN) / tps(x.r1), 2)}×), load ${x.load.toFixed(2)}`,
    ),
  );
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
