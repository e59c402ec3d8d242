/**
 * The grounding verifier (new in glmv): predicted boxes against ground-truth boxes, both in thousandths,
 * matched one-to-one (Hungarian algorithm) by IoU; scored as the matched fraction at an IoU threshold, or as
 * the mean matched IoU (continuous). Unmatched boxes on either side count as misses.
 */
import type { VerifierSettings } from "../config.ts";
import { afterThinkPart } from "../gate.ts";
import { type BoxTuple, iou, maxWeightMatching } from "../geometry.ts";
import { boxContents } from "../grammar.ts";
import type { Extracted, Verdict, Verifier } from "../types.ts";
import { rule } from "./common.ts";

const BOX =
  /[[(<{]\s*(-?\d+(?:\.\d+)?)[\s,]+(-?\d+(?:\.\d+)?)[\s,]+(-?\d+(?:\.\d+)?)[\s,]+(-?\d+(?:\.\d+)?)\s*[\])>}]/g;

/** Every `[x1,y1,x2,y2]` box in a text (any bracket style, `<bbox>x1 y1 x2 y2</bbox>` too), corners ordered. */
export function readBoxes(text: string): BoxTuple[] {
  const out: BoxTuple[] = [];
  const s = text.replace(/<bbox>([^<]*)<\/bbox>/g, "[$1]");
  for (const m of s.matchAll(BOX)) {
    const [x1, y1, x2, y2] = [m[1], m[2], m[3], m[4]].map(Number);
    out.push([Math.min(x1, x2), Math.min(y1, y2), Math.max(x1, x2), Math.max(y1, y2)]);
  }
  return out;
}

/** The grounding score of predicted boxes against ground-truth boxes (see the module comment). */
export function groundingScore(
  predicted: BoxTuple[],
  truth: BoxTuple[],
  threshold: number,
  scoring: "threshold" | "continuous",
): number {
  const n = Math.max(predicted.length, truth.length);
  if (n === 0) return 1;
  if (predicted.length === 0 || truth.length === 0) return 0;
  const ious = predicted.map((p) => truth.map((t) => iou(p, t)));
  // Threshold scoring maximises the number of hits first, IoU second.
  const weights =
    scoring === "threshold" ? ious.map((r) => r.map((v) => (v >= threshold ? 1 : 0) + v * 1e-3)) : ious;
  const assignment = maxWeightMatching(weights);
  let total = 0;
  assignment.forEach((j, i) => {
    if (j < 0) return;
    total += scoring === "threshold" ? (ious[i][j] >= threshold ? 1 : 0) : ious[i][j];
  });
  return total / n;
}

class GroundingVerifier implements Verifier {
  readonly type = "grounding";
  readonly minReward = 0;
  /** Ground truths are box lists (data), not model output. */
  readonly gatesGroundTruth = false;
  private readonly settings: VerifierSettings;
  constructor(settings: VerifierSettings) {
    this.settings = settings;
  }
  private boxesOf(text: string, strict: boolean): BoxTuple[] | null {
    const part = afterThinkPart(text) ?? text;
    const boxed = boxContents(part);
    if (boxed.length === 0 && strict) return null;
    const boxes = (boxed.length ? boxed : [part]).flatMap(readBoxes);
    return boxes;
  }
  extractAnswer(text: string): Extracted | null {
    return this.boxesOf(text, this.settings.strictBoxedExtraction);
  }
  extractGroundTruth(text: string): Extracted | null {
    const boxes = this.boxesOf(text, false);
    return boxes && boxes.length > 0 ? boxes : null;
  }
  judge(answer: Extracted, gt: Extracted): Verdict {
    const s = this.settings;
    return rule(groundingScore(answer as BoxTuple[], gt as BoxTuple[], s.iouThreshold, s.groundingScoring));
  }
}

/** Builds the grounding verifier. */
export function createGroundingVerifier(settings: VerifierSettings): Verifier {
  return new GroundingVerifier(settings);
}
