/**
 * The embedded backend's media preparer for the server: every part goes through the media pipeline under
 * the server's policy (no local files unless folders are named, public URLs only, size and time limits).
 * Build the policy with `serverPolicy({ localFiles: [...] })`.
 */
export { policyMediaPreparer as serverMediaPreparer } from "../runtime/media.ts";
