/**
 * Prompt rendering with the model's own chat template (spec §3). glmv never hand-builds prompts: it
 * normalises OpenAI-style messages the way the GLM-V templates need (§3.1, §3.5) and renders the
 * checkpoint's template with `@huggingface/jinja`.
 *
 * `@huggingface/jinja` 0.5.11 is configured like Hugging Face's Python environment: its `Template` always
 * tokenises with `trim_blocks` and `lstrip_blocks`, drops one trailing newline of the template (Jinja's
 * `keep_trailing_newline=False`), and its `tojson` defaults to `ensure_ascii=False` with `", "` / `": "`
 * separators, which is what transformers' `tojson` does. The spec reports byte-identical renders against
 * Python Jinja 3.1.6 for the reference templates. Known difference, inherent to JavaScript numbers: a
 * float with an integral value (`1.0`) is written `1` by `tojson`.
 */
import { Template } from "@huggingface/jinja";
import { type FamilyId, type FamilySpec, getFamily } from "./families.ts";
import { parseOutput } from "./parse.ts";
import type { ChatMessage, MessagePart, ToolDefinition } from "./types.ts";

/** Thrown when no chat template can be found in the checkpoint's files. */
export class ChatTemplateNotFoundError extends Error {
  override name = "ChatTemplateNotFoundError";
}

/** Thrown when a chat template fails to parse or render. */
export class ChatTemplateError extends Error {
  override name = "ChatTemplateError";
}

/** Thrown when a message cannot be normalised for the template (e.g. tool-call arguments that are not JSON). */
export class MessageFormatError extends Error {
  override name = "MessageFormatError";
}

/** Where a chat template came from. */
export type ChatTemplateSource =
  | "gguf"
  | "chat_template.jinja"
  | "chat_template.json"
  | "tokenizer_config.json";

/** The parsed contents of the files that may hold a chat template (no file reading here). */
export interface ChatTemplateFiles {
  /** GGUF metadata value `tokenizer.chat_template`. */
  ggufChatTemplate?: unknown;
  /** The text of HF `chat_template.jinja`. */
  chatTemplateJinja?: unknown;
  /** The parsed JSON of HF `chat_template.json` (key `chat_template`). */
  chatTemplateJson?: unknown;
  /** The parsed JSON of HF `tokenizer_config.json` (key `chat_template`: a string or a `{name, template}` list). */
  tokenizerConfig?: unknown;
}

/**
 * Picks the chat template in the spec's order (§3.1): GGUF `tokenizer.chat_template`, then
 * `chat_template.jinja`, `chat_template.json`, `tokenizer_config.json` (string, or the list entry named
 * `default`). Throws ChatTemplateNotFoundError saying which files were looked at.
 */
export function findChatTemplate(files: ChatTemplateFiles): { template: string; source: ChatTemplateSource } {
  const nonEmpty = (v: unknown): v is string => typeof v === "string" && v.trim() !== "";
  if (nonEmpty(files.ggufChatTemplate)) return { template: files.ggufChatTemplate, source: "gguf" };
  if (nonEmpty(files.chatTemplateJinja))
    return { template: files.chatTemplateJinja, source: "chat_template.jinja" };
  const fromJson = isRecord(files.chatTemplateJson) ? files.chatTemplateJson.chat_template : undefined;
  const jsonTemplate = pickTemplate(fromJson, "chat_template.json");
  if (jsonTemplate !== null) return { template: jsonTemplate, source: "chat_template.json" };
  const fromConfig = isRecord(files.tokenizerConfig) ? files.tokenizerConfig.chat_template : undefined;
  const configTemplate = pickTemplate(fromConfig, "tokenizer_config.json");
  if (configTemplate !== null) return { template: configTemplate, source: "tokenizer_config.json" };
  throw new ChatTemplateNotFoundError(
    "no chat template found: looked for GGUF tokenizer.chat_template, chat_template.jinja, " +
      "chat_template.json and tokenizer_config.json chat_template. Use a checkpoint that ships its chat template " +
      "(glmv renders the model's own template and does not bundle copies).",
  );
}

function pickTemplate(value: unknown, file: string): string | null {
  if (typeof value === "string") return value.trim() === "" ? null : value;
  if (!Array.isArray(value)) return null;
  const named = value.filter(isRecord);
  const chosen = named.find((entry) => entry.name === "default");
  if (chosen && typeof chosen.template === "string") return chosen.template;
  if (named.length > 0) {
    const names = named.map((entry) => String(entry.name)).join(", ");
    throw new ChatTemplateNotFoundError(
      `${file} lists chat templates (${names}) but none is named "default"; pick one explicitly and pass its text.`,
    );
  }
  return null;
}

/** A message as the GLM-V templates read it (after normalisation). */
export interface TemplateMessage {
  role: string;
  content: string | TemplatePart[];
  reasoning_content?: string;
  tool_calls?: {
    id?: string;
    type: "function";
    function: { name: string; arguments: Record<string, unknown> };
  }[];
  [extra: string]: unknown;
}

/** A content part as the templates read it: text, or a bare media marker. */
export type TemplatePart =
  | { type: "text"; text: string }
  | { type: "image" }
  | { type: "video" }
  | Record<string, unknown>;

/** Options for {@link normalizeMessages}. */
export interface NormalizeOptions {
  /** When false and the last message is an assistant turn, that turn is a completion target and kept as is. */
  addGenerationPrompt?: boolean;
}

/**
 * Applies the spec's normalisations (§3.1) and history rules (§3.5) for a family:
 * - `image_url` / `video_url` parts become `{type: "image"}` / `{type: "video"}` in place (the pixels go to
 *   the processor separately); `null` content becomes `""`;
 * - tool-call `arguments` given as a JSON string become an object (MessageFormatError if not a JSON object);
 * - `reasoning` becomes `reasoning_content` when the latter is absent;
 * - GLM-4.1V: system content becomes a string; every earlier assistant turn is re-sent as its `<answer>`
 *   inner text (box tokens kept), else the text after `</think>`, never the reasoning;
 * - GLM-4.5V/4.6V: reasoning stays in `reasoning_content` (the template keeps it only after the last user turn).
 */
export function normalizeMessages(
  messages: readonly ChatMessage[],
  family: FamilyId | FamilySpec,
  options: NormalizeOptions = {},
): TemplateMessage[] {
  if (!Array.isArray(messages))
    throw new MessageFormatError("messages must be an array of {role, content} objects");
  const spec = typeof family === "string" ? getFamily(family) : family;
  const lastIsTarget = options.addGenerationPrompt === false;
  return messages.map((message, index) => {
    if (!isRecord(message) || typeof message.role !== "string") {
      throw new MessageFormatError(`messages[${index}] must be an object with a string "role"`);
    }
    const { reasoning, reasoning_content, tool_calls, content, ...rest } = message as ChatMessage &
      Record<string, unknown>;
    const out: TemplateMessage = { ...rest, role: message.role, content: normalizeContent(content, index) };
    const reasoningText =
      typeof reasoning_content === "string"
        ? reasoning_content
        : typeof reasoning === "string"
          ? reasoning
          : undefined;
    if (reasoningText !== undefined) out.reasoning_content = reasoningText;
    if (tool_calls !== undefined && tool_calls !== null)
      out.tool_calls = normalizeToolCalls(tool_calls, index);

    if (spec.history === "answer-only") {
      if (message.role === "system") out.content = visibleText(out.content);
      const isTarget = lastIsTarget && index === messages.length - 1;
      if (message.role === "assistant" && !isTarget) {
        const text = visibleText(out.content);
        const parsed = parseOutput(text, { family: spec.id });
        out.content = parsed.answer ?? parsed.content ?? "";
      }
    }
    return out;
  });
}

function normalizeContent(
  content: ChatMessage["content"] | undefined,
  index: number,
): string | TemplatePart[] {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) {
    throw new MessageFormatError(`messages[${index}].content must be a string, null or a list of parts`);
  }
  return content.map((part: MessagePart | Record<string, unknown>): TemplatePart => {
    if (!isRecord(part)) return part as TemplatePart;
    if (part.type === "image_url" || part.type === "input_image") return { type: "image" };
    if (part.type === "video_url") return { type: "video" };
    if (part.type === "image" || part.type === "video") return { type: part.type };
    return part;
  });
}

/** The text parts of a content, joined (media markers dropped). */
function visibleText(content: string | TemplatePart[]): string {
  if (typeof content === "string") return content;
  return content
    .map((part) => (isRecord(part) && part.type === "text" && typeof part.text === "string" ? part.text : ""))
    .join("");
}

function normalizeToolCalls(calls: unknown, index: number): NonNullable<TemplateMessage["tool_calls"]> {
  if (!Array.isArray(calls)) throw new MessageFormatError(`messages[${index}].tool_calls must be a list`);
  return calls.map((call, i) => {
    const where = `messages[${index}].tool_calls[${i}]`;
    const fn = isRecord(call) && isRecord(call.function) ? call.function : isRecord(call) ? call : null;
    if (!fn || typeof fn.name !== "string")
      throw new MessageFormatError(`${where}.function.name must be a string`);
    let args: unknown = fn.arguments ?? {};
    if (typeof args === "string") {
      if (args.trim() === "") args = {};
      else {
        try {
          args = JSON.parse(args);
        } catch {
          throw new MessageFormatError(
            `${where}.function.arguments is not valid JSON: ${JSON.stringify(args).slice(0, 80)}. ` +
              `Send the arguments as a JSON object string, e.g. '{"city": "Paris"}'.`,
          );
        }
      }
    }
    if (!isRecord(args)) {
      throw new MessageFormatError(
        `${where}.function.arguments must be a JSON object, got ${JSON.stringify(args)}`,
      );
    }
    const out: NonNullable<TemplateMessage["tool_calls"]>[number] = {
      type: "function",
      function: { name: fn.name, arguments: args },
    };
    if (isRecord(call) && typeof call.id === "string") out.id = call.id;
    return out;
  });
}

/** What {@link renderPrompt} needs besides the template text. */
export interface RenderPromptOptions {
  family: FamilyId | FamilySpec;
  messages: readonly ChatMessage[];
  tools?: readonly ToolDefinition[];
  /** Only a defined `false` disables thinking (§3.1); ignored by the 4.1V template. */
  enableThinking?: boolean;
  /** Append the assistant header (default true). */
  addGenerationPrompt?: boolean;
  /** More template variables (e.g. `bos_token`). */
  extraContext?: Record<string, unknown>;
}

const compiled = new Map<string, Template>();

/** Parses a template once and caches it (templates are a few KB; a process uses one or two). */
export function compileChatTemplate(template: string): Template {
  let t = compiled.get(template);
  if (!t) {
    try {
      t = new Template(template);
    } catch (error) {
      throw new ChatTemplateError(`the chat template does not parse: ${errorMessage(error)}`);
    }
    if (compiled.size >= 16) compiled.clear();
    compiled.set(template, t);
  }
  return t;
}

/**
 * Renders already-normalised variables with a template, exactly as given (no normalisation). Use
 * {@link renderPrompt} for OpenAI-style input.
 */
export function renderChatTemplate(template: string, variables: Record<string, unknown>): string {
  const t = compileChatTemplate(template);
  try {
    return t.render(variables);
  } catch (error) {
    throw new ChatTemplateError(`the chat template failed to render: ${errorMessage(error)}`);
  }
}

/**
 * Renders a prompt with the model's own template: normalises the messages for the family (§3.1, §3.5),
 * then renders with `messages`, `tools`, `add_generation_prompt` and (only when given) `enable_thinking`.
 */
export function renderPrompt(template: string, options: RenderPromptOptions): string {
  const addGenerationPrompt = options.addGenerationPrompt ?? true;
  const messages = normalizeMessages(options.messages, options.family, { addGenerationPrompt });
  const variables: Record<string, unknown> = {
    ...options.extraContext,
    messages,
    add_generation_prompt: addGenerationPrompt,
  };
  if (options.tools !== undefined && options.tools.length > 0) variables.tools = options.tools;
  if (options.enableThinking !== undefined) variables.enable_thinking = options.enableThinking;
  return renderChatTemplate(template, variables);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
