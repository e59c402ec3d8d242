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
}

/** What an engine receives for one media part, in prompt order. */
export type PreparedMedia = PreparedImage | PreparedVideo;
