/** The OCR verifier (spec §11.3): normalised edit-distance similarity with bounds, continuous below them. */
import type { VerifierSettings } from "../config.ts";
import { editSimilarity } from "../text.ts";
import type { Extracted, JudgeContext, Verdict, Verifier } from "../types.ts";
import { asText, ConfiguredVerifier, rule, type VerifierDeps } from "./common.ts";

/** The OCR normalisation: optional lower-casing, trim, newlines to spaces, spaces removed. */
export function normaliseOcr(text: string, ignoreCase: boolean): string {
  const s = ignoreCase ? text.toLowerCase() : text;
  return s.trim().replace(/\n/g, " ").replace(/ /g, "");
}

class OcrVerifier extends ConfiguredVerifier {
  readonly type = "ocr";
  judge(answer: Extracted, gt: Extracted, context: JudgeContext): Verdict | Promise<Verdict> {
    const s = this.settings;
    const a = normaliseOcr(asText(answer), s.ignoreCase);
    const g = normaliseOcr(asText(gt), s.ignoreCase);
    const sim = editSimilarity(a, g);
    if (sim >= s.editDistanceUpperBound) return rule(1);
    if (sim <= s.editDistanceLowerBound) return rule(0);
    const judge = this.deps.judge;
    if (!judge) return rule(sim);
    // The judge can only raise the reward to 1: when no judge answers, the similarity stands (by rule).
    return judge.vote(context.question, asText(answer), asText(gt)).then(
      (v): Verdict =>
        v.reward === 1 ? v : { reward: sim, decidedBy: "llm", detail: "judge said no: similarity kept" },
      (error: Error): Verdict => rule(sim, `judge unavailable (${error.message}): similarity kept`),
    );
  }
}

/** Builds the OCR verifier. */
export function createOcrVerifier(settings: VerifierSettings, deps: VerifierDeps): Verifier {
  return new OcrVerifier(settings, deps);
}
