/**
 * Media pipeline benchmarks (issue 4). Each case is timed against a reference measured in the same run:
 *   1. 4000×3000 JPEG → model-ready RGB (prepareImage) vs sharp's bare decode of the same file; goal < 60 ms.
 *   2. 10-page A4 PDF at 180 dpi (preparePdf, no token budget) vs `pdftoppm -r 180 -png`; goal ≤ 1.5×.
 *   3. 60-s 1280×720 30 fps H.264 video, GLM-4.1V rule (2 fps → 120 frames) vs `ffmpeg -vf fps=2` to raw RGB;
 *      goal ≤ 1.5×.
 * Inputs are generated into bench/out/ (git-ignored) on first run. Prints a Markdown section for
 * docs/benchmarks.md.  Usage: npm run bench:media [-- --runs N]
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { PDFDocument, rgb, StandardFonts } from "pdf-lib";
import sharp from "sharp";
import { prepareImage } from "../src/media/image.ts";
import { preparePdf } from "../src/media/pdf.ts";
import { prepareVideo } from "../src/media/video.ts";

const run = promisify(execFile);
const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const RUNS = Math.max(1, Number(values.runs));
const OUT = join(import.meta.dirname, "out");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * Times glmv and its reference alternately (ours, reference, ours, ...) so that load from other processes on a
 * shared machine hits both alike; returns the medians.
 */
async function timePair(
  ours: () => Promise<unknown>,
  reference: () => Promise<unknown>,
  runs: number,
): Promise<[number, number]> {
  await ours();
  await reference();
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    await ours();
    a.push(performance.now() - t);
    t = performance.now();
    await reference();
    b.push(performance.now() - t);
  }
  return [median(a), median(b)];
}

/** A photo-like 4000×3000 JPEG (smooth shapes, gradients, mild sensor noise), quality 90. */
async function makePhoto(): Promise<Uint8Array> {
  const w = 4000;
  const h = 3000;
  const raw = Buffer.alloc(w * h * 3);
  let seed = 12345;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const n = ((seed >> 16) & 15) - 8;
      const o = (y * w + x) * 3;
      raw[o] = Math.max(0, Math.min(255, 128 + 100 * Math.sin(x / 97) * Math.cos(y / 131) + n));
      raw[o + 1] = Math.max(0, Math.min(255, (y * 255) / h + n));
      raw[o + 2] = Math.max(0, Math.min(255, 128 + 120 * Math.sin((x + y) / 50) + n));
    }
  }
  return new Uint8Array(
    await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
      .jpeg({ quality: 90 })
      .toBuffer(),
  );
}

async function makeTenPagePdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  for (let p = 1; p <= 10; p++) {
    const page = doc.addPage([595.28, 841.89]);
    page.drawText(`Quarterly report, page ${p}`, { x: 50, y: 780, size: 22, font: bold });
    for (let i = 0; i < 45; i++) {
      page.drawText(
        `${i + 1}. Revenue grew in every region; costs fell as the new process rolled out (${p}.${i}).`,
        {
          x: 50,
          y: 740 - i * 14,
          size: 10,
          font,
        },
      );
    }
    for (let b = 0; b < 6; b++) {
      page.drawRectangle({
        x: 60 + b * 80,
        y: 60,
        width: 50,
        height: 20 + b * 15,
        color: rgb(0.1 * b, 0.4, 0.8),
      });
    }
  }
  return await doc.save();
}

async function ensureVideo(path: string): Promise<void> {
  if (existsSync(path)) return;
  await run("ffmpeg", [
    "-v",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=1280x720:rate=30:duration=60",
    "-c:v",
    "libx264",
    "-preset",
    "veryfast",
    "-pix_fmt",
    "yuv420p",
    path,
  ]);
}

/** `ffmpeg -i in -vf fps=2` to raw RGB on a pipe, read fully: the plain extraction of the same 120 frames. */
function plainFfmpeg(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("ffmpeg", [
      "-nostdin",
      "-v",
      "error",
      "-i",
      path,
      "-vf",
      "fps=2",
      "-f",
      "rawvideo",
      "-pix_fmt",
      "rgb24",
      "pipe:1",
    ]);
    let bytes = 0;
    child.stdout.on("data", (c: Buffer) => {
      bytes += c.length;
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(bytes / (1280 * 720 * 3)) : reject(new Error(`ffmpeg exit ${code}`)),
    );
  });
}

const rows: string[] = [];
const fmt = (ms: number) => `${ms.toFixed(ms < 100 ? 1 : 0)} ms`;
function row(name: string, ours: number, ref: number, refName: string, goal: string) {
  rows.push(`| ${name} | ${fmt(ours)} | ${fmt(ref)} (${refName}) | ${(ours / ref).toFixed(2)}× | ${goal} |`);
  console.error(`${name}: ${fmt(ours)} vs ${fmt(ref)} → ${(ours / ref).toFixed(2)}×`);
}

const loadAtStart = os.loadavg()[0];
await mkdir(OUT, { recursive: true });

// 1. JPEG
const photo = await makePhoto();
const [ours1, ref1] = await timePair(
  () => prepareImage(photo, { family: "glm-4.6v" }),
  () => sharp(photo).raw().toBuffer(),
  RUNS * 4,
);
const grid = await prepareImage(photo, { family: "glm-4.6v" });
row(
  `4000×3000 JPEG (${(photo.length / 1e6).toFixed(1)} MB) → ${grid.width}×${grid.height} RGB`,
  ours1,
  ref1,
  "sharp decode only",
  "< 60 ms",
);

// 2. PDF
const pdf = await makeTenPagePdf();
const pdfPath = join(OUT, "ten-pages.pdf");
await writeFile(pdfPath, pdf);
const tmp = await mkdtemp(join(os.tmpdir(), "glmv-bench-"));
const [ours2, ref2] = await timePair(
  () => preparePdf(pdf, { dpi: 180, maxTokens: Number.POSITIVE_INFINITY }),
  () => run("pdftoppm", ["-r", "180", "-png", pdfPath, join(tmp, "page")]),
  RUNS,
);
row("10-page A4 PDF at 180 dpi → 10 × 1484×2100 RGB", ours2, ref2, "pdftoppm -r 180 -png", "≤ 1.5×");

// 3. Video
const videoPath = join(OUT, "sixty-seconds-720p.mp4");
await ensureVideo(videoPath);
const frames = await plainFfmpeg(videoPath);
const [ours3, ref3] = await timePair(
  () => prepareVideo(videoPath, { family: "glm-4.1v-thinking" }),
  () => plainFfmpeg(videoPath),
  RUNS,
);
const video = await prepareVideo(videoPath, { family: "glm-4.1v-thinking" });
const f0 = video.pairs[0].frames[0];
row(
  `60-s 1280×720 30 fps video, GLM-4.1V rule → ${video.pairs.length * 2} frames at ${f0.width}×${f0.height}`,
  ours3,
  ref3,
  `ffmpeg -vf fps=2 → ${frames} raw RGB frames`,
  "≤ 1.5×",
);
await rm(tmp, { recursive: true, force: true });

const cpu = os.cpus()[0]?.model ?? "unknown CPU";
console.log(`## Media pipeline (issue 4)
- date: ${new Date().toISOString().slice(0, 10)}, machine: ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, load ${loadAtStart.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end, node: ${process.version}
- command: \`npm run bench:media -- --runs ${RUNS}\` (medians; ffmpeg ${(await run("ffmpeg", ["-version"])).stdout.split("\n")[0].split(" ")[2]}, pdftoppm from poppler-utils)

| case | glmv | reference | ratio (glmv / reference) | goal |
|---|---:|---:|---:|---|
${rows.join("\n")}`);
