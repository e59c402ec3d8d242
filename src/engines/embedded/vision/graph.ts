/**
 * GLM-V's vision tower as a ggml graph built from TypeScript (GLM-V-architecture §1.3): patch embedding over
 * a temporal pair (one matmul per frame slot), post-conv RMSNorm, the bicubically resampled position table,
 * pre-norm blocks with 2-D vision rotary attention and SwiGLU, post RMSNorm, the 2×2 downsample as a matmul over
 * each merge window, and the merger (proj, LayerNorm, erf-GELU, SwiGLU). Weights are uploaded once; graphs are
 * built once per patch grid and cached.
 */

import { f16BitsToF32 } from "../../../gguf/quant.ts";
import { headDim, PATCH_VALUES, VISION_ROPE_THETA, type VisionConfig } from "./config.ts";
import {
  type Backend,
  createCpuBackend,
  GGML_F16,
  GGML_F32,
  GGML_I32,
  GGML_ROPE_VISION,
  type GgmlApi,
  loadGgml,
  newMetaContext,
  type Ptr,
} from "./ggml.ts";
import { resamplePositionTable, visionRopePositions } from "./positions.ts";
import type { PatchTensor } from "./preprocess.ts";
import { blockTensor, type VisionWeights } from "./weights.ts";

/** One weight tensor's raw bytes, as stored in the mmproj (F32, F16 or any type ggml can matmul). */
export interface WeightBlob {
  name: string;
  /** ggml type code. */
  type: number;
  /** Shape, ggml order. */
  ne: number[];
  /** The bytes, or a reader called once at upload (so a big mmproj is never held twice in memory). */
  bytes: Uint8Array | (() => Uint8Array);
}

/** Tower options. */
export interface VisionTowerOptions {
  /** Compute threads (default: 2). */
  threads?: number;
  /**
   * Use ggml_flash_attn_ext (F16 K/V) instead of an explicit soft-max attention. Saves the N×N×heads score
   * matrix on large images at ~1e-3 relative precision. "auto" (default) turns it on from 1024 patches.
   */
  flashAttention?: boolean | "auto";
  /** Most grid graphs kept, each with its compute buffer (default 2). */
  maxCachedGraphs?: number;
}

/** Which part of the tower a graph computes. */
interface Slice {
  embed: boolean;
  /** First block. */
  from: number;
  /** One past the last block. */
  to: number;
  head: boolean;
}

interface GridData {
  posData: Float32Array | null;
  ropeData: Int32Array;
}

interface CachedGraph {
  ctx: Ptr;
  graph: Ptr;
  inputT0: Ptr | null;
  inputT1: Ptr | null;
  pos: Ptr | null;
  hiddenIn: Ptr | null;
  rope: Ptr | null;
  output: Ptr;
  posData: Float32Array | null;
  ropeData: Int32Array;
  nPatches: number;
  /**
   * The graph's own allocator. gallocr treats tensors that already hold a data pointer as allocated, so a graph
   * allocated once must keep its buffer alive: sharing one gallocr between cached graphs let a reallocation for one
   * grid leave another graph's tensors pointing into freed memory (heap corruption, found with valgrind).
   */
  galloc: Ptr | null;
  bufferBytes: number;
}

/** `shouldAbort` answered true between two stages of an encode. */
export class VisionAbortedError extends Error {
  override name = "VisionAbortedError";
  constructor() {
    super("vision encoding aborted");
  }
}

/** The encoder was used after close, or given input it cannot take. */
export class VisionTowerError extends Error {
  override name = "VisionTowerError";
}

function toF32(blob: WeightBlob, bytes: Uint8Array): Float32Array {
  const n = blob.ne.reduce((a, b) => a * b, 1);
  if (blob.type === GGML_F32) {
    const copy = new Uint8Array(bytes); // aligned copy
    return new Float32Array(copy.buffer, 0, n);
  }
  if (blob.type === GGML_F16) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = f16BitsToF32(view.getUint16(i * 2, true));
    return out;
  }
  throw new VisionTowerError(
    `tensor ${blob.name} must be F32 or F16 to be read on the host (type ${blob.type})`,
  );
}

/** Weight blobs (F32) from host tensors, e.g. the seeded random tiny weights. */
export function blobsFromHostWeights(weights: VisionWeights): WeightBlob[] {
  return [...weights].map(([name, t]) => ({
    name,
    type: GGML_F32,
    ne: t.ne,
    bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
  }));
}

/** GLM-V's vision tower on ggml. Not thread-safe: use it from one thread (the engine's worker). */
export class VisionTower {
  readonly config: VisionConfig;
  readonly backend: Backend;
  private readonly g: GgmlApi;
  private readonly weightCtx: Ptr;
  private readonly weightBuffer: Ptr;
  private readonly tensors = new Map<string, Ptr>();
  private readonly posTable: Float32Array | null;
  private readonly graphs = new Map<string, CachedGraph>();
  private readonly grids = new Map<string, GridData>();
  private readonly options: Required<VisionTowerOptions>;
  private closed = false;
  /** Bytes of the compute buffer after the last encode. */
  computeBufferBytes = 0;

  constructor(config: VisionConfig, blobs: WeightBlob[], options: VisionTowerOptions = {}) {
    this.config = config;
    this.options = { threads: 2, flashAttention: "auto", maxCachedGraphs: 2, ...options };
    this.g = loadGgml();
    const g = this.g;
    this.backend = createCpuBackend(this.options.threads);
    this.weightCtx = newMetaContext(g, blobs.length + 1);
    for (const blob of blobs) {
      const ne = [...blob.ne, 1, 1, 1, 1].slice(0, 4);
      const t = g.ggml_new_tensor_4d(this.weightCtx, blob.type, ne[0], ne[1], ne[2], ne[3]) as Ptr;
      g.ggml_set_name(t, blob.name);
      this.tensors.set(blob.name, t);
    }
    this.weightBuffer = g.ggml_backend_alloc_ctx_tensors(this.weightCtx, this.backend.handle) as Ptr;
    if (!this.weightBuffer) {
      g.ggml_free(this.weightCtx);
      g.ggml_backend_free(this.backend.handle);
      throw new VisionTowerError("could not allocate the vision weights (out of memory?)");
    }
    let posTable: Float32Array | null = null;
    for (const blob of blobs) {
      const t = this.tensors.get(blob.name) as Ptr;
      const bytes = typeof blob.bytes === "function" ? blob.bytes() : blob.bytes;
      const need = Number(g.ggml_nbytes(t));
      if (need !== bytes.byteLength) {
        this.freeWeights();
        throw new VisionTowerError(
          `tensor ${blob.name}: ${bytes.byteLength} bytes given, ggml needs ${need}`,
        );
      }
      g.ggml_backend_tensor_set(t, bytes, 0, bytes.byteLength);
      if (blob.name === "v.position_embd.weight") posTable = toF32(blob, bytes);
    }
    this.posTable = posTable;
  }

  /** Creates an encoder from host float32 weights (tests, tiny models). */
  static fromHostWeights(config: VisionConfig, weights: VisionWeights, options?: VisionTowerOptions) {
    return new VisionTower(config, blobsFromHostWeights(weights), options);
  }

  private w(name: string): Ptr {
    const t = this.tensors.get(name);
    if (!t) throw new VisionTowerError(`vision weights lack tensor ${name}`);
    return t;
  }

  private opt(name: string): Ptr | null {
    return this.tensors.get(name) ?? null;
  }

  /** Per-grid host data (resampled position table, rotary ids), shared by whole and staged graphs. */
  private gridData(gridH: number, gridW: number): GridData {
    const key = `${gridH}x${gridW}`;
    let data = this.grids.get(key);
    if (!data) {
      const d = this.config.hiddenSize;
      let posData: Float32Array | null = null;
      if (this.posTable) {
        const side = Math.round(Math.sqrt(this.posTable.length / d));
        posData = Float32Array.from(resamplePositionTable(this.posTable, side, d, gridH, gridW));
      }
      data = { posData, ropeData: visionRopePositions(gridH, gridW) };
      this.grids.set(key, data);
      while (this.grids.size > Math.max(2, this.options.maxCachedGraphs)) {
        this.grids.delete(this.grids.keys().next().value as string);
      }
    }
    return data;
  }

  /**
   * Builds the graph of a slice of the tower: the embedding stage (patches → hidden), blocks [from, to), and the
   * head (post norm, downsample, merger). Without the embedding stage the hidden state is an input; without the
   * head it is the output.
   */
  private build(gridH: number, gridW: number, slice: Slice, galloc: Ptr | null): CachedGraph {
    const g = this.g;
    const c = this.config;
    const d = c.hiddenSize;
    const heads = c.headCount;
    const hd = headDim(c);
    const eps = c.eps;
    const n = gridH * gridW;
    const maxNodes = 512 + 96 * (slice.to - slice.from);
    const ctx = newMetaContext(g, maxNodes, maxNodes);
    const gf = g.ggml_new_graph_custom(ctx, maxNodes, false) as Ptr;
    const half = PATCH_VALUES / 2;
    const useFlash = this.options.flashAttention === "auto" ? n >= 1024 : this.options.flashAttention;
    const grid = this.gridData(gridH, gridW);

    const input = (t: Ptr, name: string) => {
      g.ggml_set_name(t, name);
      g.ggml_set_input(t);
      return t;
    };
    const linear = (x: Ptr, wName: string, bName?: string): Ptr => {
      let y = g.ggml_mul_mat(ctx, this.w(wName), x) as Ptr;
      const b = bName ? this.opt(bName) : null;
      if (b) y = g.ggml_add(ctx, y, b) as Ptr;
      return y;
    };
    const rms = (x: Ptr, wName: string): Ptr =>
      g.ggml_mul(ctx, g.ggml_rms_norm(ctx, x, eps), this.w(wName)) as Ptr;

    let inputT0: Ptr | null = null;
    let inputT1: Ptr | null = null;
    let pos: Ptr | null = null;
    let hiddenIn: Ptr | null = null;
    let x: Ptr;
    if (slice.embed) {
      // Patch embedding: one 2-D kernel per frame slot of the temporal pair.
      inputT0 = input(g.ggml_new_tensor_2d(ctx, GGML_F32, half, n) as Ptr, "patches_t0");
      inputT1 = input(g.ggml_new_tensor_2d(ctx, GGML_F32, half, n) as Ptr, "patches_t1");
      const k0 = g.ggml_reshape_2d(ctx, this.w("v.patch_embd.weight"), half, d) as Ptr;
      const k1 = g.ggml_reshape_2d(ctx, this.w("v.patch_embd.weight.1"), half, d) as Ptr;
      x = g.ggml_add(ctx, g.ggml_mul_mat(ctx, k0, inputT0), g.ggml_mul_mat(ctx, k1, inputT1)) as Ptr;
      const pb = this.opt("v.patch_embd.bias");
      if (pb) x = g.ggml_add(ctx, x, pb) as Ptr;
      if (this.opt("v.norm_embd.weight")) x = rms(x, "v.norm_embd.weight");
      if (grid.posData) {
        pos = input(g.ggml_new_tensor_2d(ctx, GGML_F32, d, n) as Ptr, "position_embeddings");
        x = g.ggml_add(ctx, x, pos) as Ptr;
      }
    } else {
      hiddenIn = input(g.ggml_new_tensor_2d(ctx, GGML_F32, d, n) as Ptr, "hidden_in");
      x = hiddenIn;
    }

    const rope =
      slice.to > slice.from
        ? input(g.ggml_new_tensor_1d(ctx, GGML_I32, 4 * n) as Ptr, "rope_positions")
        : null;
    const sections = new Int32Array([hd / 4, hd / 4, hd / 4, hd / 4]);
    const applyRope = (t: Ptr): Ptr =>
      g.ggml_rope_multi(
        ctx,
        t,
        rope,
        null,
        hd / 2,
        sections,
        GGML_ROPE_VISION,
        32768,
        VISION_ROPE_THETA,
        1,
        0,
        1,
        32,
        1,
      ) as Ptr;
    const scale = 1 / Math.sqrt(hd);

    for (let i = slice.from; i < slice.to; i++) {
      const B = (s: string) => blockTensor(i, s);
      const cur = rms(x, B("ln1.weight"));
      let q = g.ggml_reshape_3d(ctx, linear(cur, B("attn_q.weight"), B("attn_q.bias")), hd, heads, n) as Ptr;
      let k = g.ggml_reshape_3d(ctx, linear(cur, B("attn_k.weight"), B("attn_k.bias")), hd, heads, n) as Ptr;
      const v = g.ggml_reshape_3d(
        ctx,
        linear(cur, B("attn_v.weight"), B("attn_v.bias")),
        hd,
        heads,
        n,
      ) as Ptr;
      if (this.opt(B("attn_q_norm.weight"))) q = rms(q, B("attn_q_norm.weight"));
      if (this.opt(B("attn_k_norm.weight"))) k = rms(k, B("attn_k_norm.weight"));
      q = applyRope(q);
      k = applyRope(k);
      // [hd, heads, n] → [hd, n, heads]
      const qp = g.ggml_permute(ctx, q, 0, 2, 1, 3) as Ptr;
      const kp = g.ggml_permute(ctx, k, 0, 2, 1, 3) as Ptr;
      let attn: Ptr;
      if (useFlash) {
        const kf = g.ggml_cast(ctx, kp, GGML_F16) as Ptr;
        const vf = g.ggml_cast(ctx, g.ggml_permute(ctx, v, 0, 2, 1, 3), GGML_F16) as Ptr;
        // Result: [hd, heads, n] (already permuted back).
        attn = g.ggml_flash_attn_ext(ctx, qp, kf, vf, null, scale, 0, 0) as Ptr;
        attn = g.ggml_reshape_2d(ctx, attn, d, n) as Ptr;
      } else {
        const kq = g.ggml_soft_max_ext(ctx, g.ggml_mul_mat(ctx, kp, qp), null, scale, 0) as Ptr; // [n_k, n_q, heads]
        const vt = g.ggml_cont(ctx, g.ggml_permute(ctx, v, 1, 2, 0, 3)) as Ptr; // [n, hd, heads]
        const kqv = g.ggml_mul_mat(ctx, vt, kq) as Ptr; // [hd, n_q, heads]
        attn = g.ggml_cont(ctx, g.ggml_permute(ctx, kqv, 0, 2, 1, 3)) as Ptr; // [hd, heads, n]
        attn = g.ggml_reshape_2d(ctx, attn, d, n) as Ptr;
      }
      x = g.ggml_add(ctx, x, linear(attn, B("attn_out.weight"), B("attn_out.bias"))) as Ptr;
      const h2 = rms(x, B("ln2.weight"));
      const gate = linear(h2, B("ffn_gate.weight"), B("ffn_gate.bias"));
      const up = linear(h2, B("ffn_up.weight"), B("ffn_up.bias"));
      const mlp = linear(
        g.ggml_mul(ctx, g.ggml_silu(ctx, gate), up) as Ptr,
        B("ffn_down.weight"),
        B("ffn_down.bias"),
      );
      x = g.ggml_add(ctx, x, mlp) as Ptr;
    }

    let y = x;
    if (slice.head) {
      y = rms(x, "v.post_ln.weight");
      // 2×2 downsample: window m's 4 rows → one 4d vector with (window slot) fastest, then a matmul.
      const m = n / 4;
      const p = c.projectionDim;
      y = g.ggml_reshape_3d(ctx, y, d, 4, m) as Ptr;
      y = g.ggml_cont(ctx, g.ggml_permute(ctx, y, 1, 0, 2, 3)) as Ptr; // [4, d, m]
      y = g.ggml_reshape_2d(ctx, y, 4 * d, m) as Ptr;
      const ds = g.ggml_reshape_2d(ctx, this.w("mm.patch_merger.weight"), 4 * d, p) as Ptr;
      y = g.ggml_mul_mat(ctx, ds, y) as Ptr;
      const dsb = this.opt("mm.patch_merger.bias");
      if (dsb) y = g.ggml_add(ctx, y, dsb) as Ptr;
      // Merger: proj → LayerNorm → erf-GELU → down(silu(gate)·up).
      y = g.ggml_mul_mat(ctx, this.w("mm.model.fc.weight"), y) as Ptr;
      y = g.ggml_norm(ctx, y, 1e-5) as Ptr;
      y = g.ggml_add(
        ctx,
        g.ggml_mul(ctx, y, this.w("mm.post_norm.weight")),
        this.w("mm.post_norm.bias"),
      ) as Ptr;
      y = g.ggml_gelu_erf(ctx, y) as Ptr;
      const mg = g.ggml_mul_mat(ctx, this.w("mm.gate.weight"), y) as Ptr;
      const mu = g.ggml_mul_mat(ctx, this.w("mm.up.weight"), y) as Ptr;
      y = g.ggml_mul_mat(ctx, this.w("mm.down.weight"), g.ggml_mul(ctx, g.ggml_silu(ctx, mg), mu)) as Ptr;
    }
    g.ggml_set_name(y, slice.head ? "vision_embeddings" : "hidden_out");
    g.ggml_set_output(y);
    g.ggml_build_forward_expand(gf, y);
    const own = galloc === null;
    const ga =
      galloc ?? (g.ggml_gallocr_new(g.ggml_backend_get_default_buffer_type(this.backend.handle)) as Ptr);
    if (!g.ggml_gallocr_alloc_graph(ga, gf)) {
      if (own) g.ggml_gallocr_free(ga);
      g.ggml_free(ctx);
      throw new VisionTowerError(`could not allocate the vision compute buffer for a ${gridH}×${gridW} grid`);
    }
    return {
      galloc: own ? ga : null,
      bufferBytes: Number(g.ggml_gallocr_get_buffer_size(ga, 0)),
      ctx,
      graph: gf,
      inputT0,
      inputT1,
      pos,
      hiddenIn,
      rope,
      output: y,
      posData: grid.posData,
      ropeData: grid.ropeData,
      nPatches: n,
    };
  }

  private graphFor(gridH: number, gridW: number): CachedGraph {
    const key = `${gridH}x${gridW}`;
    let entry = this.graphs.get(key);
    if (entry) {
      this.graphs.delete(key);
      this.graphs.set(key, entry); // most recently used last
      return entry;
    }
    entry = this.build(gridH, gridW, { embed: true, from: 0, to: this.config.blockCount, head: true }, null);
    this.graphs.set(key, entry);
    while (this.graphs.size > this.options.maxCachedGraphs) {
      const [oldKey, old] = this.graphs.entries().next().value as [string, CachedGraph];
      this.freeGraph(old);
      this.graphs.delete(oldKey);
    }
    return entry;
  }

  private freeGraph(entry: CachedGraph): void {
    if (entry.galloc) this.g.ggml_gallocr_free(entry.galloc);
    this.g.ggml_free(entry.ctx);
  }

  /** Sets a graph's inputs, computes it and reads its output. */
  private run(
    entry: CachedGraph,
    t: [Float32Array, Float32Array] | null,
    hidden: Float32Array | null,
    outLen: number,
  ) {
    const g = this.g;
    if (entry.inputT0 && entry.inputT1 && t) {
      g.ggml_backend_tensor_set(entry.inputT0, t[0], 0, t[0].byteLength);
      g.ggml_backend_tensor_set(entry.inputT1, t[1], 0, t[1].byteLength);
    }
    if (entry.hiddenIn && hidden) g.ggml_backend_tensor_set(entry.hiddenIn, hidden, 0, hidden.byteLength);
    if (entry.rope) g.ggml_backend_tensor_set(entry.rope, entry.ropeData, 0, entry.ropeData.byteLength);
    if (entry.pos && entry.posData) {
      g.ggml_backend_tensor_set(entry.pos, entry.posData, 0, entry.posData.byteLength);
    }
    const status = g.ggml_backend_graph_compute(this.backend.handle, entry.graph) as number;
    if (status !== 0) throw new VisionTowerError(`ggml graph compute failed with status ${status}`);
    const out = new Float32Array(outLen);
    g.ggml_backend_tensor_get(entry.output, out, 0, out.byteLength);
    return out;
  }

  /**
   * Encodes one temporal pair's patches; returns the merged token embeddings row-major
   * `[nPatches/4, projectionDim]` (rows in merge-window order = row-major over the merged grid).
   *
   * With `shouldAbort`, the tower runs stage by stage (embedding, each block, head; the hidden state goes through
   * host memory in between) and `shouldAbort()` is asked before every stage: a true answer throws
   * VisionAbortedError. Use a synchronous check such as `Atomics.load` on a shared flag.
   */
  encode(patches: PatchTensor, options: { shouldAbort?: () => boolean } = {}): Float32Array {
    const outLen = this.checkPatches(patches);
    const { shouldAbort } = options;
    if (!shouldAbort) {
      const entry = this.graphFor(patches.gridH, patches.gridW);
      this.computeBufferBytes = entry.bufferBytes;
      return this.run(entry, splitTemporal(patches), null, outLen);
    }
    const stages = this.encodeStages(patches, { shouldAbort });
    for (;;) {
      const r = stages.next();
      if (r.done) return r.value;
    }
  }

  /**
   * The staged encode as a resumable job: each `next()` runs one stage (embedding, one block, or the head; the
   * hidden state goes through host memory in between) and the last one returns the merged token embeddings, the
   * same values `encode` with `shouldAbort` gives. `shouldAbort()` is asked before every stage (true throws
   * VisionAbortedError). Validation errors throw on the first `next()`. Calling `return()` on an unfinished job
   * frees its allocator; a job must finish or be returned before the tower is closed.
   */
  *encodeStages(
    patches: PatchTensor,
    options: { shouldAbort?: () => boolean } = {},
  ): Generator<void, Float32Array, void> {
    const outLen = this.checkPatches(patches);
    const { gridH, gridW, nPatches } = patches;
    const temporal = splitTemporal(patches);
    const shouldAbort = options.shouldAbort ?? (() => false);
    // Fresh graphs on one shared allocator (fresh tensors never hold stale data pointers).
    const g = this.g;
    const galloc = g.ggml_gallocr_new(g.ggml_backend_get_default_buffer_type(this.backend.handle)) as Ptr;
    try {
      const hiddenLen = nPatches * this.config.hiddenSize;
      const stage = (slice: Slice, t: typeof temporal | null, hidden: Float32Array | null, len: number) => {
        if (this.closed) throw new VisionTowerError("the vision encoder is closed");
        if (shouldAbort()) throw new VisionAbortedError();
        const entry = this.build(gridH, gridW, slice, galloc);
        try {
          this.computeBufferBytes = Math.max(this.computeBufferBytes, entry.bufferBytes);
          return this.run(entry, t, hidden, len);
        } finally {
          this.freeGraph(entry);
        }
      };
      let hidden = stage({ embed: true, from: 0, to: 0, head: false }, temporal, null, hiddenLen);
      for (let i = 0; i < this.config.blockCount; i++) {
        yield;
        hidden = stage({ embed: false, from: i, to: i + 1, head: false }, null, hidden, hiddenLen);
      }
      yield;
      return stage({ embed: false, from: 0, to: 0, head: true }, null, hidden, outLen);
    } finally {
      if (!this.closed) g.ggml_gallocr_free(galloc);
    }
  }

  /** Checks a patch tensor's shape; returns the output length. */
  private checkPatches(patches: PatchTensor): number {
    if (this.closed) throw new VisionTowerError("the vision encoder is closed");
    const { gridH, gridW, nPatches } = patches;
    if (
      gridH % 2 !== 0 ||
      gridW % 2 !== 0 ||
      nPatches !== gridH * gridW ||
      patches.data.length !== nPatches * 1176
    ) {
      throw new VisionTowerError(
        `malformed patch tensor (${gridH}×${gridW} grid, ${patches.data.length} values)`,
      );
    }
    return (nPatches / 4) * this.config.projectionDim;
  }

  private freeWeights(): void {
    this.g.ggml_backend_buffer_free(this.weightBuffer);
    this.g.ggml_free(this.weightCtx);
    this.g.ggml_backend_free(this.backend.handle);
  }

  /** Frees graphs, weights and the backend. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const e of this.graphs.values()) this.freeGraph(e);
    this.graphs.clear();
    this.grids.clear();
    this.freeWeights();
  }
}

/** Splits HF-layout patch rows (c, t, y, x) into the two frame slots, each row (c, y, x). */
export function splitTemporal(patches: PatchTensor): [Float32Array, Float32Array] {
  const n = patches.nPatches;
  const pp = 196;
  const a = new Float32Array(n * 588);
  const b = new Float32Array(n * 588);
  const src = patches.data;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < 3; c++) {
      const s = r * 1176 + c * 392;
      const dOff = r * 588 + c * pp;
      a.set(src.subarray(s, s + pp), dOff);
      b.set(src.subarray(s + pp, s + 2 * pp), dOff);
    }
  }
  return [a, b];
}
