import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import {
  defaultRewardConfig,
  parseRewardConfigYaml,
  type RewardConfig,
  withoutJudges,
} from "../../reward/config.ts";
import { RewardConfigError } from "../../reward/errors.ts";
import { RewardSystem } from "../../reward/pipeline.ts";
import { scoreJsonlFile, wrapPlainGroundTruth } from "../../reward/score-file.ts";
import { type Command, type CommandIO, UsageError } from "../command.ts";

const HELP = `Usage: glmv reward check --datasource D --response TEXT --gt TEXT [--question Q] [--config cfg.yaml] [--no-judge]
       glmv reward score --input rollouts.jsonl --output scored.jsonl [--config cfg.yaml] [--no-judge]
                         [--workers N] [--restart]

Scores RL rollouts with GLM-V's reward verifiers (math, physics, chemistry, chart, counting, ocr, vqa, mmsi,
geoquest, GUI actions, grounding, language mix …), exactly as the training pipeline does: the response must
be <think>…</think><answer>…</answer> with one <|begin_of_box|> answer. A plain ground truth (no <think>) is
taken as the boxed answer.

check   scores one response and prints
        {"reward": number, "extracted_answer": …, "extracted_gt": …, "decided_by": "rule"|"llm"|"format"|"error"}
score   scores a JSONL file whose lines are {"prompt", "response", "gt", "datasource", "image"?}; each output
        line is the input object plus reward, extracted_answer, extracted_gt and decided_by, in input order.
        Uses every core (worker threads), shows a progress bar on a terminal, and resumes after the lines
        already in --output (use --restart to start over). A bad line is reported with its line number on
        stderr and scored as the minimum; the run goes on.

Options:
  --datasource D   which reward config scores the item (see datasource_reward_config_mapping)
  --response TEXT  the model's response (check)
  --gt TEXT        the ground truth (check)
  --question Q     the prompt, sent to the LLM judge (check)
  --input FILE     rollouts to score (score)
  --output FILE    where scored lines go (score)
  --config FILE    a reward config in glmv_reward's YAML schema; default: the built-in config, which maps
                   every datasource name to its verifier and turns the LLM judge on only when GLMV_JUDGE_URL
                   (plus GLMV_JUDGE_API_KEY, GLMV_JUDGE_MODEL) is set
  --no-judge       turn every LLM judge off: verifiers decide by rules alone (decided_by "rule")
  --workers N      worker threads (default: every core, ${availableParallelism()} here, at most one per MiB of
                   input; 0 = this thread)
  --restart        overwrite --output instead of resuming
  -h, --help       this text

Examples:
  glmv reward check --datasource math --gt 1.5 \\
    --response '<think>3 over 2</think><answer><|begin_of_box|>\\frac{3}{2}<|end_of_box|></answer>'
  GLMV_JUDGE_URL=http://127.0.0.1:8080/v1 glmv reward score --input rollouts.jsonl --output scored.jsonl
`;

async function loadConfig(path: string | undefined, noJudge: boolean): Promise<RewardConfig> {
  let config: RewardConfig;
  if (path === undefined) config = defaultRewardConfig();
  else {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      throw new UsageError(`cannot read --config ${path}: ${(error as Error).message}`);
    }
    try {
      config = parseRewardConfigYaml(text);
    } catch (error) {
      if (error instanceof RewardConfigError) throw new UsageError(`${path}: ${error.message}`);
      throw error;
    }
  }
  return noJudge ? withoutJudges(config) : config;
}

function progressBar(stderr: NodeJS.WritableStream, started: number) {
  return (done: number, total: number | null, resumed: number) => {
    const rate = (done - resumed) / Math.max(1e-3, (performance.now() - started) / 1000);
    const width = 30;
    const fraction = total ? Math.min(1, done / total) : 0;
    const filled = Math.round(fraction * width);
    const bar = total
      ? `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${Math.round(fraction * 100)}% `
      : "";
    stderr.write(`\r${bar}${done}${total ? `/${total}` : ""} lines, ${Math.round(rate)} lines/s\x1b[K`);
  };
}

async function runCheck(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      datasource: { type: "string" },
      response: { type: "string" },
      gt: { type: "string" },
      question: { type: "string" },
      config: { type: "string" },
      "no-judge": { type: "boolean" },
    },
  });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  for (const key of ["datasource", "response", "gt"] as const)
    if (values[key] === undefined) throw new UsageError(`--${key} is required`);
  const config = await loadConfig(values.config, !!values["no-judge"]);
  const system = new RewardSystem(config);
  const datasource = values.datasource!;
  let verifier: ReturnType<RewardSystem["verifierFor"]>;
  try {
    verifier = system.verifierFor(datasource);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const gt = verifier.gatesGroundTruth ? wrapPlainGroundTruth(values.gt!) : values.gt!;
  const outcome = await system.scoreItem({
    prompt: values.question ?? "",
    response: values.response!,
    gt,
    datasource,
  });
  const result = {
    reward: outcome.reward === Number.NEGATIVE_INFINITY ? 0 : outcome.reward,
    extracted_answer: outcome.extractedAnswer,
    extracted_gt: outcome.extractedGt,
    decided_by: outcome.decidedBy,
  };
  io.stdout.write(`${JSON.stringify(result)}\n`);
  if (outcome.detail && (outcome.decidedBy === "format" || outcome.decidedBy === "error"))
    io.stderr.write(`note: ${outcome.detail}\n`);
  return 0;
}

async function runScore(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      input: { type: "string" },
      output: { type: "string" },
      config: { type: "string" },
      "no-judge": { type: "boolean" },
      workers: { type: "string" },
      restart: { type: "boolean" },
    },
  });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (!values.input) throw new UsageError("--input is required (a JSONL file of rollouts)");
  if (!values.output) throw new UsageError("--output is required (where the scored JSONL goes)");
  let workers: number | undefined;
  if (values.workers !== undefined) {
    workers = Number(values.workers);
    if (!Number.isInteger(workers) || workers < 0)
      throw new UsageError("--workers must be a whole number ≥ 0");
  }
  const config = await loadConfig(values.config, !!values["no-judge"]);
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
  const started = performance.now();
  let summary: Awaited<ReturnType<typeof scoreJsonlFile>>;
  try {
    summary = await scoreJsonlFile({
      config,
      input: values.input,
      output: values.output,
      noJudge: !!values["no-judge"],
      workers,
      restart: !!values.restart,
      countLines: tty,
      onProgress: tty ? progressBar(io.stderr, started) : undefined,
      onProblem: (p) => io.stderr.write(`${tty ? "\r\x1b[K" : ""}${p}\n`),
    });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === "ENOENT") throw new UsageError(`no such file or directory: ${e.path ?? values.input}`);
    throw error;
  }
  if (tty) io.stderr.write("\n");
  const mean = summary.scored ? summary.rewardSum / summary.scored : 0;
  io.stderr.write(
    `scored ${summary.scored} lines${summary.resumed ? ` (resumed after ${summary.resumed})` : ""} in ${summary.seconds.toFixed(1)} s` +
      `, ${Math.round(summary.scored / Math.max(summary.seconds, 1e-3))} lines/s, mean reward ${mean.toFixed(4)}` +
      `${summary.problems ? `, ${summary.problems} bad line(s)` : ""} → ${values.output}\n`,
  );
  return 0;
}

/** `glmv reward`: score rollouts with GLM-V's RL verifiers (`check` one, `score` a JSONL file). */
export const rewardCommand: Command = {
  name: "reward",
  summary: "Score RL rollouts with GLM-V's reward verifiers (check one, score a JSONL file)",
  help: HELP,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const [sub, ...rest] = argv;
    if (sub === "check") return runCheck(rest, io);
    if (sub === "score") return runScore(rest, io);
    throw new UsageError(
      sub ? `unknown subcommand "${sub}" (use check or score)` : "missing subcommand: check or score",
    );
  },
};
