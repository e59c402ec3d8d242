import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  ChecksumMismatchError,
  DiskFullError,
  DownloadLockedError,
  HubResponseError,
  NetworkError,
  StoreError,
} from "./errors.ts";
import { hubError, hubHeaders, networkError, type RequestContext } from "./hub.ts";
import { formatBytes } from "./progress.ts";

/** One file to download. */
export interface DownloadTarget {
  /** The resolve URL (`{endpoint}/{repo}/resolve/{revision}/{file}`); redirects are followed. */
  url: string;
  /** Final path; the bytes go to `dest + ".part"` first and are renamed into place once verified. */
  dest: string;
  /** Expected size in bytes (from the listing). */
  size: number;
  /** Expected sha256 (the hub's LFS oid); undefined for non-LFS files: then only the size is checked. */
  sha256?: string;
  /** For error messages: which repository and file this is. */
  context: RequestContext;
}

/** Tuning and plumbing of a download. */
export interface DownloadOptions {
  token?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /**
   * How often a failed attempt (broken connection, 5xx) is retried, resuming, before giving up (default 3).
   * An attempt that received bytes counts as the first failure again, so a slow flaky link still finishes.
   */
  retries?: number;
  /** Wait before a retry, doubled each time (default 1000 ms). */
  retryDelayMs?: number;
  /** Abort a connection that sends nothing for this long (default 60 s). */
  idleTimeoutMs?: number;
  /** Called as bytes arrive: bytes on disk so far (including resumed ones), total, bytes present at start. */
  onProgress?: (received: number, total: number, resumedFrom: number) => void;
}

/** What a finished download reports. */
export interface DownloadResult {
  sha256: string;
  /** Bytes fetched over the network by this call (a resumed file fetched fewer than its size). */
  fetchedBytes: number;
  /** Bytes that were already in the `.part` file when this call started. */
  resumedFrom: number;
}

/** The sidecar written next to a `.part` file: what the partial bytes belong to. */
interface PartInfo {
  url: string;
  size: number;
  sha256?: string;
  /** ETag of the response that wrote the bytes; sent as If-Range when resuming. */
  etag?: string;
}

/** Bytes gathered before one write to the `.part` file. */
const WRITE_BATCH_BYTES = 4 * 1024 * 1024;

/** The `.part` path of a destination. */
export function partPath(dest: string): string {
  return `${dest}.part`;
}

/**
 * Downloads one file: resumable (a `.part` file and `Range` requests, validated by the sidecar's expected
 * sha256/size and `If-Range` with the ETag), sha256 checked while streaming, atomic rename into place.
 * Connection drops are retried (resuming) up to `retries` times in a row without progress.
 */
export async function downloadFile(
  target: DownloadTarget,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  await mkdir(dirname(target.dest), { recursive: true });
  const release = await acquireLock(target.dest);
  try {
    return await downloadLocked(target, options);
  } catch (error) {
    // Leave no empty `.part` behind (a refused or missing file); a partial one stays for the resume.
    if ((await fileSize(partPath(target.dest))) === 0) {
      await rm(partPath(target.dest), { force: true });
      await rm(`${partPath(target.dest)}.json`, { force: true });
    }
    throw error;
  } finally {
    await release();
  }
}

async function downloadLocked(target: DownloadTarget, options: DownloadOptions): Promise<DownloadResult> {
  const part = partPath(target.dest);
  const infoPath = `${part}.json`;
  const doFetch = options.fetch ?? globalThis.fetch;
  const retries = options.retries ?? 3;
  const retryDelay = options.retryDelayMs ?? 1000;
  const idleTimeout = options.idleTimeoutMs ?? 60_000;

  // Keep partial bytes only when they belong to the same content (same sha256 and size).
  let info = await readPartInfo(infoPath);
  if (!info || info.size !== target.size || info.sha256 !== target.sha256) {
    await rm(part, { force: true });
    info = { url: target.url, size: target.size, sha256: target.sha256 };
  }
  let offset = await fileSize(part);
  if (offset > target.size) {
    await rm(part, { force: true });
    offset = 0;
  }
  const resumedFrom = offset;
  let hash = createHash("sha256");
  let hashed = 0;
  let fetched = 0;
  let failures = 0;
  let lastError: unknown;

  while (offset < target.size || target.size === 0) {
    if (hashed !== offset) {
      hash = await hashPrefix(part, offset);
      hashed = offset;
    }
    if (failures > retries) throw asStoreError(lastError, target.url);
    if (failures > 0) await sleep(retryDelay * 2 ** (failures - 1), undefined, { signal: options.signal });

    const idle = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, idle.signal]) : idle.signal;
    let timer = setTimeout(() => idle.abort(new Error("no data received")), idleTimeout);
    const headers: Record<string, string> = hubHeaders(options.token);
    if (offset > 0) {
      headers.Range = `bytes=${offset}-`;
      // If-Range only with a strong ETag (a weak one would make the server ignore the Range). The sidecar's
      // sha256 already ties the partial bytes to the content, and the final hash check catches the rest.
      if (info.etag && !info.etag.startsWith("W/")) headers["If-Range"] = info.etag;
    }
    const before = offset;
    // Open the .part file (and record what it holds) before the request: once the response arrives, the
    // body is read at once, so bytes that reach us before a connection drop are not discarded unread.
    await writeFile(infoPath, JSON.stringify(info));
    const handle = await open(part, "a");
    let etag: string | undefined;
    // Chunks are hashed as they arrive and written in batches (fewer syscalls); `offset` counts bytes on disk.
    const pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const batch = Buffer.concat(pending);
      pending.length = 0;
      pendingBytes = 0;
      hashed = -1; // until the batch is on disk, the hash covers bytes the file may not have
      await writeAll(handle, batch);
      offset += batch.byteLength;
      hashed = offset;
    };
    try {
      const response = await doFetch(target.url, { headers, redirect: "follow", signal });
      if (response.status === 416 && offset > 0) {
        // Our partial file is not a prefix of what the server has: start over.
        await response.body?.cancel();
        await handle.truncate(0);
        offset = 0;
        continue;
      }
      if (!response.ok) {
        const retryable = response.status >= 500 || response.status === 429 || response.status === 408;
        const body = await response.text().catch(() => "");
        const error = hubError(response.status, response.headers, target.context, body.slice(0, 200));
        if (!retryable) throw error;
        lastError = error;
        failures++;
        continue;
      }
      let total = Number(response.headers.get("content-length") ?? Number.NaN);
      if (response.status === 206) {
        const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get("content-range") ?? "");
        total = range && range[3] !== "*" ? Number(range[3]) : Number.NaN;
        if (!range || Number(range[1]) !== offset) {
          await response.body?.cancel();
          await handle.truncate(0);
          offset = 0;
          failures++;
          lastError = new HubResponseError("The server answered a range request with the wrong range.", 206);
          continue;
        }
      } else if (offset > 0) {
        // 200: the server ignored the range (or If-Range said the content changed): start over.
        await handle.truncate(0);
        offset = 0;
        hash = createHash("sha256");
        hashed = 0;
      }
      if (!Number.isNaN(total) && total !== target.size) {
        await response.body?.cancel();
        throw new HubResponseError(
          `The hub serves ${target.context.file} with ${formatBytes(total)}, but its listing said ` +
            `${formatBytes(target.size)}. The repository may be changing: retry in a moment.`,
          response.status,
        );
      }
      etag = response.headers.get("etag") ?? undefined;
      if (response.body) {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          clearTimeout(timer);
          timer = setTimeout(() => idle.abort(new Error("no data received")), idleTimeout);
          const room = target.size - offset - pendingBytes;
          const piece = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
          hash.update(piece);
          pending.push(piece);
          pendingBytes += piece.byteLength;
          fetched += piece.byteLength;
          if (pendingBytes >= WRITE_BATCH_BYTES) await flush();
          options.onProgress?.(offset + pendingBytes, target.size, resumedFrom);
          if (chunk.byteLength > room) break;
        }
      }
      await flush();
      await handle.sync();
      if (offset < target.size) {
        throw new NetworkError(
          `The connection closed after ${formatBytes(offset)} of ${formatBytes(target.size)} of ` +
            `${target.context.file}. Run the pull again: it resumes where it stopped.`,
        );
      }
      if (target.size === 0) break;
    } catch (caught) {
      let error = caught;
      // Keep what arrived before the failure (a broken connection), so the resume asks only for the rest.
      try {
        await flush();
      } catch (flushError) {
        if (isDiskFull(flushError)) error = flushError;
      }
      if ((await fileSize(part)) !== offset) {
        // A write failed halfway: cut the file back to what the hash and `offset` account for.
        await handle.truncate(offset).catch(() => {});
        hashed = -1;
      }
      if (etag) {
        // Remember the ETag so the resume can send If-Range.
        info = { ...info, etag };
        await writeFile(infoPath, JSON.stringify(info)).catch(() => {});
      }
      if (options.signal?.aborted) throw options.signal.reason;
      if (isDiskFull(error)) {
        throw new DiskFullError(
          `The disk is full while writing ${target.dest} (${formatBytes(offset)} of ${formatBytes(target.size)} ` +
            "kept). Free some space, or set GLMV_HOME to a bigger disk, and pull again: it resumes.",
        );
      }
      if (error instanceof StoreError && !(error instanceof NetworkError)) throw error;
      lastError = error;
      if (offset > before) failures = 1;
      else failures++;
    } finally {
      clearTimeout(timer);
      await handle.close();
    }
  }

  if (hashed !== offset) hash = await hashPrefix(part, offset);
  const digest = hash.digest("hex");
  if (target.sha256 && digest !== target.sha256.toLowerCase()) {
    await rm(part, { force: true });
    await rm(infoPath, { force: true });
    throw new ChecksumMismatchError(
      `Checksum mismatch for ${target.context.file}: got sha256 ${digest}, the hub says ${target.sha256}. ` +
        "The corrupt download was deleted; run the pull again.",
    );
  }
  await rename(part, target.dest);
  await rm(infoPath, { force: true });
  return { sha256: digest, fetchedBytes: fetched, resumedFrom };
}

async function writeAll(handle: import("node:fs/promises").FileHandle, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.byteLength) {
    const { bytesWritten } = await handle.write(data, written, data.byteLength - written);
    written += bytesWritten;
  }
}

function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

function asStoreError(error: unknown, url: string): StoreError {
  return error instanceof StoreError ? error : networkError(error, url);
}

async function readPartInfo(path: string): Promise<PartInfo | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as PartInfo;
    return typeof parsed.size === "number" ? parsed : undefined;
  } catch {
    return undefined;
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** sha256 state over the first `length` bytes of a file (to continue hashing a resumed download). */
async function hashPrefix(path: string, length: number): Promise<Hash> {
  const hash = createHash("sha256");
  if (length === 0) return hash;
  for await (const chunk of createReadStream(path, { start: 0, end: length - 1 }))
    hash.update(chunk as Buffer);
  return hash;
}

/** sha256 of a whole file, hex. */
export async function sha256File(path: string): Promise<string> {
  const size = await fileSize(path);
  return (await hashPrefix(path, size)).digest("hex");
}

/**
 * Takes `<dest>.lock` (holding our pid) so two glmv processes never write the same `.part`. A lock left by
 * a process that no longer runs is taken over. Returns the release function.
 */
async function acquireLock(dest: string): Promise<() => Promise<void>> {
  const lock = `${dest}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lock, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(lock, { force: true });
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw error;
      const pid = Number((await readFile(lock, "utf8").catch(() => "")).trim());
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
        throw new DownloadLockedError(
          `Another glmv process (pid ${pid}) is downloading ${dest}. Wait for it to finish, or stop it and retry.`,
        );
      }
      await rm(lock, { force: true });
    }
  }
  throw new DownloadLockedError(`Could not lock ${dest} for downloading. Retry.`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
}
