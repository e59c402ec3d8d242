/** glmv as a library. */
export * from "./client/index.ts";
