/** The geoquest verifier (spec §11.3): a place guess against a JSON location, scored by judges. */
import type { VerifierSettings } from "../config.ts";
import { JudgeUnavailableError } from "../errors.ts";
import { afterThinkPart, singleBox, thinkAnswerPart } from "../gate.ts";
import { visibleText } from "../grammar.ts";
import type { Extracted, JudgeContext, Verdict, Verifier } from "../types.ts";
import { asText, ConfiguredVerifier, rule, type VerifierDeps } from "./common.ts";

/** The geoquest ground truth. */
export interface GeoLocation extends Record<string, unknown> {
  place_name: string;
  address: string;
}

/** Reads a judge's geoquest reply: the `score` of the first JSON object, else `"score": x`; null if none. */
export function readGeoScore(reply: string): number | null {
  const text = visibleText(reply);
  const start = text.indexOf("{");
  if (start >= 0) {
    let depth = 0;
    for (let i = start; i < text.length; i++) {
      if (text[i] === "{") depth++;
      else if (text[i] === "}" && --depth === 0) {
        try {
          const obj = JSON.parse(text.slice(start, i + 1)) as { score?: unknown };
          const score = Number(obj.score);
          if (obj.score !== undefined && Number.isFinite(score)) return score;
        } catch {
          // fall back to the regex below
        }
        break;
      }
    }
  }
  const m = /"score"\s*:\s*([-+]?\d+(?:\.\d+)?)/.exec(text);
  return m ? Number(m[1]) : null;
}

class GeoquestVerifier extends ConfiguredVerifier {
  readonly type = "geoquest";
  /** A JSON ground truth is data, not model output: upstream's gate rejected it (defect 5, fixed). */
  override readonly gatesGroundTruth = false;
  override extractAnswer(text: string): string | null {
    const part = afterThinkPart(text) ?? text;
    return singleBox(part, this.settings.strictBoxedExtraction);
  }
  override extractGroundTruth(text: string): GeoLocation | null {
    const body = thinkAnswerPart(text) ?? text;
    const boxed = singleBox(body, false) ?? body;
    let obj: unknown;
    try {
      obj = JSON.parse(boxed);
    } catch {
      return null;
    }
    const o = obj as Partial<GeoLocation>;
    if (typeof o !== "object" || o === null || typeof o.place_name !== "string") return null;
    return { place_name: o.place_name, address: typeof o.address === "string" ? o.address : "" };
  }
  async judgeWithLlm(answer: string, gt: GeoLocation, context: JudgeContext): Promise<Verdict> {
    const judge = this.deps.judge!;
    const replies = await judge.ask(context.question, answer, JSON.stringify(gt));
    const scores: number[] = [];
    const problems: string[] = [];
    for (const r of replies) {
      if (!r.ok) problems.push(r.error.message);
      else {
        const s = readGeoScore(r.text);
        if (s === null) problems.push(`no score in reply ${JSON.stringify(r.text.slice(0, 80))}`);
        else scores.push(s > 0.7 ? 1 : 0);
      }
    }
    if (scores.length === 0)
      throw new JudgeUnavailableError(`no geoquest judge gave a score: ${problems.join("; ")}`);
    const reward = scores.reduce((a, b) => a + b, 0) / scores.length;
    return problems.length
      ? { reward, decidedBy: "llm", detail: problems.join("; ") }
      : { reward, decidedBy: "llm" };
  }
  judge(answer: Extracted, gt: Extracted, context: JudgeContext): Verdict | Promise<Verdict> {
    const a = asText(answer).trim();
    if (a.length > 50) return rule(0, "answer longer than 50 characters");
    const loc = gt as unknown as GeoLocation;
    if (this.deps.judge) return this.judgeWithLlm(a, loc, context);
    const norm = (s: string) => s.trim().toLowerCase();
    const same = norm(a) === norm(loc.place_name) || (loc.address !== "" && norm(a) === norm(loc.address));
    return rule(same ? 1 : 0, "LLM judge disabled: exact place-name match only");
  }
}

/** Builds the geoquest verifier. */
export function createGeoquestVerifier(settings: VerifierSettings, deps: VerifierDeps): Verifier {
  return new GeoquestVerifier(settings, deps);
}
