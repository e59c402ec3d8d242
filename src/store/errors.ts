/**
 * Typed errors of the model store. Every message says what went wrong and what the user can do about it;
 * the CLI prints `message` as is.
 */

/** Base class of every model-store error (so callers can tell store failures from bugs). */
export class StoreError extends Error {
  override name = "StoreError";
}

/** The model reference cannot be understood (bad syntax, unknown alias, missing local path). */
export class ModelRefError extends StoreError {
  override name = "ModelRefError";
}

/** The model is not in the cache and downloading was not allowed (pull: false, or offline). */
export class ModelNotCachedError extends StoreError {
  override name = "ModelNotCachedError";
}

/** The network is needed but offline mode (GLMV_OFFLINE=1 or HF_HUB_OFFLINE=1) forbids it. */
export class OfflineError extends StoreError {
  override name = "OfflineError";
}

/** The hub refused access (401/403): a gated or private repository, or a bad token. */
export class HubAuthError extends StoreError {
  override name = "HubAuthError";
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

/** The hub says the repository, revision or file does not exist (404). */
export class HubNotFoundError extends StoreError {
  override name = "HubNotFoundError";
}

/** The hub answered with an unexpected status (5xx, 429, malformed JSON…). */
export class HubResponseError extends StoreError {
  override name = "HubResponseError";
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

/** The hub could not be reached, or the connection broke (after the retries). */
export class NetworkError extends StoreError {
  override name = "NetworkError";
}

/** The repository has no GGUF file for the requested quantisation; `available` lists what it has. */
export class QuantNotFoundError extends StoreError {
  override name = "QuantNotFoundError";
  readonly available: string[];
  constructor(message: string, available: string[]) {
    super(message);
    this.available = available;
  }
}

/** A downloaded file's sha256 differs from the hub's LFS id; the bad file has been deleted. */
export class ChecksumMismatchError extends StoreError {
  override name = "ChecksumMismatchError";
}

/** Not enough free disk space for the download (checked up front, and ENOSPC while writing). */
export class DiskFullError extends StoreError {
  override name = "DiskFullError";
}

/** Another glmv process is downloading the same file right now. */
export class DownloadLockedError extends StoreError {
  override name = "DownloadLockedError";
}

/** `glmv rm` (or a lookup) named a model that is not in the cache. */
export class ModelNotFoundError extends StoreError {
  override name = "ModelNotFoundError";
}
