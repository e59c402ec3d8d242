/**
 * The embedded engine's worker thread: owns the llama.cpp model and context (LlamaSession) and makes synchronous
 * FFI calls, so the main event loop stays free (engine-notes §4.2). Aborts arrive through a shared Int32Array
 * flag that the session checks between tokens, between prefill batches and inside llama_decode.
 */
import { parentPort, workerData } from "node:worker_threads";
import { serializeError } from "./errors.ts";
import type { FromWorker, ToWorker, WorkerInit } from "./protocol.ts";
import { LlamaSession } from "./session.ts";

const port = parentPort!;
/** Longest wait before streamed text is handed to the main thread. */
const FLUSH_MS = 15;
const post = (m: FromWorker) => port.postMessage(m);

let session: LlamaSession;
try {
  session = await LlamaSession.open(workerData as WorkerInit);
  post({ type: "ready", info: session.info });
} catch (e) {
  post({ type: "failed", error: serializeError(e) });
  process.exit(0);
}

port.on("message", (m: ToWorker) => {
  switch (m.type) {
    case "generate": {
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
      session.close();
      post({ type: "closed", id: m.id });
      port.close();
      return;
    }
  }
});
