/**
 * Vision-encoder benchmark: encode time and achieved GFLOP/s of GLM-V's vision tower on ggml (our graph) for a
 * 1000×700 image (→ 1008×700, 72×50 = 3,600 patches) with a benchmark-size tower (1536 wide, 12 heads, MLP 4096,
 * a few blocks, F16 matrices, random weights), next to the GFLOP/s of one plain ggml F16 matrix product of similar
 * size through the same binding.
 *
 * Usage: node bench/vision.ts [--threads 2] [--blocks 4] [--width 1008] [--height 700] [--flash auto|on|off] [--runs 3]
 */

import { parseArgs } from "node:util";
import type { VisionConfig } from "../src/engines/embedded/vision/config.ts";
import {
  createCpuBackend,
  GGML_F16,
  GGML_F32,
  loadGgml,
  newMetaContext,
  type Ptr,
} from "../src/engines/embedded/vision/ggml.ts";
import { VisionTower, type WeightBlob } from "../src/engines/embedded/vision/graph.ts";
import { patchifyImage } from "../src/engines/embedded/vision/preprocess.ts";
import { randomVisionWeights } from "../src/engines/embedded/vision/weights.ts";
import { quantizeF16 } from "../src/gguf/quant.ts";

const { values } = parseArgs({
  options: {
    threads: { type: "string", default: "2" },
    blocks: { type: "string", default: "4" },
    width: { type: "string", default: "1008" },
    height: { type: "string", default: "700" },
    flash: { type: "string", default: "auto" },
    runs: { type: "string", default: "3" },
    proj: { type: "string", default: "1024" },
  },
});
const threads = Number(values.threads);
const runs = Number(values.runs);
const config: VisionConfig = {
  variant: "glm4v",
  hiddenSize: 1536,
  blockCount: Number(values.blocks),
  headCount: 12,
  feedForwardLength: 4096,
  projectionDim: Number(values.proj),
  imageSize: 336,
  patchSize: 14,
  spatialMergeSize: 2,
  eps: 1e-5,
  imageMean: [0.48145466, 0.4578275, 0.40821073],
  imageStd: [0.26862954, 0.26130258, 0.27577711],
};
const mergerWidth = Math.round((13696 / 4096) * config.projectionDim);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** FLOPs of the tower's matrix work for n patches (2 per multiply-add). */
function towerFlops(n: number): { total: number; attention: number } {
  const d = config.hiddenSize;
  const ff = config.feedForwardLength;
  const p = config.projectionDim;
  const m = n / 4;
  const perBlockLinear = 2 * n * (4 * d * d + 3 * d * ff);
  const perBlockAttention = 2 * 2 * n * n * d;
  const total =
    2 * n * 1176 * d +
    config.blockCount * (perBlockLinear + perBlockAttention) +
    2 * m * 4 * d * p +
    2 * m * (p * p + 3 * p * mergerWidth);
  return { total, attention: config.blockCount * perBlockAttention };
}

// Weights: random, matrices stored F16 (as real mmproj files ship), norms/biases/pos table F32.
const t0 = performance.now();
const host = randomVisionWeights(config, { seed: 1, mergerWidth });
const blobs: WeightBlob[] = [...host].map(([name, t]) => {
  const f16 = t.ne.length >= 2 && name !== "v.position_embd.weight";
  return {
    name,
    type: f16 ? GGML_F16 : GGML_F32,
    ne: t.ne,
    bytes: f16 ? quantizeF16(t.data) : new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
  };
});
host.clear();
const flash = values.flash === "auto" ? "auto" : values.flash === "on";
const tower = new VisionTower(config, blobs, { threads, flashAttention: flash });
const setupMs = performance.now() - t0;

const width = Number(values.width);
const height = Number(values.height);
const data = new Uint8Array(width * height * 3);
for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
const image = { kind: "image" as const, width, height, data, originalWidth: width, originalHeight: height };
const tp = performance.now();
const patches = patchifyImage(image);
const patchifyMs = performance.now() - tp;
const n = patches.nPatches;

// Plain ggml product of similar size: [3600 × 1536] · [1536 × 4096] with F16 weights, same backend and threads.
// Its runs are interleaved with the encoder's so both see the same machine load.
function plainMatmul(
  rows: number,
  k: number,
  cols: number,
): { run: () => number; close: () => void; flop: number } {
  const g = loadGgml();
  const backend = createCpuBackend(threads);
  const wctx = newMetaContext(g, 2);
  const w = g.ggml_new_tensor_2d(wctx, GGML_F16, k, cols) as Ptr;
  const buf = g.ggml_backend_alloc_ctx_tensors(wctx, backend.handle) as Ptr;
  const wdata = new Float32Array(k * cols);
  for (let i = 0; i < wdata.length; i++) wdata[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  const wb = quantizeF16(wdata);
  g.ggml_backend_tensor_set(w, wb, 0, wb.byteLength);
  const ctx = newMetaContext(g, 8, 8);
  const gf = g.ggml_new_graph_custom(ctx, 8, false) as Ptr;
  const x = g.ggml_new_tensor_2d(ctx, GGML_F32, k, rows) as Ptr;
  g.ggml_set_input(x);
  const y = g.ggml_mul_mat(ctx, w, x) as Ptr;
  g.ggml_set_output(y);
  g.ggml_build_forward_expand(gf, y);
  const galloc = g.ggml_gallocr_new(g.ggml_backend_get_default_buffer_type(backend.handle)) as Ptr;
  g.ggml_gallocr_alloc_graph(galloc, gf);
  const xd = new Float32Array(k * rows).map((_, i) => ((i * 104729) % 997) / 997 - 0.5);
  g.ggml_backend_tensor_set(x, xd, 0, xd.byteLength);
  return {
    flop: 2 * rows * k * cols,
    run() {
      const s = performance.now();
      g.ggml_backend_graph_compute(backend.handle, gf);
      return performance.now() - s;
    },
    close() {
      g.ggml_gallocr_free(galloc);
      g.ggml_free(ctx);
      g.ggml_backend_buffer_free(buf);
      g.ggml_free(wctx);
      g.ggml_backend_free(backend.handle);
    },
  };
}
const mm = plainMatmul(n, config.hiddenSize, config.feedForwardLength);
const times: number[] = [];
const mmTimes: number[] = [];
tower.encode(patches); // warm-up (builds and allocates the graph)
mm.run();
for (let r = 0; r < runs; r++) {
  const s = performance.now();
  tower.encode(patches);
  times.push(performance.now() - s);
  mmTimes.push(mm.run());
}
mm.close();
const encodeMs = median(times);
const flops = towerFlops(n);
const computeMb = tower.computeBufferBytes / 2 ** 20;
tower.close();
const matmul = mm.flop / (median(mmTimes) / 1000) / 1e9;
const loadAvg = (await import("node:os")).loadavg()[0];

const gflops = flops.total / (encodeMs / 1000) / 1e9;
const result = {
  image: `${width}×${height}`,
  patches: n,
  tokens: n / 4,
  tower: `d=${config.hiddenSize}, ${config.blockCount} blocks, 12 heads, MLP ${config.feedForwardLength}, out ${config.projectionDim}, merger ${mergerWidth}, F16`,
  threads,
  flashAttention: String(flash),
  setupMs: Math.round(setupMs),
  patchifyMs: Math.round(patchifyMs * 10) / 10,
  encodeSeconds: Math.round(encodeMs) / 1000,
  encodeRunsMs: times.map(Math.round),
  towerGflop: Math.round(flops.total / 1e8) / 10,
  attentionGflop: Math.round(flops.attention / 1e8) / 10,
  achievedGflops: Math.round(gflops * 10) / 10,
  plainMatmulGflops: Math.round(matmul * 10) / 10,
  ratio: Math.round((gflops / matmul) * 100) / 100,
  computeBufferMiB: Math.round(computeMb),
  loadAverage: Math.round(loadAvg * 10) / 10,
};
console.log(JSON.stringify(result, null, 2));
