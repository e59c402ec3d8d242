/**
 * The reward configuration: the same YAML schema as upstream glmv_reward (spec §11.1), validated with errors
 * that name the offending key, plus the built-in default configuration covering every datasource.
 */
import { createRequire } from "node:module";
import { RewardConfigError } from "./errors.ts";
import { type JudgeEndpoint, type JudgeSettings, missingPlaceholders } from "./judge.ts";
import {
  EQUIVALENCE_PROMPT,
  FREE_TEXT_PROMPT,
  GENERAL_PROMPT,
  GEOQUEST_PROMPT,
  SCIENCE_PROMPT,
} from "./prompts.ts";

/** Every `verifier_type` the schema accepts. */
export const VERIFIER_TYPES = [
  "math", "physics", "chemistry", "biology", "geography", "liberal_arts", "vqa", "ocr", "chart", "counting",
  "mmsi", "multi_image", "general", "geoquest", "long_doc", "language_mix", "AndroidWorld", "OSWorld",
  "WebVoyager", "file_based", "grounding",
] as const; // biome-ignore format: a list

/** One of VERIFIER_TYPES. */
export type VerifierType = (typeof VERIFIER_TYPES)[number];

/** One `reward_configs` entry as written in YAML (snake_case keys). */
export type RawVerifierConfig = { verifier_type: string } & Record<string, unknown>;

/** A validated configuration. */
export interface RewardConfig {
  /** `{datasource: config_name}`. */
  datasourceRewardConfigMapping: Record<string, string>;
  /** `{config_name: entry}`, each entry validated. */
  rewardConfigs: Record<string, RawVerifierConfig>;
  /** Whether the language-mix veto runs (default true). */
  enableMixVerifier: boolean;
  /** Where JSONL logs go when logging is on (default `logs`). */
  rewardLogDir: string;
}

/** A verifier's settings with defaults applied (camelCase, typed). */
export interface VerifierSettings {
  name: string;
  verifierType: VerifierType;
  /** `sympy_tolerance`: relative tolerance of numeric comparisons. */
  tolerance: number;
  strictBoxedExtraction: boolean;
  enableLlmJudgeFallback: boolean;
  /** The judge, or null when no endpoint is configured (rules only). */
  judge: JudgeSettings | null;
  editDistanceUpperBound: number;
  editDistanceLowerBound: number;
  ignoreCase: boolean;
  /** `answer_extraction_regex`, compiled (Python `(?P<name>…)` groups accepted). */
  answerExtractionRegex: RegExp | null;
  /** Time limit of one computer-algebra check (ms). */
  symbolicTimeLimitMs: number;
  /** Grounding: IoU at or above which a predicted box matches. */
  iouThreshold: number;
  /** Grounding: "threshold" (matched fraction) or "continuous" (mean matched IoU). */
  groundingScoring: "threshold" | "continuous";
  /** file_based: JavaScript/TypeScript module paths and function names (Python files are not loadable). */
  extractAnswerFilePath: string | null;
  extractAnswerFuncName: string | null;
  judgeFuncPath: string | null;
  judgeFuncName: string | null;
}

const LLM_FIELDS = [
  "llm_api_key", "llm_judge_url", "llm_model", "llm_judge_prompt_template", "llm_max_tokens", "llm_temperature",
  "llm_top_p", "llm_timeout_s", "llm_retries", "llm_retry_delay_ms", "llm_concurrency",
]; // biome-ignore format: a list
const FILE_FIELDS = [
  "extract_answer_file_path", "extract_answer_func_name", "judge_func_path", "judge_func_name", "load_once",
]; // biome-ignore format: a list
const SCIENCE = [
  "sympy_tolerance",
  "strict_boxed_extraction",
  "enable_llm_judge_fallback",
  "symbolic_time_limit_ms",
  ...LLM_FIELDS,
];

/** The keys each verifier type accepts besides `verifier_type`. */
export const FIELDS_BY_TYPE: Record<VerifierType, string[]> = {
  math: SCIENCE,
  physics: SCIENCE,
  chemistry: SCIENCE,
  biology: SCIENCE,
  geography: SCIENCE,
  liberal_arts: SCIENCE,
  vqa: ["strict_boxed_extraction", "enable_llm_judge_fallback", ...LLM_FIELDS],
  ocr: [
    "strict_boxed_extraction", "edit_distance_upper_bound", "edit_distance_lower_bound", "ignore_case",
    "enable_llm_judge_fallback", ...LLM_FIELDS,
  ], // biome-ignore format: a list
  chart: ["answer_extraction_regex", ...SCIENCE],
  counting: ["strict_boxed_extraction", "enable_llm_judge_fallback", ...LLM_FIELDS],
  mmsi: SCIENCE,
  multi_image: SCIENCE,
  general: ["answer_extraction_regex", "enable_llm_judge_fallback", ...LLM_FIELDS],
  geoquest: ["strict_boxed_extraction", "enable_llm_judge_fallback", ...LLM_FIELDS],
  long_doc: ["answer_extraction_regex", ...LLM_FIELDS],
  language_mix: [],
  AndroidWorld: FILE_FIELDS,
  OSWorld: FILE_FIELDS,
  WebVoyager: FILE_FIELDS,
  file_based: FILE_FIELDS,
  grounding: ["strict_boxed_extraction", "iou_threshold", "grounding_scoring"],
};

const REQUIRED_BY_TYPE: Partial<Record<VerifierType, string[]>> = {
  chart: ["answer_extraction_regex"],
  general: ["llm_api_key", "llm_judge_url", "llm_judge_prompt_template"],
  geoquest: ["llm_api_key", "llm_judge_url", "llm_judge_prompt_template"],
  file_based: ["judge_func_path", "judge_func_name"],
};

const DEFAULT_TOLERANCE: Partial<Record<VerifierType, number>> = {
  math: 1e-6,
  physics: 1e-5,
  chemistry: 1e-5,
  chart: 2.5e-2,
  mmsi: 0.9,
  multi_image: 1e-6,
};

const DEFAULT_PROMPT: Partial<Record<VerifierType, string>> = {
  physics: SCIENCE_PROMPT,
  chemistry: SCIENCE_PROMPT,
  biology: FREE_TEXT_PROMPT,
  geography: FREE_TEXT_PROMPT,
  liberal_arts: FREE_TEXT_PROMPT,
  ocr: FREE_TEXT_PROMPT,
  general: GENERAL_PROMPT,
  geoquest: GEOQUEST_PROMPT,
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Compiles an extraction regex, accepting Python's `(?P<name>…)` and `(?P=name)` syntax. */
export function compileExtractionRegex(source: string, key: string): RegExp {
  const js = source.replace(/\(\?P</g, "(?<").replace(/\(\?P=(\w+)\)/g, "\\k<$1>");
  try {
    return new RegExp(js, "s");
  } catch (error) {
    throw new RewardConfigError(key, `not a valid regular expression (${(error as Error).message})`);
  }
}

function checkType(key: string, value: unknown, field: string): void {
  const numberFields = new Set([
    "sympy_tolerance", "llm_max_tokens", "llm_temperature", "llm_top_p", "edit_distance_upper_bound",
    "edit_distance_lower_bound", "llm_timeout_s", "llm_retries", "llm_retry_delay_ms", "llm_concurrency",
    "symbolic_time_limit_ms", "iou_threshold",
  ]); // biome-ignore format: a list
  const boolFields = new Set([
    "strict_boxed_extraction",
    "enable_llm_judge_fallback",
    "ignore_case",
    "load_once",
  ]);
  const listOrString = new Set(["llm_api_key", "llm_judge_url", "llm_model"]);
  if (numberFields.has(field)) {
    if (typeof value !== "number" || !Number.isFinite(value))
      throw new RewardConfigError(key, "must be a number");
    if (value < 0) throw new RewardConfigError(key, "must not be negative");
  } else if (boolFields.has(field)) {
    if (typeof value !== "boolean") throw new RewardConfigError(key, "must be true or false");
  } else if (listOrString.has(field)) {
    const ok =
      typeof value === "string" || (Array.isArray(value) && value.every((x) => typeof x === "string"));
    if (!ok) throw new RewardConfigError(key, "must be a string or a list of strings");
  } else if (field === "grounding_scoring") {
    if (value !== "threshold" && value !== "continuous")
      throw new RewardConfigError(key, 'must be "threshold" or "continuous"');
  } else if (typeof value !== "string") throw new RewardConfigError(key, "must be a string");
}

/** Validates one `reward_configs` entry; throws RewardConfigError naming the key. */
export function validateVerifierConfig(name: string, raw: unknown): RawVerifierConfig {
  const at = `reward_configs.${name}`;
  if (!isRecord(raw)) throw new RewardConfigError(at, "must be a mapping with at least verifier_type");
  const type = raw.verifier_type;
  if (typeof type !== "string") throw new RewardConfigError(`${at}.verifier_type`, "is required (a string)");
  if (!(VERIFIER_TYPES as readonly string[]).includes(type))
    throw new RewardConfigError(
      `${at}.verifier_type`,
      `unknown type "${type}"; one of: ${VERIFIER_TYPES.join(", ")}`,
    );
  const allowed = FIELDS_BY_TYPE[type as VerifierType];
  for (const [field, value] of Object.entries(raw)) {
    if (field === "verifier_type") continue;
    if (!allowed.includes(field))
      throw new RewardConfigError(
        `${at}.${field}`,
        `not a field of verifier_type ${type}${allowed.length ? ` (fields: ${allowed.join(", ")})` : " (it has none)"}`,
      );
    checkType(`${at}.${field}`, value, field);
  }
  for (const field of REQUIRED_BY_TYPE[type as VerifierType] ?? [])
    if (raw[field] === undefined)
      throw new RewardConfigError(`${at}.${field}`, `is required for verifier_type ${type}`);
  if (typeof raw.answer_extraction_regex === "string")
    compileExtractionRegex(raw.answer_extraction_regex, `${at}.answer_extraction_regex`);
  if (typeof raw.llm_judge_prompt_template === "string") {
    const missing = missingPlaceholders(raw.llm_judge_prompt_template);
    if (missing.length)
      throw new RewardConfigError(
        `${at}.llm_judge_prompt_template`,
        `lacks the placeholder(s) ${missing.join(", ")}`,
      );
  }
  const lo = raw.edit_distance_lower_bound;
  const hi = raw.edit_distance_upper_bound;
  if (typeof lo === "number" && typeof hi === "number" && lo > hi)
    throw new RewardConfigError(
      `${at}.edit_distance_lower_bound`,
      "must not exceed edit_distance_upper_bound",
    );
  resolveEndpoints(raw, at); // checks list lengths
  return raw as RawVerifierConfig;
}

const asList = (v: unknown): string[] =>
  v === undefined ? [] : Array.isArray(v) ? (v as string[]) : [v as string];

/** Zips `llm_api_key`, `llm_judge_url` and `llm_model`; a single value applies to every judge. */
function resolveEndpoints(raw: Record<string, unknown>, at: string): JudgeEndpoint[] {
  const urls = asList(raw.llm_judge_url);
  const keys = asList(raw.llm_api_key);
  const models = asList(raw.llm_model);
  const n = Math.max(urls.length, keys.length, models.length);
  for (const [field, list] of [
    ["llm_judge_url", urls],
    ["llm_api_key", keys],
    ["llm_model", models],
  ] as const)
    if (list.length > 1 && list.length !== n)
      throw new RewardConfigError(
        `${at}.${field}`,
        `has ${list.length} entries; the judge lists must have equal lengths (${n})`,
      );
  const out: JudgeEndpoint[] = [];
  for (let k = 0; k < n; k++) {
    const url = urls.length === 1 ? urls[0] : urls[k];
    if (!url) continue; // an empty URL turns that judge off
    out.push({
      url,
      apiKey: (keys.length === 1 ? keys[0] : keys[k]) ?? "",
      model: (models.length === 1 ? models[0] : models[k]) ?? "glm-4-flash",
    });
  }
  return out;
}

/** Validates a whole configuration object (already parsed from YAML or JSON). */
export function validateRewardConfig(input: unknown): RewardConfig {
  if (!isRecord(input)) throw new RewardConfigError("(top level)", "must be a mapping");
  const known = [
    "datasource_reward_config_mapping",
    "reward_configs",
    "enable_mix_verifier",
    "reward_log_dir",
  ];
  for (const key of Object.keys(input))
    if (!known.includes(key))
      throw new RewardConfigError(key, `unknown top-level key (known: ${known.join(", ")})`);
  const mapping = input.datasource_reward_config_mapping;
  const configs = input.reward_configs;
  if (!isRecord(mapping))
    throw new RewardConfigError("datasource_reward_config_mapping", "is required (a mapping)");
  if (!isRecord(configs)) throw new RewardConfigError("reward_configs", "is required (a mapping)");
  const rewardConfigs: Record<string, RawVerifierConfig> = {};
  for (const [name, raw] of Object.entries(configs)) rewardConfigs[name] = validateVerifierConfig(name, raw);
  const datasourceRewardConfigMapping: Record<string, string> = {};
  for (const [datasource, target] of Object.entries(mapping)) {
    const key = `datasource_reward_config_mapping.${datasource}`;
    if (typeof target !== "string") throw new RewardConfigError(key, "must name a reward config (a string)");
    if (!(target in rewardConfigs))
      throw new RewardConfigError(key, `names "${target}", which is not in reward_configs`);
    datasourceRewardConfigMapping[datasource] = target;
  }
  const mix = input.enable_mix_verifier ?? true;
  if (typeof mix !== "boolean") throw new RewardConfigError("enable_mix_verifier", "must be true or false");
  const dir = input.reward_log_dir ?? "logs";
  if (typeof dir !== "string") throw new RewardConfigError("reward_log_dir", "must be a string");
  return { datasourceRewardConfigMapping, rewardConfigs, enableMixVerifier: mix, rewardLogDir: dir };
}

/** Parses and validates a YAML configuration; duplicate keys are errors. */
export function parseRewardConfigYaml(text: string): RewardConfig {
  let doc: unknown;
  // Loaded on first use: worker threads receive validated objects and never parse YAML.
  const { parse: parseYaml } = createRequire(import.meta.url)("yaml") as typeof import("yaml");
  try {
    doc = parseYaml(text, { uniqueKeys: true });
  } catch (error) {
    const message = (error as Error).message.split("\n")[0];
    const key = /duplicate|unique/i.test(message) ? "duplicate key" : "(yaml)";
    throw new RewardConfigError(key, `${message}: fix the YAML (every name must appear once)`);
  }
  return validateRewardConfig(doc);
}

const num = (raw: Record<string, unknown>, key: string, fallback: number): number =>
  typeof raw[key] === "number" ? (raw[key] as number) : fallback;
const bool = (raw: Record<string, unknown>, key: string, fallback: boolean): boolean =>
  typeof raw[key] === "boolean" ? (raw[key] as boolean) : fallback;

/** Applies the defaults of spec §11.1 to a validated entry. */
export function resolveVerifierSettings(name: string, raw: RawVerifierConfig): VerifierSettings {
  const type = raw.verifier_type as VerifierType;
  const endpoints = resolveEndpoints(raw, `reward_configs.${name}`);
  const template =
    typeof raw.llm_judge_prompt_template === "string"
      ? raw.llm_judge_prompt_template
      : (DEFAULT_PROMPT[type] ?? EQUIVALENCE_PROMPT);
  const geo = type === "geoquest";
  const judge: JudgeSettings | null =
    endpoints.length === 0
      ? null
      : {
          endpoints,
          promptTemplate: template,
          maxTokens: num(raw, "llm_max_tokens", geo ? 4096 : 10),
          temperature: num(raw, "llm_temperature", geo ? 0.8 : 0.1),
          topP: num(raw, "llm_top_p", geo ? 0.6 : 1.0),
          timeoutMs: num(raw, "llm_timeout_s", 120) * 1000,
          retries: num(raw, "llm_retries", 2),
          retryDelayMs: num(raw, "llm_retry_delay_ms", 500),
          concurrency: num(raw, "llm_concurrency", 16),
        };
  const regex = typeof raw.answer_extraction_regex === "string" ? raw.answer_extraction_regex : null;
  const str = (key: string) => (typeof raw[key] === "string" ? (raw[key] as string) : null);
  return {
    name,
    verifierType: type,
    tolerance: num(raw, "sympy_tolerance", DEFAULT_TOLERANCE[type] ?? 1e-5),
    strictBoxedExtraction: bool(raw, "strict_boxed_extraction", true),
    enableLlmJudgeFallback: bool(raw, "enable_llm_judge_fallback", true),
    judge,
    editDistanceUpperBound: num(raw, "edit_distance_upper_bound", 1.0),
    editDistanceLowerBound: num(raw, "edit_distance_lower_bound", 0.0),
    ignoreCase: bool(raw, "ignore_case", false),
    answerExtractionRegex:
      regex === null ? null : compileExtractionRegex(regex, `reward_configs.${name}.answer_extraction_regex`),
    symbolicTimeLimitMs: num(raw, "symbolic_time_limit_ms", 1000),
    iouThreshold: num(raw, "iou_threshold", 0.5),
    groundingScoring: raw.grounding_scoring === "continuous" ? "continuous" : "threshold",
    extractAnswerFilePath: str("extract_answer_file_path"),
    extractAnswerFuncName: str("extract_answer_func_name"),
    judgeFuncPath: str("judge_func_path"),
    judgeFuncName: str("judge_func_name"),
  };
}

/** Removes every judge endpoint (`--no-judge`): verifiers then decide by rules alone. */
export function withoutJudges(config: RewardConfig): RewardConfig {
  const rewardConfigs: Record<string, RawVerifierConfig> = {};
  for (const [name, raw] of Object.entries(config.rewardConfigs)) {
    const copy = { ...raw };
    if ("llm_judge_url" in copy) copy.llm_judge_url = "";
    rewardConfigs[name] = copy;
  }
  return { ...config, rewardConfigs };
}

/** The chart verifier's default extraction regex (upstream's, in Python syntax). */
export const CHART_REGEX = "^<think>(.*?)</think>(?P<answer>.*)$";

/**
 * The built-in configuration: every verifier type under its own name, every datasource mapped (including
 * `default` → vqa and the lower-case GUI names). The judge is off unless `GLMV_JUDGE_URL` is set (then
 * `GLMV_JUDGE_API_KEY` and `GLMV_JUDGE_MODEL`, default glm-4-flash, apply to every judged verifier).
 */
export function defaultRewardConfig(env: Record<string, string | undefined> = process.env): RewardConfig {
  const judge = {
    llm_judge_url: env.GLMV_JUDGE_URL ?? "",
    llm_api_key: env.GLMV_JUDGE_API_KEY ?? "",
    llm_model: env.GLMV_JUDGE_MODEL ?? "glm-4-flash",
  };
  const configs: Record<string, Record<string, unknown>> = {
    math: { verifier_type: "math", sympy_tolerance: 1e-6, ...judge },
    physics: { verifier_type: "physics", sympy_tolerance: 1e-5, ...judge },
    chemistry: { verifier_type: "chemistry", sympy_tolerance: 1e-5, ...judge },
    biology: { verifier_type: "biology", ...judge },
    geography: { verifier_type: "geography", ...judge },
    liberal_arts: { verifier_type: "liberal_arts", ...judge },
    vqa: { verifier_type: "vqa", ...judge },
    ocr: { verifier_type: "ocr", ...judge },
    chart: {
      verifier_type: "chart",
      answer_extraction_regex: CHART_REGEX,
      sympy_tolerance: 2.5e-2,
      ...judge,
    },
    counting: { verifier_type: "counting", ...judge },
    mmsi: { verifier_type: "mmsi", sympy_tolerance: 0.9, ...judge },
    multi_image: { verifier_type: "multi_image", sympy_tolerance: 1e-6, ...judge },
    general: { verifier_type: "general", llm_judge_prompt_template: GENERAL_PROMPT, ...judge },
    geoquest: { verifier_type: "geoquest", llm_judge_prompt_template: GEOQUEST_PROMPT, ...judge },
    language_mix: { verifier_type: "language_mix" },
    AndroidWorld: { verifier_type: "AndroidWorld" },
    OSWorld: { verifier_type: "OSWorld" },
    WebVoyager: { verifier_type: "WebVoyager" },
    grounding: { verifier_type: "grounding" },
  };
  const mapping: Record<string, string> = { default: "vqa" };
  for (const name of Object.keys(configs)) mapping[name] = name;
  mapping.androidworld = "AndroidWorld";
  mapping.osworld = "OSWorld";
  mapping.webvoyager = "WebVoyager";
  return validateRewardConfig({ datasource_reward_config_mapping: mapping, reward_configs: configs });
}
