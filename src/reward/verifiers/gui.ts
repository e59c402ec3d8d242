/**
 * The GUI action judges (spec §11.5): AndroidWorld, OSWorld and WebVoyager, built in (upstream loaded them
 * from Python files). Extraction reads the first box of the response; the ground truth is read the same way.
 */

import { afterThinkPart } from "../gate.ts";
import { type BoxTuple, iou, pointSimilarity } from "../geometry.ts";
import { firstBoxSpan, parsePythonLiteral } from "../grammar.ts";
import { editSimilarity, lcsRatio } from "../text.ts";
import type { Extracted, Verdict, Verifier } from "../types.ts";
import { rule } from "./common.ts";

/** The text between the first `<|begin_of_box|>` and the next `<|end_of_box|>`; null when there is none. */
export function firstBox(text: string): string | null {
  return firstBoxSpan(text);
}

/** `[[010,20,…]]` → `[[10,20,…]]`: leading zeros in box integers (invalid in JSON and Python 3). */
function stripLeadingZeros(text: string): string {
  return text.replace(/\[\s*\[[\d\s,]+\]\s*\]/g, (list) => list.replace(/\b0+(\d)/g, "$1"));
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, k) => deepEqual(x, b[k]));
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => deepEqual((a as never)[k], (b as never)[k]));
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// AndroidWorld

/** Reads an AndroidWorld action from the first box: JSON, else a Python literal (parsed safely, never eval). */
export function extractAndroidAction(text: string): Record<string, unknown> | null {
  const body = firstBox(text);
  if (body === null) return null;
  let value: unknown;
  const normalised = stripLeadingZeros(body);
  try {
    value = JSON.parse(normalised);
  } catch {
    try {
      value = parsePythonLiteral(normalised); // upstream used eval on model output (defect 9)
    } catch {
      return null;
    }
  }
  return value && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

/** An AndroidWorld `box_2d` (`[[x1,y1,x2,y2]]` or flat) when it is 4 integers in 0–999, ordered; else null. */
export function androidBox(value: unknown): BoxTuple | null {
  const flat = Array.isArray(value) && value.length === 1 && Array.isArray(value[0]) ? value[0] : value;
  if (!Array.isArray(flat) || flat.length !== 4) return null;
  if (!flat.every((v) => Number.isInteger(v) && v >= 0 && v <= 999)) return null;
  const [x1, y1, x2, y2] = flat as number[];
  return x1 <= x2 && y1 <= y2 ? [x1, y1, x2, y2] : null;
}

/**
 * AndroidWorld: the key sets must be equal; the reward is the product of per-key scores (equal → 1, `text` →
 * LCS ratio, `box_2d` → IoU, otherwise 0). An answer box that is not 4 ordered integers in 0–999 gives 0.
 */
export function judgeAndroidAction(answer: Record<string, unknown>, gt: Record<string, unknown>): number {
  const ka = Object.keys(answer).sort();
  const kg = Object.keys(gt).sort();
  if (ka.length !== kg.length || ka.some((k, i) => k !== kg[i])) return 0;
  let reward = 1;
  for (const key of kg) {
    const a = answer[key];
    const g = gt[key];
    if (key === "box_2d") {
      const ab = androidBox(a);
      if (!ab) return 0;
      const gb = androidBox(g);
      reward *= gb ? iou(ab, gb) : deepEqual(a, g) ? 1 : 0;
    } else if (deepEqual(a, g)) continue;
    else if (key === "text" && typeof a === "string" && typeof g === "string") reward *= lcsRatio(a, g);
    else return 0;
  }
  return reward;
}

// ---------------------------------------------------------------------------------------------------------------
// OSWorld

/** A parsed OSWorld action call. */
export interface OsAction {
  action: string;
  params: Record<string, string | number>;
  start: [number, number] | null;
  end: [number, number] | null;
}

function balanced(text: string): boolean {
  if ((text.match(/'/g)?.length ?? 0) % 2 !== 0) return false;
  const stack: string[] = [];
  for (const c of text) {
    if (c === "(" || c === "[") stack.push(c);
    else if (c === ")" || c === "]") {
      if (stack.pop() !== (c === ")" ? "(" : "[")) return false;
    }
  }
  return stack.length === 0;
}

/** Reads `[x, y]` (or a box, taken at its centre) from a coordinate string. */
export function readPoint(text: string): [number, number] | null {
  const nums = text.match(/-?\d+(?:\.\d+)?/g)?.map(Number) ?? [];
  if (nums.length === 2) return [nums[0], nums[1]];
  if (nums.length === 4) return [(nums[0] + nums[2]) / 2, (nums[1] + nums[3]) / 2];
  return null;
}

/** Parses `name(key='value', key=3, …)`: single- or double-quoted strings, or bare tokens. */
export function parseActionCall(
  text: string,
): { name: string; params: Record<string, string | number> } | null {
  const m = /^\s*([A-Za-z_]\w*)\s*\(([\s\S]*)\)\s*$/.exec(text);
  if (!m) return null;
  const params: Record<string, string | number> = {};
  const body = m[2];
  const arg =
    /\s*([A-Za-z_]\w*)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(\([^)]*\)|\[[^\]]*\](?:\])?|[^,]+?))\s*(?:,|$)/gy;
  let pos = 0;
  while (pos < body.length) {
    if (/^\s*$/.test(body.slice(pos))) break;
    arg.lastIndex = pos;
    const a = arg.exec(body);
    if (!a) return null;
    const raw = a[2] ?? a[3];
    if (raw !== undefined) params[a[1]] = raw.replace(/\\(['"\\])/g, "$1");
    else {
      const bare = a[4].trim();
      const n = Number(bare);
      params[a[1]] = bare !== "" && Number.isFinite(n) ? n : bare;
    }
    pos = arg.lastIndex;
  }
  return { name: m[1], params };
}

/** Reads the OSWorld action in the first box (quotes and brackets must balance). */
export function extractOsAction(text: string): OsAction | null {
  const body = firstBox(text);
  if (body === null || !balanced(body)) return null;
  const call = parseActionCall(body);
  if (!call) return null;
  const p = (k: string) => (call.params[k] === undefined ? null : readPoint(String(call.params[k])));
  return { action: call.name, params: call.params, start: p("start_box"), end: p("end_box") };
}

function isRepetitive(s: string): boolean {
  if (s.length < 10) return false;
  const chars = new Map<string, number>();
  for (const c of s) chars.set(c, (chars.get(c) ?? 0) + 1);
  if (Math.max(...chars.values()) / s.length > 0.7) return true;
  for (let n = 2; n <= 4; n++) {
    const grams = new Map<string, number>();
    let best = 0;
    for (let i = 0; i + n <= s.length; i++) {
      const g = s.slice(i, i + n);
      const c = (grams.get(g) ?? 0) + 1;
      grams.set(g, c);
      if (c > best) best = c;
    }
    if ((best * n) / s.length > 0.7) return true;
  }
  return false;
}

function bigramJaccard(a: string, b: string): number {
  const grams = (s: string) => {
    const set = new Set<string>();
    for (let i = 0; i + 2 <= s.length; i++) set.add(s.slice(i, i + 2));
    return set;
  };
  const x = grams(a);
  const y = grams(b);
  if (x.size === 0 && y.size === 0) return a === b ? 1 : 0;
  let inter = 0;
  for (const g of x) if (y.has(g)) inter++;
  return inter / (x.size + y.size - inter);
}

/**
 * OSWorld typed-text similarity: `0.6·edit + 0.4·bigram Jaccard`, × the length ratio when it is below 0.3,
 * × 0.3 when either text is repetitive; 0 for an empty text.
 */
export function typedTextSimilarity(answer: string, truth: string): number {
  const a = answer.trim().toLowerCase();
  const g = truth.trim().toLowerCase();
  if (a === "" || g === "") return 0;
  let s = 0.6 * editSimilarity(a, g) + 0.4 * bigramJaccard(a, g);
  const ratio = Math.min(a.length, g.length) / Math.max(a.length, g.length);
  if (ratio < 0.3) s *= ratio;
  if (isRepetitive(a) || isRepetitive(g)) s *= 0.3;
  return s;
}

const OS_POINT_ACTIONS = new Set([
  "left_click",
  "right_click",
  "middle_click",
  "hover",
  "left_double_click",
  "left_triple_click",
]);
const OS_ALWAYS_RIGHT = new Set(["WAIT", "DONE", "FAIL", "wait", "finished"]);

/** OSWorld scroll step similarity; a zero ground-truth step no longer divides by zero (defect 9). */
export function scrollStepSimilarity(answerStep: number | undefined, gtStep: number | undefined): number {
  if (gtStep === undefined) return 1;
  const a = answerStep ?? 5;
  if (gtStep <= 0) return a === gtStep ? 1 : 0;
  return Math.max(0, 1 - Math.abs(a - gtStep) / (2 * gtStep));
}

/** The OSWorld reward of an action against the ground truth (spec §11.5). */
export function judgeOsAction(a: OsAction, g: OsAction): number {
  if (a.action !== g.action) return 0;
  const sim = (x: [number, number] | null, y: [number, number] | null) =>
    y === null ? (x === null ? 1 : 0) : x === null ? 0 : pointSimilarity(x, y);
  if (OS_POINT_ACTIONS.has(g.action)) return g.start && a.start ? pointSimilarity(a.start, g.start) : 0;
  if (g.action === "left_drag") return Math.sqrt(sim(a.start, g.start) * sim(a.end, g.end));
  if (g.action === "scroll") {
    const step = (x: OsAction) => (typeof x.params.step === "number" ? x.params.step : undefined);
    const same = String(a.params.direction ?? "") === String(g.params.direction ?? "") ? 1 : 0;
    return sim(a.start, g.start) * same * scrollStepSimilarity(step(a), step(g));
  }
  if (g.action === "type")
    return typedTextSimilarity(String(a.params.content ?? ""), String(g.params.content ?? ""));
  if (g.action === "key" || g.action === "hotkey") {
    const keys = (x: OsAction) =>
      String(x.params.keys ?? x.params.key ?? x.params.hotkey ?? "").toLowerCase();
    return keys(a) === keys(g) ? 1 : 0;
  }
  if (OS_ALWAYS_RIGHT.has(g.action)) return 1;
  return deepEqual(a.params, g.params) ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// WebVoyager

/** A parsed WebVoyager action, new (`CLICK(point=…)`) or old (set-of-marks `Click [n]`) style. */
export interface WebAction {
  style: "new" | "old";
  action: string;
  point?: [number, number] | null;
  elementInfo?: string;
  text?: string;
  key?: string;
  distance?: number;
  content?: string;
  label?: string;
  direction?: string;
}

const OLD_SIMPLE = new Set(["Wait", "GoBack", "Google", "Bing"]);

/** Parses either WebVoyager action format; null when it is neither. */
export function parseWebAction(text: string): WebAction | null {
  const s = text.trim();
  const call = /^[A-Z_]+\(/.test(s) ? parseActionCall(s) : null;
  if (call) {
    const p = call.params;
    const str = (k: string) => (p[k] === undefined ? undefined : String(p[k]));
    return {
      style: "new",
      action: call.name,
      point: p.point === undefined ? null : readPoint(String(p.point)),
      elementInfo: str("element_info"),
      text: str("text"),
      key: str("key"),
      distance: typeof p.distance === "number" ? p.distance : undefined,
      content: str("content"),
    };
  }
  let m = /^Click\s*\[\s*(\w+)\s*\]$/.exec(s);
  if (m) return { style: "old", action: "Click", label: m[1] };
  m = /^Type\s*\[\s*(\w+)\s*\]\s*;\s*\[([\s\S]*)\]$/.exec(s);
  if (m) return { style: "old", action: "Type", label: m[1], text: m[2] };
  m = /^Scroll\s*\[\s*(\w+)\s*\]\s*;\s*\[\s*(up|down)\s*\]$/i.exec(s);
  if (m) return { style: "old", action: "Scroll", label: m[1], direction: m[2].toLowerCase() };
  m = /^ANSWER\s*;\s*(?:<content>([\s\S]*)<\/content>|\[([\s\S]*)\])$/.exec(s);
  if (m) return { style: "old", action: "ANSWER", content: (m[1] ?? m[2]).trim() };
  m = /^Key\s*;\s*\[\s*(\w+)\s*\]$/.exec(s);
  if (m) return { style: "old", action: "Key", key: m[1] };
  if (OLD_SIMPLE.has(s)) return { style: "old", action: s };
  return null;
}

/** Reads the WebVoyager action in the first box (the answer part is read directly: no `<answer>` needed). */
export function extractWebAction(text: string): WebAction | null {
  const body = firstBox(text);
  return body === null ? null : parseWebAction(body);
}

const samePoint = (a?: [number, number] | null, b?: [number, number] | null) =>
  !!a && !!b && a[0] === b[0] && a[1] === b[1];

function keyScore(a?: string, g?: string): number {
  if (a === g) return 1;
  const pair = new Set([a, g]);
  return pair.has("Return") && pair.has("Enter") ? 0.05 : 0;
}

/** The WebVoyager reward of an action against the ground truth (spec §11.5). */
export function judgeWebAction(a: WebAction, g: WebAction): number {
  if (a.style !== g.style || a.action !== g.action) return 0;
  if (g.style === "old") {
    switch (g.action) {
      case "Click":
        return a.label === g.label ? 1 : 0;
      case "Type":
        return a.label === g.label ? lcsRatio(a.text ?? "", g.text ?? "") : 0;
      case "Scroll":
        return a.label === g.label && a.direction === g.direction ? 1 : 0;
      case "ANSWER":
        return lcsRatio(a.content ?? "", g.content ?? "");
      case "Key":
        return keyScore(a.key, g.key);
      default:
        return 1;
    }
  }
  switch (g.action) {
    case "CLICK":
      if (samePoint(a.point, g.point)) return 1;
      return a.elementInfo !== undefined && a.elementInfo === g.elementInfo ? 0.05 : 0;
    case "TYPE": {
      const r = lcsRatio(a.text ?? "", g.text ?? "");
      return samePoint(a.point, g.point) ? r : Math.max(0.05, r * 0.95);
    }
    case "KEY_PRESS":
      return keyScore(a.key, g.key);
    case "SCROLL_DOWN":
    case "SCROLL_UP": {
      if (!samePoint(a.point, g.point) && !(a.point === null && g.point === null)) return 0;
      const da = a.distance ?? 0;
      const dg = g.distance ?? 0;
      const top = Math.max(Math.abs(da), Math.abs(dg));
      return top === 0 ? 1 : 1 - Math.abs(da - dg) / top;
    }
    case "ANSWER":
      return lcsRatio(a.content ?? "", g.content ?? "");
    default:
      return 1;
  }
}

// ---------------------------------------------------------------------------------------------------------------

class GuiVerifier<T extends object> implements Verifier {
  readonly type: string;
  readonly minReward = 0;
  readonly gatesGroundTruth = true;
  private readonly extract: (text: string) => T | null;
  private readonly score: (a: T, g: T) => number;
  constructor(type: string, extract: (text: string) => T | null, score: (a: T, g: T) => number) {
    this.type = type;
    this.extract = extract;
    this.score = score;
  }
  /**
   * Reads the action from the part after `</think>` (the spec's `^<think>…</think>(.*)$` extractor; the whole
   * text when there is no think block), so boxes in the reasoning are ignored. Boxes are found by the
   * protocol's box scanner, with or without `<answer>`: upstream's 4.1V PC parser had a regex typo
   * (`</\|end_of_box\|>`) and its web parser required `<answer>`, failing on 4.5V output (defect 10).
   */
  extractAnswer(text: string): Extracted | null {
    return this.extract(afterThinkPart(text) ?? text) as Extracted | null;
  }
  extractGroundTruth(text: string): Extracted | null {
    return this.extract(afterThinkPart(text) ?? text) as Extracted | null;
  }
  /** Takes the image through the shared context (upstream's `image_path` name broke the call: defect 2). */
  judge(answer: Extracted, gt: Extracted): Verdict {
    return rule(this.score(answer as T, gt as T));
  }
}

/** Builds the AndroidWorld verifier. */
export const createAndroidWorldVerifier = (): Verifier =>
  new GuiVerifier("AndroidWorld", extractAndroidAction, judgeAndroidAction);
/** Builds the OSWorld verifier. */
export const createOsWorldVerifier = (): Verifier =>
  new GuiVerifier("OSWorld", extractOsAction, judgeOsAction);
/** Builds the WebVoyager verifier. */
export const createWebVoyagerVerifier = (): Verifier =>
  new GuiVerifier("WebVoyager", extractWebAction, judgeWebAction);
