/** The chart verifier (spec §11.3): configured extraction regex, equality, numbers with the year rule. */
import type { VerifierSettings } from "../config.ts";
import { CHART_REGEX, compileExtractionRegex } from "../config.ts";
import { singleBox, unwrapAnswer } from "../gate.ts";
import { parseRealNumber, relativelyClose } from "../math.ts";
import type { Extracted, JudgeContext, Verdict, Verifier } from "../types.ts";
import { asText, ConfiguredVerifier, judgeOrZero, rule, type VerifierDeps } from "./common.ts";

/** Whether a value is an integer in [1000, 3000]: a year, which must match exactly. */
const isYear = (v: number) => Number.isInteger(v) && v >= 1000 && v <= 3000;

/** Chart rules: equality; two numbers → years exactly, others within the relative tolerance; else undecided. */
export function decideChart(a: string, g: string, tolerance: number): Verdict | null {
  if (a === g) return rule(1);
  const x = parseRealNumber(a);
  const y = x === null ? null : parseRealNumber(g);
  if (x === null || y === null) return null;
  if (isYear(x) && isYear(y)) return rule(x === y ? 1 : 0);
  return rule(relativelyClose(x, y, tolerance) ? 1 : 0);
}

class ChartVerifier extends ConfiguredVerifier {
  readonly type = "chart";
  private readonly regex: RegExp;
  constructor(settings: VerifierSettings, deps: VerifierDeps) {
    super(settings, deps);
    this.regex =
      settings.answerExtractionRegex ?? compileExtractionRegex(CHART_REGEX, "answer_extraction_regex");
  }
  override extractAnswer(text: string): string | null {
    const m = this.regex.exec(text);
    if (!m) return null;
    const group = m.groups?.answer ?? m[m.length - 1];
    if (group === undefined) return null;
    // Upstream rejected the <answer> tags the pipeline's gate requires (defect 3): unwrap them instead.
    const part = unwrapAnswer(group);
    if (part === null) return null;
    return singleBox(part, this.settings.strictBoxedExtraction);
  }
  judge(answer: Extracted, gt: Extracted, context: JudgeContext): Verdict | Promise<Verdict> {
    const a = asText(answer);
    const g = asText(gt);
    return decideChart(a, g, this.settings.tolerance) ?? judgeOrZero(this.deps.judge, a, g, context, true);
  }
}

/** Builds the chart verifier. */
export function createChartVerifier(settings: VerifierSettings, deps: VerifierDeps): Verifier {
  return new ChartVerifier(settings, deps);
}
