/**
 * The answer-equivalence verifiers (spec §11.3): math, physics, chemistry, biology, geography, liberal_arts,
 * vqa and multi_image.
 */
import { createRequire } from "node:module";
import type { VerifierSettings } from "../config.ts";
import { mathEquivalence, normaliseLatex, parseRealNumber, relativelyClose } from "../math.ts";
import type { Extracted, JudgeContext, Verdict, Verifier } from "../types.ts";
import {
  asText,
  ConfiguredVerifier,
  extractAfterThinkBox,
  extractThinkAnswerBox,
  judgeOrZero,
  rule,
  type VerifierDeps,
} from "./common.ts";

/**
 * Numeric and symbolic equivalence as the math verifier decides it: equal strings → 1; two real numbers →
 * relative tolerance (definitive); otherwise the computer-algebra check (equal → 1; two constants that differ
 * → 0); otherwise null (undecided: the judge's turn).
 */
export function decideMath(
  answer: string,
  gt: string,
  tolerance: number,
  timeLimitMs: number,
): Verdict | null {
  if (answer === gt) return rule(1);
  const a = parseRealNumber(answer);
  const b = a === null ? null : parseRealNumber(gt);
  if (a !== null && b !== null) return rule(relativelyClose(a, b, tolerance) ? 1 : 0);
  const eq = mathEquivalence(answer, gt, { tolerance, timeLimitMs });
  if (eq.verdict === "equal") return rule(1);
  if (eq.verdict === "different" && eq.constant) return rule(0);
  return null;
}

class ScienceVerifier extends ConfiguredVerifier {
  readonly type: string;
  constructor(settings: VerifierSettings, deps: VerifierDeps) {
    super(settings, deps);
    this.type = settings.verifierType;
  }
  override extractAnswer(text: string): string | null {
    return extractThinkAnswerBox(text, this.settings.strictBoxedExtraction);
  }
  judge(answer: Extracted, gt: Extracted, context: JudgeContext): Verdict | Promise<Verdict> {
    const a = asText(answer);
    const g = asText(gt);
    return this.decide(a, g) ?? judgeOrZero(this.deps.judge, a, g, context, this.type === "multi_image");
  }
  /** The rule decision, or null to fall through to the judge. */
  protected decide(a: string, g: string): Verdict | null {
    switch (this.type) {
      case "biology":
        return a.trim() === g.trim() ? rule(1) : null;
      case "liberal_arts":
      case "vqa":
        return a === g ? rule(1) : null;
      case "geography":
        return decideGeography(a, g, this.settings.tolerance);
      default:
        return decideMath(a, g, this.settings.tolerance, this.settings.symbolicTimeLimitMs);
    }
  }
}

/** Geography: case-insensitive equality, then set equality over `, ; whitespace 、 ， ；`, then numbers. */
export function decideGeography(a: string, g: string, tolerance: number): Verdict | null {
  if (a.trim().toLowerCase() === g.trim().toLowerCase()) return rule(1);
  const items = (s: string) =>
    [
      ...new Set(
        s
          .toLowerCase()
          .split(/[,;\s、，；]+/)
          .filter((x) => x !== ""),
      ),
    ]
      .sort()
      .join("\u0000");
  if (items(a) === items(g)) return rule(1);
  const x = parseRealNumber(a);
  const y = x === null ? null : parseRealNumber(g);
  if (x !== null && y !== null) return rule(relativelyClose(x, y, tolerance) ? 1 : 0);
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// Physics and chemistry: quantities with units

interface MathUnit {
  equalBase(other: MathUnit): boolean;
  toNumber(unit: string): number;
  formatUnits(): string;
}
let unitFn: ((text: string) => MathUnit) | null = null;
function parseUnit(text: string): MathUnit | null {
  if (!unitFn) {
    const require = createRequire(import.meta.url);
    unitFn = (require("mathjs") as { unit: (text: string) => MathUnit }).unit;
  }
  try {
    return unitFn(text);
  } catch {
    return null;
  }
}

/** A number followed by a unit, as in `9.8 m/s^2`, `9.8\,\mathrm{m/s^{2}}` or `3 \text{ kg}`. */
export interface Quantity {
  value: number;
  /** The unit text in mathjs syntax; "" for a bare number. */
  unit: string;
}

/**
 * Splits a quantity into its number and unit; null when the text does not start with a number. Units are
 * recognised as whole tokens after the number, never as letters inside an expression (fix for upstream
 * defect 7, where any answer containing the letter `m`, `s`, `g`, `K` or `L` skipped the numeric check).
 */
export function parseQuantity(text: string): Quantity | null {
  const s = normaliseLatex(
    text
      .replace(/\\(?:text|mathrm|rm|mbox|operatorname)\s*\{((?:[^{}]|\{[^{}]*\})*)\}/g, " $1 ")
      .replace(/~/g, " "),
  )
    .replace(/\^\{([^{}]*)\}/g, "^$1")
    .replace(/\\(?:cdot|times)(?=[a-zA-Z])/g, "*")
    .replace(/\\mu|μ|µ/g, "u")
    .replace(/\\Omega|Ω/g, "ohm")
    .replace(/\\?%/g, "percent")
    .replace(/°C/g, "degC")
    .replace(/°F/g, "degF");
  const m = /^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?\d+\/\d+|[-+]?\\frac\{\d+\}\{\d+\})(.*)$/.exec(
    s,
  );
  if (!m) return null;
  const value = parseRealNumber(m[1]);
  if (value === null) return null;
  const unit = m[2].replace(/^\*/, "");
  if (unit !== "" && !/^[a-zA-Z][a-zA-Z0-9^*/()\-.]*$/.test(unit)) return null;
  return { value, unit };
}

/** Compares two quantities with units (converting units); null when they cannot be compared by rule. */
export function compareQuantities(a: Quantity, b: Quantity, tolerance: number): boolean | null {
  if (a.unit === b.unit) return relativelyClose(a.value, b.value, tolerance);
  if (a.unit === "" || b.unit === "") return null;
  const ua = parseUnit(`${a.value} ${a.unit}`);
  const ub = parseUnit(`${b.value} ${b.unit}`);
  if (!ua || !ub) return null;
  if (!ua.equalBase(ub)) return false;
  const unitOfB = ub.formatUnits();
  return relativelyClose(ua.toNumber(unitOfB), ub.toNumber(unitOfB), tolerance);
}

class PhysicalScienceVerifier extends ScienceVerifier {
  protected override decide(a: string, g: string): Verdict | null {
    if (a === g) return rule(1);
    const qa = parseQuantity(a);
    const qg = parseQuantity(g);
    if (qa && qg && (qa.unit !== "" || qg.unit !== "")) {
      const same = compareQuantities(qa, qg, this.settings.tolerance);
      if (same !== null) return rule(same ? 1 : 0);
      // One side lacks its unit: the judge decides; without a judge compare the numbers and say so.
      if (this.deps.judge) return null;
      return rule(
        relativelyClose(qa.value, qg.value, this.settings.tolerance) ? 1 : 0,
        "unit missing on one side",
      );
    }
    return decideMath(a, g, this.settings.tolerance, this.settings.symbolicTimeLimitMs);
  }
}

class MultiImageVerifier extends ScienceVerifier {
  override extractAnswer(text: string): string | null {
    return extractAfterThinkBox(text, this.settings.strictBoxedExtraction);
  }
}

/** Builds one of the equivalence verifiers. */
export function createScienceVerifier(settings: VerifierSettings, deps: VerifierDeps): Verifier {
  if (settings.verifierType === "physics" || settings.verifierType === "chemistry")
    return new PhysicalScienceVerifier(settings, deps);
  if (settings.verifierType === "multi_image") return new MultiImageVerifier(settings, deps);
  return new ScienceVerifier(settings, deps);
}
