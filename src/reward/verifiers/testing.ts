/** Small helpers for the verifier tests (not a test file itself). */
import { resolveVerifierSettings } from "../config.ts";
import type { JudgeTransport } from "../judge-http.ts";
import type { Verifier } from "../types.ts";
import { createVerifier } from "./index.ts";

/** A verifier from a raw config entry. */
export const makeVerifier = (raw: Record<string, unknown>, transport?: JudgeTransport): Verifier =>
  createVerifier(resolveVerifierSettings("t", { ...raw, verifier_type: String(raw.verifier_type) }), {
    transport,
  });

/** A judge transport that counts its calls and answers a fixed reply (no network). */
export function fixedJudge(reply: string): JudgeTransport & { calls: number; prompts: string[] } {
  const fn = (async (request) => {
    fn.calls++;
    fn.prompts.push(request.prompt);
    return reply;
  }) as JudgeTransport & { calls: number; prompts: string[] };
  fn.calls = 0;
  fn.prompts = [];
  return fn;
}

/** A config entry with one judge (answered by the transport passed to makeVerifier). */
export const withJudge = (type: string, extra: Record<string, unknown> = {}) => ({
  verifier_type: type,
  llm_judge_url: "http://judge.invalid/v1",
  llm_retries: 0,
  ...extra,
});

/** The gated response form: `<think>r</think><answer><|begin_of_box|>x<|end_of_box|></answer>`. */
export const gated = (x: string) => `<think>r</think><answer><|begin_of_box|>${x}<|end_of_box|></answer>`;
