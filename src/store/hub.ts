import { HubAuthError, HubNotFoundError, HubResponseError, NetworkError, type StoreError } from "./errors.ts";
import type { RepoFile } from "./select.ts";

/** How to talk to the hub. */
export interface HubOptions {
  /** Base URL, e.g. https://huggingface.co (HF_ENDPOINT). */
  endpoint: string;
  /** Bearer token (HF_TOKEN); sent to the hub only (fetch drops it on cross-origin redirects). */
  token?: string;
  /** The fetch to use (tests may wrap it); default globalThis.fetch. */
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Give up on an API request after this many ms (default 30 s). */
  timeoutMs?: number;
}

/** A repository's files at one commit. */
export interface RepoListing {
  /** The repository id as the hub spells it (canonical case). */
  repo: string;
  /** The revision asked for (`main`, a tag, a commit). */
  revision: string;
  /** The commit sha that revision points to. */
  commit: string;
  files: RepoFile[];
}

/** The User-Agent glmv sends. */
export const USER_AGENT = "glmv/0.1.0";

/** Request headers: User-Agent plus Authorization when a token is set. */
export function hubHeaders(token?: string): Record<string, string> {
  const headers: Record<string, string> = { "User-Agent": USER_AGENT };
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

/** `{endpoint}/{repo}/resolve/{revision}/{path}`: the download URL of a repository file (redirects to a CDN). */
export function resolveUrl(endpoint: string, repo: string, revision: string, path: string): string {
  const file = path.split("/").map(encodeURIComponent).join("/");
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${file}`;
}

/**
 * `{endpoint}/api/models/{repo}/revision/{revision}?blobs=true`: the model-info call that returns, in one
 * request, the commit sha and every file with its size and LFS sha256 (`siblings[].lfs.sha256`). Chosen over
 * `/api/models/{repo}/tree/{revision}`, which also gives sizes and LFS oids but not the commit and pages its
 * results. This is the request huggingface_hub's `model_info(files_metadata=True)` makes.
 */
export function repoInfoUrl(endpoint: string, repo: string, revision: string): string {
  return `${endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
}

/** What a failed request was for, to word the error. */
export interface RequestContext {
  endpoint: string;
  repo: string;
  revision?: string;
  /** The file, for downloads. */
  file?: string;
  tokenGiven: boolean;
}

/**
 * Turns a failed hub response into a typed error whose message names the fix. The hub's `X-Error-Code`
 * header (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`, `GatedRepo`) refines the status: the hub
 * answers 401 for a missing repository when no token is sent, so as not to reveal private ones.
 */
export function hubError(status: number, headers: Headers, ctx: RequestContext, body = ""): StoreError {
  const code = headers.get("x-error-code") ?? "";
  const serverMessage = (headers.get("x-error-message") ?? body).trim().slice(0, 300);
  const page = `${ctx.endpoint}/${ctx.repo}`;
  const what = ctx.file ? `${ctx.file} in ${ctx.repo}` : ctx.repo;
  if (code === "RepoNotFound" || (status === 404 && !ctx.file && code !== "RevisionNotFound")) {
    return new HubNotFoundError(
      `Repository ${ctx.repo} not found on ${ctx.endpoint}. Check the name (owner/repo, e.g. ` +
        `ggml-org/GLM-4.6V-Flash-GGUF)${ctx.tokenGiven ? "" : "; if it is private, set HF_TOKEN"}.`,
    );
  }
  if (code === "RevisionNotFound") {
    return new HubNotFoundError(
      `Revision "${ctx.revision}" not found in ${ctx.repo}. Check the branch, tag or commit.`,
    );
  }
  if (status === 404 || code === "EntryNotFound") {
    return new HubNotFoundError(
      `${what} not found (404). The repository may have changed since it was listed: run the pull again.`,
    );
  }
  if (status === 401 || status === 403 || code === "GatedRepo") {
    const gated = code === "GatedRepo" || /gated|restricted|access/i.test(serverMessage);
    let fix: string;
    if (!ctx.tokenGiven) {
      fix =
        `${ctx.repo} is gated or private. Create a token at ${ctx.endpoint}/settings/tokens, set HF_TOKEN=<token>` +
        `${gated ? `, and accept the model's terms at ${page}` : ""}, then retry.`;
    } else if (status === 401) {
      fix = `The hub rejected HF_TOKEN for ${ctx.repo} (401). Check that the token is valid and not expired.`;
    } else {
      fix = `Your HF_TOKEN has no access to ${ctx.repo} (${status}). Accept the model's terms at ${page}, or use a token with access.`;
    }
    return new HubAuthError(fix, status);
  }
  if (status === 429) {
    return new HubResponseError(
      `The hub is rate-limiting requests (429)${ctx.tokenGiven ? "" : "; setting HF_TOKEN raises the limit"}. Wait a minute and retry.`,
      status,
    );
  }
  return new HubResponseError(
    `The hub answered ${status} for ${what}${serverMessage ? `: ${serverMessage}` : ""}. Retry later.`,
    status,
  );
}

/** Wraps a fetch failure (DNS, refused, reset, timeout) as a NetworkError naming the cause. */
export function networkError(error: unknown, url: string): NetworkError {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  const detail =
    cause?.code ??
    cause?.message ??
    (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  const host = (() => {
    try {
      return new URL(url).host;
    } catch {
      return url;
    }
  })();
  return new NetworkError(
    `Could not reach ${host} (${detail}). Check your connection, proxy or HF_ENDPOINT; ` +
      "a pull resumes where it stopped. To use only cached models, set GLMV_OFFLINE=1.",
  );
}

/** Combines a caller's signal with a timeout. */
export function withTimeout(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

interface Sibling {
  rfilename?: unknown;
  size?: unknown;
  lfs?: { sha256?: unknown; size?: unknown } | null;
}

/** Parses the model-info JSON into a listing; throws HubResponseError on a malformed answer. */
export function parseRepoInfo(json: unknown, repo: string, revision: string): RepoListing {
  const info = json as { id?: unknown; sha?: unknown; siblings?: unknown };
  if (!info || typeof info !== "object" || !Array.isArray(info.siblings) || typeof info.sha !== "string") {
    throw new HubResponseError(`The hub's answer for ${repo} has no file list (siblings/sha missing).`, 200);
  }
  const files: RepoFile[] = [];
  for (const raw of info.siblings as Sibling[]) {
    if (typeof raw?.rfilename !== "string") continue;
    const lfsSize = typeof raw.lfs?.size === "number" ? raw.lfs.size : undefined;
    const size = typeof raw.size === "number" ? raw.size : (lfsSize ?? -1);
    const sha = typeof raw.lfs?.sha256 === "string" ? raw.lfs.sha256.toLowerCase() : undefined;
    files.push({ path: raw.rfilename, size, ...(sha ? { sha256: sha } : {}) });
  }
  return { repo: typeof info.id === "string" ? info.id : repo, revision, commit: info.sha, files };
}

/** Lists a repository's files (sizes, LFS sha256) and the commit of `revision`. One GET, JSON. */
export async function fetchRepoListing(
  repo: string,
  revision: string,
  options: HubOptions,
): Promise<RepoListing> {
  const url = repoInfoUrl(options.endpoint, repo, revision);
  const doFetch = options.fetch ?? globalThis.fetch;
  let response: Response;
  try {
    response = await doFetch(url, {
      headers: { ...hubHeaders(options.token), Accept: "application/json" },
      redirect: "follow",
      signal: withTimeout(options.signal, options.timeoutMs ?? 30_000),
    });
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw networkError(error, url);
  }
  const ctx: RequestContext = {
    endpoint: options.endpoint,
    repo,
    revision,
    tokenGiven: Boolean(options.token),
  };
  if (!response.ok) {
    const body = await response.text().catch(() => "");
    throw hubError(response.status, response.headers, ctx, extractError(body));
  }
  let json: unknown;
  try {
    json = await response.json();
  } catch {
    throw new HubResponseError(
      `The hub's answer for ${repo} is not JSON. Is HF_ENDPOINT a Hugging Face hub?`,
      200,
    );
  }
  return parseRepoInfo(json, repo, revision);
}

function extractError(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return typeof parsed.error === "string" ? parsed.error : "";
  } catch {
    return body.slice(0, 200);
  }
}
