/**
 * Test helpers that generate media by code (sharp, ffmpeg lavfi, pdf-lib, our own ZIP writer), so no test
 * depends on a checked-in binary. Used only by `*.test.ts` files.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { PDFDocument, rgb, StandardFonts } from "pdf-lib";
import sharp from "sharp";
import { writeZip } from "./zip.ts";

const run = promisify(execFile);

/** A temporary folder removed by the returned `cleanup`. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "glmv-media-test-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Image formats sharp can write for tests. */
export type WritableFormat = "jpeg" | "png" | "webp" | "gif" | "tiff" | "avif";

/**
 * An image whose left half is red and right half blue (so orientation is checkable).
 * `alpha` makes the right half fully transparent; `orientation` writes an EXIF orientation tag.
 */
export async function makeImage(
  format: WritableFormat,
  width: number,
  height: number,
  options: { alpha?: boolean; orientation?: number } = {},
): Promise<Uint8Array> {
  const channels = options.alpha ? 4 : 3;
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      const left = x < width / 2;
      data[o] = left ? 255 : 0;
      data[o + 2] = left ? 0 : 255;
      if (channels === 4) data[o + 3] = left ? 255 : 0;
    }
  }
  let image = sharp(data, { raw: { width, height, channels } });
  if (options.orientation) image = image.withMetadata({ orientation: options.orientation });
  const out = await image.toFormat(format, format === "jpeg" ? { quality: 95 } : {}).toBuffer();
  return new Uint8Array(out);
}

/** An animated GIF of `frames` solid frames: red, green, blue, ... */
export async function makeAnimatedGif(width: number, height: number, frames: number): Promise<Uint8Array> {
  const colours = [
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
  ];
  const data = Buffer.alloc(width * height * frames * 3);
  for (let f = 0; f < frames; f++) {
    const [r, g, b] = colours[f % 3];
    for (let i = 0; i < width * height; i++) data.set([r, g, b], (f * width * height + i) * 3);
  }
  const out = await sharp(data, { raw: { width, height: height * frames, channels: 3, pageHeight: height } })
    .gif()
    .toBuffer();
  return new Uint8Array(out);
}

/** A BMP written by hand: `bpp` 24 (bottom-up), 32 (top-down, BITMAPV5 with alpha mask), 8 (palette) or 1. */
export function makeBmp(width: number, height: number, bpp: 1 | 8 | 24 | 32): Uint8Array {
  const dib = bpp === 32 ? 124 : 40;
  const paletteSize = bpp <= 8 ? (1 << bpp) * 4 : 0;
  const stride = Math.floor((width * bpp + 31) / 32) * 4;
  const offset = 14 + dib + paletteSize;
  const bytes = new Uint8Array(offset + stride * height);
  const dv = new DataView(bytes.buffer);
  bytes[0] = 0x42;
  bytes[1] = 0x4d;
  dv.setUint32(2, bytes.length, true);
  dv.setUint32(10, offset, true);
  dv.setUint32(14, dib, true);
  dv.setInt32(18, width, true);
  dv.setInt32(22, bpp === 32 ? -height : height, true);
  dv.setUint16(26, 1, true);
  dv.setUint16(28, bpp, true);
  dv.setUint32(30, bpp === 32 ? 3 : 0, true);
  if (bpp === 32) {
    dv.setUint32(54, 0x00ff0000, true);
    dv.setUint32(58, 0x0000ff00, true);
    dv.setUint32(62, 0x000000ff, true);
    dv.setUint32(66, 0xff000000, true);
  }
  if (bpp <= 8) {
    // index 0 red, index 1 blue
    bytes.set([0, 0, 255, 0], 14 + dib);
    bytes.set([255, 0, 0, 0], 14 + dib + 4);
  }
  for (let y = 0; y < height; y++) {
    const fileRow = bpp === 32 ? y : height - 1 - y;
    const row = offset + fileRow * stride;
    for (let x = 0; x < width; x++) {
      const left = x < width / 2;
      if (bpp === 24) bytes.set(left ? [0, 0, 255] : [255, 0, 0], row + x * 3);
      else if (bpp === 32) bytes.set(left ? [0, 0, 255, 255] : [255, 0, 0, 0], row + x * 4);
      else if (bpp === 8) bytes[row + x] = left ? 0 : 1;
      else if (!left) bytes[row + (x >> 3)] |= 0x80 >> (x & 7);
    }
  }
  return bytes;
}

/** Options of {@link makeVideo}. */
export interface VideoSpec {
  width?: number;
  height?: number;
  seconds?: number;
  fps?: number;
  /** Container by extension: mp4 (H.264), webm (VP8), mkv, mov. */
  extension?: string;
  /** Audio only (no video stream). */
  audioOnly?: boolean;
  /** Grey frames whose brightness encodes the frame number (luma 16 + 4·n), losslessly encoded. */
  ramp?: boolean;
  /** Display rotation in degrees written to the container (mp4). */
  rotate?: number;
  /** Encode no frames at all. */
  empty?: boolean;
}

/** The RGB grey level of frame `n` of a `ramp` video (limited-range luma 16 + 4n, expanded to full range). */
export function rampLevel(n: number): number {
  return Math.round((4 * n * 255) / 219);
}

/**
 * A test video from ffmpeg's lavfi sources: a frame counter pattern (`testsrc2`), so frames differ.
 * Written into `dir`; returns the path.
 */
export async function makeVideo(dir: string, spec: VideoSpec = {}): Promise<string> {
  const { width = 64, height = 48, seconds = 2, fps = 10, extension = "mp4" } = spec;
  const tag = [
    spec.audioOnly && "audio",
    spec.ramp && "ramp",
    spec.rotate && `rot${spec.rotate}`,
    spec.empty && "empty",
  ]
    .filter(Boolean)
    .join("-");
  const path = join(dir, `video-${width}x${height}-${seconds}s-${fps}fps-${tag}.${extension}`);
  const args = ["-v", "error", "-y", "-f", "lavfi"];
  if (spec.audioOnly) {
    args.push(
      "-i",
      `sine=frequency=440:duration=${seconds}`,
      "-c:a",
      extension === "mp4" ? "aac" : "libvorbis",
    );
  } else {
    const source = spec.ramp
      ? `nullsrc=size=${width}x${height}:rate=${fps}:duration=${seconds},geq=lum='16+4*N':cb=128:cr=128`
      : `testsrc2=size=${width}x${height}:rate=${fps}:duration=${seconds}`;
    args.push("-i", source);
    if (extension === "webm") args.push("-c:v", "libvpx", "-b:v", "200k");
    else if (extension === "ogv") args.push("-c:v", "libtheora");
    else if (spec.ramp)
      args.push("-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p");
    else args.push("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p");
    if (spec.empty) args.push("-frames:v", "0");
  }
  if (spec.rotate) {
    // ffmpeg 5.1 writes the display matrix only when stream-copying with the rotate tag.
    const plain = `${path}.plain.${extension}`;
    await run("ffmpeg", [...args, plain]);
    await run("ffmpeg", [
      "-v",
      "error",
      "-y",
      "-i",
      plain,
      "-c",
      "copy",
      "-metadata:s:v:0",
      `rotate=${spec.rotate}`,
      path,
    ]);
    return path;
  }
  args.push(path);
  await run("ffmpeg", args);
  return path;
}

/** A PDF of `pages` pages (A4 by default) with a heading, lines of text and a coloured box on each. */
export async function makePdf(pages: number, size: [number, number] = [595.28, 841.89]): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (let p = 1; p <= pages; p++) {
    const page = doc.addPage(size);
    page.drawText(`Page ${p}`, { x: 40, y: size[1] - 60, size: 28, font });
    for (let i = 0; i < 30; i++) {
      page.drawText(`Line ${i + 1}: the quick brown fox jumps over the lazy dog.`, {
        x: 40,
        y: size[1] - 100 - i * 16,
        size: 11,
        font,
      });
    }
    page.drawRectangle({ x: 40, y: 40, width: 200, height: 80, color: rgb(0.1, 0.3, 0.9) });
  }
  return await doc.save();
}

const XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
const PML = "http://schemas.openxmlformats.org/presentationml/2006/main";
const DML = "http://schemas.openxmlformats.org/drawingml/2006/main";
const REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships";

/** A minimal PPTX with one text slide per entry (written as a ZIP by code). */
export function makePptx(slides: string[]): Uint8Array {
  const slideOverrides = slides
    .map(
      (_, i) =>
        `<Override PartName="/ppt/slides/slide${i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.slide+xml"/>`,
    )
    .join("");
  const files = [
    {
      name: "[Content_Types].xml",
      data: `${XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/ppt/presentation.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"/>${slideOverrides}</Types>`,
    },
    {
      name: "_rels/.rels",
      data: `${XML}<Relationships xmlns="${PKG_REL}"><Relationship Id="rId1" Type="${REL}/officeDocument" Target="ppt/presentation.xml"/></Relationships>`,
    },
    {
      name: "ppt/presentation.xml",
      data: `${XML}<p:presentation xmlns:a="${DML}" xmlns:r="${REL}" xmlns:p="${PML}"><p:sldIdLst>${slides
        .map((_, i) => `<p:sldId id="${256 + i}" r:id="rId${i + 1}"/>`)
        .join(
          "",
        )}</p:sldIdLst><p:sldSz cx="12192000" cy="6858000"/><p:notesSz cx="6858000" cy="9144000"/></p:presentation>`,
    },
    {
      name: "ppt/_rels/presentation.xml.rels",
      data: `${XML}<Relationships xmlns="${PKG_REL}">${slides
        .map(
          (_, i) => `<Relationship Id="rId${i + 1}" Type="${REL}/slide" Target="slides/slide${i + 1}.xml"/>`,
        )
        .join("")}</Relationships>`,
    },
    ...slides.map((text, i) => ({
      name: `ppt/slides/slide${i + 1}.xml`,
      data: `${XML}<p:sld xmlns:a="${DML}" xmlns:r="${REL}" xmlns:p="${PML}"><p:cSld><p:spTree><p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/><p:sp><p:nvSpPr><p:cNvPr id="2" name="Title"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr><p:spPr><a:xfrm><a:off x="838200" y="365125"/><a:ext cx="10515600" cy="1325563"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></p:spPr><p:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:rPr lang="en-US" sz="4400"/><a:t>${text}</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>`,
    })),
  ];
  return writeZip(files);
}

/** A minimal DOCX with one paragraph per entry. */
export function makeDocx(paragraphs: string[]): Uint8Array {
  const W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
  return writeZip([
    {
      name: "[Content_Types].xml",
      data: `${XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`,
    },
    {
      name: "_rels/.rels",
      data: `${XML}<Relationships xmlns="${PKG_REL}"><Relationship Id="rId1" Type="${REL}/officeDocument" Target="word/document.xml"/></Relationships>`,
    },
    {
      name: "word/document.xml",
      data: `${XML}<w:document xmlns:w="${W}"><w:body>${paragraphs
        .map((p) => `<w:p><w:r><w:t>${p}</w:t></w:r></w:p>`)
        .join("")}</w:body></w:document>`,
    },
  ]);
}

/** An ODP-looking archive (mimetype entry stored first), for type detection only. */
export function makeOdpShell(): Uint8Array {
  return writeZip([
    { name: "mimetype", data: "application/vnd.oasis.opendocument.presentation", store: true },
    { name: "content.xml", data: "<office:document-content/>" },
  ]);
}

/** An OLE2 (legacy Office) header followed by a directory entry name, for type detection only. */
export function makeOleShell(streamName: "PowerPoint Document" | "WordDocument"): Uint8Array {
  const bytes = new Uint8Array(1024);
  bytes.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
  for (let i = 0; i < streamName.length; i++) bytes[512 + i * 2] = streamName.charCodeAt(i);
  return bytes;
}

/** The RGB value at (x, y) of a PreparedImage-like buffer. */
export function pixelAt(
  image: { width: number; data: Uint8Array },
  x: number,
  y: number,
): [number, number, number] {
  const o = (y * image.width + x) * 3;
  return [image.data[o], image.data[o + 1], image.data[o + 2]];
}
