/**
 * The synchronous core of the embedded engine: one llama.cpp model + context driven through the koffi binding.
 * It runs inside the engine's worker thread (worker.ts) but has no thread logic itself, so it can be used directly
 * in scripts. Prompt → tokens (special tokens parsed) → media expansion (vision rows at 3-D positions) → prefix
 * reuse against the KV cache → prefill in batches → sampling loop with stops, stop strings, thinking budget and
 * abort checks.
 */
import { availableParallelism } from "node:os";
import type { FramePair, PreparedImage, PreparedMedia } from "../../media/types.ts";
import { FAMILIES, type FamilyId, thinkingCloseText } from "../../protocol/families.ts";
import { videoTimestampText } from "../../protocol/video.ts";
import type { FinishReason, GenerateOptions, GenerateResult } from "../types.ts";
import { DEVICE_TYPE_CPU, type LlamaBinding, loadLlama, native, type Ptr } from "./binding.ts";
import { DecodeError, MediaInputError, ModelLoadError, PromptTooLongError } from "./errors.ts";
import { planarPositions, type RopePositions, type RopeSpan, ropeIndex } from "./positions.ts";
import { type TextModelFacts, validateMmproj, validateTextModel } from "./validate.ts";
import type { VisionEmbeddings, VisionEncoder, VisionEncoderFactory } from "./vision-hook.ts";

/** How to open a session. */
export interface SessionOptions {
  /** Path of the text model GGUF. */
  model: string;
  /** Path of the vision projector GGUF (enables images and video). */
  mmproj?: string;
  /** Context size in tokens (default: the trained context, at most 8192). */
  contextSize?: number;
  /** Compute threads (default: all cores). */
  threads?: number;
  /** Prompt batch size (default 512, never above the context). */
  batchSize?: number;
  /** "cpu" keeps every layer on the CPU; "gpu"/"auto" offload to a GPU backend when one is loaded. */
  device?: "cpu" | "gpu" | "auto";
  /**
   * "read" (default) reads the weights into memory; "mmap" maps the file. The CPU backend repacks most weights
   * for its kernels, so with "mmap" the mapped file and the repacked copy are both resident (twice the memory,
   * same speed); "mmap" only pays off for weights that are not repacked (e.g. GPU offload).
   */
  loadMode?: "read" | "mmap";
  /** Overrides the detected family. */
  family?: FamilyId;
  /** Supplies the vision encoder (default: `./vision/index.ts`'s `createVisionEncoder`, when present). */
  visionFactory?: VisionEncoderFactory;
  /**
   * Sequences decoded together (default 1). Above 1 the context gets `n_seq_max = slots` and one KV cache shared
   * by all of them (`kv_unified`), driven by `BatchScheduler` (scheduler.ts).
   */
  slots?: number;
}

/** What a session says about itself. */
export interface SessionInfo {
  family: FamilyId;
  contextSize: number;
  batchSize: number;
  threads: number;
  vision: boolean;
  devices: string[];
  chatTemplate: string;
  embeddingWidth: number;
  vocabSize: number;
  trainedContext: number;
  /** Sequences the context can decode together (`n_seq_max`). */
  slots: number;
}

/** One generation request as the session receives it. */
export interface SessionRequest {
  prompt: string;
  media: PreparedMedia[];
  options: GenerateOptions;
}

/** A span for `LlamaSession.evaluate`: token ids, or embedding rows (row-major, raster order) of one grid. */
export type EvalSpan =
  | { kind: "text"; tokens: number[] }
  | { kind: "embeddings"; data: Float32Array; gridH: number; gridW: number };

/** A KV-cache entry: what sits at which t position (token id, or a media row key). */
interface CacheItem {
  key: number | string;
  t: number;
}

/**
 * Lays out a prompt's spans: the 3-D rotary positions of every item and its prefix-matching key (a token id, or
 * `<media key>:<row>` for an image row). Throws PromptTooLongError for an empty prompt.
 */
export function spanLayout(spans: readonly PromptSpan[]): { pos: RopePositions; keys: (number | string)[] } {
  const rope: RopeSpan[] = spans.map((s) =>
    s.kind === "text"
      ? { kind: "text", length: s.tokens.length }
      : { kind: "grid", gridH: s.gridH, gridW: s.gridW },
  );
  const keys: (number | string)[] = [];
  for (const s of spans) {
    if (s.kind === "text") keys.push(...s.tokens);
    else for (let r = 0; r < s.gridH * s.gridW; r++) keys.push(`${s.key}:${r}`);
  }
  if (keys.length === 0) throw new PromptTooLongError("the prompt is empty");
  return { pos: ropeIndex(rope), keys };
}

/** A prepared prompt: spans in order, with a key per item for prefix matching. */
export type PromptSpan =
  | { kind: "text"; tokens: number[] }
  | {
      kind: "grid";
      gridH: number;
      gridW: number;
      /** The media to encode (absent when `emb` is given up front, see `evaluate`). */
      input?: PreparedImage | FramePair;
      key: string;
      /** Filled when the span has to be decoded (a span kept from the KV cache is never encoded again). */
      emb?: VisionEmbeddings;
    };

/** `LLAMA_LOAD_MODE_NONE` (plain reads) and `LLAMA_LOAD_MODE_MMAP` of the bound llama.h. */
const LOAD_MODE_NONE = 0;
const LOAD_MODE_MMAP = 1;

/** Decode steps slower than this get the in-graph abort check (see `abortHook`). */
export const SLOW_STEP_MS = 25;

/** What `LlamaSession.internals()` hands the multi-sequence scheduler. */
export interface SessionInternals {
  binding: LlamaBinding;
  ctx: Ptr;
  vocab: Ptr;
  mem: Ptr;
  nCtx: number;
  nBatch: number;
  nEmbd: number;
  /** Ids of the special tokens the engine tracks (`<think>`, `</think>`, stop tokens…) by their text. */
  specialIds: ReadonlyMap<string, number>;
  /** The model's end tokens. */
  stopIds: ReadonlySet<number>;
  tokenize(text: string): number[];
  pieceBytes(token: number): Uint8Array;
  buildSpans(tokens: number[], media: PreparedMedia[]): PromptSpan[];
  /**
   * Encodes one grid span; `abortFlag` (that request's) is checked between encoder stages, and an abort throws an
   * error named "VisionAbortedError".
   */
  encodeSpan(span: Extract<PromptSpan, { kind: "grid" }>, abortFlag: Int32Array | null): number;
  /**
   * The same encode as a resumable job: each `next()` runs one encoder stage (the whole encode at once when the
   * encoder has no `encodeStages`); when done, `span.emb` is set and the value is the encode's milliseconds.
   * `abortFlag` is checked before every stage. `return()` on an unfinished job frees it.
   */
  encodeSpanStages(
    span: Extract<PromptSpan, { kind: "grid" }>,
    abortFlag: Int32Array | null,
  ): Generator<void, number, void>;
  buildSampler(o: GenerateOptions, promptTokens: number[]): Ptr;
}

const DEFAULTS = { temperature: 0.8, topP: 0.6, topK: 0, minP: 0, repetitionPenalty: 1, penaltyLastN: 64 };

/** Cheap content hash of media pixels (FNV-1a over a strided sample + the size), for prefix reuse keys. */
function mediaKey(img: PreparedImage): string {
  let h = 0x811c9dc5;
  const d = img.data;
  const step = Math.max(1, Math.floor(d.length / 65536));
  for (let i = 0; i < d.length; i += step) h = Math.imul(h ^ d[i], 0x01000193);
  return `${img.width}x${img.height}:${(h >>> 0).toString(16)}:${d.length}`;
}

/** One model + context, used from one thread. */
export class LlamaSession {
  readonly info: SessionInfo;
  readonly facts: TextModelFacts;
  private b: LlamaBinding;
  private model: Ptr;
  private ctx: Ptr;
  private vocab: Ptr;
  private mem: Ptr;
  private vision: VisionEncoder | null;
  private nCtx: number;
  private nBatch: number;
  private nEmbd: number;
  private cache: CacheItem[] = [];
  private nextPos = 0;
  private abortFlag: Int32Array | null = null;
  private closed = false;
  // native buffers
  private tokBuf: Ptr;
  private tokCap = 4096;
  private pieceBuf: Ptr;
  private pieceCap = 256;
  private bTokens: Ptr;
  private bPos: Ptr;
  private bNSeq: Ptr;
  private bSeqIds: Ptr;
  private bSeqZero: Ptr;
  private bLogits: Ptr;
  private bEmbd: Ptr | null = null;
  private vTokens: Int32Array;
  private vPos: Int32Array;
  private vLogits: Int8Array;
  private vEmbd: Float32Array | null = null;
  private stopIds = new Set<number>();
  private abortCb: Ptr;
  private abortHookOn = false;
  private rawKey = 0;
  private specialIds = new Map<string, number>();

  private constructor(
    b: LlamaBinding,
    facts: TextModelFacts,
    model: Ptr,
    ctx: Ptr,
    info: SessionInfo,
    vision: VisionEncoder | null,
  ) {
    this.b = b;
    this.facts = facts;
    this.model = model;
    this.ctx = ctx;
    this.info = info;
    this.vision = vision;
    const api = b.api;
    this.vocab = api.llama_model_get_vocab(model) as Ptr;
    this.mem = api.llama_get_memory(ctx) as Ptr;
    this.nCtx = info.contextSize;
    this.nBatch = info.batchSize;
    this.nEmbd = info.embeddingWidth;
    this.tokBuf = native.alloc(this.tokCap * 4);
    this.pieceBuf = native.alloc(this.pieceCap);
    const cap = this.nBatch;
    this.bTokens = native.alloc(cap * 4);
    this.bPos = native.alloc(cap * 4 * 4);
    this.bNSeq = native.alloc(cap * 4);
    this.bSeqIds = native.alloc(cap * 8);
    this.bSeqZero = native.alloc(4);
    this.bLogits = native.alloc(cap);
    this.vTokens = new Int32Array(native.view(this.bTokens, cap * 4));
    this.vPos = new Int32Array(native.view(this.bPos, cap * 16));
    this.vLogits = new Int8Array(native.view(this.bLogits, cap));
    new Int32Array(native.view(this.bNSeq, cap * 4)).fill(1);
    new Int32Array(native.view(this.bSeqZero, 4))[0] = 0;
    new BigUint64Array(native.view(this.bSeqIds, cap * 8)).fill(this.bSeqZero);
    const stopTexts = FAMILIES[info.family].stopTokens;
    for (const s of [...stopTexts, "<think>", "</think>", "<|image|>", "<|video|>"]) {
      const id = this.singleToken(s);
      if (id !== null) this.specialIds.set(s, id);
    }
    for (const s of stopTexts) {
      const id = this.specialIds.get(s);
      if (id !== undefined) this.stopIds.add(id);
    }
    this.abortCb = b.abortCallback(() => this.abortFlag !== null && Atomics.load(this.abortFlag, 0) !== 0);
  }

  /** Validates the files, loads the model, creates the context and (with an mmproj) the vision encoder. */
  static async open(opts: SessionOptions): Promise<LlamaSession> {
    const facts = validateTextModel(opts.model);
    if (opts.mmproj) validateMmproj(opts.mmproj, facts.embeddingWidth);
    const b = loadLlama(opts.device ?? "cpu");
    b.installLog();
    try {
      return await LlamaSession.openWith(b, facts, opts);
    } catch (e) {
      b.uninstallLog();
      throw e;
    }
  }

  private static async openWith(
    b: LlamaBinding,
    facts: TextModelFacts,
    opts: SessionOptions,
  ): Promise<LlamaSession> {
    const api = b.api;
    const threads = Math.max(1, Math.floor(opts.threads ?? availableParallelism()));
    const contextSize = Math.floor(opts.contextSize ?? Math.min(facts.trainedContext, 8192));
    if (!(contextSize >= 16))
      throw new ModelLoadError(`context size ${opts.contextSize} is too small (minimum 16)`);
    const slots = Math.floor(opts.slots ?? 1);
    if (!(slots >= 1 && slots <= 64)) throw new ModelLoadError(`slots must be 1…64 (got ${opts.slots})`);
    // A decode step of every slot must fit one batch.
    const batchSize = Math.max(slots, Math.min(Math.floor(opts.batchSize ?? 512), contextSize));
    const mp = api.llama_model_default_params() as Record<string, unknown>;
    mp.n_gpu_layers = opts.device === "cpu" || opts.device === undefined ? 0 : -1;
    mp.load_mode = opts.loadMode === "mmap" ? LOAD_MODE_MMAP : LOAD_MODE_NONE;
    const model = api.llama_model_load_from_file(opts.model, mp) as Ptr | null;
    if (!model) {
      throw new ModelLoadError(
        `llama.cpp could not load ${opts.model}:\n${lastLines(b.recentLog(), 8)}\nCheck the file, or download it again.`,
      );
    }
    const cp = api.llama_context_default_params() as Record<string, unknown>;
    cp.n_ctx = contextSize;
    cp.n_batch = batchSize;
    cp.n_ubatch = batchSize;
    cp.n_threads = threads;
    cp.n_threads_batch = threads;
    cp.no_perf = true;
    // "cpu" with GPU libraries loaded (an earlier "auto" engine in this thread): no large-batch ops on the GPU.
    if (mp.n_gpu_layers === 0 && b.hasGpu) cp.op_offload = false;
    cp.n_seq_max = slots;
    // One KV cache for every sequence: a long request may use the whole context while others are short.
    cp.kv_unified = slots > 1;
    const ctx = api.llama_init_from_model(model, cp) as Ptr | null;
    if (!ctx) {
      api.llama_model_free(model);
      throw new ModelLoadError(
        `llama.cpp could not create a ${contextSize}-token context:\n${lastLines(b.recentLog(), 8)}\n` +
          "Try a smaller --context-size.",
      );
    }
    let vision: VisionEncoder | null = null;
    if (opts.mmproj) {
      try {
        const factory = opts.visionFactory ?? (await defaultVisionFactory());
        if (!factory) {
          throw new MediaInputError(
            "this glmv build has no vision encoder yet; run without --mmproj for text only",
          );
        }
        vision = await factory({
          mmprojPath: opts.mmproj,
          threads,
          textEmbeddingWidth: facts.embeddingWidth,
        });
        if (vision.outputWidth !== facts.embeddingWidth) {
          throw new MediaInputError(
            `the mmproj outputs ${vision.outputWidth}-wide rows but the model is ${facts.embeddingWidth} wide`,
          );
        }
      } catch (e) {
        vision?.close();
        api.llama_free(ctx);
        api.llama_model_free(model);
        throw e;
      }
    }
    const info: SessionInfo = {
      family: opts.family ?? facts.family,
      contextSize: Number(api.llama_n_ctx(ctx)),
      batchSize,
      threads,
      vision: vision !== null,
      // The devices this session computes on: with every layer on the CPU, only the CPU.
      devices: b.devices
        .filter((d) => mp.n_gpu_layers !== 0 || d.type === DEVICE_TYPE_CPU)
        .map((d) => `${d.name} (${d.description})`),
      chatTemplate: facts.chatTemplate,
      embeddingWidth: facts.embeddingWidth,
      vocabSize: facts.vocabSize,
      trainedContext: facts.trainedContext,
      slots,
    };
    return new LlamaSession(b, facts, model, ctx, info, vision);
  }

  /**
   * The handles and helpers the multi-sequence scheduler (scheduler.ts) drives the context with. Not for other
   * callers: the scheduler and `generate`/`evaluate` must not be mixed on one session.
   */
  internals(): SessionInternals {
    return {
      binding: this.b,
      ctx: this.ctx,
      vocab: this.vocab,
      mem: this.mem,
      nCtx: this.nCtx,
      nBatch: this.nBatch,
      nEmbd: this.nEmbd,
      specialIds: this.specialIds,
      stopIds: this.stopIds,
      tokenize: (text) => this.tokenize(text),
      pieceBytes: (token) => this.pieceBytes(token),
      buildSpans: (tokens, media) => this.buildSpans(tokens, media),
      encodeSpan: (span, abortFlag) => {
        this.abortFlag = abortFlag;
        try {
          return this.encodeSpan(span);
        } finally {
          this.abortFlag = null;
        }
      },
      encodeSpanStages: (span, abortFlag) => this.encodeSpanStages(span, abortFlag),
      buildSampler: (o, promptTokens) => this.buildSampler(o, promptTokens),
    };
  }

  /** Tokenizes text with special tokens parsed (no BOS added: GLM prompts carry `[gMASK]<sop>`). */
  tokenize(text: string): number[] {
    const api = this.b.api;
    const len = Buffer.byteLength(text, "utf8");
    let n = api.llama_tokenize(this.vocab, text, len, this.tokBuf, this.tokCap, false, true) as number;
    if (n < 0) {
      native.free(this.tokBuf);
      this.tokCap = -n + 16;
      this.tokBuf = native.alloc(this.tokCap * 4);
      n = api.llama_tokenize(this.vocab, text, len, this.tokBuf, this.tokCap, false, true) as number;
    }
    if (n < 0) throw new DecodeError(`tokenization failed (${n})`);
    return Array.from(new Int32Array(native.view(this.tokBuf, n * 4)));
  }

  /** The bytes of one token, special tokens rendered as their text. */
  pieceBytes(token: number): Uint8Array {
    const api = this.b.api;
    let n = api.llama_token_to_piece(this.vocab, token, this.pieceBuf, this.pieceCap, 0, true) as number;
    if (n < 0) {
      native.free(this.pieceBuf);
      this.pieceCap = -n + 16;
      this.pieceBuf = native.alloc(this.pieceCap);
      n = api.llama_token_to_piece(this.vocab, token, this.pieceBuf, this.pieceCap, 0, true) as number;
    }
    return new Uint8Array(native.view(this.pieceBuf, Math.max(0, n))).slice();
  }

  /** Detokenizes tokens (special tokens rendered). */
  detokenize(tokens: number[]): string {
    const dec = new TextDecoder();
    let s = "";
    for (const t of tokens) s += dec.decode(this.pieceBytes(t), { stream: true });
    return s + dec.decode();
  }

  private singleToken(text: string): number | null {
    const t = this.tokenize(text);
    return t.length === 1 ? t[0] : null;
  }

  /** Number of tokens of a text (special tokens parsed). */
  countTokens(text: string): number {
    this.b.installLog();
    return this.tokenize(text).length;
  }

  /** Number of items currently in the KV cache (for tests and diagnostics). */
  get cachedItems(): number {
    return this.cache.length;
  }

  /** Forgets the KV cache. */
  clearCache(): void {
    this.b.api.llama_memory_clear(this.mem, true);
    this.cache = [];
    this.nextPos = 0;
  }

  private aborted(): boolean {
    return this.abortFlag !== null && Atomics.load(this.abortFlag, 0) !== 0;
  }

  /**
   * Expands media markers into spans: `<|image|>` → one grid; `<|video|>` → per frame pair
   * `<|begin_of_image|>` grid `<|end_of_image|>` timestamp (spec §7). Grids are sized from the prepared pixels
   * (multiples of 28); encoding happens later, only for spans the KV cache does not already hold.
   */
  private buildSpans(tokens: number[], media: PreparedMedia[]): PromptSpan[] {
    const imageId = this.specialIds.get("<|image|>");
    const videoId = this.specialIds.get("<|video|>");
    const markers = tokens.filter((t) => t === imageId || t === videoId).length;
    if (markers !== media.length) {
      throw new MediaInputError(
        `the prompt has ${markers} media markers (<|image|>/<|video|>) but ${media.length} media items were given`,
      );
    }
    if (markers > 0 && !this.vision) {
      throw new MediaInputError(
        "this model was loaded without a vision projector: pass its mmproj file (--mmproj) to use images or video",
      );
    }
    if (markers > 0 && !this.facts.multimodalRope) {
      throw new MediaInputError(
        "this GGUF lacks rope.dimension_sections (M-RoPE), so it cannot take images; use a GLM-V conversion that has it",
      );
    }
    const spans: PromptSpan[] = [];
    let text: number[] = [];
    let mi = 0;
    const flush = () => {
      if (text.length) spans.push({ kind: "text", tokens: text });
      text = [];
    };
    const grid = (img: PreparedImage, what: string) => {
      if (!(img.width >= 28 && img.height >= 28 && img.width % 28 === 0 && img.height % 28 === 0)) {
        throw new MediaInputError(
          `${what} is ${img.width}×${img.height}; prepared media must be multiples of 28`,
        );
      }
      if (img.data.length !== img.width * img.height * 3) {
        throw new MediaInputError(
          `${what} has ${img.data.length} bytes, expected ${img.width * img.height * 3} (RGB)`,
        );
      }
      return { gridH: img.height / 28, gridW: img.width / 28 };
    };
    const begin = this.singleToken("<|begin_of_image|>");
    const end = this.singleToken("<|end_of_image|>");
    for (const tok of tokens) {
      if (tok === imageId) {
        const m = media[mi++];
        if (m.kind !== "image")
          throw new MediaInputError(`media item ${mi} is a video but its marker is <|image|>`);
        flush();
        spans.push({ kind: "grid", ...grid(m, `image ${mi}`), input: m, key: `img:${mediaKey(m)}` });
      } else if (tok === videoId) {
        const m = media[mi++];
        if (m.kind !== "video")
          throw new MediaInputError(`media item ${mi} is an image but its marker is <|video|>`);
        if (begin === null || end === null)
          throw new MediaInputError("the vocabulary lacks <|begin_of_image|>");
        if (m.pairs.length === 0) throw new MediaInputError(`video ${mi} has no frames`);
        m.pairs.forEach((pair, k) => {
          const g = grid(pair.frames[0], `video ${mi} frame pair ${k}`);
          const g2 = grid(pair.frames[1], `video ${mi} frame pair ${k}`);
          if (g.gridH !== g2.gridH || g.gridW !== g2.gridW) {
            throw new MediaInputError(`video ${mi} frame pair ${k} has frames of different sizes`);
          }
          text.push(begin);
          flush();
          const key = `vid:${mediaKey(pair.frames[0])}:${mediaKey(pair.frames[1])}:${k}`;
          spans.push({ kind: "grid", ...g, input: pair, key });
          const s = pair.timestamp;
          text.push(end, ...this.tokenize(videoTimestampText(this.info.family, s)));
        });
      } else {
        text.push(tok);
      }
    }
    flush();
    return spans;
  }

  /** Runs the vision encoder on one grid span; returns the milliseconds it took. */
  private encodeSpan(span: Extract<PromptSpan, { kind: "grid" }>): number {
    const t0 = performance.now();
    if (!span.input || !this.vision)
      throw new MediaInputError("no media or no vision encoder for an image span");
    const emb = this.vision.encode(span.input, { shouldAbort: () => this.aborted() });
    this.acceptEmbeddings(span, emb);
    return performance.now() - t0;
  }

  /** `encodeSpan` as a job of encoder stages (see `SessionInternals.encodeSpanStages`). */
  private *encodeSpanStages(
    span: Extract<PromptSpan, { kind: "grid" }>,
    abortFlag: Int32Array | null,
  ): Generator<void, number, void> {
    const vision = this.vision;
    if (!span.input || !vision) throw new MediaInputError("no media or no vision encoder for an image span");
    if (!vision.encodeStages) {
      this.abortFlag = abortFlag;
      try {
        return this.encodeSpan(span);
      } finally {
        this.abortFlag = null;
      }
    }
    const shouldAbort = () => abortFlag !== null && Atomics.load(abortFlag, 0) !== 0;
    const job = vision.encodeStages(span.input, { shouldAbort });
    let ms = 0;
    try {
      for (;;) {
        const t0 = performance.now();
        const r = job.next();
        ms += performance.now() - t0;
        if (r.done) {
          this.acceptEmbeddings(span, r.value);
          return ms;
        }
        yield;
      }
    } finally {
      job.return({ data: new Float32Array(0), gridH: 0, gridW: 0 });
    }
  }

  /** Checks an encoder result against its span and stores it there. */
  private acceptEmbeddings(span: Extract<PromptSpan, { kind: "grid" }>, emb: VisionEmbeddings): void {
    if (emb.gridH !== span.gridH || emb.gridW !== span.gridW) {
      throw new MediaInputError(
        `the vision encoder returned a ${emb.gridH}×${emb.gridW} grid for a ${span.gridH}×${span.gridW} span`,
      );
    }
    if (emb.data.length !== emb.gridH * emb.gridW * this.nEmbd) {
      throw new MediaInputError(
        `the vision encoder returned ${emb.data.length} values for a ${emb.gridH}×${emb.gridW} grid`,
      );
    }
    span.emb = emb;
  }

  /**
   * Turns llama.cpp's in-graph abort check on or off. It costs one JS call per graph node (~340 per decode of the
   * benchmark model), so it is on for prefill batches and for decode steps slower than SLOW_STEP_MS only; faster
   * steps are checked between tokens, which already answers an abort within one step.
   */
  private abortHook(on: boolean): void {
    if (on === this.abortHookOn) return;
    this.abortHookOn = on;
    this.b.api.llama_set_abort_callback(this.ctx, on ? this.abortCb : null, null);
  }

  /** Decodes the staged batch; on failure drops its items (cache index `first` on) and throws. */
  private decodeOrThrow(n: number, embd: boolean, first: number): number {
    const batch = {
      n_tokens: n,
      token: embd ? null : this.bTokens,
      embd: embd ? this.bEmbd : null,
      pos: this.bPos,
      n_seq_id: this.bNSeq,
      seq_id: this.bSeqIds,
      logits: this.bLogits,
    };
    const rc = this.b.api.llama_decode(this.ctx, batch) as number;
    if (rc !== 0 && rc !== 2) {
      this.truncateCache(first);
      throw new DecodeError(
        `llama_decode failed (${rc}${rc === 1 ? ": no room in the KV cache; use a larger context" : ""})\n${lastLines(
          this.b.recentLog(),
          4,
        )}`,
      );
    }
    return rc;
  }

  /** Removes cache entries from index `from` on (KV cells with t ≥ the entry's t). */
  private truncateCache(from: number): void {
    if (from >= this.cache.length) return;
    this.b.api.llama_memory_seq_rm(this.mem, 0, this.cache[from].t, -1);
    this.nextPos = this.cache[from].t;
    this.cache.length = from;
  }

  /** Runs one generation; `emit` receives text pieces as they are final. */
  generate(req: SessionRequest, abortFlag: Int32Array | null, emit: (text: string) => void): GenerateResult {
    this.b.installLog();
    this.abortFlag = abortFlag;
    try {
      return this.run(req, emit);
    } finally {
      this.abortFlag = null;
    }
  }

  /**
   * Decodes a prompt's spans into the KV cache, keeping the common prefix with what is cached (never splitting an
   * image) and always decoding at least the last item, whose logits are then ready. Encodes only the image spans
   * that are not cached.
   */
  private prefill(spans: PromptSpan[]): {
    n: number;
    keep: number;
    promptMs: number;
    visionMs: number;
    next: number;
    aborted: boolean;
  } {
    let visionMs = 0;
    const { pos, keys } = spanLayout(spans);
    const n = keys.length;
    // The KV cache holds one cell per token or image row (image rows share positions, so count cells).
    if (n + 1 > this.nCtx) {
      throw new PromptTooLongError(
        `the prompt needs ${n} tokens (image and video rows included) but the context holds ${this.nCtx}: ` +
          `start glmv with a larger --context-size (the model was trained for ${this.info.trainedContext}), ` +
          "shorten the prompt, or lower the image resolution",
      );
    }
    const result = (aborted: boolean, keep: number, promptMs = 0) => ({
      n,
      keep,
      promptMs,
      visionMs,
      next: pos.next,
      aborted,
    });
    if (this.aborted()) return result(true, 0);

    let keep = 0;
    while (keep < this.cache.length && keep < n - 1 && this.cache[keep].key === keys[keep]) keep++;
    while (keep > 0 && keep < n && pos.t[keep] === pos.t[keep - 1]) keep--;
    this.truncateCache(keep);

    const tPrompt0 = performance.now();
    let i = keep;
    let spanStart = 0;
    for (const s of spans) {
      const len = s.kind === "text" ? s.tokens.length : s.gridH * s.gridW;
      const spanEnd = spanStart + len;
      if (s.kind === "grid" && i < spanEnd && !s.emb) {
        if (this.aborted()) return result(true, keep);
        try {
          visionMs += this.encodeSpan(s);
        } catch (e) {
          if ((e as Error).name === "VisionAbortedError") return result(true, keep);
          throw e;
        }
      }
      while (i < spanEnd) {
        if (this.aborted()) return result(true, keep);
        const m = Math.min(this.nBatch, spanEnd - i);
        const isLast = i + m === n;
        if (s.kind === "text") {
          for (let k = 0; k < m; k++) {
            this.vTokens[k] = s.tokens[i - spanStart + k];
            this.vPos[k] = pos.t[i + k];
          }
        } else {
          this.ensureEmbd();
          this.vEmbd!.set(
            s.emb!.data.subarray((i - spanStart) * this.nEmbd, (i - spanStart + m) * this.nEmbd),
            0,
          );
          planarPositions(pos, i, m, this.vPos);
        }
        this.vLogits.fill(0, 0, m);
        if (isLast) this.vLogits[m - 1] = 1;
        const first = this.cache.length;
        for (let k = 0; k < m; k++) this.cache.push({ key: keys[i + k], t: pos.t[i + k] });
        this.abortHook(true);
        const rc = this.decodeOrThrow(m, s.kind === "grid", first);
        if (rc === 2) {
          // Aborted inside the batch: drop whatever part of it reached the cache.
          this.truncateCache(first);
          return result(true, keep);
        }
        i += m;
      }
      spanStart = spanEnd;
    }
    this.nextPos = pos.next;
    return result(false, keep, performance.now() - tPrompt0);
  }

  /** The logits after the last prefilled item (a copy, n_vocab floats). */
  private lastLogits(): Float32Array {
    const nVocab = this.b.api.llama_vocab_n_tokens(this.vocab) as number;
    const p = this.b.api.llama_get_logits_ith(this.ctx, -1) as Ptr | null;
    if (!p) throw new DecodeError("no logits are available (nothing was decoded)");
    return new Float32Array(native.view(p, nVocab * 4)).slice();
  }

  /**
   * Decodes a rendered prompt with its media (the same path as `generate`, prefix reuse included) and returns the
   * next-token logits. For oracle tests and scoring.
   */
  nextTokenLogits(req: { prompt: string; media: PreparedMedia[] }): Float32Array {
    this.b.installLog();
    const spans = this.buildSpans(this.tokenize(req.prompt), req.media);
    this.prefill(spans);
    return this.lastLogits();
  }

  /**
   * Decodes raw spans — token ids, or embedding rows of a gridH × gridW image placed at GLM-V's 3-D positions
   * (`ropeIndex`) — and returns the next-token logits. Embedding spans are never reused from the cache.
   */
  evaluate(spans: EvalSpan[]): Float32Array {
    this.b.installLog();
    const prompt: PromptSpan[] = spans.map((s) => {
      if (s.kind === "text") {
        for (const t of s.tokens) {
          if (!(Number.isInteger(t) && t >= 0 && t < this.info.vocabSize)) {
            throw new MediaInputError(
              `token id ${t} is outside the vocabulary (0…${this.info.vocabSize - 1})`,
            );
          }
        }
        return { kind: "text", tokens: s.tokens };
      }
      if (s.data.length !== s.gridH * s.gridW * this.nEmbd) {
        throw new MediaInputError(
          `an embedding span of ${s.gridH}×${s.gridW} needs ${s.gridH * s.gridW * this.nEmbd} floats, got ${s.data.length}`,
        );
      }
      return {
        kind: "grid",
        gridH: s.gridH,
        gridW: s.gridW,
        key: `raw:${this.rawKey++}`,
        emb: { data: s.data, gridH: s.gridH, gridW: s.gridW },
      };
    });
    this.prefill(prompt);
    return this.lastLogits();
  }

  private run(req: SessionRequest, emit: (text: string) => void): GenerateResult {
    const api = this.b.api;
    const o = req.options;
    const tokens = this.tokenize(req.prompt);
    const spans = this.buildSpans(tokens, req.media);
    const maxTokens = o.maxTokens ?? Number.POSITIVE_INFINITY;
    const zero = emptyResult();
    const pre = this.prefill(spans);
    const { n, keep, promptMs, visionMs } = pre;
    if (pre.aborted) {
      return {
        ...zero,
        finishReason: "abort",
        usage: { promptTokens: n, completionTokens: 0, cachedPromptTokens: keep },
        timings: { ...zero.timings, visionMs },
      };
    }

    // Sampling loop.
    const chain = this.buildSampler(o, tokens);
    const decoder = new TextDecoder();
    const stops = (o.stop ?? []).filter((s) => s.length > 0);
    const stopIds = new Set([...this.stopIds, ...(o.stopTokens ?? [])]);
    const thinkId = this.specialIds.get("<think>");
    const closeThinkId = this.specialIds.get("</think>");
    const lastOpen = req.prompt.lastIndexOf("<think>");
    let thinking = lastOpen >= 0 && lastOpen > req.prompt.lastIndexOf("</think>");
    let reasoning = 0;
    let thinkingTruncated = false;
    const budget = o.thinkingBudget;
    let text = "";
    let emitted = 0;
    let completion = 0;
    let finish: FinishReason = "length";
    let stopAt = -1;
    const tDecode0 = performance.now();
    let lastStepMs = 0;
    const push = (piece: string) => {
      text += piece;
      if (stops.length) {
        let hit = -1;
        for (const s of stops) {
          const k = text.indexOf(s, Math.max(0, emitted - s.length));
          if (k >= 0 && (hit < 0 || k < hit)) hit = k;
        }
        if (hit >= 0) {
          stopAt = hit;
          if (hit > emitted) emit(text.slice(emitted, hit));
          emitted = hit;
          return;
        }
        let hold = 0;
        for (const s of stops) {
          for (let l = Math.min(s.length - 1, text.length - emitted); l > hold; l--) {
            if (text.endsWith(s.slice(0, l))) {
              hold = l;
              break;
            }
          }
        }
        const upto = text.length - hold;
        if (upto > emitted) {
          emit(text.slice(emitted, upto));
          emitted = upto;
        }
      } else if (text.length > emitted) {
        emit(text.slice(emitted));
        emitted = text.length;
      }
    };
    try {
      for (;;) {
        if (this.aborted()) {
          finish = "abort";
          break;
        }
        if (completion >= maxTokens || this.cache.length >= this.nCtx) {
          finish = "length";
          break;
        }
        const tok = api.llama_sampler_sample(chain, this.ctx, -1) as number;
        api.llama_sampler_accept(chain, tok);
        if (stopIds.has(tok) || (api.llama_vocab_is_eog(this.vocab, tok) as boolean)) {
          finish = "stop";
          break;
        }
        completion++;
        const pending = [tok];
        push(decoder.decode(this.pieceBytes(tok), { stream: true }));
        if (tok === thinkId) {
          thinking = true;
          reasoning = 0;
        } else if (tok === closeThinkId) {
          thinking = false;
        } else if (thinking) {
          reasoning++;
        }
        if (stopAt < 0 && thinking && budget !== undefined && reasoning >= budget) {
          const forced = this.tokenize(thinkingCloseText(this.info.family));
          for (const f of forced) {
            api.llama_sampler_accept(chain, f);
            push(decoder.decode(this.pieceBytes(f), { stream: true }));
          }
          pending.push(...forced);
          completion += forced.length;
          thinking = false;
          thinkingTruncated = true;
        }
        if (stopAt >= 0) {
          finish = "stop";
          break;
        }
        if (completion >= maxTokens) {
          finish = "length";
          break;
        }
        if (this.cache.length + pending.length > this.nCtx) {
          finish = "length";
          break;
        }
        for (let k = 0; k < pending.length; k++) {
          this.vTokens[k] = pending[k];
          this.vPos[k] = this.nextPos + k;
          this.vLogits[k] = k === pending.length - 1 ? 1 : 0;
        }
        const first = this.cache.length;
        for (let k = 0; k < pending.length; k++) this.cache.push({ key: pending[k], t: this.nextPos + k });
        this.abortHook(lastStepMs > SLOW_STEP_MS);
        const tStep = performance.now();
        const rc = this.decodeOrThrow(pending.length, false, first);
        lastStepMs = performance.now() - tStep;
        if (rc === 2) {
          this.truncateCache(first);
          finish = "abort";
          break;
        }
        this.nextPos += pending.length;
      }
    } finally {
      api.llama_sampler_free(chain);
    }
    if (stopAt < 0) push(decoder.decode());
    if (stopAt < 0 && text.length > emitted) {
      emit(text.slice(emitted));
      emitted = text.length;
    }
    const decodeMs = performance.now() - tDecode0;
    const decodedPrompt = n - keep;
    return {
      text: stopAt >= 0 ? text.slice(0, stopAt) : text,
      finishReason: finish,
      usage: { promptTokens: n, completionTokens: completion, cachedPromptTokens: keep },
      timings: {
        visionMs,
        promptMs,
        promptTokensPerSecond: promptMs > 0 ? (decodedPrompt * 1000) / promptMs : 0,
        decodeMs,
        decodeTokensPerSecond: decodeMs > 0 ? (completion * 1000) / decodeMs : 0,
      },
      thinkingTruncated,
    };
  }

  private ensureEmbd(): void {
    if (this.bEmbd) return;
    const bytes = this.nBatch * this.nEmbd * 4;
    this.bEmbd = native.alloc(bytes);
    this.vEmbd = new Float32Array(native.view(this.bEmbd, bytes));
  }

  private buildSampler(o: GenerateOptions, promptTokens: number[]): Ptr {
    const api = this.b.api;
    const chain = api.llama_sampler_chain_init({ no_perf: true }) as Ptr;
    const add = (s: unknown) => api.llama_sampler_chain_add(chain, s);
    const temperature = o.temperature ?? DEFAULTS.temperature;
    const rp = o.repetitionPenalty ?? DEFAULTS.repetitionPenalty;
    if (rp !== 1) {
      add(api.llama_sampler_init_penalties(this.info.vocabSize, DEFAULTS.penaltyLastN, rp, 0, 0));
      // Penalties look at the recent context: feed the prompt's tail.
      for (const t of promptTokens.slice(-DEFAULTS.penaltyLastN)) api.llama_sampler_accept(chain, t);
    }
    const topK = o.topK ?? DEFAULTS.topK;
    if (temperature <= 0 || topK === 1) {
      add(api.llama_sampler_init_greedy());
      return chain;
    }
    if (topK > 0) add(api.llama_sampler_init_top_k(topK));
    const topP = o.topP ?? DEFAULTS.topP;
    if (topP < 1) add(api.llama_sampler_init_top_p(topP, 1));
    const minP = o.minP ?? DEFAULTS.minP;
    if (minP > 0) add(api.llama_sampler_init_min_p(minP, 1));
    add(api.llama_sampler_init_temp(temperature));
    const seed = o.seed ?? Math.floor(Math.random() * 0xffffffff);
    add(api.llama_sampler_init_dist(seed >>> 0));
    return chain;
  }

  /** Frees the vision encoder, context, model and native buffers (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const api = this.b.api;
    this.b.installLog();
    this.vision?.close();
    api.llama_set_abort_callback(this.ctx, null, null);
    api.llama_free(this.ctx);
    api.llama_model_free(this.model);
    for (const p of [
      this.tokBuf,
      this.pieceBuf,
      this.bTokens,
      this.bPos,
      this.bNSeq,
      this.bSeqIds,
      this.bSeqZero,
    ]) {
      native.free(p);
    }
    native.free(this.bLogits);
    if (this.bEmbd) native.free(this.bEmbd);
    // This thread's log callback must not outlive it (llama.cpp's logger is process-wide).
    this.b.uninstallLog();
  }
}

function emptyResult(): GenerateResult {
  return {
    text: "",
    finishReason: "stop",
    usage: { promptTokens: 0, completionTokens: 0 },
    timings: { visionMs: 0, promptMs: 0, promptTokensPerSecond: 0, decodeMs: 0, decodeTokensPerSecond: 0 },
    thinkingTruncated: false,
  };
}

function lastLines(s: string, n: number): string {
  return s.split("\n").slice(-n).join("\n");
}

async function defaultVisionFactory(): Promise<VisionEncoderFactory | null> {
  try {
    const mod = (await import(new URL("./vision/index.ts", import.meta.url).href)) as {
      createVisionEncoder?: VisionEncoderFactory;
    };
    return mod.createVisionEncoder ?? null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") return null;
    throw e;
  }
}

export type { RopePositions };
