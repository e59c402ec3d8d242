/**
 * A BMP decoder (sharp's prebuilt libvips has no BMP loader). Handles the formats in use: 1/4/8-bit palette,
 * RLE4/RLE8, 16-bit 5-5-5 and bit fields, 24-bit, 32-bit (with or without alpha masks), top-down and bottom-up,
 * OS/2 core headers. Pure: bytes in, raw pixels out.
 */
import { MediaError } from "./errors.ts";

/** Decoded BMP pixels, row-major, top row first. */
export interface RawPixels {
  width: number;
  height: number;
  channels: 3 | 4;
  data: Uint8Array;
}

interface Mask {
  mask: number;
  shift: number;
  max: number;
}

function makeMask(mask: number): Mask {
  if (mask === 0) return { mask: 0, shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { mask: mask >>> 0, shift, max: (mask >>> 0) >>> shift };
}

function channel(px: number, m: Mask): number {
  if (m.max === 0) return 0;
  return Math.round((((px & m.mask) >>> 0) >>> m.shift) * (255 / m.max));
}

/** Header fields of a BMP, read without decoding pixels. */
export interface BmpInfo {
  width: number;
  height: number;
}

/** Reads width and height from a BMP header (for the pixel guard before any allocation). */
export function readBmpSize(bytes: Uint8Array, input = "BMP image"): BmpInfo {
  if (bytes.length < 26) throw corrupt(input, "the header is cut off");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dib = dv.getUint32(14, true);
  if (dib === 12) return { width: dv.getUint16(18, true), height: dv.getInt16(20, true) };
  return { width: dv.getInt32(18, true), height: Math.abs(dv.getInt32(22, true)) };
}

function corrupt(input: string, problem: string): MediaError {
  return new MediaError(
    "corrupt",
    input,
    `this BMP file is damaged or truncated (${problem})`,
    "Re-export the image, or convert it to PNG.",
  );
}

/**
 * Decodes a BMP file. `maxPixels` is checked against the header before any pixel memory is allocated.
 * Throws MediaError (`corrupt`, `unsupported-type`, `too-many-pixels`).
 */
export function decodeBmp(bytes: Uint8Array, maxPixels: number, input = "BMP image"): RawPixels {
  if (bytes.length < 26 || bytes[0] !== 0x42 || bytes[1] !== 0x4d) throw corrupt(input, "no BMP header");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataOffset = dv.getUint32(10, true);
  const dib = dv.getUint32(14, true);
  if (dib !== 12 && (dib < 40 || dib > 124)) throw corrupt(input, `unknown header size ${dib}`);
  if (14 + dib > bytes.length) throw corrupt(input, "the header is cut off");
  let width: number;
  let rawHeight: number;
  let bpp: number;
  let compression = 0;
  let colorsUsed = 0;
  let paletteEntrySize = 4;
  let masks: [number, number, number, number] | undefined;
  if (dib === 12) {
    width = dv.getUint16(18, true);
    rawHeight = dv.getInt16(20, true);
    bpp = dv.getUint16(24, true);
    paletteEntrySize = 3;
  } else {
    width = dv.getInt32(18, true);
    rawHeight = dv.getInt32(22, true);
    bpp = dv.getUint16(28, true);
    compression = dv.getUint32(30, true);
    colorsUsed = dv.getUint32(46, true);
    if (compression === 3 || compression === 6) {
      const at = 54;
      const alphaInHeader = dib >= 56 || compression === 6;
      if (at + (alphaInHeader ? 16 : 12) > bytes.length) throw corrupt(input, "the colour masks are cut off");
      masks = [
        dv.getUint32(at, true),
        dv.getUint32(at + 4, true),
        dv.getUint32(at + 8, true),
        alphaInHeader ? dv.getUint32(at + 12, true) : 0,
      ];
    } else if (dib >= 56 && (bpp === 32 || bpp === 16) && compression === 0) {
      masks = undefined; // BI_RGB ignores masks
    }
  }
  const topDown = rawHeight < 0;
  const height = Math.abs(rawHeight);
  if (width <= 0 || height <= 0) throw corrupt(input, `size ${width}×${height}`);
  if (width * height > maxPixels) {
    throw new MediaError(
      "too-many-pixels",
      input,
      `the image is ${width}×${height} = ${width * height} pixels, over the limit of ${maxPixels}`,
      "Downscale the image, or raise maxInputPixels if you trust this input.",
    );
  }
  if (compression === 4 || compression === 5) {
    throw new MediaError(
      "unsupported-type",
      input,
      "this BMP wraps a JPEG or PNG stream",
      "Save the image as a plain JPEG or PNG instead.",
    );
  }
  if (![1, 4, 8, 16, 24, 32].includes(bpp) || ![0, 1, 2, 3, 6].includes(compression)) {
    throw new MediaError(
      "unsupported-type",
      input,
      `BMP with ${bpp} bits per pixel and compression ${compression} is not supported`,
      "Convert the image to PNG.",
    );
  }
  if ((compression === 1 && bpp !== 8) || (compression === 2 && bpp !== 4)) {
    throw corrupt(input, `RLE${compression === 1 ? 8 : 4} compression with ${bpp} bits per pixel`);
  }
  // Palette
  let palette: Uint8Array | undefined;
  if (bpp <= 8) {
    const count = colorsUsed > 0 && colorsUsed <= 1 << bpp ? colorsUsed : 1 << bpp;
    const start = 14 + dib + (dib === 40 && masks ? 12 : 0);
    palette = new Uint8Array(256 * 3);
    for (let i = 0; i < count; i++) {
      const p = start + i * paletteEntrySize;
      if (p + 3 > bytes.length) break;
      palette[i * 3] = bytes[p + 2];
      palette[i * 3 + 1] = bytes[p + 1];
      palette[i * 3 + 2] = bytes[p];
    }
  }
  let fieldMasks: Mask[] | undefined;
  if (bpp === 16 || bpp === 32) {
    const m = masks ?? (bpp === 16 ? [0x7c00, 0x03e0, 0x001f, 0] : [0xff0000, 0xff00, 0xff, 0]);
    fieldMasks = m.map(makeMask);
  }
  const hasAlpha = fieldMasks !== undefined && fieldMasks[3].max > 0;
  const channels: 3 | 4 = hasAlpha ? 4 : 3;
  const out = new Uint8Array(width * height * channels);
  const rowOf = (y: number) => (topDown ? y : height - 1 - y);

  if (compression === 1 || compression === 2) {
    decodeRle(bytes, dataOffset, width, height, compression === 1 ? 8 : 4, palette!, out, rowOf, input);
    return { width, height, channels, data: out };
  }
  const stride = Math.floor((width * bpp + 31) / 32) * 4;
  if (dataOffset + stride * (height - 1) + Math.ceil((width * bpp) / 8) > bytes.length) {
    throw corrupt(input, "the pixel data is cut off");
  }
  for (let fileRow = 0; fileRow < height; fileRow++) {
    const y = rowOf(fileRow);
    const src = dataOffset + fileRow * stride;
    let o = y * width * channels;
    for (let x = 0; x < width; x++, o += channels) {
      if (bpp === 24) {
        const p = src + x * 3;
        out[o] = bytes[p + 2];
        out[o + 1] = bytes[p + 1];
        out[o + 2] = bytes[p];
      } else if (bpp === 16 || bpp === 32) {
        const px = bpp === 16 ? dv.getUint16(src + x * 2, true) : dv.getUint32(src + x * 4, true);
        out[o] = channel(px, fieldMasks![0]);
        out[o + 1] = channel(px, fieldMasks![1]);
        out[o + 2] = channel(px, fieldMasks![2]);
        if (hasAlpha) out[o + 3] = channel(px, fieldMasks![3]);
      } else {
        const bitPos = x * bpp;
        const byte = bytes[src + (bitPos >> 3)];
        const index = (byte >> (8 - bpp - (bitPos & 7))) & ((1 << bpp) - 1);
        out[o] = palette![index * 3];
        out[o + 1] = palette![index * 3 + 1];
        out[o + 2] = palette![index * 3 + 2];
      }
    }
  }
  return { width, height, channels, data: out };
}

function decodeRle(
  bytes: Uint8Array,
  start: number,
  width: number,
  height: number,
  bits: 4 | 8,
  palette: Uint8Array,
  out: Uint8Array,
  rowOf: (fileRow: number) => number,
  input: string,
): void {
  let p = start;
  let x = 0;
  let fileRow = 0;
  const put = (index: number) => {
    if (x < width && fileRow < height) {
      const o = (rowOf(fileRow) * width + x) * 3;
      out[o] = palette[index * 3];
      out[o + 1] = palette[index * 3 + 1];
      out[o + 2] = palette[index * 3 + 2];
    }
    x++;
  };
  while (fileRow < height) {
    if (p + 1 >= bytes.length) throw corrupt(input, "the RLE data is cut off");
    const count = bytes[p++];
    const value = bytes[p++];
    if (count > 0) {
      for (let i = 0; i < count; i++) put(bits === 8 ? value : i % 2 === 0 ? value >> 4 : value & 15);
    } else if (value === 0) {
      x = 0;
      fileRow++;
    } else if (value === 1) {
      return;
    } else if (value === 2) {
      if (p + 1 >= bytes.length) throw corrupt(input, "the RLE data is cut off");
      x += bytes[p++];
      fileRow += bytes[p++];
    } else {
      const n = value;
      const byteCount = bits === 8 ? n : Math.ceil(n / 2);
      if (p + byteCount > bytes.length) throw corrupt(input, "the RLE data is cut off");
      for (let i = 0; i < n; i++) {
        put(bits === 8 ? bytes[p + i] : i % 2 === 0 ? bytes[p + (i >> 1)] >> 4 : bytes[p + (i >> 1)] & 15);
      }
      p += byteCount + (byteCount & 1); // runs are word-aligned
    }
  }
}
