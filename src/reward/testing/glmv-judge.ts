/**
 * A real glmv server on loopback, over the embedded engine running a scripted tiny model whose greedy output
 * is a fixed judge reply. The reward tests start it like the fake judge server (same shape), so a judge test
 * can run against either.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadEmbeddedEngine } from "../../engines/embedded/engine.ts";
import { writeTinyModel } from "../../engines/tiny/model.ts";
import { createEmbeddedBackend } from "../../runtime/embedded.ts";
import { startServer } from "../../server/app.ts";

/** A running glmv judge. */
export interface GlmvJudge {
  /** Base URL, e.g. `http://127.0.0.1:PORT/v1`. */
  url: string;
  /** The model name to send. */
  model: string;
  close(): Promise<void>;
}

/** Starts `glmv serve`'s app with a scripted tiny model that always replies `reply` (e.g. `<think>…</think>1.0`). */
export async function startGlmvJudge(reply: string): Promise<GlmvJudge> {
  const dir = mkdtempSync(join(tmpdir(), "glmv-reward-judge-"));
  const { modelPath } = writeTinyModel(dir, { script: reply });
  const engine = await loadEmbeddedEngine({ model: modelPath, threads: 1, name: "tiny-judge" });
  const backend = createEmbeddedBackend({ engine, modelId: "tiny-judge" });
  const server = await startServer({ backend, slots: 1, maxWaiting: 16 });
  return {
    url: `${server.url}/v1`,
    model: "tiny-judge",
    close: async () => {
      await server.close(200);
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
