/**
 * Tiny GLM-V text models (arch `glm4`, the keys and tensors of engine-notes §2.1, M-RoPE on) for tests and
 * benchmarks: seeded random weights, a real byte-level BPE vocabulary with the GLM special tokens, and our own chat
 * template. The scripted variant is a bigram machine: whatever the prompt, greedy decoding emits the script.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type GgmlTypeName, type GgufTensorSpec, type GgufValue, gv, writeGguf } from "../../gguf/index.ts";
import type { FamilyId } from "../../protocol/families.ts";
import { splitScript } from "./script.ts";
import { TINY_TEMPLATE_41V, TINY_TEMPLATE_46V } from "./templates.ts";
import {
  addTextToken,
  addUserToken,
  buildBaseVocab,
  padVocab,
  type TinyVocab,
  TokenType,
} from "./tokenizer.ts";

/**
 * User-defined tokens of scripted models: the generation prompts of our templates end in one of these, so a
 * prompt never ends in a token the script uses (a bare "\n" piece stays usable in scripts).
 */
export const SCRIPTED_PROMPT_ENDS = ["<|assistant|>\n", "</think>\n"] as const;

/** Shape of a generated decoder. */
export interface TinyShape {
  embd: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ffn: number;
  /** Vocabulary size (padded with unused tokens); 0 = as built. */
  vocab: number;
  context: number;
}

/** The test size: 64 wide, 2 layers. */
export const TINY_SHAPE: TinyShape = {
  embd: 64,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  headDim: 16,
  ffn: 128,
  vocab: 0,
  context: 4096,
};
/** The benchmark size (~344M parameters, as engine-notes §1): hidden 1024, 16 layers, vocab 32,768. */
export const BENCH_SHAPE: TinyShape = {
  embd: 1024,
  layers: 16,
  heads: 16,
  kvHeads: 2,
  headDim: 128,
  ffn: 4096,
  vocab: 32768,
  context: 4096,
};

/** Weight storage of the generated matrices. */
export type TinyQuant = "f32" | "f16" | "q8_0" | "q4_0";

/** Options of `buildTinyModel` / `writeTinyModel`. */
export interface TinyModelOptions {
  family?: FamilyId;
  size?: "tiny" | "bench";
  quant?: TinyQuant;
  /** The exact text greedy decoding emits (then `<|endoftext|>`), for any prompt. */
  script?: string;
  /** Scripted models only: after the last piece start again instead of ending (for abort tests). */
  loop?: boolean;
  seed?: number;
  /** Overrides of the shape (tests). */
  shape?: Partial<TinyShape>;
}

/** The scripted model's pieces and their token ids, for tests that need to know them. */
export interface TinyModelDescription {
  family: FamilyId;
  shape: TinyShape;
  vocab: TinyVocab;
  /** Script token ids in emission order (empty for random models). */
  scriptTokens: number[];
  parameters: number;
}

const QUANT_TYPE: Record<TinyQuant, GgmlTypeName> = { f32: "F32", f16: "F16", q8_0: "Q8_0", q4_0: "Q4_0" };
const FILE_TYPE: Record<TinyQuant, number> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7 };

/** Seeded PRNG (mulberry32) → uniform floats in [−scale, scale). */
function randomFill(n: number, seed: number, scale: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

/** M-RoPE sections for `nRot` rotary dims, in the proportions of GLM-4.1V's [8, 12, 12, 0]. */
export function mropeSections(nRot: number): number[] {
  const half = nRot / 2;
  const h = Math.floor((half * 12) / 32);
  return [half - 2 * h, h, h, 0];
}

/** The template a family's tiny model carries. */
export function tinyTemplate(family: FamilyId): string {
  return family === "glm-4.1v-thinking" ? TINY_TEMPLATE_41V : TINY_TEMPLATE_46V;
}

/** Builds the GGUF contents of a tiny model (nothing is written). */
export function buildTinyModel(options: TinyModelOptions = {}): {
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorSpec[];
  description: TinyModelDescription;
} {
  const family = options.family ?? "glm-4.6v-flash";
  const quant = options.quant ?? (options.size === "bench" ? "q4_0" : "f32");
  const seed = options.seed ?? 1234;
  const vocab = buildBaseVocab();
  let shape: TinyShape = { ...(options.size === "bench" ? BENCH_SHAPE : TINY_SHAPE), ...options.shape };

  // Script pieces → token ids (special pieces are the special tokens themselves).
  const scriptTokens: number[] = [];
  if (options.script !== undefined) {
    for (const end of SCRIPTED_PROMPT_ENDS) addUserToken(vocab, end);
    for (const p of splitScript(options.script)) {
      if (p.special) scriptTokens.push(vocab.ids.get(p.text)!);
      else if (p.variant === 0) scriptTokens.push(addTextToken(vocab, p.text));
      else scriptTokens.push(addUserToken(vocab, p.text));
    }
    // One hidden dimension per distinct script token plus one for "anything else".
    const distinct = new Set(scriptTokens).size;
    const embd = Math.max(shape.embd, Math.ceil((distinct + 1) / 32) * 32);
    if (embd !== shape.embd) shape = { ...shape, embd, heads: embd / shape.headDim };
  }
  if (shape.vocab > vocab.tokens.length) padVocab(vocab, shape.vocab);
  shape = { ...shape, vocab: vocab.tokens.length };

  const { embd, layers, heads, kvHeads, headDim, ffn } = shape;
  const nVocab = vocab.tokens.length;
  const nRot = headDim / 2;
  const eos = vocab.ids.get("<|endoftext|>")!;
  const metadata = new Map<string, GgufValue>([
    ["general.architecture", gv.str("glm4")],
    ["general.name", gv.str(`glmv-tiny-${family}${options.script !== undefined ? "-scripted" : ""}`)],
    ["general.file_type", gv.u32(FILE_TYPE[quant])],
    ["general.alignment", gv.u32(32)],
    ["glmv.family", gv.str(family)],
    ["glm4.context_length", gv.u32(shape.context)],
    ["glm4.embedding_length", gv.u32(embd)],
    ["glm4.block_count", gv.u32(layers)],
    ["glm4.feed_forward_length", gv.u32(ffn)],
    ["glm4.attention.head_count", gv.u32(heads)],
    ["glm4.attention.head_count_kv", gv.u32(kvHeads)],
    ["glm4.attention.key_length", gv.u32(headDim)],
    ["glm4.attention.value_length", gv.u32(headDim)],
    ["glm4.attention.layer_norm_rms_epsilon", gv.f32(1e-5)],
    ["glm4.rope.dimension_count", gv.u32(nRot)],
    ["glm4.rope.dimension_sections", gv.i32s(mropeSections(nRot))],
    ["glm4.rope.freq_base", gv.f32(10000)],
    ["tokenizer.ggml.model", gv.str("gpt2")],
    ["tokenizer.ggml.pre", gv.str("glm4")],
    ["tokenizer.ggml.tokens", gv.strings(vocab.tokens)],
    ["tokenizer.ggml.token_type", gv.i32s(vocab.types)],
    ["tokenizer.ggml.merges", gv.strings(vocab.merges)],
    ["tokenizer.ggml.eos_token_id", gv.u32(eos)],
    ["tokenizer.ggml.eot_token_id", gv.u32(vocab.ids.get("<|user|>")!)],
    ["tokenizer.ggml.unknown_token_id", gv.u32(eos)],
    ["tokenizer.ggml.bos_token_id", gv.u32(eos)],
    ["tokenizer.ggml.padding_token_id", gv.u32(eos)],
    ["tokenizer.ggml.add_bos_token", gv.bool(false)],
    ["tokenizer.chat_template", gv.str(tinyTemplate(family))],
  ]);

  const wType = QUANT_TYPE[quant];
  let seedN = seed;
  const rand = (n: number, scale: number) => {
    const s = seedN++;
    return () => randomFill(n, s * 7919, scale);
  };
  const ones = (n: number) => () => new Float32Array(n).fill(1);
  const zeros = (n: number) => () => new Float32Array(n);
  const scripted = options.script !== undefined;
  const wScale = (fanIn: number) => 1 / Math.sqrt(fanIn);
  const tensors: GgufTensorSpec[] = [];
  const mat = (
    name: string,
    ne: [number, number],
    data: GgufTensorSpec["data"],
    type: GgmlTypeName = wType,
  ) => tensors.push({ name, ne, type, data });
  const vec = (name: string, n: number, data: GgufTensorSpec["data"]) =>
    tensors.push({ name, ne: [n], type: "F32", data });

  if (scripted) {
    // Bigram machine. Hidden state = token embedding (every block's output projection is zero): script token k
    // is one-hot at dimension dim(k) ≥ 1, every other token one-hot at 0. output.weight maps dim(k) to the next
    // script token, dimension 0 to the first one, and the last one to <|endoftext|>.
    const dimOf = new Map<number, number>();
    for (const t of scriptTokens) if (!dimOf.has(t)) dimOf.set(t, dimOf.size + 1);
    const embdData = new Float32Array(embd * nVocab);
    for (let t = 0; t < nVocab; t++) embdData[t * embd + (dimOf.get(t) ?? 0)] = 1;
    const out = new Float32Array(embd * nVocab);
    const strength = 4;
    out[scriptTokens[0] * embd + 0] = strength;
    scriptTokens.forEach((t, i) => {
      const next = i + 1 < scriptTokens.length ? scriptTokens[i + 1] : options.loop ? scriptTokens[0] : eos;
      out[next * embd + dimOf.get(t)!] = strength;
    });
    mat("token_embd.weight", [embd, nVocab], embdData, "F32");
    vec("output_norm.weight", embd, ones(embd));
    mat("output.weight", [embd, nVocab], out, "F32");
  } else {
    mat("token_embd.weight", [embd, nVocab], rand(embd * nVocab, 1));
    vec("output_norm.weight", embd, ones(embd));
    // Special and unused tokens get zero output rows, so random models never end or emit control tokens early
    // (benchmarks decode a fixed number of steps).
    const outRand = rand(embd * nVocab, wScale(embd));
    mat("output.weight", [embd, nVocab], () => {
      const w = outRand();
      vocab.types.forEach((type, id) => {
        if (type !== TokenType.normal) w.fill(0, id * embd, (id + 1) * embd);
      });
      return w;
    });
  }
  const q = heads * headDim;
  const kv = kvHeads * headDim;
  for (let i = 0; i < layers; i++) {
    const p = `blk.${i}`;
    vec(`${p}.attn_norm.weight`, embd, ones(embd));
    mat(`${p}.attn_q.weight`, [embd, q], rand(embd * q, wScale(embd)));
    vec(`${p}.attn_q.bias`, q, rand(q, 0.02));
    mat(`${p}.attn_k.weight`, [embd, kv], rand(embd * kv, wScale(embd)));
    vec(`${p}.attn_k.bias`, kv, rand(kv, 0.02));
    mat(`${p}.attn_v.weight`, [embd, kv], rand(embd * kv, wScale(embd)));
    vec(`${p}.attn_v.bias`, kv, rand(kv, 0.02));
    mat(`${p}.attn_output.weight`, [q, embd], scripted ? zeros(q * embd) : rand(q * embd, wScale(q)));
    vec(`${p}.post_attention_norm.weight`, embd, ones(embd));
    vec(`${p}.ffn_norm.weight`, embd, ones(embd));
    mat(`${p}.ffn_up.weight`, [embd, 2 * ffn], rand(embd * 2 * ffn, wScale(embd)));
    mat(`${p}.ffn_down.weight`, [ffn, embd], scripted ? zeros(ffn * embd) : rand(ffn * embd, wScale(ffn)));
    vec(`${p}.post_ffw_norm.weight`, embd, ones(embd));
  }
  const parameters = tensors.reduce((a, t) => a + t.ne.reduce((x, y) => x * y, 1), 0);
  return { metadata, tensors, description: { family, shape, vocab, scriptTokens, parameters } };
}

/** Writes `model.gguf` of a tiny model into `outDir`; returns its path and description. */
export function writeTinyModel(
  outDir: string,
  options: TinyModelOptions = {},
): { modelPath: string; description: TinyModelDescription } {
  mkdirSync(outDir, { recursive: true });
  const { metadata, tensors, description } = buildTinyModel(options);
  const modelPath = join(outDir, "model.gguf");
  writeGguf(modelPath, { metadata, tensors });
  return { modelPath, description };
}
