/**
 * Shared media shapes: what the media pipeline hands to engines.
 * Pixels are 8-bit RGB, row-major, already resized to the model's grid (multiples of 28).
 */

/** One decoded, oriented, RGB image resized to a GLM-V grid. */
export interface PreparedImage {
  kind: "image";
  /** Resized width in pixels (a multiple of 28). */
  width: number;
  /** Resized height in pixels (a multiple of 28). */
  height: number;
  /** RGB bytes, `width * height * 3`, row-major. */
  data: Uint8Array;
  /** Size of the oriented source image, for converting boxes to pixels. */
  originalWidth: number;
  originalHeight: number;
}

/** Two consecutive video frames encoded together (GLM-V's temporal patch of 2). */
export interface FramePair {
  /** Both frames, same size. For a still image both are the same picture. */
  frames: [PreparedImage, PreparedImage];
  /** Seconds from the start of the video of the first frame of the pair. */
  timestamp: number;
}

/** A video sampled into temporal pairs, sized with the video budget. */
export interface PreparedVideo {
  kind: "video";
  pairs: FramePair[];
  /** Duration of the source in seconds. */
  duration: number;
  originalWidth: number;
  originalHeight: number;
  /** A human note when the video lacked frame-rate metadata and 24 fps was assumed; undefined otherwise. */
  note?: string;
}

/** What an engine receives for one media part, in prompt order. */
export type PreparedMedia = PreparedImage | PreparedVideo;

/** A document (PDF, or an office file converted to PDF) rendered to page images, one image part per page. */
export interface PreparedDocument {
  kind: "document";
  /** Rendered pages in order, each resized to its GLM-V grid. */
  pages: PreparedImage[];
  /** 1-based page number of each entry of `pages`. */
  pageNumbers: number[];
  /** Pages in the source document. */
  totalPages: number;
  /** 1-based numbers of requested pages left out by the page or token budget. */
  leftOut: number[];
  /** Visual tokens of all rendered pages (wrapper tokens not counted). */
  tokens: number;
  /** A human note when pages were left out or downscaled to fit the budget; undefined otherwise. */
  note?: string;
}

/** Media handed through untouched, for remote engines (vLLM/SGLang/Z.ai) that do their own preprocessing. */
export interface PassThroughMedia {
  kind: "passthrough";
  /** What the content is. */
  mediaKind: "image" | "video" | "document";
  mimeType: string;
  /** The original http(s) URL when the source was one (not fetched); otherwise undefined. */
  url?: string;
  /** The original bytes when the source was not a URL. */
  bytes?: Uint8Array;
}
