/** The general verifier (spec §11.3): optional regex extraction, equality, then a single judge. */
import type { VerifierSettings } from "../config.ts";
import { singleBox, thinkAnswerPart } from "../gate.ts";
import type { Extracted, JudgeContext, Verdict, Verifier } from "../types.ts";
import { asText, ConfiguredVerifier, judgeOrZero, rule, type VerifierDeps } from "./common.ts";

class GeneralVerifier extends ConfiguredVerifier {
  readonly type = "general";
  override extractAnswer(text: string): string | null {
    const regex = this.settings.answerExtractionRegex;
    if (!regex) return text;
    const m = regex.exec(text);
    if (!m) return null;
    return (m.groups?.answer ?? m[m.length - 1] ?? null)?.trim() ?? null;
  }
  override extractGroundTruth(text: string): string | null {
    const part = thinkAnswerPart(text);
    if (part === null) return text.trim();
    return singleBox(part, false);
  }
  /**
   * The judge's reply is read by readVerdict, which takes a boxed `Correct`/`Incorrect` and also `1.0`/`0.0`:
   * upstream parsed only the boxed words while its shipped prompt asked for numbers (defect 4).
   */
  judge(answer: Extracted, gt: Extracted, context: JudgeContext): Verdict | Promise<Verdict> {
    const a = asText(answer);
    const g = asText(gt);
    if (a.trim() === g.trim()) return rule(1);
    return judgeOrZero(this.deps.judge, a, g, context, true);
  }
}

/** Builds the general verifier. */
export function createGeneralVerifier(settings: VerifierSettings, deps: VerifierDeps): Verifier {
  return new GeneralVerifier(settings, deps);
}
