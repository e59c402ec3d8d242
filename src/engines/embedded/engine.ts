/**
 * The embedded engine: GLM-V on llama.cpp's kernels through glmv's own FFI binding, in a worker thread.
 *
 * ```ts
 * const engine = await loadEmbeddedEngine({ model: "model.gguf", mmproj: "mmproj.gguf", threads: 4 });
 * for await (const ev of engine.generate({ prompt, media, options: { maxTokens: 256 } }, signal)) { … }
 * await engine.close();
 * ```
 */
import { basename } from "node:path";
import { Worker } from "node:worker_threads";
import type { FamilyId } from "../../protocol/families.ts";
import type { Engine, EngineInfo, GenerateEvent, GenerateRequest } from "../types.ts";
import { deserializeError, EngineClosedError } from "./errors.ts";
import type { FromWorker, ToWorker, WorkerInit } from "./protocol.ts";
import type { SessionInfo } from "./session.ts";
import { validateMmproj, validateTextModel } from "./validate.ts";

/** Options of `loadEmbeddedEngine`. */
export interface EmbeddedEngineOptions {
  /** Path of the text model GGUF. */
  model: string;
  /** Path of the vision projector (mmproj) GGUF; without it the engine is text-only. */
  mmproj?: string;
  /** Context size in tokens (default: the trained context, at most 8192). */
  contextSize?: number;
  /** Compute threads (default: all cores). */
  threads?: number;
  /** Prompt batch size (default 512, never above the context). */
  batchSize?: number;
  /** "cpu" (default) or "gpu"/"auto" to offload to a GPU backend when the installed binaries have one. */
  device?: "cpu" | "gpu" | "auto";
  /** Overrides the family detected from the GGUF metadata / file name. */
  family?: FamilyId;
  /** The model name shown in `info.model` (default: the file name). */
  name?: string;
  /**
   * Requests decoded together (continuous batching, default 1). With 1, requests run one after another; with N,
   * up to N run at once in one context whose KV cache they share (`contextSize` is the total), and further
   * requests wait inside the engine.
   */
  slots?: number;
}

interface Pending {
  onText(text: string): void;
  onDone(ev: FromWorker): void;
  onError(e: Error): void;
}

/** The embedded engine (implements `Engine`). Create it with `loadEmbeddedEngine`. */
export class EmbeddedEngine implements Engine {
  readonly info: EngineInfo;
  /** Session facts from the worker (batch size, threads, embedding width, …). */
  readonly session: SessionInfo;
  private worker: Worker;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private queue: Promise<void> = Promise.resolve();
  private dead: Error | null = null;
  private active = 0;
  /** Generations in flight (several at once when `session.slots` > 1), for `close` to wait on. */
  private inFlight = new Set<Promise<unknown>>();

  /** Use `loadEmbeddedEngine`. */
  constructor(worker: Worker, info: EngineInfo, session: SessionInfo) {
    this.worker = worker;
    this.info = info;
    this.session = session;
    worker.on("message", (m: FromWorker) => this.onMessage(m));
    const die = (e: Error) => {
      this.dead ??= e;
      for (const p of this.pending.values()) p.onError(this.dead);
      this.pending.clear();
    };
    worker.on("error", (e: Error) => die(new EngineClosedError(`the engine worker failed: ${e.message}`)));
    worker.on("exit", () => die(new EngineClosedError("the engine was closed")));
    worker.unref();
  }

  private onMessage(m: FromWorker): void {
    if (!("id" in m)) return;
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === "text") p.onText(m.text);
    else if (m.type === "error") {
      this.pending.delete(m.id);
      p.onError(deserializeError(m.error));
    } else {
      this.pending.delete(m.id);
      p.onDone(m);
    }
  }

  private hold(): void {
    if (this.active++ === 0) this.worker.ref();
  }
  private release(): void {
    if (--this.active === 0) this.worker.unref();
  }

  /** Sends one request and resolves with its final message; `onText` sees streamed pieces. */
  private call(msg: ToWorker, onText: (t: string) => void = () => {}): Promise<FromWorker> {
    if (this.dead) return Promise.reject(this.dead);
    this.hold();
    return new Promise<FromWorker>((resolve, reject) => {
      this.pending.set(msg.id, { onText, onDone: resolve, onError: reject });
      this.worker.postMessage(msg);
    }).finally(() => this.release());
  }

  /** Runs `fn` after every earlier request has finished (the worker serves one request at a time anyway). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /** Streams the generated text, then one `done` event. Aborting `signal` ends it within ~100 ms ("abort"). */
  async *generate(request: GenerateRequest, signal?: AbortSignal): AsyncIterable<GenerateEvent> {
    const abort = new SharedArrayBuffer(4);
    const flag = new Int32Array(abort);
    const onAbort = () => Atomics.store(flag, 0, 1);
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort);
    const events: GenerateEvent[] = [];
    let failure: Error | null = null;
    let finished = false;
    let wake: (() => void) | null = null;
    const notify = () => {
      wake?.();
      wake = null;
    };
    const id = this.nextId++;
    const send = () =>
      this.call({ type: "generate", id, request, abort }, (text) => {
        events.push({ type: "text", text });
        notify();
      });
    // One slot: one request at a time. Several: the worker's scheduler batches them.
    const work = (this.session.slots > 1 ? send() : this.serial(send)).then(
      (m) => {
        if (m.type === "done") events.push({ type: "done", result: m.result });
        finished = true;
        notify();
      },
      (e: Error) => {
        failure = e;
        finished = true;
        notify();
      },
    );
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
    try {
      for (;;) {
        while (events.length) {
          const ev = events.shift()!;
          yield ev;
          if (ev.type === "done") return;
        }
        if (failure) throw failure;
        if (finished) return;
        await new Promise<void>((r) => {
          wake = r;
        });
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (!finished) {
        // The consumer stopped early: stop the worker too and let the next request wait for it.
        onAbort();
        await work;
      }
    }
  }

  /** Counts the tokens of a text (special tokens parsed). */
  async countTokens(text: string): Promise<number> {
    const count = () => this.call({ type: "count", id: this.nextId++, text });
    const m = await (this.session.slots > 1 ? count() : this.serial(count));
    return m.type === "count" ? m.n : 0;
  }

  /** Frees the model and context and ends the worker; idempotent. */
  async close(): Promise<void> {
    if (this.dead) return;
    await this.serial(async () => {
      // Several slots: wait for the running generations (one slot: the queue already did).
      if (this.session.slots > 1) await Promise.allSettled([...this.inFlight]);
      if (this.dead) return;
      try {
        await this.call({ type: "close", id: this.nextId++ });
      } catch {
        // already gone
      }
      await this.worker.terminate();
    });
  }
}

/**
 * Loads a GLM-V GGUF (and optionally its mmproj) into a worker-thread engine. The files are validated with glmv's
 * own GGUF reader first, so a corrupt or wrong file is a thrown `InvalidModelError`, never a crash.
 */
export async function loadEmbeddedEngine(options: EmbeddedEngineOptions): Promise<EmbeddedEngine> {
  const facts = validateTextModel(options.model);
  if (options.mmproj) validateMmproj(options.mmproj, facts.embeddingWidth);
  const init: WorkerInit = {
    model: options.model,
    mmproj: options.mmproj,
    contextSize: options.contextSize,
    threads: options.threads,
    batchSize: options.batchSize,
    device: options.device,
    family: options.family,
    slots: options.slots,
  };
  const worker = new Worker(new URL("./worker.ts", import.meta.url), { workerData: init });
  const first = await new Promise<FromWorker>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) =>
      reject(new EngineClosedError(`the engine worker exited (${code}) while loading`)),
    );
  });
  if (first.type !== "ready") {
    await worker.terminate();
    throw first.type === "failed"
      ? deserializeError(first.error)
      : new EngineClosedError("unexpected worker reply");
  }
  worker.removeAllListeners("error");
  worker.removeAllListeners("exit");
  const s = first.info;
  const info: EngineInfo = {
    engine: "embedded",
    model: options.name ?? basename(options.model),
    family: s.family,
    contextSize: s.contextSize,
    vision: s.vision,
    devices: s.devices,
    chatTemplate: s.chatTemplate,
  };
  return new EmbeddedEngine(worker, info, s);
}
