/**
 * String distances used by the verifiers: Levenshtein distance (Myers/Hyyrö bit-parallel, multi-block) and the
 * longest common subsequence (Allison–Dix bit-parallel). Both count Unicode code points, as Python does.
 */

const SURROGATE = /[\uD800-\uDFFF]/;

/** The code points of a string (code units when it has no surrogate pairs, which is the common case). */
export function codePoints(text: string): number[] {
  const out: number[] = new Array(text.length);
  if (!SURROGATE.test(text)) {
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  }
  out.length = 0;
  for (const ch of text) out.push(ch.codePointAt(0)!);
  return out;
}

/** For each symbol of `pattern`, the bit mask (per 32-bit block) of the positions where it occurs. */
function positionMasks(pattern: number[], blocks: number): Map<number, Int32Array> {
  const masks = new Map<number, Int32Array>();
  for (let i = 0; i < pattern.length; i++) {
    let mask = masks.get(pattern[i]);
    if (!mask) {
      mask = new Int32Array(blocks);
      masks.set(pattern[i], mask);
    }
    mask[i >> 5] |= 1 << (i & 31);
  }
  return masks;
}

/** Levenshtein distance between two code-point sequences. */
export function levenshteinCodePoints(a: number[], b: number[]): number {
  if (a.length < b.length) [a, b] = [b, a];
  // Vertical pattern = the shorter sequence b; columns = a.
  const n = b.length;
  const m = a.length;
  if (n === 0) return m;
  const blocks = (n + 31) >> 5;
  const masks = positionMasks(b, blocks);
  const empty = new Int32Array(blocks);
  const pv = new Int32Array(blocks).fill(-1);
  const mv = new Int32Array(blocks);
  const lastBit = 1 << ((n - 1) & 31);
  let score = n;
  for (let j = 0; j < m; j++) {
    const eqs = masks.get(a[j]) ?? empty;
    let hin = 1; // the top row grows by one per column
    for (let k = 0; k < blocks; k++) {
      let eq = eqs[k];
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
  const masks = positionMasks(cb, blocks);
  const s = new Int32Array(blocks).fill(-1);
  for (let j = 0; j < ca.length; j++) {
    const m = masks.get(ca[j]);
    if (!m) continue;
    let carry = 0;
    for (let k = 0; k < blocks; k++) {
      const sk = s[k] >>> 0;
      const u = (sk & m[k]) >>> 0;
      const sum = sk + u + carry;
      carry = sum > 0xffffffff ? 1 : 0;
      s[k] = (sum >>> 0) | (sk & ~u);
    }
  }
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
  const longest = Math.max(codePoints(a).length, codePoints(b).length);
  if (longest === 0) return 1;
  return lcsLength(a, b) / longest;
}
