import { existsSync } from "node:fs";
import { readdir, rm, rmdir, stat, statfs } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, join, resolve as resolvePath } from "node:path";
import type { FamilyId } from "../protocol/families.ts";
import { aliasForRepo, guessFamily } from "./aliases.ts";
import { glmvHome, hubEndpoint, hubToken, isOffline, type StoreEnv } from "./config.ts";
import { downloadFile, partPath, sha256File } from "./download.ts";
import {
  DiskFullError,
  ModelNotCachedError,
  ModelNotFoundError,
  ModelRefError,
  OfflineError,
} from "./errors.ts";
import { fetchRepoListing, resolveUrl } from "./hub.ts";
import {
  cachedFilePath,
  type ManifestFile,
  type ModelManifest,
  manifestPath,
  readAllManifests,
  repoDir,
  repoManifests,
  writeManifest,
} from "./manifest.ts";
import { type DownloadProgress, formatBytes } from "./progress.ts";
import { canonicalRef, type ModelRef, parseModelRef, wantedQuant } from "./refs.ts";
import {
  DEFAULT_QUANT_ORDER,
  isMmproj,
  mmprojBeside,
  quantLabel,
  type RepoFile,
  selectFiles,
} from "./select.ts";

/** Where the store lives and how it reaches the hub. Everything defaults from the environment. */
export interface StoreOptions {
  /** Environment to read GLMV_HOME, HF_ENDPOINT, HF_TOKEN, GLMV_OFFLINE/HF_HUB_OFFLINE from (default process.env). */
  env?: StoreEnv;
  /** Cache folder; default from `env` (see `glmvHome`). */
  home?: string;
  /** Working directory for relative local paths (default process.cwd()). */
  cwd?: string;
  /** The fetch to use (default globalThis.fetch). */
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Download retry tuning (see DownloadOptions). */
  retries?: number;
  retryDelayMs?: number;
  idleTimeoutMs?: number;
}

/** Options of `resolveModel` and `pullModel`. */
export interface ResolveOptions extends StoreOptions {
  /** Download the model when it is not cached (default false: a missing model is a ModelNotCachedError). */
  pull?: boolean;
  /**
   * Called once the files are known and before any byte is downloaded, with the sizes: print the size notice
   * here. Throwing (or rejecting) cancels the pull.
   */
  onPlan?: (plan: PullPlan) => void | Promise<void>;
  /** Download progress, per chunk; `createProgressPrinter` draws it. */
  onProgress?: (progress: DownloadProgress) => void;
}

/** One file a pull needs. */
export interface PlannedFile extends ManifestFile {
  /** Already in the cache with the right content: nothing to download. */
  cached: boolean;
  /** Bytes already in a `.part` file that the download will resume from. */
  partialBytes: number;
}

/** What a pull is about to do; `downloadBytes` is what the size notice should show. */
export interface PullPlan {
  ref: string;
  alias?: string;
  repo: string;
  revision: string;
  commit: string;
  quant: string;
  family?: FamilyId;
  files: PlannedFile[];
  /** Size of every file of the model. */
  totalBytes: number;
  /** Bytes still to fetch (cached files and resumable `.part` bytes excluded). */
  downloadBytes: number;
}

/** What the runtime needs to load a model. */
export interface ResolvedModel {
  /** The text model GGUF (the first shard of a split model; llama.cpp finds the others beside it). */
  modelPath: string;
  /** The vision projector GGUF; undefined when the repository or folder has none. */
  mmprojPath?: string;
  /** The model's manifest (for a local path, one made up on the spot with `endpoint: "local"`). */
  manifest: ModelManifest;
}

/** What `pullModel` reports. */
export interface PullResult extends ResolvedModel {
  plan?: PullPlan;
  /** Bytes fetched over the network by this pull. */
  downloadedBytes: number;
  /** True when nothing had to be downloaded. */
  upToDate: boolean;
  /** False when offline mode kept the pull from checking the hub for a newer commit. */
  checkedHub: boolean;
}

/** One row of `glmv list`. */
export interface ModelListEntry {
  /** The shortest name that pulls it again: `alias` or `alias:QUANT` or `owner/repo:QUANT`. */
  name: string;
  ref: string;
  repo: string;
  quant: string;
  family?: FamilyId;
  /** Sum of the file sizes. */
  size: number;
  pulledAt: string;
  commit: string;
  /** Every file is present with its recorded size. */
  complete: boolean;
  modelPath: string;
  mmprojPath?: string;
}

interface Context {
  home: string;
  env: StoreEnv;
  cwd: string;
  endpoint: string;
  token?: string;
  offline: boolean;
}

function contextOf(options: StoreOptions): Context {
  const env = options.env ?? process.env;
  return {
    home: options.home ?? glmvHome(env),
    env,
    cwd: options.cwd ?? process.cwd(),
    endpoint: hubEndpoint(env),
    token: hubToken(env),
    offline: isOffline(env),
  };
}

function expandPath(path: string, cwd: string): string {
  if (path === "~" || path.startsWith("~/")) return join(homedir(), path.slice(1));
  return resolvePath(cwd, path);
}

function parse(ref: string, ctx: Context): ModelRef {
  return parseModelRef(ref, (p) => existsSync(expandPath(p, ctx.cwd)));
}

/**
 * Resolves a model reference to file paths: an alias or `owner/repo[:quant]` from the cache (no network when
 * it is there), downloading it first when `pull` is true; a local `.gguf` file or folder as is.
 * Throws ModelNotCachedError (pull false), OfflineError (offline and not cached), or the pull's errors.
 */
export async function resolveModel(ref: string, options: ResolveOptions = {}): Promise<ResolvedModel> {
  const ctx = contextOf(options);
  const parsed = parse(ref, ctx);
  if (parsed.kind === "local") return resolveLocal(parsed.path, parsed.quant, ctx);
  const cached = await findCached(ctx.home, parsed);
  if (cached && (await missingFiles(ctx.home, cached)).length === 0) return resolvedFrom(ctx.home, cached);
  const state = cached ? " (its files are incomplete in the cache)" : "";
  if (!options.pull) {
    throw new ModelNotCachedError(`${ref} is not downloaded yet${state}. Run: glmv pull ${ref}`);
  }
  if (ctx.offline) throw offlineError(ref);
  return pullModel(ref, options);
}

function offlineError(ref: string): OfflineError {
  return new OfflineError(
    `${ref} is not in the cache, and offline mode (GLMV_OFFLINE or HF_HUB_OFFLINE) forbids downloading it. ` +
      `Unset it and run: glmv pull ${ref}. \`glmv list\` shows the cached models.`,
  );
}

/**
 * Pulls a model: lists the repository, picks the files for the quantisation, downloads what is missing or
 * changed (resumable, sha256-checked), and writes the manifest. Offline, a cached model is returned unchecked.
 */
export async function pullModel(ref: string, options: ResolveOptions = {}): Promise<PullResult> {
  const ctx = contextOf(options);
  const parsed = parse(ref, ctx);
  if (parsed.kind === "local") {
    const local = await resolveLocal(parsed.path, parsed.quant, ctx);
    return { ...local, downloadedBytes: 0, upToDate: true, checkedHub: false };
  }
  if (ctx.offline) {
    const cached = await findCached(ctx.home, parsed);
    if (cached && (await missingFiles(ctx.home, cached)).length === 0) {
      return { ...resolvedFrom(ctx.home, cached), downloadedBytes: 0, upToDate: true, checkedHub: false };
    }
    throw offlineError(ref);
  }

  const plan = await makePlan(ctx, parsed, options);
  await options.onPlan?.(plan);
  await checkFreeSpace(ctx.home, plan.downloadBytes);

  const toFetch = plan.files.filter((f) => !f.cached);
  let downloadedBytes = 0;
  for (const [i, file] of toFetch.entries()) {
    const report = (received: number, total: number, resumedFrom: number, done: boolean) =>
      options.onProgress?.({
        file: file.path,
        fileIndex: i + 1,
        fileCount: toFetch.length,
        received,
        total,
        resumedFrom,
        done,
      });
    const result = await downloadFile(
      {
        url: resolveUrl(ctx.endpoint, plan.repo, plan.commit, file.path),
        dest: cachedFilePath(ctx.home, plan.repo, file),
        size: file.size,
        sha256: file.sha256,
        context: {
          endpoint: ctx.endpoint,
          repo: plan.repo,
          file: file.path,
          tokenGiven: Boolean(ctx.token),
        },
      },
      {
        token: ctx.token,
        fetch: options.fetch,
        signal: options.signal,
        retries: options.retries,
        retryDelayMs: options.retryDelayMs,
        idleTimeoutMs: options.idleTimeoutMs,
        onProgress: (received, total, resumedFrom) => report(received, total, resumedFrom, false),
      },
    );
    downloadedBytes += result.fetchedBytes;
    report(file.size, file.size, result.resumedFrom, true);
  }

  const manifest: ModelManifest = {
    version: 1,
    ref: plan.ref,
    ...(plan.alias ? { alias: plan.alias } : {}),
    repo: plan.repo,
    revision: plan.revision,
    commit: plan.commit,
    quant: plan.quant,
    ...(plan.family ? { family: plan.family } : {}),
    endpoint: ctx.endpoint,
    files: plan.files.map(({ role, path, size, sha256 }) => ({
      role,
      path,
      size,
      ...(sha256 ? { sha256 } : {}),
    })),
    pulledAt: new Date().toISOString(),
  };
  await syncSiblingManifests(ctx.home, manifest);
  await writeManifest(ctx.home, manifest);
  return {
    ...resolvedFrom(ctx.home, manifest),
    plan,
    downloadedBytes,
    upToDate: toFetch.length === 0,
    checkedHub: true,
  };
}

/**
 * Lists the repository and reports what a pull would download, without downloading (the size notice).
 * For a model already cached at the same commit, `downloadBytes` is 0.
 */
export async function planPull(ref: string, options: StoreOptions = {}): Promise<PullPlan> {
  const ctx = contextOf(options);
  const parsed = parse(ref, ctx);
  if (parsed.kind === "local") throw new ModelRefError(`${ref} is a local path: there is nothing to pull.`);
  if (ctx.offline) throw offlineError(ref);
  return makePlan(ctx, parsed, options);
}

/** Lists the repository on the hub, picks the files of the wanted quantisation and checks which are cached. */
async function makePlan(
  ctx: Context,
  parsed: ModelRef & { kind: "repo" },
  options: StoreOptions,
): Promise<PullPlan> {
  const listing = await fetchRepoListing(parsed.repo, parsed.revision, {
    endpoint: ctx.endpoint,
    token: ctx.token,
    fetch: options.fetch,
    signal: options.signal,
  });
  const selection = selectFiles(listing.files, wantedQuant(parsed), listing.repo, formatBytes);
  const home = ctx.home;
  const alias = parsed.alias ?? aliasForRepo(listing.repo);
  const family = alias?.family ?? guessFamily(listing.repo) ?? guessFamily(selection.modelFiles[0].path);
  const wanted: { role: "model" | "mmproj"; file: RepoFile }[] = [
    ...selection.modelFiles.map((file) => ({ role: "model" as const, file })),
    ...(selection.mmproj ? [{ role: "mmproj" as const, file: selection.mmproj }] : []),
  ];
  const siblings = await repoManifests(home, listing.repo);
  const files: PlannedFile[] = [];
  for (const { role, file } of wanted) {
    const dest = cachedFilePath(home, listing.repo, file.path);
    const cached = await isCachedFile(dest, file, siblings);
    const partialBytes = cached ? 0 : await resumableBytes(dest, file);
    files.push({
      role,
      path: file.path,
      size: file.size,
      ...(file.sha256 ? { sha256: file.sha256 } : {}),
      cached,
      partialBytes,
    });
  }
  return {
    ref: canonicalRef(listing.repo, selection.quant),
    ...(alias ? { alias: alias.name } : {}),
    repo: listing.repo,
    revision: parsed.revision,
    commit: listing.commit,
    quant: selection.quant,
    ...(family ? { family } : {}),
    files,
    totalBytes: files.reduce((n, f) => n + f.size, 0),
    downloadBytes: files.filter((f) => !f.cached).reduce((n, f) => n + f.size - f.partialBytes, 0),
  };
}

/**
 * A file counts as cached when it exists with the listed size and its sha256 is known to match: recorded
 * in a manifest of the same repository, or (no manifest vouches for it) by hashing it now.
 */
async function isCachedFile(
  dest: string,
  file: RepoFile,
  siblings: { manifest: ModelManifest }[],
): Promise<boolean> {
  const size = await sizeOf(dest);
  if (size !== file.size) return false;
  if (!file.sha256) return true;
  const vouched = siblings.some(({ manifest }) =>
    manifest.files.some((f) => f.path === file.path && f.sha256 === file.sha256),
  );
  if (vouched) return true;
  return (await sha256File(dest)) === file.sha256;
}

async function resumableBytes(dest: string, file: RepoFile): Promise<number> {
  const size = (await sizeOf(partPath(dest))) ?? 0;
  return size <= file.size ? size : 0;
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}

async function checkFreeSpace(home: string, needed: number): Promise<void> {
  if (needed <= 0) return;
  let dir = home;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  let free: number;
  try {
    const s = await statfs(dir);
    free = Number(s.bavail) * Number(s.bsize);
  } catch {
    return;
  }
  const margin = 64 * 1024 * 1024;
  if (free < needed + margin) {
    throw new DiskFullError(
      `Not enough disk space: the download needs ${formatBytes(needed)}, but only ${formatBytes(free)} is free ` +
        `at ${dir}. Free some space, or set GLMV_HOME to a folder on a bigger disk.`,
    );
  }
}

/** A pull that replaced a file shared with other quantisations (e.g. the mmproj) updates their manifests. */
async function syncSiblingManifests(home: string, manifest: ModelManifest): Promise<void> {
  for (const { manifest: other } of await repoManifests(home, manifest.repo)) {
    if (other.quant.toUpperCase() === manifest.quant.toUpperCase()) continue;
    let changed = false;
    const files = other.files.map((f) => {
      const now = manifest.files.find((m) => m.path === f.path);
      if (now && (now.sha256 !== f.sha256 || now.size !== f.size)) {
        changed = true;
        return { ...f, size: now.size, ...(now.sha256 ? { sha256: now.sha256 } : {}) };
      }
      return f;
    });
    if (changed) await writeManifest(home, { ...other, files });
  }
}

/** The cached manifest a repository reference means, without touching the network. */
async function findCached(
  home: string,
  parsed: ModelRef & { kind: "repo" },
): Promise<ModelManifest | undefined> {
  const all = (await repoManifests(home, parsed.repo))
    .map((m) => m.manifest)
    .filter((m) => revisionMatches(m, parsed.revision));
  const quant = wantedQuant(parsed);
  if (quant !== undefined) return all.find((m) => m.quant.toUpperCase() === quant.toUpperCase());
  for (const q of DEFAULT_QUANT_ORDER) {
    const hit = all.find((m) => m.quant.toUpperCase() === q);
    if (hit) return hit;
  }
  return all.length === 1 ? all[0] : undefined;
}

function revisionMatches(manifest: ModelManifest, revision: string): boolean {
  if (manifest.revision === revision) return true;
  return (
    revision.length >= 7 &&
    /^[0-9a-f]+$/i.test(revision) &&
    manifest.commit.startsWith(revision.toLowerCase())
  );
}

/** Files of a manifest that are missing from the cache or have the wrong size. */
async function missingFiles(home: string, manifest: ModelManifest): Promise<string[]> {
  const missing: string[] = [];
  for (const f of manifest.files) {
    if ((await sizeOf(cachedFilePath(home, manifest.repo, f))) !== f.size) missing.push(f.path);
  }
  return missing;
}

function resolvedFrom(home: string, manifest: ModelManifest): ResolvedModel {
  const model = manifest.files.find((f) => f.role === "model");
  const mmproj = manifest.files.find((f) => f.role === "mmproj");
  if (!model)
    throw new ModelNotCachedError(`The manifest of ${manifest.ref} lists no model file. Pull it again.`);
  return {
    modelPath: cachedFilePath(home, manifest.repo, model),
    ...(mmproj ? { mmprojPath: cachedFilePath(home, manifest.repo, mmproj) } : {}),
    manifest,
  };
}

/**
 * A local `.gguf` file (with the mmproj beside it when one clearly belongs to it: see `mmprojBeside`), or a
 * folder holding the model(s) and an mmproj (chosen like a repository's files).
 */
async function resolveLocal(path: string, quant: string | undefined, ctx: Context): Promise<ResolvedModel> {
  const abs = expandPath(path, ctx.cwd);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(abs);
  } catch {
    throw new ModelRefError(
      `No such file or folder: ${abs}. Give a .gguf file, a folder, an alias or owner/repo.`,
    );
  }
  const local = (files: ManifestFile[], q: string): ModelManifest => ({
    version: 1,
    ref: abs,
    repo: abs,
    revision: "",
    commit: "",
    quant: q,
    endpoint: "local",
    files,
    pulledAt: info.mtime.toISOString(),
    ...(guessFamily(abs) ? { family: guessFamily(abs) } : {}),
  });
  if (info.isFile()) {
    if (isMmproj(abs)) {
      throw new ModelRefError(
        `${abs} is a vision projector (mmproj), not a model. Give the model .gguf, or the folder holding both.`,
      );
    }
    const q = quant ?? quantLabel(abs) ?? basename(abs).replace(/\.gguf$/i, "");
    const mmproj = mmprojBeside(basename(abs), await ggufFilesIn(dirname(abs)));
    const files: ManifestFile[] = [{ role: "model", path: basename(abs), size: info.size }];
    if (mmproj) files.push({ role: "mmproj", path: mmproj.path, size: mmproj.size });
    return {
      modelPath: abs,
      ...(mmproj ? { mmprojPath: join(dirname(abs), mmproj.path) } : {}),
      manifest: local(files, q),
    };
  }
  const entries = await ggufFilesIn(abs);
  const selection = selectFiles(entries, quant, abs, formatBytes);
  const files: ManifestFile[] = [
    ...selection.modelFiles.map((f) => ({ role: "model" as const, path: f.path, size: f.size })),
    ...(selection.mmproj
      ? [{ role: "mmproj" as const, path: selection.mmproj.path, size: selection.mmproj.size }]
      : []),
  ];
  return {
    modelPath: join(abs, selection.modelFiles[0].path),
    ...(selection.mmproj ? { mmprojPath: join(abs, selection.mmproj.path) } : {}),
    manifest: local(files, selection.quant),
  };
}

/** The `.gguf` files directly inside a folder, with sizes. */
async function ggufFilesIn(dir: string): Promise<RepoFile[]> {
  const entries: RepoFile[] = [];
  for (const name of (await readdir(dir)).sort()) {
    if (!/\.gguf$/i.test(name)) continue;
    const s = await stat(join(dir, name)).catch(() => undefined);
    if (s?.isFile()) entries.push({ path: name, size: s.size });
  }
  return entries;
}

/** Every model in the cache, for `glmv list`. Never touches the network. */
export async function listModels(options: StoreOptions = {}): Promise<ModelListEntry[]> {
  const ctx = contextOf(options);
  const out: ModelListEntry[] = [];
  for (const { manifest } of await readAllManifests(ctx.home)) {
    const alias = aliasForRepo(manifest.repo);
    const name = alias
      ? manifest.quant.toUpperCase() === alias.defaultQuant.toUpperCase()
        ? alias.name
        : `${alias.name}:${manifest.quant}`
      : manifest.ref;
    const resolved = resolvedFrom(ctx.home, manifest);
    out.push({
      name,
      ref: manifest.ref,
      repo: manifest.repo,
      quant: manifest.quant,
      ...(manifest.family ? { family: manifest.family } : {}),
      size: manifest.files.reduce((n, f) => n + f.size, 0),
      pulledAt: manifest.pulledAt,
      commit: manifest.commit,
      complete: (await missingFiles(ctx.home, manifest)).length === 0,
      modelPath: resolved.modelPath,
      ...(resolved.mmprojPath ? { mmprojPath: resolved.mmprojPath } : {}),
    });
  }
  return out;
}

/** What `removeModel` did. */
export interface RemoveResult {
  /** The manifests removed (one per quantisation). */
  removed: ModelManifest[];
  /** Bytes of files deleted (files still used by another quantisation are kept). */
  freedBytes: number;
}

/**
 * Removes a pulled model from the cache: its manifest and every file no other pulled quantisation of the
 * same repository still uses. Without a quantisation (`owner/repo`, or an alias without `:QUANT`) every
 * pulled quantisation of the repository goes. Throws ModelNotFoundError when nothing matches.
 */
export async function removeModel(ref: string, options: StoreOptions = {}): Promise<RemoveResult> {
  const ctx = contextOf(options);
  const parsed = parse(ref, ctx);
  if (parsed.kind === "local") {
    throw new ModelRefError(
      `${ref} is a local path. glmv rm removes only models pulled into the cache (${ctx.home}); delete your own files yourself.`,
    );
  }
  const all = await repoManifests(ctx.home, parsed.repo);
  const targets = parsed.quant
    ? all.filter((m) => m.manifest.quant.toUpperCase() === parsed.quant!.toUpperCase())
    : all;
  if (targets.length === 0) {
    const other = all.map((m) => m.manifest.quant);
    throw new ModelNotFoundError(
      other.length > 0
        ? `${ref} is not in the cache; ${parsed.repo} is cached as ${other.join(", ")}. ` +
            `Remove one with e.g. glmv rm ${parsed.repo}:${other[0]}.`
        : `${ref} is not in the cache (${ctx.home}). Run \`glmv list\` to see what is.`,
    );
  }
  const repo = targets[0].manifest.repo;
  for (const t of targets) await rm(t.path, { force: true });
  const remaining = all.filter((m) => !targets.includes(m));
  const stillUsed = new Set(remaining.flatMap((m) => m.manifest.files.map((f) => f.path)));
  let freedBytes = 0;
  const dir = repoDir(ctx.home, repo);
  if (remaining.length === 0) {
    freedBytes = await treeSize(dir);
    await rm(dir, { recursive: true, force: true });
  } else {
    for (const t of targets) {
      for (const f of t.manifest.files) {
        if (stillUsed.has(f.path)) continue;
        const path = cachedFilePath(ctx.home, repo, f);
        for (const p of [path, partPath(path), `${partPath(path)}.json`]) {
          freedBytes += (await sizeOf(p)) ?? 0;
          await rm(p, { force: true });
        }
      }
    }
  }
  await removeEmptyParents(dirname(manifestPath(ctx.home, repo, "x")), join(ctx.home, "manifests"));
  await removeEmptyParents(dirname(dir), join(ctx.home, "models"));
  return { removed: targets.map((t) => t.manifest), freedBytes };
}

async function treeSize(path: string): Promise<number> {
  let total = 0;
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(path, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(path, e.name);
    if (e.isDirectory()) total += await treeSize(p);
    else if (e.isFile()) total += (await sizeOf(p)) ?? 0;
  }
  return total;
}

/** Removes `dir` and its parents while they are empty, stopping at `stop`. */
async function removeEmptyParents(dir: string, stop: string): Promise<void> {
  let current = dir;
  while (current.startsWith(stop) && current !== stop) {
    try {
      await rmdir(current);
    } catch {
      return;
    }
    current = dirname(current);
  }
}
