/**
 * Still images → model-ready RGB: decode (sharp; BMP with our decoder; embedded ICC profiles ignored, as the
 * reference processor does), EXIF orientation, alpha flattened on
 * white, first frame of animations, sRGB, then resized with GLM-V's smart_resize grid (bicubic).
 */
import sharp, { type Metadata, type OutputInfo, type Sharp, type SharpOptions } from "sharp";
import type { FamilyId } from "../protocol/families.ts";
import { decodeBmp, readBmpSize } from "./bmp.ts";
import { describeUnknown, detectType } from "./detect.ts";
import { MediaError } from "./errors.ts";
import { type GridSize, imageBudget, type PixelBudget, smartResize } from "./smart-resize.ts";
import type { PreparedImage } from "./types.ts";

/** Default decompression-bomb guard: the largest source image glmv decodes (about 100 megapixels). */
export const DEFAULT_MAX_INPUT_PIXELS = 100_000_000;

// libvips uses one thread per image by default here; two lets resize overlap decode.
sharp.concurrency(Math.max(sharp.concurrency(), 2));

/** Options of {@link prepareImage}. */
export interface ImageOptions {
  /** Model family whose pixel budget applies (default GLM-4.6V's). Ignored when `budget` or `size` is set. */
  family?: FamilyId;
  /** Explicit budget, e.g. from the checkpoint's preprocessor_config.json. */
  budget?: PixelBudget;
  /** Resize to exactly this grid instead of computing it (video frames, pre-budgeted document pages). */
  size?: GridSize;
  /** Refuse sources with more pixels than this before decoding (default {@link DEFAULT_MAX_INPUT_PIXELS}). */
  maxInputPixels?: number;
  /** How to name the input in errors. */
  input?: string;
}

/** Oriented size of an image, read from its header without decoding the pixels. */
export interface ImageInfo {
  width: number;
  height: number;
  format: string;
  hasAlpha: boolean;
  /** EXIF orientation of the stored pixels (1 = upright; 2–8 are applied by glmv). */
  orientation?: number;
  /** Already 8-bit sRGB (or sRGB + alpha): no colour-space conversion pass is needed. */
  srgb8?: boolean;
}

function tooManyPixels(input: string, width: number, height: number, limit: number): MediaError {
  return new MediaError(
    "too-many-pixels",
    input,
    `the image is ${width}×${height} = ${width * height} pixels, over the limit of ${limit}`,
    "Downscale the image, or raise maxInputPixels if you trust this input.",
  );
}

function decodeError(input: string, format: string, cause: unknown): MediaError {
  const text = cause instanceof Error ? cause.message : String(cause);
  if (/pixel limit/i.test(text)) {
    return new MediaError(
      "too-many-pixels",
      input,
      "the image has more pixels than allowed",
      "Downscale it, or raise maxInputPixels if you trust this input.",
      { cause },
    );
  }
  return new MediaError(
    "corrupt",
    input,
    `this ${format.toUpperCase()} image is truncated or corrupt (${text.trim()})`,
    "Re-download or re-export the image.",
    { cause },
  );
}

interface Decodable {
  image: Sharp;
  info: ImageInfo;
}

async function open(bytes: Uint8Array, maxInputPixels: number, input: string): Promise<Decodable> {
  const type = detectType(bytes);
  if (type?.kind !== "image") {
    throw new MediaError(
      "unsupported-type",
      input,
      type ? `expected an image but this is ${type.format.toUpperCase()}` : describeUnknown(bytes),
      "Use a JPEG, PNG, WebP, GIF, BMP, TIFF or AVIF image.",
    );
  }
  if (type.format === "bmp") {
    const size = readBmpSize(bytes, input);
    if (size.width * size.height > maxInputPixels)
      throw tooManyPixels(input, size.width, size.height, maxInputPixels);
    const raw = decodeBmp(bytes, maxInputPixels, input);
    const image = sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } });
    return {
      image,
      info: { width: raw.width, height: raw.height, format: "bmp", hasAlpha: raw.channels === 4 },
    };
  }
  const options: SharpOptions = {
    failOn: "truncated",
    limitInputPixels: maxInputPixels,
    sequentialRead: true,
    page: 0,
    pages: 1,
  };
  let meta: Metadata;
  try {
    // Header only, without the pixel limit, so the guard below can report the real size.
    meta = await sharp(bytes, { ...options, limitInputPixels: false }).metadata();
  } catch (cause) {
    throw decodeError(input, type.format, cause);
  }
  if (!meta.width || !meta.height)
    throw decodeError(input, type.format, new Error("no image size in header"));
  if (meta.width * meta.height > maxInputPixels)
    throw tooManyPixels(input, meta.width, meta.height, maxInputPixels);
  const swap = (meta.orientation ?? 1) >= 5;
  // Embedded ICC profiles are not applied (as in the reference processor, which converts with PIL and ignores
  // them; applying them would also double the time of a phone photo). CMYK still needs its profile for RGB.
  const image = sharp(bytes, { ...options, ignoreIcc: meta.space !== "cmyk" });
  return {
    image,
    info: {
      width: swap ? meta.height : meta.width,
      height: swap ? meta.width : meta.height,
      format: type.format,
      hasAlpha: meta.hasAlpha ?? false,
      orientation: meta.orientation ?? 1,
      srgb8: meta.space === "srgb" && (meta.depth === undefined || meta.depth === "uchar"),
    },
  };
}

/** Reads an image's oriented size and format from its header (no pixel decoding). */
export async function probeImage(
  bytes: Uint8Array,
  options: { maxInputPixels?: number; input?: string } = {},
): Promise<ImageInfo> {
  const { info } = await open(
    bytes,
    options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS,
    options.input ?? "image",
  );
  return info;
}

/**
 * Decodes, orients, flattens and resizes one image to its GLM-V grid. The result's pixels are RGB,
 * `width × height × 3`, with both sides multiples of 28. Throws MediaError for anything unusable.
 */
export async function prepareImage(bytes: Uint8Array, options: ImageOptions = {}): Promise<PreparedImage> {
  const input = options.input ?? "image";
  const maxInputPixels = options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  const { image, info } = await open(bytes, maxInputPixels, input);
  const size =
    options.size ??
    smartResize(info.height, info.width, options.budget ?? imageBudget(options.family ?? "glm-4.6v"), input);
  return resizeToGrid(image, info, size, input);
}

/**
 * Runs decode → flatten → sRGB → bicubic resize, then the EXIF orientation. Orienting after the resize is
 * exact for these lossless transforms and turns a rotation of the full source (2.4× the time of a 12 MP
 * decode) into one of the small result.
 */
async function resizeToGrid(
  image: Sharp,
  info: ImageInfo,
  size: GridSize,
  input: string,
): Promise<PreparedImage> {
  const orientation = info.orientation ?? 1;
  const quarterTurn = orientation >= 5 && orientation <= 8;
  const stored = quarterTurn ? { width: size.height, height: size.width } : size;
  let pipeline = image;
  if (info.hasAlpha) pipeline = pipeline.flatten({ background: { r: 255, g: 255, b: 255 } });
  // A conversion pass costs ~4 ms on a 12 MP photo; skip it when the decoder already gives 8-bit sRGB.
  if (!info.srgb8) pipeline = pipeline.toColourspace("srgb");
  pipeline = pipeline.resize(stored.width, stored.height, { fit: "fill", kernel: "cubic" }).removeAlpha();
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw decodeError(input, info.format, cause);
  }
  if (out.info.channels !== 3 || out.info.width !== stored.width || out.info.height !== stored.height) {
    throw new MediaError(
      "corrupt",
      input,
      `decoding gave ${out.info.width}×${out.info.height}×${out.info.channels} instead of ${stored.width}×${stored.height}×3`,
      "Convert the image to PNG and try again.",
    );
  }
  const data = await applyOrientation(out.data, stored, orientation);
  return {
    kind: "image",
    width: size.width,
    height: size.height,
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    originalWidth: info.width,
    originalHeight: info.height,
  };
}

/**
 * Applies an EXIF orientation (2–8) to raw RGB pixels: mirror first, then rotate clockwise, as the EXIF
 * definitions read (5 = mirror + 270°, 7 = mirror + 90°).
 */
export async function applyOrientation(data: Buffer, size: GridSize, orientation: number): Promise<Buffer> {
  if (orientation < 2 || orientation > 8) return data;
  const raw = { raw: { width: size.width, height: size.height, channels: 3 as const } };
  const mirrored = orientation === 2 || orientation === 5 || orientation === 7;
  const angle = { 3: 180, 5: 270, 6: 90, 7: 90, 8: 270 }[orientation as 3 | 5 | 6 | 7 | 8] ?? 0;
  let current = data;
  let width = size.width;
  let height = size.height;
  if (mirrored) current = await sharp(current, raw).flop().raw().toBuffer();
  if (orientation === 4) current = await sharp(current, raw).flip().raw().toBuffer();
  if (angle) {
    current = await sharp(current, { raw: { width, height, channels: 3 } })
      .rotate(angle)
      .raw()
      .toBuffer();
    if (angle !== 180) [width, height] = [height, width];
  }
  return current;
}

/**
 * Wraps raw RGB or RGBA pixels (e.g. a rendered PDF page already at its grid size) as a PreparedImage,
 * flattening alpha on white. No resampling when the size already matches.
 */
export async function rawToPrepared(
  raw: { width: number; height: number; channels: 3 | 4; data: Uint8Array },
  size: GridSize,
  original: { width: number; height: number },
): Promise<PreparedImage> {
  let data: Uint8Array;
  if (raw.width === size.width && raw.height === size.height) {
    data = raw.channels === 3 ? raw.data : dropAlphaOnWhite(raw.data, raw.width * raw.height);
  } else {
    const out = await sharp(raw.data, {
      raw: { width: raw.width, height: raw.height, channels: raw.channels },
    })
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .resize(size.width, size.height, { fit: "fill", kernel: "cubic" })
      .removeAlpha()
      .raw()
      .toBuffer();
    data = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
  return {
    kind: "image",
    width: size.width,
    height: size.height,
    data,
    originalWidth: original.width,
    originalHeight: original.height,
  };
}

/** RGBA (not premultiplied) → RGB composited on white. */
export function dropAlphaOnWhite(rgba: Uint8Array, pixels: number): Uint8Array {
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0, j = 0; i < pixels; i++, j += 4) {
    const a = rgba[j + 3];
    if (a === 255) {
      rgb[i * 3] = rgba[j];
      rgb[i * 3 + 1] = rgba[j + 1];
      rgb[i * 3 + 2] = rgba[j + 2];
    } else {
      const k = 255 - a;
      rgb[i * 3] = (rgba[j] * a + 255 * k + 127) / 255;
      rgb[i * 3 + 1] = (rgba[j + 1] * a + 255 * k + 127) / 255;
      rgb[i * 3 + 2] = (rgba[j + 2] * a + 255 * k + 127) / 255;
    }
  }
  return rgb;
}
