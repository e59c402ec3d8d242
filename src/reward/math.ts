/**
 * Mathematical equivalence for the verifiers: a fast real-number reader for the common answer shapes, and a
 * computer-algebra check built on @cortex-js/compute-engine (LaTeX in, MathJSON out) for everything else:
 * radicals, constants, scientific notation, intervals, sets, tuples, equations and expressions in variables
 * (compared at random sample points). The engine is loaded lazily, on the first check that needs it.
 *
 * This replaces upstream's sympy branch, which never ran (upstream defect 1: `sympify(…, strict=True)` raises
 * for every string, so `3/2` against `1.5` went to the LLM).
 */
import { createRequire } from "node:module";

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const THOUSANDS = /^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$/;
const FRACTION = /^([-+]?)(\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?)$/;
const LATEX_FRACTION = /^([-+]?)\\[dt]?frac\{([-+]?\d+(?:\.\d+)?)\}\{([-+]?\d+(?:\.\d+)?)\}$/;
const LATEX_FRACTION_SHORT = /^([-+]?)\\[dt]?frac(\d)(\d)$/;
const TIMES_TEN = /^([-+]?(?:\d+\.?\d*|\.\d+))(?:\\times|\\cdot|×|\*)10\^(?:\{([-+]?\d+)\}|([-+]?\d+))$/;

/** Removes LaTeX spacing, `$` delimiters and `\left`/`\right` so that shapes can be recognised. */
export function normaliseLatex(text: string): string {
  let s = text.trim();
  if (s.startsWith("$") && s.endsWith("$")) s = s.replace(/^\$+|\$+$/g, "");
  if (s.startsWith("\\(") && s.endsWith("\\)")) s = s.slice(2, -2);
  if (s.startsWith("\\[") && s.endsWith("\\]")) s = s.slice(2, -2);
  s = s
    .replace(/\\(?:left|right|displaystyle|!|,|;|:|quad|qquad)(?![a-zA-Z])/g, "")
    .replace(/\\ /g, "")
    .replace(/−/g, "-")
    .replace(/\s+/g, "");
  if (s.endsWith(".") && !/\d\.$/.test(s)) s = s.slice(0, -1);
  return s;
}

/**
 * Reads a real number written as an integer, decimal, scientific notation, `a/b`, `\frac{a}{b}`,
 * `a\times10^{n}` or with thousands separators (`12,000`). Null for anything else.
 */
export function parseRealNumber(text: string): number | null {
  let s = text.trim();
  if (NUMBER.test(s)) return Number(s);
  s = normaliseLatex(s);
  if (NUMBER.test(s)) return Number(s);
  let m = FRACTION.exec(s) ?? LATEX_FRACTION.exec(s) ?? LATEX_FRACTION_SHORT.exec(s);
  if (m) {
    const den = Number(m[3]);
    if (den === 0) return null;
    const value = Number(m[2]) / den;
    return m[1] === "-" ? -value : value;
  }
  if (THOUSANDS.test(s)) return Number(s.replace(/,/g, ""));
  m = TIMES_TEN.exec(s);
  if (m) return Number(`${m[1]}e${m[2] ?? m[3]}`);
  return null;
}

/** Upstream's relative test: `|a − b| / (|b| + 1e-6) < tolerance` (b is the ground truth). */
export function relativelyClose(answer: number, truth: number, tolerance: number): boolean {
  if (answer === truth) return true;
  if (!Number.isFinite(answer) || !Number.isFinite(truth)) return false;
  return Math.abs(answer - truth) / (Math.abs(truth) + 1e-6) < tolerance;
}

/** Options of one equivalence check. */
export interface EquivalenceOptions {
  /** Relative tolerance for numeric comparisons. */
  tolerance: number;
  /** Wall-clock budget of the check, in ms; past it the check answers "unknown". */
  timeLimitMs: number;
}

/** The outcome of an equivalence check. */
export interface Equivalence {
  verdict: "equal" | "different" | "unknown";
  /** Both sides were constants (numbers, intervals, sets of numbers…): a "different" is then definitive. */
  constant: boolean;
  detail?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Computer algebra (lazy)

type Json = number | string | Json[] | { num: string } | { [k: string]: unknown };
interface BoxedLike {
  json: Json;
  isValid: boolean;
  unknowns: readonly string[];
  operator: string;
  N(): BoxedLike;
  re: number;
  im: number;
  subs(values: Record<string, number>): BoxedLike;
}
interface EngineLike {
  parse(latex: string): BoxedLike;
  box(json: Json): BoxedLike;
}

let engine: EngineLike | null = null;
function getEngine(): EngineLike {
  if (!engine) {
    const require = createRequire(import.meta.url);
    const { ComputeEngine } = require("@cortex-js/compute-engine") as { ComputeEngine: new () => EngineLike };
    engine = new ComputeEngine();
    // Warm the engine's lazily built dictionaries so that the first real check is not charged for them.
    engine.parse("\\frac{\\sqrt{x}}{2}+[0,1)").N();
    engine.parse("\\{1\\}").subs({ x: 1 }).N();
  }
  return engine;
}

const FUNCTION_WORDS = new Set([
  "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
  "log", "ln", "exp", "sqrt", "pi", "infty", "inf", "frac", "dfrac", "tfrac", "cdot", "times", "circ", "cup", "cap",
  "emptyset", "varnothing", "mathbb", "text", "mathrm", "overline", "binom", "le", "ge", "leq", "geq", "neq", "pm", "in",
]); // biome-ignore format: a word list

/** Text that is prose rather than mathematics (a run of 2+ letters that is not a known function or command). */
function looksLikeWords(s: string): boolean {
  const stripped = s.replace(/\\[a-zA-Z]+/g, (cmd) => (FUNCTION_WORDS.has(cmd.slice(1)) ? " " : cmd));
  for (const m of stripped.matchAll(/\\?[a-zA-Z]{2,}/g)) {
    if (m[0].startsWith("\\")) return true; // an unknown LaTeX command: probably \text-like prose
    if (!FUNCTION_WORDS.has(m[0])) return true;
  }
  return false;
}

/** Turns calculator syntax (`sqrt(2)`, `pi`, `**`) into LaTeX the engine reads. */
function toLatex(text: string): string {
  return normaliseLatex(text)
    .replace(/\\[dt]frac/g, "\\frac")
    .replace(/(^|[^\\a-zA-Z])sqrt(?=[({])/g, "$1\\sqrt")
    .replace(/(^|[^\\a-zA-Z])pi(?![a-zA-Z])/g, "$1\\pi")
    .replace(/(^|[^\\a-zA-Z])(sin|cos|tan|ln|log|exp)(?=\()/g, "$1\\$2")
    .replace(/\*\*/g, "^")
    .replace(/√/g, "\\sqrt")
    .replace(/π/g, "\\pi")
    .replace(/×/g, "\\times")
    .replace(/·/g, "\\cdot")
    .replace(/∞/g, "\\infty")
    .replace(/\\text\{\s*\}/g, "");
}

class Deadline {
  readonly end: number;
  constructor(ms: number) {
    this.end = performance.now() + ms;
  }
  passed(): boolean {
    return performance.now() > this.end;
  }
}

class TimeLimitExceeded extends Error {}

type Value = { re: number; im: number };

function numericValue(ce: EngineLike, json: Json): Value | null {
  if (typeof json === "number") return { re: json, im: 0 };
  const n = ce.box(json).N();
  if (Number.isNaN(n.re)) return null;
  return { re: n.re, im: Number.isNaN(n.im) ? 0 : n.im };
}

function valuesClose(a: Value, b: Value, tolerance: number): boolean {
  if (a.re === b.re && a.im === b.im) return true;
  const scale = Math.hypot(b.re, b.im);
  const diff = Math.hypot(a.re - b.re, a.im - b.im);
  if (!Number.isFinite(diff)) return false;
  return diff / (scale + 1e-6) < tolerance;
}

const opOf = (j: Json): string | null => (Array.isArray(j) && typeof j[0] === "string" ? j[0] : null);
const argsOf = (j: Json): Json[] => (Array.isArray(j) ? j.slice(1) : []);

interface Bound {
  value: Json;
  open: boolean;
}
function intervalBounds(j: Json): [Bound, Bound] | null {
  const op = opOf(j);
  const read = (b: Json): Bound =>
    opOf(b) === "Open" ? { value: argsOf(b)[0], open: true } : { value: b, open: false };
  if (op === "Interval") {
    const [lo, hi] = argsOf(j);
    return [read(lo), read(hi)];
  }
  return null;
}

/** Structural comparison of two constant MathJSON values. Null when the shapes are not understood. */
function compareConstants(ce: EngineLike, a: Json, b: Json, tol: number, deadline: Deadline): boolean | null {
  if (deadline.passed()) throw new TimeLimitExceeded();
  let opA = opOf(a);
  let opB = opOf(b);
  // A two-element list [a, b] beside an interval means the closed interval.
  if (opA === "List" && opB === "Interval" && argsOf(a).length === 2) {
    a = ["Interval", ...argsOf(a)];
    opA = "Interval";
  }
  if (opB === "List" && opA === "Interval" && argsOf(b).length === 2) {
    b = ["Interval", ...argsOf(b)];
    opB = "Interval";
  }
  if (opA === "Interval" && opB === "Interval") {
    const ia = intervalBounds(a)!;
    const ib = intervalBounds(b)!;
    for (let k = 0; k < 2; k++) {
      if (ia[k].open !== ib[k].open) return false;
      const same = compareConstants(ce, ia[k].value, ib[k].value, tol, deadline);
      if (same !== true) return same;
    }
    return true;
  }
  const unordered = (x: string | null) => x === "Set" || x === "Union";
  if (unordered(opA) && opA === opB) {
    const xs = dedupe(ce, argsOf(a), tol, deadline);
    const ys = dedupe(ce, argsOf(b), tol, deadline);
    if (xs.length !== ys.length) return false;
    const used = new Array(ys.length).fill(false);
    for (const x of xs) {
      const k = ys.findIndex((y, idx) => !used[idx] && compareConstants(ce, x, y, tol, deadline) === true);
      if (k < 0) return false;
      used[k] = true;
    }
    return true;
  }
  const ordered = (x: string | null) =>
    x === "List" || x === "Tuple" || x === "Sequence" || x === "Delimiter";
  if (ordered(opA) || ordered(opB)) {
    if (!(ordered(opA) && ordered(opB))) return false;
    const xs = argsOf(a);
    const ys = argsOf(b);
    if (xs.length !== ys.length) return false;
    for (let k = 0; k < xs.length; k++) {
      const same = compareConstants(ce, xs[k], ys[k], tol, deadline);
      if (same !== true) return same;
    }
    return true;
  }
  if (opA === "Interval" || opB === "Interval" || unordered(opA) || unordered(opB)) return false;
  if (a === "EmptySet" || b === "EmptySet")
    return (
      a === b ||
      (opOf(a) === "Set" && argsOf(a).length === 0) ||
      (opOf(b) === "Set" && argsOf(b).length === 0)
    );
  const va = numericValue(ce, a);
  const vb = numericValue(ce, b);
  if (!va || !vb) return JSON.stringify(a) === JSON.stringify(b) ? true : null;
  return valuesClose(va, vb, tol);
}

function dedupe(ce: EngineLike, items: Json[], tol: number, deadline: Deadline): Json[] {
  const out: Json[] = [];
  for (const x of items)
    if (!out.some((y) => compareConstants(ce, x, y, tol, deadline) === true)) out.push(x);
  return out;
}

/** Deterministic sample points (no Math.random: the same inputs always give the same verdict). */
const SAMPLES = [0.5772, 1.3247, -0.7072, 2.7191, 0.3187, -1.6173, 3.1462, 0.1234];

/** Compares two expressions in variables by evaluating both at sample points. */
function compareBySampling(
  a: BoxedLike,
  b: BoxedLike,
  vars: string[],
  tol: number,
  deadline: Deadline,
  proportional = false,
): boolean | null {
  let defined = 0;
  let ratio: number | null = null;
  for (let s = 0; s < SAMPLES.length; s++) {
    if (deadline.passed()) throw new TimeLimitExceeded();
    const point: Record<string, number> = {};
    vars.forEach((v, k) => {
      point[v] = SAMPLES[(s + 3 * k) % SAMPLES.length] + k * 0.1;
    });
    const va = a.subs(point).N();
    const vb = b.subs(point).N();
    if (!Number.isFinite(va.re) || !Number.isFinite(vb.re)) continue;
    const x = { re: va.re, im: Number.isNaN(va.im) ? 0 : va.im };
    const y = { re: vb.re, im: Number.isNaN(vb.im) ? 0 : vb.im };
    defined++;
    if (proportional) {
      if (Math.abs(y.re) < 1e-12 && Math.abs(x.re) < 1e-12) continue;
      if (Math.abs(y.re) < 1e-12) return false;
      const r = x.re / y.re;
      if (ratio === null) ratio = r;
      else if (!valuesClose({ re: r, im: 0 }, { re: ratio, im: 0 }, Math.max(tol, 1e-9))) return false;
    } else if (!valuesClose(x, y, Math.max(tol, 1e-9))) return false;
  }
  return defined >= 3 ? true : null;
}

/**
 * Whether two answers are mathematically equivalent, using the computer-algebra engine. Both sides are LaTeX
 * or calculator syntax. Prose (words) is never compared here: "unknown".
 */
export function mathEquivalence(answer: string, truth: string, options: EquivalenceOptions): Equivalence {
  if (answer.length > 2000 || truth.length > 2000)
    return { verdict: "unknown", constant: false, detail: "too long" };
  const la = toLatex(answer);
  const lb = toLatex(truth);
  if (la === lb) return { verdict: "equal", constant: true };
  if (!la || !lb || looksLikeWords(la) || looksLikeWords(lb))
    return { verdict: "unknown", constant: false, detail: "not mathematics" };
  try {
    const ce = getEngine(); // loading the engine (once) does not count against the check's time
    const deadline = new Deadline(options.timeLimitMs);
    let ea = ce.parse(la);
    let eb = ce.parse(lb);
    if (!ea.isValid || !eb.isValid) return { verdict: "unknown", constant: false, detail: "does not parse" };
    // `x = 3` against `3`: compare the solved value.
    if (ea.operator === "Equal" && eb.operator !== "Equal" && typeof argsOf(ea.json)[0] === "string")
      ea = ce.box(argsOf(ea.json)[1]);
    else if (eb.operator === "Equal" && ea.operator !== "Equal" && typeof argsOf(eb.json)[0] === "string")
      eb = ce.box(argsOf(eb.json)[1]);
    const vars = [...new Set([...ea.unknowns, ...eb.unknowns])].sort();
    if (vars.length === 0) {
      const same = compareConstants(ce, ea.json, eb.json, options.tolerance, deadline);
      if (same === null) return { verdict: "unknown", constant: true, detail: "not comparable" };
      return { verdict: same ? "equal" : "different", constant: true };
    }
    if (ea.operator === "Equal" && eb.operator === "Equal") {
      const diff = (e: BoxedLike) => ce.box(["Subtract", argsOf(e.json)[0], argsOf(e.json)[1]]);
      const same = compareBySampling(diff(ea), diff(eb), vars, options.tolerance, deadline, true);
      return same === null
        ? { verdict: "unknown", constant: false }
        : { verdict: same ? "equal" : "different", constant: false };
    }
    if (ea.operator === "Equal" || eb.operator === "Equal") return { verdict: "different", constant: false };
    const same = compareBySampling(ea, eb, vars, options.tolerance, deadline);
    return same === null
      ? { verdict: "unknown", constant: false }
      : { verdict: same ? "equal" : "different", constant: false };
  } catch (error) {
    if (error instanceof TimeLimitExceeded)
      return { verdict: "unknown", constant: false, detail: "time limit" };
    return { verdict: "unknown", constant: false, detail: `engine error: ${(error as Error).message}` };
  }
}
