/**
 * The embedded engine: GLM-V GGUFs on llama.cpp's kernels through glmv's own koffi binding, in a worker thread.
 *
 * Runtime: `loadEmbeddedEngine({ model, mmproj?, contextSize?, threads?, device?, family?, slots?, isolation? })`
 * → `Engine`; `slots` > 1 decodes requests together (scheduler.ts), `isolation: "process"` runs llama.cpp in a
 * restartable child process (host.ts).
 * Vision encoder (./vision/): implements `VisionEncoderFactory` (vision-hook.ts) and uses `ropeIndex`
 * (positions.ts), the binding (binding.ts) and the GGUF reader/writer (../../gguf/).
 */
export {
  DEVICE_TYPE_CPU,
  findLibraryDir,
  hasGpuDevice,
  LibraryLoadError,
  type LlamaApi,
  type LlamaBinding,
  loadLlama,
  native,
  type Ptr,
} from "./binding.ts";
export { EmbeddedEngine, type EmbeddedEngineOptions, loadEmbeddedEngine } from "./engine.ts";
export {
  DecodeError,
  EngineClosedError,
  EngineCrashedError,
  EngineError,
  InvalidModelError,
  MediaInputError,
  ModelLoadError,
  PromptTooLongError,
} from "./errors.ts";
export {
  chooseLibraries,
  cpuPackage,
  type DeviceRequest,
  type GpuPackage,
  gpuPackages,
  installCommand,
  type LibraryChoice,
  LLAMA_PACKAGES_VERSION,
  locateLibraries,
} from "./libraries.ts";
export { planarPositions, type RopePositions, type RopeSpan, ropeIndex } from "./positions.ts";
export { BatchScheduler, type SequenceSink } from "./scheduler.ts";
export {
  type EvalSpan,
  LlamaSession,
  type SessionInfo,
  type SessionOptions,
  type SessionRequest,
} from "./session.ts";
export { type TextModelFacts, validateMmproj, validateTextModel } from "./validate.ts";
export type {
  VisionEmbeddings,
  VisionEncoder,
  VisionEncoderArgs,
  VisionEncoderFactory,
} from "./vision-hook.ts";
