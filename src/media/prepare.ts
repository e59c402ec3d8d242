/**
 * The one high-level entry: any source → what an engine needs. Images become a PreparedImage, videos a
 * PreparedVideo of frame pairs, PDFs and office files a PreparedDocument of page images; with `passThrough`
 * the original URL or bytes go to a remote engine untouched.
 */
import type { FamilyId } from "../protocol/families.ts";
import { MediaError } from "./errors.ts";
import { checkUrlTarget } from "./fetch.ts";
import { prepareImage } from "./image.ts";
import { convertToPdf } from "./office.ts";
import { preparePdf } from "./pdf.ts";
import { type MediaPolicy, serverPolicy } from "./policy.ts";
import type { PixelBudget } from "./smart-resize.ts";
import { type LoadedSource, loadSource, type MediaSource, sourceKind } from "./source.ts";
import type { PassThroughMedia, PreparedDocument, PreparedImage, PreparedVideo } from "./types.ts";
import { prepareVideo } from "./video.ts";

/** The broad kind of a media part, as prompts and APIs name it. */
export type MediaPartKind = "image" | "video" | "document";

/** Budgets; unset fields take the family's defaults (spec §6–§8). */
export interface MediaBudget {
  /** Per-image pixel budget (checkpoint's preprocessor_config.json). */
  image?: PixelBudget;
  /** Whole-video pixel budget (checkpoint's video_preprocessor_config.json). */
  video?: PixelBudget;
  /** GLM-4.1V rule: frames per second (default 2). */
  videoFps?: number;
  /** Document rendering resolution (default 180 dpi). */
  dpi?: number;
  /** Document pages to render, 1-based ("1-3,5"). */
  pages?: string | number[];
  /** Most document pages (default 60). */
  maxPages?: number;
  /** Token budget for a document's pages (default 24,000; Infinity for none). */
  maxTokens?: number;
}

/** Options of {@link prepareMedia}. */
export interface PrepareOptions {
  /** Model family (sizes, sampling rule). Default glm-4.6v. */
  family?: FamilyId;
  /** The kind the caller expects (e.g. from an `image_url` part); a different content is refused. */
  kind?: MediaPartKind;
  /** What may be read (default: the strict server policy). The CLI passes `cliPolicy()`. */
  policy?: MediaPolicy;
  budget?: MediaBudget;
  /** Return the original URL/bytes for a remote engine instead of decoding. */
  passThrough?: boolean;
  /** Time limits for ffmpeg and LibreOffice runs, ms. */
  videoTimeoutMs?: number;
  officeTimeoutMs?: number;
  /** Time limit for rendering a document's pages, ms (default 120 s). */
  documentTimeoutMs?: number;
  /** Aborting stops fetches, ffmpeg, LibreOffice and page rendering; the call rejects with the reason. */
  signal?: AbortSignal;
  /**
   * Receives the media's human note (pages of a document left out or downscaled, a video without frame-rate
   * metadata), for the caller to show as a warning.
   */
  onNote?: (note: string) => void;
}

/** What {@link prepareMedia} returns. */
export type MediaResult = PreparedImage | PreparedVideo | PreparedDocument | PassThroughMedia;

/** The part kind of a loaded source. */
export function partKindOf(source: Pick<LoadedSource, "type">): MediaPartKind {
  return source.type.kind === "image" ? "image" : source.type.kind === "video" ? "video" : "document";
}

/**
 * Loads, checks and prepares one media source for the family's engine. Every failure is a MediaError naming
 * the input and the fix.
 */
export async function prepareMedia(source: MediaSource, options: PrepareOptions = {}): Promise<MediaResult> {
  const url = source instanceof URL ? source.href : typeof source === "string" ? source : undefined;
  if (options.passThrough && url && sourceKind(url) === "url") return passThroughRemote(url, options);
  const loaded = await loadSource(source, options.policy ?? serverPolicy(), options.signal);
  return prepareLoadedSource(loaded, options);
}

/** {@link prepareMedia} for a source already loaded (and checked) with {@link loadSource}. */
export async function prepareLoadedSource(
  loaded: LoadedSource,
  options: PrepareOptions = {},
): Promise<MediaResult> {
  const media = await decodeLoadedSource(loaded, options);
  if ((media.kind === "document" || media.kind === "video") && media.note) options.onNote?.(media.note);
  return media;
}

async function decodeLoadedSource(loaded: LoadedSource, options: PrepareOptions): Promise<MediaResult> {
  const policy = options.policy ?? serverPolicy();
  const family = options.family ?? "glm-4.6v";
  const budget = options.budget ?? {};
  const signal = options.signal;
  const kind = partKindOf(loaded);
  if (options.kind && options.kind !== kind) {
    throw new MediaError(
      "unsupported-type",
      loaded.input,
      `expected ${options.kind === "image" ? "an image" : `a ${options.kind}`} but this is a ${loaded.type.format.toUpperCase()} ${kind}`,
      `Send it as a ${kind} part instead.`,
    );
  }
  if (options.passThrough) {
    return loaded.url
      ? { kind: "passthrough", mediaKind: kind, mimeType: loaded.type.mimeType, url: loaded.url }
      : { kind: "passthrough", mediaKind: kind, mimeType: loaded.type.mimeType, bytes: await loaded.read() };
  }
  switch (loaded.type.kind) {
    case "image":
      return prepareImage(await loaded.read(), {
        family,
        budget: budget.image,
        maxInputPixels: policy.maxInputPixels,
        input: loaded.input,
      });
    case "video":
      return prepareVideo(loaded.path ?? (await loaded.read()), {
        family,
        budget: budget.video,
        fps: budget.videoFps,
        timeoutMs: options.videoTimeoutMs,
        input: loaded.input,
        signal,
        maxInputPixels: policy.maxInputPixels,
      });
    case "pdf":
    case "office": {
      const pdf =
        loaded.type.kind === "pdf"
          ? await loaded.read()
          : await convertToPdf(loaded.path ?? (await loaded.read()), loaded.type, {
              timeoutMs: options.officeTimeoutMs,
              input: loaded.input,
              signal,
            });
      return preparePdf(pdf, {
        family,
        budget: budget.image,
        dpi: budget.dpi,
        pages: budget.pages,
        maxPages: budget.maxPages,
        maxTokens: budget.maxTokens,
        input: loaded.input,
        signal,
        timeoutMs: options.documentTimeoutMs,
      });
    }
  }
}

/**
 * The shape a chat runtime wants for one message part: a list of engine media (one image, one video, or one
 * image per document page). A document is accepted where an image was asked for (its pages are images);
 * a video where an image was asked for, or the reverse, is refused. No pass-through here.
 */
export async function prepareMediaParts(
  source: MediaSource,
  options: PrepareOptions = {},
): Promise<Array<PreparedImage | PreparedVideo>> {
  const loaded = await loadSource(source, options.policy ?? serverPolicy(), options.signal);
  const lenient = options.kind === "image" && partKindOf(loaded) === "document";
  const kind = lenient ? undefined : options.kind;
  return flatten(await prepareLoadedSource(loaded, { ...options, kind, passThrough: false }));
}

function flatten(media: MediaResult): Array<PreparedImage | PreparedVideo> {
  if (media.kind === "document") return media.pages;
  if (media.kind === "passthrough") throw new Error("unreachable: pass-through is off");
  return [media];
}

/** Types a remote engine can be told about from a URL's extension, when glmv does not download it. */
const EXTENSION_TYPES: Record<string, [MediaPartKind, string]> = {
  jpg: ["image", "image/jpeg"],
  jpeg: ["image", "image/jpeg"],
  png: ["image", "image/png"],
  webp: ["image", "image/webp"],
  gif: ["image", "image/gif"],
  bmp: ["image", "image/bmp"],
  tif: ["image", "image/tiff"],
  tiff: ["image", "image/tiff"],
  avif: ["image", "image/avif"],
  mp4: ["video", "video/mp4"],
  mov: ["video", "video/quicktime"],
  webm: ["video", "video/webm"],
  mkv: ["video", "video/x-matroska"],
  avi: ["video", "video/x-msvideo"],
  pdf: ["document", "application/pdf"],
};

/**
 * Pass-through of an http(s) URL: not downloaded (the remote engine fetches it), but checked against the
 * policy's address rules. The kind comes from the caller, else from the extension, else "image".
 */
async function passThroughRemote(url: string, options: PrepareOptions): Promise<PassThroughMedia> {
  const parsed = await checkUrlTarget(url, options.policy ?? serverPolicy());
  const extension = /\.([a-z0-9]+)$/i.exec(parsed.pathname)?.[1]?.toLowerCase() ?? "";
  const known = EXTENSION_TYPES[extension];
  const mediaKind = options.kind ?? known?.[0] ?? "image";
  const mimeType = known && known[0] === mediaKind ? known[1] : "application/octet-stream";
  return { kind: "passthrough", mediaKind, mimeType, url };
}

/** A pass-through part as a `data:` URI (for OpenAI-style `image_url`/`video_url` parts) or its URL. */
export function passThroughUrl(media: PassThroughMedia): string {
  if (media.url) return media.url;
  return `data:${media.mimeType};base64,${Buffer.from(media.bytes ?? new Uint8Array()).toString("base64")}`;
}
