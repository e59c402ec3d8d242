/**
 * Which frames of a video GLM-V sees (spec §7), as pure functions of the video's metadata:
 * the GLM-4.1V rule (2 fps up to 300 s, evenly spaced beyond) and the GLM-4.6V rule (3 / 1 / 0.5 fps by
 * duration, 2400 s and 640 frames at most). Both de-duplicate and end with an even count.
 */
import type { FamilyId } from "../protocol/families.ts";
import { TEMPORAL_FACTOR } from "./smart-resize.ts";

/** What sampling needs to know about a video. */
export interface VideoTiming {
  /** Frames in the stream (counted or estimated). */
  totalFrames: number;
  /** Average frame rate; undefined when the container does not say. */
  fps?: number;
  /** Duration in seconds; undefined or 0 when unknown. */
  duration?: number;
}

/** The frame-rate GLM-4.1V's processor assumes when the metadata has none (spec §7). */
export const ASSUMED_FPS = 24;

/** Which sampling rule a family uses: the 4.1V processor (4.1V, 4.5V) or the 4.6V one (4.6V, Flash). */
export type SamplingRule = "glm-4.1v" | "glm-4.6v";

/** The sampling rule of a family. GLM-OCR takes no video; it gets the 4.1V rule if asked. */
export function samplingRuleOf(family: FamilyId): SamplingRule {
  return family === "glm-4.6v" || family === "glm-4.6v-flash" ? "glm-4.6v" : "glm-4.1v";
}

/** numpy's `linspace(start, stop, num, dtype=int)`: evenly spaced floats, both ends included, truncated. */
export function linspaceInt(start: number, stop: number, num: number): number[] {
  if (num <= 0) return [];
  if (num === 1) return [Math.trunc(start)];
  const step = (stop - start) / (num - 1);
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(Math.trunc(i === num - 1 ? stop : i * step + start));
  return out;
}

/** Removes repeated indices keeping first occurrences in order, then repeats the last one if the count is odd. */
export function dedupeEven(indices: number[]): number[] {
  const seen = new Set<number>();
  const unique: number[] = [];
  for (const i of indices) {
    if (!seen.has(i)) {
      seen.add(i);
      unique.push(i);
    }
  }
  if (unique.length % 2 === 1) unique.push(unique[unique.length - 1]);
  return unique;
}

function durationOf(t: VideoTiming, fps: number): number {
  return t.duration || Math.round((t.totalFrames - 1) / fps) + 1;
}

/**
 * GLM-4.1V: `floor(duration·fps)` frames at `ceil(i·video_fps/fps)` up to `maxDuration` seconds; beyond it
 * `maxDuration·fps` instants spread evenly over the whole video (or every frame when there are fewer).
 */
export function sampleGlm41v(t: VideoTiming, options: { fps?: number; maxDuration?: number } = {}): number[] {
  const wanted = options.fps ?? 2;
  const maxDuration = options.maxDuration ?? 300;
  const videoFps = t.fps || ASSUMED_FPS;
  const last = t.totalFrames - 1;
  const duration = durationOf(t, videoFps);
  let indices: number[];
  if (duration <= maxDuration) {
    const n = Math.floor(duration * wanted);
    indices = [];
    for (let i = 0; i < n; i++) indices.push(Math.min(last, Math.ceil((i * videoFps) / wanted)));
  } else {
    const samples = Math.trunc(maxDuration * wanted);
    if (samples >= t.totalFrames) {
      indices = Array.from({ length: t.totalFrames }, (_, i) => i);
    } else {
      indices = [];
      const step = duration / (samples - 1);
      for (let i = 0; i < samples; i++) {
        const seconds = i === samples - 1 ? duration : i * step;
        indices.push(Math.min(last, Math.ceil(seconds * videoFps)));
      }
    }
  }
  return dedupeEven(indices);
}

/**
 * GLM-4.6V: target rate 3 fps up to 30 s, 1 fps up to 300 s, 0.5 fps beyond, counted in frames as
 * `rate × 2` per second of (at most 2400 s of) video, capped at 640 frames; walks the frames by timestamp and
 * falls back to even spacing when the walk gives too few or too many.
 */
export function sampleGlm46v(t: VideoTiming): number[] {
  const videoFps = t.fps || ASSUMED_FPS;
  const total = t.totalFrames;
  const duration = durationOf(t, videoFps);
  const effective = Math.min(duration, 2400);
  const rate = effective <= 30 ? 3 : effective <= 300 ? 1 : 0.5;
  const extract = Math.min(Math.trunc(effective * rate * TEMPORAL_FACTOR), 640);
  let indices: number[];
  if (total < extract) {
    indices = linspaceInt(0, total - 1, extract);
  } else {
    indices = [];
    const maxSecond = Math.trunc(duration);
    const interval = 1 / (TEMPORAL_FACTOR * rate);
    let next = 0;
    for (let i = 0; i < total; i++) {
      if (i * (1 / videoFps) >= next) {
        next += interval;
        indices.push(i);
        if (next >= maxSecond) break;
      }
    }
    if (indices.length < 3) indices = linspaceInt(0, total - 1, extract);
    if (indices.length < extract) indices = linspaceInt(indices[0], indices[indices.length - 1], extract);
    else if (indices.length > extract) indices = linspaceInt(0, total - 1, extract);
  }
  if (indices.length % TEMPORAL_FACTOR !== 0) indices.push(indices[indices.length - 1]);
  return dedupeEven(indices);
}

/**
 * The frame indices a family's processor samples. Never empty for a video with at least one frame: a clip too
 * short for the rule (under half a second at 2 fps) gets its first frame, twice.
 */
export function sampleFrameIndices(
  family: FamilyId,
  t: VideoTiming,
  options: { fps?: number } = {},
): number[] {
  if (t.totalFrames < 1) return [];
  const indices = samplingRuleOf(family) === "glm-4.6v" ? sampleGlm46v(t) : sampleGlm41v(t, options);
  return indices.length > 0 ? indices : [0, 0];
}

/** Timestamp text after each pair: one rule for the whole project, in the protocol core (spec §7). */
export { pythonFixed1, videoTimestampText } from "../protocol/video.ts";
