import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { locateLibraries } from "../../engines/embedded/libraries.ts";
import { writeTinyMmproj } from "../../engines/embedded/vision/tinyMmproj.ts";
import { writeTinyModel } from "../../engines/tiny/model.ts";
import { makeImage, makePdf, makeVideo } from "../../media/test-media.ts";
import { runGlmv } from "../testing.ts";

const SCRIPT = "<think>I see a cat.</think>The cat is at <|begin_of_box|>[250,100,750,900]<|end_of_box|>.";
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "glmv-run-"));
  const { description } = writeTinyModel(dir, { script: SCRIPT });
  writeTinyMmproj(join(dir, "mmproj.gguf"), { textEmbeddingLength: description.shape.embd, seed: 7 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("glmv run --json returns reasoning, content, boxes, usage and finish reason", async () => {
  const { code, out, err } = await runGlmv(["run", "-m", dir, "-t", "1", "--json", "Where is the cat?"]);
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
  assert.match(result.devices[0], /^CPU \(/);
});

test("glmv run --device gpu without a GPU build fails with the npm install to run", async (t) => {
  if (process.env.GLMV_LLAMA_LIB_DIR || process.platform !== "linux" || process.arch !== "x64") {
    return t.skip("checks the linux-x64 packages");
  }
  if (locateLibraries("auto").gpuBackend) return t.skip("a GPU package is installed here");
  const { code, out, err } = await runGlmv(["run", "-m", dir, "-t", "1", "--device", "gpu", "Hi"]);
  assert.equal(code, 1);
  assert.equal(out, "");
  assert.match(err, /npm install --save-exact @node-llama-cpp\/linux-x64-cuda@3\.21\.1/);
});

test("glmv run streams the reasoning, then the answer, then the boxes", async () => {
  const { code, out } = await runGlmv(["run", "-m", dir, "-t", "1", "Where is the cat?"]);
  assert.equal(code, 0);
  assert.equal(
    out,
    "[thinking] I see a cat.\n[answer] The cat is at <|begin_of_box|>[250,100,750,900]<|end_of_box|>.\n" +
      "box 1 [250,100,750,900] (thousandths)\n",
  );
});

test("glmv run --hide-thinking prints only the answer; the prompt can come from stdin", async () => {
  const { code, out } = await runGlmv(["run", "-m", dir, "-t", "1", "--hide-thinking", "-"], "Where?\n");
  assert.equal(code, 0);
  assert.match(out, /^The cat is at/);
  assert.doesNotMatch(out, /I see a cat/);
});

test("glmv run --max-tokens stops early with finish_reason length", async () => {
  const { code, out } = await runGlmv(["run", "-m", dir, "-t", "1", "--json", "--max-tokens", "3", "Hi"]);
  assert.equal(code, 0);
  const result = JSON.parse(out);
  assert.equal(result.finish_reason, "length");
  assert.equal(result.usage.completion_tokens, 3);
});

test("glmv run refuses bad usage with exit code 2 and a hint", async () => {
  const noPrompt = await runGlmv(["run", "-m", dir]);
  assert.equal(noPrompt.code, 2);
  assert.match(noPrompt.err, /missing the prompt/);
  const mixed = await runGlmv(["run", "-m", dir, "--image", "a.png", "--video", "b.mp4", "Hi"]);
  assert.equal(mixed.code, 2);
  assert.match(mixed.err, /images and a video cannot be combined/);
  const badNumber = await runGlmv(["run", "-m", dir, "--max-tokens", "lots", "Hi"]);
  assert.equal(badNumber.code, 2);
  assert.match(badNumber.err, /--max-tokens takes a whole number/);
});

test("glmv run names a missing model file clearly", async () => {
  const { code, err } = await runGlmv(["run", "-m", join(dir, "nope.gguf"), "Hi"]);
  assert.equal(code, 1);
  assert.match(err, /nope\.gguf/);
});

test("glmv run --image gives boxes in pixels of the original image", async () => {
  const image = join(dir, "photo.png");
  writeFileSync(image, await makeImage("png", 200, 100));
  const { code, out, err } = await runGlmv([
    "run",
    "-m",
    dir,
    "-t",
    "1",
    "--json",
    "--image",
    image,
    "Where?",
  ]);
  assert.equal(code, 0, err);
  const result = JSON.parse(out);
  assert.deepEqual(result.boxes, [
    { x1: 250, y1: 100, x2: 750, y2: 900, pixels: { x1: 50, y1: 10, x2: 150, y2: 90 } },
  ]);
  assert.ok(result.timings.visionMs > 0);
  assert.ok(result.usage.prompt_tokens > 20, "the image's tokens are part of the prompt");
});

test("glmv run takes a video and a PDF through the media pipeline", async () => {
  const video = await makeVideo(dir, { seconds: 2, fps: 4 });
  const fromVideo = await runGlmv(["run", "-m", dir, "-t", "1", "--json", "--video", video, "What happens?"]);
  assert.equal(fromVideo.code, 0, fromVideo.err);
  assert.equal(JSON.parse(fromVideo.out).finish_reason, "stop");
  const pdf = join(dir, "doc.pdf");
  writeFileSync(pdf, await makePdf(2, [120, 160]));
  const fromPdf = await runGlmv(["run", "-m", dir, "-t", "1", "--json", "--file", pdf, "Summarise"]);
  assert.equal(fromPdf.code, 0, fromPdf.err);
  assert.ok(JSON.parse(fromPdf.out).usage.prompt_tokens > JSON.parse(fromVideo.out).usage.prompt_tokens / 10);
});

test("glmv run explains a file that is not an image", async () => {
  const bogus = join(dir, "notes.png");
  writeFileSync(bogus, "just some text, not a picture");
  const { code, err } = await runGlmv(["run", "-m", dir, "-t", "1", "--image", bogus, "What?"]);
  assert.equal(code, 1);
  assert.match(err, /notes\.png/);
});

test("a prompt longer than --context-size is refused with the flag to raise", async () => {
  const long = "hello ".repeat(400);
  const { code, err } = await runGlmv(["run", "-m", dir, "-t", "1", "-c", "256", long]);
  assert.equal(code, 1);
  assert.match(err, /--context-size/);
});

test("Ctrl-C stops the answer: what was generated stays printed, exit code 130", async () => {
  const loopDir = join(dir, "loop");
  writeTinyModel(loopDir, { script: "again and", loop: true });
  const child = spawn(process.execPath, [
    "bin/glmv.ts",
    "run",
    "-m",
    loopDir,
    "-t",
    "1",
    "--no-thinking",
    "Go",
  ]);
  let out = "";
  let err = "";
  child.stderr.on("data", (c) => (err += c));
  await new Promise<void>((resolve) => {
    child.stdout.on("data", (c) => {
      out += c;
      if (out.length > 0) resolve();
    });
  });
  child.kill("SIGINT");
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  assert.equal(code, 130);
  assert.match(out, /again/);
  assert.match(err, /stopped by Ctrl-C/);
});
