import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, test } from "node:test";
import { writeTinyModel } from "../../engines/tiny/model.ts";
import { main } from "../main.ts";

const SCRIPT = "<think>I see a cat.</think>The cat is at <|begin_of_box|>[250,100,750,900]<|end_of_box|>.";
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "glmv-run-"));
  writeTinyModel(dir, { script: SCRIPT });
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function glmv(args: string[], stdinText = "") {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  stdin.end(stdinText);
  let out = "";
  let err = "";
  stdout.on("data", (c) => (out += c));
  stderr.on("data", (c) => (err += c));
  const code = await main(args, { stdin, stdout, stderr });
  return { code, out, err };
}

test("glmv run --json returns reasoning, content, boxes, usage and finish reason", async () => {
  const { code, out, err } = await glmv(["run", "-m", dir, "-t", "1", "--json", "Where is the cat?"]);
  assert.equal(code, 0, err);
  const result = JSON.parse(out);
  assert.equal(result.reasoning, "I see a cat.");
  assert.equal(result.content, "The cat is at <|begin_of_box|>[250,100,750,900]<|end_of_box|>.");
  assert.deepEqual(result.boxes, [{ x1: 250, y1: 100, x2: 750, y2: 900 }]);
  assert.deepEqual(result.tool_calls, []);
  assert.equal(result.finish_reason, "stop");
  assert.equal(result.thinking_truncated, false);
  assert.ok(result.usage.prompt_tokens > 0);
  assert.ok(result.usage.completion_tokens > 0);
  assert.equal(typeof result.timings.decodeTokensPerSecond, "number");
});

test("glmv run streams the reasoning, then the answer, then the boxes", async () => {
  const { code, out } = await glmv(["run", "-m", dir, "-t", "1", "Where is the cat?"]);
  assert.equal(code, 0);
  assert.equal(
    out,
    "[thinking] I see a cat.\n[answer] The cat is at <|begin_of_box|>[250,100,750,900]<|end_of_box|>.\n" +
      "box 1 [250,100,750,900] (thousandths)\n",
  );
});

test("glmv run --hide-thinking prints only the answer; the prompt can come from stdin", async () => {
  const { code, out } = await glmv(["run", "-m", dir, "-t", "1", "--hide-thinking", "-"], "Where?\n");
  assert.equal(code, 0);
  assert.match(out, /^The cat is at/);
  assert.doesNotMatch(out, /I see a cat/);
});

test("glmv run --max-tokens stops early with finish_reason length", async () => {
  const { code, out } = await glmv(["run", "-m", dir, "-t", "1", "--json", "--max-tokens", "3", "Hi"]);
  assert.equal(code, 0);
  const result = JSON.parse(out);
  assert.equal(result.finish_reason, "length");
  assert.equal(result.usage.completion_tokens, 3);
});

test("glmv run refuses bad usage with exit code 2 and a hint", async () => {
  const noPrompt = await glmv(["run", "-m", dir]);
  assert.equal(noPrompt.code, 2);
  assert.match(noPrompt.err, /missing the prompt/);
  const mixed = await glmv(["run", "-m", dir, "--image", "a.png", "--video", "b.mp4", "Hi"]);
  assert.equal(mixed.code, 2);
  assert.match(mixed.err, /images and a video cannot be combined/);
  const badNumber = await glmv(["run", "-m", dir, "--max-tokens", "lots", "Hi"]);
  assert.equal(badNumber.code, 2);
  assert.match(badNumber.err, /--max-tokens takes a whole number/);
});

test("glmv run names a missing model file clearly", async () => {
  const { code, err } = await glmv(["run", "-m", join(dir, "nope.gguf"), "Hi"]);
  assert.equal(code, 1);
  assert.match(err, /nope\.gguf/);
});
