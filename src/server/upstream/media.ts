/**
 * Media handling on the gateway path. Upstreams fetch http(s) media themselves, so the gateway forwards
 * URLs and data: URIs untouched; it only
 * - reads image sizes from data: URIs (headers only) so boxes can be given in pixels;
 * - deals with `file:` URLs: forwards them (same machine, the upstream enforces its own allowed path),
 *   refuses them, or inlines them as data: URIs after the server's media policy allowed the path.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { refusedAddressClass } from "../../media/address.ts";
import { MediaError } from "../../media/errors.ts";
import { probeImage } from "../../media/image.ts";
import type { MediaPolicy } from "../../media/policy.ts";
import { prepareMediaParts } from "../../media/prepare.ts";
import { decodeDataUri, loadSource } from "../../media/source.ts";
import type { FamilyId } from "../../protocol/families.ts";
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
      if (/^https?:/i.test(url)) await checkRemoteAddress(url, policy, `messages[${i}].content[${j}]`);
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

/** Whether any message holds a `file` part (a PDF or office document). */
export function hasDocuments(messages: ChatMessage[]): boolean {
  return messages.some((m) => Array.isArray(m.content) && m.content.some((p) => p.type === "file"));
}

/**
 * For upstreams that take no documents (vLLM, SGLang, Z.ai): renders each `file` part through the media
 * pipeline (under the server's policy, with the family's page budget) and replaces it by one JPEG
 * `image_url` part per page.
 */
export async function documentsToImages(
  messages: ChatMessage[],
  family: FamilyId,
  policy: MediaPolicy,
  signal?: AbortSignal,
): Promise<ChatMessage[]> {
  const sharp = (await import("sharp")).default;
  const out: ChatMessage[] = [];
  for (const m of messages) {
    if (!Array.isArray(m.content) || !m.content.some((p) => p.type === "file")) {
      out.push(m);
      continue;
    }
    const parts: MessagePart[] = [];
    for (const part of m.content) {
      if (part.type !== "file") {
        parts.push(part);
        continue;
      }
      const source = part.file.file_data ?? part.file.url;
      if (!source)
        throw new UnsupportedFeatureError(
          "A file part needs file.file_data (a data: URI) or file.url.",
          "file",
        );
      const pages = await prepareMediaParts(source, { family, policy, kind: "document", signal });
      for (const page of pages) {
        if (page.kind !== "image") continue;
        const jpeg = await sharp(page.data, { raw: { width: page.width, height: page.height, channels: 3 } })
          .jpeg({ quality: 90 })
          .toBuffer();
        parts.push({
          type: "image_url",
          image_url: { url: `data:image/jpeg;base64,${jpeg.toString("base64")}` },
        });
      }
    }
    out.push({ ...m, content: parts });
  }
  return out;
}

/**
 * The upstream fetches http(s) media itself, from its own network position. Refuse URLs whose host is, or
 * resolves to, an address the server's policy forbids (loopback, private, link-local by default), so the
 * gateway cannot be used to make the engine reach internal services. (The engine resolves the name again;
 * a DNS answer that changes in between is not caught here. `--allowed-media-path` does not relax this.)
 */
export async function checkRemoteAddress(url: string, policy: MediaPolicy, param: string): Promise<void> {
  if (!policy.remote) {
    throw new UnsupportedFeatureError("This server does not accept media URLs; send data: URIs.", param);
  }
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      const resolved = policy.resolve ? await policy.resolve(host) : await lookup(host, { all: true });
      addresses = resolved.map((r) => r.address);
    } catch {
      throw new UnsupportedFeatureError(`The media URL's host "${host}" does not resolve.`, param);
    }
  }
  for (const address of addresses) {
    const refused = refusedAddressClass(address, policy);
    if (refused) {
      throw new UnsupportedFeatureError(
        `The media URL points to a ${refused} address (${address}), which this server does not allow; send the media as a data: URI.`,
        param,
      );
    }
  }
}
