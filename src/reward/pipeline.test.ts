import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { defaultRewardConfig, validateRewardConfig } from "./config.ts";
import { RewardConfigError, RewardInputError, UnknownDatasourceError } from "./errors.ts";
import { getReward, RewardSystem, replaceNegativeInfinity } from "./pipeline.ts";
import { startJudgeServer } from "./testing/judge-server.ts";
import type { Verifier } from "./types.ts";

const gated = (x: string, think = "r") =>
  `<think>${think}</think>\n<answer><|begin_of_box|>${x}<|end_of_box|></answer>`;
const rules = () => new RewardSystem(defaultRewardConfig({}));

test("a correct math answer passes every gate and is decided by rule", async () => {
  const { rewards, extractedAnswers, extractedGts, outcomes } = await getReward(rules(), {
    prompts: ["q"],
    responses: [gated("3/2")],
    gts: [gated("1.5", "")],
    datasources: ["math"],
  });
  assert.deepEqual(rewards, [1]);
  assert.deepEqual(extractedAnswers, ["3/2"]);
  assert.deepEqual(extractedGts, ["1.5"]);
  assert.equal(outcomes[0].decidedBy, "rule");
});

test("format failures score the minimum with decidedBy 'format'; a bad ground truth is an 'error'", () => {
  const s = rules();
  const score = (response: unknown, gt: unknown = gated("1")) =>
    s.scoreItem({ prompt: "", response, gt, datasource: "math" }) as {
      reward: number;
      decidedBy: string;
      detail?: string;
    };
  assert.equal(score("<think>r</think>1").decidedBy, "format");
  assert.equal(score(gated("1")).reward, 1);
  const twoBoxes = score(
    "<think>r</think><answer><|begin_of_box|>1<|end_of_box|><|begin_of_box|>1<|end_of_box|></answer>",
  );
  assert.deepEqual([twoBoxes.reward, twoBoxes.decidedBy], [0, "format"]);
  const noBox = score("<think>r</think><answer>1</answer>");
  assert.deepEqual([noBox.reward, noBox.decidedBy], [0, "format"]);
  const badGt = score(gated("1"), "1");
  assert.deepEqual([badGt.reward, badGt.decidedBy], [0, "error"]);
  assert.match(badGt.detail ?? "", /bad ground truth/);
});

test("language-mix veto: mixed long paragraphs score the minimum; it can be disabled", () => {
  const zh = "这是一个很长的中文段落".repeat(8);
  const en = Array.from({ length: 210 }, () => "word").join(" ");
  const response = `<think>${zh}\n\n${en}</think><answer><|begin_of_box|>1<|end_of_box|></answer>`;
  const on = rules().scoreItem({ prompt: "", response, gt: gated("1"), datasource: "math" }) as {
    reward: number;
    decidedBy: string;
  };
  assert.deepEqual([on.reward, on.decidedBy], [0, "format"]);
  const config = { ...defaultRewardConfig({}), enableMixVerifier: false };
  const off = new RewardSystem(config).scoreItem({
    prompt: "",
    response,
    gt: gated("1"),
    datasource: "math",
  }) as { reward: number };
  assert.equal(off.reward, 1);
});

test("non-string answers skip the gates instead of being vetoed (defect 11)", () => {
  const s = rules();
  const action = { action_type: "navigate_home" };
  const r = s.scoreItem({ prompt: "", response: action, gt: action, datasource: "AndroidWorld" }) as {
    reward: number;
  };
  assert.equal(r.reward, 1);
});

test("GUI datasources are judged through the pipeline (defect 2: the image argument no longer breaks them)", async () => {
  const box = (x: string) => `<think>t</think><answer>Action: <|begin_of_box|>${x}<|end_of_box|></answer>`;
  const { rewards } = await getReward(rules(), {
    prompts: ["p", "p"],
    responses: [box("left_click(start_box='[510, 500]')"), box("left_click(start_box='[500, 500]')")],
    gts: [box("left_click(start_box='[500, 500]')"), box("left_click(start_box='[500, 500]')")],
    datasources: "OSWorld",
    imageFiles: ["a.png", "b.png"],
  });
  assert.ok(Math.abs(rewards[0] - 0.9) < 1e-9);
  assert.equal(rewards[1], 1);
});

test("−inf rewards become the batch minimum, or 0 when every reward is −inf", async () => {
  assert.deepEqual(replaceNegativeInfinity([0.5, Number.NEGATIVE_INFINITY, 0.2]), [0.5, 0.2, 0.2]);
  assert.deepEqual(replaceNegativeInfinity([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY]), [0, 0]);
  const custom: Verifier = {
    type: "custom",
    minReward: Number.NEGATIVE_INFINITY,
    gatesGroundTruth: true,
    extractAnswer: (t) => (t.includes("ok") ? "ok" : null),
    extractGroundTruth: () => "ok",
    judge: () => ({ reward: 0.25, decidedBy: "rule" }),
  };
  const s = new RewardSystem(defaultRewardConfig({}), { verifiers: { vqa: custom } });
  const good = "<think>r</think><answer>ok</answer>";
  const { rewards } = await getReward(s, {
    prompts: ["a", "b"],
    responses: [good, "broken"],
    gts: [good, good],
  });
  assert.deepEqual(rewards, [0.25, 0.25]);
});

test("batch checks: scalars are one item (defect 8), empty batches work, mixed datasources and unknown ones are errors", async () => {
  const s = rules();
  const one = await getReward(s, {
    prompts: "q",
    responses: gated("2"),
    gts: gated("2"),
    datasources: "math",
  });
  assert.deepEqual(one.rewards, [1]);
  assert.deepEqual((await getReward(s, { prompts: [], responses: [], gts: [] })).rewards, []);
  await assert.rejects(
    getReward(s, {
      prompts: ["a", "b"],
      responses: ["x", "y"],
      gts: ["x", "y"],
      datasources: ["math", "ocr"],
    }),
    RewardInputError,
  );
  await assert.rejects(getReward(s, { prompts: ["a"], responses: ["x", "y"], gts: ["x"] }), RewardInputError);
  await assert.rejects(
    getReward(s, { prompts: ["a"], responses: ["x"], gts: ["x"], datasources: ["nope"] }),
    UnknownDatasourceError,
  );
});

test("logs: pass@k or not_pass@k for the whole batch, correct/incorrect per item, upstream's fields", async () => {
  const dir = await mkdtemp(join(tmpdir(), "glmv-reward-"));
  try {
    await getReward(rules(), {
      prompts: ["q1", "q2"],
      responses: [gated("1"), gated("2")],
      gts: [gated("1"), gated("1")],
      datasources: "math",
      uuids: ["u1", "u2"],
      answerLengths: [10, 20],
      logRewardJudge: true,
      saveDir: dir,
      currentIteration: 7,
    });
    const read = async (f: string) =>
      (await readFile(join(dir, "math", f), "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
    const pass = await read("rollout_reward_pass@k.jsonl");
    assert.equal(pass.length, 2);
    assert.deepEqual(Object.keys(pass[0]), [
      "current_iteration",
      "prompt",
      "image_file",
      "answer",
      "gt_answer",
      "reward",
      "answer_token_length",
      "reward_sum_of_this_prompt",
      "uuid",
    ]);
    assert.equal(pass[0].current_iteration, 7);
    assert.equal(pass[0].reward_sum_of_this_prompt, 1);
    assert.deepEqual(
      (await read("rollout_reward_correct.jsonl")).map((e) => e.uuid),
      ["u1"],
    );
    assert.deepEqual(
      (await read("rollout_reward_incorrect.jsonl")).map((e) => e.answer_token_length),
      [20],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the LLM judge through the pipeline, over loopback HTTP; without it verifiers say 'rule'", async () => {
  const server = await startJudgeServer({ verdict: "1.0" });
  try {
    const config = validateRewardConfig({
      datasource_reward_config_mapping: { sci: "vqa_cfg" },
      reward_configs: {
        vqa_cfg: { verifier_type: "vqa", llm_judge_url: server.url, llm_api_key: "k", llm_model: "scripted" },
      },
    });
    const item = { prompt: "What animal?", response: gated("a cat"), gt: gated("cat"), datasource: "sci" };
    const judged = await new RewardSystem(config).scoreItem(item);
    assert.deepEqual([judged.reward, judged.decidedBy], [1, "llm"]);
    assert.match(
      (server.requests[0] as { messages: { content: string }[] }).messages[0].content,
      /What animal\?[\s\S]*cat[\s\S]*a cat/,
    );
    const ruled = await new RewardSystem(config, { noJudge: true }).scoreItem(item);
    assert.deepEqual([ruled.reward, ruled.decidedBy], [0, "rule"]);
  } finally {
    await server.close();
  }
  // A judge that cannot be reached is an error, not a silent 0 vote (defect 6).
  const config = validateRewardConfig({
    datasource_reward_config_mapping: { sci: "v" },
    reward_configs: { v: { verifier_type: "vqa", llm_judge_url: "http://127.0.0.1:9/v1", llm_retries: 0 } },
  });
  const down = await new RewardSystem(config).scoreItem({
    prompt: "",
    response: gated("a"),
    gt: gated("b"),
    datasource: "sci",
  });
  assert.deepEqual([down.reward, down.decidedBy], [0, "error"]);
});

test("a datasource mapped to long_doc (configuration only) is a configuration error naming the key", () => {
  const config = validateRewardConfig({
    datasource_reward_config_mapping: { docs: "ld" },
    reward_configs: { ld: { verifier_type: "long_doc", llm_judge_url: ["http://a"], llm_model: ["m"] } },
  });
  assert.throws(
    () =>
      new RewardSystem(config).scoreItem({
        prompt: "",
        response: gated("x"),
        gt: gated("x"),
        datasource: "docs",
      }),
    (e: unknown) => e instanceof RewardConfigError && e.key === "reward_configs.ld.verifier_type",
  );
});
