/** The mmsi (multi-image spatial) verifier (spec §11.3): ° and % normalisation, lenient numeric tolerance. */
import type { VerifierSettings } from "../config.ts";
import { mathEquivalence, parseRealNumber } from "../math.ts";
import type { Extracted, JudgeContext, Verdict, Verifier } from "../types.ts";
import { asText, ConfiguredVerifier, judgeOrZero, rule, type VerifierDeps } from "./common.ts";

/** Removes `°` (and `^\circ`); a trailing `x%` becomes x/100. */
export function normaliseMmsi(text: string): string {
  let s = text.replace(/°|\^\{?\\circ\}?/g, "").trim();
  const pct = /^([-+]?(?:\d+\.?\d*|\.\d+))\s*\\?%$/.exec(s);
  if (pct) s = String(Number(pct[1]) / 100);
  return s;
}

/** The mmsi numeric rule: `|gt| < tol` → absolute difference < tol, else `diff/(|gt|+tol) < tol`. */
export function mmsiNumbersMatch(a: number, g: number, tolerance: number): boolean {
  const diff = Math.abs(a - g);
  if (Math.abs(g) < tolerance) return diff < tolerance;
  return diff / (Math.abs(g) + tolerance) < tolerance;
}

class MmsiVerifier extends ConfiguredVerifier {
  readonly type = "mmsi";
  /** Takes the image through `context.imageFile` (upstream's `image_paths` name broke every call: defect 2). */
  judge(answer: Extracted, gt: Extracted, context: JudgeContext): Verdict | Promise<Verdict> {
    const a = normaliseMmsi(asText(answer));
    const g = normaliseMmsi(asText(gt));
    if (a === g) return rule(1);
    const x = parseRealNumber(a);
    const y = parseRealNumber(g);
    if (x !== null && y !== null) return rule(mmsiNumbersMatch(x, y, this.settings.tolerance) ? 1 : 0);
    const eq = mathEquivalence(a, g, { tolerance: 1e-9, timeLimitMs: this.settings.symbolicTimeLimitMs });
    if (eq.verdict === "equal") return rule(1);
    if (eq.verdict === "different" && eq.constant) return rule(0);
    return judgeOrZero(this.deps.judge, a, g, context);
  }
}

/** Builds the mmsi verifier. */
export function createMmsiVerifier(settings: VerifierSettings, deps: VerifierDeps): Verifier {
  return new MmsiVerifier(settings, deps);
}
