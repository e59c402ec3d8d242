/**
 * glmv's reward system: GLM-V's RL verifiers (spec §11) with upstream glmv_reward's configuration and
 * semantics, its defects fixed, and a grounding verifier. Pure logic except score-file.ts and log.ts (I/O).
 */

export {
  CHART_REGEX,
  defaultRewardConfig,
  FIELDS_BY_TYPE,
  parseRewardConfigYaml,
  type RawVerifierConfig,
  type RewardConfig,
  resolveVerifierSettings,
  VERIFIER_TYPES,
  type VerifierSettings,
  type VerifierType,
  validateRewardConfig,
  validateVerifierConfig,
  withoutJudges,
} from "./config.ts";
export {
  JudgeHttpError,
  JudgeTimeoutError,
  JudgeUnavailableError,
  RewardConfigError,
  RewardInputError,
  UnknownDatasourceError,
} from "./errors.ts";
export { formatGateFailure, isLanguageMixed } from "./gate.ts";
export { type BoxTuple, iou, pointSimilarity } from "./geometry.ts";
export {
  fillPrompt,
  type JudgeEndpoint,
  type JudgeReply,
  type JudgeSettings,
  LlmJudge,
  missingPlaceholders,
  readVerdict,
} from "./judge.ts";
export { type JudgeHttpRequest, type JudgeTransport, postChatCompletion } from "./judge-http.ts";
export { type RewardLogEntry, writeRewardLogs } from "./log.ts";
export { type Equivalence, mathEquivalence, parseRealNumber, relativelyClose } from "./math.ts";
export {
  type GetRewardInput,
  type GetRewardResult,
  getReward,
  type RewardItem,
  type RewardOutcome,
  RewardSystem,
  type RewardSystemOptions,
  replaceNegativeInfinity,
} from "./pipeline.ts";
export {
  type ScoreFileOptions,
  type ScoreFileSummary,
  scoreJsonlFile,
  scoreLine,
  wrapPlainGroundTruth,
} from "./score-file.ts";
export { editSimilarity, lcsLength, lcsRatio, levenshtein } from "./text.ts";
export type { DecidedBy, Extracted, JudgeContext, Verdict, Verifier } from "./types.ts";
export { groundingScore, readBoxes } from "./verifiers/grounding.ts";
export {
  judgeAndroidAction,
  judgeOsAction,
  judgeWebAction,
  typedTextSimilarity,
} from "./verifiers/gui.ts";
export { type CreateVerifierOptions, createVerifier } from "./verifiers/index.ts";
