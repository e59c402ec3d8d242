/**
 * The embedded backend's media preparer for the server: every part goes through the media pipeline under
 * the server's policy (no local files unless folders are named, public URLs only, size and time limits).
 */
import type { MediaPolicy } from "../media/policy.ts";
import { prepareMediaParts } from "../media/prepare.ts";
import type { MediaPreparer } from "../runtime/embedded.ts";

/** A MediaPreparer that applies `policy` (build it with `serverPolicy({ localFiles: [...] })`). */
export function serverMediaPreparer(policy: MediaPolicy): MediaPreparer {
  return (reference, context) =>
    prepareMediaParts(reference.url, {
      family: context.family,
      policy,
      signal: context.signal,
      kind: reference.kind,
    });
}
