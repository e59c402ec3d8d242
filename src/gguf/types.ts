/**
 * GGUF (v3) data model shared by the reader and the writer: metadata value kinds, ggml tensor types and their
 * block layouts. Pure data, no I/O.
 */

/** GGUF metadata value type codes, as stored in the file. */
export const GgufValueType = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;

/** Scalar value kinds (everything except `array`). */
export type GgufScalarKind = Exclude<keyof typeof GgufValueType, "array">;

/** A scalar metadata value with its exact stored type (llama.cpp asserts exact types on read). */
export type GgufScalar =
  | { type: "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "f64"; value: number }
  | { type: "u64" | "i64"; value: bigint }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string };

/** An array metadata value: every item has the same kind. */
export type GgufArray =
  | { type: "array"; itemType: "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "f64"; value: number[] }
  | { type: "array"; itemType: "u64" | "i64"; value: bigint[] }
  | { type: "array"; itemType: "bool"; value: boolean[] }
  | { type: "array"; itemType: "string"; value: string[] };

/** One metadata value as stored in a GGUF file. */
export type GgufValue = GgufScalar | GgufArray;

/** Constructors for typed metadata values: `gv.u32(4)`, `gv.strings(["a"])`. */
export const gv = {
  u8: (value: number): GgufValue => ({ type: "u8", value }),
  i8: (value: number): GgufValue => ({ type: "i8", value }),
  u16: (value: number): GgufValue => ({ type: "u16", value }),
  i16: (value: number): GgufValue => ({ type: "i16", value }),
  u32: (value: number): GgufValue => ({ type: "u32", value }),
  i32: (value: number): GgufValue => ({ type: "i32", value }),
  f32: (value: number): GgufValue => ({ type: "f32", value }),
  f64: (value: number): GgufValue => ({ type: "f64", value }),
  u64: (value: bigint | number): GgufValue => ({ type: "u64", value: BigInt(value) }),
  i64: (value: bigint | number): GgufValue => ({ type: "i64", value: BigInt(value) }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  str: (value: string): GgufValue => ({ type: "string", value }),
  strings: (value: string[]): GgufValue => ({ type: "array", itemType: "string", value }),
  i32s: (value: number[]): GgufValue => ({ type: "array", itemType: "i32", value }),
  u32s: (value: number[]): GgufValue => ({ type: "array", itemType: "u32", value }),
  f32s: (value: number[]): GgufValue => ({ type: "array", itemType: "f32", value }),
  bools: (value: boolean[]): GgufValue => ({ type: "array", itemType: "bool", value }),
};

/** ggml tensor type codes (subset glmv knows the block layout of). */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
} as const;

/** Name of a ggml tensor type glmv knows. */
export type GgmlTypeName = keyof typeof GgmlType;

/** Block layout of a ggml type: `blockSize` elements take `typeSize` bytes. */
export interface BlockLayout {
  blockSize: number;
  typeSize: number;
}

const LAYOUTS: Record<number, BlockLayout> = {
  0: { blockSize: 1, typeSize: 4 },
  1: { blockSize: 1, typeSize: 2 },
  2: { blockSize: 32, typeSize: 18 },
  3: { blockSize: 32, typeSize: 20 },
  6: { blockSize: 32, typeSize: 22 },
  7: { blockSize: 32, typeSize: 24 },
  8: { blockSize: 32, typeSize: 34 },
  9: { blockSize: 32, typeSize: 36 },
  10: { blockSize: 256, typeSize: 84 },
  11: { blockSize: 256, typeSize: 110 },
  12: { blockSize: 256, typeSize: 144 },
  13: { blockSize: 256, typeSize: 176 },
  14: { blockSize: 256, typeSize: 210 },
  15: { blockSize: 256, typeSize: 292 },
  16: { blockSize: 256, typeSize: 66 },
  17: { blockSize: 256, typeSize: 74 },
  18: { blockSize: 256, typeSize: 98 },
  19: { blockSize: 256, typeSize: 50 },
  20: { blockSize: 32, typeSize: 18 },
  21: { blockSize: 256, typeSize: 110 },
  22: { blockSize: 256, typeSize: 82 },
  23: { blockSize: 256, typeSize: 136 },
  24: { blockSize: 1, typeSize: 1 },
  25: { blockSize: 1, typeSize: 2 },
  26: { blockSize: 1, typeSize: 4 },
  27: { blockSize: 1, typeSize: 8 },
  28: { blockSize: 1, typeSize: 8 },
  29: { blockSize: 256, typeSize: 56 },
  30: { blockSize: 1, typeSize: 2 },
  34: { blockSize: 256, typeSize: 54 },
  35: { blockSize: 256, typeSize: 66 },
  39: { blockSize: 32, typeSize: 17 },
};

/** The block layout of a ggml type code, or undefined when glmv does not know it. */
export function blockLayout(type: number): BlockLayout | undefined {
  return LAYOUTS[type];
}

/** The name of a ggml type code ("Q4_0"), or `type#N` when unknown. */
export function ggmlTypeName(type: number): string {
  for (const [name, code] of Object.entries(GgmlType)) if (code === type) return name;
  return `type#${type}`;
}

/** Bytes taken by a tensor of `ne` elements (ggml order) of `type`; throws when the row is not whole blocks. */
export function tensorByteSize(type: number, ne: readonly number[]): number {
  const layout = blockLayout(type);
  if (!layout) throw new RangeError(`unknown ggml tensor type ${type}`);
  const row = ne[0] ?? 1;
  if (row % layout.blockSize !== 0) {
    throw new RangeError(
      `a ${ggmlTypeName(type)} row must be a multiple of ${layout.blockSize} elements, got ${row}`,
    );
  }
  let n = 1;
  for (const d of ne) n *= d;
  return (n / layout.blockSize) * layout.typeSize;
}

/** Default GGUF data alignment (`general.alignment`). */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
