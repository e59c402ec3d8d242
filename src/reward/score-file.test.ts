import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { defaultRewardConfig } from "./config.ts";
import { RewardSystem } from "./pipeline.ts";
import { scoreJsonlFile, scoreLine, wrapPlainGroundTruth } from "./score-file.ts";

const gated = (x: string) => `<think>r</think><answer><|begin_of_box|>${x}<|end_of_box|></answer>`;
const row = (i: number) =>
  JSON.stringify({
    prompt: `p${i}`,
    response: gated(String(i % 3)),
    gt: String(i % 2),
    datasource: "counting",
    id: i,
  });

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "glmv-score-"));
});
after(() => rm(dir, { recursive: true, force: true }));

test("scoreLine: input object plus reward, extractions and decided_by; bad lines are the minimum", async () => {
  const s = new RewardSystem(defaultRewardConfig({}));
  const ok = await scoreLine(
    s,
    JSON.stringify({ prompt: "q", response: gated("1.5"), gt: "3/2", datasource: "math", x: 1 }),
    1,
  );
  assert.deepEqual(JSON.parse(ok.json), {
    prompt: "q",
    response: gated("1.5"),
    gt: "3/2",
    datasource: "math",
    x: 1,
    reward: 1,
    extracted_answer: "1.5",
    extracted_gt: "3/2",
    decided_by: "rule",
  });
  const bad = await scoreLine(s, "{oops", 7);
  assert.match(bad.problem ?? "", /^line 7: invalid JSON/);
  assert.deepEqual([JSON.parse(bad.json).reward, JSON.parse(bad.json).decided_by], [0, "error"]);
  const missing = await scoreLine(s, JSON.stringify({ response: "x", datasource: "math" }), 3);
  assert.match(missing.problem ?? "", /line 3: missing or invalid field\(s\) gt/);
  const unknown = await scoreLine(s, JSON.stringify({ response: "x", gt: "y", datasource: "nope" }), 4);
  assert.match(unknown.problem ?? "", /line 4: unknown datasource "nope"/);
  assert.equal(wrapPlainGroundTruth("5"), gated("5").replace("<think>r", "<think>"));
});

async function runFile(name: string, lines: string[], workers: number, extra: { restart?: boolean } = {}) {
  const input = join(dir, `${name}.jsonl`);
  const output = join(dir, `${name}.out.jsonl`);
  await writeFile(input, `${lines.join("\n")}\n`);
  const problems: string[] = [];
  const summary = await scoreJsonlFile({
    config: defaultRewardConfig({}),
    input,
    output,
    workers,
    chunkSize: 1,
    onProblem: (p) => problems.push(p),
    ...extra,
  });
  return { summary, problems, output, input };
}

test("scoreJsonlFile keeps input order, reports bad lines by number, and never stops", async () => {
  const lines = Array.from({ length: 40 }, (_, i) => row(i));
  lines[12] = "not json";
  const { summary, problems, output } = await runFile("order", lines, 0);
  assert.equal(summary.scored, 40);
  assert.deepEqual(
    problems.map((p) => p.split(":")[0]),
    ["line 13"],
  );
  const out = (await readFile(output, "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(out.length, 40);
  out.forEach((o, i) => {
    if (i === 12) assert.deepEqual([o.line, o.reward, o.decided_by], [13, 0, "error"]);
    else assert.deepEqual([o.id, o.reward], [i, i % 3 === i % 2 ? 1 : 0]);
  });
});

test("scoreJsonlFile resumes after the complete lines already written (a partial last line is redone)", async () => {
  const lines = Array.from({ length: 30 }, (_, i) => row(i));
  const first = await runFile("resume", lines, 0);
  const full = await readFile(first.output, "utf8");
  const kept = full.split("\n").slice(0, 10).join("\n");
  await writeFile(first.output, `${kept}\n{"partial":`);
  const second = await scoreJsonlFile({
    config: defaultRewardConfig({}),
    input: first.input,
    output: first.output,
    workers: 0,
  });
  assert.equal(second.resumed, 10);
  assert.equal(second.scored, 20);
  assert.equal(await readFile(first.output, "utf8"), full);
});

test("scoreJsonlFile over worker threads gives the same file as the calling thread", async () => {
  const lines = Array.from({ length: 50 }, (_, i) => row(i));
  const inline = await runFile("inline", lines, 0);
  const threaded = await runFile("threads", lines, 2);
  assert.equal(threaded.summary.scored, 50);
  assert.equal(await readFile(threaded.output, "utf8"), await readFile(inline.output, "utf8"));
});

test("scoreLine appends the fields to the original text, or re-serialises when a field already exists", async () => {
  const s = new RewardSystem(defaultRewardConfig({}));
  const text = `{"response": "${gated("5").replace(/"/g, '\\"')}",  "gt": "5", "datasource": "counting", "n": 1.50 }`;
  const out = await scoreLine(s, text, 1);
  assert.ok(out.json.startsWith(text.slice(0, -2)), "the input text is kept as written");
  assert.deepEqual(JSON.parse(out.json).reward, 1);
  const clash = await scoreLine(
    s,
    JSON.stringify({ response: gated("5"), gt: "5", datasource: "counting", reward: 9 }),
    1,
  );
  assert.equal(JSON.parse(clash.json).reward, 1);
  assert.equal(clash.json.match(/"reward"/g)?.length, 1);
});
