/**
 * Which GLM-V family a GGUF holds, and the family's engine-level facts (stop tokens, thinking-budget close).
 * Pure logic over metadata.
 */
import type { FamilyId } from "../../protocol/families.ts";

const FAMILIES: FamilyId[] = ["glm-4.1v-thinking", "glm-4.5v", "glm-4.6v", "glm-4.6v-flash", "glm-ocr"];

/** True when `s` names a known family. */
export function isFamilyId(s: string): s is FamilyId {
  return (FAMILIES as string[]).includes(s);
}

/**
 * Guesses the family from GGUF metadata: glmv's own `glmv.family` key, then `general.name` / `general.basename` /
 * the file name ("4.1v", "ocr", "4.6v-flash", "4.6v", "4.5v"), then the chat template (`<answer>` → 4.1V), then
 * the architecture (`glm4moe` → 4.5V). Falls back to GLM-4.6V-Flash.
 */
export function detectFamily(meta: { get(key: string): unknown }, fileName = ""): FamilyId {
  const own = meta.get("glmv.family");
  if (typeof own === "string" && isFamilyId(own)) return own;
  const names = [
    meta.get("general.name"),
    meta.get("general.basename"),
    meta.get("general.finetune"),
    fileName,
  ]
    .filter((x): x is string => typeof x === "string")
    .join(" ")
    .toLowerCase();
  if (/ocr/.test(names)) return "glm-ocr";
  if (/4\.1v|4_1v|41v/.test(names)) return "glm-4.1v-thinking";
  if (/4\.6v[-_ ]?flash/.test(names)) return "glm-4.6v-flash";
  if (/4\.6v/.test(names)) return "glm-4.6v";
  if (/4\.5v/.test(names)) return "glm-4.5v";
  const template = meta.get("tokenizer.chat_template");
  if (typeof template === "string" && template.includes("<answer>") && !template.includes("tool_call")) {
    return "glm-4.1v-thinking";
  }
  if (meta.get("general.architecture") === "glm4moe") return "glm-4.5v";
  return "glm-4.6v-flash";
}

/** Token strings that end generation for every GLM-V family (spec §2), besides llama.cpp's EOG set. */
export const STOP_TOKEN_TEXTS = ["<|endoftext|>", "<|user|>", "<|observation|>"] as const;

/** The text forced when the thinking budget runs out (spec §5.3: 4.1V `</think><answer>`, others `</think>`). */
export function thinkingCloseText(family: FamilyId): string {
  return family === "glm-4.1v-thinking" ? "</think><answer>" : "</think>";
}

/** The timestamp text after a video frame pair (spec §7: 4.1V integer seconds, others "{s:.1f} seconds"). */
export function videoTimestampText(family: FamilyId, seconds: number): string {
  return family === "glm-4.1v-thinking" ? String(Math.trunc(seconds)) : `${seconds.toFixed(1)} seconds`;
}
