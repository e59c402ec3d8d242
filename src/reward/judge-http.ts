/**
 * The LLM judge's only HTTP code: one OpenAI-compatible chat-completion call through plain fetch.
 * Kept in one small module so that it can switch to the project's typed client when that exists.
 */
import { JudgeHttpError, JudgeTimeoutError } from "./errors.ts";

/** One chat-completion call to a judge. */
export interface JudgeHttpRequest {
  /** The endpoint: a full `…/chat/completions` URL, or a base URL such as `http://127.0.0.1:8080/v1`. */
  url: string;
  apiKey: string;
  model: string;
  prompt: string;
  maxTokens: number;
  temperature: number;
  topP: number;
  timeoutMs: number;
}

/** The function shape the judge calls; tests and other transports can provide their own. */
export type JudgeTransport = (request: JudgeHttpRequest) => Promise<string>;

/** The chat-completions URL for a configured endpoint (a base URL gets `/chat/completions` appended). */
export function chatCompletionsUrl(url: string): string {
  const trimmed = url.replace(/\/+$/, "");
  return trimmed.endsWith("/chat/completions") ? trimmed : `${trimmed}/chat/completions`;
}

/**
 * POSTs `{model, messages:[{role:"user", content}], max_tokens, temperature, top_p, stream:false}` and returns
 * `choices[0].message.content`. Throws JudgeTimeoutError past the timeout and JudgeHttpError on any other
 * failure (unlike upstream, which returned "" and so silently counted every failure as a 0 vote: defect 6).
 */
export const postChatCompletion: JudgeTransport = async (request) => {
  const body = {
    model: request.model,
    messages: [{ role: "user", content: request.prompt }],
    max_tokens: request.maxTokens,
    temperature: request.temperature,
    top_p: request.topP,
    stream: false,
  };
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (request.apiKey) headers.authorization = `Bearer ${request.apiKey}`;
  let response: Response;
  try {
    response = await fetch(chatCompletionsUrl(request.url), {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(request.timeoutMs),
    });
  } catch (error) {
    const e = error as Error;
    if (e.name === "TimeoutError" || e.name === "AbortError")
      throw new JudgeTimeoutError(`judge ${request.url} did not answer within ${request.timeoutMs} ms`);
    throw new JudgeHttpError(`judge ${request.url} unreachable: ${(e.cause as Error)?.message ?? e.message}`);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw new JudgeHttpError(`judge ${request.url}: reading the reply failed: ${(error as Error).message}`);
  }
  if (!response.ok)
    throw new JudgeHttpError(
      `judge ${request.url} answered HTTP ${response.status}: ${text.slice(0, 200)}`,
      response.status,
    );
  let json: { choices?: { message?: { content?: unknown } }[] };
  try {
    json = JSON.parse(text);
  } catch {
    throw new JudgeHttpError(
      `judge ${request.url} answered non-JSON: ${text.slice(0, 200)}`,
      response.status,
    );
  }
  const content = json.choices?.[0]?.message?.content;
  if (typeof content !== "string")
    throw new JudgeHttpError(
      `judge ${request.url}: reply has no choices[0].message.content`,
      response.status,
    );
  return content;
};
