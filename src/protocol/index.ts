/**
 * glmv's protocol core: the pure GLM-V grammar (no I/O). Families, prompt rendering with the model's own
 * chat template, batch and streaming output parsing (one scanner), grounding boxes and tool calls.
 */

export {
  BOX_BEGIN,
  BOX_END,
  boxCenter,
  boxSpans,
  extractBoxContents,
  extractBoxedAnswer,
  findBoxes,
  findCoordinatesNearEnd,
  type ImageSize,
  type PixelBox,
  parseCoordinates,
  roundHalfEven,
  toPixels,
  toThousandths,
} from "./boxes.ts";
export {
  DEFAULT_FAMILY,
  type DetectedFamily,
  detectFamily,
  effectiveThinking,
  FAMILIES,
  FAMILY_IDS,
  type FamilyDetectionInput,
  type FamilyId,
  type FamilySpec,
  familyFromName,
  getFamily,
  isFamilyId,
  resolveFamilyId,
  type SamplingDefaults,
  type SpecialTokens,
  thinkingCloseText,
  UnknownFamilyError,
} from "./families.ts";
export { finishReasonOf, parseOutput } from "./parse.ts";
export {
  dumpsPython,
  fromPlain,
  PyFloat,
  type PyValue,
  parseJsonValue,
  parsePythonLiteral,
  pythonFloatRepr,
  pythonJsonString,
  toPlain,
} from "./pyliteral.ts";
export { StreamClosedError, type StreamFinish, StreamParser } from "./stream.ts";
export {
  ChatTemplateError,
  type ChatTemplateFiles,
  ChatTemplateNotFoundError,
  type ChatTemplateSource,
  compileChatTemplate,
  findChatTemplate,
  MessageFormatError,
  type NormalizeOptions,
  normalizeMessages,
  type RenderPromptOptions,
  renderChatTemplate,
  renderPrompt,
  type TemplateMessage,
  type TemplatePart,
} from "./template.ts";
export {
  argumentFragments,
  argumentSchema,
  type CallIdGenerator,
  formatToolCall,
  isStringSchema,
  type ParsedArgument,
  type ParsedToolCallBlock,
  parseToolCallBody,
  randomCallId,
  sequentialCallIds,
  serializeArguments,
  TOOL_TAGS,
  toToolCall,
  typeArgumentValue,
} from "./tools.ts";
export type {
  Box,
  ChatMessage,
  MessagePart,
  OutputDelta,
  ParsedOutput,
  ParseOptions,
  ToolCall,
  ToolCallDelta,
  ToolDefinition,
} from "./types.ts";
export { pythonFixed1, videoTimestampText } from "./video.ts";
