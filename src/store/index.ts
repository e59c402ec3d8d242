/**
 * The model store: aliases and references, hub listing and resumable verified downloads, the cache under
 * GLMV_HOME, and `resolveModel`, the call the runtime makes to get a model's files.
 */
export { DEFAULT_MODEL_ALIAS, findAlias, guessFamily, MODEL_ALIASES, type ModelAlias } from "./aliases.ts";
export { glmvHome, hubEndpoint, hubToken, isOffline, type StoreEnv } from "./config.ts";
export { type DownloadOptions, type DownloadResult, type DownloadTarget, downloadFile } from "./download.ts";
export {
  ChecksumMismatchError,
  DiskFullError,
  DownloadLockedError,
  HubAuthError,
  HubNotFoundError,
  HubResponseError,
  ModelNotCachedError,
  ModelNotFoundError,
  ModelRefError,
  NetworkError,
  OfflineError,
  QuantNotFoundError,
  StoreError,
} from "./errors.ts";
export { fetchRepoListing, type RepoListing } from "./hub.ts";
export type { ManifestFile, ModelManifest } from "./manifest.ts";
export { formatPullPlan } from "./notice.ts";
export {
  createProgressPrinter,
  type DownloadProgress,
  formatBytes,
  formatDuration,
  formatProgressLine,
} from "./progress.ts";
export { type ModelRef, parseModelRef } from "./refs.ts";
export { availableQuants, chooseMmproj, quantLabel, type RepoFile, selectFiles } from "./select.ts";
export {
  listModels,
  type ModelListEntry,
  type PlannedFile,
  type PullPlan,
  type PullResult,
  planPull,
  pullModel,
  type RemoveResult,
  type ResolvedModel,
  type ResolveOptions,
  removeModel,
  resolveModel,
  type StoreOptions,
} from "./store.ts";
