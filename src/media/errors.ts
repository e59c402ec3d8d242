/**
 * The one error type of the media pipeline. Every failure names the input it concerns and says what to do.
 */

/** What went wrong, for callers that branch (the server maps codes to HTTP statuses). */
export type MediaErrorCode =
  | "invalid-argument"
  | "unsupported-type"
  | "not-found"
  | "not-allowed"
  | "too-large"
  | "too-many-pixels"
  | "corrupt"
  | "aspect-ratio"
  | "bad-data-uri"
  | "fetch-failed"
  | "timeout"
  | "too-many-redirects"
  | "bad-content-type"
  | "blocked-address"
  | "no-video-stream"
  | "empty-video"
  | "ffmpeg-missing"
  | "libreoffice-missing"
  | "conversion-failed"
  | "encrypted"
  | "bad-page-range";

/** Error codes that are the caller's fault (bad or refused input) rather than a missing tool on this machine. */
const TOOL_CODES: ReadonlySet<MediaErrorCode> = new Set(["ffmpeg-missing", "libreoffice-missing"]);

/** A media input could not be used. `message` reads "<input>: <problem>. <fix>". */
export class MediaError extends Error {
  /** Machine-readable kind of failure. */
  readonly code: MediaErrorCode;
  /** Short description of the input concerned (path, shortened URL, "data: URI", "bytes"). */
  readonly input: string;

  constructor(
    code: MediaErrorCode,
    input: string,
    problem: string,
    fix: string,
    options?: { cause?: unknown },
  ) {
    super(`${input}: ${problem}. ${fix}`, options);
    this.name = "MediaError";
    this.code = code;
    this.input = input;
  }

  /** True when the input itself was bad or refused (HTTP 400-class); false for a missing tool (500-class). */
  get isInputError(): boolean {
    return !TOOL_CODES.has(this.code);
  }
}

/** Shortens a source description for messages: long URLs and data URIs are cut. */
export function describeInput(source: string): string {
  if (source.startsWith("data:")) {
    const comma = source.indexOf(",");
    return `data: URI (${comma > 0 ? source.slice(5, Math.min(comma, 60)) : "malformed"})`;
  }
  return source.length > 120 ? `${source.slice(0, 117)}...` : source;
}
