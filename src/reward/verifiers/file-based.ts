/**
 * `file_based` verifiers: extraction and judge functions loaded from JavaScript/TypeScript modules named in
 * the configuration (upstream loaded Python files; a `.py` path is reported as an error with the fix).
 */
import { createRequire } from "node:module";
import { isAbsolute, resolve } from "node:path";
import type { VerifierSettings } from "../config.ts";
import { RewardConfigError } from "../errors.ts";
import type { Extracted, JudgeContext, Verdict, Verifier } from "../types.ts";

type ExtractFn = (text: string) => Extracted | null;
type JudgeFn = (answer: Extracted, gt: Extracted, context: JudgeContext) => number | Promise<number>;

/** Whether a path names a module glmv can load (JavaScript or TypeScript). */
export function isLoadableModule(path: string | null): path is string {
  return path !== null && /\.(?:[cm]?js|[cm]?ts)$/.test(path);
}

function loadFunction(path: string, name: string, key: string): (...args: never[]) => unknown {
  if (!isLoadableModule(path))
    throw new RewardConfigError(
      key,
      `"${path}" is not a JavaScript/TypeScript module; port the function to one`,
    );
  const require = createRequire(import.meta.url);
  const full = isAbsolute(path) ? path : resolve(process.cwd(), path);
  let mod: Record<string, unknown>;
  try {
    mod = require(full) as Record<string, unknown>;
  } catch (error) {
    throw new RewardConfigError(key, `cannot load "${full}": ${(error as Error).message}`);
  }
  const fn = mod[name] ?? (mod.default as Record<string, unknown> | undefined)?.[name];
  if (typeof fn !== "function") throw new RewardConfigError(key, `"${full}" exports no function "${name}"`);
  return fn as (...args: never[]) => unknown;
}

class FileBasedVerifier implements Verifier {
  readonly type: string;
  readonly minReward = 0;
  readonly gatesGroundTruth = true;
  private readonly extract: ExtractFn;
  private readonly judgeFn: JudgeFn;
  constructor(settings: VerifierSettings, fallbackExtract: ExtractFn | null) {
    this.type = settings.verifierType;
    const at = `reward_configs.${settings.name}`;
    this.judgeFn = loadFunction(
      settings.judgeFuncPath!,
      settings.judgeFuncName ?? "judge",
      `${at}.judge_func_path`,
    ) as JudgeFn;
    this.extract =
      settings.extractAnswerFilePath && settings.extractAnswerFuncName
        ? (loadFunction(
            settings.extractAnswerFilePath,
            settings.extractAnswerFuncName,
            `${at}.extract_answer_file_path`,
          ) as ExtractFn)
        : (fallbackExtract ?? ((t: string) => t));
  }
  extractAnswer(text: string): Extracted | null {
    return this.extract(text);
  }
  extractGroundTruth(text: string): Extracted | null {
    return this.extract(text);
  }
  async judge(answer: Extracted, gt: Extracted, context: JudgeContext): Promise<Verdict> {
    return { reward: Number(await this.judgeFn(answer, gt, context)), decidedBy: "rule" };
  }
}

/** Builds a verifier from the configured module functions. */
export function createFileBasedVerifier(
  settings: VerifierSettings,
  fallbackExtract: ExtractFn | null = null,
): Verifier {
  return new FileBasedVerifier(settings, fallbackExtract);
}
