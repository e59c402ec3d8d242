/**
 * Child-process side of the correctness oracle: runs llama.cpp's own GLM-V vision path through
 * `@fugood/llama.node` (a dev dependency that crashes the process on some bad inputs, hence the child process) and
 * prints the next-token distribution of a prompt with one image as a JSON line on stdout.
 *
 * Usage: node llamaNodeChild.ts '{"model":…,"mmproj":…,"image":…,"prompt":…,"nProbs":40}'
 */

interface OracleRequest {
  model: string;
  mmproj: string;
  /** Image file (PNG) llama.cpp decodes itself; absent for a text-only baseline. */
  image?: string;
  /** Raw prompt containing `<__media__>` once (none without an image). */
  prompt: string;
  nProbs: number;
}

/** The part of `@fugood/llama.node` this script uses. */
interface LlamaNode {
  loadModel(o: Record<string, unknown>): Promise<{
    initMultimodal(o: { path: string; use_gpu: boolean }): Promise<boolean>;
    completion(o: Record<string, unknown>): Promise<{
      completion_probabilities?: { probs: { tok_str: string; prob: number }[] }[];
      timings: { prompt_n: number };
    }>;
    release(): Promise<void>;
  }>;
}

const request = JSON.parse(process.argv[2] ?? "{}") as OracleRequest;
// A variable specifier keeps tsc out of the package: it ships .ts sources that fail our compiler settings.
const llamaNodePackage: string = "@fugood/llama.node";
const { loadModel } = (await import(llamaNodePackage)) as LlamaNode;
const ctx = await loadModel({
  model: request.model,
  n_ctx: 2048,
  n_batch: 2048,
  n_ubatch: 2048,
  n_threads: 1,
  n_parallel: 1,
  // F32 KV cache on both sides: F16 rounding of K/V would turn 1e-7 input differences into 1e-3 ones.
  cache_type_k: "f32",
  cache_type_v: "f32",
  flash_attn_type: "off",
});
if (request.image) await ctx.initMultimodal({ path: request.mmproj, use_gpu: false });
// temperature 1 with every truncation off: the reported probabilities are the softmax of the raw logits.
const result = await ctx.completion({
  prompt: request.prompt,
  ...(request.image ? { media_paths: [request.image] } : {}),
  n_predict: 1,
  n_probs: request.nProbs,
  temperature: 1,
  top_k: 0,
  top_p: 1,
  min_p: 0,
  seed: 1,
});
await ctx.release();
process.stdout.write(
  `\nORACLE ${JSON.stringify({ probs: result.completion_probabilities?.[0]?.probs ?? [], promptN: result.timings.prompt_n })}\n`,
);
