import { cliPolicy, type MediaPolicy } from "../media/policy.ts";
import { prepareMediaParts } from "../media/prepare.ts";
import type { MediaPreparer } from "./embedded.ts";

/** A MediaPreparer that runs every part through the media pipeline under `policy`. */
export function policyMediaPreparer(policy: MediaPolicy): MediaPreparer {
  return (reference, context) =>
    prepareMediaParts(reference.url, {
      family: context.family,
      policy,
      signal: context.signal,
      kind: reference.kind,
      onNote: context.onNote,
    });
}

/** The preparer of local front ends (CLI): the user's own files and network (`cliPolicy`). */
export const prepareMediaForRuntime: MediaPreparer = policyMediaPreparer(cliPolicy());
