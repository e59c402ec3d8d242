import assert from "node:assert/strict";
import { test } from "node:test";
import {
  defaultRewardConfig,
  parseRewardConfigYaml,
  resolveVerifierSettings,
  VERIFIER_TYPES,
  validateRewardConfig,
  withoutJudges,
} from "./config.ts";
import { RewardConfigError } from "./errors.ts";

const YAML = `
datasource_reward_config_mapping:
  mathvista: math_cfg
  charts: chart_cfg
enable_mix_verifier: false
reward_configs:
  math_cfg:
    verifier_type: math
    sympy_tolerance: 1.0e-4
    strict_boxed_extraction: false
    llm_judge_url: [http://a/v1, http://b/v1, http://c/v1]
    llm_api_key: [ka, kb, kc]
    llm_model: m
  chart_cfg:
    verifier_type: chart
    answer_extraction_regex: "^<think>(.*?)</think>(?P<answer>.*)$"
`;

test("a YAML config in upstream's schema loads, with defaults and zipped judges", () => {
  const config = parseRewardConfigYaml(YAML);
  assert.equal(config.enableMixVerifier, false);
  assert.equal(config.rewardLogDir, "logs");
  const math = resolveVerifierSettings("math_cfg", config.rewardConfigs.math_cfg);
  assert.equal(math.tolerance, 1e-4);
  assert.equal(math.strictBoxedExtraction, false);
  assert.equal(math.enableLlmJudgeFallback, true);
  assert.deepEqual(
    math.judge?.endpoints.map((e) => [e.url, e.apiKey, e.model]),
    [
      ["http://a/v1", "ka", "m"],
      ["http://b/v1", "kb", "m"],
      ["http://c/v1", "kc", "m"],
    ],
  );
  assert.equal(math.judge?.maxTokens, 10);
  assert.equal(math.judge?.temperature, 0.1);
  assert.equal(math.judge?.timeoutMs, 120_000);
  const chart = resolveVerifierSettings("chart_cfg", config.rewardConfigs.chart_cfg);
  assert.equal(chart.tolerance, 2.5e-2);
  assert.equal(chart.answerExtractionRegex?.exec("<think>a</think>b")?.groups?.answer, "b");
  assert.equal(chart.judge, null, "no URL: rules only");
});

function rejects(input: unknown, key: string | RegExp) {
  assert.throws(
    () => validateRewardConfig(input),
    (e: unknown) =>
      e instanceof RewardConfigError && (typeof key === "string" ? e.key === key : key.test(e.message)),
  );
}

test("validation errors name the key", () => {
  const base = {
    datasource_reward_config_mapping: { d: "c" },
    reward_configs: { c: { verifier_type: "math" } },
  };
  rejects(
    { ...base, datasource_reward_config_mapping: { d: "missing" } },
    "datasource_reward_config_mapping.d",
  );
  rejects({ ...base, reward_configs: { c: { verifier_type: "nope" } } }, "reward_configs.c.verifier_type");
  rejects(
    { ...base, reward_configs: { c: { verifier_type: "math", sympy_tolerance: "x" } } },
    "reward_configs.c.sympy_tolerance",
  );
  rejects(
    { ...base, reward_configs: { c: { verifier_type: "math", edit_distance_upper_bound: 1 } } },
    "reward_configs.c.edit_distance_upper_bound",
  );
  rejects(
    { ...base, reward_configs: { c: { verifier_type: "chart" } } },
    "reward_configs.c.answer_extraction_regex",
  );
  rejects(
    { ...base, reward_configs: { c: { verifier_type: "chart", answer_extraction_regex: "(" } } },
    "reward_configs.c.answer_extraction_regex",
  );
  rejects(
    {
      ...base,
      reward_configs: {
        c: { verifier_type: "math", llm_judge_url: ["a", "b"], llm_api_key: ["k1", "k2", "k3"] },
      },
    },
    /equal lengths/,
  );
  rejects(
    {
      ...base,
      reward_configs: { c: { verifier_type: "vqa", llm_judge_prompt_template: "{question} {predict}" } },
    },
    /lacks the placeholder\(s\) \{label\}/,
  );
  rejects({ ...base, extra: 1 }, "extra");
  rejects({ reward_configs: {} }, "datasource_reward_config_mapping");
});

test("duplicate names in YAML are errors", () => {
  assert.throws(
    () =>
      parseRewardConfigYaml(
        "datasource_reward_config_mapping: {}\nreward_configs:\n  a: {verifier_type: math}\n  a: {verifier_type: vqa}\n",
      ),
    RewardConfigError,
  );
});

test("the default config covers every verifier type but long_doc/file_based, plus 'default' and GUI aliases", () => {
  const config = defaultRewardConfig({});
  const types = new Set(Object.values(config.rewardConfigs).map((c) => c.verifier_type));
  for (const t of VERIFIER_TYPES) if (t !== "long_doc" && t !== "file_based") assert.ok(types.has(t), t);
  for (const d of ["default", "math", "androidworld", "OSWorld", "webvoyager", "grounding", "geoquest"])
    assert.ok(d in config.datasourceRewardConfigMapping, d);
  for (const [name, raw] of Object.entries(config.rewardConfigs))
    assert.equal(resolveVerifierSettings(name, raw).judge, null, `${name}: judge off without GLMV_JUDGE_URL`);
  const judged = defaultRewardConfig({ GLMV_JUDGE_URL: "http://127.0.0.1:1/v1", GLMV_JUDGE_MODEL: "j" });
  const math = resolveVerifierSettings("math", judged.rewardConfigs.math);
  assert.deepEqual(math.judge?.endpoints, [{ url: "http://127.0.0.1:1/v1", apiKey: "", model: "j" }]);
  const geo = resolveVerifierSettings("geoquest", judged.rewardConfigs.geoquest);
  assert.equal(geo.judge?.maxTokens, 4096);
  assert.equal(geo.judge?.temperature, 0.8);
  assert.equal(geo.judge?.topP, 0.6);
  assert.match(
    geo.judge?.promptTemplate ?? "",
    /\{question\}[\s\S]*\{label\}[\s\S]*\{predict\}/,
    "defect 5: all placeholders",
  );
  const off = withoutJudges(judged);
  assert.equal(resolveVerifierSettings("math", off.rewardConfigs.math).judge, null);
});
