/**
 * GLM-V's 3-D rotary positions (`get_rope_index`, GLM-V-architecture §1.5; llama.cpp layout engine-notes §4.4).
 *
 * A prompt is a sequence of spans. A text span of L tokens takes positions st … st+L−1 on t, h and w alike. An
 * image (or one video frame pair) of gridH × gridW merged tokens starting at st gives token k (row-major)
 * (t, h, w) = (st, st + row, st + col); the next span starts at st + max(gridH, gridW). Pure logic.
 */

/** One run of a prompt: text tokens, or one image / video frame pair of merged tokens. */
export type RopeSpan = { kind: "text"; length: number } | { kind: "grid"; gridH: number; gridW: number };

/** Positions of every item of a prompt, one entry per token or embedding row. */
export interface RopePositions {
  t: Int32Array;
  h: Int32Array;
  w: Int32Array;
  /** The position the next text token (e.g. the first generated one) takes on all axes. */
  next: number;
}

/** Computes the t/h/w positions of a sequence of spans, starting at `start`. */
export function ropeIndex(spans: readonly RopeSpan[], start = 0): RopePositions {
  let n = 0;
  for (const s of spans) n += s.kind === "text" ? s.length : s.gridH * s.gridW;
  const t = new Int32Array(n);
  const h = new Int32Array(n);
  const w = new Int32Array(n);
  let st = start;
  let i = 0;
  for (const s of spans) {
    if (s.kind === "text") {
      for (let k = 0; k < s.length; k++, i++) t[i] = h[i] = w[i] = st + k;
      st += s.length;
    } else {
      if (!(s.gridH > 0 && s.gridW > 0)) throw new RangeError(`grid ${s.gridH}×${s.gridW} must be positive`);
      for (let r = 0; r < s.gridH; r++) {
        for (let c = 0; c < s.gridW; c++, i++) {
          t[i] = st;
          h[i] = st + r;
          w[i] = st + c;
        }
      }
      st += Math.max(s.gridH, s.gridW);
    }
  }
  return { t, h, w, next: st };
}

/**
 * Writes positions `from … from+n−1` in llama.cpp's planar M-RoPE embedding-batch layout into `out` (length ≥ 4n):
 * `[t × n, h × n, w × n, 0 × n]` (section 1 = row/y, section 2 = column/x, section 3 unused).
 */
export function planarPositions(pos: RopePositions, from: number, n: number, out: Int32Array): void {
  out.set(pos.t.subarray(from, from + n), 0);
  out.set(pos.h.subarray(from, from + n), n);
  out.set(pos.w.subarray(from, from + n), 2 * n);
  out.fill(0, 3 * n, 4 * n);
}
