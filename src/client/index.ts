/** The glmv client library: a typed client for glmv, vLLM, SGLang and Z.ai servers. */
export {
  type ChatAnswer,
  type ChatParams,
  type ChatStreamEvent,
  type ClientBox,
  type ClientModel,
  type ClientOptions,
  type ClientUsage,
  createClient,
  GlmvApiError,
  type GlmvClient,
  GlmvConnectionError,
} from "./client.ts";
export { readSse, SseDecoder } from "./sse.ts";
