import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  buildEngineCommand,
  checkEngineInstalled,
  defaultServedName,
  EngineNotInstalledError,
  EngineStartError,
  launchEngine,
} from "./launcher.ts";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("engine command lines", () => {
  it("builds the recommended vLLM command for GLM-4.5V on 4 GPUs", () => {
    const cmd = buildEngineCommand({ engine: "vllm", model: "zai-org/GLM-4.5V", tp: 4, port: 8123 });
    assert.equal(cmd.command, "vllm");
    assert.deepEqual(cmd.args, [
      "serve",
      "zai-org/GLM-4.5V",
      "--served-model-name",
      "glm-4.5v",
      "--host",
      "127.0.0.1",
      "--port",
      "8123",
      "--tensor-parallel-size",
      "4",
      "--tool-call-parser",
      "glm45",
      "--reasoning-parser",
      "glm45",
      "--enable-auto-tool-choice",
      "--mm-encoder-tp-mode",
      "data",
      "--mm-processor-cache-type",
      "shm",
      "--media-io-kwargs",
      '{"video": {"num_frames": -1}}',
      "--enable-expert-parallel",
    ]);
    assert.equal(cmd.healthUrl, "http://127.0.0.1:8123/health");
    assert.equal(cmd.baseUrl, "http://127.0.0.1:8123/v1");
  });

  it("adds the media path, MTP for GLM-OCR, no expert parallelism for the dense Flash, and extra args", () => {
    const ocr = buildEngineCommand({
      engine: "vllm",
      model: "zai-org/GLM-OCR",
      allowedMediaPath: "/data/media",
    });
    assert.ok(ocr.args.join(" ").includes("--allowed-local-media-path /data/media"));
    assert.ok(ocr.args.includes("--speculative-config"));
    const flash = buildEngineCommand({
      engine: "vllm",
      model: "zai-org/GLM-4.6V-Flash",
      tp: 2,
      extraArgs: ["--max-model-len", "65536"],
    });
    assert.ok(!flash.args.includes("--enable-expert-parallel"));
    assert.deepEqual(flash.args.slice(-2), ["--max-model-len", "65536"]);
    assert.equal(defaultServedName("zai-org/GLM-4.5V-FP8"), "glm-4.5v-fp8");
  });

  it("builds the SGLang command with its parsers, expert parallelism, TP8 encoder and cache size", () => {
    const cmd = buildEngineCommand({ engine: "sglang", model: "zai-org/GLM-4.6V-FP8", tp: 8, port: 30000 });
    assert.equal(cmd.command, "python3");
    assert.deepEqual(cmd.args.slice(0, 2), ["-m", "sglang.launch_server"]);
    const line = cmd.args.join(" ");
    for (const part of [
      "--model-path zai-org/GLM-4.6V-FP8",
      "--served-model-name glm-4.6v-fp8",
      "--tp-size 8",
      "--tool-call-parser glm45",
      "--reasoning-parser glm45",
      "--ep-size 8",
      "--mm-enable-dp-encoder",
      "--keep-mm-feature-on-device",
      "--enable-metrics",
      "--port 30000",
    ]) {
      assert.ok(line.includes(part), part);
    }
    assert.deepEqual(cmd.env, { SGLANG_VLM_CACHE_SIZE_MB: "1024" });
  });
});

describe("launching", () => {
  it("says how to install vLLM when it is not on PATH", () => {
    const empty = mkdtempSync(join(tmpdir(), "glmv-path-"));
    try {
      const cmd = buildEngineCommand({ engine: "vllm", model: "zai-org/GLM-4.5V" });
      assert.throws(
        () => checkEngineInstalled(cmd, "vllm", { PATH: empty }),
        (e: Error) => e instanceof EngineNotInstalledError && /pip install -U vllm/.test(e.message),
      );
      const sg = buildEngineCommand({ engine: "sglang", model: "zai-org/GLM-4.5V" });
      assert.throws(
        () => checkEngineInstalled(sg, "sglang", { PATH: empty }),
        (e: Error) => e instanceof EngineNotInstalledError && /sglang/.test(e.message),
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("starts an engine, waits for health and stops it; reports an engine that exits early", async () => {
    const dir = mkdtempSync(join(tmpdir(), "glmv-bin-"));
    try {
      const script = join(import.meta.dirname, "testing", "fake-engine.ts");
      writeFileSync(join(dir, "vllm"), `#!/bin/sh\nexec "${process.execPath}" "${script}" "$@"\n`);
      chmodSync(join(dir, "vllm"), 0o755);
      const env = { ...process.env, PATH: `${dir}:${process.env.PATH}` };
      const port = await freePort();
      const lines: string[] = [];
      const engine = await launchEngine(
        { engine: "vllm", model: "zai-org/GLM-4.5V", port },
        { env, pollMs: 50, readyTimeoutMs: 20_000, log: (l) => lines.push(l) },
      );
      const models = (await (await fetch(`${engine.command.baseUrl}/models`)).json()) as {
        data: { id: string }[];
      };
      assert.equal(models.data[0].id, "glm-4.5v");
      assert.ok(lines.some((l) => l.startsWith("starting vllm serve zai-org/GLM-4.5V")));
      await engine.stop(2000);
      assert.notEqual(engine.child.exitCode ?? engine.child.signalCode, null);

      writeFileSync(join(dir, "vllm"), "#!/bin/sh\necho 'CUDA out of memory' >&2\nexit 3\n");
      await assert.rejects(
        launchEngine({ engine: "vllm", model: "m", port }, { env, pollMs: 20 }),
        (e: Error) => e instanceof EngineStartError && /CUDA out of memory/.test(e.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
