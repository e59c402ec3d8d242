/**
 * Reward-system benchmark: items/s per dataset of the shared deterministic rollouts
 * (../shared/bench-data/reward-rollouts.mjs), LLM judge off, against the Python original's published rates.
 *
 *   npm run bench:reward -- [--items 20000] [--runs 3] [--datasets ocr,math_numeric] [--no-cores]
 *
 * Measures, per dataset (median of --runs):
 *   direct    — the verifier's own extract + judge on the `_direct` pair (Python "verifier direct")
 *   pipeline  — getReward in batches of 16 on this thread, i.e. one core (Python "through get_reward")
 *   score xN  — `glmv reward score`'s file scorer on --score-items lines (the items repeated), with 1 worker
 *               and with every core, wall clock, worker start-up included
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { defaultRewardConfig } from "../src/reward/config.ts";
import { getReward, RewardSystem } from "../src/reward/pipeline.ts";
import { scoreJsonlFile } from "../src/reward/score-file.ts";

type Item = [string, string, string, string, string];

const DATASOURCE: Record<string, string> = {
  math_exact: "math",
  math_numeric: "math",
  androidworld: "AndroidWorld",
  osworld: "OSWorld",
  webvoyager: "WebVoyager",
};

/** The Python original's rates (items/s, one core) from the bench-data README. */
const PYTHON: Record<string, { direct: number; pipeline: number; note?: string }> = {
  ocr: { direct: 16_400, pipeline: 6_080 },
  counting: { direct: 39_800, pipeline: 10_350, note: "Python scored all 0 (defect)" },
  math_exact: { direct: 52_800, pipeline: 8_770 },
  math_numeric: { direct: 1_850, pipeline: 1_430, note: "Python with its symbolic branch working" },
  chart: { direct: 28_400, pipeline: 11_900, note: "Python scored all 0 (defect)" },
  androidworld: { direct: 53_600, pipeline: 8_960, note: "Python rate when its judge runs" },
  osworld: { direct: 23_000, pipeline: 8_810 },
  webvoyager: { direct: 31_200, pipeline: 10_600 },
  language_mix: { direct: 10_500, pipeline: 3_580 },
};

const { values } = parseArgs({
  options: {
    items: { type: "string", default: "20000" },
    "score-items": { type: "string", default: "100000" },
    runs: { type: "string", default: "3" },
    datasets: { type: "string" },
    "no-cores": { type: "boolean" },
    data: {
      type: "string",
      default: process.env.GLMV_BENCH_DATA ?? resolve(import.meta.dirname, "../../shared/bench-data"),
    },
  },
});
const n = Number(values.items);
const runs = Number(values.runs);
const names = values.datasets ? values.datasets.split(",") : Object.keys(PYTHON);

let generate: (name: string, n: number) => Item[];
try {
  ({ generate } = await import(join(values.data, "reward-rollouts.mjs")));
} catch {
  console.error(`bench:reward needs reward-rollouts.mjs in ${values.data} (set --data or GLMV_BENCH_DATA)`);
  process.exit(1);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const system = new RewardSystem(defaultRewardConfig({}), { noJudge: true });

/** A rate from both clocks: CPU seconds of this process (robust on a shared machine) and wall seconds. */
interface Rate {
  cpu: number;
  wall: number;
}
function clock() {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  return (count: number): Rate => {
    const used = process.cpuUsage(cpu);
    return {
      cpu: count / ((used.user + used.system) / 1e6),
      wall: count / ((performance.now() - wall) / 1000),
    };
  };
}

async function timeDirect(items: Item[], datasource: string): Promise<Rate> {
  const verifier = system.verifierFor(datasource);
  const stop = clock();
  let sum = 0;
  for (const [prompt, , , answer, gt] of items) {
    const g = verifier.extractGroundTruth(gt);
    const a = verifier.extractAnswer(answer);
    if (a === null || g === null) continue;
    const v = verifier.judge(a, g, { question: prompt });
    sum += v instanceof Promise ? (await v).reward : v.reward;
  }
  if (Number.isNaN(sum)) throw new Error("unreachable");
  return stop(items.length);
}

async function timePipeline(items: Item[], datasource: string): Promise<{ rate: Rate; mean: number }> {
  const stop = clock();
  let sum = 0;
  for (let i = 0; i < items.length; i += 16) {
    const batch = items.slice(i, i + 16);
    const { rewards } = await getReward(system, {
      prompts: batch.map((b) => b[0]),
      responses: batch.map((b) => b[1]),
      gts: batch.map((b) => b[2]),
      datasources: datasource,
    });
    for (const r of rewards) sum += r;
  }
  return { rate: stop(items.length), mean: sum / items.length };
}

async function timeScore(file: string, workers: number, dir: string): Promise<number> {
  const summary = await scoreJsonlFile({
    config: defaultRewardConfig({}),
    input: file,
    output: join(dir, `out-${workers}.jsonl`),
    noJudge: true,
    workers,
    restart: true,
  });
  return summary.scored / summary.seconds;
}

const cores = availableParallelism();
const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
const ratio = (x: number, y: number) => `${(x / y).toFixed(1)}×`;
console.log(`# reward benchmark: ${n} items/dataset, median of ${runs}, judge off`);
console.log(
  `# ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? "cpu"}, ${cores} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`,
);
console.log("# one-core rates are items per CPU-second of the process (wall-clock rate in brackets)");
console.log(`# score: ${values["score-items"]} lines per dataset, wall clock, 1 worker vs ${cores} workers`);
console.log(
  "| dataset | direct | Python direct | ratio | pipeline, 1 core | Python get_reward | ratio (goal ≥ 3×) | score, 1 worker (wall) | score, all cores (wall) | mean reward |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
const dir = await mkdtemp(join(tmpdir(), "glmv-bench-reward-"));
try {
  for (const name of names) {
    const items = generate(name, n);
    const datasource = DATASOURCE[name] ?? name;
    await timeDirect(items.slice(0, 500), datasource); // warm-up (JIT, lazy engines)
    await timePipeline(items.slice(0, 500), datasource);
    const direct: Rate[] = [];
    const pipeline: Rate[] = [];
    let mean = 0;
    for (let r = 0; r < runs; r++) {
      direct.push(await timeDirect(items, datasource));
      const p = await timePipeline(items, datasource);
      pipeline.push(p.rate);
      mean = p.mean;
    }
    let one = "–";
    let all = "–";
    if (!values["no-cores"]) {
      const file = join(dir, `${name}.jsonl`);
      const lines = items.map(([prompt, response, gt]) =>
        JSON.stringify({ prompt, response, gt, datasource }),
      );
      const wanted = Number(values["score-items"]);
      const repeated = Array.from({ length: wanted }, (_, i) => lines[i % lines.length]);
      await writeFile(file, `${repeated.join("\n")}\n`);
      const r1 = await timeScore(file, 1, dir);
      const rn = await timeScore(file, cores, dir);
      one = fmt(r1);
      all = `${fmt(rn)} (${(rn / r1).toFixed(2)}× of 1 worker)`;
    }
    const py = PYTHON[name];
    const d = median(direct.map((r) => r.cpu));
    const p = median(pipeline.map((r) => r.cpu));
    const pw = median(pipeline.map((r) => r.wall));
    console.log(
      `| ${name} | ${fmt(d)} | ${fmt(py.direct)} | ${ratio(d, py.direct)} | ${fmt(p)} (${fmt(pw)}) | ${fmt(py.pipeline)}${py.note ? ` (${py.note})` : ""} | ${ratio(p, py.pipeline)} | ${one} | ${all} | ${mean.toFixed(3)} |`,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
