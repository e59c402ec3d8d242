import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import {
  Batch,
  ContextParams,
  hasGpuDevice,
  LibraryLoadError,
  loadLlama,
  ModelParams,
  native,
  noGpuDeviceError,
  SamplerChainParams,
} from "./binding.ts";
import { findLibraryDir, locateLibraries } from "./libraries.ts";

// Offsets from gcc offsetof against the exact headers of the bound llama.cpp (engine-notes §4.3).
test("struct layouts match llama.h of the bound release", () => {
  assert.equal(native.sizeof(ModelParams), 80);
  const mp: [string, number][] = [
    ["devices", 0],
    ["tensor_buft_overrides", 8],
    ["n_gpu_layers", 16],
    ["split_mode", 20],
    ["load_mode", 24],
    ["lazy_mode", 28],
    ["main_gpu", 32],
    ["tensor_split", 40],
    ["progress_callback", 48],
    ["progress_callback_user_data", 56],
    ["kv_overrides", 64],
    ["vocab_only", 72],
    ["check_tensors", 73],
    ["use_extra_bufts", 74],
    ["no_host", 75],
    ["no_alloc", 76],
    ["load_mtp", 77],
  ];
  for (const [f, off] of mp) assert.equal(native.offsetof(ModelParams, f), off, `llama_model_params.${f}`);

  assert.equal(native.sizeof(ContextParams), 160);
  const cp: [string, number][] = [
    ["n_ctx", 0],
    ["n_outputs_max_per_seq", 24],
    ["n_threads", 28],
    ["n_threads_batch", 32],
    ["ctx_type", 36],
    ["flash_attn_type", 52],
    ["rope_freq_base", 56],
    ["yarn_beta_slow", 76],
    ["yarn_orig_ctx", 80],
    ["defrag_thold", 84],
    ["cb_eval", 88],
    ["cb_eval_user_data", 96],
    ["type_k", 104],
    ["type_v", 108],
    ["abort_callback", 112],
    ["abort_callback_data", 120],
    ["embeddings", 128],
    ["kv_unified", 133],
    ["samplers", 136],
    ["n_samplers", 144],
    ["ctx_other", 152],
  ];
  for (const [f, off] of cp)
    assert.equal(native.offsetof(ContextParams, f), off, `llama_context_params.${f}`);

  assert.equal(native.sizeof(Batch), 56);
  const bp: [string, number][] = [
    ["n_tokens", 0],
    ["token", 8],
    ["embd", 16],
    ["pos", 24],
    ["n_seq_id", 32],
    ["seq_id", 40],
    ["logits", 48],
  ];
  for (const [f, off] of bp) assert.equal(native.offsetof(Batch, f), off, `llama_batch.${f}`);
  assert.equal(native.sizeof(SamplerChainParams), 1);
});

test("defaults decoded from the library match the header's documented defaults", () => {
  const { api, devices } = loadLlama();
  assert.ok(
    devices.some((d) => d.type === 0),
    "a CPU device is registered",
  );
  const mp = api.llama_model_default_params() as Record<string, unknown>;
  assert.equal(mp.n_gpu_layers, -1);
  assert.equal(mp.split_mode, 1);
  assert.equal(mp.load_mode, -1);
  assert.equal(mp.lazy_mode, 1);
  assert.equal(mp.vocab_only, false);
  assert.equal(mp.use_extra_bufts, true);
  assert.equal(mp.devices, null);
  const cp = api.llama_context_default_params() as Record<string, unknown>;
  assert.equal(cp.n_ctx, 512);
  assert.equal(cp.n_batch, 2048);
  assert.equal(cp.n_ubatch, 512);
  assert.equal(cp.n_seq_max, 1);
  assert.equal(cp.n_outputs_max_per_seq, 1);
  assert.equal(cp.n_threads, 4);
  assert.equal(cp.n_threads_batch, 4);
  assert.equal(cp.type_k, 1);
  assert.equal(cp.type_v, 1);
  assert.equal(cp.flash_attn_type, -1);
  assert.equal(cp.offload_kqv, true);
  assert.equal(cp.no_perf, true);
  assert.equal(cp.op_offload, true);
  assert.equal(cp.swa_full, true);
  assert.equal(cp.embeddings, false);
  assert.equal(cp.abort_callback, null);
  assert.deepEqual(api.llama_sampler_chain_default_params(), { no_perf: true });
});

test("a GPU device is any device that is not the CPU", () => {
  assert.equal(hasGpuDevice([{ type: 0 }]), false);
  assert.equal(hasGpuDevice([{ type: 0 }, { type: 1 }]), true);
  assert.equal(hasGpuDevice([]), false);
});

test("no-GPU errors say what to check for the backend that was loaded", () => {
  const cuda = noGpuDeviceError({ dir: "/x", source: "@node-llama-cpp/linux-x64-cuda", gpuBackend: "CUDA" }, [
    { name: "CPU" },
  ]);
  assert.ok(cuda instanceof LibraryLoadError);
  assert.match(
    cuda.message,
    /CUDA backend of @node-llama-cpp\/linux-x64-cuda found no usable GPU \(devices: CPU\)/,
  );
  assert.match(cuda.message, /nvidia-smi/);
  assert.match(cuda.message, /npm install --save-exact @node-llama-cpp\/linux-x64-cuda-ext@3\.21\.1/);
  assert.match(cuda.message, /--device auto/);
  const vulkan = noGpuDeviceError({ dir: "/x", source: "v", gpuBackend: "Vulkan" }, []);
  assert.match(vulkan.message, /vulkaninfo/);
  const cpuOnly = noGpuDeviceError({ dir: "/lib", source: "GLMV_LLAMA_LIB_DIR" }, [{ name: "CPU" }]);
  assert.match(cpuOnly.message, /from GLMV_LLAMA_LIB_DIR \(\/lib\) have no GPU backend/);
});

/** Runs `loadLlama(device)` in a fresh process (the binding loads once per thread) and returns its outcome. */
function loadInChild(device: string, env: Record<string, string | undefined>): { ok: boolean; text: string } {
  const code =
    `import { loadLlama } from ${JSON.stringify(new URL("./binding.ts", import.meta.url).href)};\n` +
    `try { const b = loadLlama(${JSON.stringify(device)}); console.log(JSON.stringify({ ok: true, text: b.libSource + " " + b.devices.map((d) => d.name).join(",") })); }\n` +
    "catch (e) { console.log(JSON.stringify({ ok: false, text: e.name + ': ' + e.message })); }";
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], {
    env: { ...process.env, ...env, GLMV_LLAMA_LOG: "0" },
    encoding: "utf8",
  });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  assert.ok(line.startsWith("{"), `child output: ${r.stdout}${r.stderr}`);
  return JSON.parse(line);
}

test("--device gpu never runs on the CPU: no GPU package, or no GPU device, is a LibraryLoadError", (t) => {
  const base = findLibraryDir("cpu");
  if (process.env.GLMV_LLAMA_LIB_DIR) return t.skip("GLMV_LLAMA_LIB_DIR is set");
  if (locateLibraries("auto").gpuBackend) return t.skip("a GPU package is installed here");
  // Libraries without a GPU backend (the CPU package through the override): the registry check refuses.
  const viaOverride = loadInChild("gpu", { GLMV_LLAMA_LIB_DIR: base });
  assert.equal(viaOverride.ok, false);
  assert.match(viaOverride.text, /^LibraryLoadError: --device gpu: .*have no GPU backend \(devices: CPU\)/);
  // No GPU package installed: the locator names the install command.
  const plain = loadInChild("gpu", { GLMV_LLAMA_LIB_DIR: undefined });
  assert.equal(plain.ok, false);
  assert.match(plain.text, /npm install --save-exact @node-llama-cpp\//);
  // auto falls back to the CPU package.
  const auto = loadInChild("auto", { GLMV_LLAMA_LIB_DIR: undefined });
  assert.deepEqual(auto.ok, true);
  assert.match(auto.text, /^@node-llama-cpp\/\S+ CPU$/);
});
