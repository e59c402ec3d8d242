/**
 * The embedded engine: GLM-V on llama.cpp's kernels through glmv's own FFI binding, in a worker thread.
 *
 * ```ts
 * const engine = await loadEmbeddedEngine({ model: "model.gguf", mmproj: "mmproj.gguf", threads: 4 });
 * for await (const ev of engine.generate({ prompt, media, options: { maxTokens: 256 } }, signal)) { … }
 * await engine.close();
 * ```
 */
import { type ChildProcess, fork } from "node:child_process";
import { basename } from "node:path";
import { Worker } from "node:worker_threads";
import type { FamilyId } from "../../protocol/families.ts";
import type { Engine, EngineInfo, GenerateEvent, GenerateRequest } from "../types.ts";
import { deserializeError, EngineClosedError, EngineCrashedError } from "./errors.ts";
import type { FromWorker, ToHost, ToWorker, WorkerInit } from "./protocol.ts";
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
  /** "read" (default: one resident copy of the weights) or "mmap" (see SessionOptions.loadMode). */
  loadMode?: "read" | "mmap";
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
  /**
   * Where llama.cpp runs: "thread" (default) — a worker thread of this process; "process" — a child process, so
   * an abort() inside llama.cpp kills only the child: requests in flight fail with `EngineCrashedError` (HTTP 503)
   * and the engine starts a new child with the same model.
   */
  isolation?: "thread" | "process";
}

/** The link to the thread or process that owns llama.cpp. */
interface Channel {
  send(msg: ToWorker): void;
  /** Tells the owner that request `id` was aborted (thread: the shared flag already did). */
  abort(id: number): void;
  ref(): void;
  unref(): void;
  terminate(): Promise<void>;
  /** The child's process id (isolation "process"). */
  pid?: number;
}

/** What starting a channel gives: the channel, its session facts, and the hooks the engine attaches. */
interface Started {
  channel: Channel;
  session: SessionInfo;
}

interface ChannelEvents {
  message(m: FromWorker): void;
  /** The owner went away: `expected` after a close. */
  exit(error: Error, expected: boolean): void;
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
  private channel: Channel;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private queue: Promise<void> = Promise.resolve();
  private dead: Error | null = null;
  private active = 0;
  /** Generations in flight (several at once when `session.slots` > 1), for `close` to wait on. */
  private inFlight = new Set<Promise<unknown>>();

  private closing = false;
  /** Set while a crashed engine process is being replaced; requests wait for it. */
  private restarting: Promise<void> | null = null;
  private readonly start: ((events: ChannelEvents) => Promise<Started>) | null;
  /** How many times a crashed engine process was replaced. */
  restarts = 0;

  /**
   * Use `loadEmbeddedEngine`. `start` (isolation "process") starts a replacement when the channel dies
   * unexpectedly; without it the engine is dead from then on.
   */
  constructor(
    started: Started,
    info: EngineInfo,
    events: { attach(events: ChannelEvents): void },
    start: ((events: ChannelEvents) => Promise<Started>) | null = null,
  ) {
    this.channel = started.channel;
    this.info = info;
    this.session = started.session;
    this.start = start;
    events.attach(this.channelEvents());
    this.channel.unref();
  }

  /** The engine child's process id (isolation "process"; changes after a restart). */
  get pid(): number | undefined {
    return this.channel.pid;
  }

  private channelEvents(): ChannelEvents {
    return {
      message: (m) => this.onMessage(m),
      exit: (error, expected) => this.onExit(error, expected),
    };
  }

  private onExit(error: Error, expected: boolean): void {
    const crashed = !expected && !this.closing && this.start !== null;
    const failure = crashed
      ? new EngineCrashedError(
          `the engine process died (${error.message}); it is restarting, retry the request`,
        )
      : error;
    const pending = [...this.pending.values()];
    this.pending.clear();
    if (!crashed) this.dead ??= failure;
    for (const p of pending) p.onError(failure);
    if (!crashed) return;
    const start = this.start!;
    this.restarting = start(this.channelEvents()).then(
      (next) => {
        this.channel = next.channel;
        if (this.active === 0) this.channel.unref();
        this.restarts++;
        this.restarting = null;
      },
      (e: Error) => {
        this.dead = new EngineClosedError(`the engine process died and could not be restarted: ${e.message}`);
        this.restarting = null;
      },
    );
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
    if (this.active++ === 0) this.channel.ref();
  }
  private release(): void {
    if (--this.active === 0) this.channel.unref();
  }

  /** Sends one request and resolves with its final message; `onText` sees streamed pieces. */
  private call(msg: ToWorker, onText: (t: string) => void = () => {}): Promise<FromWorker> {
    if (this.restarting) return this.restarting.then(() => this.call(msg, onText));
    if (this.dead) return Promise.reject(this.dead);
    this.hold();
    return new Promise<FromWorker>((resolve, reject) => {
      this.pending.set(msg.id, { onText, onDone: resolve, onError: reject });
      this.channel.send(msg);
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
    const id = this.nextId++;
    const onAbort = () => {
      if (Atomics.exchange(flag, 0, 1) === 0 && this.pending.has(id)) this.channel.abort(id);
    };
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
      if (this.restarting) await this.restarting;
      if (this.dead) return;
      try {
        await this.call({ type: "close", id: this.nextId++ });
      } catch {
        // already gone
      }
      this.closing = true;
      await this.channel.terminate();
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
    loadMode: options.loadMode,
    family: options.family,
    slots: options.slots,
  };
  const start = options.isolation === "process" ? startProcess : startThread;
  let attached: ChannelEvents | null = null;
  // Messages can only arrive after `ready`, and the engine attaches right after this returns.
  const relay: ChannelEvents = {
    message: (m) => attached?.message(m),
    exit: (e, expected) => attached?.exit(e, expected),
  };
  const started = await start(init, relay);
  const s = started.session;
  const info: EngineInfo = {
    engine: "embedded",
    model: options.name ?? basename(options.model),
    family: s.family,
    contextSize: s.contextSize,
    vision: s.vision,
    devices: s.devices,
    chatTemplate: s.chatTemplate,
  };
  return new EmbeddedEngine(
    started,
    info,
    {
      attach: (events) => {
        attached = events;
      },
    },
    options.isolation === "process" ? (events) => startProcess(init, events) : null,
  );
}

/** Waits for the owner's first message: `ready` gives the session facts, `failed` the load error. */
function firstReply(
  on: (cb: (m: FromWorker) => void) => void,
  fail: (cb: (e: Error) => void) => void,
): Promise<SessionInfo> {
  return new Promise<SessionInfo>((resolve, reject) => {
    on((m) => {
      if (m.type === "ready") resolve(m.info);
      else
        reject(
          m.type === "failed" ? deserializeError(m.error) : new EngineClosedError("unexpected worker reply"),
        );
    });
    fail(reject);
  });
}

/** Starts the worker thread that owns llama.cpp. */
async function startThread(init: WorkerInit, events: ChannelEvents): Promise<Started> {
  const worker = new Worker(new URL("./worker.ts", import.meta.url), { workerData: init });
  let session: SessionInfo;
  try {
    session = await firstReply(
      (cb) => worker.once("message", cb),
      (cb) => {
        worker.once("error", cb);
        worker.once("exit", (code) =>
          cb(new EngineClosedError(`the engine worker exited (${code}) while loading`)),
        );
      },
    );
  } catch (e) {
    await worker.terminate();
    throw e;
  }
  worker.removeAllListeners("error");
  worker.removeAllListeners("exit");
  let failed: Error | null = null;
  worker.on("message", (m: FromWorker) => events.message(m));
  worker.on("error", (e: Error) => {
    failed = new EngineClosedError(`the engine worker failed: ${e.message}`);
  });
  worker.on("exit", () =>
    events.exit(failed ?? new EngineClosedError("the engine was closed"), failed === null),
  );
  return {
    session,
    channel: {
      send: (m) => worker.postMessage(m),
      abort: () => {},
      ref: () => worker.ref(),
      unref: () => worker.unref(),
      terminate: async () => {
        await worker.terminate();
      },
    },
  };
}

/** Starts the child process (host.ts) whose worker thread owns llama.cpp. */
async function startProcess(init: WorkerInit, events: ChannelEvents): Promise<Started> {
  const child: ChildProcess = fork(new URL("./host.ts", import.meta.url), [], {
    serialization: "advanced",
    execArgv: [],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const post = (m: ToHost) => {
    if (child.connected) child.send(m);
  };
  let session: SessionInfo;
  try {
    session = await firstReply(
      (cb) => child.once("message", cb),
      (cb) => {
        child.once("error", cb);
        child.once("exit", (code, signal) =>
          cb(new EngineClosedError(`the engine process exited (${signal ?? code}) while loading`)),
        );
        post({ type: "init", init });
      },
    );
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
  child.removeAllListeners("error");
  child.removeAllListeners("exit");
  let closed = false;
  child.on("message", (m: FromWorker) => {
    if (m.type === "closed") closed = true;
    events.message(m);
  });
  child.on("error", () => {});
  child.on("exit", (code, signal) =>
    events.exit(
      closed
        ? new EngineClosedError("the engine was closed")
        : new EngineClosedError(`exit ${signal ?? code}`),
      closed,
    ),
  );
  const channel: Channel = {
    pid: child.pid,
    send: (m) => {
      if (m.type === "generate") {
        const aborted = Atomics.load(new Int32Array(m.abort), 0) !== 0;
        post({ type: "generate", id: m.id, request: m.request, aborted });
      } else post(m);
    },
    abort: (id) => post({ type: "abort", id }),
    ref: () => {
      child.ref();
      child.channel?.ref();
    },
    unref: () => {
      child.unref();
      child.channel?.unref();
    },
    terminate: async () => {
      closed = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((r) => child.once("exit", () => r()));
      if (!child.connected) child.kill("SIGKILL");
      const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
      await gone;
      clearTimeout(timer);
    },
  };
  return { session, channel };
}
