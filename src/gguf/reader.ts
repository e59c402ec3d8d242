/**
 * GGUF reader: header, metadata and tensor infos (not the tensor data, which is read on demand), with checks that
 * turn truncated or corrupt files into `GgufFormatError`s instead of crashes further down.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { dequantizeF16, dequantizeQ4_0, dequantizeQ8_0 } from "./quant.ts";
import {
  blockLayout,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  type GgufScalarKind,
  type GgufValue,
  GgufValueType,
  ggmlTypeName,
} from "./types.ts";

/** The file is not a GGUF file glmv can read; the message says what is wrong and what to do. */
export class GgufFormatError extends Error {
  override name = "GgufFormatError";
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.path = path;
  }
}

/** One tensor's description from the header. */
export interface GgufTensorInfo {
  name: string;
  /** Dimensions in ggml order (fastest first). */
  ne: number[];
  /** ggml type code (see `GgmlType`). */
  type: number;
  /** Type name, e.g. "Q4_0". */
  typeName: string;
  /** Offset of the data from the start of the file. */
  fileOffset: number;
  /** Size of the data in bytes. */
  byteSize: number;
}

/** The parsed header of a GGUF file. */
export interface GgufFile {
  path: string;
  version: number;
  fileSize: number;
  alignment: number;
  /** Offset of the tensor data section. */
  dataOffset: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
}

const TYPE_NAMES = Object.fromEntries(Object.entries(GgufValueType).map(([k, v]) => [v, k])) as Record<
  number,
  keyof typeof GgufValueType
>;

/** Reads a file forward through a growing window, so big files need not be read whole. */
class Cursor {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;
  readonly size: number;
  private fd: number;
  private path: string;
  constructor(fd: number, size: number, path: string) {
    this.fd = fd;
    this.size = size;
    this.path = path;
  }
  private need(n: number, what: string): number {
    if (this.pos + n > this.size) {
      throw new GgufFormatError(
        this.path,
        `the file ends inside ${what} (byte ${this.pos} of ${this.size}): it is truncated or not a GGUF file — download it again`,
      );
    }
    const rel = this.pos - this.bufStart;
    if (rel + n <= this.buf.length) return rel;
    const len = Math.min(this.size - this.pos, Math.max(n, 1 << 20));
    const b = Buffer.allocUnsafe(len);
    readSync(this.fd, b, 0, len, this.pos);
    this.buf = b;
    this.bufStart = this.pos;
    return 0;
  }
  u8(what: string): number {
    const o = this.need(1, what);
    this.pos += 1;
    return this.buf[o];
  }
  u32(what: string): number {
    const o = this.need(4, what);
    this.pos += 4;
    return this.buf.readUInt32LE(o);
  }
  u64(what: string): number {
    const o = this.need(8, what);
    this.pos += 8;
    const v = this.buf.readBigUInt64LE(o);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new GgufFormatError(this.path, `${what} is implausibly large (${v}): the file is corrupt`);
    }
    return Number(v);
  }
  scalar(kind: GgufScalarKind, what: string): number | bigint | boolean | string {
    switch (kind) {
      case "u8":
        return this.u8(what);
      case "i8": {
        const o = this.need(1, what);
        this.pos += 1;
        return this.buf.readInt8(o);
      }
      case "u16": {
        const o = this.need(2, what);
        this.pos += 2;
        return this.buf.readUInt16LE(o);
      }
      case "i16": {
        const o = this.need(2, what);
        this.pos += 2;
        return this.buf.readInt16LE(o);
      }
      case "u32":
        return this.u32(what);
      case "i32": {
        const o = this.need(4, what);
        this.pos += 4;
        return this.buf.readInt32LE(o);
      }
      case "f32": {
        const o = this.need(4, what);
        this.pos += 4;
        return this.buf.readFloatLE(o);
      }
      case "f64": {
        const o = this.need(8, what);
        this.pos += 8;
        return this.buf.readDoubleLE(o);
      }
      case "u64": {
        const o = this.need(8, what);
        this.pos += 8;
        return this.buf.readBigUInt64LE(o);
      }
      case "i64": {
        const o = this.need(8, what);
        this.pos += 8;
        return this.buf.readBigInt64LE(o);
      }
      case "bool": {
        const v = this.u8(what);
        if (v > 1)
          throw new GgufFormatError(this.path, `${what}: bool byte ${v} is not 0 or 1 (corrupt file)`);
        return v === 1;
      }
      case "string": {
        const len = this.u64(`the length of ${what}`);
        if (len > this.size - this.pos) {
          throw new GgufFormatError(
            this.path,
            `${what}: string length ${len} runs past the end of the file (truncated or corrupt)`,
          );
        }
        const o = this.need(len, what);
        this.pos += len;
        return this.buf.toString("utf8", o, o + len);
      }
    }
  }
}

const ITEM_MIN_BYTES: Record<GgufScalarKind, number> = {
  u8: 1,
  i8: 1,
  bool: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  u64: 8,
  i64: 8,
  f64: 8,
  string: 8,
};

function readValue(cur: Cursor, path: string, key: string): GgufValue {
  const code = cur.u32(`the type of key ${key}`);
  const kind = TYPE_NAMES[code];
  if (!kind) throw new GgufFormatError(path, `key ${key} has unknown value type ${code} (corrupt file)`);
  if (kind !== "array") return { type: kind, value: cur.scalar(kind, `key ${key}`) } as GgufValue;
  const itemCode = cur.u32(`the item type of key ${key}`);
  const itemKind = TYPE_NAMES[itemCode];
  if (!itemKind || itemKind === "array") {
    throw new GgufFormatError(path, `key ${key} is an array of unsupported item type ${itemCode}`);
  }
  const n = cur.u64(`the length of key ${key}`);
  if (n * ITEM_MIN_BYTES[itemKind] > cur.size - cur.pos) {
    throw new GgufFormatError(
      path,
      `key ${key}: array of ${n} items runs past the end of the file (truncated)`,
    );
  }
  const items: unknown[] = new Array(n);
  for (let i = 0; i < n; i++) items[i] = cur.scalar(itemKind, `item ${i} of key ${key}`);
  return { type: "array", itemType: itemKind, value: items } as GgufValue;
}

/** Reads and validates a GGUF file's header, metadata and tensor infos. */
export function readGguf(path: string): GgufFile {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new GgufFormatError(path, `cannot open the file (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  try {
    const size = fstatSync(fd).size;
    const cur = new Cursor(fd, size, path);
    if (size < 24)
      throw new GgufFormatError(path, `only ${size} bytes: not a GGUF file (truncated download?)`);
    const magic = cur.u32("the magic");
    if (magic !== GGUF_MAGIC) {
      throw new GgufFormatError(path, `not a GGUF file (magic ${magic.toString(16)}, expected "GGUF")`);
    }
    const version = cur.u32("the version");
    if (version !== 2 && version !== 3) {
      throw new GgufFormatError(
        path,
        `GGUF version ${version} is not supported (glmv reads versions 2 and 3)`,
      );
    }
    const nTensors = cur.u64("the tensor count");
    const nKv = cur.u64("the metadata count");
    if (nTensors > size / 24 || nKv > size / 12) {
      throw new GgufFormatError(
        path,
        `header counts (${nTensors} tensors, ${nKv} keys) are impossible for its size`,
      );
    }
    const metadata = new Map<string, GgufValue>();
    for (let i = 0; i < nKv; i++) {
      const key = cur.scalar("string", `key name ${i}`) as string;
      if (metadata.has(key)) throw new GgufFormatError(path, `duplicate metadata key ${key}`);
      metadata.set(key, readValue(cur, path, key));
    }
    const alignValue = metadata.get("general.alignment");
    const alignment = alignValue?.type === "u32" ? alignValue.value : GGUF_DEFAULT_ALIGNMENT;
    if (alignment <= 0 || alignment % 8 !== 0) {
      throw new GgufFormatError(path, `general.alignment ${alignment} is not a positive multiple of 8`);
    }
    const raw: { name: string; ne: number[]; type: number; offset: number }[] = [];
    const names = new Set<string>();
    for (let i = 0; i < nTensors; i++) {
      const name = cur.scalar("string", `tensor name ${i}`) as string;
      if (names.has(name)) throw new GgufFormatError(path, `duplicate tensor ${name}`);
      names.add(name);
      const nDims = cur.u32(`the dimension count of ${name}`);
      if (nDims < 1 || nDims > 4)
        throw new GgufFormatError(path, `tensor ${name} has ${nDims} dimensions (1–4)`);
      const ne: number[] = [];
      for (let d = 0; d < nDims; d++) ne.push(cur.u64(`dimension ${d} of ${name}`));
      if (ne.some((d) => d === 0))
        throw new GgufFormatError(path, `tensor ${name} has a zero dimension [${ne}]`);
      const type = cur.u32(`the type of ${name}`);
      const offset = cur.u64(`the offset of ${name}`);
      raw.push({ name, ne, type, offset });
    }
    const dataOffset = Math.ceil(cur.pos / alignment) * alignment;
    const tensors: GgufTensorInfo[] = raw.map((t) => {
      const layout = blockLayout(t.type);
      if (!layout) throw new GgufFormatError(path, `tensor ${t.name} has unknown ggml type ${t.type}`);
      if (t.ne[0] % layout.blockSize !== 0) {
        throw new GgufFormatError(
          path,
          `tensor ${t.name}: row of ${t.ne[0]} is not whole ${ggmlTypeName(t.type)} blocks of ${layout.blockSize}`,
        );
      }
      if (t.offset % alignment !== 0) {
        throw new GgufFormatError(
          path,
          `tensor ${t.name}: data offset ${t.offset} is not aligned to ${alignment}`,
        );
      }
      const n = t.ne.reduce((a, b) => a * b, 1);
      const byteSize = (n / layout.blockSize) * layout.typeSize;
      const fileOffset = dataOffset + t.offset;
      if (fileOffset + byteSize > size) {
        throw new GgufFormatError(
          path,
          `tensor ${t.name} ends at byte ${fileOffset + byteSize} but the file has ${size}: it is truncated — download it again`,
        );
      }
      return { name: t.name, ne: t.ne, type: t.type, typeName: ggmlTypeName(t.type), fileOffset, byteSize };
    });
    return { path, version, fileSize: size, alignment, dataOffset, metadata, tensors };
  } finally {
    closeSync(fd);
  }
}

/** A metadata value as plain JS (number, bigint, boolean, string or an array of them), or undefined. */
export function metaValue(file: GgufFile, key: string): unknown {
  return file.metadata.get(key)?.value;
}

/** A numeric metadata value, or undefined when absent or not numeric. */
export function metaNumber(file: GgufFile, key: string): number | undefined {
  const v = file.metadata.get(key);
  if (!v || v.type === "array" || v.type === "string" || v.type === "bool") return undefined;
  return Number(v.value);
}

/** A string metadata value, or undefined. */
export function metaString(file: GgufFile, key: string): string | undefined {
  const v = file.metadata.get(key);
  return v?.type === "string" ? v.value : undefined;
}

/** Reads one tensor's raw bytes. */
export function readTensorBytes(file: GgufFile, tensor: GgufTensorInfo): Uint8Array {
  const fd = openSync(file.path, "r");
  try {
    const b = new Uint8Array(tensor.byteSize);
    readSync(fd, b, 0, tensor.byteSize, tensor.fileOffset);
    return b;
  } finally {
    closeSync(fd);
  }
}

/** Reads one tensor as F32 values (F32, F16, Q8_0 and Q4_0 tensors). */
export function readTensorF32(file: GgufFile, name: string): Float32Array {
  const t = file.tensors.find((x) => x.name === name);
  if (!t) throw new GgufFormatError(file.path, `no tensor named ${name}`);
  const bytes = readTensorBytes(file, t);
  const n = t.ne.reduce((a, b) => a * b, 1);
  switch (t.typeName) {
    case "F32":
      return new Float32Array(bytes.buffer, 0, n);
    case "F16":
      return dequantizeF16(bytes, n);
    case "Q8_0":
      return dequantizeQ8_0(bytes, n);
    case "Q4_0":
      return dequantizeQ4_0(bytes, n);
    default:
      throw new GgufFormatError(
        file.path,
        `tensor ${name} is ${t.typeName}; glmv reads F32/F16/Q8_0/Q4_0 only`,
      );
  }
}
