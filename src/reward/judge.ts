/**
 * The LLM judge (spec §11.4, with upstream's defects 6 fixed): prompt filling, verdict reading, majority vote
 * over several endpoints, per-call timeouts, retries and a concurrency limit. HTTP lives in judge-http.ts.
 */
import { JudgeHttpError, JudgeUnavailableError } from "./errors.ts";
import { boxContents, visibleText } from "./grammar.ts";
import { type JudgeTransport, postChatCompletion } from "./judge-http.ts";
import type { Verdict } from "./types.ts";

/** One judge: where it is and which model answers. */
export interface JudgeEndpoint {
  url: string;
  apiKey: string;
  model: string;
}

/** Everything a judge needs besides the item. */
export interface JudgeSettings {
  endpoints: JudgeEndpoint[];
  /** Template with the placeholders `{question}`, `{predict}` and `{label}`; all other text is literal. */
  promptTemplate: string;
  maxTokens: number;
  temperature: number;
  topP: number;
  /** Per-call time limit (ms). */
  timeoutMs: number;
  /** Extra attempts after a failed call (HTTP error, timeout). */
  retries: number;
  /** Delay before the first retry (ms), doubled each time. */
  retryDelayMs: number;
  /** Calls in flight at once, over all items, for this judge. */
  concurrency: number;
}

/** The placeholders a judge prompt template must contain. */
export const PROMPT_PLACEHOLDERS = ["{question}", "{predict}", "{label}"] as const;

/** The placeholders a template lacks ([] when it is complete). */
export function missingPlaceholders(template: string): string[] {
  return PROMPT_PLACEHOLDERS.filter((p) => !template.includes(p));
}

/**
 * Fills `{question}`, `{predict}` and `{label}`; every other brace stays literal (upstream escaped them for
 * Python's str.format). Values are inserted once, so braces inside them are never re-read.
 */
export function fillPrompt(
  template: string,
  values: { question: string; predict: string; label: string },
): string {
  return template.replace(
    /\{(question|predict|label)\}/g,
    (_, key: "question" | "predict" | "label") => values[key],
  );
}

const VERDICT_TOKEN = /(?<![\d.])(1(?:\.0+)?|0(?:\.0+)?)(?![\d.])|\b(correct|incorrect)\b/gi;

/**
 * Reads a judge's verdict: 1, 0, or a float in [0, 1]; null when the reply is unreadable or self-contradictory.
 * Reasoning is ignored, a boxed verdict wins, then a reply that is just a verdict (`1.0`, `0`, `Correct`,
 * `Incorrect`), then the verdict tokens in the reply if they all agree. Fix for upstream defect 6, where
 * `"0.0, not 1.0"` scored 1 because any `1.0` substring won; here that reply is contradictory → null.
 */
export function readVerdict(reply: string): number | null {
  let text = visibleText(reply).trim();
  const boxes = boxContents(text);
  if (boxes.length > 0) text = boxes[boxes.length - 1].trim();
  text = text.replace(/^(?:score|verdict|answer|judgement|judgment)\s*[:：]\s*/i, "").replace(/[.。!]+$/, "");
  const plain = Number(text);
  if (text !== "" && Number.isFinite(plain)) return plain >= 0 && plain <= 1 ? plain : null;
  const lower = text.toLowerCase();
  if (lower === "correct" || lower === "true" || lower === "yes") return 1;
  if (lower === "incorrect" || lower === "false" || lower === "no") return 0;
  let found: number | null = null;
  for (const m of text.matchAll(VERDICT_TOKEN)) {
    const v = m[1] !== undefined ? (Number(m[1]) === 1 ? 1 : 0) : m[2].toLowerCase() === "correct" ? 1 : 0;
    if (found !== null && found !== v) return null;
    found = v;
  }
  return found;
}

/** Limits how many promises run at once. */
export class ConcurrencyLimit {
  readonly limit: number;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(limit: number) {
    this.limit = Math.max(1, Math.floor(limit));
  }
  /** Runs `task` when a slot is free. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** The outcome of one judge call. */
export type JudgeReply =
  | { ok: true; endpoint: JudgeEndpoint; text: string }
  | { ok: false; endpoint: JudgeEndpoint; error: Error };

/** An LLM judge over one or more endpoints. */
export class LlmJudge {
  readonly settings: JudgeSettings;
  private readonly transport: JudgeTransport;
  private readonly limit: ConcurrencyLimit;

  constructor(settings: JudgeSettings, transport: JudgeTransport = postChatCompletion) {
    this.settings = settings;
    this.transport = transport;
    this.limit = new ConcurrencyLimit(settings.concurrency);
  }

  /** Calls one endpoint, retrying failed calls; never throws (a failure is returned as a reply). */
  async call(endpoint: JudgeEndpoint, prompt: string): Promise<JudgeReply> {
    const s = this.settings;
    let lastError: Error = new JudgeHttpError("no attempt made");
    for (let attempt = 0; attempt <= s.retries; attempt++) {
      if (attempt > 0 && s.retryDelayMs > 0)
        await new Promise((r) => setTimeout(r, s.retryDelayMs * 2 ** (attempt - 1)));
      try {
        const text = await this.limit.run(() =>
          this.transport({
            url: endpoint.url,
            apiKey: endpoint.apiKey,
            model: endpoint.model,
            prompt,
            maxTokens: s.maxTokens,
            temperature: s.temperature,
            topP: s.topP,
            timeoutMs: s.timeoutMs,
          }),
        );
        return { ok: true, endpoint, text };
      } catch (error) {
        lastError = error as Error;
        // A client error other than rate limiting will not get better by retrying.
        if (
          error instanceof JudgeHttpError &&
          error.status !== null &&
          error.status < 500 &&
          error.status !== 429
        )
          break;
      }
    }
    return { ok: false, endpoint, error: lastError };
  }

  /** The filled prompt for one item. */
  prompt(question: string, predict: string, label: string): string {
    return fillPrompt(this.settings.promptTemplate, { question, predict, label });
  }

  /** Asks every endpoint (or only the first, with `single`) concurrently. */
  async ask(question: string, predict: string, label: string, single = false): Promise<JudgeReply[]> {
    const prompt = this.prompt(question, predict, label);
    const endpoints = single ? this.settings.endpoints.slice(0, 1) : this.settings.endpoints;
    return Promise.all(endpoints.map((e) => this.call(e, prompt)));
  }

  /**
   * Majority vote: each readable verdict is a vote; the reward is 1 when the votes sum to more than half of
   * the judges that answered, else 0. Failed calls and unreadable replies do not vote and are reported; when
   * no judge voted, throws JudgeUnavailableError (the item is then scored as an error, not a silent 0).
   */
  async vote(question: string, predict: string, label: string, single = false): Promise<Verdict> {
    const replies = await this.ask(question, predict, label, single);
    return tally(replies);
  }
}

/** Counts the votes of judge replies (see LlmJudge.vote). */
export function tally(replies: JudgeReply[]): Verdict {
  const votes: number[] = [];
  const problems: string[] = [];
  for (const r of replies) {
    if (!r.ok) {
      problems.push(r.error.message);
      continue;
    }
    const v = readVerdict(r.text);
    if (v === null)
      problems.push(`unreadable verdict from ${r.endpoint.model}: ${JSON.stringify(r.text.slice(0, 80))}`);
    else votes.push(v);
  }
  if (votes.length === 0) throw new JudgeUnavailableError(`no judge gave a verdict: ${problems.join("; ")}`);
  const sum = votes.reduce((a, b) => a + b, 0);
  const verdict: Verdict = { reward: sum > votes.length / 2 ? 1 : 0, decidedBy: "llm" };
  if (problems.length > 0)
    verdict.detail = `${votes.length}/${replies.length} judges voted; ${problems.join("; ")}`;
  return verdict;
}
