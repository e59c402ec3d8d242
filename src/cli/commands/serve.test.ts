import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readSse } from "../../client/sse.ts";
import { FakeUpstream } from "../../server/testing/fake-upstream.ts";
import { scriptFor } from "../../server/testing/scripts.ts";
import { UsageError } from "../command.ts";
import { parseServeArgs } from "./serve.ts";

const quiet = () => {};

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe("glmv serve options", () => {
  it("builds an upstream config with keys from flags, env and a keys file", () => {
    const dir = mkdtempSync(join(tmpdir(), "glmv-keys-"));
    try {
      writeFileSync(join(dir, "keys.txt"), "# team keys\nfile-key\n\n");
      const config = parseServeArgs(
        [
          "--upstream",
          "http://gpu1:8000",
          "--upstream",
          "http://gpu2:8000/v1",
          "--api-key",
          "flag-key",
          "--api-keys-file",
          join(dir, "keys.txt"),
          "--port",
          "9000",
          "--dialect",
          "sglang",
        ],
        { GLMV_API_KEY: "env-key" },
        quiet,
      );
      assert.equal(config.host, "127.0.0.1");
      assert.equal(config.port, 9000);
      assert.deepEqual(config.server.apiKeys, ["flag-key", "env-key", "file-key"]);
      assert.equal(config.server.slots, 64);
      assert.equal(config.backend.kind, "upstream");
      if (config.backend.kind === "upstream") {
        assert.deepEqual(config.backend.urls, ["http://gpu1:8000", "http://gpu2:8000/v1"]);
        assert.equal(config.backend.dialect, "sglang");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("builds a launcher config and rejects contradictory or malformed flags", () => {
    const config = parseServeArgs(
      ["--engine", "vllm", "--model", "zai-org/GLM-4.6V", "--tp", "4", "--engine-arg=--max-model-len=65536"],
      {},
      quiet,
    );
    assert.equal(config.backend.kind, "engine");
    if (config.backend.kind === "engine") {
      assert.equal(config.backend.tp, 4);
      assert.deepEqual(config.backend.extraArgs, ["--max-model-len", "65536"]);
    }
    const bad: [string[], RegExp][] = [
      [["--engine", "tgi", "--model", "x"], /vllm or sglang/],
      [["--engine", "vllm"], /needs --model/],
      [["--upstream", "gpu1:8000"], /http\(s\) URL/],
      [["--upstream", "http://a", "--engine", "vllm"], /either/],
      [["--upstream", "http://a", "--dialect", "tgi"], /--dialect/],
      [["--port", "http"], /--port/],
    ];
    for (const [argv, pattern] of bad) {
      assert.throws(
        () => parseServeArgs(argv, {}, quiet),
        (e: Error) => e instanceof UsageError && pattern.test(e.message),
      );
    }
  });
});

describe("glmv serve process", () => {
  it("fronts an upstream, then on SIGTERM drains the running stream and exits 0", async () => {
    const fake = await FakeUpstream.start({ respond: scriptFor });
    const bin = join(import.meta.dirname, "..", "..", "..", "bin", "glmv.ts");
    const child = spawn(
      process.execPath,
      [bin, "serve", "--upstream", fake.url, "--port", "0", "--drain-timeout", "5"],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.setEncoding("utf8");
      child.stderr.on("data", (chunk: string) => {
        stderr += chunk;
        const m = /listening on (http:\/\/\S+)/.exec(stderr);
        if (m) resolve(m[1]);
      });
      child.once("exit", () => reject(new Error(`serve exited early: ${stderr}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "slow" }], stream: true }),
    });
    const events: string[] = [];
    for await (const data of readSse(response.body!)) {
      events.push(data);
      if (events.length === 2) child.kill("SIGTERM");
    }
    assert.equal(events.at(-1), "[DONE]");
    assert.equal(JSON.parse(events.at(-2)!).choices[0].finish_reason, "stop");
    assert.equal(await exited, 0);
    assert.match(stderr, /draining/);
    await fake.kill();
  });

  it("launches a (stand-in) vLLM, fronts it, and stops with exit code 1 when the engine dies", async () => {
    const dir = mkdtempSync(join(tmpdir(), "glmv-engine-"));
    const script = join(import.meta.dirname, "..", "..", "server", "testing", "fake-engine.ts");
    writeFileSync(join(dir, "vllm"), `#!/bin/sh\nexec "${process.execPath}" "${script}" "$@"\n`);
    chmodSync(join(dir, "vllm"), 0o755);
    const enginePort = await freePort();
    const bin = join(import.meta.dirname, "..", "..", "..", "bin", "glmv.ts");
    const child = spawn(
      process.execPath,
      [
        bin,
        "serve",
        "--engine",
        "vllm",
        "--model",
        "zai-org/GLM-4.5V",
        "--engine-port",
        String(enginePort),
        "--port",
        "0",
      ],
      { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } },
    );
    let stderr = "";
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.setEncoding("utf8");
      child.stderr.on("data", (chunk: string) => {
        stderr += chunk;
        const m = /listening on (http:\/\/\S+)/.exec(stderr);
        if (m) resolve(m[1]);
      });
      void exited.then(() => reject(new Error(`serve exited early: ${stderr}`)));
    });
    try {
      assert.match(stderr, /starting vllm serve zai-org\/GLM-4.5V .*--reasoning-parser glm45/);
      const r = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "glm-4.5v", messages: [{ role: "user", content: "raw-think" }] }),
      });
      const body = (await r.json()) as { choices: { message: { reasoning_content: string } }[] };
      assert.equal(
        body.choices[0].message.reasoning_content,
        "The user asks for the cat. It sits in the middle.",
      );
      const pid = Number(/pid (\d+)/.exec(stderr)?.[1]);
      process.kill(pid, "SIGKILL");
      assert.equal(await exited, 1);
      assert.match(stderr, /engine exited/);
    } finally {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
