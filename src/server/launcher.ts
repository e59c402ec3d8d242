/**
 * The launcher behind `glmv serve --engine vllm|sglang`: builds the engine's command line with the flags the
 * GLM-V README and recipes recommend (spec §9.1), starts it, waits until it is healthy, and stops it.
 * `buildEngineCommand` is pure; `launchEngine` does the I/O.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { familyFromName } from "../protocol/families.ts";

/** The engines the launcher can start. */
export type EngineKind = "vllm" | "sglang";

/** What to launch. */
export interface LaunchOptions {
  engine: EngineKind;
  /** Hugging Face repo id or local path, e.g. zai-org/GLM-4.5V-FP8. */
  model: string;
  /** Tensor-parallel size (GPUs), default 1. */
  tp?: number;
  /** Port the engine listens on (loopback only), default 8000. */
  port?: number;
  /** Name clients use (default: derived from the model, e.g. "glm-4.5v"). */
  servedModelName?: string;
  /** Folder the engine may read `file:` media from (vLLM `--allowed-local-media-path`); none by default. */
  allowedMediaPath?: string;
  /** Extra arguments appended verbatim (e.g. `--max-model-len 65536`). */
  extraArgs?: string[];
  /** Python interpreter for SGLang (default python3). */
  python?: string;
}

/** A command line ready to spawn. */
export interface EngineCommand {
  command: string;
  args: string[];
  /** Environment additions (e.g. SGLANG_VLM_CACHE_SIZE_MB). */
  env: Record<string, string>;
  /** URL polled until the engine is up. */
  healthUrl: string;
  /** Base URL of its OpenAI API. */
  baseUrl: string;
  servedModelName: string;
}

/** The engine's program is not installed; the message says how to install it. */
export class EngineNotInstalledError extends Error {
  override name = "EngineNotInstalledError";
}

/** The engine exited or never became healthy; the message holds its last output lines. */
export class EngineStartError extends Error {
  override name = "EngineStartError";
}

/** "zai-org/GLM-4.5V-FP8" → "glm-4.5v-fp8". */
export function defaultServedName(model: string): string {
  const base = model.replace(/\/+$/, "").split("/").pop() ?? model;
  return base.toLowerCase();
}

/** Whether the model is one of the 106B MoE checkpoints (4.5V, 4.6V), where expert parallelism applies. */
function isMoe(model: string): boolean {
  const family = familyFromName(model);
  return family === "glm-4.5v" || family === "glm-4.6v";
}

/** Builds the exact engine command line (pure). */
export function buildEngineCommand(options: LaunchOptions): EngineCommand {
  const tp = options.tp ?? 1;
  if (!Number.isInteger(tp) || tp < 1) throw new RangeError(`--tp must be a whole number >= 1 (got ${tp})`);
  const port = options.port ?? 8000;
  const served = options.servedModelName ?? defaultServedName(options.model);
  const moe = isMoe(options.model);
  const family = familyFromName(options.model);
  const host = "127.0.0.1";
  const extra = options.extraArgs ?? [];
  const urls = { healthUrl: `http://${host}:${port}/health`, baseUrl: `http://${host}:${port}/v1` };

  if (options.engine === "vllm") {
    const args = [
      "serve",
      options.model,
      "--served-model-name",
      served,
      "--host",
      host,
      "--port",
      String(port),
      "--tensor-parallel-size",
      String(tp),
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
    ];
    if (moe && tp > 1) args.push("--enable-expert-parallel");
    if (options.allowedMediaPath) args.push("--allowed-local-media-path", options.allowedMediaPath);
    if (family === "glm-ocr")
      args.push("--speculative-config", '{"method": "mtp", "num_speculative_tokens": 1}');
    args.push(...extra);
    return { command: "vllm", args, env: {}, ...urls, servedModelName: served };
  }

  const args = [
    "-m",
    "sglang.launch_server",
    "--model-path",
    options.model,
    "--served-model-name",
    served,
    "--host",
    host,
    "--port",
    String(port),
    "--tp-size",
    String(tp),
    "--tool-call-parser",
    "glm45",
    "--reasoning-parser",
    "glm45",
    "--enable-metrics",
  ];
  if (moe && tp > 1) args.push("--ep-size", String(tp));
  if (tp >= 8) args.push("--mm-enable-dp-encoder");
  if (/fp8/i.test(options.model)) args.push("--keep-mm-feature-on-device");
  args.push(...extra);
  return {
    command: options.python ?? "python3",
    args,
    env: { SGLANG_VLM_CACHE_SIZE_MB: "1024" },
    ...urls,
    servedModelName: served,
  };
}

/** Finds an executable on a PATH string; undefined when absent. */
export function findExecutable(name: string, path = process.env.PATH ?? ""): string | undefined {
  if (name.includes("/")) return isExecutable(name) ? name : undefined;
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Throws EngineNotInstalledError unless the engine can be started with `command`. */
export function checkEngineInstalled(command: EngineCommand, engine: EngineKind, env = process.env): void {
  const found = findExecutable(command.command, env.PATH ?? "");
  if (engine === "vllm") {
    if (!found) {
      throw new EngineNotInstalledError(
        "vLLM is not installed: no `vllm` program on PATH. Install it on a Linux machine with NVIDIA GPUs " +
          "(`pip install -U vllm`, see the GLM-V README for the version), or run it elsewhere and use `glmv serve --upstream URL`.",
      );
    }
    return;
  }
  if (!found) {
    throw new EngineNotInstalledError(
      `SGLang needs Python: no \`${command.command}\` on PATH. Install Python 3 and \`pip install -U "sglang[all]"\`, or use --upstream URL.`,
    );
  }
  const probe = spawnSync(found, ["-c", "import sglang"], { env, stdio: "ignore", timeout: 30_000 });
  if (probe.status !== 0) {
    throw new EngineNotInstalledError(
      `SGLang is not installed for ${found}: \`import sglang\` failed. Install it with \`pip install -U "sglang[all]"\`, or use --upstream URL.`,
    );
  }
}

/** A running engine process. */
export interface LaunchedEngine {
  command: EngineCommand;
  child: ChildProcess;
  /** Stops the engine: SIGTERM, then SIGKILL after `graceMs` (default 15 s). */
  stop(graceMs?: number): Promise<void>;
}

/** Options of `launchEngine`. */
export interface LaunchIO {
  /** Where engine output lines go (prefixed with the engine name). */
  log?: (line: string) => void;
  /** Most ms to wait for health (default 30 min: big checkpoints load slowly). */
  readyTimeoutMs?: number;
  /** Poll period, ms (default 1000). */
  pollMs?: number;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** Spawns the engine and resolves once its health URL answers 200. */
export async function launchEngine(options: LaunchOptions, io: LaunchIO = {}): Promise<LaunchedEngine> {
  const command = buildEngineCommand(options);
  const env = { ...(io.env ?? process.env), ...command.env };
  checkEngineInstalled(command, options.engine, env);
  const log = io.log ?? (() => {});
  log(`starting ${[command.command, ...command.args].map(shellQuote).join(" ")}`);
  const child = spawn(command.command, command.args, { env, stdio: ["ignore", "pipe", "pipe"] });
  const tail: string[] = [];
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > 30) tail.shift();
    log(`[${options.engine}] ${line}`);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buffer = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) onLine(line);
    });
  }
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      resolve();
    });
    child.once("error", (error) => {
      onLine(String(error));
      exited = { code: -1, signal: null };
      resolve();
    });
  });
  const stop = async (graceMs = 15_000) => {
    if (exited) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exitPromise;
    clearTimeout(timer);
  };

  const deadline = performance.now() + (io.readyTimeoutMs ?? 30 * 60_000);
  const pollMs = io.pollMs ?? 1000;
  for (;;) {
    if (exited) {
      throw new EngineStartError(
        `${options.engine} exited (code ${exited.code ?? exited.signal}) before it was ready. Last output:\n${tail.join("\n")}`,
      );
    }
    if (io.signal?.aborted) {
      await stop(5000);
      throw new EngineStartError(`${options.engine} start-up was cancelled.`);
    }
    if (performance.now() > deadline) {
      await stop(5000);
      throw new EngineStartError(
        `${options.engine} did not become healthy in time. Last output:\n${tail.join("\n")}`,
      );
    }
    try {
      const response = await fetch(command.healthUrl, { signal: AbortSignal.timeout(2000) });
      await response.body?.cancel();
      if (response.ok) return { command, child, stop };
    } catch {
      // not up yet
    }
    await Promise.race([new Promise((r) => setTimeout(r, pollMs)), exitPromise]);
  }
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}
