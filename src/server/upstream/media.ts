/**
 * Media handling on the gateway path. Upstreams fetch http(s) media themselves, so the gateway forwards
 * URLs and data: URIs untouched; it only
 * - reads image sizes from data: URIs (headers only) so boxes can be given in pixels;
 * - deals with `file:` URLs: forwards them (same machine, the upstream enforces its own allowed path),
 *   refuses them, or inlines them as data: URIs after the server's media policy allowed the path.
 */
import { MediaError } from "../../media/errors.ts";
import { probeImage } from "../../media/image.ts";
import type { MediaPolicy } from "../../media/policy.ts";
import { decodeDataUri, loadSource } from "../../media/source.ts";
import type { ChatMessage, MessagePart } from "../../protocol/types.ts";
import type { ImageSize } from "../../runtime/types.ts";
import { UnsupportedFeatureError } from "../errors.ts";

/** What the gateway does with `file:` media URLs. */
export type LocalMediaMode = "forward" | "reject" | "inline";

/** Messages ready for an upstream, and the original sizes of their images when all are known. */
export interface UpstreamMedia {
  messages: ChatMessage[];
  /** Sizes of every image in prompt order; empty when any image's size is unknown (a remote URL). */
  imageSizes: ImageSize[];
}

/** Applies the local-media rule and reads image sizes. Throws 400-class errors for refused media. */
export async function prepareUpstreamMedia(
  messages: ChatMessage[],
  mode: LocalMediaMode,
  policy: MediaPolicy,
): Promise<UpstreamMedia> {
  const sizes: (ImageSize | undefined)[] = [];
  let changed = false;
  const out: ChatMessage[] = [];
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (!Array.isArray(m.content)) {
      out.push(m);
      continue;
    }
    const parts: MessagePart[] = [];
    for (let j = 0; j < m.content.length; j++) {
      const part = m.content[j];
      const url = partUrl(part);
      if (url === undefined) {
        if (part.type === "image" || part.type === "video") {
          throw new UnsupportedFeatureError(
            "Raw image/video parts cannot be forwarded; use image_url or video_url.",
            `messages[${i}].content[${j}]`,
          );
        }
        parts.push(part);
        continue;
      }
      let finalUrl = url;
      if (/^file:/i.test(url)) {
        if (mode === "reject") {
          throw new UnsupportedFeatureError(
            "file: URLs cannot be forwarded to this upstream; send the media as a data: URI or an http(s) URL (or start the server with --allowed-media-path).",
            `messages[${i}].content[${j}]`,
          );
        }
        if (mode === "inline") {
          const source = await loadSource(url, policy);
          const bytes = await source.read();
          finalUrl = `data:${source.type.mimeType};base64,${Buffer.from(bytes).toString("base64")}`;
          changed = true;
        }
      }
      if (part.type === "image_url") sizes.push(await sizeOf(finalUrl, policy));
      parts.push(
        part.type === "image_url"
          ? { type: "image_url", image_url: { url: finalUrl } }
          : part.type === "video_url"
            ? { type: "video_url", video_url: { url: finalUrl } }
            : part,
      );
    }
    out.push({ ...m, content: parts });
  }
  const known = sizes.every((s) => s !== undefined);
  return { messages: changed ? out : messages, imageSizes: known ? (sizes as ImageSize[]) : [] };
}

function partUrl(part: MessagePart): string | undefined {
  if (part.type === "image_url")
    return typeof part.image_url === "string" ? part.image_url : part.image_url.url;
  if (part.type === "video_url")
    return typeof part.video_url === "string" ? part.video_url : part.video_url.url;
  return undefined;
}

async function sizeOf(url: string, policy: MediaPolicy): Promise<ImageSize | undefined> {
  if (!/^data:/i.test(url)) return undefined;
  try {
    const { bytes } = decodeDataUri(url, policy.maxBytes);
    const info = await probeImage(bytes, { maxInputPixels: policy.maxInputPixels });
    return { width: info.width, height: info.height };
  } catch (error) {
    if (error instanceof MediaError) return undefined;
    throw error;
  }
}
