/**
 * Gateway overhead: the same load sent straight to an upstream and through a `glmv serve --upstream`
 * gateway in front of it, measured in the same run with `glmv bench serve`'s metrics.
 *
 * The upstream is the loopback imitation of vLLM (src/server/testing/fake-engine.ts) streaming raw GLM text
 * (so the gateway re-parses every chunk, its most expensive path) or pre-split fields (`--parsed`). Each
 * process is separate: upstream, gateway, and this load generator.
 *
 *   node bench/gateway-overhead.ts [--parsed] [--quick]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type BenchOptions, type BenchResult, runBench } from "../src/server/bench.ts";

const { values } = parseArgs({ options: { parsed: { type: "boolean" }, quick: { type: "boolean" } } });
const root = join(import.meta.dirname, "..");
const suffix = values.parsed ? "-parsed" : "";
const scale = values.quick ? 0.25 : 1;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitHealthy(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`${url}/health`);
      await r.body?.cancel();
      if (r.ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} never became healthy`);
}

const children: ChildProcess[] = [];
function start(args: string[]): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  children.push(child);
  return child;
}

const upstreamPort = await freePort();
const gatewayPort = await freePort();
const upstream = `http://127.0.0.1:${upstreamPort}`;
const gateway = `http://127.0.0.1:${gatewayPort}`;
start([join(root, "src/server/testing/fake-engine.ts"), "serve", "bench", "--port", String(upstreamPort)]);
await waitHealthy(upstream);
start([
  join(root, "bin/glmv.ts"),
  "serve",
  "--upstream",
  upstream,
  "--dialect",
  "vllm",
  "--port",
  String(gatewayPort),
  "--slots",
  "512",
  "--queue",
  "1024",
]);
await waitHealthy(gateway);

function options(baseUrl: string, over: Partial<BenchOptions>): BenchOptions {
  return {
    baseUrl: `${baseUrl}/v1`,
    numPrompts: 100,
    requestRate: Number.POSITIVE_INFINITY,
    burstiness: 1,
    maxTokens: 1024,
    inputWords: 16,
    images: 0,
    imageWidth: 64,
    imageHeight: 64,
    ignoreEos: false,
    seed: 0,
    percentiles: [50, 99],
    ...over,
  };
}

interface Scenario {
  name: string;
  chunks: number;
  delayMs: number;
  concurrency: number;
  prompts: number;
}

const scenarios: Scenario[] = [
  {
    name: "short answers, 1 stream (per-request cost)",
    chunks: 8,
    delayMs: 0,
    concurrency: 1,
    prompts: Math.round(300 * scale),
  },
  {
    name: "long answers, 1 stream (per-chunk cost)",
    chunks: 512,
    delayMs: 0,
    concurrency: 1,
    prompts: Math.round(40 * scale),
  },
  {
    name: "64 streams at 50 tok/s each (paced like a GPU engine)",
    chunks: 100,
    delayMs: 20,
    concurrency: 64,
    prompts: Math.round(256 * scale),
  },
  {
    name: "64 streams, upstream as fast as it can",
    chunks: 256,
    delayMs: 0,
    concurrency: 64,
    prompts: Math.round(256 * scale),
  },
];

const results: { scenario: Scenario; direct: BenchResult; gateway: BenchResult }[] = [];
for (const scenario of scenarios) {
  const over = {
    numPrompts: scenario.prompts,
    maxConcurrency: scenario.concurrency,
    promptPrefix: `bench-${scenario.chunks}-${scenario.delayMs}${suffix}`,
  };
  // Warm both paths, then alternate direct / gateway twice and keep the better run of each.
  await runBench(options(upstream, { ...over, numPrompts: Math.min(16, scenario.prompts) }));
  await runBench(options(gateway, { ...over, numPrompts: Math.min(16, scenario.prompts) }));
  const runs = { direct: [] as BenchResult[], gateway: [] as BenchResult[] };
  for (let round = 0; round < 2; round++) {
    runs.direct.push(await runBench(options(upstream, over)));
    runs.gateway.push(await runBench(options(gateway, over)));
  }
  const best = (list: BenchResult[]) =>
    list.reduce((a, b) => ((a.median_e2el_ms as number) <= (b.median_e2el_ms as number) ? a : b));
  results.push({ scenario, direct: best(runs.direct), gateway: best(runs.gateway) });
}

for (const c of children) c.kill("SIGTERM");

const f = (v: unknown, d = 2) => (typeof v === "number" ? v.toFixed(d) : String(v));
const lines: string[] = [];
lines.push(`upstream mode: ${values.parsed ? "pre-parsed fields" : "raw GLM text (gateway re-parses)"}`);
lines.push("| scenario | metric | direct | gateway | added / ratio |");
lines.push("|---|---|---:|---:|---:|");
const [short, long] = results;
const addedPerRequest = (short.gateway.median_e2el_ms as number) - (short.direct.median_e2el_ms as number);
const addedLong = (long.gateway.median_e2el_ms as number) - (long.direct.median_e2el_ms as number);
const perChunk = (addedLong - addedPerRequest) / (long.scenario.chunks - short.scenario.chunks);
for (const { scenario, direct, gateway: gw } of results) {
  const name = scenario.name;
  lines.push(
    `| ${name} | median E2EL ms | ${f(direct.median_e2el_ms)} | ${f(gw.median_e2el_ms)} | +${f((gw.median_e2el_ms as number) - (direct.median_e2el_ms as number), 3)} ms |`,
  );
  lines.push(
    `| ${name} | median TTFT ms | ${f(direct.median_ttft_ms)} | ${f(gw.median_ttft_ms)} | +${f((gw.median_ttft_ms as number) - (direct.median_ttft_ms as number), 3)} ms |`,
  );
  lines.push(
    `| ${name} | median ITL ms | ${f(direct.median_itl_ms, 3)} | ${f(gw.median_itl_ms, 3)} | +${f((gw.median_itl_ms as number) - (direct.median_itl_ms as number), 3)} ms |`,
  );
  lines.push(
    `| ${name} | output tok/s | ${f(direct.output_throughput, 0)} | ${f(gw.output_throughput, 0)} | ${f(((gw.output_throughput as number) / (direct.output_throughput as number)) * 100, 1)} % |`,
  );
  if ((direct.failed as number) > 0 || (gw.failed as number) > 0)
    lines.push(`| ${name} | failed | ${direct.failed} | ${gw.failed} | |`);
}
lines.push("");
lines.push(`added per request (p50 E2EL, 8-chunk answers): ${addedPerRequest.toFixed(3)} ms (goal < 1 ms)`);
lines.push(`added per streamed chunk ((Δ512 − Δ8) / 504): ${perChunk.toFixed(4)} ms (goal < 0.1 ms)`);
const paced = results[2];
lines.push(
  `throughput at 64 paced streams: ${(((paced.gateway.output_throughput as number) / (paced.direct.output_throughput as number)) * 100).toFixed(1)} % of direct (goal >= 95 %)`,
);
process.stdout.write(`${lines.join("\n")}\n`);
process.exit(0);
