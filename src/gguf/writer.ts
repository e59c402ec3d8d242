/**
 * GGUF v3 writer: metadata of every type (arrays included) and tensors in F32/F16/Q8_0/Q4_0 (or raw bytes of any
 * known type), each tensor's data aligned to `general.alignment` (32 by default).
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { quantizeF16, quantizeQ4_0, quantizeQ8_0 } from "./quant.ts";
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GgmlType,
  type GgmlTypeName,
  type GgufValue,
  GgufValueType,
  tensorByteSize,
} from "./types.ts";

/** A tensor to write. `ne` is in ggml order (fastest dimension first): a numpy (a, b) array is ne [b, a]. */
export interface GgufTensorSpec {
  name: string;
  ne: number[];
  /** Stored type; F32 values are converted (F16, Q8_0, Q4_0) on write. */
  type: GgmlTypeName;
  /**
   * The values as F32 (converted to `type`), raw bytes already in `type`'s layout, or a function producing either
   * (called once, when the tensor is written, so big models need not sit in memory).
   */
  data: Float32Array | Uint8Array | (() => Float32Array | Uint8Array);
}

/** Everything one GGUF file holds. Metadata keys are written in insertion order. */
export interface GgufWriteSpec {
  metadata: Record<string, GgufValue> | Map<string, GgufValue>;
  tensors: GgufTensorSpec[];
}

/** A tensor spec that cannot be written (wrong size, unknown type, duplicate name). */
export class GgufWriteError extends Error {
  override name = "GgufWriteError";
}

class ByteSink {
  chunks: Uint8Array[] = [];
  length = 0;
  private scratch = new DataView(new ArrayBuffer(8));
  push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }
  private fixed(n: number, set: (dv: DataView) => void): void {
    set(this.scratch);
    this.push(new Uint8Array(this.scratch.buffer.slice(0, n)));
  }
  u8(v: number) {
    this.fixed(1, (d) => d.setUint8(0, v));
  }
  i8(v: number) {
    this.fixed(1, (d) => d.setInt8(0, v));
  }
  u16(v: number) {
    this.fixed(2, (d) => d.setUint16(0, v, true));
  }
  i16(v: number) {
    this.fixed(2, (d) => d.setInt16(0, v, true));
  }
  u32(v: number) {
    this.fixed(4, (d) => d.setUint32(0, v, true));
  }
  i32(v: number) {
    this.fixed(4, (d) => d.setInt32(0, v, true));
  }
  f32(v: number) {
    this.fixed(4, (d) => d.setFloat32(0, v, true));
  }
  f64(v: number) {
    this.fixed(8, (d) => d.setFloat64(0, v, true));
  }
  u64(v: bigint | number) {
    this.fixed(8, (d) => d.setBigUint64(0, BigInt(v), true));
  }
  i64(v: bigint) {
    this.fixed(8, (d) => d.setBigInt64(0, v, true));
  }
  str(s: string) {
    const b = Buffer.from(s, "utf8");
    this.u64(b.length);
    this.push(b);
  }
  concat(): Uint8Array {
    return Buffer.concat(this.chunks, this.length);
  }
}

function writeScalar(sink: ByteSink, type: string, v: unknown): void {
  switch (type) {
    case "u8":
      sink.u8(v as number);
      return;
    case "i8":
      sink.i8(v as number);
      return;
    case "u16":
      sink.u16(v as number);
      return;
    case "i16":
      sink.i16(v as number);
      return;
    case "u32":
      sink.u32(v as number);
      return;
    case "i32":
      sink.i32(v as number);
      return;
    case "f32":
      sink.f32(v as number);
      return;
    case "f64":
      sink.f64(v as number);
      return;
    case "u64":
      sink.u64(v as bigint);
      return;
    case "i64":
      sink.i64(v as bigint);
      return;
    case "bool":
      sink.u8(v ? 1 : 0);
      return;
    case "string":
      sink.str(v as string);
      return;
    default:
      throw new GgufWriteError(`unknown GGUF value type "${type}"`);
  }
}

function writeValue(sink: ByteSink, value: GgufValue): void {
  sink.u32(GgufValueType[value.type]);
  if (value.type === "array") {
    sink.u32(GgufValueType[value.itemType]);
    sink.u64(value.value.length);
    for (const item of value.value) writeScalar(sink, value.itemType, item);
  } else {
    writeScalar(sink, value.type, value.value);
  }
}

function encodeTensor(spec: GgufTensorSpec, expectedBytes: number): Uint8Array {
  const raw = typeof spec.data === "function" ? spec.data() : spec.data;
  let bytes: Uint8Array;
  if (raw instanceof Float32Array) {
    const n = spec.ne.reduce((a, b) => a * b, 1);
    if (raw.length !== n) {
      throw new GgufWriteError(`tensor ${spec.name}: ne [${spec.ne}] needs ${n} values, got ${raw.length}`);
    }
    switch (spec.type) {
      case "F32":
        bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
        break;
      case "F16":
        bytes = quantizeF16(raw);
        break;
      case "Q8_0":
        bytes = quantizeQ8_0(raw);
        break;
      case "Q4_0":
        bytes = quantizeQ4_0(raw);
        break;
      default:
        throw new GgufWriteError(
          `tensor ${spec.name}: glmv cannot quantise F32 values to ${spec.type}; pass raw bytes instead`,
        );
    }
  } else {
    bytes = raw;
  }
  if (bytes.length !== expectedBytes) {
    throw new GgufWriteError(
      `tensor ${spec.name}: ${spec.type} [${spec.ne}] takes ${expectedBytes} bytes, got ${bytes.length}`,
    );
  }
  return bytes;
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** Builds the header (magic … tensor infos … padding) and the data layout; shared by the file and buffer writers. */
function layout(spec: GgufWriteSpec): {
  header: Uint8Array;
  sizes: number[];
  offsets: number[];
  alignment: number;
} {
  const entries = spec.metadata instanceof Map ? [...spec.metadata] : Object.entries(spec.metadata);
  const alignEntry = entries.find(([k]) => k === "general.alignment")?.[1];
  const alignment = alignEntry && alignEntry.type === "u32" ? alignEntry.value : GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) {
    throw new GgufWriteError(`general.alignment must be a positive multiple of 8, got ${alignment}`);
  }
  const sink = new ByteSink();
  sink.u32(GGUF_MAGIC);
  sink.u32(3);
  sink.u64(spec.tensors.length);
  sink.u64(entries.length);
  for (const [key, value] of entries) {
    sink.str(key);
    writeValue(sink, value);
  }
  const names = new Set<string>();
  const sizes: number[] = [];
  const offsets: number[] = [];
  let offset = 0;
  for (const t of spec.tensors) {
    if (names.has(t.name)) throw new GgufWriteError(`duplicate tensor name ${t.name}`);
    names.add(t.name);
    if (t.ne.length < 1 || t.ne.length > 4 || t.ne.some((d) => !Number.isInteger(d) || d <= 0)) {
      throw new GgufWriteError(`tensor ${t.name}: ne must be 1–4 positive integers, got [${t.ne}]`);
    }
    const typeCode = GgmlType[t.type];
    if (typeCode === undefined) throw new GgufWriteError(`tensor ${t.name}: unknown type ${t.type}`);
    let size: number;
    try {
      size = tensorByteSize(typeCode, t.ne);
    } catch (e) {
      throw new GgufWriteError(`tensor ${t.name}: ${(e as Error).message}`);
    }
    sink.str(t.name);
    sink.u32(t.ne.length);
    for (const d of t.ne) sink.u64(d);
    sink.u32(typeCode);
    sink.u64(offset);
    sizes.push(size);
    offsets.push(offset);
    offset = alignUp(offset + size, alignment);
  }
  const pad = alignUp(sink.length, alignment) - sink.length;
  if (pad) sink.push(new Uint8Array(pad));
  return { header: sink.concat(), sizes, offsets, alignment };
}

/** Writes a GGUF v3 file (the end padded to the alignment, as llama.cpp's converter does); tensor data is produced and written one tensor at a time. */
export function writeGguf(path: string, spec: GgufWriteSpec): void {
  const { header, sizes, offsets, alignment } = layout(spec);
  const fd = openSync(path, "w");
  try {
    writeSync(fd, header);
    let pos = 0;
    spec.tensors.forEach((t, i) => {
      if (offsets[i] > pos) {
        writeSync(fd, new Uint8Array(offsets[i] - pos));
        pos = offsets[i];
      }
      const bytes = encodeTensor(t, sizes[i]);
      writeSync(fd, bytes);
      pos += bytes.length;
    });
    const end = alignUp(pos, alignment);
    if (end > pos) writeSync(fd, new Uint8Array(end - pos));
  } finally {
    closeSync(fd);
  }
}

/** Writes a GGUF v3 file into memory (for tests and small files). */
export function encodeGguf(spec: GgufWriteSpec): Uint8Array {
  const { header, sizes, offsets, alignment } = layout(spec);
  const last = spec.tensors.length - 1;
  const total = header.length + (last >= 0 ? alignUp(offsets[last] + sizes[last], alignment) : 0);
  const out = new Uint8Array(total);
  out.set(header, 0);
  spec.tensors.forEach((t, i) => {
    out.set(encodeTensor(t, sizes[i]), header.length + offsets[i]);
  });
  return out;
}
