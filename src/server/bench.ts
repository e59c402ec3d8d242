/**
 * `glmv bench serve`: a load generator for OpenAI-compatible chat servers with the metric definitions of
 * `vllm bench serve` (spec §9.6), so numbers compare with vLLM's own.
 *
 * Per request (monotonic clock): TTFT = time to the first SSE message with non-empty `choices` (the role
 * chunk on vLLM and glmv); ITL = gaps between consecutive choice-bearing messages; E2EL = time to the last
 * message; output tokens = `usage.completion_tokens` (else the number of text-bearing messages);
 * TPOT = (E2EL − TTFT)/(output − 1) when output > 1. Aggregates: mean, median, std, p99; request, output and
 * total token throughput; peak output tokens/s and peak concurrency from 1-second buckets.
 * Added: TTFT to the first reasoning and first content delta, finish-reason counts.
 */
import { readSse } from "../client/sse.ts";

/** Load-generator settings. */
export interface BenchOptions {
  /** API base, e.g. http://127.0.0.1:8080/v1 */
  baseUrl: string;
  apiKey?: string;
  model?: string;
  numPrompts: number;
  /** Requests per second; Infinity sends everything at once (then `maxConcurrency` paces it). */
  requestRate: number;
  /** Gamma shape of inter-arrival times (1 = Poisson). */
  burstiness: number;
  maxConcurrency?: number;
  maxTokens: number;
  /** Approximate words of text per prompt. */
  inputWords: number;
  /** Text put before each generated prompt. */
  promptPrefix?: string;
  /** Images per request (random-noise PNGs as data: URIs). */
  images: number;
  imageWidth: number;
  imageHeight: number;
  ignoreEos: boolean;
  /** Extra body fields (e.g. {"chat_template_kwargs": {"enable_thinking": false}}). */
  extraBody?: Record<string, unknown>;
  seed: number;
  percentiles: number[];
}

/** One request's measurements (seconds). */
export interface RequestRecord {
  success: boolean;
  error?: string;
  start: number;
  ttft: number;
  itl: number[];
  e2el: number;
  promptTokens: number;
  outputTokens: number;
  ttftReasoning: number | null;
  ttftContent: number | null;
  reasoningChunks: number;
  finishReason: string | null;
}

/** The result object (vLLM's key names, times in ms). */
export type BenchResult = Record<string, number | string | number[] | Record<string, number> | null>;

/** A seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Gamma(shape, scale) sample (Marsaglia–Tsang; shape < 1 by the boost). */
export function gamma(shape: number, scale: number, random: () => number): number {
  if (shape < 1) return gamma(shape + 1, scale, random) * random() ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      const u1 = random() || Number.MIN_VALUE;
      const u2 = random();
      x = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = random();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v)))
      return d * v * scale;
  }
}

/** numpy-style percentile (linear interpolation). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

function stats(
  values: number[],
  percentiles: number[],
): { mean: number; median: number; std: number; p: number[] } {
  if (values.length === 0) return { mean: 0, median: 0, std: 0, p: percentiles.map(() => 0) };
  const sorted = [...values].sort((a, b) => a - b);
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
  return { mean, median: percentile(sorted, 50), std, p: percentiles.map((q) => percentile(sorted, q)) };
}

const WORDS =
  "image photo cat dog street chart table document page sign car tree person window building sky river bridge text number colour left right top bottom".split(
    " ",
  );

/** Builds the request bodies (deterministic for a seed). */
export async function buildRequests(options: BenchOptions): Promise<Record<string, unknown>[]> {
  const random = rng(options.seed);
  const images: string[] = [];
  if (options.images > 0) {
    const sharp = (await import("sharp")).default;
    for (let i = 0; i < Math.min(8, options.numPrompts * options.images); i++) {
      const w = options.imageWidth;
      const h = options.imageHeight;
      const raw = Buffer.alloc(w * h * 3);
      for (let k = 0; k < raw.length; k++) raw[k] = Math.floor(random() * 256);
      const png = await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
        .jpeg({ quality: 80 })
        .toBuffer();
      images.push(`data:image/jpeg;base64,${png.toString("base64")}`);
    }
  }
  const bodies: Record<string, unknown>[] = [];
  for (let i = 0; i < options.numPrompts; i++) {
    const words = Array.from(
      { length: options.inputWords },
      () => WORDS[Math.floor(random() * WORDS.length)],
    );
    const prefix = options.promptPrefix ? `${options.promptPrefix} ` : "";
    const parts: unknown[] = [{ type: "text", text: `${prefix}${i}: ${words.join(" ")}` }];
    for (let k = 0; k < options.images; k++) {
      parts.push({ type: "image_url", image_url: { url: images[(i * options.images + k) % images.length] } });
    }
    const body: Record<string, unknown> = {
      messages: [{ role: "user", content: options.images > 0 ? parts : (parts[0] as { text: string }).text }],
      max_completion_tokens: options.maxTokens,
      stream: true,
      stream_options: { include_usage: true },
      ...options.extraBody,
    };
    if (options.model) body.model = options.model;
    if (options.ignoreEos) body.ignore_eos = true;
    bodies.push(body);
  }
  return bodies;
}

/** Sends one streaming request and measures it. */
export async function measureRequest(
  url: string,
  body: Record<string, unknown>,
  apiKey: string | undefined,
  t0: number,
): Promise<RequestRecord> {
  const record: RequestRecord = {
    success: false,
    start: (performance.now() - t0) / 1000,
    ttft: 0,
    itl: [],
    e2el: 0,
    promptTokens: 0,
    outputTokens: 0,
    ttftReasoning: null,
    ttftContent: null,
    reasoningChunks: 0,
    finishReason: null,
  };
  const started = performance.now();
  let last = started;
  let textChunks = 0;
  try {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "text/event-stream",
    };
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    const response = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
    if (!response.ok || !response.body) {
      record.error = `HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`;
      return record;
    }
    let first = true;
    for await (const data of readSse(response.body)) {
      if (data === "[DONE]") break;
      const now = performance.now();
      const json = JSON.parse(data) as {
        choices?: { delta?: Record<string, unknown>; finish_reason?: string | null }[];
        usage?: { prompt_tokens?: number; completion_tokens?: number };
        error?: { message?: string };
      };
      if (json.error) {
        record.error = json.error.message ?? "error event";
        return record;
      }
      if (json.usage) {
        record.promptTokens = json.usage.prompt_tokens ?? 0;
        record.outputTokens = json.usage.completion_tokens ?? 0;
      }
      const choice = json.choices?.[0];
      if (!choice) continue;
      if (first) {
        record.ttft = (now - started) / 1000;
        first = false;
      } else {
        record.itl.push((now - last) / 1000);
      }
      last = now;
      const delta = choice.delta ?? {};
      const reasoning = delta.reasoning_content ?? delta.reasoning;
      if (typeof reasoning === "string" && reasoning !== "") {
        record.reasoningChunks++;
        textChunks++;
        record.ttftReasoning ??= (now - started) / 1000;
      }
      if (typeof delta.content === "string" && delta.content !== "") {
        textChunks++;
        record.ttftContent ??= (now - started) / 1000;
      }
      if (choice.finish_reason) record.finishReason = choice.finish_reason;
    }
    record.e2el = (last - started) / 1000;
    if (record.outputTokens === 0) record.outputTokens = textChunks;
    record.success = true;
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    record.error =
      cause instanceof Error ? `${(error as Error).message}: ${cause.message}` : (error as Error).message;
  }
  return record;
}

/** Runs the benchmark and returns the result object. */
export async function runBench(
  options: BenchOptions,
  onProgress?: (done: number) => void,
): Promise<BenchResult> {
  const bodies = await buildRequests(options);
  const url = `${options.baseUrl.replace(/\/+$/, "")}/chat/completions`;
  const random = rng(options.seed + 1);
  const limit = options.maxConcurrency ?? Number.POSITIVE_INFINITY;
  let active = 0;
  const waiters: (() => void)[] = [];
  const acquire = async () => {
    if (active < limit) {
      active++;
      return;
    }
    await new Promise<void>((resolve) => waiters.push(resolve));
  };
  const release = () => {
    const next = waiters.shift();
    if (next) next();
    else active--;
  };
  const t0 = performance.now();
  const tasks: Promise<RequestRecord>[] = [];
  let done = 0;
  for (let i = 0; i < bodies.length; i++) {
    if (i > 0 && Number.isFinite(options.requestRate)) {
      const wait = gamma(options.burstiness, 1 / (options.requestRate * options.burstiness), random);
      await new Promise((r) => setTimeout(r, wait * 1000));
    }
    await acquire();
    tasks.push(
      measureRequest(url, bodies[i], options.apiKey, t0).finally(() => {
        release();
        onProgress?.(++done);
      }),
    );
  }
  const records = await Promise.all(tasks);
  const duration = (performance.now() - t0) / 1000;
  return summarize(records, duration, options);
}

/** Aggregates request records into vLLM's result keys (times in ms). */
export function summarize(records: RequestRecord[], duration: number, options: BenchOptions): BenchResult {
  const ok = records.filter((r) => r.success);
  const totalInput = ok.reduce((s, r) => s + r.promptTokens, 0);
  const totalOutput = ok.reduce((s, r) => s + r.outputTokens, 0);
  const ms = (v: number[]) => v.map((x) => x * 1000);
  const tpots = ok.filter((r) => r.outputTokens > 1).map((r) => (r.e2el - r.ttft) / (r.outputTokens - 1));
  const result: BenchResult = {
    duration,
    completed: ok.length,
    failed: records.length - ok.length,
    total_input_tokens: totalInput,
    total_output_tokens: totalOutput,
    request_throughput: ok.length / duration,
    output_throughput: totalOutput / duration,
    total_token_throughput: (totalInput + totalOutput) / duration,
  };
  const metrics: [string, number[]][] = [
    ["ttft", ms(ok.map((r) => r.ttft))],
    ["tpot", ms(tpots)],
    ["itl", ms(ok.flatMap((r) => r.itl))],
    ["e2el", ms(ok.map((r) => r.e2el))],
  ];
  for (const [name, values] of metrics) {
    const s = stats(values, options.percentiles);
    result[`mean_${name}_ms`] = s.mean;
    result[`median_${name}_ms`] = s.median;
    result[`std_${name}_ms`] = s.std;
    options.percentiles.forEach((p, i) => {
      result[`p${p}_${name}_ms`] = s.p[i];
    });
  }
  // Peak output tokens/s and concurrency from 1-second buckets rebuilt from TTFT and ITL.
  const buckets = new Map<number, number>();
  const concurrency = new Map<number, number>();
  for (const r of ok) {
    let t = r.start + r.ttft;
    const stamps = [t];
    for (const gap of r.itl) stamps.push((t += gap));
    const perChunk = r.outputTokens / Math.max(1, stamps.length);
    for (const s of stamps) buckets.set(Math.floor(s), (buckets.get(Math.floor(s)) ?? 0) + perChunk);
    for (let sec = Math.floor(r.start); sec <= Math.floor(r.start + r.e2el); sec++) {
      concurrency.set(sec, (concurrency.get(sec) ?? 0) + 1);
    }
  }
  result.max_output_tokens_per_s = Math.max(0, ...buckets.values());
  result.max_concurrent_requests = Math.max(0, ...concurrency.values());
  const withReasoning = ok.filter((r) => r.ttftReasoning !== null);
  const withContent = ok.filter((r) => r.ttftContent !== null);
  result.mean_ttft_reasoning_ms = withReasoning.length
    ? (withReasoning.reduce((s, r) => s + (r.ttftReasoning ?? 0), 0) / withReasoning.length) * 1000
    : null;
  result.mean_ttft_content_ms = withContent.length
    ? (withContent.reduce((s, r) => s + (r.ttftContent ?? 0), 0) / withContent.length) * 1000
    : null;
  result.reasoning_chunks = ok.reduce((s, r) => s + r.reasoningChunks, 0);
  const finish: Record<string, number> = {};
  for (const r of ok) finish[r.finishReason ?? "none"] = (finish[r.finishReason ?? "none"] ?? 0) + 1;
  result.finish_reasons = finish;
  result.ttfts = ok.map((r) => r.ttft);
  result.itls = ok.flatMap((r) => r.itl);
  result.start_times = ok.map((r) => r.start);
  const errors = records.filter((r) => !r.success).map((r) => r.error ?? "unknown");
  result.errors = errors.length ? (errors.slice(0, 5).join(" | ") as string) : null;
  return result;
}

/** The human-readable table, in the layout of `vllm bench serve`. */
export function formatTable(result: BenchResult, percentiles: number[]): string {
  const n = (key: string, digits = 2) => {
    const v = result[key];
    return typeof v === "number" ? v.toFixed(digits) : String(v);
  };
  const line = (label: string, value: string) => `${label.padEnd(40)}${value.padStart(12)}`;
  const out = [
    "============ Serving Benchmark Result ============",
    line("Successful requests:", n("completed", 0)),
    line("Failed requests:", n("failed", 0)),
    line("Benchmark duration (s):", n("duration")),
    line("Total input tokens:", n("total_input_tokens", 0)),
    line("Total generated tokens:", n("total_output_tokens", 0)),
    line("Request throughput (req/s):", n("request_throughput")),
    line("Output token throughput (tok/s):", n("output_throughput")),
    line("Peak output token throughput (tok/s):", n("max_output_tokens_per_s")),
    line("Peak concurrent requests:", n("max_concurrent_requests", 0)),
    line("Total token throughput (tok/s):", n("total_token_throughput")),
  ];
  const sections: [string, string, string][] = [
    ["Time to First Token", "ttft", "TTFT"],
    ["Time per Output Token (excl. 1st token)", "tpot", "TPOT"],
    ["Inter-token Latency", "itl", "ITL"],
    ["End-to-end Latency", "e2el", "E2EL"],
  ];
  for (const [title, key, short] of sections) {
    out.push(
      `${"-".repeat(Math.max(0, 24 - title.length / 2))}${title}${"-".repeat(Math.max(0, 25 - title.length / 2))}`.slice(
        0,
        50,
      ),
    );
    out.push(line(`Mean ${short} (ms):`, n(`mean_${key}_ms`)));
    out.push(line(`Median ${short} (ms):`, n(`median_${key}_ms`)));
    for (const p of percentiles) out.push(line(`P${p} ${short} (ms):`, n(`p${p}_${key}_ms`)));
  }
  out.push("==================================================");
  if (result.errors) out.push(`errors: ${result.errors}`);
  return `${out.join("\n")}\n`;
}
