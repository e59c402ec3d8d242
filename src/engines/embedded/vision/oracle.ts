/**
 * The correctness oracle (test support): the next-token distribution of "text, image, text" computed two ways —
 * llama.cpp's own GLM-V vision path via `@fugood/llama.node` in a child process, and our ggml vision graph fed as an
 * embedding batch at GLM-V's 3-D positions into the same text GGUF through the engine's llama.cpp binding.
 *
 * The decode loop here is deliberately minimal (one sequence, whole-prompt batches); the engine has its own.
 */

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import koffi from "koffi";
import { loadLlama, native, type Ptr } from "../binding.ts";
import type { VisionEmbeddings } from "../vision-hook.ts";
import { imageRopePositions } from "./mrope.ts";

/** One entry of llama.node's `completion_probabilities[0].probs`. */
export interface TokenProb {
  tok_str: string;
  prob: number;
}

/** What the llama.node child reports. */
export interface LlamaNodeOracleResult {
  probs: TokenProb[];
  /** Embeddings + tokens llama.cpp evaluated for the prompt. */
  promptN: number;
}

/** The oracle child failed (crashed, timed out or printed no result). */
export class OracleError extends Error {
  override name = "OracleError";
}

/** Runs llama.cpp's own vision path on `image` (a PNG path) in a child process. */
export function runLlamaNodeOracle(
  request: { model: string; mmproj: string; image?: string; prompt: string; nProbs: number },
  timeoutMs = 60_000,
): Promise<LlamaNodeOracleResult> {
  const child = fileURLToPath(new URL("./llamaNodeChild.ts", import.meta.url));
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, JSON.stringify(request)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    proc.stdout.on("data", (b) => {
      out += b;
    });
    proc.stderr.on("data", (b) => {
      err += b;
      if (err.length > 20_000) err = err.slice(-10_000);
    });
    const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
    proc.on("close", (code, signal) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith("ORACLE "));
      if (!line) {
        reject(
          new OracleError(`llama.node child ended (${signal ?? code}) without a result: ${err.slice(-600)}`),
        );
        return;
      }
      resolve(JSON.parse(line.slice(7)) as LlamaNodeOracleResult);
    });
  });
}

/** Our next-token distribution: full-vocabulary probabilities and each token's printable name. */
export interface OurDistribution {
  probs: Float64Array;
  /** Token names as llama.node prints them (`byte: \xNN` for lone high bytes). */
  names: string[];
}

/**
 * Evaluates `before` (text), the image embeddings, then `after` (text) with the text model at `modelPath`, and
 * returns the softmax of the last logits. Positions follow GLM-V's rule: text sequential, the image at
 * (p0, p0+row, p0+col), text after it from p0 + max(gridH, gridW).
 */
export function ourNextTokenDistribution(
  modelPath: string,
  before: string,
  image: VisionEmbeddings | null,
  after: string,
): OurDistribution {
  const { api } = loadLlama();
  const mp = api.llama_model_default_params() as Record<string, unknown>;
  mp.n_gpu_layers = 0;
  const model = api.llama_model_load_from_file(modelPath, mp) as Ptr | null;
  if (!model) throw new OracleError(`llama.cpp could not load ${modelPath}`);
  const cp = api.llama_context_default_params() as Record<string, unknown>;
  // F32 KV cache and no flash attention, as the oracle child uses.
  Object.assign(cp, {
    n_ctx: 2048,
    n_batch: 2048,
    n_ubatch: 2048,
    n_threads: 1,
    n_threads_batch: 1,
    type_k: 0,
    type_v: 0,
    flash_attn_type: 0,
  });
  const ctx = api.llama_init_from_model(model, cp) as Ptr | null;
  if (!ctx) {
    api.llama_model_free(model);
    throw new OracleError("llama.cpp could not create a context");
  }
  const allocs: Ptr[] = [];
  const alloc = (bytes: number) => {
    const p = native.alloc(bytes);
    allocs.push(p);
    return p;
  };
  try {
    const vocab = api.llama_model_get_vocab(model) as Ptr;
    const nEmbd = api.llama_model_n_embd(model) as number;
    if (image && image.data.length !== image.gridH * image.gridW * nEmbd) {
      throw new OracleError(`image embeddings are not ${nEmbd} wide`);
    }
    const tokenize = (text: string): Int32Array => {
      const bytes = Buffer.byteLength(text);
      const buf = new Int32Array(bytes + 8);
      const n = api.llama_tokenize(vocab, text, bytes, buf, buf.length, false, true) as number;
      if (n < 0) throw new OracleError(`tokenize failed for ${JSON.stringify(text)}`);
      return buf.slice(0, n);
    };
    // One shared seq_id array {0}, pointed to by every row.
    const seq0 = alloc(4);
    new Int32Array(native.view(seq0, 4))[0] = 0;
    const decode = (
      n: number,
      tokens: Int32Array | null,
      embd: Float32Array | null,
      pos: Int32Array,
      wantLast: boolean,
    ) => {
      const tokP = tokens ? alloc(4 * n) : null;
      if (tokP && tokens) new Int32Array(native.view(tokP, 4 * n)).set(tokens);
      const embP = embd ? alloc(4 * embd.length) : null;
      if (embP && embd) new Float32Array(native.view(embP, 4 * embd.length)).set(embd);
      const posP = alloc(4 * pos.length);
      new Int32Array(native.view(posP, 4 * pos.length)).set(pos);
      const nSeq = alloc(4 * n);
      new Int32Array(native.view(nSeq, 4 * n)).fill(1);
      const seqIds = alloc(8 * n);
      new BigUint64Array(native.view(seqIds, 8 * n)).fill(seq0);
      const logits = alloc(n);
      const lv = new Int8Array(native.view(logits, n));
      lv.fill(0);
      if (wantLast) lv[n - 1] = 1;
      const rc = api.llama_decode(ctx, {
        n_tokens: n,
        token: tokP,
        embd: embP,
        pos: posP,
        n_seq_id: nSeq,
        seq_id: seqIds,
        logits,
      }) as number;
      if (rc !== 0) throw new OracleError(`llama_decode returned ${rc}`);
    };
    const pre = tokenize(before);
    const post = tokenize(after);
    if (!image && post.length === 0) {
      decode(
        pre.length,
        pre,
        null,
        Int32Array.from(pre, (_, i) => i),
        true,
      );
    } else {
      if (pre.length > 0)
        decode(
          pre.length,
          pre,
          null,
          Int32Array.from(pre, (_, i) => i),
          false,
        );
      let next = pre.length;
      if (image) {
        const placed = imageRopePositions(pre.length, image.gridH, image.gridW);
        decode(image.gridH * image.gridW, null, image.data, placed.positions, post.length === 0);
        next = placed.next;
      }
      if (post.length > 0)
        decode(
          post.length,
          post,
          null,
          Int32Array.from(post, (_, i) => next + i),
          true,
        );
    }
    const nVocab = api.llama_vocab_n_tokens(vocab) as number;
    const lp = api.llama_get_logits_ith(ctx, -1) as Ptr;
    const logitsF = new Float32Array(koffi.view(lp as never, 4 * nVocab) as ArrayBuffer);
    let max = -Infinity;
    for (const v of logitsF) max = Math.max(max, v);
    const probs = new Float64Array(nVocab);
    let sum = 0;
    for (let i = 0; i < nVocab; i++) sum += probs[i] = Math.exp(logitsF[i] - max);
    for (let i = 0; i < nVocab; i++) probs[i] /= sum;
    const names: string[] = [];
    const piece = new Uint8Array(256);
    for (let i = 0; i < nVocab; i++) {
      const n = api.llama_token_to_piece(vocab, i, piece, piece.length, 0, true) as number;
      const b = piece.slice(0, Math.max(0, n));
      names.push(
        b.length === 1 && b[0] >= 0x80
          ? `byte: \\x${b[0].toString(16).padStart(2, "0")}`
          : Buffer.from(b).toString(),
      );
    }
    return { probs, names };
  } finally {
    for (const p of allocs) native.free(p);
    api.llama_free(ctx);
    api.llama_model_free(model);
  }
}

/** Compares llama.node's top tokens with ours by name; returns the largest probability difference. */
export function compareDistributions(
  theirs: TokenProb[],
  ours: OurDistribution,
): { maxAbs: number; maxRel: number; matched: number } {
  const byName = new Map<string, number>();
  const dup = new Set<string>();
  ours.names.forEach((n, i) => {
    if (byName.has(n)) dup.add(n);
    byName.set(n, i);
  });
  let maxAbs = 0;
  let maxRel = 0;
  let matched = 0;
  for (const { tok_str, prob } of theirs) {
    if (dup.has(tok_str)) continue;
    const i = byName.get(tok_str);
    if (i === undefined) continue;
    matched++;
    const d = Math.abs(ours.probs[i] - prob);
    maxAbs = Math.max(maxAbs, d);
    maxRel = Math.max(maxRel, d / prob);
  }
  return { maxAbs, maxRel, matched };
}
