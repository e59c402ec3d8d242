/**
 * GLM-V's vision encoder for the embedded engine: the factory the engine's worker calls (contract in
 * `../vision-hook.ts`), plus the pieces tests and tools use directly.
 *
 * The engine calls `createVisionEncoder({ mmprojPath, threads, textEmbeddingWidth })` once per loaded model, then
 * `encode(image)` for a still image or `encode(pair)` for a video frame pair. Each call returns the merged-token
 * embeddings (raster order over the merged grid) and the grid size; the engine places them at the positions of
 * `imageRopePositions` (below, same rule as the engine's `ropeIndex`).
 */

import type { FramePair, PreparedImage } from "../../../media/types.ts";
import type { VisionEmbeddings, VisionEncodeJob, VisionEncoder, VisionEncoderArgs } from "../vision-hook.ts";
import { VisionTower, type VisionTowerOptions } from "./graph.ts";
import { loadMmproj } from "./loader.ts";
import { patchifyImage, patchifyPair } from "./preprocess.ts";

export { assertVisionConfig, type VisionConfig, VisionConfigError } from "./config.ts";
export { VisionAbortedError, VisionTower, type VisionTowerOptions, type WeightBlob } from "./graph.ts";
export { loadMmproj, type Mmproj } from "./loader.ts";
export { imageRopePositions, videoLayout } from "./mrope.ts";
export { type PatchTensor, patchifyImage, patchifyPair } from "./preprocess.ts";
export { referenceEncode } from "./reference.ts";
export { mmprojSpec, type TinyMmprojOptions, tinyMmprojWeights, writeTinyMmproj } from "./tinyMmproj.ts";

/** Options of one encode. */
export interface EncodeOptions {
  /**
   * Makes the encode abortable: asked before each stage (embedding, every block, head); true throws
   * VisionAbortedError. Must be synchronous (e.g. `Atomics.load` on a SharedArrayBuffer flag).
   */
  shouldAbort?: () => boolean;
}

/** The hook's encoder plus an abort check and the time of the last encode (for `visionMs`). */
export interface TimedVisionEncoder extends VisionEncoder {
  encode(input: PreparedImage | FramePair, options?: EncodeOptions): VisionEmbeddings;
  encodeStages(input: PreparedImage | FramePair, options?: EncodeOptions): VisionEncodeJob;
  /** Milliseconds of the last encode (patchify + graph; for a staged job, the sum of its stages). */
  readonly lastEncodeMs: number;
}

function isPair(input: PreparedImage | FramePair): input is FramePair {
  return (input as FramePair).frames !== undefined;
}

/** Builds an encoder over an already-made tower (tests; the engine uses `createVisionEncoder`). */
export function encoderFromTower(tower: VisionTower): TimedVisionEncoder {
  let last = 0;
  const norm = { mean: tower.config.imageMean, std: tower.config.imageStd };
  return {
    outputWidth: tower.config.projectionDim,
    get lastEncodeMs() {
      return last;
    },
    encode(input: PreparedImage | FramePair, options?: EncodeOptions): VisionEmbeddings {
      const t0 = performance.now();
      const patches = isPair(input) ? patchifyPair(input.frames, norm) : patchifyImage(input, norm);
      const data = tower.encode(patches, options);
      last = performance.now() - t0;
      return { data, gridH: patches.gridH / 2, gridW: patches.gridW / 2 };
    },
    *encodeStages(input: PreparedImage | FramePair, options?: EncodeOptions): VisionEncodeJob {
      let t0 = performance.now();
      let ms = 0;
      const patches = isPair(input) ? patchifyPair(input.frames, norm) : patchifyImage(input, norm);
      const stages = tower.encodeStages(patches, options);
      try {
        for (;;) {
          const r = stages.next();
          ms += performance.now() - t0;
          if (r.done) {
            last = ms;
            return { data: r.value, gridH: patches.gridH / 2, gridW: patches.gridW / 2 };
          }
          yield;
          t0 = performance.now();
        }
      } finally {
        stages.return(new Float32Array(0));
      }
    },
    close() {
      tower.close();
    },
  };
}

/**
 * The engine's factory (type `VisionEncoderFactory`): loads and validates the mmproj (refusing one whose output
 * width differs from the text model's), uploads the weights once, and returns the encoder.
 */
export function createVisionEncoder(
  args: VisionEncoderArgs,
  options: VisionTowerOptions = {},
): TimedVisionEncoder {
  const mmproj = loadMmproj(args.mmprojPath, args.textEmbeddingWidth);
  const tower = new VisionTower(mmproj.config, mmproj.blobs, { threads: args.threads, ...options });
  return encoderFromTower(tower);
}
