/**
 * glmv's koffi binding to llama.cpp's shared libraries from the `@node-llama-cpp/<platform>` package (pinned
 * 3.21.1, llama.cpp release v0.4.0 / 80fb11a). Only the functions glmv uses are declared; struct layouts follow
 * engine-notes §4.3 (checked by binding.test.ts against offsets taken from the exact headers).
 *
 * Load order: libggml-base → libggml.v* → libllama.v*, then `ggml_backend_load_all_from_path(dir)` registers the
 * best CPU variant (and GPU backends where the package has them). Every pointer is a `bigint`; passing the wrong
 * handle crashes the process, so callers validate first. One binding per thread (koffi is per-isolate).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import koffi from "koffi";
import {
  type DeviceRequest,
  type LibraryChoice,
  LibraryLoadError,
  LLAMA_PACKAGES_VERSION,
  locateLibraries,
  rememberLibraries,
} from "./libraries.ts";

export { findLibraryDir, LibraryLoadError } from "./libraries.ts";

/** An opaque native pointer (koffi 3 returns pointers as bigint). */
export type Ptr = bigint;

/** `llama_model_params` (80 bytes). */
export const ModelParams = koffi.struct("glmv_llama_model_params", {
  devices: "void*",
  tensor_buft_overrides: "void*",
  n_gpu_layers: "int32",
  split_mode: "int32",
  load_mode: "int32",
  lazy_mode: "int32",
  main_gpu: "int32",
  tensor_split: "void*",
  progress_callback: "void*",
  progress_callback_user_data: "void*",
  kv_overrides: "void*",
  vocab_only: "bool",
  check_tensors: "bool",
  use_extra_bufts: "bool",
  no_host: "bool",
  no_alloc: "bool",
  load_mtp: "bool",
});

/** `llama_context_params` (160 bytes). */
export const ContextParams = koffi.struct("glmv_llama_context_params", {
  n_ctx: "uint32",
  n_batch: "uint32",
  n_ubatch: "uint32",
  n_seq_max: "uint32",
  n_rs_seq: "uint32",
  n_outputs_max: "uint32",
  n_outputs_max_per_seq: "uint32",
  n_threads: "int32",
  n_threads_batch: "int32",
  ctx_type: "int32",
  rope_scaling_type: "int32",
  pooling_type: "int32",
  attention_type: "int32",
  flash_attn_type: "int32",
  rope_freq_base: "float",
  rope_freq_scale: "float",
  yarn_ext_factor: "float",
  yarn_attn_factor: "float",
  yarn_beta_fast: "float",
  yarn_beta_slow: "float",
  yarn_orig_ctx: "uint32",
  defrag_thold: "float",
  cb_eval: "void*",
  cb_eval_user_data: "void*",
  type_k: "int32",
  type_v: "int32",
  abort_callback: "void*",
  abort_callback_data: "void*",
  embeddings: "bool",
  offload_kqv: "bool",
  no_perf: "bool",
  op_offload: "bool",
  swa_full: "bool",
  kv_unified: "bool",
  samplers: "void*",
  n_samplers: "size_t",
  ctx_other: "void*",
});

/** `llama_batch` (56 bytes, passed by value to `llama_decode`). */
export const Batch = koffi.struct("glmv_llama_batch", {
  n_tokens: "int32",
  token: "void*",
  embd: "void*",
  pos: "void*",
  n_seq_id: "void*",
  seq_id: "void*",
  logits: "void*",
});

/** `llama_sampler_chain_params` (1 byte). */
export const SamplerChainParams = koffi.struct("glmv_llama_sampler_chain_params", { no_perf: "bool" });

/** The `llama_batch` value as passed to `llama_decode`. */
export interface BatchValue {
  n_tokens: number;
  token: Ptr | null;
  embd: Ptr | null;
  pos: Ptr;
  n_seq_id: Ptr;
  seq_id: Ptr;
  logits: Ptr;
}

const LogCallback = koffi.proto("void glmv_llama_log_cb(int level, const char* text, void* ud)");
const AbortCallback = koffi.proto("bool glmv_llama_abort_cb(void* data)");

function bind(dir: string) {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    throw new LibraryLoadError(
      `the llama.cpp library folder ${dir} does not exist; run \`npm ci\` (or fix GLMV_LLAMA_LIB_DIR)`,
    );
  }
  const pick = (re: RegExp, what: string) => {
    const f = files.find((n) => re.test(n));
    if (!f) throw new LibraryLoadError(`${what} not found in ${dir}; reinstall that @node-llama-cpp package`);
    return join(dir, f);
  };
  const base = koffi.load(pick(/^libggml-base\.(so|dylib)$|^ggml-base\.dll$/, "libggml-base"));
  const ggml = koffi.load(pick(/^libggml(\.v[\d.]+)?\.(so|dylib)$|^ggml\.dll$/, "libggml"));
  const llama = koffi.load(pick(/^libllama(\.v[\d.]+)?\.(so|dylib)$|^llama\.dll$/, "libllama"));
  const L = (sig: string) => llama.func(sig);
  return {
    // registry and devices
    ggml_backend_load_all_from_path: ggml.func("void ggml_backend_load_all_from_path(const char* dir)"),
    ggml_backend_load: ggml.func("void* ggml_backend_load(const char* path)"),
    ggml_backend_dev_count: ggml.func("size_t ggml_backend_dev_count()"),
    ggml_backend_dev_get: ggml.func("void* ggml_backend_dev_get(size_t i)"),
    ggml_backend_dev_name: base.func("const char* ggml_backend_dev_name(void* dev)"),
    ggml_backend_dev_description: base.func("const char* ggml_backend_dev_description(void* dev)"),
    ggml_backend_dev_type: base.func("int ggml_backend_dev_type(void* dev)"),
    // lifetime
    llama_backend_init: L("void llama_backend_init()"),
    llama_backend_free: L("void llama_backend_free()"),
    llama_log_set: L("void llama_log_set(void* cb, void* ud)"),
    llama_model_default_params: L("glmv_llama_model_params llama_model_default_params()"),
    llama_context_default_params: L("glmv_llama_context_params llama_context_default_params()"),
    llama_sampler_chain_default_params: L(
      "glmv_llama_sampler_chain_params llama_sampler_chain_default_params()",
    ),
    llama_model_load_from_file: L(
      "void* llama_model_load_from_file(const char* path, glmv_llama_model_params p)",
    ),
    llama_model_free: L("void llama_model_free(void* model)"),
    llama_init_from_model: L("void* llama_init_from_model(void* model, glmv_llama_context_params p)"),
    llama_free: L("void llama_free(void* ctx)"),
    llama_set_abort_callback: L("void llama_set_abort_callback(void* ctx, void* cb, void* data)"),
    llama_set_n_threads: L("void llama_set_n_threads(void* ctx, int32 n_threads, int32 n_threads_batch)"),
    // model facts
    llama_model_get_vocab: L("void* llama_model_get_vocab(void* model)"),
    llama_model_n_embd: L("int32 llama_model_n_embd(void* model)"),
    llama_model_n_ctx_train: L("int32 llama_model_n_ctx_train(void* model)"),
    llama_model_n_layer: L("int32 llama_model_n_layer(void* model)"),
    llama_model_rope_type: L("int llama_model_rope_type(void* model)"),
    llama_model_chat_template: L("const char* llama_model_chat_template(void* model, const char* name)"),
    llama_model_desc: L("int32 llama_model_desc(void* model, _Out_ char* buf, size_t size)"),
    llama_model_size: L("uint64 llama_model_size(void* model)"),
    llama_n_ctx: L("uint32 llama_n_ctx(void* ctx)"),
    // vocab
    llama_vocab_n_tokens: L("int32 llama_vocab_n_tokens(void* vocab)"),
    llama_vocab_is_eog: L("bool llama_vocab_is_eog(void* vocab, int32 token)"),
    llama_vocab_eos: L("int32 llama_vocab_eos(void* vocab)"),
    llama_tokenize: L(
      "int32 llama_tokenize(void* vocab, const char* text, int32 len, void* tokens, int32 max, bool add_special, bool parse_special)",
    ),
    llama_token_to_piece: L(
      "int32 llama_token_to_piece(void* vocab, int32 token, void* buf, int32 len, int32 lstrip, bool special)",
    ),
    // decode
    llama_decode: L("int32 llama_decode(void* ctx, glmv_llama_batch batch)"),
    llama_get_logits_ith: L("void* llama_get_logits_ith(void* ctx, int32 i)"),
    llama_get_memory: L("void* llama_get_memory(void* ctx)"),
    llama_memory_clear: L("void llama_memory_clear(void* mem, bool data)"),
    llama_memory_seq_rm: L("bool llama_memory_seq_rm(void* mem, int32 seq, int32 p0, int32 p1)"),
    llama_memory_seq_pos_max: L("int32 llama_memory_seq_pos_max(void* mem, int32 seq)"),
    // samplers
    llama_sampler_chain_init: L("void* llama_sampler_chain_init(glmv_llama_sampler_chain_params p)"),
    llama_sampler_chain_add: L("void llama_sampler_chain_add(void* chain, void* smpl)"),
    llama_sampler_init_greedy: L("void* llama_sampler_init_greedy()"),
    llama_sampler_init_dist: L("void* llama_sampler_init_dist(uint32 seed)"),
    llama_sampler_init_temp: L("void* llama_sampler_init_temp(float t)"),
    llama_sampler_init_top_k: L("void* llama_sampler_init_top_k(int32 k)"),
    llama_sampler_init_top_p: L("void* llama_sampler_init_top_p(float p, size_t min_keep)"),
    llama_sampler_init_min_p: L("void* llama_sampler_init_min_p(float p, size_t min_keep)"),
    // This build takes an extra leading int32 (the vocabulary size is passed): its machine code sizes the
    // penalty ring buffer from the SECOND integer argument. With the 4-argument header form that register held
    // garbage, so each chain allocated and zeroed gigabytes (seconds per request at repetition_penalty ≠ 1).
    llama_sampler_init_penalties: L(
      "void* llama_sampler_init_penalties(int32 n_vocab, int32 last_n, float repeat, float freq, float present)",
    ),
    llama_sampler_sample: L("int32 llama_sampler_sample(void* smpl, void* ctx, int32 idx)"),
    llama_sampler_accept: L("void llama_sampler_accept(void* smpl, int32 token)"),
    llama_sampler_free: L("void llama_sampler_free(void* smpl)"),
  };
}

/** The bound llama.cpp API (functions as declared above). */
export type LlamaApi = ReturnType<typeof bind>;

/** One loaded binding: the API, the library folder and the devices the registry found. */
export interface LlamaBinding {
  api: LlamaApi;
  libDir: string;
  /** The package the libraries came from, e.g. "@node-llama-cpp/linux-x64-cuda" (or "GLMV_LLAMA_LIB_DIR"). */
  libSource: string;
  /** Whether a registered device is not the CPU (a GPU backend found its device). */
  hasGpu: boolean;
  /** Registered compute devices; the CPU's description names the loaded variant, e.g. "zen4, AMD EPYC". */
  devices: { name: string; description: string; type: number }[];
  /** The last log lines of llama.cpp (for error messages). */
  recentLog(): string;
  /** Registers a JS abort check as a native callback (kept alive for the thread's lifetime). */
  abortCallback(check: () => boolean): Ptr;
  /**
   * Points llama.cpp's (process-wide) logger at this thread's callback. Several engine workers share the logger,
   * and a callback of a finished worker must never be called, so every session operation re-installs its own.
   */
  installLog(): void;
  /** Resets llama.cpp's logger to its default (call before this thread's callbacks go away). */
  uninstallLog(): void;
}

let loaded: LlamaBinding | undefined;

/** `GGML_LOG_LEVEL_*` values. */
export const LogLevel = { none: 0, debug: 1, info: 2, warn: 3, error: 4, cont: 5 } as const;

/** `GGML_BACKEND_DEVICE_TYPE_CPU`; every other type (GPU, integrated GPU, accelerator) counts as a GPU here. */
export const DEVICE_TYPE_CPU = 0;

/** True when one of the devices is not the CPU. */
export function hasGpuDevice(devices: readonly { type: number }[]): boolean {
  return devices.some((d) => d.type !== DEVICE_TYPE_CPU);
}

/** The error for `--device gpu` when the loaded libraries registered no GPU device. */
export function noGpuDeviceError(
  choice: LibraryChoice,
  devices: readonly { name: string }[],
): LibraryLoadError {
  const found = devices.map((d) => d.name).join(", ") || "none";
  const where = choice.gpuBackend
    ? `the ${choice.gpuBackend} backend of ${choice.source} found no usable GPU`
    : `the llama.cpp libraries from ${choice.source} (${choice.dir}) have no GPU backend`;
  const fix = choice.gpuBackend
    ? choice.gpuBackend === "CUDA"
      ? "check that the NVIDIA driver is installed and `nvidia-smi` lists the GPU (in a container: give it GPU " +
        "access); if GLMV_LLAMA_LOG=1 shows libggml-cuda failing to load, install the CUDA runtime libraries " +
        "(libcudart, libcublas) or add the fallback builds: npm install --save-exact " +
        `${choice.source}-ext@${LLAMA_PACKAGES_VERSION}`
      : choice.gpuBackend === "Vulkan"
        ? "check that a Vulkan driver is installed and `vulkaninfo` lists the GPU"
        : "check that the GPU is visible to this process"
    : "install a GPU build (run with --device gpu and no GLMV_LLAMA_LIB_DIR to see the install command)";
  return new LibraryLoadError(
    `--device gpu: ${where} (devices: ${found}); ${fix}. GLMV_LLAMA_LOG=1 shows llama.cpp's backend log; ` +
      "--device auto or cpu runs on the CPU.",
  );
}

/** Names a backend library of a GPU (not the CPU variants or the core libraries). */
const GPU_BACKEND_FILE = /^(lib)?ggml-(cuda|vulkan|metal|hip|musa|sycl|opencl)[\w.-]*\.(so|dylib|dll)$/;

/**
 * Loads (once per thread) the llama.cpp libraries for a device request (libraries.ts picks the folder), registers
 * the backends and initialises llama.cpp. `device: "gpu"` fails with `LibraryLoadError` when no GPU device is
 * registered, rather than running on the CPU. Logs go to a ring buffer (see `recentLog`), or to stderr too when
 * `GLMV_LLAMA_LOG=1`.
 */
export function loadLlama(device: DeviceRequest = "cpu"): LlamaBinding {
  if (loaded) {
    if (device === "gpu" && !loaded.hasGpu) {
      throw noGpuDeviceError({ dir: loaded.libDir, source: loaded.libSource }, loaded.devices);
    }
    return loaded;
  }
  const choice = locateLibraries(device);
  const libDir = choice.dir;
  let api: LlamaApi;
  try {
    api = bind(libDir);
  } catch (e) {
    if (e instanceof LibraryLoadError) throw e;
    throw new LibraryLoadError(`cannot load the llama.cpp libraries from ${libDir}: ${(e as Error).message}`);
  }
  rememberLibraries(choice);
  const log: string[] = [];
  const echo = process.env.GLMV_LLAMA_LOG === "1";
  let lastLevel = 0;
  const cb = koffi.register((level: number, text: string) => {
    const lvl = level === LogLevel.cont ? lastLevel : level;
    lastLevel = lvl;
    if (echo) process.stderr.write(text);
    if (lvl >= LogLevel.info) {
      log.push(text);
      if (log.length > 200) log.splice(0, log.length - 200);
    }
  }, koffi.pointer(LogCallback));
  api.llama_log_set(cb, null);
  // The vision module may have registered the backends already: registering twice duplicates the CPU backend.
  if (Number(api.ggml_backend_dev_count()) === 0) api.ggml_backend_load_all_from_path(libDir);
  if (device !== "cpu" && choice.fallbackDir && !hasGpuDevice(listDevices(api))) {
    // cuda-ext's fallback backends (other CUDA versions); each registers itself when it finds a device.
    for (const f of safeList(choice.fallbackDir)) {
      if (GPU_BACKEND_FILE.test(f)) api.ggml_backend_load(join(choice.fallbackDir, f));
    }
  }
  api.llama_backend_init();
  const devices = listDevices(api);
  // Which CPU variant the registry picked (Linux: from the process's mapped files), e.g. "zen4".
  let cpuVariant = "";
  try {
    cpuVariant = /libggml-cpu-([\w-]+)\.so/.exec(readFileSync("/proc/self/maps", "utf8"))?.[1] ?? "";
  } catch {
    // not Linux
  }
  for (const d of devices) if (d.type === 0 && cpuVariant) d.description = `${cpuVariant}, ${d.description}`;
  if (devices.length === 0) {
    throw new LibraryLoadError(
      `no compute backend could be loaded from ${libDir} (no libggml-cpu-*.so fits this CPU?); reinstall with npm ci`,
    );
  }
  const hasGpu = hasGpuDevice(devices);
  if (device === "gpu" && !hasGpu) throw noGpuDeviceError(choice, devices);
  const callbacks: unknown[] = [cb];
  loaded = {
    api,
    libDir,
    libSource: choice.source,
    hasGpu,
    devices,
    recentLog: () => log.join("").trim(),
    installLog() {
      api.llama_log_set(cb, null);
    },
    uninstallLog() {
      api.llama_log_set(null, null);
    },
    abortCallback(check) {
      const reg = koffi.register(() => check(), koffi.pointer(AbortCallback));
      callbacks.push(reg);
      return koffi.address(reg) as Ptr;
    },
  };
  return loaded;
}

function listDevices(api: LlamaApi): { name: string; description: string; type: number }[] {
  const devices = [];
  const n = Number(api.ggml_backend_dev_count());
  for (let i = 0; i < n; i++) {
    const dev = api.ggml_backend_dev_get(i) as Ptr;
    devices.push({
      name: String(api.ggml_backend_dev_name(dev)),
      description: String(api.ggml_backend_dev_description(dev)),
      type: api.ggml_backend_dev_type(dev) as number,
    });
  }
  return devices;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Native memory helpers over koffi (stable pointers + zero-copy views). */
export const native = {
  /** Allocates `bytes` of native memory (freed with `native.free`). */
  alloc(bytes: number): Ptr {
    return koffi.alloc("uint8", Math.max(1, bytes)) as unknown as Ptr;
  },
  free(ptr: Ptr): void {
    koffi.free(ptr as never);
  },
  /** A zero-copy ArrayBuffer over native memory. */
  view(ptr: Ptr, bytes: number): ArrayBuffer {
    return koffi.view(ptr as never, bytes) as ArrayBuffer;
  },
  /** The address of a registered callback or a pointer value as a bigint. */
  address(p: unknown): Ptr {
    return koffi.address(p as never) as Ptr;
  },
  sizeof(type: unknown): number {
    return koffi.sizeof(type as never);
  },
  offsetof(type: unknown, field: string): number {
    return koffi.offsetof(type as never, field);
  },
};
