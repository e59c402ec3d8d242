/**
 * Media type detection from content (magic bytes), never from the file name. Pure, no I/O.
 */
import { listZipEntries, readStoredEntry } from "./zip.ts";

/** Which pipeline handles a detected type. */
export type MediaKind = "image" | "video" | "pdf" | "office";

/** Formats glmv recognises. Images decode with sharp (BMP with our own decoder). */
export type MediaFormat =
  | "jpeg"
  | "png"
  | "gif"
  | "webp"
  | "bmp"
  | "tiff"
  | "avif"
  | "mp4"
  | "mov"
  | "webm"
  | "mkv"
  | "avi"
  | "mpegts"
  | "flv"
  | "ogg"
  | "pdf"
  | "pptx"
  | "docx"
  | "odp"
  | "odt"
  | "fodp"
  | "fodt"
  | "ppt"
  | "doc";

/** What a byte sequence is. */
export interface DetectedType {
  kind: MediaKind;
  format: MediaFormat;
  mimeType: string;
  /** File extension to use for temporary files (tools such as LibreOffice like one). */
  extension: string;
}

const TYPES: Record<MediaFormat, DetectedType> = {
  jpeg: { kind: "image", format: "jpeg", mimeType: "image/jpeg", extension: "jpg" },
  png: { kind: "image", format: "png", mimeType: "image/png", extension: "png" },
  gif: { kind: "image", format: "gif", mimeType: "image/gif", extension: "gif" },
  webp: { kind: "image", format: "webp", mimeType: "image/webp", extension: "webp" },
  bmp: { kind: "image", format: "bmp", mimeType: "image/bmp", extension: "bmp" },
  tiff: { kind: "image", format: "tiff", mimeType: "image/tiff", extension: "tiff" },
  avif: { kind: "image", format: "avif", mimeType: "image/avif", extension: "avif" },
  mp4: { kind: "video", format: "mp4", mimeType: "video/mp4", extension: "mp4" },
  mov: { kind: "video", format: "mov", mimeType: "video/quicktime", extension: "mov" },
  webm: { kind: "video", format: "webm", mimeType: "video/webm", extension: "webm" },
  mkv: { kind: "video", format: "mkv", mimeType: "video/x-matroska", extension: "mkv" },
  avi: { kind: "video", format: "avi", mimeType: "video/x-msvideo", extension: "avi" },
  mpegts: { kind: "video", format: "mpegts", mimeType: "video/mp2t", extension: "ts" },
  flv: { kind: "video", format: "flv", mimeType: "video/x-flv", extension: "flv" },
  ogg: { kind: "video", format: "ogg", mimeType: "video/ogg", extension: "ogv" },
  pdf: { kind: "pdf", format: "pdf", mimeType: "application/pdf", extension: "pdf" },
  pptx: {
    kind: "office",
    format: "pptx",
    mimeType: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    extension: "pptx",
  },
  docx: {
    kind: "office",
    format: "docx",
    mimeType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    extension: "docx",
  },
  odp: {
    kind: "office",
    format: "odp",
    mimeType: "application/vnd.oasis.opendocument.presentation",
    extension: "odp",
  },
  odt: {
    kind: "office",
    format: "odt",
    mimeType: "application/vnd.oasis.opendocument.text",
    extension: "odt",
  },
  fodp: {
    kind: "office",
    format: "fodp",
    mimeType: "application/vnd.oasis.opendocument.presentation-flat-xml",
    extension: "fodp",
  },
  fodt: {
    kind: "office",
    format: "fodt",
    mimeType: "application/vnd.oasis.opendocument.text-flat-xml",
    extension: "fodt",
  },
  ppt: { kind: "office", format: "ppt", mimeType: "application/vnd.ms-powerpoint", extension: "ppt" },
  doc: { kind: "office", format: "doc", mimeType: "application/msword", extension: "doc" },
};

/** The DetectedType record of a format. */
export function typeOfFormat(format: MediaFormat): DetectedType {
  return TYPES[format];
}

function ascii(bytes: Uint8Array, start: number, length: number): string {
  let s = "";
  for (let i = start; i < start + length && i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

function startsWith(bytes: Uint8Array, magic: number[], at = 0): boolean {
  if (bytes.length < at + magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (bytes[at + i] !== magic[i]) return false;
  return true;
}

/** Finds an ASCII string written as UTF-16LE (OLE2 directory names) within the first `limit` bytes. */
function containsUtf16(bytes: Uint8Array, text: string, limit = 1 << 20): boolean {
  const needle = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) needle[i * 2] = text.charCodeAt(i);
  const end = Math.min(bytes.length, limit) - needle.length;
  outer: for (let p = 0; p <= end; p++) {
    for (let i = 0; i < needle.length; i++) if (bytes[p + i] !== needle[i]) continue outer;
    return true;
  }
  return false;
}

/** MPEG-TS: the sync byte 0x47 at the start of every 188-byte packet (checked over up to 4 packets). */
function isMpegTs(bytes: Uint8Array): boolean {
  const packets = Math.min(4, Math.floor(bytes.length / 188));
  if (packets < 2) return false;
  for (let i = 0; i < packets; i++) if (bytes[i * 188] !== 0x47) return false;
  return true;
}

/** ISO-BMFF `ftyp` brands: AVIF image, HEIC (unsupported), or an MP4/MOV video. */
function detectIsoBmff(bytes: Uint8Array): DetectedType | "heic" | undefined {
  if (ascii(bytes, 4, 4) !== "ftyp") return undefined;
  const size = Math.min(new DataView(bytes.buffer, bytes.byteOffset).getUint32(0), bytes.length, 256);
  const brands = [ascii(bytes, 8, 4)];
  for (let p = 16; p + 4 <= size; p += 4) brands.push(ascii(bytes, p, 4));
  if (brands.includes("avif") || brands.includes("avis")) return TYPES.avif;
  const heif = ["heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"];
  if (heif.includes(brands[0])) return "heic";
  if (brands[0] === "qt  ") return TYPES.mov;
  return TYPES.mp4;
}

function detectZip(bytes: Uint8Array): DetectedType | undefined {
  const entries = listZipEntries(bytes);
  const mimeEntry = entries.find((e) => e.name === "mimetype");
  if (mimeEntry) {
    const mime = new TextDecoder().decode(readStoredEntry(bytes, mimeEntry) ?? new Uint8Array()).trim();
    if (mime === TYPES.odp.mimeType) return TYPES.odp;
    if (mime === TYPES.odt.mimeType) return TYPES.odt;
  }
  if (entries.some((e) => e.name.startsWith("ppt/"))) return TYPES.pptx;
  if (entries.some((e) => e.name.startsWith("word/"))) return TYPES.docx;
  return undefined;
}

function detectFlatOdf(bytes: Uint8Array): DetectedType | undefined {
  const head = ascii(bytes, 0, 4096);
  if (!head.includes("office:document")) return undefined;
  if (head.includes("opendocument.presentation")) return TYPES.fodp;
  if (head.includes("opendocument.text")) return TYPES.fodt;
  return undefined;
}

/**
 * Detects the type of `bytes` from its leading bytes (and, for ZIP and OLE2 containers, its directory).
 * Returns undefined for anything glmv cannot use; {@link describeUnknown} says what it looks like.
 */
export function detectType(bytes: Uint8Array): DetectedType | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return TYPES.jpeg;
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return TYPES.png;
  const head = ascii(bytes, 0, 12);
  if (head.startsWith("GIF87a") || head.startsWith("GIF89a")) return TYPES.gif;
  if (head.startsWith("RIFF") && head.slice(8, 12) === "WEBP") return TYPES.webp;
  if (head.startsWith("RIFF") && head.slice(8, 12) === "AVI ") return TYPES.avi;
  if (head.startsWith("BM") && bytes.length >= 18) {
    const dib = new DataView(bytes.buffer, bytes.byteOffset).getUint32(14, true);
    if ([12, 16, 40, 52, 56, 64, 108, 124].includes(dib)) return TYPES.bmp;
  }
  if (head.startsWith("II*\0") || head.startsWith("MM\0*")) return TYPES.tiff;
  const iso = detectIsoBmff(bytes);
  if (iso && iso !== "heic") return iso;
  if (startsWith(bytes, [0x1a, 0x45, 0xdf, 0xa3])) {
    return ascii(bytes, 0, 64).includes("webm") ? TYPES.webm : TYPES.mkv;
  }
  if (head.startsWith("FLV\x01")) return TYPES.flv;
  if (head.startsWith("OggS")) return TYPES.ogg;
  if (isMpegTs(bytes)) return TYPES.mpegts;
  if (ascii(bytes, 0, 1024).includes("%PDF-")) return TYPES.pdf;
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) return detectZip(bytes);
  if (startsWith(bytes, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) {
    if (containsUtf16(bytes, "PowerPoint Document")) return TYPES.ppt;
    if (containsUtf16(bytes, "WordDocument")) return TYPES.doc;
    return undefined;
  }
  return detectFlatOdf(bytes);
}

/** A short human description of bytes that {@link detectType} did not recognise, for error messages. */
export function describeUnknown(bytes: Uint8Array): string {
  if (bytes.length === 0) return "the input is empty";
  if (detectIsoBmff(bytes) === "heic") return "HEIC/HEIF images are not supported (no HEVC decoder)";
  const text = ascii(bytes, 0, 512).trimStart().toLowerCase();
  if (text.startsWith("<svg") || (text.startsWith("<?xml") && text.includes("<svg"))) {
    return "SVG images are not supported";
  }
  if (text.startsWith("<!doctype html") || text.startsWith("<html")) return "this is an HTML page, not media";
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]))
    return "this ZIP archive is not a PPTX, DOCX, ODP or ODT file";
  if (startsWith(bytes, [0xd0, 0xcf, 0x11, 0xe0])) return "this legacy Office file is neither PPT nor DOC";
  const hex = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join(" ");
  return `unrecognised content (first bytes ${hex})`;
}
