/** Typed errors of the embedded engine. Each message tells the user what to do. */

import { LibraryLoadError } from "./libraries.ts";

/** Base class: every embedded-engine error. */
export class EngineError extends Error {
  override name = "EngineError";
}

/** The model file is not a usable GLM-V text model (bad header, wrong architecture, wrong shapes). */
export class InvalidModelError extends EngineError {
  override name = "InvalidModelError";
}

/** llama.cpp refused the model or could not create a context (the message carries its log). */
export class ModelLoadError extends EngineError {
  override name = "ModelLoadError";
}

/** The prompt (after image/video expansion) does not fit the context. */
export class PromptTooLongError extends EngineError {
  override name = "PromptTooLongError";
}

/** The request has media but the engine has no vision encoder, or the media cannot be encoded. */
export class MediaInputError extends EngineError {
  override name = "MediaInputError";
}

/** The engine was closed, or its worker died. */
export class EngineClosedError extends EngineError {
  override name = "EngineClosedError";
}

/** The engine's child process died (isolation "process"); it restarts, so a retry can succeed. HTTP 503. */
export class EngineCrashedError extends EngineError {
  override name = "EngineCrashedError";
  /** The HTTP status a server answers with. */
  readonly status = 503;
}

/** llama_decode failed. */
export class DecodeError extends EngineError {
  override name = "DecodeError";
}

const KINDS: Record<string, new (message: string) => Error> = {
  EngineError,
  InvalidModelError,
  ModelLoadError,
  PromptTooLongError,
  MediaInputError,
  EngineClosedError,
  EngineCrashedError,
  DecodeError,
  LibraryLoadError,
};

/** A structured-clone-safe form of an error (worker → main thread). */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

/** Turns an error into a plain object for postMessage. */
export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: "EngineError", message: String(e) };
}

/** Rebuilds a typed error from its serialized form (unknown names become EngineError keeping the name). */
export function deserializeError(s: SerializedError): Error {
  const Kind = KINDS[s.name];
  const e = Kind ? new Kind(s.message) : new EngineError(s.message);
  if (!Kind) e.name = s.name;
  return e;
}
