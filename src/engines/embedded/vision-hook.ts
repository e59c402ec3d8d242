/**
 * The contract between the embedded engine and the vision encoder (src/engines/embedded/vision/).
 *
 * The engine's worker thread owns the llama.cpp context. When a model is loaded with an mmproj, the worker imports
 * `./vision/index.ts` and calls its exported `createVisionEncoder(args)` (type `VisionEncoderFactory`) in that same
 * worker thread, so the encoder's ggml graphs run on the thread that also decodes (no CPU oversubscription).
 * For each image or video frame pair in a prompt, the engine calls `encode`, then feeds the rows as an embedding
 * batch at the 3-D positions `ropeIndex` computes (GLM-V `get_rope_index`, engine-notes §4.4). With several slots the
 * batch scheduler uses `encodeStages` instead (when the encoder has it), so other sequences keep decoding between
 * encoder stages.
 */
import type { FramePair, PreparedImage } from "../../media/types.ts";

/** The merged-token embeddings of one image or one temporal frame pair. */
export interface VisionEmbeddings {
  /** Row-major `[gridH * gridW, width]`, rows in raster order of the merged grid (row = y, column = x). */
  data: Float32Array;
  /** Merged-token grid height (patch rows / 2). */
  gridH: number;
  /** Merged-token grid width (patch columns / 2). */
  gridW: number;
}

/** Options of one `encode` call. */
export interface VisionEncodeOptions {
  /**
   * Asked between encoder stages; returning true makes `encode` throw an error named "VisionAbortedError". Must be
   * synchronous (the engine reads its SharedArrayBuffer abort flag).
   */
  shouldAbort?: () => boolean;
}

/** A stage-by-stage encode: one stage per `next()`, the embeddings as the generator's return value. */
export type VisionEncodeJob = Generator<void, VisionEmbeddings, void>;

/** A loaded vision encoder (mmproj). Used from one thread only. */
export interface VisionEncoder {
  /** Embedding width of the output rows; must equal the text model's `embedding_length`. */
  readonly outputWidth: number;
  /** Encodes a still image (both temporal slices the same picture) or a video frame pair. */
  encode(input: PreparedImage | FramePair, options?: VisionEncodeOptions): VisionEmbeddings;
  /**
   * Optional resumable form of `encode` (the same values as `encode` with `shouldAbort`): each `next()` runs one
   * encoder stage and the last returns the embeddings, so a caller can interleave other work (the batch scheduler
   * decodes other sequences) between stages. `shouldAbort` is asked before every stage; `return()` on an
   * unfinished job frees its resources.
   */
  encodeStages?(input: PreparedImage | FramePair, options?: VisionEncodeOptions): VisionEncodeJob;
  /** Frees every native resource. */
  close(): void;
}

/** Arguments the engine passes to the vision module's factory. */
export interface VisionEncoderArgs {
  /** Path of the mmproj GGUF. */
  mmprojPath: string;
  /** Compute threads (same as the text model's). */
  threads: number;
  /** The text model's embedding width; the factory must refuse an mmproj whose output width differs. */
  textEmbeddingWidth: number;
}

/** What `src/engines/embedded/vision/index.ts` exports as `createVisionEncoder`. */
export type VisionEncoderFactory = (args: VisionEncoderArgs) => VisionEncoder | Promise<VisionEncoder>;
