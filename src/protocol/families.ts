/**
 * The GLM-V model families (spec §1, §2, §5, §7): what each one can do and how it talks.
 *
 * Token *strings* live here; token *ids* never do. Ids are resolved from the checkpoint's tokenizer at
 * load time (spec §2, "Rule for the project"). `knownIds` only records the spec's values as hints for
 * validation and documentation.
 */

/** The GLM-V model families glmv knows. */
export type FamilyId = "glm-4.1v-thinking" | "glm-4.5v" | "glm-4.6v" | "glm-4.6v-flash" | "glm-ocr";

/** Every family id, in release order. */
export const FAMILY_IDS: readonly FamilyId[] = [
  "glm-4.1v-thinking",
  "glm-4.5v",
  "glm-4.6v",
  "glm-4.6v-flash",
  "glm-ocr",
];

/** The family `glmv parse` and other tools assume when none is given. */
export const DEFAULT_FAMILY: FamilyId = "glm-4.6v";

/** Sampling settings, with where they come from. */
export interface SamplingDefaults {
  /** 0 means greedy decoding. */
  temperature: number;
  topP?: number;
  topK?: number;
  repetitionPenalty?: number;
  maxNewTokens?: number;
  /** Where the values come from (spec §1.3 row) and why this row was chosen. */
  source: string;
}

/** The special-token strings a family uses (spec §2). */
export interface SpecialTokens {
  /** The two-token prompt prefix `[gMASK]<sop>`. */
  prefix: readonly [string, string];
  system: string;
  user: string;
  assistant: string;
  observation: string;
  endOfText: string;
  beginImage: string;
  endImage: string;
  beginVideo: string;
  endVideo: string;
  image: string;
  video: string;
  thinkOpen: string;
  thinkClose: string;
  /** `<answer>`/`</answer>` (GLM-4.1V only). */
  answerOpen?: string;
  answerClose?: string;
  beginBox: string;
  endBox: string;
  /** Tool-call tags (families with tool calling only). */
  toolCallOpen?: string;
  toolCallClose?: string;
  argKeyOpen?: string;
  argKeyClose?: string;
  argValueOpen?: string;
  argValueClose?: string;
  toolResponseOpen?: string;
  toolResponseClose?: string;
}

/** Everything glmv knows about one model family. */
export interface FamilySpec {
  id: FamilyId;
  /** Human name, e.g. "GLM-4.6V". */
  displayName: string;
  /** Hugging Face repo ids. */
  hfRepos: readonly string[];
  /** HF `config.json` `model_type` values and `architectures` entries seen for this family. */
  modelTypes: readonly string[];
  architectures: readonly string[];
  /** `always`: the model always reasons and has no switch (4.1V); `switchable`: `enable_thinking` (§5.1). */
  thinking: "always" | "switchable";
  /** With thinking on, whether the model may still skip reasoning (4.6V decides for itself). */
  maySkipThinking: boolean;
  /** The answer is wrapped in `<answer>…</answer>` (4.1V only). */
  answerTags: boolean;
  /** The template has a tools section and the model writes `<tool_call>` blocks (§4.3). */
  toolCalls: boolean;
  /** Tool results may hold images/video (4.6V-family template). */
  toolResultMedia: boolean;
  /** `max_position_embeddings`. */
  contextLength: number;
  /** Video frame-pair timestamps (§7): 4.1V `str(int(s))`; 4.6V `"{s:.1f} seconds"`. */
  videoTimestamp: "integer-seconds" | "decimal-seconds";
  /** History rule (§3.5): 4.1V re-sends answer text only; 4.5V/4.6V send `reasoning_content`. */
  history: "answer-only" | "reasoning-content";
  specialTokens: SpecialTokens;
  /** Strings that end generation (§2: always `<|endoftext|>`, `<|user|>`, `<|observation|>`). */
  stopTokens: readonly string[];
  /** The spec's known ids, as validation hints only; the tokenizer and config.json decide. */
  knownIds: {
    eos?: readonly number[];
    image?: number;
    video?: number;
    beginVideo?: number;
    endVideo?: number;
  };
  /** Recommended sampling (spec §1.3). */
  sampling: SamplingDefaults;
  /** Image budget per image in tokens, when the family limits it (GLM-OCR: 6,144). */
  maxImageTokens?: number;
}

const BASE_TOKENS = {
  prefix: ["[gMASK]", "<sop>"] as const,
  system: "<|system|>",
  user: "<|user|>",
  assistant: "<|assistant|>",
  observation: "<|observation|>",
  endOfText: "<|endoftext|>",
  beginImage: "<|begin_of_image|>",
  endImage: "<|end_of_image|>",
  beginVideo: "<|begin_of_video|>",
  endVideo: "<|end_of_video|>",
  image: "<|image|>",
  video: "<|video|>",
  thinkOpen: "<think>",
  thinkClose: "</think>",
  beginBox: "<|begin_of_box|>",
  endBox: "<|end_of_box|>",
} satisfies SpecialTokens;

const TOOL_TOKENS = {
  toolCallOpen: "<tool_call>",
  toolCallClose: "</tool_call>",
  argKeyOpen: "<arg_key>",
  argKeyClose: "</arg_key>",
  argValueOpen: "<arg_value>",
  argValueClose: "</arg_value>",
  toolResponseOpen: "<tool_response>",
  toolResponseClose: "</tool_response>",
};

/** §2: always stop on these three. */
const STOP_TOKENS = ["<|endoftext|>", "<|user|>", "<|observation|>"] as const;

const ZAI_SAMPLING =
  "Z.ai API defaults for glm-4.5v/4.6v (spec §1.3): the vendor's own serving defaults for the hybrid models";

/** The family registry. */
export const FAMILIES: Readonly<Record<FamilyId, FamilySpec>> = {
  "glm-4.1v-thinking": {
    id: "glm-4.1v-thinking",
    displayName: "GLM-4.1V-9B-Thinking",
    hfRepos: ["zai-org/GLM-4.1V-9B-Thinking", "THUDM/GLM-4.1V-9B-Thinking"],
    modelTypes: ["glm4v"],
    architectures: ["Glm4vForConditionalGeneration"],
    thinking: "always",
    maySkipThinking: false,
    answerTags: true,
    toolCalls: false,
    toolResultMedia: false,
    contextLength: 65536,
    videoTimestamp: "integer-seconds",
    history: "answer-only",
    specialTokens: { ...BASE_TOKENS, answerOpen: "<answer>", answerClose: "</answer>" },
    stopTokens: STOP_TOKENS,
    knownIds: {
      eos: [151329, 151336, 151338, 151348],
      image: 151343,
      video: 151344,
      beginVideo: 151341,
      endVideo: 151342,
    },
    sampling: {
      temperature: 1.0,
      topP: 0.00001,
      topK: 1,
      repetitionPenalty: 1.1,
      maxNewTokens: 8192,
      source:
        "GLM-V trans_infer_cli.py (spec §1.3): the official CLI's settings; greedy-equivalent (top_k 1), which suits an always-thinking model answering with boxes",
    },
  },
  "glm-4.5v": {
    id: "glm-4.5v",
    displayName: "GLM-4.5V",
    hfRepos: ["zai-org/GLM-4.5V", "zai-org/GLM-4.5V-FP8"],
    modelTypes: ["glm4v_moe"],
    architectures: ["Glm4vMoeForConditionalGeneration"],
    thinking: "switchable",
    maySkipThinking: false,
    answerTags: false,
    toolCalls: true,
    // Its HF template is believed to lack the tool-response media branch (templates/README.md).
    toolResultMedia: false,
    contextLength: 65536,
    videoTimestamp: "integer-seconds",
    history: "reasoning-content",
    specialTokens: { ...BASE_TOKENS, ...TOOL_TOKENS },
    stopTokens: STOP_TOKENS,
    knownIds: { eos: [151329, 151336, 151338], image: 151363, beginVideo: 151341, endVideo: 151342 },
    sampling: { temperature: 0.8, topP: 0.6, maxNewTokens: 16384, source: ZAI_SAMPLING },
  },
  "glm-4.6v": {
    id: "glm-4.6v",
    displayName: "GLM-4.6V",
    hfRepos: ["zai-org/GLM-4.6V", "zai-org/GLM-4.6V-FP8"],
    modelTypes: ["glm4v_moe"],
    architectures: ["Glm4vMoeForConditionalGeneration"],
    thinking: "switchable",
    maySkipThinking: true,
    answerTags: false,
    toolCalls: true,
    toolResultMedia: true,
    contextLength: 131072,
    videoTimestamp: "decimal-seconds",
    history: "reasoning-content",
    specialTokens: { ...BASE_TOKENS, ...TOOL_TOKENS },
    stopTokens: STOP_TOKENS,
    knownIds: { eos: [151329, 151336, 151338] },
    sampling: { temperature: 0.8, topP: 0.6, maxNewTokens: 32768, source: ZAI_SAMPLING },
  },
  "glm-4.6v-flash": {
    id: "glm-4.6v-flash",
    displayName: "GLM-4.6V-Flash",
    hfRepos: ["zai-org/GLM-4.6V-Flash"],
    modelTypes: ["glm46v", "glm4v"],
    architectures: ["Glm46VForConditionalGeneration", "Glm4vForConditionalGeneration"],
    thinking: "switchable",
    maySkipThinking: true,
    answerTags: false,
    toolCalls: true,
    toolResultMedia: true,
    contextLength: 131072,
    videoTimestamp: "decimal-seconds",
    history: "reasoning-content",
    specialTokens: { ...BASE_TOKENS, ...TOOL_TOKENS },
    stopTokens: STOP_TOKENS,
    knownIds: {
      eos: [151329, 151336, 151338],
      image: 151343,
      video: 151344,
      beginVideo: 151361,
      endVideo: 151362,
    },
    sampling: {
      temperature: 0.8,
      topP: 0.6,
      maxNewTokens: 32768,
      source: `${ZAI_SAMPLING}; applied to Flash as a GLM-4.6V-family model [B]`,
    },
  },
  "glm-ocr": {
    id: "glm-ocr",
    displayName: "GLM-OCR",
    hfRepos: ["zai-org/GLM-OCR", "ggml-org/GLM-OCR-GGUF"],
    modelTypes: ["glm_ocr"],
    architectures: ["GlmOcrForConditionalGeneration"],
    thinking: "switchable",
    maySkipThinking: true,
    answerTags: false,
    toolCalls: true,
    toolResultMedia: true,
    contextLength: 131072,
    videoTimestamp: "decimal-seconds",
    history: "reasoning-content",
    specialTokens: { ...BASE_TOKENS, ...TOOL_TOKENS },
    stopTokens: STOP_TOKENS,
    knownIds: { eos: [59246, 59253], image: 59280, video: 59281, beginVideo: 59258, endVideo: 59259 },
    sampling: {
      temperature: 0,
      repetitionPenalty: 1.1,
      source:
        "GLM-OCR generation_config.json do_sample:false (spec §1.3): greedy; the SDK's config.py (top_k 1, rep. penalty 1.1) agrees",
    },
    maxImageTokens: 6144,
  },
};

/** Thrown when a family name or a model's metadata matches no known family. */
export class UnknownFamilyError extends Error {
  override name = "UnknownFamilyError";
}

/** Whether `s` is exactly a family id (no name matching: `resolveFamilyId` reads names such as "GLM-4.6V"). */
export function isFamilyId(s: string): s is FamilyId {
  return (FAMILY_IDS as readonly string[]).includes(s);
}

/**
 * The text that closes reasoning early, e.g. when a thinking budget runs out (spec §5.3): `</think>`, followed by
 * `<answer>` in families that wrap the answer (4.1V).
 */
export function thinkingCloseText(family: FamilyId): string {
  const { answerTags, specialTokens: t } = FAMILIES[family];
  return answerTags ? `${t.thinkClose}${t.answerOpen ?? ""}` : t.thinkClose;
}

/** The registry entry of a family. Throws UnknownFamilyError for an unknown id. */
export function getFamily(id: FamilyId | string): FamilySpec {
  const resolved = resolveFamilyId(id);
  return FAMILIES[resolved];
}

/** Whether the model reasons for a request: always for 4.1V; otherwise unless thinking is disabled. */
export function effectiveThinking(family: FamilySpec, enableThinking: boolean | undefined): boolean {
  return family.thinking === "always" || enableThinking !== false;
}

const NAME_PATTERNS: readonly [RegExp, FamilyId][] = [
  [/glm-?ocr/, "glm-ocr"],
  [/glm-?4\.6v?-flash|glm-?46v-flash/, "glm-4.6v-flash"],
  [/glm-?4\.6v|glm-?46v/, "glm-4.6v"],
  [/glm-?4\.5v/, "glm-4.5v"],
  [/glm-?4\.1v/, "glm-4.1v-thinking"],
];

/** Lower-cases and turns spaces/underscores into dashes, so "GLM 4.6V Flash" reads "glm-4.6v-flash". */
function normaliseName(name: string): string {
  return name.toLowerCase().replace(/[\s_]+/g, "-");
}

/** The family a model name or repo id names ("GLM-4.6V-Flash", "zai-org/GLM-4.5V-FP8"), or null. */
export function familyFromName(name: string): FamilyId | null {
  const n = normaliseName(name);
  for (const [pattern, id] of NAME_PATTERNS) if (pattern.test(n)) return id;
  return null;
}

/**
 * Resolves a user-typed family name: an exact id, or a model name such as "GLM-4.6V", "4.6v-flash",
 * "zai-org/GLM-4.1V-9B-Thinking", "ocr". Throws UnknownFamilyError listing the valid ids.
 */
export function resolveFamilyId(name: string): FamilyId {
  const n = normaliseName(name.trim());
  if (isFamilyId(n)) return n;
  const fromName = familyFromName(n) ?? familyFromName(`glm-${n.replace(/^glm-?/, "")}`);
  if (fromName) return fromName;
  throw new UnknownFamilyError(`unknown model family "${name}". Use one of: ${FAMILY_IDS.join(", ")}.`);
}

/** What `detectFamily` reads; pass whatever the checkpoint has. */
export interface FamilyDetectionInput {
  /** An explicit family (e.g. from `--family`): wins over everything else. */
  override?: string;
  /** GGUF metadata (keys such as `general.name`, `general.architecture`, `<arch>.context_length`). */
  gguf?: Record<string, unknown>;
  /** HF `config.json` (reads `model_type`, `architectures`, `_name_or_path`, `text_config`). */
  hfConfig?: Record<string, unknown>;
  /** Another name to try, e.g. the model directory or repo id. */
  name?: string;
}

/** The result of {@link detectFamily}: the family and the evidence that decided it. */
export interface DetectedFamily {
  family: FamilyId;
  reason: string;
}

/**
 * Works out a checkpoint's family: the explicit override first; then names (GGUF `general.name` /
 * `general.basename`, HF `_name_or_path`, `name`); then HF `architectures`/`model_type` and GGUF
 * `general.architecture`, using the context length to tell 4.5V (65,536) from 4.6V (131,072) and 4.1V
 * from 4.6V-Flash. Throws UnknownFamilyError (telling the user to pass the family) when nothing decides.
 */
export function detectFamily(input: FamilyDetectionInput): DetectedFamily {
  if (input.override !== undefined && input.override !== "") {
    return { family: resolveFamilyId(input.override), reason: `explicit family "${input.override}"` };
  }
  const gguf = input.gguf ?? {};
  const hf = input.hfConfig ?? {};
  const names: [string, unknown][] = [
    ["GGUF general.name", gguf["general.name"]],
    ["GGUF general.basename", gguf["general.basename"]],
    ["config.json _name_or_path", hf._name_or_path],
    ["name", input.name],
  ];
  for (const [where, value] of names) {
    if (typeof value !== "string") continue;
    const family = familyFromName(value);
    if (family) return { family, reason: `${where} "${value}"` };
  }

  const textConfig = isRecord(hf.text_config) ? hf.text_config : {};
  const ggufArch =
    typeof gguf["general.architecture"] === "string" ? (gguf["general.architecture"] as string) : "";
  const contextLength = firstNumber(
    textConfig.max_position_embeddings,
    hf.max_position_embeddings,
    ggufArch ? gguf[`${ggufArch}.context_length`] : undefined,
  );
  const architectures = Array.isArray(hf.architectures) ? hf.architectures.map(String) : [];
  const modelType = typeof hf.model_type === "string" ? hf.model_type : "";
  const has = (arch: string) => architectures.includes(arch);

  if (has("GlmOcrForConditionalGeneration") || modelType === "glm_ocr" || /ocr/i.test(ggufArch)) {
    return { family: "glm-ocr", reason: `architecture ${modelType || architectures[0] || ggufArch}` };
  }
  if (has("Glm46VForConditionalGeneration") || modelType === "glm46v") {
    return {
      family: "glm-4.6v-flash",
      reason: `architecture ${modelType || "Glm46VForConditionalGeneration"}`,
    };
  }
  const moe =
    has("Glm4vMoeForConditionalGeneration") || modelType === "glm4v_moe" || /^glm4v?moe$/i.test(ggufArch);
  const dense = has("Glm4vForConditionalGeneration") || modelType === "glm4v" || /^glm4v?$/i.test(ggufArch);
  if (moe || dense) {
    const what = moe ? "glm4v_moe (GLM-4.5V or GLM-4.6V)" : "glm4v (GLM-4.1V or GLM-4.6V-Flash)";
    if (contextLength === 65536) {
      return { family: moe ? "glm-4.5v" : "glm-4.1v-thinking", reason: `${what} with context 65536` };
    }
    if (contextLength === 131072) {
      return { family: moe ? "glm-4.6v" : "glm-4.6v-flash", reason: `${what} with context 131072` };
    }
    throw new UnknownFamilyError(
      `the model is ${what}, but its name and context length do not say which. ` +
        `Pass the family explicitly (e.g. --family ${moe ? "glm-4.6v" : "glm-4.1v-thinking"}); valid: ${FAMILY_IDS.join(", ")}.`,
    );
  }
  const seen = [
    ...names.filter(([, v]) => typeof v === "string").map(([w, v]) => `${w} "${v}"`),
    modelType && `model_type "${modelType}"`,
    architectures.length > 0 && `architectures ${architectures.join(",")}`,
    ggufArch && `general.architecture "${ggufArch}"`,
  ].filter(Boolean);
  throw new UnknownFamilyError(
    `cannot tell which GLM-V family this model is (${seen.length > 0 ? seen.join("; ") : "no name or architecture found"}). ` +
      `Pass the family explicitly, e.g. --family glm-4.6v; valid: ${FAMILY_IDS.join(", ")}.`,
  );
}

function firstNumber(...values: unknown[]): number | undefined {
  for (const v of values) {
    if (typeof v === "number") return v;
    if (typeof v === "bigint") return Number(v);
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
