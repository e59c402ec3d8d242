/** GGUF v3 reading, writing and the ggml block quantisers glmv uses. */
export * from "./quant.ts";
export * from "./reader.ts";
export * from "./types.ts";
export * from "./writer.ts";
