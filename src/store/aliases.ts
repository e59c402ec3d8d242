import type { FamilyId } from "../protocol/families.ts";

/** A short model name that stands for a published GGUF repository. */
export interface ModelAlias {
  /** What the user types, e.g. `glm-4.6v-flash`. */
  name: string;
  /** Hugging Face repository holding the GGUF files. */
  repo: string;
  /** Quantisation pulled when the user names none. */
  defaultQuant: string;
  family: FamilyId;
  /** One line for `glmv pull --help`. */
  description: string;
}

/**
 * The aliases glmv knows.
 *
 * Provenance (checked 2026-11-26 with the search tools; the hub itself was not reachable from here):
 * - `ggml-org/GLM-4.6V-Flash-GGUF`: VERIFIED repo (listed in the HF model search, used as
 *   `ggml-org/GLM-4.6V-Flash-GGUF:Q4_K_M` in llama.cpp's mtmd test script). Files seen in several
 *   independent sources: `GLM-4.6V-Flash-Q4_K_M.gguf` (6,166,577,888 B), `GLM-4.6V-Flash-Q8_0.gguf`,
 *   `mmproj-GLM-4.6V-Flash-Q8_0.gguf` (980,055,680 B). Whether an F16 mmproj exists there is an assumption
 *   either way; the selection rule (select.ts) takes whatever the listing has.
 * - `ggml-org/GLM-OCR-GGUF`: VERIFIED repo and files `GLM-OCR-Q8_0.gguf` (950,433,408 B), `GLM-OCR-f16.gguf`,
 *   `mmproj-GLM-OCR-Q8_0.gguf` (484,403,648 B). It has NO Q4_K_M, so the alias defaults to Q8_0.
 * - `ggml-org/GLM-4.6V-GGUF`: VERIFIED repo; `GLM-4.6V-Q4_K_M.gguf`, split `GLM-4.6V-Q8_0-0000N-of-00003.gguf`,
 *   `mmproj-GLM-4.6V-Q8_0.gguf` seen in third-party code (so Q4_K_M may also be split; both are handled).
 * - `ggml-org/GLM-4.5V-GGUF`: VERIFIED repo; split `GLM-4.5V-Q4_K_M-0000N-of-00002.gguf` and
 *   `mmproj-GLM-4.5V-Q8_0.gguf` seen at revision 401d1a7.
 * - GLM-4.1V-9B-Thinking: NO ggml-org repo was found (ASSUMPTION that none exists). The alias points at
 *   `unsloth/GLM-4.1V-9B-Thinking-GGUF` (VERIFIED repo; `GLM-4.1V-9B-Thinking-Q6_K.gguf` seen). That it holds a
 *   Q4_K_M file and an mmproj is an ASSUMPTION; if not, `glmv pull` lists the quantisations it does have.
 */
export const MODEL_ALIASES: readonly ModelAlias[] = [
  {
    name: "glm-4.6v-flash",
    repo: "ggml-org/GLM-4.6V-Flash-GGUF",
    defaultQuant: "Q4_K_M",
    family: "glm-4.6v-flash",
    description: "GLM-4.6V-Flash, 9B dense (default model; about 7 GB at Q4_K_M with its mmproj)",
  },
  {
    name: "glm-4.1v-thinking",
    repo: "unsloth/GLM-4.1V-9B-Thinking-GGUF",
    defaultQuant: "Q4_K_M",
    family: "glm-4.1v-thinking",
    description: "GLM-4.1V-9B-Thinking, 9B dense, always reasons",
  },
  {
    name: "glm-ocr",
    repo: "ggml-org/GLM-OCR-GGUF",
    defaultQuant: "Q8_0",
    family: "glm-ocr",
    description: "GLM-OCR, 0.9B document OCR (about 1.4 GB at Q8_0 with its mmproj)",
  },
  {
    name: "glm-4.6v",
    repo: "ggml-org/GLM-4.6V-GGUF",
    defaultQuant: "Q4_K_M",
    family: "glm-4.6v",
    description: "GLM-4.6V, 106B MoE (about 70 GB at Q4_K_M)",
  },
  {
    name: "glm-4.5v",
    repo: "ggml-org/GLM-4.5V-GGUF",
    defaultQuant: "Q4_K_M",
    family: "glm-4.5v",
    description: "GLM-4.5V, 106B MoE (about 70 GB at Q4_K_M)",
  },
];

/** Extra spellings users type for the same aliases. */
const ALIAS_SYNONYMS: Record<string, string> = {
  "glm-4.6v-flash-gguf": "glm-4.6v-flash",
  "glm-4.1v": "glm-4.1v-thinking",
  "glm-4.1v-9b-thinking": "glm-4.1v-thinking",
  "glm-4.6v-gguf": "glm-4.6v",
  "glm-4.5v-gguf": "glm-4.5v",
  "glm-ocr-gguf": "glm-ocr",
};

/** The default model of `glmv run` and `glmv chat`. */
export const DEFAULT_MODEL_ALIAS = "glm-4.6v-flash";

/** Finds an alias by name (case-insensitive, synonyms included); undefined when unknown. */
export function findAlias(name: string): ModelAlias | undefined {
  const lower = name.toLowerCase();
  const canonical = ALIAS_SYNONYMS[lower] ?? lower;
  return MODEL_ALIASES.find((a) => a.name === canonical);
}

/** The alias whose repository is `repo` (case-insensitive), if any: gives repos their family. */
export function aliasForRepo(repo: string): ModelAlias | undefined {
  const lower = repo.toLowerCase();
  return MODEL_ALIASES.find((a) => a.repo.toLowerCase() === lower);
}

/**
 * Guesses the GLM-V family from a repository or file name (e.g. `bartowski/zai-org_GLM-4.6V-Flash-GGUF`).
 * Undefined when the name says nothing; the engine reads the GGUF metadata anyway.
 */
export function guessFamily(name: string): FamilyId | undefined {
  const n = name.toLowerCase();
  if (/glm[-_.]?ocr/.test(n)) return "glm-ocr";
  if (/glm[-_.]?4\.6v[-_.]?flash/.test(n)) return "glm-4.6v-flash";
  if (/glm[-_.]?4\.6v/.test(n)) return "glm-4.6v";
  if (/glm[-_.]?4\.5v/.test(n)) return "glm-4.5v";
  if (/glm[-_.]?4\.1v/.test(n)) return "glm-4.1v-thinking";
  return undefined;
}
