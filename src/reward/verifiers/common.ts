/** Helpers shared by the verifiers: the judge fallback and the standard extractors. */
import type { VerifierSettings } from "../config.ts";
import { afterThinkPart, singleBox, thinkAnswerPart } from "../gate.ts";
import type { LlmJudge } from "../judge.ts";
import type { Extracted, JudgeContext, Verdict, Verifier } from "../types.ts";

/** What every verifier factory receives besides its settings. */
export interface VerifierDeps {
  /** The LLM judge, or null when the judge is disabled or not configured (rules only). */
  judge: LlmJudge | null;
}

/** A rule decision. */
export const rule = (reward: number, detail?: string): Verdict =>
  detail === undefined ? { reward, decidedBy: "rule" } : { reward, decidedBy: "rule", detail };

/** Asks the judge (majority, or the first judge with `single`), or decides 0 by rule when there is none. */
export function judgeOrZero(
  judge: LlmJudge | null,
  answer: string,
  gt: string,
  context: JudgeContext,
  single = false,
): Verdict | Promise<Verdict> {
  if (!judge) return rule(0, "no rule matched and the LLM judge is disabled");
  return judge.vote(context.question, answer, gt, single);
}

/** The value as a string, for verifiers that compare text. */
export function asText(value: Extracted): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Extractor of the math family: think/answer form, no nested tags, exactly one box. */
export function extractThinkAnswerBox(text: string, strict: boolean): string | null {
  const part = thinkAnswerPart(text);
  return part === null ? null : singleBox(part, strict);
}

/** Extractor of the `^<think>…</think>(.*)$` verifiers: the rest (an `<answer>` wrapper removed), one box. */
export function extractAfterThinkBox(text: string, strict: boolean): string | null {
  const part = afterThinkPart(text);
  return part === null ? null : singleBox(part, strict);
}

/**
 * The shape the verifiers of one configuration entry share: settings and judge kept, minimum reward 0, the
 * ground truth gated and extracted like the answer, and by default the answer read by `extractAfterThinkBox`.
 * A subclass sets `type`, writes `judge`, and overrides an extractor or `gatesGroundTruth` where it differs.
 */
export abstract class ConfiguredVerifier implements Verifier {
  abstract readonly type: string;
  readonly minReward = 0;
  readonly gatesGroundTruth: boolean = true;
  protected readonly settings: VerifierSettings;
  protected readonly deps: VerifierDeps;
  constructor(settings: VerifierSettings, deps: VerifierDeps) {
    this.settings = settings;
    this.deps = deps;
  }
  extractAnswer(text: string): Extracted | null {
    return extractAfterThinkBox(text, this.settings.strictBoxedExtraction);
  }
  extractGroundTruth(text: string): Extracted | null {
    return this.extractAnswer(text);
  }
  abstract judge(answer: Extracted, gt: Extracted, context: JudgeContext): Verdict | Promise<Verdict>;
}
