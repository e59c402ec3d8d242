/**
 * The embedded chat backend: messages → media → prompt → engine tokens → parsed events.
 * Shared by `glmv run`, `glmv chat` and `glmv serve` over a local engine.
 */
import type { Engine, GenerateOptions } from "../engines/types.ts";
import type { PreparedMedia } from "../media/types.ts";
import type { FamilyId } from "../protocol/families.ts";
import { finishReasonOf, getFamily, renderPrompt, StreamParser } from "../protocol/index.ts";
import type { ChatMessage, MessagePart } from "../protocol/types.ts";
import type { ChatBackend, ChatEvent, ChatFinishReason, ChatRequest, ImageSize, ModelCard } from "./types.ts";

/** A media part of a message, as the runtime hands it to the media pipeline. */
export interface MediaReference {
  /** What the message part asked for: an image, a video, or a document (PDF/office file, one image per page). */
  kind: "image" | "video" | "document";
  /** Path, http(s) URL or data: URI. */
  url: string;
}

/**
 * Turns one media part into model-ready media. A document gives one image per page; images and videos give one
 * entry. The runtime passes the model family so the right pixel budget applies, and `onNote` for the media's
 * warnings (document pages left out or downscaled, a video's assumed frame rate).
 */
export type MediaPreparer = (
  reference: MediaReference,
  context: { family: FamilyId; signal?: AbortSignal; onNote?: (note: string) => void },
) => Promise<PreparedMedia[]>;

/** A request the runtime cannot serve as given (bad media mix, marker mismatch); the message says the fix. */
export class ChatRequestError extends Error {
  override name = "ChatRequestError";
}

/** Options of {@link createEmbeddedBackend}. */
export interface EmbeddedBackendOptions {
  engine: Engine;
  /** Resolves media parts; without it, requests with media are refused with a clear error. */
  prepareMedia?: MediaPreparer;
  /** The id clients use for this model (default: the engine's model name). */
  modelId?: string;
  /** Receives the media pipeline's warnings (the CLI prints them on stderr). */
  onMediaNote?: (note: string) => void;
}

/** Wraps a loaded engine as a `ChatBackend`: the one pipeline every front end uses. */
export function createEmbeddedBackend(options: EmbeddedBackendOptions): ChatBackend {
  const { engine } = options;
  const familyId = engine.info.family;
  const card: ModelCard = {
    id: options.modelId ?? engine.info.model,
    family: familyId,
    contextSize: engine.info.contextSize,
    ownedBy: "glmv",
  };
  return {
    name: "embedded",
    devices: engine.info.devices,
    models: () => [card],
    chat: (request, signal) =>
      runChat(engine, familyId, options.prepareMedia, request, signal, options.onMediaNote),
    close: () => engine.close(),
  };
}

async function* runChat(
  engine: Engine,
  familyId: FamilyId,
  prepareMedia: MediaPreparer | undefined,
  request: ChatRequest,
  signal: AbortSignal | undefined,
  onMediaNote: ((note: string) => void) | undefined,
): AsyncGenerator<ChatEvent> {
  const family = getFamily(familyId);
  const { messages, media, imageSizes } = await resolveMedia(
    request.messages,
    familyId,
    prepareMedia,
    signal,
    onMediaNote,
  );
  if (media.length > 0 && !engine.info.vision) {
    throw new ChatRequestError(
      "this model was loaded without a vision projector (mmproj), so it cannot take images or video; load it with its mmproj file",
    );
  }
  const tools = request.toolChoice === "none" ? undefined : request.tools;
  const enableThinking = request.enableThinking ?? request.options.enableThinking;
  const prompt = renderPrompt(engine.info.chatTemplate, {
    family: familyId,
    messages,
    tools: tools && tools.length > 0 ? tools : undefined,
    enableThinking,
    addGenerationPrompt: true,
  });
  const parser = new StreamParser({
    family: familyId,
    thinking: enableThinking,
    tools,
    promptOpenedThinking: /<think>\s*$/.test(prompt),
    // The embedded engine renders special tokens, so a model that thinks always shows its <think>.
    thinkOpenVisible: true,
  });
  const sampling = family.sampling;
  const options: GenerateOptions = {
    temperature: sampling.temperature,
    topP: sampling.topP,
    topK: sampling.topK,
    repetitionPenalty: sampling.repetitionPenalty,
    maxTokens: sampling.maxNewTokens,
    ...stripUndefined(request.options),
    enableThinking,
    thinkingBudget: request.thinkingBudget ?? request.options.thinkingBudget,
  };
  for await (const event of engine.generate({ prompt, media, options }, signal)) {
    if (event.type === "text") {
      for (const delta of parser.push(event.text)) yield { type: "delta", delta };
      continue;
    }
    const { deltas, output } = parser.finish();
    for (const delta of deltas) yield { type: "delta", delta };
    const { result } = event;
    const finishReason: ChatFinishReason =
      result.finishReason === "abort" ? "abort" : finishReasonOf(output, result.finishReason === "length");
    yield {
      type: "done",
      result: {
        output,
        text: result.text,
        finishReason,
        usage: result.usage,
        timings: result.timings,
        thinkingTruncated: result.thinkingTruncated,
        imageSizes,
      },
    };
    return;
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Media parts of a message, with the kind each asks for. */
function mediaReferenceOf(part: MessagePart): MediaReference | undefined {
  const urlOf = (v: { url: string } | string) => (typeof v === "string" ? v : v.url);
  switch (part.type) {
    case "image_url":
      return { kind: "image", url: urlOf(part.image_url) };
    case "video_url":
      return { kind: "video", url: urlOf(part.video_url) };
    case "file": {
      const url = part.file.file_data ?? part.file.url;
      if (!url) throw new ChatRequestError("a file part needs file.file_data (a data: URI) or file.url");
      return { kind: "document", url };
    }
    default:
      return undefined;
  }
}

/**
 * Prepares every media part in prompt order and rewrites the messages so each prepared item has exactly one
 * marker part: a document becomes one image part per page.
 */
async function resolveMedia(
  messages: ChatMessage[],
  family: FamilyId,
  prepareMedia: MediaPreparer | undefined,
  signal: AbortSignal | undefined,
  onNote: ((note: string) => void) | undefined,
): Promise<{ messages: ChatMessage[]; media: PreparedMedia[]; imageSizes: ImageSize[] }> {
  const media: PreparedMedia[] = [];
  const imageSizes: ImageSize[] = [];
  const out: ChatMessage[] = [];
  for (const message of messages) {
    if (!Array.isArray(message.content)) {
      out.push(message);
      continue;
    }
    const parts: MessagePart[] = [];
    for (const part of message.content) {
      const reference = mediaReferenceOf(part);
      if (!reference) {
        parts.push(part);
        continue;
      }
      if (!prepareMedia) throw new ChatRequestError("this backend was created without a media pipeline");
      const prepared = await prepareMedia(reference, { family, signal, onNote });
      for (const item of prepared) {
        media.push(item);
        parts.push(item.kind === "image" ? { type: "image" } : { type: "video" });
        imageSizes.push({ width: item.originalWidth, height: item.originalHeight });
      }
    }
    out.push({ ...message, content: parts });
  }
  return { messages: out, media, imageSizes };
}
