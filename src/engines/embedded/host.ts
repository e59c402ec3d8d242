/**
 * The embedded engine's host process (isolation "process"): a child process that runs the usual engine worker
 * thread (worker.ts) and relays messages between it and the parent over IPC. An abort() inside llama.cpp then
 * kills this process only; the parent sees the exit, fails the requests in flight and starts a new host.
 *
 * Shared memory cannot cross processes, so the parent sends `{type: "abort", id}` and this process sets the
 * request's abort flag (a SharedArrayBuffer shared with its worker thread, as in thread mode).
 */
import { Worker } from "node:worker_threads";
import type { FromWorker, ToHost, ToWorker } from "./protocol.ts";

if (!process.send) {
  process.stderr.write("host.ts is started by the embedded engine (isolation: process), not directly\n");
  process.exit(2);
}
const send = (m: FromWorker) => process.send?.(m);
const flags = new Map<number, Int32Array>();
let worker: Worker | null = null;

process.on("disconnect", () => process.exit(0));
process.on("message", (m: ToHost) => {
  if (m.type === "init") {
    worker = new Worker(new URL("./worker.ts", import.meta.url), { workerData: m.init });
    worker.on("message", (r: FromWorker) => {
      if ((r.type === "done" || r.type === "error") && "id" in r) flags.delete(r.id);
      send(r);
      if (r.type === "closed" || r.type === "failed") setImmediate(() => process.exit(0));
    });
    worker.on("error", (e: Error) => {
      process.stderr.write(`glmv engine worker failed: ${e.message}\n`);
      process.exit(1);
    });
    worker.on("exit", () => process.exit(0));
    return;
  }
  if (!worker) return;
  if (m.type === "abort") {
    const flag = flags.get(m.id);
    if (flag) Atomics.store(flag, 0, 1);
    return;
  }
  if (m.type === "generate") {
    const abort = new SharedArrayBuffer(4);
    const flag = new Int32Array(abort);
    if (m.aborted) flag[0] = 1;
    flags.set(m.id, flag);
    const msg: ToWorker = { type: "generate", id: m.id, request: m.request, abort };
    worker.postMessage(msg);
    return;
  }
  worker.postMessage(m satisfies ToWorker);
});
