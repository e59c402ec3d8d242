/**
 * Checks a text-model GGUF (and an mmproj's output width) with glmv's own reader before llama.cpp sees it: an
 * assert inside llama.cpp kills the process, a thrown InvalidModelError does not.
 */
import { basename } from "node:path";
import { type GgufFile, GgufFormatError, metaNumber, metaString, readGguf } from "../../gguf/index.ts";
import { detectFamily, type FamilyId, isFamilyId, UnknownFamilyError } from "../../protocol/families.ts";
import { InvalidModelError } from "./errors.ts";

/** Facts about a validated text model. */
export interface TextModelFacts {
  file: GgufFile;
  architecture: string;
  embeddingWidth: number;
  vocabSize: number;
  trainedContext: number;
  layers: number;
  /** M-RoPE is on (`rope.dimension_sections` with sections 0 and 1 > 0): required for images. */
  multimodalRope: boolean;
  chatTemplate: string;
  family: FamilyId;
}

const ARCHES = new Set(["glm4", "glm4moe"]);

function readOrThrow(path: string): GgufFile {
  try {
    return readGguf(path);
  } catch (e) {
    if (e instanceof GgufFormatError) throw new InvalidModelError(e.message);
    throw e;
  }
}

/** Validates a GLM-V text model GGUF: header, architecture, required keys, vocabulary and tensor shapes. */
export function validateTextModel(path: string): TextModelFacts {
  const file = readOrThrow(path);
  const bad = (msg: string) =>
    new InvalidModelError(
      `${path}: ${msg}. Is this a GLM-V text model GGUF (not the mmproj)? Download it again.`,
    );
  const arch = metaString(file, "general.architecture");
  if (arch === "clip") {
    throw new InvalidModelError(
      `${path} is a vision projector (mmproj); pass it as the mmproj, not as the model`,
    );
  }
  if (!arch || !ARCHES.has(arch)) throw bad(`architecture is ${arch ?? "missing"}, expected glm4 or glm4moe`);
  const num = (key: string) => {
    const v = metaNumber(file, `${arch}.${key}`);
    if (v === undefined) throw bad(`metadata key ${arch}.${key} is missing`);
    return v;
  };
  const embd = num("embedding_length");
  const layers = num("block_count");
  const ctx = num("context_length");
  num("attention.head_count");
  if (metaNumber(file, `${arch}.attention.layer_norm_rms_epsilon`) === undefined) {
    throw bad(`metadata key ${arch}.attention.layer_norm_rms_epsilon is missing`);
  }
  const tokens = file.metadata.get("tokenizer.ggml.tokens");
  if (tokens?.type !== "array" || tokens.itemType !== "string" || tokens.value.length === 0) {
    throw bad("tokenizer.ggml.tokens is missing");
  }
  const nVocab = tokens.value.length;
  const uniq = new Set(tokens.value as string[]);
  if (uniq.size !== nVocab) throw bad("tokenizer.ggml.tokens has duplicate entries");
  const model = metaString(file, "tokenizer.ggml.model");
  if (model === "gpt2" && !file.metadata.has("tokenizer.ggml.merges"))
    throw bad("tokenizer.ggml.merges is missing");
  const types = file.metadata.get("tokenizer.ggml.token_type");
  if (types && types.type === "array" && types.value.length !== nVocab) {
    throw bad(`tokenizer.ggml.token_type has ${types.value.length} entries for ${nVocab} tokens`);
  }
  const tensors = new Map(file.tensors.map((t) => [t.name, t]));
  const need = (name: string, ne0?: number) => {
    const t = tensors.get(name);
    if (!t) throw bad(`tensor ${name} is missing`);
    if (ne0 !== undefined && t.ne[0] !== ne0)
      throw bad(`tensor ${name} has rows of ${t.ne[0]}, expected ${ne0}`);
    return t;
  };
  const embdT = need("token_embd.weight", embd);
  if (embdT.ne[1] !== nVocab) throw bad(`token_embd.weight has ${embdT.ne[1]} rows for ${nVocab} tokens`);
  need("output_norm.weight", embd);
  const out = tensors.get("output.weight");
  if (out && (out.ne[0] !== embd || out.ne[1] !== nVocab)) throw bad(`output.weight has shape [${out.ne}]`);
  for (let i = 0; i < layers; i++) {
    need(`blk.${i}.attn_norm.weight`, embd);
    if (!tensors.has(`blk.${i}.attn_qkv.weight`)) need(`blk.${i}.attn_q.weight`, embd);
    need(`blk.${i}.attn_output.weight`);
  }
  const sections = file.metadata.get(`${arch}.rope.dimension_sections`);
  const sec = sections?.type === "array" ? (sections.value as number[]) : [];
  const template = metaString(file, "tokenizer.chat_template") ?? "";
  return {
    file,
    architecture: arch,
    embeddingWidth: embd,
    vocabSize: nVocab,
    trainedContext: ctx,
    layers,
    multimodalRope: (sec[0] ?? 0) > 0 && (sec[1] ?? 0) > 0,
    chatTemplate: template,
    family: familyOf(file, basename(path)),
  };
}

/**
 * The family of a text model: glmv's own `glmv.family` key, else the protocol's detection from the GGUF names,
 * file name, architecture and context length. Where that cannot decide, a 4.1V-style template (`<answer>`, no
 * tools) means 4.1V, `glm4moe` 4.5V, anything else 4.6V-Flash: a GGUF llama.cpp can load still opens.
 */
function familyOf(file: GgufFile, fileName: string): FamilyId {
  const gguf = Object.fromEntries([...file.metadata].map(([key, v]) => [key, v.value]));
  const own = gguf["glmv.family"];
  try {
    const override = typeof own === "string" && isFamilyId(own) ? own : undefined;
    return detectFamily({ override, gguf, name: fileName }).family;
  } catch (e) {
    if (!(e instanceof UnknownFamilyError)) throw e;
  }
  const template = gguf["tokenizer.chat_template"];
  if (typeof template === "string" && template.includes("<answer>") && !template.includes("tool_call")) {
    return "glm-4.1v-thinking";
  }
  return gguf["general.architecture"] === "glm4moe" ? "glm-4.5v" : "glm-4.6v-flash";
}

/** Checks that an mmproj GGUF is a GLM-V vision projector whose output width equals the text model's. */
export function validateMmproj(path: string, textEmbeddingWidth: number): GgufFile {
  const file = readOrThrow(path);
  const arch = metaString(file, "general.architecture");
  if (arch !== "clip") {
    throw new InvalidModelError(`${path}: architecture is ${arch ?? "missing"}, expected an mmproj (clip)`);
  }
  const projector = metaString(file, "clip.projector_type") ?? metaString(file, "clip.vision.projector_type");
  if (projector && !/glm/i.test(projector)) {
    throw new InvalidModelError(`${path}: projector type ${projector} is not a GLM-V projector`);
  }
  const down = file.tensors.find((t) => t.name === "mm.down.weight" || t.name === "mm.model.mlp.2.weight");
  const width = down ? down.ne[1] : metaNumber(file, "clip.vision.projection_dim");
  if (width !== undefined && width !== textEmbeddingWidth) {
    throw new InvalidModelError(
      `${path}: the projector outputs ${width}-wide embeddings but the text model is ${textEmbeddingWidth} wide; ` +
        "use the mmproj published with this model",
    );
  }
  return file;
}
