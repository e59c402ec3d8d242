/**
 * Continuous batching for the embedded engine: several requests decoded together in one llama.cpp context.
 *
 * Each slot is a llama.cpp sequence id (`n_seq_max = slots`, one unified KV cache). Every `step()` builds ONE
 * token batch with the pending token(s) of every decoding sequence plus prompt chunks of newly admitted ones (at
 * most `n_batch` items), calls `llama_decode` once and samples each sequence with its own sampler chain (own seed,
 * own penalties). Image and video rows cannot share a token batch, so an embedding chunk is decoded on its own
 * step. An admitted request's images are encoded one encoder stage per step (patch embedding, each block, head),
 * so the other sequences keep decoding while it encodes; its prefill goes on once the embeddings are complete. Sequences end on end tokens, stop strings, the token limit, a full context or an abort, and their slot keeps
 * its KV cells for prefix reuse by the next request that lands in it (slots whose cached prefix matches best are
 * preferred; idle caches are dropped, least recently used first, when the shared context needs room).
 *
 * Runs on the engine's worker thread, synchronously; the worker calls `step()` while `busy`, yielding to its event
 * loop between steps so new requests and aborts arrive.
 */
import { thinkingCloseText } from "../../protocol/families.ts";
import type { FinishReason, GenerateResult } from "../types.ts";
import { native, type Ptr } from "./binding.ts";
import { DecodeError, EngineClosedError, PromptTooLongError } from "./errors.ts";
import { planarPositions, type RopePositions } from "./positions.ts";
import {
  type PromptSpan,
  type SessionInfo,
  type SessionInternals,
  type SessionRequest,
  SLOW_STEP_MS,
  spanLayout,
} from "./session.ts";

/** Callbacks of one submitted request. */
export interface SequenceSink {
  /** Text pieces, as soon as they are final (stop strings are held back until they cannot match). */
  text(text: string): void;
  /** The final result (exactly once, unless `fail` is called instead). */
  done(result: GenerateResult): void;
  fail(error: unknown): void;
}

/** A KV-cache entry of a slot: what sits at which t position (token id, or a media row key). */
interface CacheItem {
  key: number | string;
  t: number;
}

interface Slot {
  id: number;
  /** Native `llama_seq_id` holding this slot's id (seq_id arrays point here). */
  idPtr: Ptr;
  cache: CacheItem[];
  seq: Sequence | null;
  /** When the slot was last used (for evicting idle caches, least recent first). */
  lastUsed: number;
}

/** One request from submission to its result. */
interface Sequence {
  req: SessionRequest;
  sink: SequenceSink;
  abort: Int32Array | null;
  tokens: number[];
  spans: PromptSpan[];
  keys: (number | string)[];
  pos: RopePositions;
  /** Items of the prompt (tokens and image rows). */
  n: number;
  slot: Slot | null;
  phase: "waiting" | "prefill" | "decode";
  /** Prefill: next prompt item to decode. */
  cursor: number;
  keep: number;
  /** Decode: tokens sampled but not decoded yet, and the t position of the first. */
  pending: number[];
  nextPos: number;
  chain: Ptr | null;
  /** The unfinished staged encode of the grid span at `cursor` (one encoder stage per step). */
  encoding: Generator<void, number, void> | null;
  visionMs: number;
  tAdmit: number;
  promptMs: number;
  tDecode0: number;
  // output state
  decoder: TextDecoder;
  stops: string[];
  stopIds: Set<number>;
  thinking: boolean;
  reasoning: number;
  thinkingTruncated: boolean;
  text: string;
  emitted: number;
  completion: number;
  stopAt: number;
}

/** One item staged into the batch, to map outputs and roll back. */
interface Staged {
  seq: Sequence;
  /** Cache length of the slot before this step (rollback point). */
  firstCache: number;
  count: number;
  /** Batch index whose logits this sequence samples from, or -1. */
  outIdx: number;
  prefill: boolean;
}

/** Multi-sequence scheduler over one session's context (see the file comment). */
export class BatchScheduler {
  private s: SessionInternals;
  private info: SessionInfo;
  private slots: Slot[];
  private waiting: Sequence[] = [];
  private clock = 0;
  private lastStepMs = 0;
  private abortHookOn = false;
  private abortCb: Ptr;
  private inBatch: Sequence[] = [];
  // native batch buffers
  private bTokens: Ptr;
  private bPos: Ptr;
  private bNSeq: Ptr;
  private bSeqIds: Ptr;
  private bSeqVals: Ptr;
  private bLogits: Ptr;
  private bEmbd: Ptr | null = null;
  private vTokens: Int32Array;
  private vPos: Int32Array;
  private vSeqIds: BigUint64Array;
  private vLogits: Int8Array;
  private vEmbd: Float32Array | null = null;
  private closed = false;

  constructor(internals: SessionInternals, info: SessionInfo) {
    this.s = internals;
    this.info = info;
    const cap = internals.nBatch;
    this.bTokens = native.alloc(cap * 4);
    this.bPos = native.alloc(cap * 16);
    this.bNSeq = native.alloc(cap * 4);
    this.bSeqIds = native.alloc(cap * 8);
    this.bSeqVals = native.alloc(info.slots * 4);
    this.bLogits = native.alloc(cap);
    this.vTokens = new Int32Array(native.view(this.bTokens, cap * 4));
    this.vPos = new Int32Array(native.view(this.bPos, cap * 16));
    this.vSeqIds = new BigUint64Array(native.view(this.bSeqIds, cap * 8));
    this.vLogits = new Int8Array(native.view(this.bLogits, cap));
    new Int32Array(native.view(this.bNSeq, cap * 4)).fill(1);
    const vals = new Int32Array(native.view(this.bSeqVals, info.slots * 4));
    this.slots = [];
    for (let i = 0; i < info.slots; i++) {
      vals[i] = i;
      this.slots.push({ id: i, idPtr: this.bSeqVals + BigInt(4 * i), cache: [], seq: null, lastUsed: 0 });
    }
    // In-graph abort: stop a slow batch as soon as any of its sequences is aborted (the others are redone).
    this.abortCb = internals.binding.abortCallback(() => this.inBatch.some((q) => aborted(q)));
  }

  /** True while any request waits or runs (the worker keeps calling `step`). */
  get busy(): boolean {
    if (this.closed) return false;
    return this.waiting.length > 0 || this.slots.some((s) => s.seq !== null);
  }

  /** Requests running now (holding a slot). */
  get running(): number {
    return this.slots.filter((s) => s.seq !== null).length;
  }

  /**
   * Accepts a request. Tokenization, media checks and the context-size check happen here, so a bad request fails
   * at once; it is admitted to a slot by a later `step`.
   */
  submit(req: SessionRequest, abort: Int32Array | null, sink: SequenceSink): void {
    if (this.closed) throw new EngineClosedError("the engine is closed");
    const s = this.s;
    const tokens = s.tokenize(req.prompt);
    const spans = s.buildSpans(tokens, req.media);
    const { pos, keys } = spanLayout(spans);
    const n = keys.length;
    if (n + 1 > s.nCtx) {
      throw new PromptTooLongError(
        `the prompt needs ${n} tokens (image and video rows included) but the context holds ${s.nCtx}` +
          ` (shared by ${this.info.slots} slots): start glmv with a larger --context-size (the model was trained` +
          ` for ${this.info.trainedContext}), shorten the prompt, or lower the image resolution`,
      );
    }
    const o = req.options;
    const lastOpen = req.prompt.lastIndexOf("<think>");
    this.waiting.push({
      req,
      sink,
      abort,
      tokens,
      spans,
      keys,
      pos,
      n,
      slot: null,
      phase: "waiting",
      cursor: 0,
      keep: 0,
      pending: [],
      nextPos: pos.next,
      chain: null,
      encoding: null,
      visionMs: 0,
      tAdmit: 0,
      promptMs: 0,
      tDecode0: 0,
      decoder: new TextDecoder(),
      stops: (o.stop ?? []).filter((x) => x.length > 0),
      stopIds: new Set([...s.stopIds, ...(o.stopTokens ?? [])]),
      thinking: lastOpen >= 0 && lastOpen > req.prompt.lastIndexOf("</think>"),
      reasoning: 0,
      thinkingTruncated: false,
      text: "",
      emitted: 0,
      completion: 0,
      stopAt: -1,
    });
  }

  /** Runs one scheduling step: admissions, at most one `llama_decode`, sampling, retirements. */
  step(): void {
    if (this.closed) return; // a step queued before `close` must not touch the freed context
    this.s.binding.installLog();
    // Aborted requests leave first (waiting ones never took a slot).
    this.waiting = this.waiting.filter((q) => {
      if (!aborted(q)) return true;
      this.finish(q, "abort");
      return false;
    });
    for (const slot of this.slots) if (slot.seq && aborted(slot.seq)) this.finish(slot.seq, "abort");
    this.admit();

    // An embedding (image/video rows) chunk is decoded on its own.
    for (const slot of this.slots) {
      const q = slot.seq;
      if (q?.phase !== "prefill") continue;
      const at = spanAt(q, q.cursor);
      if (at.span.kind === "grid" && this.prefillGrid(q, at.span, at.start)) return;
    }

    // One token batch: decoding sequences first (one step each), then prompt text of admitted ones.
    const staged: Staged[] = [];
    let m = 0;
    let hasPrefill = false;
    for (const slot of this.slots) {
      const q = slot.seq;
      if (q?.phase !== "decode" || q.pending.length === 0) continue;
      // (n_batch ≥ slots, but forced thinking-close tokens can make a step longer: the rest go next step)
      if (m + q.pending.length > this.s.nBatch) continue;
      if (!this.makeRoom(q.pending.length, slot)) {
        this.finish(q, "length");
        continue;
      }
      const first = slot.cache.length;
      for (let k = 0; k < q.pending.length; k++) {
        this.put(m + k, q.pending[k], q.nextPos + k, slot, k === q.pending.length - 1);
        slot.cache.push({ key: q.pending[k], t: q.nextPos + k });
      }
      m += q.pending.length;
      staged.push({ seq: q, firstCache: first, count: q.pending.length, outIdx: m - 1, prefill: false });
    }
    for (const slot of this.slots) {
      const q = slot.seq;
      if (q?.phase !== "prefill" || m >= this.s.nBatch) continue;
      const at = spanAt(q, q.cursor);
      if (at.span.kind !== "text") continue;
      const take = Math.min(this.s.nBatch - m, at.end - q.cursor);
      if (!this.makeRoom(take, slot)) continue; // waits for room (others finish)
      const first = slot.cache.length;
      const last = q.cursor + take === q.n;
      for (let k = 0; k < take; k++) {
        const i = q.cursor + k;
        this.put(m + k, at.span.tokens[i - at.start], q.pos.t[i], slot, last && k === take - 1);
        slot.cache.push({ key: q.keys[i], t: q.pos.t[i] });
      }
      m += take;
      hasPrefill = true;
      staged.push({ seq: q, firstCache: first, count: take, outIdx: last ? m - 1 : -1, prefill: true });
    }
    if (m === 0) return;
    this.decodeStaged(staged, m, false, hasPrefill);
  }

  /** Fails every request (the engine is closing) and frees the native buffers. */
  close(error: unknown): void {
    if (this.closed) return;
    this.closed = true;
    for (const q of this.waiting) q.sink.fail(error);
    this.waiting = [];
    for (const slot of this.slots) {
      if (!slot.seq) continue;
      const q = slot.seq;
      this.release(q);
      q.sink.fail(error);
    }
    this.setAbortHook(false);
    for (const p of [this.bTokens, this.bPos, this.bNSeq, this.bSeqIds, this.bSeqVals, this.bLogits])
      native.free(p);
    if (this.bEmbd) native.free(this.bEmbd);
  }

  private put(k: number, token: number, t: number, slot: Slot, logits: boolean): void {
    this.vTokens[k] = token;
    this.vPos[k] = t;
    this.vSeqIds[k] = slot.idPtr;
    this.vLogits[k] = logits ? 1 : 0;
  }

  /** Cells in use across all slots. */
  private used(): number {
    let n = 0;
    for (const s of this.slots) n += s.cache.length;
    return n;
  }

  /**
   * Makes `need` free cells for `keepSlot`, dropping idle slots' caches (least recently used first); false if
   * impossible. Cells still owed to the prompts of other admitted requests count as taken, so an admitted prompt
   * always finishes its prefill.
   */
  private makeRoom(need: number, keepSlot: Slot): boolean {
    let free = this.s.nCtx - this.used();
    for (const s of this.slots)
      if (s !== keepSlot && s.seq?.phase === "prefill") free -= s.seq.n - s.seq.cursor;
    if (free >= need) return true;
    const idle = this.slots
      .filter((s) => s !== keepSlot && s.seq === null && s.cache.length > 0)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    for (const s of idle) {
      free += s.cache.length;
      this.truncate(s, 0);
      if (free >= need) return true;
    }
    return false;
  }

  /** Drops a slot's cache from index `from` on (never leaving half an image: cells share t inside a grid). */
  private truncate(slot: Slot, from: number): void {
    if (from >= slot.cache.length) return;
    const t = slot.cache[from].t;
    while (from > 0 && slot.cache[from - 1].t === t) from--;
    this.s.binding.api.llama_memory_seq_rm(this.s.mem, slot.id, t, -1);
    slot.cache.length = from;
  }

  /** Moves waiting requests into free slots while their prompts fit (FIFO; the head waits for room). */
  private admit(): void {
    while (this.waiting.length > 0) {
      const free = this.slots.filter((s) => s.seq === null);
      if (free.length === 0) return;
      const q = this.waiting[0];
      // The free slot whose cache shares the longest prefix with this prompt.
      let best = free[0];
      let bestKeep = -1;
      for (const slot of free) {
        const keep = commonPrefix(slot.cache, q);
        if (keep > bestKeep || (keep === bestKeep && slot.cache.length < best.cache.length)) {
          best = slot;
          bestKeep = keep;
        }
      }
      this.truncate(best, bestKeep);
      const keep = best.cache.length;
      // Room for the prompt plus one step of every running sequence.
      if (!this.makeRoom(q.n - keep + 1 + this.running, best)) {
        if (this.running === 0) {
          // Cannot happen (submit checked n + 1 ≤ n_ctx and every idle cache can go), but never spin.
          this.waiting.shift();
          q.sink.fail(new PromptTooLongError(`the prompt needs ${q.n} tokens but the context is full`));
          continue;
        }
        return;
      }
      this.waiting.shift();
      q.slot = best;
      best.seq = q;
      best.lastUsed = ++this.clock;
      q.phase = "prefill";
      q.keep = keep;
      q.cursor = keep;
      q.tAdmit = performance.now();
    }
  }

  /**
   * Decodes the next embedding chunk of `q`. An image or frame pair not encoded yet is encoded one encoder stage
   * per step (so the other sequences' tokens are decoded between stages); the step that finishes the encode also
   * decodes its first chunk. Returns false when it decoded nothing (an encoder stage ran, the request failed or
   * ended, or it must wait for room), so the step goes on.
   */
  private prefillGrid(q: Sequence, span: Extract<PromptSpan, { kind: "grid" }>, start: number): boolean {
    const slot = q.slot!;
    try {
      if (!span.emb) {
        q.encoding ??= this.s.encodeSpanStages(span, q.abort);
        const r = q.encoding.next();
        if (!r.done) return false;
        q.encoding = null;
        q.visionMs += r.value;
      }
    } catch (e) {
      q.encoding = null;
      if ((e as Error).name === "VisionAbortedError") {
        this.finish(q, "abort");
        return false;
      }
      this.release(q);
      q.sink.fail(e);
      return false;
    }
    if (aborted(q)) {
      this.finish(q, "abort");
      return false;
    }
    const spanEnd = start + span.gridH * span.gridW;
    const m = Math.min(this.s.nBatch, spanEnd - q.cursor);
    if (!this.makeRoom(m, slot)) return false; // waits for others to finish
    this.ensureEmbd();
    const nEmbd = this.s.nEmbd;
    this.vEmbd!.set(span.emb!.data.subarray((q.cursor - start) * nEmbd, (q.cursor - start + m) * nEmbd), 0);
    planarPositions(q.pos, q.cursor, m, this.vPos);
    const last = q.cursor + m === q.n;
    for (let k = 0; k < m; k++) {
      this.vSeqIds[k] = slot.idPtr;
      this.vLogits[k] = last && k === m - 1 ? 1 : 0;
    }
    const first = slot.cache.length;
    for (let k = 0; k < m; k++) slot.cache.push({ key: q.keys[q.cursor + k], t: q.pos.t[q.cursor + k] });
    this.decodeStaged(
      [{ seq: q, firstCache: first, count: m, outIdx: last ? m - 1 : -1, prefill: true }],
      m,
      true,
      true,
    );
    return true;
  }

  private decodeStaged(staged: Staged[], m: number, embd: boolean, hasPrefill: boolean): void {
    const api = this.s.binding.api;
    this.inBatch = staged.map((x) => x.seq);
    this.setAbortHook(hasPrefill || this.lastStepMs > SLOW_STEP_MS);
    const t0 = performance.now();
    const rc = api.llama_decode(this.s.ctx, {
      n_tokens: m,
      token: embd ? null : this.bTokens,
      embd: embd ? this.bEmbd : null,
      pos: this.bPos,
      n_seq_id: this.bNSeq,
      seq_id: this.bSeqIds,
      logits: this.bLogits,
    }) as number;
    this.inBatch = [];
    if (!hasPrefill) this.lastStepMs = performance.now() - t0;
    if (rc !== 0) {
      // Nothing of this batch counts: drop its cells; aborted sequences end, the others redo the step.
      for (const x of staged) {
        this.truncate(x.seq.slot!, x.firstCache);
        // A slot's cache is its prompt's prefix while it prefills (an image is dropped whole).
        if (x.prefill) x.seq.cursor = x.seq.slot!.cache.length;
      }
      if (rc === 2) {
        for (const x of staged) if (aborted(x.seq)) this.finish(x.seq, "abort");
        return;
      }
      const error = new DecodeError(
        `llama_decode failed (${rc}${rc === 1 ? ": no room in the KV cache; use a larger context" : ""})\n${lastLines(
          this.s.binding.recentLog(),
          4,
        )}`,
      );
      for (const x of staged) {
        this.release(x.seq);
        x.seq.sink.fail(error);
      }
      return;
    }
    const now = performance.now();
    for (const x of staged) {
      const q = x.seq;
      if (x.prefill) {
        q.cursor += x.count;
        if (q.cursor < q.n) continue;
        q.promptMs = now - q.tAdmit;
        q.tDecode0 = now;
        q.phase = "decode";
        q.chain = this.s.buildSampler(q.req.options, q.tokens);
      } else {
        q.nextPos += x.count;
        q.pending = [];
      }
      this.sampleNext(q, x.outIdx);
    }
  }

  /** Samples the next token of `q` from batch output `idx` and stages it (or ends the sequence). */
  private sampleNext(q: Sequence, idx: number): void {
    const api = this.s.binding.api;
    const s = this.s;
    const o = q.req.options;
    const maxTokens = o.maxTokens ?? Number.POSITIVE_INFINITY;
    const slot = q.slot!;
    if (q.completion >= maxTokens || slot.cache.length >= s.nCtx) {
      this.finish(q, "length");
      return;
    }
    const tok = api.llama_sampler_sample(q.chain, s.ctx, idx) as number;
    api.llama_sampler_accept(q.chain, tok);
    if (q.stopIds.has(tok) || (api.llama_vocab_is_eog(s.vocab, tok) as boolean)) {
      this.finish(q, "stop");
      return;
    }
    q.completion++;
    const pending = [tok];
    this.push(q, q.decoder.decode(s.pieceBytes(tok), { stream: true }));
    if (tok === s.specialIds.get("<think>")) {
      q.thinking = true;
      q.reasoning = 0;
    } else if (tok === s.specialIds.get("</think>")) {
      q.thinking = false;
    } else if (q.thinking) {
      q.reasoning++;
    }
    const budget = o.thinkingBudget;
    if (q.stopAt < 0 && q.thinking && budget !== undefined && q.reasoning >= budget) {
      const forced = s.tokenize(thinkingCloseText(this.info.family));
      for (const f of forced) {
        api.llama_sampler_accept(q.chain, f);
        this.push(q, q.decoder.decode(s.pieceBytes(f), { stream: true }));
      }
      pending.push(...forced);
      q.completion += forced.length;
      q.thinking = false;
      q.thinkingTruncated = true;
    }
    if (q.stopAt >= 0) {
      this.finish(q, "stop");
      return;
    }
    if (q.completion >= maxTokens) {
      this.finish(q, "length");
      return;
    }
    if (slot.cache.length + pending.length > s.nCtx) {
      this.finish(q, "length");
      return;
    }
    q.pending = pending;
  }

  /** Appends generated text; emits what can no longer be the start of a stop string. */
  private push(q: Sequence, piece: string): void {
    q.text += piece;
    const { stops } = q;
    if (stops.length === 0) {
      if (q.text.length > q.emitted) {
        q.sink.text(q.text.slice(q.emitted));
        q.emitted = q.text.length;
      }
      return;
    }
    let hit = -1;
    for (const s of stops) {
      const k = q.text.indexOf(s, Math.max(0, q.emitted - s.length));
      if (k >= 0 && (hit < 0 || k < hit)) hit = k;
    }
    if (hit >= 0) {
      q.stopAt = hit;
      if (hit > q.emitted) q.sink.text(q.text.slice(q.emitted, hit));
      q.emitted = hit;
      return;
    }
    let hold = 0;
    for (const s of stops) {
      for (let l = Math.min(s.length - 1, q.text.length - q.emitted); l > hold; l--) {
        if (q.text.endsWith(s.slice(0, l))) {
          hold = l;
          break;
        }
      }
    }
    const upto = q.text.length - hold;
    if (upto > q.emitted) {
      q.sink.text(q.text.slice(q.emitted, upto));
      q.emitted = upto;
    }
  }

  /** Frees a sequence's sampler and slot (its KV cells stay for prefix reuse). */
  private release(q: Sequence): void {
    if (q.encoding) q.encoding.return(0); // frees an unfinished encode
    q.encoding = null;
    if (q.chain) this.s.binding.api.llama_sampler_free(q.chain);
    q.chain = null;
    if (q.slot) {
      q.slot.seq = null;
      q.slot.lastUsed = ++this.clock;
    }
  }

  private finish(q: Sequence, reason: FinishReason): void {
    this.release(q);
    if (q.stopAt < 0) this.push(q, q.decoder.decode());
    if (q.stopAt < 0 && q.text.length > q.emitted) {
      q.sink.text(q.text.slice(q.emitted));
      q.emitted = q.text.length;
    }
    const decodeMs = q.tDecode0 > 0 ? performance.now() - q.tDecode0 : 0;
    const decodedPrompt = q.phase === "waiting" ? 0 : q.cursor - q.keep;
    q.sink.done({
      text: q.stopAt >= 0 ? q.text.slice(0, q.stopAt) : q.text,
      finishReason: reason,
      usage: { promptTokens: q.n, completionTokens: q.completion, cachedPromptTokens: q.keep },
      timings: {
        visionMs: q.visionMs,
        promptMs: q.promptMs,
        promptTokensPerSecond: q.promptMs > 0 ? (decodedPrompt * 1000) / q.promptMs : 0,
        decodeMs,
        decodeTokensPerSecond: decodeMs > 0 ? (q.completion * 1000) / decodeMs : 0,
      },
      thinkingTruncated: q.thinkingTruncated,
    });
  }

  private setAbortHook(on: boolean): void {
    if (on === this.abortHookOn) return;
    this.abortHookOn = on;
    this.s.binding.api.llama_set_abort_callback(this.s.ctx, on ? this.abortCb : null, null);
  }

  private ensureEmbd(): void {
    if (this.bEmbd) return;
    const bytes = this.s.nBatch * this.s.nEmbd * 4;
    this.bEmbd = native.alloc(bytes);
    this.vEmbd = new Float32Array(native.view(this.bEmbd, bytes));
  }
}

function aborted(q: Sequence): boolean {
  return q.abort !== null && Atomics.load(q.abort, 0) !== 0;
}

/** The prompt span holding item `i`, with its first and past-the-end item indices. */
function spanAt(q: Sequence, i: number): { span: PromptSpan; start: number; end: number } {
  let start = 0;
  for (const span of q.spans) {
    const end = start + (span.kind === "text" ? span.tokens.length : span.gridH * span.gridW);
    if (i < end) return { span, start, end };
    start = end;
  }
  throw new RangeError(`prompt item ${i} is past the end (${q.n})`);
}

/**
 * How many leading items of a slot's cache the prompt can keep: matching keys, at most n − 1 (the last item is
 * always decoded for its logits), never ending inside an image (rows of one grid share t).
 */
function commonPrefix(cache: CacheItem[], q: Sequence): number {
  let keep = 0;
  while (keep < cache.length && keep < q.n - 1 && cache[keep].key === q.keys[keep]) keep++;
  while (keep > 0 && keep < q.n && q.pos.t[keep] === q.pos.t[keep - 1]) keep--;
  return keep;
}

function lastLines(s: string, n: number): string {
  return s.split("\n").slice(-n).join("\n");
}
