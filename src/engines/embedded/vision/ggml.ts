/**
 * The slice of ggml the vision graph uses, bound with koffi to the llama.cpp shared libraries of the
 * `@node-llama-cpp/<platform>` package (engine-notes §4), from the folder libraries.ts chose for the engine's binding.
 * It works before or without that binding; it registers the backends only when nobody has done so yet, and always
 * computes on the CPU backend.
 *
 * Every pointer is a `bigint` (koffi 3). Wrong handles crash the process: callers validate shapes first.
 */

import { readdirSync } from "node:fs";
import { join } from "node:path";
import koffi from "koffi";
import { locateLibraries, rememberLibraries } from "../libraries.ts";

/** An opaque native pointer. */
export type Ptr = bigint;

/** ggml type codes used here. */
export const GGML_F32 = 0;
export const GGML_F16 = 1;
export const GGML_I32 = 26;
/** `GGML_ROPE_TYPE_VISION`. */
export const GGML_ROPE_VISION = 24;

/** The libraries could not be found or loaded; the message says what to install. */
export class GgmlLoadError extends Error {
  override name = "GgmlLoadError";
}

function bind(dir: string) {
  const files = readdirSync(dir);
  const pick = (re: RegExp, what: string) => {
    const f = files.find((n) => re.test(n));
    if (!f)
      throw new GgmlLoadError(`${what} not found in ${dir}; reinstall the @node-llama-cpp binary package`);
    return join(dir, f);
  };
  const base = koffi.load(pick(/^libggml-base\.(so|dylib)$|^ggml-base\.dll$/, "libggml-base"));
  const reg = koffi.load(pick(/^libggml(\.v[\d.]+)?\.(so|dylib)$|^ggml\.dll$/, "libggml"));
  const InitParams = koffi.struct("glmv_vision_ggml_init_params", {
    mem_size: "size_t",
    mem_buffer: "void*",
    no_alloc: "bool",
  });
  const T = "void*";
  const b = (sig: string) => base.func(sig);
  const api = {
    // registry (libggml)
    ggml_backend_load_all_from_path: reg.func("void ggml_backend_load_all_from_path(const char* dir)"),
    ggml_backend_dev_count: reg.func("size_t ggml_backend_dev_count()"),
    ggml_backend_init_by_type: reg.func("void* ggml_backend_init_by_type(int type, const char* params)"),
    // contexts, tensors
    ggml_init: b("void* ggml_init(glmv_vision_ggml_init_params params)"),
    ggml_free: b("void ggml_free(void* ctx)"),
    ggml_tensor_overhead: b("size_t ggml_tensor_overhead()"),
    ggml_graph_overhead_custom: b("size_t ggml_graph_overhead_custom(size_t size, bool grads)"),
    ggml_new_graph_custom: b("void* ggml_new_graph_custom(void* ctx, size_t size, bool grads)"),
    ggml_build_forward_expand: b("void ggml_build_forward_expand(void* graph, void* tensor)"),
    ggml_new_tensor_1d: b(`${T} ggml_new_tensor_1d(void* ctx, int type, int64_t ne0)`),
    ggml_new_tensor_2d: b(`${T} ggml_new_tensor_2d(void* ctx, int type, int64_t ne0, int64_t ne1)`),
    ggml_new_tensor_4d: b(
      `${T} ggml_new_tensor_4d(void* ctx, int type, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3)`,
    ),
    ggml_set_name: b(`${T} ggml_set_name(void* t, const char* name)`),
    ggml_set_input: b("void ggml_set_input(void* t)"),
    ggml_set_output: b("void ggml_set_output(void* t)"),
    ggml_nbytes: b("size_t ggml_nbytes(void* t)"),
    // ops
    ggml_mul_mat: b(`${T} ggml_mul_mat(void* ctx, void* a, void* b)`),
    ggml_add: b(`${T} ggml_add(void* ctx, void* a, void* b)`),
    ggml_mul: b(`${T} ggml_mul(void* ctx, void* a, void* b)`),
    ggml_cast: b(`${T} ggml_cast(void* ctx, void* a, int type)`),
    ggml_rms_norm: b(`${T} ggml_rms_norm(void* ctx, void* a, float eps)`),
    ggml_norm: b(`${T} ggml_norm(void* ctx, void* a, float eps)`),
    ggml_silu: b(`${T} ggml_silu(void* ctx, void* a)`),
    ggml_gelu_erf: b(`${T} ggml_gelu_erf(void* ctx, void* a)`),
    ggml_soft_max_ext: b(
      `${T} ggml_soft_max_ext(void* ctx, void* a, void* mask, float scale, float max_bias)`,
    ),
    ggml_flash_attn_ext: b(
      `${T} ggml_flash_attn_ext(void* ctx, void* q, void* k, void* v, void* mask, float scale, float max_bias, float softcap)`,
    ),
    ggml_rope_multi: b(
      `${T} ggml_rope_multi(void* ctx, void* a, void* b, void* c, int n_dims, int* sections, int mode, int n_ctx_orig, float freq_base, float freq_scale, float ext_factor, float attn_factor, float beta_fast, float beta_slow)`,
    ),
    ggml_reshape_2d: b(`${T} ggml_reshape_2d(void* ctx, void* a, int64_t ne0, int64_t ne1)`),
    ggml_reshape_3d: b(`${T} ggml_reshape_3d(void* ctx, void* a, int64_t ne0, int64_t ne1, int64_t ne2)`),
    ggml_permute: b(`${T} ggml_permute(void* ctx, void* a, int ax0, int ax1, int ax2, int ax3)`),
    ggml_cont: b(`${T} ggml_cont(void* ctx, void* a)`),
    // backend
    ggml_backend_free: b("void ggml_backend_free(void* backend)"),
    ggml_backend_get_device: b("void* ggml_backend_get_device(void* backend)"),
    ggml_backend_dev_backend_reg: b("void* ggml_backend_dev_backend_reg(void* dev)"),
    ggml_backend_dev_name: b("const char* ggml_backend_dev_name(void* dev)"),
    ggml_backend_reg_get_proc_address: b(
      "void* ggml_backend_reg_get_proc_address(void* reg, const char* name)",
    ),
    ggml_backend_alloc_ctx_tensors: b("void* ggml_backend_alloc_ctx_tensors(void* ctx, void* backend)"),
    ggml_backend_buffer_free: b("void ggml_backend_buffer_free(void* buf)"),
    ggml_backend_tensor_set: b(
      "void ggml_backend_tensor_set(void* t, const void* data, size_t offset, size_t size)",
    ),
    ggml_backend_tensor_get: b(
      "void ggml_backend_tensor_get(void* t, void* data, size_t offset, size_t size)",
    ),
    ggml_backend_get_default_buffer_type: b("void* ggml_backend_get_default_buffer_type(void* backend)"),
    ggml_backend_graph_compute: b("int ggml_backend_graph_compute(void* backend, void* graph)"),
    ggml_gallocr_new: b("void* ggml_gallocr_new(void* buft)"),
    ggml_gallocr_alloc_graph: b("bool ggml_gallocr_alloc_graph(void* galloc, void* graph)"),
    ggml_gallocr_free: b("void ggml_gallocr_free(void* galloc)"),
    ggml_gallocr_get_buffer_size: b("size_t ggml_gallocr_get_buffer_size(void* galloc, int id)"),
  };
  const setThreadsProto = koffi.proto("void glmv_vision_set_n_threads(void* backend, int n)");
  return { api, InitParams, setThreadsProto };
}

/** The bound ggml API. */
export type GgmlApi = ReturnType<typeof bind>["api"];

let cached: { api: GgmlApi; setThreadsProto: ReturnType<typeof koffi.proto> } | undefined;

/**
 * Loads (once) the ggml libraries and makes sure a CPU backend is registered. The folder is the one the engine's
 * binding loaded in this thread (libraries.ts), so the process holds one ggml; alone, it is the CPU package.
 */
export function loadGgml(): GgmlApi {
  if (cached) return cached.api;
  const choice = locateLibraries("cpu");
  const dir = choice.dir;
  let bound: ReturnType<typeof bind>;
  try {
    bound = bind(dir);
  } catch (e) {
    if (e instanceof GgmlLoadError) throw e;
    throw new GgmlLoadError(`cannot load the llama.cpp libraries from ${dir}: ${(e as Error).message}`);
  }
  // The engine's binding may have registered the backends already; registering twice duplicates the CPU backend.
  if (Number(bound.api.ggml_backend_dev_count()) === 0) bound.api.ggml_backend_load_all_from_path(dir);
  rememberLibraries(choice);
  cached = { api: bound.api, setThreadsProto: bound.setThreadsProto };
  return bound.api;
}

/** A ggml compute backend (CPU) with its thread count set. */
export interface Backend {
  handle: Ptr;
  deviceName: string;
}

/** Creates the CPU backend with `threads` compute threads (via the registry's `ggml_backend_set_n_threads`). */
export function createCpuBackend(threads: number): Backend {
  const g = loadGgml();
  const handle = g.ggml_backend_init_by_type(0, null) as Ptr | null;
  if (!handle)
    throw new GgmlLoadError("ggml has no CPU backend; the @node-llama-cpp binaries look incomplete");
  const dev = g.ggml_backend_get_device(handle) as Ptr;
  const reg = g.ggml_backend_dev_backend_reg(dev) as Ptr;
  const fn = g.ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads") as Ptr | null;
  if (fn && cached) koffi.call(fn, cached.setThreadsProto, handle, Math.max(1, Math.floor(threads)));
  return { handle, deviceName: String(g.ggml_backend_dev_name(dev)) };
}

/** Allocation size of a ggml context that only holds tensor metadata for `tensors` tensors (+ a graph). */
export function metaContextSize(g: GgmlApi, tensors: number, graphNodes = 0): number {
  const t = Number(g.ggml_tensor_overhead()) * tensors;
  return t + (graphNodes > 0 ? Number(g.ggml_graph_overhead_custom(graphNodes, false)) : 0) + 1024;
}

/** A `no_alloc` ggml context sized for the given number of tensors and graph nodes. */
export function newMetaContext(g: GgmlApi, tensors: number, graphNodes = 0): Ptr {
  const ctx = g.ggml_init({
    mem_size: metaContextSize(g, tensors, graphNodes),
    mem_buffer: null,
    no_alloc: true,
  });
  if (!ctx) throw new GgmlLoadError("ggml_init failed (out of memory?)");
  return ctx as Ptr;
}
