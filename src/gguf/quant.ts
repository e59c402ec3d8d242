/**
 * Quantisers and dequantisers for the ggml block formats glmv writes: F16, Q8_0 and Q4_0.
 * Layouts follow ggml's reference (`quantize_row_*_ref`): Q8_0 = f16 scale + 32 × i8; Q4_0 = f16 scale + 16 bytes,
 * element j in the low nibble of byte j and element j+16 in the high nibble, value = (q − 8)·d.
 */

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** Converts one float to IEEE half bits (round to nearest even, overflow to ±inf). */
export function f32ToF16Bits(value: number): number {
  f32buf[0] = value;
  const x = u32buf[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  e = half;
  return sign | e;
}

/** Converts IEEE half bits to a float. */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

type Float16Ctor = new (
  src: ArrayLike<number> | ArrayBuffer,
  off?: number,
  len?: number,
) => ArrayLike<number>;
const NativeFloat16 = (globalThis as { Float16Array?: Float16Ctor }).Float16Array;

/** F32 values → F16 bytes (2 per element, little-endian). */
export function quantizeF16(values: Float32Array): Uint8Array {
  if (NativeFloat16) {
    const h = new NativeFloat16(values) as unknown as { buffer: ArrayBuffer; byteLength: number };
    return new Uint8Array(h.buffer, 0, h.byteLength);
  }
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32ToF16Bits(values[i]);
  return new Uint8Array(out.buffer);
}

/** F16 bytes → F32 values. */
export function dequantizeF16(bytes: Uint8Array, n: number): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f16BitsToF32(dv.getUint16(i * 2, true));
  return out;
}

function checkBlocks(n: number, what: string): number {
  if (n % 32 !== 0) throw new RangeError(`${what} needs a multiple of 32 values, got ${n}`);
  return n / 32;
}

/** F32 values → Q8_0 blocks (34 bytes per 32 values). */
export function quantizeQ8_0(values: Float32Array): Uint8Array {
  const nb = checkBlocks(values.length, "Q8_0");
  const out = new Uint8Array(nb * 34);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < nb; b++) {
    const base = b * 32;
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(values[base + j]));
    const d = amax / 127;
    const id = d ? 1 / d : 0;
    dv.setUint16(b * 34, f32ToF16Bits(d), true);
    for (let j = 0; j < 32; j++) dv.setInt8(b * 34 + 2 + j, Math.round(values[base + j] * id));
  }
  return out;
}

/** Q8_0 blocks → F32 values. */
export function dequantizeQ8_0(bytes: Uint8Array, n: number): Float32Array {
  const nb = checkBlocks(n, "Q8_0");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  for (let b = 0; b < nb; b++) {
    const d = f16BitsToF32(dv.getUint16(b * 34, true));
    for (let j = 0; j < 32; j++) out[b * 32 + j] = dv.getInt8(b * 34 + 2 + j) * d;
  }
  return out;
}

/** F32 values → Q4_0 blocks (18 bytes per 32 values). */
export function quantizeQ4_0(values: Float32Array): Uint8Array {
  const nb = checkBlocks(values.length, "Q4_0");
  const out = new Uint8Array(nb * 18);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < nb; b++) {
    const base = b * 32;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = values[base + j];
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = max / -8;
    const id = d ? 1 / d : 0;
    dv.setUint16(b * 18, f32ToF16Bits(d), true);
    for (let j = 0; j < 16; j++) {
      const x0 = values[base + j] * id;
      const x1 = values[base + 16 + j] * id;
      const q0 = Math.min(15, Math.trunc(x0 + 8.5));
      const q1 = Math.min(15, Math.trunc(x1 + 8.5));
      out[b * 18 + 2 + j] = q0 | (q1 << 4);
    }
  }
  return out;
}

/** Q4_0 blocks → F32 values. */
export function dequantizeQ4_0(bytes: Uint8Array, n: number): Float32Array {
  const nb = checkBlocks(n, "Q4_0");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  for (let b = 0; b < nb; b++) {
    const d = f16BitsToF32(dv.getUint16(b * 18, true));
    for (let j = 0; j < 16; j++) {
      const q = bytes[b * 18 + 2 + j];
      out[b * 32 + j] = ((q & 0x0f) - 8) * d;
      out[b * 32 + 16 + j] = ((q >> 4) - 8) * d;
    }
  }
  return out;
}
