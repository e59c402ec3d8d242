/** Messages between the embedded engine (main thread) and its worker thread. Plain structured-clone data. */
import type { GenerateResult } from "../types.ts";
import type { SerializedError } from "./errors.ts";
import type { SessionInfo, SessionOptions, SessionRequest } from "./session.ts";

/** What the worker is started with (`workerData`). */
export type WorkerInit = Omit<SessionOptions, "visionFactory">;

/** Main → worker. */
export type ToWorker =
  | { type: "generate"; id: number; request: SessionRequest; abort: SharedArrayBuffer }
  | { type: "count"; id: number; text: string }
  | { type: "close"; id: number };

/** Worker → main. */
export type FromWorker =
  | { type: "ready"; info: SessionInfo }
  | { type: "failed"; error: SerializedError }
  | { type: "text"; id: number; text: string }
  | { type: "done"; id: number; result: GenerateResult }
  | { type: "count"; id: number; n: number }
  | { type: "error"; id: number; error: SerializedError }
  | { type: "closed"; id: number };

/**
 * Main → engine host process (isolation "process", host.ts): the worker's messages without shared memory. The
 * host makes each request's abort flag; `aborted` says it was set before sending, `abort` sets it later.
 */
export type ToHost =
  | { type: "init"; init: WorkerInit }
  | { type: "generate"; id: number; request: SessionRequest; aborted: boolean }
  | { type: "count"; id: number; text: string }
  | { type: "close"; id: number }
  | { type: "abort"; id: number };
