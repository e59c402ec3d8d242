import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type BenchOptions, formatTable, runBench } from "../../server/bench.ts";
import { type Command, UsageError } from "../command.ts";
import { intOption, numberOption } from "../open-model.ts";

const help = `Usage: glmv bench serve --base-url URL [options]

Load-test an OpenAI-compatible chat server (glmv, vLLM, SGLang) with the metric definitions of
\`vllm bench serve\`: TTFT, TPOT, ITL and end-to-end latency (mean, median, p99), request and token
throughput, peak output tokens/s and peak concurrency. Requests are generated: a text prompt plus, with
--images, random images sent as data: URIs.

Options:
  --base-url URL          API base, e.g. http://127.0.0.1:8080/v1 (required).
  --api-key KEY           Bearer key (also $GLMV_API_KEY).
  --model ID              Model id to request (default: the server's default).
  --num-prompts N         Requests to send (default 100).
  --max-concurrency N     Most requests in flight (default: unlimited).
  --request-rate R        Requests per second, Gamma-distributed arrivals (default inf: all at once).
  --burstiness B          Gamma shape of the arrivals; 1 = Poisson (default 1).
  --max-tokens N          max_completion_tokens per request (default 128).
  --input-words N         Words of prompt text (default 32).
  --images N              Images per request (default 0).
  --image-size WxH        Size of the generated images (default 512x512).
  --ignore-eos            Send ignore_eos (vLLM) so every request generates --max-tokens.
  --no-thinking           Send chat_template_kwargs.enable_thinking = false.
  --percentiles LIST      Percentiles to report, comma-separated (default 99).
  --seed N                Seed of the generated prompts and arrivals (default 0).
  --json FILE             Also write the result object (vLLM's key names) to FILE ("-" for stdout only).

Examples:
  glmv bench serve --base-url http://127.0.0.1:8080/v1 --num-prompts 64 --max-concurrency 8
  glmv bench serve --base-url http://gpu1:8000/v1 --request-rate 4 --images 2 --image-size 1280x720 --json out.json
`;

async function benchServe(argv: string[], io: Parameters<Command["run"]>[1]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      "base-url": { type: "string" },
      "api-key": { type: "string" },
      model: { type: "string" },
      "num-prompts": { type: "string" },
      "max-concurrency": { type: "string" },
      "request-rate": { type: "string" },
      burstiness: { type: "string" },
      "max-tokens": { type: "string" },
      "input-words": { type: "string" },
      images: { type: "string" },
      "image-size": { type: "string" },
      "ignore-eos": { type: "boolean" },
      "no-thinking": { type: "boolean" },
      percentiles: { type: "string" },
      seed: { type: "string" },
      json: { type: "string" },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const baseUrl = values["base-url"];
  if (!baseUrl || !/^https?:\/\//.test(baseUrl))
    throw new UsageError("--base-url takes the server's API URL, e.g. http://127.0.0.1:8080/v1");
  const size = /^(\d+)x(\d+)$/.exec(values["image-size"] ?? "512x512");
  if (!size) throw new UsageError(`--image-size takes WxH, e.g. 1280x720, got "${values["image-size"]}"`);
  const rateText = values["request-rate"] ?? "inf";
  const requestRate =
    rateText === "inf" ? Number.POSITIVE_INFINITY : numberOption(rateText, "--request-rate")!;
  if (!(requestRate > 0)) throw new UsageError("--request-rate must be positive (or inf)");
  const percentiles = (values.percentiles ?? "99").split(",").map((p) => {
    const n = Number(p);
    if (!(n > 0 && n <= 100)) throw new UsageError(`--percentiles takes numbers in (0, 100], got "${p}"`);
    return n;
  });
  const options: BenchOptions = {
    baseUrl,
    apiKey: values["api-key"] ?? process.env.GLMV_API_KEY,
    model: values.model,
    numPrompts: intOption(values["num-prompts"], "--num-prompts", 1) ?? 100,
    maxConcurrency: intOption(values["max-concurrency"], "--max-concurrency", 1),
    requestRate,
    burstiness: numberOption(values.burstiness, "--burstiness") ?? 1,
    maxTokens: intOption(values["max-tokens"], "--max-tokens", 1) ?? 128,
    inputWords: intOption(values["input-words"], "--input-words", 1) ?? 32,
    images: intOption(values.images, "--images", 0) ?? 0,
    imageWidth: Number(size[1]),
    imageHeight: Number(size[2]),
    ignoreEos: values["ignore-eos"] ?? false,
    extraBody: values["no-thinking"] ? { chat_template_kwargs: { enable_thinking: false } } : undefined,
    seed: intOption(values.seed, "--seed", 0) ?? 0,
    percentiles,
  };
  if (options.burstiness <= 0) throw new UsageError("--burstiness must be positive");
  const result = await runBench(options);
  if (values.json === "-") {
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return result.completed === 0 ? 1 : 0;
  }
  io.stdout.write(formatTable(result, percentiles));
  if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
  return result.completed === 0 ? 1 : 0;
}

/** `glmv bench`: benchmarks; `glmv bench serve` load-tests a chat server. */
export const benchCommand: Command = {
  name: "bench",
  summary: "Benchmark a serving endpoint (`glmv bench serve`, vLLM's metric definitions)",
  help,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === "serve") return benchServe(rest, io);
    throw new UsageError(
      sub ? `unknown bench command "${sub}" (try serve)` : "missing bench command (serve)",
    );
  },
};
