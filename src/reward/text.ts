/**
 * String distances used by the verifiers: Levenshtein distance (Myers/Hyyrö bit-parallel, multi-block) and the
 * longest common subsequence (Allison–Dix bit-parallel). Both count Unicode code points, as Python does.
 */

const SURROGATE = /[\uD800-\uDFFF]/;

/** The code points of a string (code units when it has no surrogate pairs, which is the common case). */
export function codePoints(text: string): Int32Array {
  if (!SURROGATE.test(text)) {
    const out = new Int32Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  }
  const list: number[] = [];
  for (const ch of text) list.push(ch.codePointAt(0)!);
  return Int32Array.from(list);
}

/**
 * Per-symbol position masks of a pattern, 32 positions per block: ASCII symbols live in a reused typed array
 * (no allocation, no hashing), others in a map.
 */
class PositionMasks {
  private ascii = new Int32Array(128 * 8);
  private blocks = 0;
  private pattern: Int32Array = new Int32Array(0);
  private readonly other = new Map<number, Int32Array>();

  load(pattern: Int32Array, blocks: number): void {
    if (this.ascii.length < 128 * blocks) this.ascii = new Int32Array(128 * blocks);
    this.blocks = blocks;
    this.pattern = pattern;
    this.other.clear();
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i];
      if (c < 128) this.ascii[c * blocks + (i >> 5)] |= 1 << (i & 31);
      else {
        let m = this.other.get(c);
        if (!m) this.other.set(c, (m = new Int32Array(blocks)));
        m[i >> 5] |= 1 << (i & 31);
      }
    }
  }
  /** The mask of symbol `c` in block `k`. */
  get(c: number, k: number): number {
    if (c < 128) return this.ascii[c * this.blocks + k];
    const m = this.other.get(c);
    return m === undefined ? 0 : m[k];
  }
  /** Whether `c` occurs in the pattern at all. */
  has(c: number): boolean {
    if (c >= 128) return this.other.has(c);
    for (let k = 0; k < this.blocks; k++) if (this.ascii[c * this.blocks + k] !== 0) return true;
    return false;
  }
  /** Clears the ASCII table for the next pattern. */
  reset(): void {
    for (const c of this.pattern)
      if (c < 128) for (let k = 0; k < this.blocks; k++) this.ascii[c * this.blocks + k] = 0;
  }
}

const masks = new PositionMasks();

/** Levenshtein distance between two code-point sequences. */
export function levenshteinCodePoints(a: Int32Array, b: Int32Array): number {
  if (a.length < b.length) [a, b] = [b, a];
  // Vertical pattern = the shorter sequence b; columns = a.
  const n = b.length;
  const m = a.length;
  if (n === 0) return m;
  const blocks = (n + 31) >> 5;
  masks.load(b, blocks);
  const lastBit = 1 << ((n - 1) & 31);
  let score = n;
  if (blocks === 1) {
    let pv = -1;
    let mv = 0;
    for (let j = 0; j < m; j++) {
      const eq = masks.get(a[j], 0);
      const xv = eq | mv;
      const xh = (((eq & pv) + pv) ^ pv) | eq;
      let ph = mv | ~(xh | pv);
      let mh = pv & xh;
      if (ph & lastBit) score++;
      else if (mh & lastBit) score--;
      ph = (ph << 1) | 1;
      mh <<= 1;
      pv = mh | ~(xv | ph);
      mv = ph & xv;
    }
    masks.reset();
    return score;
  }
  const pv = new Int32Array(blocks).fill(-1);
  const mv = new Int32Array(blocks);
  for (let j = 0; j < m; j++) {
    const c = a[j];
    let hin = 1; // the top row grows by one per column
    for (let k = 0; k < blocks; k++) {
      let eq = masks.get(c, k);
      const pvk = pv[k];
      const mvk = mv[k];
      const xv = eq | mvk;
      if (hin < 0) eq |= 1;
      const xh = (((eq & pvk) + pvk) ^ pvk) | eq;
      let ph = mvk | ~(xh | pvk);
      let mh = pvk & xh;
      const top = k === blocks - 1 ? lastBit : 1 << 31;
      const hout = ph & top ? 1 : mh & top ? -1 : 0;
      ph <<= 1;
      mh <<= 1;
      if (hin < 0) mh |= 1;
      else if (hin > 0) ph |= 1;
      pv[k] = mh | ~(xv | ph);
      mv[k] = ph & xv;
      hin = hout;
    }
    score += hin;
  }
  masks.reset();
  return score;
}

/** Levenshtein (edit) distance between two strings, counted in code points. */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  return levenshteinCodePoints(codePoints(a), codePoints(b));
}

/** `1 − distance / max(len)`; 1 for two empty strings. */
export function editSimilarity(a: string, b: string): number {
  if (a === b) return 1;
  const ca = codePoints(a);
  const cb = codePoints(b);
  const longest = Math.max(ca.length, cb.length);
  if (longest === 0) return 1;
  return 1 - levenshteinCodePoints(ca, cb) / longest;
}

/** Length of the longest common subsequence of two strings (code points). */
export function lcsLength(a: string, b: string): number {
  let ca = codePoints(a);
  let cb = codePoints(b);
  if (ca.length < cb.length) [ca, cb] = [cb, ca];
  const n = cb.length;
  if (n === 0) return 0;
  const blocks = (n + 31) >> 5;
  masks.load(cb, blocks);
  const s = new Int32Array(blocks).fill(-1);
  for (let j = 0; j < ca.length; j++) {
    const c = ca[j];
    if (!masks.has(c)) continue;
    let carry = 0;
    for (let k = 0; k < blocks; k++) {
      const sk = s[k] >>> 0;
      const u = (sk & masks.get(c, k)) >>> 0;
      const sum = sk + u + carry;
      carry = sum > 0xffffffff ? 1 : 0;
      s[k] = (sum >>> 0) | (sk & ~u);
    }
  }
  masks.reset();
  let zeros = 0;
  for (let k = 0; k < blocks; k++) {
    const width = k === blocks - 1 ? n - 32 * k : 32;
    let x = ~s[k];
    if (width < 32) x &= (1 << width) - 1;
    zeros += popcount(x);
  }
  return zeros;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** `LCS / max(len)`; 1 for two empty strings. */
export function lcsRatio(a: string, b: string): number {
  if (a === b) return 1;
  const longest = Math.max(
    SURROGATE.test(a) ? codePoints(a).length : a.length,
    SURROGATE.test(b) ? codePoints(b).length : b.length,
  );
  if (longest === 0) return 1;
  return lcsLength(a, b) / longest;
}
