/**
 * Errors the server answers with, as OpenAI-style error objects. Every failure that reaches a client goes
 * through `toApiError`, so no stack trace ever leaves the process.
 */

/** The OpenAI error body: `{"error": {message, type, param, code}}`. */
export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An error with an HTTP status and an OpenAI-style type/code. Throw subclasses; the server renders them. */
export class ApiError extends Error {
  override name = "ApiError";
  readonly status: number;
  readonly type: string;
  readonly code: string | null;
  readonly param: string | null;
  /** Extra response headers (e.g. Retry-After). */
  readonly headers: Record<string, string>;
  constructor(
    status: number,
    message: string,
    options: {
      type?: string;
      code?: string | null;
      param?: string | null;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(message);
    this.status = status;
    this.type = options.type ?? typeForStatus(status);
    this.code = options.code ?? null;
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
  }
  /** The JSON body sent to the client. */
  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400: the request body is malformed or a field has the wrong type or value; `param` names the field. */
export class InvalidRequestError extends ApiError {
  override name = "InvalidRequestError";
  constructor(message: string, param: string | null = null, code = "invalid_request") {
    super(400, message, { type: "invalid_request_error", param, code });
  }
}

/** 400: a field or value glmv understands but does not support (e.g. `n > 1`). */
export class UnsupportedFeatureError extends ApiError {
  override name = "UnsupportedFeatureError";
  constructor(message: string, param: string | null = null) {
    super(400, message, { type: "invalid_request_error", param, code: "unsupported" });
  }
}

/** 401: missing or wrong API key. */
export class AuthenticationError extends ApiError {
  override name = "AuthenticationError";
  constructor(message = "Missing or invalid API key. Send it as `Authorization: Bearer <key>`.") {
    super(401, message, { type: "authentication_error", code: "invalid_api_key" });
  }
}

/** 404: unknown model or route. */
export class NotFoundError extends ApiError {
  override name = "NotFoundError";
  constructor(message: string, code = "not_found", param: string | null = null) {
    super(404, message, { type: "not_found_error", code, param });
  }
}

/** 413: the request body is larger than the configured limit. */
export class PayloadTooLargeError extends ApiError {
  override name = "PayloadTooLargeError";
  constructor(limitBytes: number) {
    super(
      413,
      `Request body is larger than the server's limit of ${limitBytes} bytes. Send smaller media (or URLs), or start the server with a larger --body-limit.`,
      { type: "invalid_request_error", code: "payload_too_large" },
    );
  }
}

/** 429: every slot is busy and the queue is full; retry after `retryAfterSeconds`. */
export class QueueFullError extends ApiError {
  override name = "QueueFullError";
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super(
      429,
      `The server is at capacity (all slots busy and the queue is full). Retry after ${retryAfterSeconds} s.`,
      {
        type: "rate_limit_error",
        code: "queue_full",
        headers: { "retry-after": String(retryAfterSeconds) },
      },
    );
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** 502: an upstream engine failed, answered garbage or could not be reached. */
export class UpstreamError extends ApiError {
  override name = "UpstreamError";
  constructor(message: string, code = "upstream_error") {
    super(502, message, { type: "upstream_error", code });
  }
}

/** 503: the server is draining for shutdown or its backend is not ready. */
export class UnavailableError extends ApiError {
  override name = "UnavailableError";
  constructor(message: string, code = "unavailable") {
    super(503, message, { type: "server_error", code, headers: { "retry-after": "1" } });
  }
}

function typeForStatus(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

/** Class names of other modules' typed errors that are the user's fault (bad media, unsafe URL…). */
const CLIENT_ERROR_NAME =
  /(Media|Url|URL|Unsafe|Forbidden|Policy|Decode|Format|Unsupported|Usage|Validation|Template)/;

/**
 * Turns anything thrown into an ApiError. Known ApiErrors pass through; errors carrying an HTTP status keep
 * it; other modules' typed user errors (media, URL policy…) become 400; the rest become 500 with their message
 * only (never the stack).
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof Error) {
    const status =
      (error as { status?: unknown; statusCode?: unknown }).status ??
      (error as { statusCode?: unknown }).statusCode;
    if (typeof status === "number" && status >= 400 && status < 600) {
      return new ApiError(status, error.message || error.name, { code: snake(error.name) });
    }
    if (error.name === "AbortError")
      return new ApiError(499, "The request was cancelled.", { code: "cancelled" });
    const inputError = (error as { isInputError?: unknown }).isInputError;
    const code = (error as { code?: unknown }).code;
    if (typeof inputError === "boolean") {
      return new ApiError(inputError ? 400 : 500, error.message, {
        type: inputError ? "invalid_request_error" : "server_error",
        // OpenAI error codes are snake_case; media codes are kebab-case ("unsupported-type").
        code: typeof code === "string" ? code.replaceAll("-", "_") : snake(error.name),
      });
    }
    if (error.name !== "Error" && error.name !== "TypeError" && CLIENT_ERROR_NAME.test(error.name)) {
      return new ApiError(400, error.message, { type: "invalid_request_error", code: snake(error.name) });
    }
    return new ApiError(500, error.message || "Internal server error.", {
      type: "server_error",
      code: "internal_error",
    });
  }
  return new ApiError(500, String(error), { type: "server_error", code: "internal_error" });
}

function snake(name: string): string {
  return name
    .replace(/Error$/, "")
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase();
}
