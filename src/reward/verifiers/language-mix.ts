/** The language_mix verifier: 1 − mixing, on the raw response. */
import { isLanguageMixed } from "../gate.ts";
import type { Extracted, Verdict, Verifier } from "../types.ts";
import { asText, rule } from "./common.ts";

class LanguageMixVerifier implements Verifier {
  readonly type = "language_mix";
  readonly minReward = 0;
  readonly gatesGroundTruth = true;
  extractAnswer(text: string): string {
    return text;
  }
  extractGroundTruth(text: string): string {
    return text;
  }
  judge(answer: Extracted): Verdict {
    return rule(isLanguageMixed(asText(answer)) ? 0 : 1);
  }
}

/** Builds the language_mix verifier. */
export function createLanguageMixVerifier(): Verifier {
  return new LanguageMixVerifier();
}
