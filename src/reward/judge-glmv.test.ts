/**
 * The LLM judge and the reward pipeline against a real glmv server on loopback, running the scripted tiny model
 * that answers a fixed verdict (real llama.cpp decoding through the embedded engine).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { validateRewardConfig } from "./config.ts";
import { LlmJudge } from "./judge.ts";
import { RewardSystem } from "./pipeline.ts";
import { type GlmvJudge, startGlmvJudge } from "./testing/glmv-judge.ts";

const gated = (x: string) => `<think>r</think><answer><|begin_of_box|>${x}<|end_of_box|></answer>`;

describe("LLM judge against glmv serve with a scripted tiny model", () => {
  let yes: GlmvJudge;
  let no: GlmvJudge;
  before(async () => {
    yes = await startGlmvJudge("<think>Same value.</think>1.0");
    no = await startGlmvJudge("<think>Different.</think>0.0");
  });
  after(async () => {
    await yes?.close();
    await no?.close();
  });

  const settings = (endpoints: GlmvJudge[]) => ({
    endpoints: endpoints.map((j) => ({ url: j.url, apiKey: "", model: j.model })),
    promptTemplate: "Question: {question}\nReference: {label}\nCandidate: {predict}\nReply 1.0 or 0.0.",
    maxTokens: 32,
    temperature: 0,
    topP: 1,
    timeoutMs: 30_000,
    retries: 0,
    retryDelayMs: 0,
    concurrency: 2,
  });

  it("reads the verdict after the reasoning and takes the majority of three judges", async () => {
    assert.deepEqual(await new LlmJudge(settings([yes])).vote("q", "a cat", "cat"), {
      reward: 1,
      decidedBy: "llm",
    });
    assert.deepEqual(await new LlmJudge(settings([no])).vote("q", "a dog", "cat"), {
      reward: 0,
      decidedBy: "llm",
    });
    assert.equal((await new LlmJudge(settings([yes, no, yes])).vote("q", "a", "b")).reward, 1);
    assert.equal((await new LlmJudge(settings([no, yes, no])).vote("q", "a", "b")).reward, 0);
  });

  it("decides a vqa item through the whole pipeline; --no-judge falls back to rules", async () => {
    const config = validateRewardConfig({
      datasource_reward_config_mapping: { pets: "judged" },
      reward_configs: {
        judged: { verifier_type: "vqa", llm_judge_url: yes.url, llm_model: yes.model, llm_max_tokens: 32 },
      },
    });
    const item = { prompt: "Which animal?", response: gated("a cat"), gt: gated("cat"), datasource: "pets" };
    const judged = await new RewardSystem(config).scoreItem(item);
    assert.deepEqual([judged.reward, judged.decidedBy, judged.extractedAnswer], [1, "llm", "a cat"]);
    const rules = await new RewardSystem(config, { noJudge: true }).scoreItem(item);
    assert.deepEqual([rules.reward, rules.decidedBy], [0, "rule"]);
  });
});
