/** Box geometry for the GUI and grounding verifiers: IoU, point similarity, one-to-one box matching. */

/** A box `[x1, y1, x2, y2]` in thousandths, top-left then bottom-right. */
export type BoxTuple = [number, number, number, number];

/** Intersection over union of two boxes (areas, no +1 pixel convention). Two identical empty boxes give 1. */
export function iou(a: BoxTuple, b: BoxTuple): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  if (union <= 0) return a.every((v, k) => v === b[k]) ? 1 : 0;
  return inter / union;
}

/**
 * OSWorld's point similarity of two points in thousandths: d ≤ 20 → `1 − 0.2·d/20`, else `max(0, 1 − d/50)`
 * (d = 10 → 0.9, d = 30 → 0.4).
 */
export function pointSimilarity(a: [number, number], b: [number, number]): number {
  const d = Math.hypot(a[0] - b[0], a[1] - b[1]);
  return d <= 20 ? 1 - (0.2 * d) / 20 : Math.max(0, 1 - d / 50);
}

/**
 * The assignment of rows to columns maximising the total weight (Hungarian algorithm, O(n³)); returns for
 * each row its column, or -1 when the row is unassigned (more rows than columns).
 */
export function maxWeightMatching(weights: number[][]): number[] {
  const rows = weights.length;
  const cols = rows === 0 ? 0 : weights[0].length;
  const n = Math.max(rows, cols);
  if (n === 0) return [];
  // Minimise cost = max − weight on a square matrix padded with zeros.
  let max = 0;
  for (const r of weights) for (const w of r) max = Math.max(max, w);
  const cost = (i: number, j: number) => (i < rows && j < cols ? max - weights[i][j] : max);
  const u = new Float64Array(n + 1);
  const v = new Float64Array(n + 1);
  const p = new Int32Array(n + 1);
  const way = new Int32Array(n + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(n + 1).fill(Number.POSITIVE_INFINITY);
    const used = new Uint8Array(n + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Number.POSITIVE_INFINITY;
      let j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = cost(i0 - 1, j - 1) - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  const assignment = new Array(rows).fill(-1);
  for (let j = 1; j <= n; j++) if (p[j] - 1 < rows && j - 1 < cols) assignment[p[j] - 1] = j - 1;
  return assignment;
}
