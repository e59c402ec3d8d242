/**
 * Video → GLM-V frame pairs: ffprobe reads the metadata, the family's rule picks the frames
 * (video-sampling.ts), smart_resize with num_frames = T sizes them within the video budget, and one ffmpeg
 * pass decodes, selects and scales exactly those frames to raw RGB.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FamilyId } from "../protocol/families.ts";
import { MediaError } from "./errors.ts";
import { DEFAULT_MAX_INPUT_PIXELS } from "./image.ts";
import { type GridSize, gridTokens, type PixelBudget, smartResize, VIDEO_BUDGETS } from "./smart-resize.ts";
import { FFMPEG, FFPROBE, lastLine, runTool } from "./tools.ts";
import type { FramePair, PreparedImage, PreparedVideo } from "./types.ts";
import { ASSUMED_FPS, sampleFrameIndices, type VideoTiming } from "./video-sampling.ts";

/** What ffprobe says about the first real video stream. */
export interface VideoInfo extends VideoTiming {
  /** Displayed size (after the rotation ffmpeg applies on decode). */
  width: number;
  height: number;
  /** Seconds; 0 when unknown. */
  duration: number;
  codec: string;
  /** Rotation in degrees from the container's display matrix (0 when none). */
  rotation: number;
  /** True when the frame count was estimated from duration × fps (no count in the container). */
  estimatedFrameCount: boolean;
}

/** Options shared by the video functions. */
export interface VideoOptions {
  /** Family whose sampling rule and video budget apply (default glm-4.6v). */
  family?: FamilyId;
  /** Explicit video budget (summed over all frames), e.g. from the checkpoint. */
  budget?: PixelBudget;
  /** GLM-4.1V rule only: frames per second to sample (default 2). */
  fps?: number;
  /** Time limit for each ffprobe/ffmpeg run (default 10 minutes). */
  timeoutMs?: number;
  /** How errors name the input. */
  input?: string;
  /** ffmpeg/ffprobe commands (default GLMV_FFMPEG / GLMV_FFPROBE, else on PATH). */
  ffmpegPath?: string;
  ffprobePath?: string;
  /** Aborting stops ffmpeg/ffprobe; the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Refuse videos whose frames have more pixels than this (default 100 MP, as for images). */
  maxInputPixels?: number;
}

/** The plan for one video: which frames, at which size, with which pair timestamps. */
export interface VideoPlan {
  /** Sampled source frame indices, even count (the last may repeat). */
  indices: number[];
  /** Grid size of every frame. */
  size: GridSize;
  /** Timestamp in seconds of the first frame of each pair. */
  pairTimestamps: number[];
  /** Visual tokens of the whole video (pairs × h̄·w̄/784). */
  tokens: number;
}

const DEFAULT_TIMEOUT_MS = 600_000;

/**
 * Input options for every ffmpeg/ffprobe run: only plain files, and only the container demuxers glmv accepts,
 * so a playlist (HLS, concat) can never make ffmpeg open other files or URLs.
 */
export const INPUT_GUARD = [
  "-protocol_whitelist",
  "file",
  "-format_whitelist",
  "mov,matroska,avi,mpegts,flv,ogg",
];

function parseRate(rate: string | undefined): number | undefined {
  if (!rate) return undefined;
  const [num, den] = rate.split("/").map(Number);
  const value = den ? num / den : num;
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  nb_frames?: string;
  duration?: string;
  disposition?: { attached_pic?: number };
  tags?: { rotate?: string };
  side_data_list?: Array<{ rotation?: number }>;
}

/** Reads a video's metadata with ffprobe. Throws MediaError for missing ffprobe, corrupt files, no video. */
export async function probeVideo(path: string, options: VideoOptions = {}): Promise<VideoInfo> {
  const input = options.input ?? path;
  const result = await runTool(
    FFPROBE,
    ["-v", "error", ...INPUT_GUARD, "-show_streams", "-show_format", "-of", "json", path],
    {
      command: options.ffprobePath,
      timeoutMs: options.timeoutMs ?? 60_000,
      input,
      maxStdout: 4 << 20,
      signal: options.signal,
    },
  );
  if (result.code !== 0) {
    throw new MediaError(
      "corrupt",
      input,
      `ffprobe cannot read this video (${lastLine(result.stderr)})`,
      "Check that the file is a complete, playable video.",
    );
  }
  let parsed: { streams?: ProbeStream[]; format?: { duration?: string } };
  try {
    parsed = JSON.parse(result.stdout.toString());
  } catch {
    throw new MediaError(
      "corrupt",
      input,
      "ffprobe gave unreadable output",
      "Check the ffmpeg installation.",
    );
  }
  const streams = parsed.streams ?? [];
  if (streams.length === 0 && !(Number(parsed.format?.duration) > 0)) {
    throw new MediaError(
      "empty-video",
      input,
      "the file holds no frames (zero length)",
      "Give a video that plays.",
    );
  }
  const stream = streams.find((s) => s.codec_type === "video" && s.disposition?.attached_pic !== 1);
  if (!stream?.width || !stream.height) {
    throw new MediaError(
      "no-video-stream",
      input,
      "this file has no video stream (audio only, or cover art only)",
      "Give a file with a video track.",
    );
  }
  const fps = parseRate(stream.avg_frame_rate) ?? parseRate(stream.r_frame_rate);
  const duration = Number(stream.duration) || Number(parsed.format?.duration) || 0;
  const counted = Number(stream.nb_frames);
  const estimated = !(counted > 0);
  const totalFrames = estimated ? Math.round(duration * (fps ?? 0)) : counted;
  const rotation =
    stream.side_data_list?.find((d) => typeof d.rotation === "number")?.rotation ??
    Number(stream.tags?.rotate ?? 0);
  const quarter = Math.abs(Math.round(rotation / 90)) % 2 === 1;
  if (totalFrames < 1 || duration <= 0) {
    throw new MediaError(
      "empty-video",
      input,
      "the video has no frames (zero length)",
      "Give a video that plays for at least one frame.",
    );
  }
  return {
    width: quarter ? stream.height : stream.width,
    height: quarter ? stream.width : stream.height,
    duration,
    fps,
    totalFrames,
    codec: stream.codec_name ?? "unknown",
    rotation,
    estimatedFrameCount: estimated,
  };
}

/** Plans sampling and sizing for a probed video (pure). */
export function planVideo(
  info: Pick<VideoInfo, "width" | "height" | "totalFrames" | "fps" | "duration">,
  options: VideoOptions = {},
): VideoPlan {
  const family = options.family ?? "glm-4.6v";
  const indices = sampleFrameIndices(family, info, { fps: options.fps });
  if (indices.length === 0) {
    throw new MediaError(
      "empty-video",
      options.input ?? "video",
      "no frames to sample",
      "Give a longer video.",
    );
  }
  const budget = options.budget ?? VIDEO_BUDGETS[family];
  const size = smartResize(info.height, info.width, { ...budget, numFrames: indices.length }, options.input);
  const fps = info.fps || ASSUMED_FPS;
  const pairTimestamps: number[] = [];
  for (let k = 0; k < indices.length; k += 2) pairTimestamps.push(indices[k] / fps);
  return { indices, size, pairTimestamps, tokens: pairTimestamps.length * gridTokens(size) };
}

/**
 * ffmpeg's `select` expression for a set of frame numbers, as a balanced sum: ffmpeg's expression parser
 * refuses a flat chain of a few hundred terms, but a tree of depth log2(n) is fine for GLM-V's 640 frames.
 */
export function selectExpression(indices: number[]): string {
  const unique = [...new Set(indices)];
  const build = (from: number, to: number): string => {
    if (to - from === 1) return `eq(n\\,${unique[from]})`;
    const mid = (from + to) >> 1;
    return `(${build(from, mid)}+${build(mid, to)})`;
  };
  return unique.length === 0 ? "0" : build(0, unique.length);
}

/** Decodes exactly the planned frames, scaled to the plan's size, as RGB. Returns one buffer per unique index. */
export async function extractFrames(
  path: string,
  plan: VideoPlan,
  options: VideoOptions = {},
): Promise<Uint8Array[]> {
  const input = options.input ?? path;
  const unique = [...new Set(plan.indices)];
  const frameBytes = plan.size.width * plan.size.height * 3;
  const dir = await mkdtemp(join(tmpdir(), "glmv-ffmpeg-"));
  try {
    const script = join(dir, "filter.txt");
    await writeFile(
      script,
      `select='${selectExpression(unique)}',scale=${plan.size.width}:${plan.size.height}:flags=bicubic,format=rgb24`,
    );
    const result = await runTool(
      FFMPEG,
      [
        "-nostdin",
        "-hide_banner",
        "-v",
        "error",
        ...INPUT_GUARD,
        "-i",
        path,
        "-map",
        "0:v:0",
        "-an",
        "-sn",
        "-dn",
        "-filter_script:v",
        script,
        "-fps_mode",
        "passthrough",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "pipe:1",
      ],
      {
        command: options.ffmpegPath,
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        input,
        maxStdout: unique.length * frameBytes,
        signal: options.signal,
      },
    );
    const count = Math.floor(result.stdout.length / frameBytes);
    if (count === 0) {
      throw new MediaError(
        "corrupt",
        input,
        `ffmpeg decoded no frames (${result.code === 0 ? "stream ended early" : lastLine(result.stderr)})`,
        "Check that the file is a complete, playable video.",
      );
    }
    const frames: Uint8Array[] = [];
    const buffer = result.stdout;
    for (let i = 0; i < count; i++) {
      frames.push(new Uint8Array(buffer.buffer, buffer.byteOffset + i * frameBytes, frameBytes));
    }
    return frames;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A video file → PreparedVideo (temporal pairs with the timestamp of each pair's first frame), sampled and
 * sized by the family's rules. Bytes are written to a private temporary file first (MP4 needs seeking).
 */
export async function prepareVideo(
  source: string | Uint8Array,
  options: VideoOptions = {},
): Promise<PreparedVideo> {
  if (typeof source !== "string") {
    const dir = await mkdtemp(join(tmpdir(), "glmv-video-"));
    try {
      const path = join(dir, "input");
      await writeFile(path, source, { mode: 0o600 });
      return await prepareVideo(path, { ...options, input: options.input ?? "video bytes" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const info = await probeVideo(source, options);
  const limit = options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  if (info.width * info.height > limit) {
    throw new MediaError(
      "too-many-pixels",
      options.input ?? source,
      `video frames are ${info.width}×${info.height} = ${info.width * info.height} pixels, over the limit of ${limit}`,
      "Downscale the video, or raise maxInputPixels if you trust this input.",
    );
  }
  const plan = planVideo(info, options);
  const frames = await extractFrames(source, plan, options);
  const video = assemblePairs(info, plan, frames);
  // Spec §7: without frame-rate metadata 24 fps is assumed, with a warning (sampling and timestamps use it).
  if (!info.fps) {
    video.note = `${options.input ?? source} has no frame-rate metadata: ${ASSUMED_FPS} fps was assumed for its frame sampling and timestamps.`;
  }
  return video;
}

/** Builds pairs from decoded frames; when the stream had fewer frames than estimated, the plan is cut short. */
export function assemblePairs(info: VideoInfo, plan: VideoPlan, frames: Uint8Array[]): PreparedVideo {
  const unique = [...new Set(plan.indices)];
  const byIndex = new Map<number, Uint8Array>();
  unique.forEach((index, i) => {
    if (i < frames.length) byIndex.set(index, frames[i]);
  });
  const available = plan.indices.filter((i) => byIndex.has(i));
  if (available.length % 2 === 1) available.push(available[available.length - 1]);
  const fps = info.fps || ASSUMED_FPS;
  const image = (index: number): PreparedImage => ({
    kind: "image",
    width: plan.size.width,
    height: plan.size.height,
    data: byIndex.get(index)!,
    originalWidth: info.width,
    originalHeight: info.height,
  });
  const pairs: FramePair[] = [];
  for (let k = 0; k < available.length; k += 2) {
    pairs.push({ frames: [image(available[k]), image(available[k + 1])], timestamp: available[k] / fps });
  }
  return {
    kind: "video",
    pairs,
    duration: info.duration,
    originalWidth: info.width,
    originalHeight: info.height,
  };
}

/**
 * For image-only engines (llama.cpp/mtmd): one representative frame per pair (the first, whose timestamp the
 * prompt carries), already sized with the video budget so token counts match (spec §7).
 */
export function representativeFrames(
  video: PreparedVideo,
): Array<{ image: PreparedImage; timestamp: number }> {
  return video.pairs.map((pair) => ({ image: pair.frames[0], timestamp: pair.timestamp }));
}
