/**
 * glmv media pipeline: sources (path, URL, data: URI, bytes) → model-ready images, video frame pairs and
 * document pages, under a safety policy. `prepareMedia` is the one entry most callers need.
 */

export { type AddressClass, classifyAddress } from "./address.ts";
export { decodeBmp } from "./bmp.ts";
export {
  type DetectedType,
  describeUnknown,
  detectType,
  type MediaFormat,
  type MediaKind,
} from "./detect.ts";
export { MediaError, type MediaErrorCode } from "./errors.ts";
export { type FetchedMedia, fetchMedia } from "./fetch.ts";
export {
  DEFAULT_MAX_INPUT_PIXELS,
  type ImageInfo,
  type ImageOptions,
  prepareImage,
  probeImage,
} from "./image.ts";
export { convertToPdf, type OfficeOptions } from "./office.ts";
export {
  type DocumentOptions,
  formatPageList,
  type PagePlan,
  parsePageRange,
  planPages,
  preparePdf,
} from "./pdf.ts";
export { cliPolicy, type MediaPolicy, serverPolicy } from "./policy.ts";
export {
  type MediaBudget,
  type MediaPartKind,
  type MediaResult,
  type PrepareOptions,
  partKindOf,
  passThroughUrl,
  prepareLoadedSource,
  prepareMedia,
  prepareMediaParts,
} from "./prepare.ts";
export {
  CLASS_DEFAULT_IMAGE_BUDGET,
  type GridSize,
  gridTokens,
  IMAGE_BUDGETS,
  imageGrid,
  imageTokens,
  type PixelBudget,
  pythonRound,
  smartResize,
  VIDEO_BUDGETS,
} from "./smart-resize.ts";
export {
  decodeDataUri,
  type LoadedSource,
  loadSource,
  type MediaSource,
  resolveLocalPath,
  sourceKind,
} from "./source.ts";
export type {
  FramePair,
  PassThroughMedia,
  PreparedDocument,
  PreparedImage,
  PreparedMedia,
  PreparedVideo,
} from "./types.ts";
export {
  extractFrames,
  planVideo,
  prepareVideo,
  probeVideo,
  representativeFrames,
  type VideoInfo,
  type VideoOptions,
  type VideoPlan,
} from "./video.ts";
export {
  type SamplingRule,
  sampleFrameIndices,
  sampleGlm41v,
  sampleGlm46v,
  samplingRuleOf,
  type VideoTiming,
  videoTimestampText,
} from "./video-sampling.ts";
