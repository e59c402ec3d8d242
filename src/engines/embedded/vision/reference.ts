/**
 * A slow, exact float64 implementation of the GLM-V vision tower (GLM-V-architecture §1.3), written from the HF
 * model description. It is the test oracle for the ggml graph on tiny shapes; never use it for real images.
 */

import { headDim, VISION_ROPE_THETA, type VisionConfig } from "./config.ts";
import { resamplePositionTable } from "./positions.ts";
import { type PatchTensor, patchCoordinates } from "./preprocess.ts";
import { blockTensor, type HostTensor, type VisionWeights } from "./weights.ts";

function need(weights: VisionWeights, name: string): HostTensor {
  const t = weights.get(name);
  if (!t) throw new Error(`reference encoder: missing tensor ${name}`);
  return t;
}

/** y[n, out] = x[n, in] · Wᵀ + b, with W in ggml order (ne = [in, out]). */
function linear(x: Float64Array, n: number, w: HostTensor, b?: HostTensor): Float64Array<ArrayBuffer> {
  const inDim = w.ne[0];
  const outDim = w.data.length / inDim;
  const y = new Float64Array(n * outDim);
  const W = w.data;
  for (let r = 0; r < n; r++) {
    const xo = r * inDim;
    for (let o = 0; o < outDim; o++) {
      const wo = o * inDim;
      let s = b ? b.data[o] : 0;
      for (let i = 0; i < inDim; i++) s += x[xo + i] * W[wo + i];
      y[r * outDim + o] = s;
    }
  }
  return y;
}

/** RMSNorm over rows of width `dim`, times weight. */
function rmsNorm(
  x: Float64Array,
  dim: number,
  weight: ArrayLike<number>,
  eps: number,
): Float64Array<ArrayBuffer> {
  const y = new Float64Array(x.length);
  for (let o = 0; o < x.length; o += dim) {
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[o + i] * x[o + i];
    const inv = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) y[o + i] = x[o + i] * inv * weight[i];
  }
  return y;
}

/** LayerNorm over rows of width `dim`, with weight and bias. */
function layerNorm(x: Float64Array, dim: number, w: ArrayLike<number>, b: ArrayLike<number>, eps: number) {
  const y = new Float64Array(x.length);
  for (let o = 0; o < x.length; o += dim) {
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[o + i];
    mean /= dim;
    let v = 0;
    for (let i = 0; i < dim; i++) v += (x[o + i] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / dim + eps);
    for (let i = 0; i < dim; i++) y[o + i] = (x[o + i] - mean) * inv * w[i] + b[i];
  }
  return y;
}

/** erf to float64 precision: Maclaurin series below 2, the erfc continued fraction (200 terms) above. */
export function erf(x: number): number {
  const z = Math.abs(x);
  let r: number;
  if (z < 2) {
    // erf(z) = 2/√π · Σ (−1)ⁿ z^(2n+1) / (n! (2n+1))
    let term = z;
    let sum = z;
    for (let n = 1; n < 200; n++) {
      term *= (-z * z) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc(z) = e^(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))), evaluated from the tail.
    let f = z;
    for (let k = 200; k >= 1; k--) f = z + k / 2 / f;
    r = 1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
  }
  return x < 0 ? -r : r;
}

const silu = (v: number) => v / (1 + Math.exp(-v));
const geluErf = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));

/** Applies GLM-V's vision 2-D rotary (rotate-half over the whole head) to q or k in place. */
function applyVisionRope(
  x: Float64Array,
  n: number,
  heads: number,
  hd: number,
  hPos: Int32Array,
  wPos: Int32Array,
) {
  const quarter = hd / 4;
  const half = hd / 2;
  const freqs = Array.from({ length: quarter }, (_, i) => VISION_ROPE_THETA ** ((-2 * i) / half));
  for (let r = 0; r < n; r++) {
    for (let h = 0; h < heads; h++) {
      const o = (r * heads + h) * hd;
      for (let k = 0; k < half; k++) {
        const angle = k < quarter ? hPos[r] * freqs[k] : wPos[r] * freqs[k - quarter];
        const c = Math.cos(angle);
        const s = Math.sin(angle);
        const a = x[o + k];
        const b = x[o + k + half];
        x[o + k] = a * c - b * s;
        x[o + k + half] = b * c + a * s;
      }
    }
  }
}

/**
 * Runs the whole tower on one temporal pair's patches and returns the merged token embeddings,
 * row-major `[nPatches/4, projectionDim]`, in float64.
 */
export function referenceEncode(
  config: VisionConfig,
  weights: VisionWeights,
  patches: PatchTensor,
): Float64Array {
  const d = config.hiddenSize;
  const heads = config.headCount;
  const hd = headDim(config);
  const eps = config.eps;
  const n = patches.nPatches;
  const opt = (name: string) => weights.get(name);

  // Patch embedding: Conv3d over (c, t, y, x) = two 2-D kernels, one per frame.
  const w0 = need(weights, "v.patch_embd.weight").data;
  const w1 = need(weights, "v.patch_embd.weight.1").data;
  const bias = opt("v.patch_embd.bias");
  const pp = 14 * 14;
  let x = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    const row = r * 1176;
    for (let o = 0; o < d; o++) {
      let s = bias ? bias.data[o] : 0;
      for (let c = 0; c < 3; c++) {
        for (let t = 0; t < 2; t++) {
          const w = t === 0 ? w0 : w1;
          const wo = o * 588 + c * pp;
          const po = row + c * 2 * pp + t * pp;
          for (let k = 0; k < pp; k++) s += patches.data[po + k] * w[wo + k];
        }
      }
      x[r * d + o] = s;
    }
  }
  const normEmbd = opt("v.norm_embd.weight");
  if (normEmbd) x = rmsNorm(x, d, normEmbd.data, eps);
  const pos = opt("v.position_embd.weight");
  if (pos) {
    const side = Math.round(Math.sqrt(pos.ne[1]));
    const table = resamplePositionTable(pos.data, side, d, patches.gridH, patches.gridW);
    for (let k = 0; k < x.length; k++) x[k] += table[k];
  }

  const { h: hPos, w: wPos } = patchCoordinates(patches.gridH, patches.gridW);
  const scale = 1 / Math.sqrt(hd);
  for (let i = 0; i < config.blockCount; i++) {
    const B = (s: string) => blockTensor(i, s);
    const hIn = rmsNorm(x, d, need(weights, B("ln1.weight")).data, eps);
    let q = linear(hIn, n, need(weights, B("attn_q.weight")), opt(B("attn_q.bias")));
    let k = linear(hIn, n, need(weights, B("attn_k.weight")), opt(B("attn_k.bias")));
    const v = linear(hIn, n, need(weights, B("attn_v.weight")), opt(B("attn_v.bias")));
    const qn = opt(B("attn_q_norm.weight"));
    const kn = opt(B("attn_k_norm.weight"));
    if (qn) q = rmsNorm(q, hd, qn.data, eps);
    if (kn) k = rmsNorm(k, hd, kn.data, eps);
    applyVisionRope(q, n, heads, hd, hPos, wPos);
    applyVisionRope(k, n, heads, hd, hPos, wPos);
    const attn = new Float64Array(n * d);
    const scores = new Float64Array(n);
    for (let h = 0; h < heads; h++) {
      for (let a = 0; a < n; a++) {
        const qo = (a * heads + h) * hd;
        let max = -Infinity;
        for (let b = 0; b < n; b++) {
          const ko = (b * heads + h) * hd;
          let s = 0;
          for (let c = 0; c < hd; c++) s += q[qo + c] * k[ko + c];
          scores[b] = s * scale;
          if (scores[b] > max) max = scores[b];
        }
        let sum = 0;
        for (let b = 0; b < n; b++) sum += scores[b] = Math.exp(scores[b] - max);
        for (let b = 0; b < n; b++) {
          const p = scores[b] / sum;
          const vo = (b * heads + h) * hd;
          for (let c = 0; c < hd; c++) attn[qo + c] += p * v[vo + c];
        }
      }
    }
    const proj = linear(attn, n, need(weights, B("attn_out.weight")), opt(B("attn_out.bias")));
    for (let e = 0; e < x.length; e++) x[e] += proj[e];
    const h2 = rmsNorm(x, d, need(weights, B("ln2.weight")).data, eps);
    const g = linear(h2, n, need(weights, B("ffn_gate.weight")), opt(B("ffn_gate.bias")));
    const u = linear(h2, n, need(weights, B("ffn_up.weight")), opt(B("ffn_up.bias")));
    for (let e = 0; e < g.length; e++) g[e] = silu(g[e]) * u[e];
    const down = linear(g, n, need(weights, B("ffn_down.weight")), opt(B("ffn_down.bias")));
    for (let e = 0; e < x.length; e++) x[e] += down[e];
  }
  x = rmsNorm(x, d, need(weights, "v.post_ln.weight").data, eps);

  // 2×2 downsample: Conv2d(k=s=2) over each merge window (4 consecutive rows, (row, col) in window order).
  const ds = need(weights, "mm.patch_merger.weight");
  const dsb = opt("mm.patch_merger.bias");
  const p = ds.ne[3];
  const m = n / 4;
  let y = new Float64Array(m * p);
  for (let t = 0; t < m; t++) {
    for (let o = 0; o < p; o++) {
      let s = dsb ? dsb.data[o] : 0;
      for (let c = 0; c < d; c++) {
        for (let wi = 0; wi < 4; wi++) {
          // ggml ne [2(kx), 2(ky), d, p]: element (kx, ky, c, o) at ((o·d + c)·2 + ky)·2 + kx; window row wi = 2·ky + kx.
          s += ds.data[(o * d + c) * 4 + wi] * x[(t * 4 + wi) * d + c];
        }
      }
      y[t * p + o] = s;
    }
  }
  // Merger: proj → LayerNorm → GELU(erf) → down(silu(gate)·up).
  y = linear(y, m, need(weights, "mm.model.fc.weight"));
  y = layerNorm(
    y,
    p,
    need(weights, "mm.post_norm.weight").data,
    need(weights, "mm.post_norm.bias").data,
    1e-5,
  );
  for (let e = 0; e < y.length; e++) y[e] = geluErf(y[e]);
  const gate = linear(y, m, need(weights, "mm.gate.weight"));
  const up = linear(y, m, need(weights, "mm.up.weight"));
  for (let e = 0; e < gate.length; e++) gate[e] = silu(gate[e]) * up[e];
  return linear(gate, m, need(weights, "mm.down.weight"));
}
