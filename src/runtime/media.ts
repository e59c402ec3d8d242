import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { cliPolicy, type MediaPolicy } from "../media/policy.ts";
import { prepareMediaParts } from "../media/prepare.ts";
import type { PreparedMedia } from "../media/types.ts";
import type { MediaPreparer, MediaReference } from "./embedded.ts";

/** A MediaPreparer that runs every part through the media pipeline under `policy`. */
export function policyMediaPreparer(policy: MediaPolicy): MediaPreparer {
  return (reference, context) =>
    prepareMediaParts(reference.url, {
      family: context.family,
      policy,
      signal: context.signal,
      kind: reference.kind,
      onNote: context.onNote,
    });
}

/**
 * Remembers prepared media of local files (keyed by path, size and modification time) and `data:` URIs (by
 * content hash), so a conversation does not decode its image or re-run ffmpeg on its video at every turn.
 * Remote URLs are prepared again each time (their content may change). Keeps the `maxEntries` last used.
 */
export function cachingMediaPreparer(inner: MediaPreparer, maxEntries = 8): MediaPreparer {
  const cache = new Map<string, Promise<PreparedMedia[]>>();
  return async (reference, context) => {
    const key = await cacheKey(reference, context.family);
    if (key === undefined) return inner(reference, context);
    let entry = cache.get(key);
    if (entry)
      cache.delete(key); // re-inserted below as the most recently used
    else entry = inner(reference, context);
    cache.set(key, entry);
    while (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
    try {
      return await entry;
    } catch (error) {
      cache.delete(key); // a failure (or an abort) is not remembered
      throw error;
    }
  };
}

async function cacheKey(reference: MediaReference, family: string): Promise<string | undefined> {
  const { url, kind } = reference;
  if (url.startsWith("data:")) {
    return `${family}:${kind}:data:${createHash("sha256").update(url).digest("hex")}`;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith("file:")) return undefined;
  const path = url.startsWith("file:") ? fileURLToPath(url) : url;
  try {
    const s = await stat(path);
    return `${family}:${kind}:file:${path}:${s.size}:${s.mtimeMs}`;
  } catch {
    return undefined; // let the pipeline report the missing file
  }
}

/** The preparer of local front ends (CLI): the user's own files and network (`cliPolicy`), cached per file. */
export const prepareMediaForRuntime: MediaPreparer = cachingMediaPreparer(policyMediaPreparer(cliPolicy()));
