/**
 * Scoring a JSONL file of rollouts (the I/O edge behind `glmv reward score`): worker threads over all cores,
 * input order kept, resumable, bad lines reported with their line numbers and scored as the minimum.
 */
import { createReadStream } from "node:fs";
import { open, stat, truncate } from "node:fs/promises";
import { availableParallelism } from "node:os";
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

const ADDED_KEYS = ["reward", "extracted_answer", "extracted_gt", "decided_by"];

/**
 * The output line for an input object given as its JSON text: the four fields are appended to the original
 * text (long responses are not re-serialised) unless the object already has one of them.
 */
function appendFields(
  text: string,
  item: Record<string, unknown>,
  reward: number,
  a: unknown,
  g: unknown,
  decidedBy: string,
): string {
  const body = text.trimEnd();
  if (!body.endsWith("}") || ADDED_KEYS.some((k) => k in item))
    return outputLine(item, reward, a, g, decidedBy);
  const head = body.slice(0, -1).trimEnd();
  const fields =
    `"reward":${JSON.stringify(reward)},"extracted_answer":${JSON.stringify(a ?? null)},` +
    `"extracted_gt":${JSON.stringify(g ?? null)},"decided_by":${JSON.stringify(decidedBy)}}`;
  return head.endsWith("{") ? `${head}${fields}` : `${head},${fields}`;
}

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
      json: appendFields(text, item, reward, outcome.extractedAnswer, outcome.extractedGt, outcome.decidedBy),
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

/** What scoring one chunk of input gives back. */
export interface ChunkResult {
  /** The output lines, each followed by a newline. */
  text: string;
  count: number;
  rewardSum: number;
  problems: string[];
}

/**
 * Scores a chunk of raw JSONL bytes (whole lines; a final newline optional) on the calling thread.
 * `startLine` is the 1-based number of its first line.
 */
export async function scoreChunk(
  system: RewardSystem,
  startLine: number,
  bytes: Uint8Array,
): Promise<ChunkResult> {
  const text = new TextDecoder().decode(bytes);
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const scored = await Promise.all(
    lines.map((line, i) => {
      const clean = line.endsWith("\r") ? line.slice(0, -1) : line;
      return scoreLine(system, clean, startLine + i);
    }),
  );
  let out = "";
  let rewardSum = 0;
  const problems: string[] = [];
  for (const s of scored) {
    out += `${s.json}\n`;
    rewardSum += s.reward;
    if (s.problem) problems.push(s.problem);
  }
  return { text: out, count: scored.length, rewardSum, problems };
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
  run(id: number, startLine: number, bytes: Uint8Array): Promise<ChunkResult> {
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // The bytes are transferred, not copied.
      this.workers[this.next++ % this.workers.length].postMessage({ id, startLine, bytes }, [
        bytes.buffer as ArrayBuffer,
      ]);
    });
  }
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function countNewlines(buf: Uint8Array, from = 0, to = buf.length): number {
  let n = 0;
  for (let i = buf.indexOf(10, from); i >= 0 && i < to; i = buf.indexOf(10, i + 1)) n++;
  return n;
}

/** Scores a JSONL file into another (see the module comment). */
export async function scoreJsonlFile(options: ScoreFileOptions): Promise<ScoreFileSummary> {
  const started = performance.now();
  const inputBytes = (await stat(options.input)).size;
  const workers =
    options.workers ?? Math.min(availableParallelism(), Math.max(1, Math.ceil(inputBytes / 2 ** 20)));
  const chunkBytes = (options.chunkSize ?? 256) * 1024; // about chunkSize lines of 1 KiB
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
    if (r.text) await out.write(r.text);
    summary.scored += r.count;
    summary.rewardSum += r.rewardSum;
    summary.problems += r.problems.length;
    for (const p of r.problems) options.onProblem?.(p);
    options.onProgress?.(resumed + summary.scored, total, resumed);
  };
  try {
    let id = 0;
    let nextLine = 1; // number of the first line of the pending bytes
    let toSkip = resumed;
    let carry: Uint8Array = new Uint8Array(0);
    const submit = async (bytes: Uint8Array) => {
      if (bytes.length === 0) return;
      const lines = countNewlines(bytes) + (bytes[bytes.length - 1] === 10 ? 0 : 1);
      const own =
        bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
      inFlight.push(pool ? pool.run(id++, nextLine, own) : scoreChunk(local!, nextLine, own));
      nextLine += lines;
      if (inFlight.length >= maxInFlight) await flush();
    };
    for await (const piece of createReadStream(options.input, {
      highWaterMark: chunkBytes,
    }) as AsyncIterable<Buffer>) {
      let data: Uint8Array = carry.length ? Buffer.concat([carry, piece]) : piece;
      while (toSkip > 0 && data.length > 0) {
        const nl = data.indexOf(10);
        if (nl < 0) break;
        data = data.subarray(nl + 1);
        toSkip--;
        nextLine++;
      }
      if (toSkip > 0) {
        carry = data.length ? Uint8Array.from(data) : new Uint8Array(0);
        continue;
      }
      const last = data.lastIndexOf(10);
      if (last < 0) {
        carry = Uint8Array.from(data);
        continue;
      }
      carry = Uint8Array.from(data.subarray(last + 1));
      await submit(Uint8Array.from(data.subarray(0, last + 1)));
    }
    if (toSkip === 0) await submit(carry);
    while (inFlight.length) await flush();
  } finally {
    await out.close();
    await pool?.close();
  }
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}
