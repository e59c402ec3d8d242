/** The JSONL logs upstream writes when `log_reward_judge` is set (spec §11.2, Logging). */
import { appendFile, mkdir } from "node:fs/promises";
import { join } from "node:path";

/** One log line (upstream's field names). */
export interface RewardLogEntry {
  current_iteration: number;
  prompt: string;
  image_file: string | null;
  answer: unknown;
  gt_answer: unknown;
  reward: number;
  /** −1 when unknown. */
  answer_token_length: number;
  /** The sum of the batch's rewards. */
  reward_sum_of_this_prompt: number;
  uuid: string | null;
}

/**
 * Appends a batch to `{dir}/{datasource}/`: every entry to `rollout_reward_pass@k.jsonl` when any reward of the
 * batch is > 0.75 (else `rollout_reward_not_pass@k.jsonl`), and each entry to `rollout_reward_correct.jsonl`
 * (reward > 0) or `rollout_reward_incorrect.jsonl`. UTF-8, non-ASCII kept.
 */
export async function writeRewardLogs(
  dir: string,
  datasource: string,
  entries: RewardLogEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  const folder = join(dir, datasource);
  await mkdir(folder, { recursive: true });
  const line = (e: RewardLogEntry) => `${JSON.stringify(e)}\n`;
  const passed = entries.some((e) => e.reward > 0.75);
  await appendFile(
    join(folder, passed ? "rollout_reward_pass@k.jsonl" : "rollout_reward_not_pass@k.jsonl"),
    entries.map(line).join(""),
  );
  const correct = entries.filter((e) => e.reward > 0);
  const incorrect = entries.filter((e) => !(e.reward > 0));
  if (correct.length)
    await appendFile(join(folder, "rollout_reward_correct.jsonl"), correct.map(line).join(""));
  if (incorrect.length)
    await appendFile(join(folder, "rollout_reward_incorrect.jsonl"), incorrect.map(line).join(""));
}
