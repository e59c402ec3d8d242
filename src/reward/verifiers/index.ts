/** Builds the verifier of a validated configuration entry. */
import type { VerifierSettings } from "../config.ts";
import { RewardConfigError } from "../errors.ts";
import { LlmJudge } from "../judge.ts";
import type { JudgeTransport } from "../judge-http.ts";
import type { Verifier } from "../types.ts";
import { createChartVerifier } from "./chart.ts";
import { createCountingVerifier } from "./counting.ts";
import { createFileBasedVerifier, isLoadableModule } from "./file-based.ts";
import { createGeneralVerifier } from "./general.ts";
import { createGeoquestVerifier } from "./geoquest.ts";
import { createGroundingVerifier } from "./grounding.ts";
import { createAndroidWorldVerifier, createOsWorldVerifier, createWebVoyagerVerifier } from "./gui.ts";
import { createLanguageMixVerifier } from "./language-mix.ts";
import { createMmsiVerifier } from "./mmsi.ts";
import { createOcrVerifier } from "./ocr.ts";
import { createScienceVerifier } from "./science.ts";

/** Options of createVerifier. */
export interface CreateVerifierOptions {
  /** Turns every LLM judge off: verifiers decide by rules alone (`--no-judge`). */
  noJudge?: boolean;
  /** The judge's HTTP transport (default: plain fetch to an OpenAI-compatible endpoint). */
  transport?: JudgeTransport;
}

/** Builds the verifier for one configuration entry. Throws RewardConfigError for `long_doc` (no verifier). */
export function createVerifier(settings: VerifierSettings, options: CreateVerifierOptions = {}): Verifier {
  const judge =
    !options.noJudge && settings.judge && settings.enableLlmJudgeFallback
      ? new LlmJudge(settings.judge, options.transport)
      : null;
  const deps = { judge };
  switch (settings.verifierType) {
    case "math":
    case "physics":
    case "chemistry":
    case "biology":
    case "geography":
    case "liberal_arts":
    case "vqa":
    case "multi_image":
      return createScienceVerifier(settings, deps);
    case "chart":
      return createChartVerifier(settings, deps);
    case "counting":
      return createCountingVerifier(settings, deps);
    case "ocr":
      return createOcrVerifier(settings, deps);
    case "mmsi":
      return createMmsiVerifier(settings, deps);
    case "general":
      return createGeneralVerifier(settings, deps);
    case "geoquest":
      return createGeoquestVerifier(settings, deps);
    case "language_mix":
      return createLanguageMixVerifier();
    case "grounding":
      return createGroundingVerifier(settings);
    case "AndroidWorld":
    case "OSWorld":
    case "WebVoyager": {
      const builtIn =
        settings.verifierType === "AndroidWorld"
          ? createAndroidWorldVerifier()
          : settings.verifierType === "OSWorld"
            ? createOsWorldVerifier()
            : createWebVoyagerVerifier();
      // Upstream's GUI judges were Python files; glmv has them built in and loads only JS/TS overrides.
      if (!isLoadableModule(settings.judgeFuncPath)) return builtIn;
      return createFileBasedVerifier(settings, (t) => builtIn.extractAnswer(t));
    }
    case "file_based":
      return createFileBasedVerifier(settings);
    case "long_doc":
      throw new RewardConfigError(
        `reward_configs.${settings.name}.verifier_type`,
        "long_doc is configuration only and has no verifier; map the datasource to another config",
      );
  }
}
