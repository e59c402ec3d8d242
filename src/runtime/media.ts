import type { MediaPreparer } from "./embedded.ts";

/** The runtime's media preparer for local front ends (CLI): the user's own files and network. */
export const prepareMediaForRuntime: MediaPreparer = async (reference) => {
  throw new Error(`media input is not wired yet (${reference.kind})`);
};
