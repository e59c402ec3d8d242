/**
 * What `glmv serve` runs: picks the backend (embedded engine, upstream gateway, or a launched vLLM/SGLang),
 * starts the HTTP server in front of it, and stops everything in order (drain, backend, engine).
 */
import type { MediaPolicy } from "../media/policy.ts";
import type { FamilyId } from "../protocol/families.ts";
import type { ChatBackend } from "../runtime/types.ts";
import { type RunningServer, type ServerOptions, startServer } from "./app.ts";
import { type EngineKind, type LaunchedEngine, launchEngine } from "./launcher.ts";
import { createUpstreamBackend } from "./upstream/backend.ts";
import type { Dialect } from "./upstream/dialect.ts";

/** Everything `glmv serve` was asked for, after option parsing. */
export interface ServeConfig {
  host: string;
  port: number;
  server: Omit<ServerOptions, "backend">;
  backend:
    | { kind: "embedded"; open: () => Promise<ChatBackend> }
    | {
        kind: "upstream";
        urls: string[];
        dialect?: Dialect;
        apiKey?: string;
        models?: string[];
        family?: FamilyId;
        healthIntervalMs?: number;
        mediaPolicy?: MediaPolicy;
        allowLocalMedia: boolean;
      }
    | {
        kind: "engine";
        engine: EngineKind;
        model: string;
        tp: number;
        enginePort: number;
        servedModelName?: string;
        allowedMediaPath?: string;
        extraArgs: string[];
        family?: FamilyId;
      };
  log: (line: string) => void;
}

/** A running `glmv serve`. */
export interface ServeHandle {
  server: RunningServer;
  backend: ChatBackend;
  engine?: LaunchedEngine;
  /** Drains in-flight streams (up to `drainTimeoutMs`), then closes the backend and stops the engine. */
  stop(drainTimeoutMs: number): Promise<void>;
  /** Resolves when a launched engine exits on its own (never for other backends). */
  engineExited: Promise<string>;
}

/** Starts the backend and the server. */
export async function startServe(config: ServeConfig): Promise<ServeHandle> {
  let engine: LaunchedEngine | undefined;
  let backend: ChatBackend;
  const spec = config.backend;
  if (spec.kind === "embedded") {
    backend = await spec.open();
  } else if (spec.kind === "upstream") {
    backend = await createUpstreamBackend({
      upstreams: spec.urls.map((url) => ({
        url,
        dialect: spec.dialect,
        apiKey: spec.apiKey,
        models: spec.models,
      })),
      family: spec.family,
      healthIntervalMs: spec.healthIntervalMs,
      localMedia: spec.allowLocalMedia ? "inline" : "reject",
      mediaPolicy: spec.mediaPolicy,
      log: config.log,
    });
  } else {
    engine = await launchEngine(
      {
        engine: spec.engine,
        model: spec.model,
        tp: spec.tp,
        port: spec.enginePort,
        servedModelName: spec.servedModelName,
        allowedMediaPath: spec.allowedMediaPath,
        extraArgs: spec.extraArgs,
      },
      { log: config.log },
    );
    try {
      backend = await createUpstreamBackend({
        upstreams: [{ url: engine.command.baseUrl, dialect: spec.engine }],
        family: spec.family,
        // Same machine: the engine reads file: URLs under its own --allowed-local-media-path.
        localMedia: spec.allowedMediaPath ? "forward" : "reject",
        log: config.log,
      });
    } catch (error) {
      await engine.stop();
      throw error;
    }
  }
  let server: RunningServer;
  try {
    server = await startServer({ ...config.server, backend, host: config.host, port: config.port });
  } catch (error) {
    await backend.close();
    await engine?.stop();
    throw error;
  }
  let stopping = false;
  const engineExited = new Promise<string>((resolve) => {
    engine?.child.once("exit", (code, signal) => {
      if (!stopping) resolve(`the ${engine.command.command} engine exited (${code ?? signal})`);
    });
  });
  return {
    server,
    backend,
    engine,
    engineExited,
    async stop(drainTimeoutMs: number) {
      stopping = true;
      await server.close(drainTimeoutMs);
      await backend.close();
      await engine?.stop();
    },
  };
}
