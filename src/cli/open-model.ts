import { basename } from "node:path";
import { type EmbeddedEngineOptions, loadEmbeddedEngine } from "../engines/embedded/engine.ts";
import { resolveFamilyId } from "../protocol/index.ts";
import { createEmbeddedBackend, type MediaPreparer } from "../runtime/embedded.ts";
import { prepareMediaForRuntime } from "../runtime/media.ts";
import type { ChatBackend } from "../runtime/types.ts";
import { createProgressPrinter, DEFAULT_MODEL_ALIAS, formatPullPlan, resolveModel } from "../store/index.ts";
import { UsageError } from "./command.ts";

/** Command-line options shared by every command that loads a model (`run`, `chat`, `serve`). */
export const modelOptions = {
  model: { type: "string", short: "m" },
  mmproj: { type: "string" },
  family: { type: "string" },
  threads: { type: "string", short: "t" },
  "context-size": { type: "string", short: "c" },
  device: { type: "string" },
} as const;

/** Help lines describing {@link modelOptions}. */
export const modelOptionsHelp = `Model options:
  -m, --model REF       Model: an alias (glm-4.6v-flash, glm-4.1v-thinking, glm-ocr), owner/repo[:QUANT],
                        or a local .gguf file or folder. Default: ${DEFAULT_MODEL_ALIAS} (pulled on first use).
      --mmproj PATH     Vision projector GGUF (default: the one pulled with the model or found beside it).
      --family F        Override the model family detected from the file.
  -t, --threads N       CPU threads (default: all cores).
  -c, --context-size N  Context size in tokens (default: the model's, at most 8192).
      --device D        cpu (default), gpu or auto. gpu needs a GPU build of llama.cpp (e.g. npm install
                        --save-exact @node-llama-cpp/linux-x64-cuda@3.21.1) and fails without one or without
                        a visible GPU; auto uses the GPU when it can, else the CPU.
`;

/** Parses an integer option, with an error naming the flag. */
export function intOption(value: string | undefined, flag: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`${flag} takes a whole number ≥ ${min}, got "${value}"`);
  return n;
}

/** Parses a number option, with an error naming the flag. */
export function numberOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`${flag} takes a number, got "${value}"`);
  return n;
}

/** The id a model is listed under: the alias or repo as typed, or a local file's or folder's name. */
export function servedName(ref: string): string {
  const local = ref.includes("/") && (ref.startsWith(".") || ref.startsWith("/") || ref.endsWith(".gguf"));
  return local ? basename(ref).replace(/\.gguf$/i, "") : ref;
}

/** Resolves (pulling on first use, with a size notice and progress bar) and loads a model as a chat backend. */
export async function openModel(
  values: {
    model?: string;
    mmproj?: string;
    family?: string;
    threads?: string;
    "context-size"?: string;
    device?: string;
  },
  stderr: NodeJS.WritableStream & { isTTY?: boolean },
  /** The server passes a preparer bound to its media policy; the CLI default trusts the user. */
  prepareMedia: MediaPreparer = prepareMediaForRuntime,
  /**
   * Engine options of `glmv serve`: `slots`, requests decoded together (`--slots`, default 1); `isolation`,
   * "process" to run llama.cpp in a child process that is restarted if it crashes (`--isolate-engine`).
   */
  engineOptions: Pick<EmbeddedEngineOptions, "slots" | "isolation"> = {},
): Promise<ChatBackend> {
  const device = values.device;
  if (device !== undefined && device !== "cpu" && device !== "gpu" && device !== "auto") {
    throw new UsageError(`--device takes cpu, gpu or auto, got "${device}"`);
  }
  const ref = values.model ?? DEFAULT_MODEL_ALIAS;
  const resolved = await resolveModel(ref, {
    pull: true,
    onPlan: (plan) => {
      if (plan.downloadBytes > 0) stderr.write(`${formatPullPlan(plan)}\n`);
    },
    onProgress: createProgressPrinter(stderr, { isTTY: Boolean(stderr.isTTY) }),
  });
  const engine = await loadEmbeddedEngine({
    model: resolved.modelPath,
    mmproj: values.mmproj ?? resolved.mmprojPath,
    family: values.family ? resolveFamilyId(values.family) : undefined,
    threads: intOption(values.threads, "--threads", 1),
    contextSize: intOption(values["context-size"], "--context-size", 16),
    device,
    name: ref,
    ...engineOptions,
  });
  return createEmbeddedBackend({
    engine,
    prepareMedia,
    modelId: servedName(ref),
    onMediaNote: (note) => stderr.write(`note: ${note}\n`),
  });
}
