/** Worker-thread entry of scoreJsonlFile: scores chunks of JSONL lines with its own RewardSystem. */
import { parentPort, workerData } from "node:worker_threads";
import type { RewardConfig } from "./config.ts";
import { RewardSystem } from "./pipeline.ts";
import { scoreChunk } from "./score-file.ts";

const { config, noJudge } = workerData as { config: RewardConfig; noJudge: boolean };
const system = new RewardSystem(config, { noJudge });

parentPort!.on("message", async (m: { id: number; startLine: number; bytes: Uint8Array }) => {
  const result = await scoreChunk(system, m.startLine, m.bytes);
  parentPort!.postMessage({ id: m.id, ...result });
});
