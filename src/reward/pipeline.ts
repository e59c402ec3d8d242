/**
 * The reward pipeline (spec §11.2): format gate, language-mix veto, extraction and judging per item, failures
 * scored as the verifier's minimum, −inf rewards replaced by the batch minimum, optional JSONL logs.
 */
import { type RewardConfig, resolveVerifierSettings } from "./config.ts";
import { RewardInputError, UnknownDatasourceError } from "./errors.ts";
import { formatGateFailure, isLanguageMixed } from "./gate.ts";
import type { JudgeTransport } from "./judge-http.ts";
import { type RewardLogEntry, writeRewardLogs } from "./log.ts";
import type { DecidedBy, Extracted, Verdict, Verifier } from "./types.ts";
import { createVerifier } from "./verifiers/index.ts";

/** One rollout to score. */
export interface RewardItem {
  /** The question (sent to the LLM judge; "" when unknown). */
  prompt: string;
  /** The model's response: normally a string; a list or object is passed to the verifier as is. */
  response: unknown;
  /** The ground truth: a string in the response's form, or already-structured data. */
  gt: unknown;
  datasource: string;
  imageFile?: string | null;
}

/** The decision on one item. */
export interface RewardOutcome {
  reward: number;
  extractedAnswer: Extracted | null;
  extractedGt: Extracted | null;
  decidedBy: DecidedBy;
  /** Why the item got the minimum, or what the judge reported; absent when there is nothing to say. */
  detail?: string;
}

/** Options of a RewardSystem. */
export interface RewardSystemOptions {
  /** Turn every LLM judge off (rules only). */
  noJudge?: boolean;
  /** The judge's HTTP transport (tests, other clients); default plain fetch. */
  transport?: JudgeTransport;
  /** Extra verifiers by config name, replacing the configured ones (tests, custom rewards). */
  verifiers?: Record<string, Verifier>;
}

const isPlainObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
const isExtracted = (v: unknown): v is Extracted =>
  typeof v === "string" || Array.isArray(v) || isPlainObject(v);

/** A configuration with its verifiers built (lazily, once per config name). */
export class RewardSystem {
  readonly config: RewardConfig;
  private readonly options: RewardSystemOptions;
  private readonly verifiers = new Map<string, Verifier>();

  constructor(config: RewardConfig, options: RewardSystemOptions = {}) {
    this.config = config;
    this.options = options;
    for (const [name, v] of Object.entries(options.verifiers ?? {})) this.verifiers.set(name, v);
  }

  /** The verifier for a datasource; throws UnknownDatasourceError when the mapping lacks it. */
  verifierFor(datasource: string): Verifier {
    const name = this.config.datasourceRewardConfigMapping[datasource];
    if (name === undefined)
      throw new UnknownDatasourceError(datasource, Object.keys(this.config.datasourceRewardConfigMapping));
    let verifier = this.verifiers.get(name);
    if (!verifier) {
      const settings = resolveVerifierSettings(name, this.config.rewardConfigs[name]);
      verifier = createVerifier(settings, {
        noJudge: this.options.noJudge,
        transport: this.options.transport,
      });
      this.verifiers.set(name, verifier);
    }
    return verifier;
  }

  /**
   * Scores one item through the whole pipeline. Synchronous when no LLM judge is consulted (the common case),
   * a promise otherwise. Never throws for item-level problems: they score the minimum with `decidedBy`
   * "format" (the response's shape) or "error" (bad ground truth, verifier or judge failure). Throws only
   * for the configuration: UnknownDatasourceError, or RewardConfigError when the datasource's verifier
   * cannot be built (a `long_doc` config, a file_based module that does not load).
   */
  scoreItem(item: RewardItem): RewardOutcome | Promise<RewardOutcome> {
    const verifier = this.verifierFor(item.datasource);
    const min = verifier.minReward;
    let extractedAnswer: Extracted | null = null;
    let extractedGt: Extracted | null = null;
    const fail = (decidedBy: DecidedBy, detail: string): RewardOutcome => ({
      reward: min,
      extractedAnswer,
      extractedGt,
      decidedBy,
      detail,
    });
    const { response, gt } = item;
    // 1. Format gate, on the response, then on a string ground truth (where the verifier gates it).
    if (typeof response === "string") {
      const why = formatGateFailure(response);
      if (why) return fail("format", `response ${why}`);
    }
    if (typeof gt === "string" && verifier.gatesGroundTruth) {
      const why = formatGateFailure(gt);
      if (why) return fail("error", `bad ground truth: ${why}`);
    }
    // 2. Language-mix veto. Only strings are tested: upstream vetoed every non-string answer (defect 11).
    if (this.config.enableMixVerifier && typeof response === "string" && isLanguageMixed(response))
      return fail("format", "response mixes a long Chinese and a long English paragraph");
    // 3. Extraction, ground truth first.
    try {
      extractedGt = typeof gt === "string" ? verifier.extractGroundTruth(gt) : isExtracted(gt) ? gt : null;
    } catch (error) {
      return fail("error", `ground-truth extraction failed: ${(error as Error).message}`);
    }
    if (extractedGt === null) return fail("error", "no ground truth could be extracted");
    try {
      extractedAnswer =
        typeof response === "string"
          ? verifier.extractAnswer(response)
          : isExtracted(response)
            ? response
            : null;
    } catch (error) {
      return fail("error", `answer extraction failed: ${(error as Error).message}`);
    }
    if (extractedAnswer === null)
      return fail("format", "no answer could be extracted (box missing or not exactly one)");
    if (!isExtracted(extractedAnswer))
      return fail("error", "the extracted answer is not a string, list or object");
    // 4. Judging.
    const finish = (verdict: Verdict): RewardOutcome => {
      const reward = Number(verdict.reward);
      if (Number.isNaN(reward))
        return fail("error", `verifier returned a non-number (${String(verdict.reward)})`);
      const out: RewardOutcome = { reward, extractedAnswer, extractedGt, decidedBy: verdict.decidedBy };
      if (verdict.detail) out.detail = verdict.detail;
      return out;
    };
    const onError = (error: unknown) =>
      fail("error", `judging failed: ${(error as Error)?.message ?? String(error)}`);
    let verdict: Verdict | Promise<Verdict>;
    try {
      verdict = verifier.judge(extractedAnswer, extractedGt, {
        question: item.prompt ?? "",
        imageFile: item.imageFile ?? null,
      });
    } catch (error) {
      return onError(error);
    }
    return verdict instanceof Promise ? verdict.then(finish, onError) : finish(verdict);
  }
}

/** Replaces every −inf by the batch's minimum finite reward, or 0 when all are −inf (in place; returned). */
export function replaceNegativeInfinity(rewards: number[]): number[] {
  let min = Number.POSITIVE_INFINITY;
  for (const r of rewards) if (r !== Number.NEGATIVE_INFINITY && r < min) min = r;
  const fill = min === Number.POSITIVE_INFINITY ? 0 : min;
  for (let i = 0; i < rewards.length; i++) if (rewards[i] === Number.NEGATIVE_INFINITY) rewards[i] = fill;
  return rewards;
}

/** getReward's arguments (upstream's names in camelCase; scalars are one-element batches). */
export interface GetRewardInput {
  prompts: string | string[];
  responses: unknown;
  gts: unknown;
  /** One datasource for the whole batch (all entries equal); default "default". */
  datasources?: string | string[];
  imageFiles?: (string | null)[] | string | null;
  uuids?: (string | null)[] | string | null;
  answerLengths?: number[] | number | null;
  /** Append the JSONL logs (pass@k and correct/incorrect files). */
  logRewardJudge?: boolean;
  /** Log directory; default the config's reward_log_dir. */
  saveDir?: string;
  currentIteration?: number;
}

/** getReward's result: rewards plus, per item, the extractions and how each was decided. */
export interface GetRewardResult {
  rewards: number[];
  extractedAnswers: (Extracted | null)[];
  extractedGts: (Extracted | null)[];
  outcomes: RewardOutcome[];
}

function asBatch<T>(value: T | T[] | null | undefined, n: number, name: string, fill: T): T[] {
  if (value === undefined || value === null) return new Array(n).fill(fill);
  if (!Array.isArray(value)) return new Array(n).fill(value); // one value for the whole batch
  const list = value;
  if (list.length !== n)
    throw new RewardInputError(`${name} has ${list.length} entries but there are ${n} prompts`);
  return list;
}

/**
 * Scores a batch with upstream get_reward's semantics (spec §11.2). Scalars count as one item (upstream sized
 * its worker pool with `len()` of the raw argument — the characters of a lone string, a crash for an empty
 * batch: defect 8). Every item's datasource must be the same.
 */
export async function getReward(system: RewardSystem, input: GetRewardInput): Promise<GetRewardResult> {
  const prompts = Array.isArray(input.prompts) ? input.prompts : [input.prompts];
  const n = prompts.length;
  const responses =
    Array.isArray(input.responses) && Array.isArray(input.prompts) ? input.responses : [input.responses];
  const gts = Array.isArray(input.gts) && Array.isArray(input.prompts) ? input.gts : [input.gts];
  if (responses.length !== n)
    throw new RewardInputError(`responses has ${responses.length} entries but there are ${n} prompts`);
  if (gts.length !== n)
    throw new RewardInputError(`gts has ${gts.length} entries but there are ${n} prompts`);
  const datasources = asBatch(input.datasources, n, "datasources", "default");
  const imageFiles = asBatch<string | null>(input.imageFiles, n, "imageFiles", null);
  if (n === 0) return { rewards: [], extractedAnswers: [], extractedGts: [], outcomes: [] };
  const datasource = datasources[0];
  if (datasources.some((d) => d !== datasource))
    throw new RewardInputError(
      `every item of a batch must have the same datasource (got ${[...new Set(datasources)].join(", ")})`,
    );
  const pending: (RewardOutcome | Promise<RewardOutcome>)[] = [];
  let anyAsync = false;
  for (let i = 0; i < n; i++) {
    const r = system.scoreItem({
      prompt: prompts[i],
      response: responses[i],
      gt: gts[i],
      datasource,
      imageFile: imageFiles[i],
    });
    if (r instanceof Promise) anyAsync = true;
    pending.push(r);
  }
  const outcomes = anyAsync ? await Promise.all(pending) : (pending as RewardOutcome[]);
  const rewards = replaceNegativeInfinity(outcomes.map((o) => o.reward));
  if (input.logRewardJudge) {
    const uuids = asBatch<string | null>(input.uuids, n, "uuids", null);
    const lengths = asBatch<number>(input.answerLengths, n, "answerLengths", -1);
    const sum = rewards.reduce((a, b) => a + b, 0);
    const entries: RewardLogEntry[] = rewards.map((reward, i) => ({
      current_iteration: input.currentIteration ?? 0,
      prompt: prompts[i],
      image_file: imageFiles[i],
      answer: responses[i],
      gt_answer: gts[i],
      reward,
      answer_token_length: lengths[i] ?? -1,
      reward_sum_of_this_prompt: sum,
      uuid: uuids[i],
    }));
    await writeRewardLogs(input.saveDir ?? system.config.rewardLogDir, datasource, entries);
  }
  return {
    rewards,
    extractedAnswers: outcomes.map((o) => o.extractedAnswer),
    extractedGts: outcomes.map((o) => o.extractedGt),
    outcomes,
  };
}
