/** Shapes shared by the reward pipeline, its verifiers and the LLM judge (pure data). */

/** How a reward was decided: by rules, by the LLM judge, by the format gate, or by an error. */
export type DecidedBy = "rule" | "llm" | "format" | "error";

/** A verifier's decision on one item. */
export interface Verdict {
  reward: number;
  decidedBy: DecidedBy;
  /** A short human-readable reason, e.g. why a judge could not decide. */
  detail?: string;
}

/** What a verifier receives besides the two extracted answers. */
export interface JudgeContext {
  /** The item's prompt (the question), or "" when unknown. */
  question: string;
  /** The item's image path, when the rollout has one (never sent to the LLM judge). */
  imageFile?: string | null;
}

/** An extracted answer: a string for most verifiers, a list or object for the GUI and grounding ones. */
export type Extracted = string | unknown[] | Record<string, unknown>;

/** One verifier: extraction of both sides plus the decision. Built from one `reward_configs` entry. */
export interface Verifier {
  /** The `verifier_type` this verifier implements. */
  readonly type: string;
  /** The reward any failure gets (0 for every built-in verifier). */
  readonly minReward: number;
  /**
   * Whether the pipeline applies the think/answer format gate to the ground truth. False where ground truths
   * are data rather than model output (geoquest JSON, grounding boxes) — fix for upstream defect 5.
   */
  readonly gatesGroundTruth: boolean;
  /** Extracts the answer from a response; null when there is nothing usable. May throw (→ minimum). */
  extractAnswer(response: string): Extracted | null;
  /** Extracts the comparable ground truth; null when it is malformed. May throw (→ minimum). */
  extractGroundTruth(gt: string): Extracted | null;
  /** Decides the reward of an extracted answer against the extracted ground truth. */
  judge(answer: Extracted, gt: Extracted, context: JudgeContext): Verdict | Promise<Verdict>;
}
