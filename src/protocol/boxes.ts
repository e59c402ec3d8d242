/**
 * Grounding boxes and points (spec §4.2) and the reward system's box extraction (spec §11.2).
 *
 * GLM-V writes coordinates in thousandths of the original image (0–999) inside
 * `<|begin_of_box|>…<|end_of_box|>`, in varying bracket styles: `[x1,y1,x2,y2]`, `[[…]]`, `(…)`, `<…>`,
 * `{…}`, `<bbox>x1 y1 x2 y2</bbox>`, lists of boxes, and points `[x,y]`.
 */
import type { Box } from "./types.ts";

/** The box-token strings. They stay in `content` as literal text (spec §4.4). */
export const BOX_BEGIN = "<|begin_of_box|>";
/** See {@link BOX_BEGIN}. */
export const BOX_END = "<|end_of_box|>";

/** An image size in pixels. */
export interface ImageSize {
  width: number;
  height: number;
}

/** A box or point in pixels of the original image. */
export type PixelBox = { x1: number; y1: number; x2: number; y2: number } | { x: number; y: number };

const NUMBER = String.raw`[-+]?\d+(?:\.\d+)?`;
const NUMBER_LIST = String.raw`${NUMBER}(?:\s*[,\s]\s*${NUMBER})*`;
const CLOSERS: Record<string, string> = { "[": "]", "(": ")", "<": ">", "{": "}" };
/** Innermost groups: `<bbox>…</bbox>`, or a bracket pair holding only numbers. */
const GROUP_RE = new RegExp(
  String.raw`<bbox>\s*(${NUMBER_LIST})\s*</bbox>|([\[(<{])\s*(${NUMBER_LIST})\s*([\])>}])`,
  "g",
);

function numbersOf(list: string): number[] {
  return list
    .split(/[\s,]+/)
    .filter((s) => s !== "")
    .map(Number);
}

function toBox(numbers: number[]): Box | null {
  if (numbers.length === 4) {
    const [x1, y1, x2, y2] = numbers;
    return { x1, y1, x2, y2 };
  }
  if (numbers.length === 2) {
    const [x, y] = numbers;
    return { x, y };
  }
  return null;
}

/**
 * Reads every box (4 numbers) and point (2 numbers) from a coordinate text, in order of appearance,
 * whatever the bracket style or nesting: `[[1,2,3,4],[5,6,7,8]]` gives two boxes, `((1,2),(3,4))` two
 * points, `box_2d: [[…]]` and `start_box='[x,y]'` work too. A text that is only numbers (`1, 2, 3, 4`)
 * counts as one group. Groups of other sizes are skipped. Values are returned as written (no clamping).
 */
export function parseCoordinates(text: string): Box[] {
  const boxes: Box[] = [];
  for (const match of text.matchAll(GROUP_RE)) {
    let list: string;
    if (match[1] !== undefined) list = match[1];
    else {
      if (CLOSERS[match[2]] !== match[4]) continue; // mismatched pair such as "[1,2)"
      list = match[3];
    }
    const box = toBox(numbersOf(list));
    if (box) boxes.push(box);
  }
  if (boxes.length === 0) {
    const bare = new RegExp(String.raw`^\s*(${NUMBER_LIST})\s*$`).exec(text);
    const box = bare ? toBox(numbersOf(bare[1])) : null;
    if (box) boxes.push(box);
  }
  return boxes;
}

/** The raw inner texts of every `<|begin_of_box|>…<|end_of_box|>` pair, in order (non-nested scan). */
export function boxSpans(text: string): string[] {
  const spans: string[] = [];
  let pos = 0;
  for (;;) {
    const begin = text.indexOf(BOX_BEGIN, pos);
    if (begin === -1) break;
    const start = begin + BOX_BEGIN.length;
    const end = text.indexOf(BOX_END, start);
    if (end === -1) break;
    spans.push(text.slice(start, end));
    pos = end + BOX_END.length;
  }
  return spans;
}

/**
 * The grounding boxes and points inside the box tokens of a text, in order (what `ParsedOutput.boxes`
 * holds). Coordinates outside box tokens are ignored; use {@link findCoordinatesNearEnd} for text whose
 * box tokens were stripped by `skip_special_tokens`.
 */
export function findBoxes(text: string): Box[] {
  return boxSpans(text).flatMap(parseCoordinates);
}

/**
 * Coordinates anywhere in the last `window` characters of a text (the reference helper looks at the last
 * 2,000). For outputs whose box tokens were removed; prefer {@link findBoxes} when the tokens are present.
 */
export function findCoordinatesNearEnd(text: string, window = 2000): Box[] {
  return parseCoordinates(text.slice(Math.max(0, text.length - window)));
}

/** Python's `round()`: halves go to the even neighbour (2.5 → 2, 3.5 → 4). */
export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function checkSize(size: ImageSize): void {
  if (!(size.width > 0 && size.height > 0) || !Number.isFinite(size.width) || !Number.isFinite(size.height)) {
    throw new RangeError(`image size must be positive, got ${size.width}x${size.height}`);
  }
}

const clampThousandths = (v: number) => Math.min(999, Math.max(0, v));

/**
 * Thousandths → pixels of the original image (spec §4.2): clamp each value to [0, 999], then
 * `round(v / 1000 · W)` for x and `round(v / 1000 · H)` for y (Python rounding).
 * Example: 1920×1080, [250,100,750,900] → [480,108,1440,972].
 */
export function toPixels(box: Box, size: ImageSize): PixelBox {
  checkSize(size);
  const px = (v: number) => roundHalfEven((clampThousandths(v) / 1000) * size.width);
  const py = (v: number) => roundHalfEven((clampThousandths(v) / 1000) * size.height);
  if ("x" in box) return { x: px(box.x), y: py(box.y) };
  return { x1: px(box.x1), y1: py(box.y1), x2: px(box.x2), y2: py(box.y2) };
}

/** Pixels → thousandths (the inverse of {@link toPixels}): `round(p / W · 1000)`, clamped to [0, 999]. */
export function toThousandths(box: PixelBox, size: ImageSize): Box {
  checkSize(size);
  const tx = (v: number) => clampThousandths(roundHalfEven((v / size.width) * 1000));
  const ty = (v: number) => clampThousandths(roundHalfEven((v / size.height) * 1000));
  if ("x" in box) return { x: tx(box.x), y: ty(box.y) };
  return { x1: tx(box.x1), y1: ty(box.y1), x2: tx(box.x2), y2: ty(box.y2) };
}

/** The centre of a box (a GUI click on a box targets it), or the point itself. */
export function boxCenter(box: Box): { x: number; y: number } {
  if ("x" in box) return { x: box.x, y: box.y };
  return { x: (box.x1 + box.x2) / 2, y: (box.y1 + box.y2) / 2 };
}

/**
 * The reward system's answer-box extraction (spec §11.2), returning every result:
 * 1. if the text contains `\boxed{`, the content of every top-level `\boxed{…}`, brace-matched (nested
 *    braces and boxes stay as text; an unclosed one is ignored);
 * 2. otherwise the trimmed content of each outermost `<|begin_of_box|>…<|end_of_box|>` pair, stack-matched;
 *    unmatched tokens are ignored.
 */
export function extractBoxContents(text: string): string[] {
  if (text.includes("\\boxed{")) return boxedContents(text);
  const results: string[] = [];
  const stack: number[] = [];
  const tokenRe = /<\|begin_of_box\|>|<\|end_of_box\|>/g;
  for (const match of text.matchAll(tokenRe)) {
    if (match[0] === BOX_BEGIN) stack.push(match.index + BOX_BEGIN.length);
    else if (stack.length > 0) {
      const start = stack.pop()!;
      if (stack.length === 0) results.push(text.slice(start, match.index).trim());
    }
  }
  return results;
}

function boxedContents(text: string): string[] {
  const results: string[] = [];
  const marker = "\\boxed{";
  let pos = 0;
  for (;;) {
    const at = text.indexOf(marker, pos);
    if (at === -1) break;
    const start = at + marker.length;
    let depth = 1;
    let i = start;
    for (; i < text.length && depth > 0; i++) {
      if (text[i] === "{") depth++;
      else if (text[i] === "}") depth--;
    }
    if (depth !== 0) break; // unclosed: nothing more can close
    results.push(text.slice(start, i - 1));
    pos = i;
  }
  return results;
}

/**
 * The single boxed answer of a text (spec §11.2 extractors): exactly one result from
 * {@link extractBoxContents}, trimmed; null when there is none or more than one.
 */
export function extractBoxedAnswer(text: string): string | null {
  const results = extractBoxContents(text);
  return results.length === 1 ? results[0].trim() : null;
}
