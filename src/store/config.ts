import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** Environment variables the store reads. */
export type StoreEnv = Record<string, string | undefined>;

/** The default Hugging Face endpoint (override with HF_ENDPOINT, e.g. a mirror). */
export const DEFAULT_HF_ENDPOINT = "https://huggingface.co";

/**
 * The glmv cache folder: $GLMV_HOME, else $XDG_CACHE_HOME/glmv, else ~/.cache/glmv.
 * Layout: `models/<owner>/<repo>/<files>` (the files as the repository names them, so split models keep the
 * `-0000N-of-0000M` names llama.cpp needs) and `manifests/<owner>/<repo>/<QUANT>.json`.
 */
export function glmvHome(env: StoreEnv = process.env): string {
  if (env.GLMV_HOME) return env.GLMV_HOME;
  const xdg = env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache");
  return join(xdg, "glmv");
}

/** The hub endpoint: HF_ENDPOINT without a trailing slash, else huggingface.co. */
export function hubEndpoint(env: StoreEnv = process.env): string {
  return (env.HF_ENDPOINT || DEFAULT_HF_ENDPOINT).replace(/\/+$/, "");
}

/** True when GLMV_OFFLINE or HF_HUB_OFFLINE is set to 1/true/yes/on. */
export function isOffline(env: StoreEnv = process.env): boolean {
  const on = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
  return on(env.GLMV_OFFLINE) || on(env.HF_HUB_OFFLINE);
}

/**
 * The Hugging Face token: $HF_TOKEN, else the file huggingface-cli writes ($HF_TOKEN_PATH, else
 * $HF_HOME/token, else ~/.cache/huggingface/token). Undefined when there is none.
 */
export function hubToken(env: StoreEnv = process.env): string | undefined {
  if (env.HF_TOKEN?.trim()) return env.HF_TOKEN.trim();
  const hfHome =
    env.HF_HOME || join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache"), "huggingface");
  const path = env.HF_TOKEN_PATH || join(hfHome, "token");
  try {
    const token = readFileSync(path, "utf8").trim();
    return token === "" ? undefined : token;
  } catch {
    return undefined;
  }
}
