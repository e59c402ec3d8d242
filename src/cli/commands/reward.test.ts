import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { main } from "../main.ts";
import { captureIO } from "../testing.ts";

const response = "<think>three halves</think><answer><|begin_of_box|>\\frac{3}{2}<|end_of_box|></answer>";

test("glmv reward check prints the reward, both extractions and how it was decided", async () => {
  const cap = captureIO();
  const code = await main(
    ["reward", "check", "--datasource", "math", "--response", response, "--gt", "1.5", "--no-judge"],
    cap.io,
  );
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(cap.out()), {
    reward: 1,
    extracted_answer: "\\frac{3}{2}",
    extracted_gt: "1.5",
    decided_by: "rule",
  });
  const bad = captureIO();
  await main(["reward", "check", "--datasource", "math", "--response", "3/2", "--gt", "1.5"], bad.io);
  assert.deepEqual(JSON.parse(bad.out()), {
    reward: 0,
    extracted_answer: null,
    extracted_gt: null,
    decided_by: "format",
  });
  assert.match(bad.err(), /note: response not in the <think>/);
});

test("glmv reward: usage errors exit 2 with a hint", async () => {
  const cap = captureIO();
  assert.equal(await main(["reward", "check", "--datasource", "math", "--gt", "1"], cap.io), 2);
  assert.match(cap.err(), /--response is required/);
  const unknown = captureIO();
  assert.equal(
    await main(["reward", "check", "--datasource", "nope", "--gt", "1", "--response", "x"], unknown.io),
    2,
  );
  assert.match(unknown.err(), /unknown datasource "nope"/);
  const sub = captureIO();
  assert.equal(await main(["reward", "frob"], sub.io), 2);
  const help = captureIO();
  assert.equal(await main(["reward", "--help"], help.io), 0);
  assert.match(help.out(), /glmv reward score --input/);
});

test("glmv reward score with a YAML config scores a file and reports bad lines", async () => {
  const dir = await mkdtemp(join(tmpdir(), "glmv-reward-cli-"));
  try {
    const config = join(dir, "cfg.yaml");
    await writeFile(
      config,
      "datasource_reward_config_mapping:\n  mathvista: m\nreward_configs:\n  m:\n    verifier_type: math\n    sympy_tolerance: 1.0e-6\n",
    );
    const input = join(dir, "in.jsonl");
    const output = join(dir, "out.jsonl");
    const lines = [
      JSON.stringify({ prompt: "q", response, gt: "1.5", datasource: "mathvista" }),
      "{broken",
      JSON.stringify({ prompt: "q", response, gt: "2", datasource: "mathvista" }),
    ];
    await writeFile(input, `${lines.join("\n")}\n`);
    const cap = captureIO();
    const code = await main(
      ["reward", "score", "--config", config, "--input", input, "--output", output, "--workers", "0"],
      cap.io,
    );
    assert.equal(code, 0);
    const out = (await readFile(output, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      out.map((o) => o.reward),
      [1, 0, 0],
    );
    assert.deepEqual(
      out.map((o) => o.decided_by),
      ["rule", "error", "rule"],
    );
    assert.match(cap.err(), /line 2: invalid JSON/);
    assert.match(cap.err(), /scored 3 lines/);
    const badConfig = join(dir, "bad.yaml");
    await writeFile(badConfig, "datasource_reward_config_mapping: {a: missing}\nreward_configs: {}\n");
    const bad = captureIO();
    assert.equal(
      await main(["reward", "score", "--config", badConfig, "--input", input, "--output", output], bad.io),
      2,
    );
    assert.match(bad.err(), /datasource_reward_config_mapping\.a/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("glmv reward score draws a progress bar when stderr is a terminal", async () => {
  const dir = await mkdtemp(join(tmpdir(), "glmv-reward-tty-"));
  try {
    const input = join(dir, "in.jsonl");
    const output = join(dir, "out.jsonl");
    const line = JSON.stringify({ prompt: "q", response, gt: "1.5", datasource: "math" });
    await writeFile(input, `${Array.from({ length: 5 }, () => line).join("\n")}\n`);
    const cap = captureIO();
    Object.assign(cap.io.stderr, { isTTY: true });
    assert.equal(
      await main(["reward", "score", "--input", input, "--output", output, "--workers", "0"], cap.io),
      0,
    );
    assert.match(cap.err(), /\r\[#{30}\] 100% 5\/5 lines/);
    const plain = captureIO();
    await main(
      ["reward", "score", "--input", input, "--output", output, "--restart", "--workers", "0"],
      plain.io,
    );
    assert.doesNotMatch(plain.err(), /\r/, "no bar when stderr is not a terminal");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
