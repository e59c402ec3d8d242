/**
 * Validation of `POST /v1/chat/completions` bodies: JSON in, a typed `ChatRequest` out, or an
 * InvalidRequestError / UnsupportedFeatureError naming the offending field. Pure: no I/O.
 */
import type { GenerateOptions } from "../engines/types.ts";
import type { ChatMessage, MessagePart, ToolDefinition } from "../protocol/types.ts";
import type { ChatRequest } from "../runtime/types.ts";
import { InvalidRequestError, UnsupportedFeatureError } from "./errors.ts";

/** A validated chat-completions request: the backend request plus the transport options around it. */
export interface ChatCompletionBody {
  /** The requested model id; undefined when the client sent none. */
  model: string | undefined;
  stream: boolean;
  /** `stream_options.include_usage`. */
  includeUsage: boolean;
  /** `skip_special_tokens` (glmv default false: box tokens stay in the content as literal text). */
  skipSpecialTokens: boolean;
  request: ChatRequest;
}

type Json = Record<string, unknown>;

const ROLES = new Set(["system", "user", "assistant", "tool"]);
const PART_TYPES = new Set(["text", "image_url", "video_url", "file", "image", "video"]);

/** Fields we know and refuse (rather than silently ignore), with the reason shown to the client. */
const UNSUPPORTED_FIELDS: Record<string, (value: unknown) => string | null> = {
  n: (v) =>
    v === undefined || v === null || v === 1
      ? null
      : "only n = 1 is supported; send several requests instead",
  logprobs: (v) => (v === undefined || v === null || v === false ? null : "logprobs are not supported"),
  top_logprobs: (v) => (v === undefined || v === null || v === 0 ? null : "top_logprobs are not supported"),
  logit_bias: (v) =>
    v === undefined || v === null || (isObject(v) && Object.keys(v).length === 0)
      ? null
      : "logit_bias is not supported",
  presence_penalty: (v) =>
    v === undefined || v === null || v === 0
      ? null
      : "presence_penalty is not supported; use repetition_penalty",
  frequency_penalty: (v) =>
    v === undefined || v === null || v === 0
      ? null
      : "frequency_penalty is not supported; use repetition_penalty",
  response_format: (v) =>
    v === undefined || v === null || (isObject(v) && v.type === "text")
      ? null
      : "response_format other than {type: 'text'} is not supported",
  min_tokens: (v) => (v === undefined || v === null || v === 0 ? null : "min_tokens is not supported"),
  ignore_eos: (v) => (v === undefined || v === null || v === false ? null : "ignore_eos is not supported"),
  echo: (v) => (v === undefined || v === null || v === false ? null : "echo is not supported"),
  continue_final_message: (v) =>
    v === undefined || v === null || v === false ? null : "continue_final_message is not supported",
  add_generation_prompt: (v) =>
    v === undefined || v === null || v === true ? null : "add_generation_prompt: false is not supported",
  parallel_tool_calls: () => null,
};

/** Parses the raw body text; malformed JSON answers 400. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === "")
    throw new InvalidRequestError("Request body is empty; send a JSON object.", null, "empty_body");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidRequestError(
      `Request body is not valid JSON: ${(error as Error).message}`,
      null,
      "invalid_json",
    );
  }
}

/** Validates a chat-completions body and maps it to a backend `ChatRequest`. */
export function validateChatCompletion(body: unknown): ChatCompletionBody {
  if (!isObject(body))
    throw new InvalidRequestError("Request body must be a JSON object.", null, "invalid_type");
  for (const [field, check] of Object.entries(UNSUPPORTED_FIELDS)) {
    const reason = check(body[field]);
    if (reason) throw new UnsupportedFeatureError(`\`${field}\`: ${reason}.`, field);
  }

  const model = optionalString(body, "model");
  const stream = optionalBoolean(body, "stream") ?? false;
  let includeUsage = false;
  if (body.stream_options !== undefined && body.stream_options !== null) {
    const so = objectAt(body.stream_options, "stream_options");
    includeUsage = optionalBoolean(so, "include_usage", "stream_options.") ?? false;
  }
  const skipSpecialTokens = optionalBoolean(body, "skip_special_tokens") ?? false;

  const messages = validateMessages(body.messages);
  const tools = validateTools(body.tools);
  const toolChoice = validateToolChoice(body.tool_choice, tools);
  const enableThinking = validateThinking(body);

  const options: GenerateOptions = {};
  const temperature = optionalNumber(body, "temperature", { min: 0, max: 2 });
  if (temperature !== undefined) options.temperature = temperature;
  const topP = optionalNumber(body, "top_p", { min: 0, max: 1, exclusiveMin: true });
  if (topP !== undefined) options.topP = topP;
  const topK = optionalInteger(body, "top_k", -1);
  if (topK !== undefined && topK > 0) options.topK = topK;
  const minP = optionalNumber(body, "min_p", { min: 0, max: 1 });
  if (minP !== undefined) options.minP = minP;
  const repetitionPenalty = optionalNumber(body, "repetition_penalty", {
    min: 0,
    exclusiveMin: true,
    max: 10,
  });
  if (repetitionPenalty !== undefined) options.repetitionPenalty = repetitionPenalty;
  const seed = optionalInteger(body, "seed");
  if (seed !== undefined) options.seed = seed;
  const maxCompletion = optionalInteger(body, "max_completion_tokens", 1);
  const maxTokens = optionalInteger(body, "max_tokens", 1);
  if (maxCompletion !== undefined) options.maxTokens = maxCompletion;
  else if (maxTokens !== undefined) options.maxTokens = maxTokens;
  const stop = validateStop(body.stop);
  if (stop) options.stop = stop;
  if (body.stop_token_ids !== undefined && body.stop_token_ids !== null) {
    if (
      !Array.isArray(body.stop_token_ids) ||
      !body.stop_token_ids.every((v) => Number.isInteger(v) && v >= 0)
    ) {
      throw new InvalidRequestError("`stop_token_ids` must be an array of token ids.", "stop_token_ids");
    }
    options.stopTokens = body.stop_token_ids as number[];
  }
  const thinkingBudget = optionalInteger(body, "thinking_token_budget", 0);

  const request: ChatRequest = { messages, options };
  if (tools) request.tools = tools;
  if (toolChoice) request.toolChoice = toolChoice;
  if (enableThinking !== undefined) request.enableThinking = enableThinking;
  if (thinkingBudget !== undefined) request.thinkingBudget = thinkingBudget;
  return { model, stream, includeUsage, skipSpecialTokens, request };
}

/** Reads `chat_template_kwargs.enable_thinking` and Z.ai's `thinking: {type}`; they must agree. */
function validateThinking(body: Json): boolean | undefined {
  let fromKwargs: boolean | undefined;
  if (body.chat_template_kwargs !== undefined && body.chat_template_kwargs !== null) {
    const kwargs = objectAt(body.chat_template_kwargs, "chat_template_kwargs");
    for (const key of Object.keys(kwargs)) {
      if (key !== "enable_thinking") {
        throw new UnsupportedFeatureError(
          `\`chat_template_kwargs.${key}\` is not supported; only enable_thinking is.`,
          `chat_template_kwargs.${key}`,
        );
      }
    }
    fromKwargs = optionalBoolean(kwargs, "enable_thinking", "chat_template_kwargs.");
  }
  let fromZai: boolean | undefined;
  if (body.thinking !== undefined && body.thinking !== null) {
    const thinking = objectAt(body.thinking, "thinking");
    if (thinking.type !== undefined) {
      if (thinking.type !== "enabled" && thinking.type !== "disabled") {
        throw new InvalidRequestError('`thinking.type` must be "enabled" or "disabled".', "thinking.type");
      }
      fromZai = thinking.type === "enabled";
    }
    optionalBoolean(thinking, "clear_thinking", "thinking.");
  }
  if (fromKwargs !== undefined && fromZai !== undefined && fromKwargs !== fromZai) {
    throw new InvalidRequestError(
      "`chat_template_kwargs.enable_thinking` and `thinking.type` disagree; send one of them.",
      "thinking.type",
    );
  }
  return fromKwargs ?? fromZai;
}

function validateMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value))
    throw new InvalidRequestError("`messages` must be an array of messages.", "messages");
  if (value.length === 0)
    throw new InvalidRequestError("`messages` must contain at least one message.", "messages");
  return value.map((raw, i) => validateMessage(raw, `messages[${i}]`));
}

function validateMessage(raw: unknown, path: string): ChatMessage {
  const m = objectAt(raw, path);
  if (typeof m.role !== "string" || !ROLES.has(m.role)) {
    throw new InvalidRequestError(
      `\`${path}.role\` must be one of system, user, assistant, tool.`,
      `${path}.role`,
    );
  }
  const role = m.role as ChatMessage["role"];
  let content: ChatMessage["content"];
  if (m.content === undefined || m.content === null) {
    if (role !== "assistant")
      throw new InvalidRequestError(`\`${path}.content\` is required.`, `${path}.content`);
    content = null;
  } else if (typeof m.content === "string") {
    content = m.content;
  } else if (Array.isArray(m.content)) {
    content = m.content.map((p, j) => validatePart(p, `${path}.content[${j}]`));
  } else {
    throw new InvalidRequestError(
      `\`${path}.content\` must be a string or an array of parts.`,
      `${path}.content`,
    );
  }
  const message: ChatMessage = { role, content };
  for (const key of ["reasoning_content", "reasoning"] as const) {
    const v = m[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string")
      throw new InvalidRequestError(`\`${path}.${key}\` must be a string.`, `${path}.${key}`);
    message[key] = v;
  }
  if (m.name !== undefined && m.name !== null) {
    if (typeof m.name !== "string")
      throw new InvalidRequestError(`\`${path}.name\` must be a string.`, `${path}.name`);
    message.name = m.name;
  }
  if (role === "tool") {
    if (m.tool_call_id !== undefined && typeof m.tool_call_id !== "string") {
      throw new InvalidRequestError(`\`${path}.tool_call_id\` must be a string.`, `${path}.tool_call_id`);
    }
    if (typeof m.tool_call_id === "string") message.tool_call_id = m.tool_call_id;
  }
  if (m.tool_calls !== undefined && m.tool_calls !== null) {
    if (role !== "assistant") {
      throw new InvalidRequestError(
        `\`${path}.tool_calls\` is only allowed on assistant messages.`,
        `${path}.tool_calls`,
      );
    }
    if (!Array.isArray(m.tool_calls)) {
      throw new InvalidRequestError(`\`${path}.tool_calls\` must be an array.`, `${path}.tool_calls`);
    }
    message.tool_calls = m.tool_calls.map((c, k) => {
      const at = `${path}.tool_calls[${k}]`;
      const call = objectAt(c, at);
      const fn = objectAt(call.function, `${at}.function`);
      if (typeof fn.name !== "string" || fn.name === "") {
        throw new InvalidRequestError(
          `\`${at}.function.name\` must be a non-empty string.`,
          `${at}.function.name`,
        );
      }
      let args: string;
      if (typeof fn.arguments === "string") args = fn.arguments;
      else if (isObject(fn.arguments)) args = JSON.stringify(fn.arguments);
      else if (fn.arguments === undefined) args = "{}";
      else
        throw new InvalidRequestError(
          `\`${at}.function.arguments\` must be a JSON string.`,
          `${at}.function.arguments`,
        );
      const id = typeof call.id === "string" ? call.id : `call_${k}`;
      return { id, type: "function" as const, function: { name: fn.name, arguments: args } };
    });
  }
  return message;
}

function validatePart(raw: unknown, path: string): MessagePart {
  const p = objectAt(raw, path);
  if (typeof p.type !== "string" || !PART_TYPES.has(p.type)) {
    throw new InvalidRequestError(
      `\`${path}.type\` must be one of text, image_url, video_url, file.`,
      `${path}.type`,
    );
  }
  switch (p.type) {
    case "text":
      if (typeof p.text !== "string")
        throw new InvalidRequestError(`\`${path}.text\` must be a string.`, `${path}.text`);
      return { type: "text", text: p.text };
    case "image_url":
    case "video_url": {
      const key = p.type;
      const v = p[key];
      const url = typeof v === "string" ? v : isObject(v) && typeof v.url === "string" ? v.url : undefined;
      if (url === undefined || url === "") {
        throw new InvalidRequestError(
          `\`${path}.${key}\` must be {"url": "..."} or a URL string (http(s), data: or file:).`,
          `${path}.${key}.url`,
        );
      }
      if (!/^(https?:|data:|file:)/i.test(url)) {
        throw new InvalidRequestError(
          `\`${path}.${key}.url\` must be an http(s), data: or file: URL.`,
          `${path}.${key}.url`,
        );
      }
      return key === "image_url"
        ? { type: "image_url", image_url: { url } }
        : { type: "video_url", video_url: { url } };
    }
    case "file": {
      const f = objectAt(p.file, `${path}.file`);
      const file: { file_data?: string; filename?: string; url?: string } = {};
      for (const key of ["file_data", "filename", "url"] as const) {
        const v = f[key];
        if (v === undefined || v === null) continue;
        if (typeof v !== "string") {
          throw new InvalidRequestError(`\`${path}.file.${key}\` must be a string.`, `${path}.file.${key}`);
        }
        file[key] = v;
      }
      if (file.file_data === undefined && file.url === undefined) {
        throw new InvalidRequestError(
          `\`${path}.file\` needs file_data (base64 or data: URI) or url.`,
          `${path}.file`,
        );
      }
      return { type: "file", file };
    }
    default:
      throw new UnsupportedFeatureError(
        `\`${path}.type\` "${p.type}" is not supported over HTTP; use image_url or video_url.`,
        `${path}.type`,
      );
  }
}

function validateTools(value: unknown): ToolDefinition[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new InvalidRequestError("`tools` must be an array.", "tools");
  if (value.length === 0) return undefined;
  return value.map((raw, i) => {
    const path = `tools[${i}]`;
    const t = objectAt(raw, path);
    if (t.type !== "function") {
      throw new UnsupportedFeatureError(`\`${path}.type\` must be "function".`, `${path}.type`);
    }
    const fn = objectAt(t.function, `${path}.function`);
    if (typeof fn.name !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(fn.name)) {
      throw new InvalidRequestError(
        `\`${path}.function.name\` must be 1–64 letters, digits, _ . or -.`,
        `${path}.function.name`,
      );
    }
    const def: ToolDefinition = { type: "function", function: { name: fn.name } };
    if (fn.description !== undefined && fn.description !== null) {
      if (typeof fn.description !== "string") {
        throw new InvalidRequestError(
          `\`${path}.function.description\` must be a string.`,
          `${path}.function.description`,
        );
      }
      def.function.description = fn.description;
    }
    if (fn.parameters !== undefined && fn.parameters !== null) {
      def.function.parameters = objectAt(fn.parameters, `${path}.function.parameters`);
    }
    return def;
  });
}

function validateToolChoice(value: unknown, tools: ToolDefinition[] | undefined): ChatRequest["toolChoice"] {
  if (value === undefined || value === null) return undefined;
  if (value === "auto" || value === "none" || value === "required") {
    if (value === "required" && !tools) {
      throw new InvalidRequestError('`tool_choice` "required" needs `tools`.', "tool_choice");
    }
    return value;
  }
  if (isObject(value) && value.type === "function" && isObject(value.function)) {
    const name = value.function.name;
    if (typeof name !== "string") {
      throw new InvalidRequestError(
        "`tool_choice.function.name` must be a string.",
        "tool_choice.function.name",
      );
    }
    if (!tools?.some((t) => t.function.name === name)) {
      throw new InvalidRequestError(
        `\`tool_choice\` names "${name}", which is not in \`tools\`.`,
        "tool_choice.function.name",
      );
    }
    return { type: "function", function: { name } };
  }
  throw new InvalidRequestError(
    '`tool_choice` must be "auto", "none", "required" or {"type": "function", "function": {"name": …}}.',
    "tool_choice",
  );
}

function validateStop(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value === "" ? undefined : [value];
  if (Array.isArray(value) && value.every((s) => typeof s === "string")) {
    const list = (value as string[]).filter((s) => s !== "");
    return list.length > 0 ? list : undefined;
  }
  throw new InvalidRequestError("`stop` must be a string or an array of strings.", "stop");
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function objectAt(value: unknown, path: string): Json {
  if (!isObject(value)) throw new InvalidRequestError(`\`${path}\` must be an object.`, path);
  return value;
}

function optionalString(obj: Json, key: string, prefix = ""): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string")
    throw new InvalidRequestError(`\`${prefix}${key}\` must be a string.`, prefix + key);
  return v;
}

function optionalBoolean(obj: Json, key: string, prefix = ""): boolean | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean")
    throw new InvalidRequestError(`\`${prefix}${key}\` must be true or false.`, prefix + key);
  return v;
}

function optionalNumber(
  obj: Json,
  key: string,
  range: { min?: number; max?: number; exclusiveMin?: boolean },
): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v))
    throw new InvalidRequestError(`\`${key}\` must be a number.`, key);
  const { min, max, exclusiveMin } = range;
  if ((min !== undefined && (exclusiveMin ? v <= min : v < min)) || (max !== undefined && v > max)) {
    const low = min === undefined ? "" : exclusiveMin ? `> ${min}` : `>= ${min}`;
    const high = max === undefined ? "" : `<= ${max}`;
    throw new InvalidRequestError(`\`${key}\` must be ${[low, high].filter(Boolean).join(" and ")}.`, key);
  }
  return v;
}

function optionalInteger(obj: Json, key: string, min?: number): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v))
    throw new InvalidRequestError(`\`${key}\` must be an integer.`, key);
  if (min !== undefined && v < min) throw new InvalidRequestError(`\`${key}\` must be >= ${min}.`, key);
  return v;
}
