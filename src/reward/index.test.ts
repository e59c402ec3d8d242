import assert from "node:assert/strict";
import { test } from "node:test";
import * as reward from "./index.ts";

test("the public index exports the pipeline, config, judge and verifier entry points", async () => {
  for (const name of [
    "getReward",
    "RewardSystem",
    "defaultRewardConfig",
    "parseRewardConfigYaml",
    "createVerifier",
    "LlmJudge",
    "scoreJsonlFile",
  ])
    assert.equal(typeof (reward as Record<string, unknown>)[name], "function", name);
  const system = new reward.RewardSystem(reward.defaultRewardConfig({}));
  const r = await reward.getReward(system, {
    prompts: "q",
    responses: "<think>r</think><answer><|begin_of_box|>[[10,10,110,110]]<|end_of_box|></answer>",
    gts: "[[10,10,110,110]]",
    datasources: "grounding",
  });
  assert.deepEqual(r.rewards, [1]);
});
