/**
 * The embedded engine's worker thread: owns the llama.cpp model and context (LlamaSession) and makes synchronous
 * FFI calls, so the main event loop stays free (engine-notes §4.2). Aborts arrive through a shared Int32Array
 * flag that the session checks between tokens, between prefill batches and inside llama_decode.
 *
 * With one slot, requests run one at a time through `LlamaSession.generate`. With several, a `BatchScheduler`
 * decodes them together: the worker runs one scheduler step per event-loop turn (`setImmediate`), so new requests
 * and `count` messages are taken between steps.
 */
import { parentPort, workerData } from "node:worker_threads";
import { EngineClosedError, serializeError } from "./errors.ts";
import type { FromWorker, ToWorker, WorkerInit } from "./protocol.ts";
import { BatchScheduler } from "./scheduler.ts";
import { LlamaSession } from "./session.ts";

const port = parentPort!;
/** Longest wait before streamed text is handed to the main thread. */
const FLUSH_MS = 50;
const post = (m: FromWorker) => port.postMessage(m);

let session: LlamaSession;
try {
  session = await LlamaSession.open(workerData as WorkerInit);
  post({ type: "ready", info: session.info });
} catch (e) {
  post({ type: "failed", error: serializeError(e) });
  process.exit(0);
}

/** Streams one request's text, at most every FLUSH_MS (see below). */
function textBatcher(id: number): { add(text: string): void; flush(): void } {
  let pending = "";
  let last = performance.now();
  return {
    add(text) {
      pending += text;
      const now = performance.now();
      if (now - last >= FLUSH_MS) {
        post({ type: "text", id, text: pending });
        pending = "";
        last = now;
      }
    },
    flush() {
      if (pending) post({ type: "text", id, text: pending });
      pending = "";
    },
  };
}

const scheduler = session.info.slots > 1 ? new BatchScheduler(session.internals(), session.info) : null;
let stepping = false;

/** Longest run of scheduler steps before the worker takes new messages (aborts need none: shared flags). */
const STEPS_MS = 4;

function runSteps(): void {
  if (!scheduler) return;
  const t0 = performance.now();
  try {
    do scheduler.step();
    while (scheduler.busy && performance.now() - t0 < STEPS_MS);
  } catch (e) {
    // A failure outside any one request (should not happen): end them all rather than spin.
    scheduler.close(e);
  }
  if (scheduler.busy) setImmediate(runSteps);
  else stepping = false;
}

function submit(m: Extract<ToWorker, { type: "generate" }>, batched: BatchScheduler): void {
  const out = textBatcher(m.id);
  try {
    batched.submit(m.request, new Int32Array(m.abort), {
      text: (t) => out.add(t),
      done: (result) => {
        out.flush();
        post({ type: "done", id: m.id, result });
      },
      fail: (e) => {
        out.flush();
        post({ type: "error", id: m.id, error: serializeError(e) });
      },
    });
  } catch (e) {
    post({ type: "error", id: m.id, error: serializeError(e) });
    return;
  }
  if (!stepping) {
    stepping = true;
    setImmediate(runSteps);
  }
}

port.on("message", (m: ToWorker) => {
  switch (m.type) {
    case "generate": {
      if (scheduler) {
        submit(m, scheduler);
        return;
      }
      try {
        const flag = new Int32Array(m.abort);
        // Text pieces are sent at most every FLUSH_MS (and before the result): a message per token would wake the
        // main thread at every step and steal CPU from ggml's spinning compute threads on small machines.
        let pending = "";
        let last = performance.now();
        const result = session.generate(m.request, flag, (text) => {
          pending += text;
          const now = performance.now();
          if (now - last >= FLUSH_MS) {
            post({ type: "text", id: m.id, text: pending });
            pending = "";
            last = now;
          }
        });
        if (pending) post({ type: "text", id: m.id, text: pending });
        post({ type: "done", id: m.id, result });
      } catch (e) {
        post({ type: "error", id: m.id, error: serializeError(e) });
      }
      return;
    }
    case "count": {
      try {
        post({ type: "count", id: m.id, n: session.countTokens(m.text) });
      } catch (e) {
        post({ type: "error", id: m.id, error: serializeError(e) });
      }
      return;
    }
    case "close": {
      scheduler?.close(new EngineClosedError("the engine was closed"));
      session.close();
      post({ type: "closed", id: m.id });
      port.close();
      return;
    }
  }
});
