/**
 * PDF → page images with pdf.js (pdfjs-dist) on @napi-rs/canvas: page ranges, a page and token budget with a
 * note of what was left out, and each page rendered straight at its GLM-V grid size (one rasterisation, no
 * second resampling pass).
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCanvas } from "@napi-rs/canvas";
import type { FamilyId } from "../protocol/families.ts";
import { MediaError } from "./errors.ts";
import { type GridSize, gridTokens, imageBudget, type PixelBudget, smartResize } from "./smart-resize.ts";
import type { PreparedDocument, PreparedImage } from "./types.ts";

/** Reference demo resolution (spec §8). */
export const DEFAULT_DPI = 180;
/** Desktop helper's page limit (spec §8). */
export const DEFAULT_MAX_PAGES = 60;
/** Desktop helper's token budget (spec §8). */
export const DEFAULT_MAX_TOKENS = 24_000;
/** Default time limit for one document. */
export const DEFAULT_PDF_TIMEOUT_MS = 120_000;
/** Per-page pixel cap when the budget is not exceeded (spec §8: 33,177,600). */
export const MAX_PAGE_PIXELS = 33_177_600;
/** Per-page pixel cap once the token budget is exceeded (spec §8). */
export const BUDGET_PAGE_PIXELS = 400_000;

/** Options of {@link preparePdf}. */
export interface DocumentOptions {
  /** Family whose image budget applies to each page (default glm-4.6v). */
  family?: FamilyId;
  /** Explicit per-image budget (checkpoint's preprocessor_config.json). */
  budget?: PixelBudget;
  /** Rendering resolution (default 180). */
  dpi?: number;
  /** 1-based pages to render: "1-3,5,9-" or a list. Default: all. */
  pages?: string | number[];
  /** Most pages rendered (default 60); further requested pages are left out with a note. */
  maxPages?: number;
  /** Token budget for all pages (default 24,000; Infinity renders every page at full dpi). */
  maxTokens?: number;
  /** How errors and notes name the input. */
  input?: string;
  /** Checked between pages: aborting stops rendering with the signal's reason. */
  signal?: AbortSignal;
  /** Time limit for opening and rendering the whole document (default 120 s). */
  timeoutMs?: number;
}

/** A page size in PDF points (1/72 inch), after the page's /Rotate. */
export interface PageSize {
  width: number;
  height: number;
}

/** One page of a render plan. */
export interface PlannedPage {
  /** 1-based page number. */
  page: number;
  /** Raster size the page stands for (at dpi, or downscaled for the budget). */
  width: number;
  height: number;
  /** The GLM-V grid it is rendered at. */
  grid: GridSize;
}

/** Which pages to render at which size, and what was left out. */
export interface PagePlan {
  pages: PlannedPage[];
  leftOut: number[];
  tokens: number;
  /** True when pages were scaled below the requested dpi to fit the token budget. */
  downscaled: boolean;
  note?: string;
}

/**
 * Parses a 1-based page selection such as "1-3,5,9-" ("9-" = 9 to the end) against the page count.
 * Throws MediaError (`bad-page-range`) for malformed or out-of-range selections. Duplicates are dropped.
 */
export function parsePageRange(spec: string | number[], totalPages: number, input = "document"): number[] {
  const bad = (why: string) =>
    new MediaError(
      "bad-page-range",
      input,
      `${why} (the document has ${totalPages} page${totalPages === 1 ? "" : "s"})`,
      'Write pages as 1-based numbers and ranges, e.g. "1-3,5,9-".',
    );
  const out: number[] = [];
  const add = (n: number) => {
    if (!Number.isInteger(n) || n < 1 || n > totalPages) throw bad(`page ${n} does not exist`);
    if (!out.includes(n)) out.push(n);
  };
  if (Array.isArray(spec)) {
    spec.forEach(add);
  } else {
    for (const part of spec.split(",").map((p) => p.trim())) {
      const m = /^(\d+)?\s*(-)?\s*(\d+)?$/.exec(part);
      if (!part || !m || (!m[1] && !m[3])) throw bad(`"${part}" is not a page or range`);
      const from = m[1] ? Number(m[1]) : 1;
      const to = m[2] ? (m[3] ? Number(m[3]) : totalPages) : from;
      if (to < from) throw bad(`range "${part}" runs backwards`);
      if (from < 1 || from > totalPages) throw bad(`page ${from} does not exist`);
      if (to > totalPages) throw bad(`page ${to} does not exist`);
      for (let n = from; n <= to; n++) add(n);
    }
  }
  if (out.length === 0) throw bad("no pages selected");
  return out;
}

/** Compact text for page lists: [1,2,3,5] → "1-3, 5". */
export function formatPageList(pages: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < pages.length; i++) {
    let j = i;
    while (j + 1 < pages.length && pages[j + 1] === pages[j] + 1) j++;
    parts.push(i === j ? `${pages[i]}` : `${pages[i]}-${pages[j]}`);
    i = j;
  }
  return parts.join(", ");
}

/**
 * Plans a render (pure): pages by selection, then the page limit, then the token budget as the desktop helper
 * does it: if all pages at dpi exceed `maxTokens`, each page is scaled down to at most
 * `min(400,000, floor(maxTokens·784/pages))` pixels. Pages still beyond the budget (over 5% past it after grid
 * rounding) are left out from the end.
 */
export function planPages(sizes: PageSize[], options: DocumentOptions = {}): PagePlan {
  const input = options.input ?? "document";
  const dpi = options.dpi ?? DEFAULT_DPI;
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  const maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
  const budget = options.budget ?? imageBudget(options.family ?? "glm-4.6v");
  if (!(dpi > 0 && dpi <= 1200)) {
    throw new MediaError(
      "invalid-argument",
      input,
      `dpi ${dpi} is out of range`,
      "Use a dpi between 1 and 1200.",
    );
  }
  const selected =
    options.pages === undefined
      ? sizes.map((_, i) => i + 1)
      : parsePageRange(options.pages, sizes.length, input);
  const kept = selected.slice(0, Math.max(1, maxPages));
  const leftOut = selected.slice(kept.length);
  const raster = (page: number) => {
    const s = sizes[page - 1];
    let width = Math.max(1, Math.round((s.width * dpi) / 72));
    let height = Math.max(1, Math.round((s.height * dpi) / 72));
    if (width * height > MAX_PAGE_PIXELS) {
      const f = Math.sqrt(MAX_PAGE_PIXELS / (width * height));
      width = Math.max(1, Math.floor(width * f));
      height = Math.max(1, Math.floor(height * f));
    }
    return { width, height };
  };
  const plan = (pages: number[], cap: number): PlannedPage[] =>
    pages.map((page) => {
      let { width, height } = raster(page);
      if (width * height > cap) {
        const f = Math.sqrt(cap / (width * height));
        width = Math.max(1, Math.floor(width * f));
        height = Math.max(1, Math.floor(height * f));
      }
      return { page, width, height, grid: smartResize(height, width, budget, `${input} page ${page}`) };
    });
  const total = (pages: PlannedPage[]) => pages.reduce((n, p) => n + gridTokens(p.grid), 0);
  let pages = plan(kept, Number.POSITIVE_INFINITY);
  let downscaled = false;
  if (total(pages) > maxTokens) {
    downscaled = true;
    let count = kept.length;
    for (;;) {
      const cap = Math.min(BUDGET_PAGE_PIXELS, Math.floor((maxTokens * 784) / count));
      pages = plan(kept.slice(0, count), cap);
      if (total(pages) <= maxTokens * 1.05 || count === 1) break;
      count--;
    }
    leftOut.unshift(...kept.slice(pages.length));
  }
  const notes: string[] = [];
  if (leftOut.length > 0) {
    notes.push(
      `Pages ${formatPageList(leftOut)} of ${input} were left out to stay within ${maxPages} pages and about ${maxTokens} tokens; ask for them with a page range.`,
    );
  }
  if (downscaled) {
    notes.push(
      `Pages of ${input} were rendered below ${dpi} dpi to fit the budget of about ${maxTokens} tokens.`,
    );
  }
  return {
    pages,
    leftOut,
    tokens: total(pages),
    downscaled,
    note: notes.length ? notes.join(" ") : undefined,
  };
}

type PdfJs = typeof import("pdfjs-dist/legacy/build/pdf.mjs");
let pdfjsPromise: Promise<PdfJs> | undefined;
function loadPdfJs(): Promise<PdfJs> {
  pdfjsPromise ??= import("pdfjs-dist/legacy/build/pdf.mjs");
  return pdfjsPromise;
}

function assetDir(name: string): string {
  const pkg = fileURLToPath(import.meta.resolve("pdfjs-dist/package.json"));
  return `${join(dirname(pkg), name)}/`;
}

/** Copies canvas RGBA (opaque after the white fill) into RGB, compositing any leftover alpha on white. */
function rgbaToRgb(rgba: Uint8Array | Uint8ClampedArray, pixels: number): Uint8Array {
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0, j = 0, k = 0; i < pixels; i++, j += 4, k += 3) {
    const a = rgba[j + 3];
    if (a === 255) {
      rgb[k] = rgba[j];
      rgb[k + 1] = rgba[j + 1];
      rgb[k + 2] = rgba[j + 2];
    } else {
      const w = 255 - a;
      rgb[k] = (rgba[j] * a + 255 * w + 127) / 255;
      rgb[k + 1] = (rgba[j + 1] * a + 255 * w + 127) / 255;
      rgb[k + 2] = (rgba[j + 2] * a + 255 * w + 127) / 255;
    }
  }
  return rgb;
}

/**
 * Renders a PDF to page images per the plan rules (dpi, range, page and token budget). Each page is drawn
 * directly at its grid size. Throws MediaError for corrupt or password-protected files and bad page ranges.
 */
export async function preparePdf(
  bytes: Uint8Array,
  options: DocumentOptions = {},
): Promise<PreparedDocument> {
  const input = options.input ?? "PDF";
  const pdfjs = await loadPdfJs();
  const task = pdfjs.getDocument({
    data: new Uint8Array(bytes),
    standardFontDataUrl: assetDir("standard_fonts"),
    cMapUrl: assetDir("cmaps"),
    cMapPacked: true,
    wasmUrl: assetDir("wasm"),
    iccUrl: assetDir("iccs"),
    useSystemFonts: false,
    verbosity: 0,
  });
  const timeoutMs = options.timeoutMs ?? DEFAULT_PDF_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const timeout = () =>
    new MediaError(
      "timeout",
      input,
      `rendering did not finish within ${timeoutMs} ms`,
      "Choose fewer pages or a lower dpi, or check the file (it may be built to be slow).",
    );
  /** Waits for a pdf.js promise until the deadline; on expiry calls `cancel` and throws the timeout error. */
  const withDeadline = async <T>(promise: Promise<T>, cancel: () => unknown): Promise<T> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let expired = false;
    const expiry = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => {
          expired = true;
          cancel();
          reject(timeout());
        },
        Math.max(0, deadline - Date.now()),
      );
    });
    try {
      return await Promise.race([promise, expiry]);
    } catch (error) {
      if (expired) throw timeout();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  };
  let doc: Awaited<typeof task.promise>;
  try {
    doc = await withDeadline(task.promise, () => task.destroy());
  } catch (cause) {
    if (cause instanceof MediaError) throw cause;
    const name = (cause as Error)?.name ?? "";
    if (name === "PasswordException") {
      throw new MediaError(
        "encrypted",
        input,
        "this PDF is password-protected",
        "Remove the password (e.g. print to a new PDF) and try again.",
        { cause },
      );
    }
    throw new MediaError(
      "corrupt",
      input,
      `this PDF cannot be read (${(cause as Error)?.message ?? cause})`,
      "Check that the file is a complete PDF; re-export it if needed.",
      { cause },
    );
  }
  try {
    // Only the pages that can be rendered are opened (a huge document costs no more than its first 60 pages).
    const selected =
      options.pages === undefined
        ? Array.from({ length: doc.numPages }, (_, i) => i + 1)
        : parsePageRange(options.pages, doc.numPages, input);
    const candidates = selected.slice(0, Math.max(1, options.maxPages ?? DEFAULT_MAX_PAGES));
    const sizes: PageSize[] = Array.from({ length: doc.numPages }, () => ({ width: 0, height: 0 }));
    const viewports = new Map<number, ReturnType<Awaited<ReturnType<typeof doc.getPage>>["getViewport"]>>();
    for (const n of candidates) {
      const page = await withDeadline(doc.getPage(n), () => undefined);
      const vp = page.getViewport({ scale: 1 });
      sizes[n - 1] = { width: vp.width, height: vp.height };
      viewports.set(n, vp);
    }
    const plan = planPages(sizes, { ...options, pages: selected, input });
    const images: PreparedImage[] = [];
    for (const p of plan.pages) {
      options.signal?.throwIfAborted();
      const page = await withDeadline(doc.getPage(p.page), () => undefined);
      const viewport = viewports.get(p.page)!;
      const canvas = createCanvas(p.grid.width, p.grid.height);
      const context = canvas.getContext("2d");
      context.fillStyle = "#ffffff";
      context.fillRect(0, 0, p.grid.width, p.grid.height);
      try {
        const render = page.render({
          canvas: canvas as never,
          canvasContext: context as never,
          viewport,
          transform: [p.grid.width / viewport.width, 0, 0, p.grid.height / viewport.height, 0, 0],
          background: "#ffffff",
        });
        await withDeadline(render.promise, () => render.cancel());
      } catch (cause) {
        if (cause instanceof MediaError) throw cause;
        throw new MediaError(
          "corrupt",
          input,
          `page ${p.page} cannot be rendered (${(cause as Error)?.message ?? cause})`,
          "Re-export the PDF, or choose other pages.",
          { cause },
        );
      }
      const rgba = context.getImageData(0, 0, p.grid.width, p.grid.height).data;
      images.push({
        kind: "image",
        width: p.grid.width,
        height: p.grid.height,
        data: rgbaToRgb(rgba, p.grid.width * p.grid.height),
        originalWidth: p.width,
        originalHeight: p.height,
      });
      page.cleanup();
    }
    return {
      kind: "document",
      pages: images,
      pageNumbers: plan.pages.map((p) => p.page),
      totalPages: doc.numPages,
      leftOut: plan.leftOut,
      tokens: plan.tokens,
      note: plan.note,
    };
  } finally {
    await task.destroy();
  }
}
