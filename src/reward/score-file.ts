/**
 * Scoring a JSONL file of rollouts (the I/O edge behind `glmv reward score`): worker threads over all cores,
 * input order kept, resumable, bad lines reported with their line numbers and scored as the minimum.
 */
import { createReadStream } from "node:fs";
import { open, stat, truncate } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { createInterface } from "node:readline";
import { Worker } from "node:worker_threads";
import type { RewardConfig } from "./config.ts";
import { RewardSystem } from "./pipeline.ts";

/** One scored output line, and the problem with its input line if it had one. */
export interface ScoredLine {
  json: string;
  reward: number;
  problem?: string;
}

/**
 * A plain ground truth (no `<think>`) is taken as the boxed answer, so that a dataset's bare labels can be
 * scored: it becomes `<think></think><answer><|begin_of_box|>GT<|end_of_box|></answer>`. Only for verifiers
 * that gate their ground truth.
 */
export function wrapPlainGroundTruth(gt: string): string {
  return /<think>/i.test(gt) ? gt : `<think></think><answer><|begin_of_box|>${gt}<|end_of_box|></answer>`;
}

function minimumFor(system: RewardSystem, datasource: unknown): number {
  try {
    const min = system.verifierFor(String(datasource)).minReward;
    return Number.isFinite(min) ? min : 0;
  } catch {
    return 0;
  }
}

const outputLine = (
  base: Record<string, unknown>,
  reward: number,
  a: unknown,
  g: unknown,
  decidedBy: string,
) =>
  JSON.stringify({
    ...base,
    reward,
    extracted_answer: a ?? null,
    extracted_gt: g ?? null,
    decided_by: decidedBy,
  });

/**
 * Scores one input line (1-based `lineNumber`): `{prompt, response, gt, datasource, image?}` → the input object
 * plus `reward`, `extracted_answer`, `extracted_gt` and `decided_by`. Never throws.
 */
export async function scoreLine(system: RewardSystem, text: string, lineNumber: number): Promise<ScoredLine> {
  let item: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new Error("not a JSON object");
    item = parsed as Record<string, unknown>;
  } catch (error) {
    const problem = `line ${lineNumber}: invalid JSON (${(error as Error).message})`;
    return {
      json: outputLine({ line: lineNumber, error: problem }, 0, null, null, "error"),
      reward: 0,
      problem,
    };
  }
  const missing = ["response", "gt", "datasource"].filter((k) => item[k] === undefined);
  if (missing.length || typeof item.datasource !== "string") {
    const problem = `line ${lineNumber}: missing or invalid field(s) ${missing.length ? missing.join(", ") : "datasource"}`;
    const min = minimumFor(system, item.datasource);
    return { json: outputLine(item, min, null, null, "error"), reward: min, problem };
  }
  try {
    const verifier = system.verifierFor(item.datasource);
    const gt =
      typeof item.gt === "string" && verifier.gatesGroundTruth ? wrapPlainGroundTruth(item.gt) : item.gt;
    const outcome = await system.scoreItem({
      prompt: typeof item.prompt === "string" ? item.prompt : "",
      response: item.response,
      gt,
      datasource: item.datasource,
      imageFile: typeof item.image === "string" ? item.image : null,
    });
    const reward = outcome.reward === Number.NEGATIVE_INFINITY ? 0 : outcome.reward; // a batch of one
    return {
      json: outputLine(item, reward, outcome.extractedAnswer, outcome.extractedGt, outcome.decidedBy),
      reward,
    };
  } catch (error) {
    const problem = `line ${lineNumber}: ${(error as Error).message}`;
    const min = minimumFor(system, item.datasource);
    return { json: outputLine(item, min, null, null, "error"), reward: min, problem };
  }
}

/** Options of scoreJsonlFile. */
export interface ScoreFileOptions {
  config: RewardConfig;
  input: string;
  output: string;
  noJudge?: boolean;
  /**
   * Worker threads; 0 scores on the calling thread. Default: every core, but no more than one per MiB of
   * input (a worker takes a fraction of a second to start, which small files do not repay).
   */
  workers?: number;
  /** Start over instead of resuming after the lines already in the output. */
  restart?: boolean;
  /** Lines per message to a worker. */
  chunkSize?: number;
  /** Called after each chunk is written with (lines done, lines total or null, lines resumed). */
  onProgress?: (done: number, total: number | null, resumed: number) => void;
  /** Called for each bad line, in order. */
  onProblem?: (problem: string) => void;
  /** Count the input's lines first (for a progress total). */
  countLines?: boolean;
}

/** What scoreJsonlFile did. */
export interface ScoreFileSummary {
  /** Lines scored by this run. */
  scored: number;
  /** Lines already in the output and skipped (resume). */
  resumed: number;
  /** Bad lines among the scored ones. */
  problems: number;
  /** Sum of the rewards of the scored lines. */
  rewardSum: number;
  seconds: number;
}

/** Complete lines already in `path` (a partial last line is cut off); 0 when it does not exist. */
async function completeLines(path: string): Promise<number> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    return 0;
  }
  let count = 0;
  let lastNewline = -1;
  let offset = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) {
      count++;
      lastNewline = offset + i;
    }
    offset += chunk.length;
  }
  if (lastNewline + 1 < size) await truncate(path, lastNewline + 1);
  return count;
}

async function countFileLines(path: string): Promise<number> {
  let count = 0;
  let last = 10;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) count++;
    if (chunk.length) last = chunk[chunk.length - 1];
  }
  return last === 10 ? count : count + 1;
}

interface ChunkResult {
  lines: string[];
  rewards: number[];
  problems: string[];
}

/** A pool of scoring workers, each holding its own RewardSystem. */
class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<
    number,
    { resolve: (r: ChunkResult) => void; reject: (e: Error) => void }
  >();
  private next = 0;
  constructor(count: number, config: RewardConfig, noJudge: boolean) {
    for (let i = 0; i < count; i++) {
      const worker = new Worker(new URL("./score-worker.ts", import.meta.url), {
        workerData: { config, noJudge },
      });
      worker.on("message", (m: { id: number } & ChunkResult) => {
        const waiter = this.pending.get(m.id);
        this.pending.delete(m.id);
        waiter?.resolve(m);
      });
      worker.on("error", (e: Error) => {
        for (const waiter of this.pending.values()) waiter.reject(e);
        this.pending.clear();
      });
      this.workers.push(worker);
    }
  }
  run(id: number, startLine: number, lines: string[]): Promise<ChunkResult> {
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[this.next++ % this.workers.length].postMessage({ id, startLine, lines });
    });
  }
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Scores a chunk of lines on the calling thread. */
export async function scoreChunk(
  system: RewardSystem,
  startLine: number,
  lines: string[],
): Promise<ChunkResult> {
  const scored = await Promise.all(lines.map((text, i) => scoreLine(system, text, startLine + i)));
  return {
    lines: scored.map((s) => s.json),
    rewards: scored.map((s) => s.reward),
    problems: scored.flatMap((s) => (s.problem ? [s.problem] : [])),
  };
}

/** Scores a JSONL file into another (see the module comment). */
export async function scoreJsonlFile(options: ScoreFileOptions): Promise<ScoreFileSummary> {
  const started = performance.now();
  const inputBytes = (await stat(options.input)).size;
  const workers =
    options.workers ?? Math.min(availableParallelism(), Math.max(1, Math.ceil(inputBytes / 2 ** 20)));
  const chunkSize = options.chunkSize ?? 256;
  const resumed = options.restart ? 0 : await completeLines(options.output);
  const total = options.countLines ? await countFileLines(options.input) : null;
  const out = await open(options.output, options.restart || resumed === 0 ? "w" : "a");
  const pool = workers > 0 ? new WorkerPool(workers, options.config, !!options.noJudge) : null;
  const local = pool ? null : new RewardSystem(options.config, { noJudge: options.noJudge });
  const summary: ScoreFileSummary = { scored: 0, resumed, problems: 0, rewardSum: 0, seconds: 0 };
  const inFlight: Promise<ChunkResult>[] = [];
  const maxInFlight = Math.max(2, workers * 3);
  const flush = async () => {
    const r = await inFlight.shift()!;
    await out.write(r.lines.length ? `${r.lines.join("\n")}\n` : "");
    summary.scored += r.lines.length;
    for (const reward of r.rewards) summary.rewardSum += reward;
    summary.problems += r.problems.length;
    for (const p of r.problems) options.onProblem?.(p);
    options.onProgress?.(resumed + summary.scored, total, resumed);
  };
  try {
    const rl = createInterface({
      input: createReadStream(options.input),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    let lineNumber = 0;
    let chunk: string[] = [];
    let chunkStart = resumed + 1;
    let id = 0;
    const submit = async () => {
      if (chunk.length === 0) return;
      const lines = chunk;
      chunk = [];
      inFlight.push(pool ? pool.run(id++, chunkStart, lines) : scoreChunk(local!, chunkStart, lines));
      chunkStart += lines.length;
      if (inFlight.length >= maxInFlight) await flush();
    };
    for await (const line of rl) {
      lineNumber++;
      if (lineNumber <= resumed) continue;
      chunk.push(line);
      if (chunk.length >= chunkSize) await submit();
    }
    await submit();
    while (inFlight.length) await flush();
  } finally {
    await out.close();
    await pool?.close();
  }
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}
