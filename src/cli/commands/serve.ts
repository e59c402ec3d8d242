import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { serverPolicy } from "../../media/policy.ts";
import { resolveFamilyId } from "../../protocol/families.ts";
import { readKeysFile } from "../../server/auth.ts";
import { serverMediaPreparer } from "../../server/media.ts";
import { type ServeConfig, startServe } from "../../server/serve.ts";
import { DIALECTS, type Dialect } from "../../server/upstream/dialect.ts";
import { type Command, type CommandIO, UsageError } from "../command.ts";
import { intOption, modelOptions, modelOptionsHelp, numberOption, openModel } from "../open-model.ts";

const help = `Usage: glmv serve [options]

Serve an OpenAI-compatible API (POST /v1/chat/completions, GET /v1/models, /health, /metrics) over a GLM-V
model: the embedded engine on this machine (default), one or more upstream servers (vLLM, SGLang, Z.ai or
another glmv), or a vLLM/SGLang server that glmv starts for you. Reasoning, tool calls, boxes and the
thinking budget behave the same on every backend.

Backend (pick one):
  (default)               The embedded engine: -m/--model and the model options below.
  --upstream URL          Forward to an OpenAI-compatible server (repeat for several: least-busy first,
                          a dead one is taken out and brought back when its /health passes).
  --engine vllm|sglang    Start vLLM or SGLang with GLM-V's recommended flags, wait until it is healthy,
                          and front it. Needs --model (a Hugging Face id or path) and the engine installed.

Server options:
  --host HOST             Address to bind (default 127.0.0.1; use 0.0.0.0 only behind auth).
  --port PORT             Port (default 8080).
  --api-key KEY           Require this key (Authorization: Bearer KEY); repeatable. Also $GLMV_API_KEY.
  --api-keys-file FILE    Keys, one per line (# comments allowed).
  --cors-origin ORIGIN    Allow browser calls from ORIGIN ("*" for any); repeatable. CORS is off otherwise.
  --body-limit MB         Largest request body (default 64).
  --slots N               Generations at once (default 1 embedded, 64 upstream). The embedded engine
                          decodes them together in one batch; they share its --context-size tokens of KV cache.
  --queue N               Requests waiting for a slot before 429 (default 64).
  --drain-timeout S       On SIGTERM, seconds to let running streams finish (default 30).
  --allowed-media-path DIR
                          Folder whose files requests may name as file: URLs (none by default).
  --isolate-engine        Embedded engine: run llama.cpp in a child process. If it crashes, requests in
                          flight get 503 and the engine restarts; the server keeps running.

Upstream options:
  --dialect D             vllm, sglang, zai or glmv (default: detected; Z.ai hosts are recognised).
  --upstream-api-key KEY  Key sent to the upstream (also $GLMV_UPSTREAM_API_KEY, or $ZAI_API_KEY for Z.ai).
  --served-model-name N   Model id(s) to offer when the upstream cannot list them (repeatable; Z.ai), or
                          the name the launched engine serves.
  --health-interval S     Seconds between upstream health checks (default 5).

Launcher options (with --engine):
  --tp N                  Tensor-parallel size, i.e. GPUs (default 1).
  --engine-port PORT      Port of the engine, on 127.0.0.1 (default 8000).
  --engine-arg ARG        Extra argument for the engine (repeatable), e.g. --engine-arg=--max-model-len=65536

${modelOptionsHelp}
Examples:
  glmv serve -m glm-4.6v-flash
  glmv serve --upstream http://gpu1:8000 --upstream http://gpu2:8000 --api-key "$KEY"
  glmv serve --upstream https://api.z.ai/api/paas/v4 --served-model-name glm-4.6v
  glmv serve --engine vllm --model zai-org/GLM-4.6V-FP8 --tp 4 --host 0.0.0.0 --api-keys-file keys.txt
  curl http://127.0.0.1:8080/v1/chat/completions -d '{"messages":[{"role":"user","content":"Hi"}]}'
`;

/** Parses `glmv serve` arguments into a ServeConfig (pure apart from reading a keys file). */
export function parseServeArgs(
  argv: string[],
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): ServeConfig {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...modelOptions,
      upstream: { type: "string", multiple: true },
      engine: { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      "api-key": { type: "string", multiple: true },
      "api-keys-file": { type: "string" },
      "cors-origin": { type: "string", multiple: true },
      "body-limit": { type: "string" },
      slots: { type: "string" },
      queue: { type: "string" },
      "drain-timeout": { type: "string" },
      "allowed-media-path": { type: "string" },
      "isolate-engine": { type: "boolean" },
      dialect: { type: "string" },
      "upstream-api-key": { type: "string" },
      "served-model-name": { type: "string", multiple: true },
      "health-interval": { type: "string" },
      tp: { type: "string" },
      "engine-port": { type: "string" },
      "engine-arg": { type: "string", multiple: true },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const upstreams = values.upstream ?? [];
  if (upstreams.length > 0 && values.engine)
    throw new UsageError("use either --upstream or --engine, not both");
  for (const url of upstreams) {
    if (!/^https?:\/\//.test(url)) throw new UsageError(`--upstream takes an http(s) URL, got "${url}"`);
  }
  const dialect = values.dialect as Dialect | undefined;
  if (dialect !== undefined && !DIALECTS.includes(dialect)) {
    throw new UsageError(`--dialect takes ${DIALECTS.join(", ")}, got "${dialect}"`);
  }

  const apiKeys = [...(values["api-key"] ?? [])];
  if (env.GLMV_API_KEY) apiKeys.push(env.GLMV_API_KEY);
  if (values["api-keys-file"]) apiKeys.push(...readKeysFile(values["api-keys-file"]));
  const bodyLimitMb = numberOption(values["body-limit"], "--body-limit") ?? 64;
  if (bodyLimitMb <= 0) throw new UsageError("--body-limit must be positive");
  const allowedMediaPath = values["allowed-media-path"] ? resolve(values["allowed-media-path"]) : undefined;
  const family = values.family ? resolveFamilyId(values.family) : undefined;
  const isEmbedded = upstreams.length === 0 && !values.engine;
  const server: ServeConfig["server"] = {
    apiKeys,
    corsOrigins: values["cors-origin"],
    bodyLimitBytes: Math.round(bodyLimitMb * 1024 * 1024),
    slots: intOption(values.slots, "--slots", 1) ?? (isEmbedded ? 1 : 64),
    maxWaiting: intOption(values.queue, "--queue", 0) ?? 64,
    log,
  };
  const host = values.host ?? "127.0.0.1";
  const port = intOption(values.port, "--port", 0) ?? 8080;
  if (port > 65535) throw new UsageError("--port must be at most 65535");

  let backend: ServeConfig["backend"];
  if (upstreams.length > 0) {
    const zai = upstreams.some((u) => /(^|\.)z\.ai$|bigmodel\.cn$/.test(new URL(u).hostname));
    backend = {
      kind: "upstream",
      urls: upstreams,
      dialect,
      apiKey: values["upstream-api-key"] ?? env.GLMV_UPSTREAM_API_KEY ?? (zai ? env.ZAI_API_KEY : undefined),
      models: values["served-model-name"],
      family,
      healthIntervalMs: Math.round(
        (numberOption(values["health-interval"], "--health-interval") ?? 5) * 1000,
      ),
      mediaPolicy: serverPolicy({ localFiles: allowedMediaPath ? [allowedMediaPath] : [] }),
      allowLocalMedia: allowedMediaPath !== undefined,
    };
  } else if (values.engine) {
    if (values.engine !== "vllm" && values.engine !== "sglang") {
      throw new UsageError(`--engine takes vllm or sglang, got "${values.engine}"`);
    }
    if (!values.model) throw new UsageError("--engine needs --model (e.g. zai-org/GLM-4.6V-FP8)");
    backend = {
      kind: "engine",
      engine: values.engine,
      model: values.model,
      tp: intOption(values.tp, "--tp", 1) ?? 1,
      enginePort: intOption(values["engine-port"], "--engine-port", 1) ?? 8000,
      servedModelName: values["served-model-name"]?.[0],
      allowedMediaPath,
      extraArgs: (values["engine-arg"] ?? []).flatMap(splitEngineArg),
      family,
    };
  } else {
    const modelValues = {
      model: values.model,
      mmproj: values.mmproj,
      family: values.family,
      threads: values.threads,
      "context-size": values["context-size"],
      device: values.device,
    };
    const policy = serverPolicy({ localFiles: allowedMediaPath ? [allowedMediaPath] : [] });
    backend = {
      kind: "embedded",
      // The engine decodes as many requests together as the server lets run (continuous batching).
      open: () =>
        openModel(modelValues, process.stderr, serverMediaPreparer(policy), {
          slots: server.slots,
          isolation: values["isolate-engine"] ? "process" : "thread",
        }),
    };
  }
  return { host, port, server, backend, log };
}

/** `--engine-arg=--max-model-len=65536` → ["--max-model-len", "65536"]; other forms pass through. */
function splitEngineArg(arg: string): string[] {
  const m = /^(--[\w-]+)=(.*)$/s.exec(arg);
  return m ? [m[1], m[2]] : [arg];
}

/**
 * Runs `glmv serve` until `stop` aborts (SIGTERM/SIGINT in the CLI), then drains and exits.
 * Exported for tests; the command wires process signals to it.
 */
export async function runServe(
  argv: string[],
  io: CommandIO,
  stop: AbortSignal,
  env = process.env,
): Promise<number> {
  const log = (line: string) => io.stderr.write(`glmv serve: ${line}\n`);
  const config = parseServeArgs(argv, env, log);
  const drainMs = Math.round(
    (numberOption(flagValue(argv, "--drain-timeout"), "--drain-timeout") ?? 30) * 1000,
  );
  if (config.host !== "127.0.0.1" && config.host !== "localhost" && config.server.apiKeys?.length === 0) {
    log(`warning: listening on ${config.host} without an API key; anyone who can reach it can use it`);
  }
  const handle = await startServe(config);
  const models = handle.backend.models().map((m) => m.id);
  log(`listening on ${handle.server.url} (backend ${handle.backend.name}; models: ${models.join(", ")})`);
  let exitCode = 0;
  if (!stop.aborted) {
    await Promise.race([
      new Promise<void>((resolve) => stop.addEventListener("abort", () => resolve(), { once: true })),
      handle.engineExited.then((why) => {
        log(`${why}; stopping`);
        exitCode = 1;
      }),
    ]);
  }
  log(`draining (up to ${drainMs / 1000} s)…`);
  await handle.stop(exitCode === 0 ? drainMs : 0);
  log("stopped");
  return exitCode;
}

function flagValue(argv: string[], flag: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === flag) return argv[i + 1];
    if (argv[i].startsWith(`${flag}=`)) return argv[i].slice(flag.length + 1);
  }
  return undefined;
}

/** `glmv serve`: the OpenAI-compatible server and gateway. */
export const serveCommand: Command = {
  name: "serve",
  summary: "Serve an OpenAI-compatible API (embedded engine, or a gateway to vLLM/SGLang/Z.ai)",
  help,
  async run(argv, io) {
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
    try {
      return await runServe(argv, io, controller.signal);
    } finally {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    }
  },
};
