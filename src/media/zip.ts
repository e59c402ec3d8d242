/**
 * Minimal ZIP support with node:zlib: list entry names (to tell PPTX from DOCX from ODP by content) and write
 * small archives (tests build their own office files). Not a general archive library.
 */
import { crc32, deflateRawSync } from "node:zlib";

const LOCAL_SIG = 0x04034b50;
const CENTRAL_SIG = 0x02014b50;
const END_SIG = 0x06054b50;

/** One entry as read from an archive's directory. */
export interface ZipEntryInfo {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  compressedSize: number;
  localHeaderOffset: number;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Entry names of a ZIP archive, from the central directory, or by walking local headers when the directory is
 * missing (truncated file). Returns [] when nothing readable is found. Never throws.
 */
export function listZipEntries(bytes: Uint8Array): ZipEntryInfo[] {
  const dv = view(bytes);
  const decoder = new TextDecoder();
  const entries: ZipEntryInfo[] = [];
  // End of central directory: within the last 22 + 65535 bytes.
  const stop = Math.max(0, bytes.length - 22 - 65535);
  for (let p = bytes.length - 22; p >= stop; p--) {
    if (dv.getUint32(p, true) !== END_SIG) continue;
    const count = dv.getUint16(p + 10, true);
    let q = dv.getUint32(p + 16, true);
    for (let i = 0; i < count && q + 46 <= bytes.length; i++) {
      if (dv.getUint32(q, true) !== CENTRAL_SIG) break;
      const nameLen = dv.getUint16(q + 28, true);
      const extraLen = dv.getUint16(q + 30, true);
      const commentLen = dv.getUint16(q + 32, true);
      entries.push({
        name: decoder.decode(bytes.subarray(q + 46, q + 46 + nameLen)),
        method: dv.getUint16(q + 10, true),
        compressedSize: dv.getUint32(q + 20, true),
        localHeaderOffset: dv.getUint32(q + 42, true),
      });
      q += 46 + nameLen + extraLen + commentLen;
    }
    if (entries.length > 0) return entries;
    break;
  }
  let q = 0;
  while (q + 30 <= bytes.length && dv.getUint32(q, true) === LOCAL_SIG) {
    const flags = dv.getUint16(q + 6, true);
    const size = dv.getUint32(q + 18, true);
    const nameLen = dv.getUint16(q + 26, true);
    const extraLen = dv.getUint16(q + 28, true);
    entries.push({
      name: decoder.decode(bytes.subarray(q + 30, q + 30 + nameLen)),
      method: dv.getUint16(q + 8, true),
      compressedSize: size,
      localHeaderOffset: q,
    });
    if (flags & 0x8) break; // sizes follow the data; cannot walk further without inflating
    q += 30 + nameLen + extraLen + size;
  }
  return entries;
}

/** The bytes of a stored (uncompressed) entry, e.g. an ODF `mimetype`; undefined when not stored or out of range. */
export function readStoredEntry(bytes: Uint8Array, entry: ZipEntryInfo): Uint8Array | undefined {
  if (entry.method !== 0) return undefined;
  const dv = view(bytes);
  const q = entry.localHeaderOffset;
  if (q + 30 > bytes.length || dv.getUint32(q, true) !== LOCAL_SIG) return undefined;
  const start = q + 30 + dv.getUint16(q + 26, true) + dv.getUint16(q + 28, true);
  if (start + entry.compressedSize > bytes.length) return undefined;
  return bytes.subarray(start, start + entry.compressedSize);
}

/** A file to put in an archive. `store: true` keeps it uncompressed (ODF requires that for `mimetype`). */
export interface ZipInput {
  name: string;
  data: string | Uint8Array;
  store?: boolean;
}

/** Writes a ZIP archive (deflate or store, no ZIP64) from the entries in order. */
export function writeZip(files: ZipInput[]): Uint8Array {
  const encoder = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  // 1980-01-01 00:00, the DOS epoch: archives are byte-for-byte reproducible.
  const dosTime = 0;
  const dosDate = (0 << 9) | (1 << 5) | 1;
  for (const file of files) {
    const name = encoder.encode(file.name);
    const raw = typeof file.data === "string" ? encoder.encode(file.data) : file.data;
    const method = file.store ? 0 : 8;
    const body = method === 8 ? new Uint8Array(deflateRawSync(raw)) : raw;
    const crc = crc32(raw);
    const local = new Uint8Array(30 + name.length);
    const l = view(local);
    l.setUint32(0, LOCAL_SIG, true);
    l.setUint16(4, 20, true);
    l.setUint16(8, method, true);
    l.setUint16(10, dosTime, true);
    l.setUint16(12, dosDate, true);
    l.setUint32(14, crc, true);
    l.setUint32(18, body.length, true);
    l.setUint32(22, raw.length, true);
    l.setUint16(26, name.length, true);
    local.set(name, 30);
    const central = new Uint8Array(46 + name.length);
    const c = view(central);
    c.setUint32(0, CENTRAL_SIG, true);
    c.setUint16(4, 20, true);
    c.setUint16(6, 20, true);
    c.setUint16(10, method, true);
    c.setUint16(12, dosTime, true);
    c.setUint16(14, dosDate, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, body.length, true);
    c.setUint32(24, raw.length, true);
    c.setUint16(28, name.length, true);
    c.setUint32(42, offset, true);
    central.set(name, 46);
    locals.push(local, body);
    centrals.push(central);
    offset += local.length + body.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = new Uint8Array(22);
  const e = view(end);
  e.setUint32(0, END_SIG, true);
  e.setUint16(8, files.length, true);
  e.setUint16(10, files.length, true);
  e.setUint32(12, centralSize, true);
  e.setUint32(16, offset, true);
  const out = new Uint8Array(offset + centralSize + 22);
  let p = 0;
  for (const part of [...locals, ...centrals, end]) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}
