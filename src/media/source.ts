/**
 * Media sources: a path, a file: URL, an http(s) URL, a data: URI, or bytes. Loading applies the policy
 * (allowed folders, fetch limits) and detects the type from the content.
 */
import { constants } from "node:fs";
import { open, realpath } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type DetectedType, describeUnknown, detectType } from "./detect.ts";
import { describeInput, MediaError } from "./errors.ts";
import { fetchMedia } from "./fetch.ts";
import type { MediaPolicy } from "./policy.ts";

/** Anything a user can hand glmv as one media part. Strings may be a path, file:/http(s): URL or data: URI. */
export type MediaSource = string | URL | Uint8Array | ArrayBuffer | { data: Uint8Array; name?: string };

/** Where a loaded source came from. */
export type SourceOrigin = "path" | "url" | "data" | "bytes";

/** A source after the policy checks, with its detected type. */
export interface LoadedSource {
  /** How errors and notes name this input. */
  input: string;
  origin: SourceOrigin;
  type: DetectedType;
  /** Size in bytes. */
  size: number;
  /** The resolved real path, for local files (tools such as ffmpeg read it directly). */
  path?: string;
  /** The original URL, for remote sources (pass-through engines can forward it untouched). */
  url?: string;
  /** The whole content, when already in memory. */
  bytes?: Uint8Array;
  /** The whole content (reads a local file on first call, within the policy's maxBytes). */
  read(): Promise<Uint8Array>;
}

/** How a string source is read. */
export type SourceKind = "data-uri" | "url" | "file-url" | "other-url" | "path";

/** Classifies a string source without touching the file system or network. */
export function sourceKind(source: string): SourceKind {
  if (/^data:/i.test(source)) return "data-uri";
  if (/^https?:\/\//i.test(source)) return "url";
  if (/^file:/i.test(source)) return "file-url";
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return "other-url";
  return "path";
}

/** Decodes a data: URI (`data:[type][;base64],payload`) within a size limit. */
export function decodeDataUri(uri: string, maxBytes: number): { bytes: Uint8Array; declaredType: string } {
  const input = describeInput(uri);
  const comma = uri.indexOf(",");
  if (comma < 0) {
    throw new MediaError(
      "bad-data-uri",
      input,
      "the data: URI has no comma before its payload",
      "Write it as data:<type>;base64,<payload>.",
    );
  }
  const meta = uri.slice(5, comma);
  const payload = uri.slice(comma + 1);
  const base64 = /;base64$/i.test(meta);
  const declaredType = meta
    .replace(/;base64$/i, "")
    .split(";")[0]
    .trim()
    .toLowerCase();
  const estimated = base64 ? Math.floor((payload.length * 3) / 4) : payload.length;
  if (estimated > maxBytes) {
    throw new MediaError(
      "too-large",
      input,
      `the data: URI holds about ${estimated} bytes, over the limit of ${maxBytes}`,
      "Send a smaller file, or raise maxBytes in the media policy.",
    );
  }
  if (base64) {
    const clean = payload.replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean)) {
      throw new MediaError(
        "bad-data-uri",
        input,
        "the base64 payload has characters that are not base64",
        "Encode the file with standard base64.",
      );
    }
    const buf = Buffer.from(clean, "base64");
    return { bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), declaredType };
  }
  try {
    return { bytes: new TextEncoder().encode(decodeURIComponent(payload)), declaredType };
  } catch {
    throw new MediaError(
      "bad-data-uri",
      input,
      "the payload is not valid percent-encoding",
      "Use base64 instead.",
    );
  }
}

function detectOrThrow(bytes: Uint8Array, input: string): DetectedType {
  const type = detectType(bytes);
  if (!type) {
    throw new MediaError(
      "unsupported-type",
      input,
      describeUnknown(bytes),
      "glmv takes JPEG, PNG, WebP, GIF, BMP, TIFF, AVIF images; MP4, MOV, WebM, MKV, AVI videos; PDF; PPT, PPTX, ODP, DOC, DOCX.",
    );
  }
  return type;
}

function inMemory(bytes: Uint8Array, input: string, origin: SourceOrigin, policy: MediaPolicy): LoadedSource {
  if (bytes.length > policy.maxBytes) {
    throw new MediaError(
      "too-large",
      input,
      `the input is ${bytes.length} bytes, over the limit of ${policy.maxBytes}`,
      "Send a smaller file, or raise maxBytes in the media policy.",
    );
  }
  return {
    input,
    origin,
    type: detectOrThrow(bytes, input),
    size: bytes.length,
    bytes,
    read: async () => bytes,
  };
}

/**
 * Resolves a local path under the policy: the real path (symlinks resolved) must lie inside an allowed folder.
 * Refuses traversal (`..`) and symlink escapes, and every local file when the policy allows none.
 */
export async function resolveLocalPath(path: string, policy: MediaPolicy, input = path): Promise<string> {
  if (policy.localFiles !== "any" && policy.localFiles.length === 0) {
    throw new MediaError(
      "not-allowed",
      input,
      "reading local files is not allowed here",
      "Send the file as bytes or a data: URI, or start the server with an allowed media folder.",
    );
  }
  let real: string;
  try {
    real = await realpath(resolve(path));
  } catch (cause) {
    // Outside the allowed folders, say "not allowed" whether or not the file exists (no existence oracle).
    if (
      policy.localFiles !== "any" &&
      !policy.localFiles.some((root) => isInside(resolve(root), resolve(path)))
    ) {
      throw outsideAllowed(input, policy.localFiles);
    }
    const code = (cause as NodeJS.ErrnoException).code;
    throw new MediaError(
      "not-found",
      input,
      code === "ENOENT" ? "no such file" : `cannot read this path (${code})`,
      "Check the path.",
      { cause },
    );
  }
  if (policy.localFiles === "any") return real;
  for (const root of policy.localFiles) {
    let realRoot: string;
    try {
      realRoot = await realpath(resolve(root));
    } catch {
      continue;
    }
    if (isInside(realRoot, real)) return real;
  }
  throw outsideAllowed(input, policy.localFiles);
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

function outsideAllowed(input: string, roots: readonly string[]): MediaError {
  return new MediaError(
    "not-allowed",
    input,
    "this path is outside the allowed media folder (after resolving '..' and symbolic links)",
    `Put the file under ${roots.join(" or ")}, or send it as bytes.`,
  );
}

const HEAD_BYTES = 1 << 20;

async function loadPath(path: string, policy: MediaPolicy, input: string): Promise<LoadedSource> {
  const real = await resolveLocalPath(path, policy, input);
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW).catch((cause) => {
    throw new MediaError("not-found", input, `cannot open this file (${cause.code})`, "Check the path.", {
      cause,
    });
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      throw new MediaError(
        "not-found",
        input,
        "this is not a regular file",
        "Give the path of a media file.",
      );
    }
    const headLength = Math.min(stat.size, HEAD_BYTES);
    const head = new Uint8Array(headLength);
    await handle.read(head, 0, headLength, 0);
    let type = detectType(head);
    let bytes: Uint8Array | undefined;
    // ZIP-based office files keep their directory at the end: read them whole.
    if (!type && head[0] === 0x50 && head[1] === 0x4b && stat.size <= policy.maxBytes) {
      bytes = new Uint8Array(await handle.readFile());
      type = detectType(bytes);
    }
    if (!type) detectOrThrow(bytes ?? head, input);
    let cached = bytes ?? (stat.size === headLength ? head : undefined);
    return {
      input,
      origin: "path",
      type: type!,
      size: stat.size,
      path: real,
      bytes: cached,
      read: async () => {
        if (cached) return cached;
        if (stat.size > policy.maxBytes) {
          throw new MediaError(
            "too-large",
            input,
            `the file is ${stat.size} bytes, over the limit of ${policy.maxBytes}`,
            "Use a smaller file, or raise maxBytes in the media policy.",
          );
        }
        const h = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
        try {
          cached = new Uint8Array(await h.readFile());
        } finally {
          await h.close();
        }
        return cached;
      },
    };
  } finally {
    await handle.close();
  }
}

/**
 * Loads a media source under a policy and detects its type. Paths and file: URLs go through the folder rules,
 * http(s) URLs through the guarded fetch, data: URIs and bytes through the size limit.
 */
export async function loadSource(
  source: MediaSource,
  policy: MediaPolicy,
  signal?: AbortSignal,
): Promise<LoadedSource> {
  if (source instanceof Uint8Array) return inMemory(source, "bytes", "bytes", policy);
  if (source instanceof ArrayBuffer) return inMemory(new Uint8Array(source), "bytes", "bytes", policy);
  if (source instanceof URL) return loadSource(source.href, policy, signal);
  if (typeof source === "object" && source !== null && "data" in source) {
    return inMemory(source.data, source.name ?? "bytes", "bytes", policy);
  }
  if (typeof source !== "string" || source.length === 0) {
    throw new MediaError(
      "invalid-argument",
      String(source),
      "a media source must be a path, URL, data: URI or bytes",
      "Pass one of those.",
    );
  }
  const input = describeInput(source);
  switch (sourceKind(source)) {
    case "data-uri":
      return inMemory(decodeDataUri(source, policy.maxBytes).bytes, input, "data", policy);
    case "url": {
      const fetched = await fetchMedia(source, policy, signal);
      return { ...inMemory(fetched.bytes, input, "url", policy), url: source };
    }
    case "file-url": {
      let path: string;
      try {
        path = fileURLToPath(source);
      } catch (cause) {
        throw new MediaError(
          "invalid-argument",
          input,
          "this file: URL is not valid",
          "Use file:///absolute/path.",
          {
            cause,
          },
        );
      }
      return loadPath(path, policy, input);
    }
    case "other-url":
      throw new MediaError(
        "not-allowed",
        input,
        `${source.slice(0, source.indexOf(":"))}: URLs are not supported`,
        "Use an http(s) URL, a data: URI, a local path or the bytes.",
      );
    case "path":
      return loadPath(source, policy, input);
  }
}
