import { QuantNotFoundError } from "./errors.ts";

/** One file of a repository listing (hub or local folder). */
export interface RepoFile {
  /** Path inside the repository, `/`-separated (e.g. `GLM-OCR-Q8_0.gguf` or `BF16/x-00001-of-00002.gguf`). */
  path: string;
  size: number;
  /** sha256 of the content: the hub's LFS oid. Absent for non-LFS files and local folders. */
  sha256?: string;
}

/** The files chosen for one quantisation of a model. */
export interface FileSelection {
  /** The quantisation label as the repository spells it (e.g. `Q4_K_M`, `f16`). */
  quant: string;
  /** The model file, or every shard of a split model in order (the runtime loads the first). */
  modelFiles: RepoFile[];
  /** The vision projector; undefined when the repository has none. */
  mmproj?: RepoFile;
}

/** One quantisation a repository offers, for error messages and listings. */
export interface QuantInfo {
  quant: string;
  size: number;
}

/** Default quantisations, tried in order when the reference names none (then: the only one there is). */
export const DEFAULT_QUANT_ORDER = ["Q4_K_M", "Q8_0"];

const QUANT_LABEL = /^(I?Q\d(_[A-Z0-9]+)*|B?F(16|32)|F64|MXFP4(_MOE)?|NVFP4|TQ\d_\d)$/i;
const SPLIT_SUFFIX = /-(\d{5})-of-(\d{5})$/;

/** Whether a file name is a GGUF vision projector (`mmproj` anywhere in the name, any case). */
export function isMmproj(path: string): boolean {
  return /mmproj/i.test(baseName(path));
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function stem(path: string): string {
  return baseName(path)
    .replace(/\.gguf$/i, "")
    .replace(SPLIT_SUFFIX, "");
}

/**
 * The quantisation label in a GGUF file name: the last `-` or `.` separated part of the name (split suffix
 * `-0000N-of-0000M` removed) when it looks like a llama.cpp type (`Q4_K_M`, `IQ4_XS`, `Q8_0`, `F16`, `BF16`,
 * `MXFP4_MOE`…), with unsloth's `UD-` prefix kept. `GLM-4.6V-Flash-Q4_K_M.gguf` → `Q4_K_M`,
 * `Model.i1-Q4_K_M.gguf` → `Q4_K_M`, `X-UD-Q4_K_XL-00001-of-00002.gguf` → `UD-Q4_K_XL`. Undefined if none.
 */
export function quantLabel(path: string): string | undefined {
  const parts = stem(path).split(/[-.]/);
  const last = parts[parts.length - 1];
  if (!QUANT_LABEL.test(last)) return undefined;
  const before = parts[parts.length - 2];
  return before !== undefined && before.toUpperCase() === "UD" ? `UD-${last}` : last;
}

/** Precision rank of an mmproj: F16 first, then BF16, Q8_0, F32, anything else. Lower is preferred. */
function mmprojRank(path: string): number {
  const label = (quantLabel(path) ?? "").toUpperCase();
  const order = ["F16", "BF16", "Q8_0", "F32"];
  const i = order.indexOf(label);
  return i >= 0 ? i : order.length;
}

/**
 * The model name a GGUF file belongs to, for pairing a model with its mmproj: the file name without
 * `.gguf`, split suffix, quantisation label and the word `mmproj`, lower-cased.
 * `mmproj-GLM-4.6V-Flash-F16.gguf` and `GLM-4.6V-Flash-Q4_K_M.gguf` both give `glm-4.6v-flash`;
 * mradermacher's `X.mmproj-f16.gguf` gives `x`; unsloth's bare `mmproj-F16.gguf` gives `` (no name).
 */
export function modelBaseName(path: string): string {
  let name = stem(path);
  const label = quantLabel(path);
  if (label && name.toLowerCase().endsWith(label.toLowerCase())) name = name.slice(0, -label.length);
  return name
    .replace(/[-_.]?mmproj[-_.]?/i, "-")
    .replace(/^[-_.]+|[-_.]+$/g, "")
    .toLowerCase();
}

/**
 * Picks the vision projector among a listing's mmproj files. First, which: the mmproj files named after the
 * model (same `modelBaseName`) when there are any, else all of them (a repository holds one model).
 * Then the rule: the highest precision that is still half-size — F16, then BF16, then Q8_0, then F32, then
 * anything else; ties go to the file in the model's folder, then the shorter name, then alphabetical order.
 * Undefined when there is no mmproj.
 */
export function chooseMmproj(files: RepoFile[], modelPath?: string): RepoFile | undefined {
  const dir = modelPath ? modelPath.slice(0, modelPath.lastIndexOf("/") + 1) : "";
  const inDir = (f: RepoFile) => (f.path.slice(0, f.path.lastIndexOf("/") + 1) === dir ? 0 : 1);
  let candidates = files.filter((f) => /\.gguf$/i.test(f.path) && isMmproj(f.path));
  if (modelPath) {
    const base = modelBaseName(modelPath);
    const named = candidates.filter((f) => base !== "" && modelBaseName(f.path) === base);
    if (named.length > 0) candidates = named;
  }
  candidates.sort(
    (a, b) =>
      mmprojRank(a.path) - mmprojRank(b.path) ||
      inDir(a) - inDir(b) ||
      a.path.length - b.path.length ||
      a.path.localeCompare(b.path),
  );
  return candidates[0];
}

/**
 * The mmproj for a lone local model file, from the files beside it: one named after the model, or, when
 * the folder holds only one model (every non-mmproj GGUF has the same base name), any mmproj there.
 * Undefined otherwise: in a folder mixing models, a wrong projector would load and describe images wrongly.
 */
export function mmprojBeside(modelPath: string, siblings: RepoFile[]): RepoFile | undefined {
  const base = modelBaseName(modelPath);
  const mmprojs = siblings.filter((f) => /\.gguf$/i.test(f.path) && isMmproj(f.path));
  const named = mmprojs.filter((f) => base !== "" && modelBaseName(f.path) === base);
  if (named.length > 0) return chooseMmproj(named);
  const modelBases = new Set(
    siblings.filter((f) => /\.gguf$/i.test(f.path) && !isMmproj(f.path)).map((f) => modelBaseName(f.path)),
  );
  return modelBases.size === 1 && modelBases.has(base) ? chooseMmproj(mmprojs) : undefined;
}

/** Groups a listing's model GGUFs (mmproj excluded) by quantisation label, upper-cased key. */
function groupModels(files: RepoFile[]): Map<string, { label: string; files: RepoFile[] }> {
  const groups = new Map<string, { label: string; files: RepoFile[] }>();
  for (const f of files) {
    if (!/\.gguf$/i.test(f.path) || isMmproj(f.path)) continue;
    const label = quantLabel(f.path) ?? stem(f.path);
    const key = label.toUpperCase();
    const group = groups.get(key) ?? { label, files: [] };
    group.files.push(f);
    groups.set(key, group);
  }
  return groups;
}

/** The quantisations a listing offers with their total model size (shards summed), sorted by name. */
export function availableQuants(files: RepoFile[]): QuantInfo[] {
  const out: QuantInfo[] = [];
  for (const { label, files: group } of groupModels(files).values()) {
    const chosen = pickGroupFiles(group);
    out.push({ quant: label, size: chosen.reduce((n, f) => n + f.size, 0) });
  }
  return out.sort((a, b) => a.quant.localeCompare(b.quant));
}

/**
 * Inside one quantisation group: every shard of a split model (complete set, in order), or the single file.
 * Several unsplit files with the same label (e.g. `X-Q4_K_M.gguf` and `X-abliterated-Q4_K_M.gguf`): the
 * shortest name wins, being the plain build. Throws when a split set is incomplete.
 */
function pickGroupFiles(group: RepoFile[]): RepoFile[] {
  const shards = group.filter((f) => SPLIT_SUFFIX.test(stem0(f.path)));
  if (shards.length > 0) {
    // Take the shard set of the shortest prefix (normally there is only one).
    const prefixes = [...new Set(shards.map((f) => stem0(f.path).replace(SPLIT_SUFFIX, "")))].sort(
      (a, b) => a.length - b.length || a.localeCompare(b),
    );
    const prefix = prefixes[0];
    const set = shards
      .filter((f) => stem0(f.path).replace(SPLIT_SUFFIX, "") === prefix)
      .map((f) => {
        const m = SPLIT_SUFFIX.exec(stem0(f.path))!;
        return { file: f, index: Number(m[1]), count: Number(m[2]) };
      })
      .sort((a, b) => a.index - b.index);
    const count = set[0].count;
    const complete = set.length === count && set.every((s, i) => s.index === i + 1 && s.count === count);
    if (!complete) {
      throw new QuantNotFoundError(
        `The split model ${baseName(prefix)} is incomplete in the repository: expected ${count} parts ` +
          `(-00001-of-${String(count).padStart(5, "0")} …), found ${set.length}.`,
        [],
      );
    }
    return set.map((s) => s.file);
  }
  const sorted = [...group].sort((a, b) => a.path.length - b.path.length || a.path.localeCompare(b.path));
  return [sorted[0]];
}

function stem0(path: string): string {
  return baseName(path).replace(/\.gguf$/i, "");
}

function formatQuantList(quants: QuantInfo[], fmt: (n: number) => string): string {
  return quants.map((q) => `${q.quant} (${fmt(q.size)})`).join(", ");
}

/**
 * Chooses the model file(s) and mmproj for a quantisation in a repository listing. The quantisation is
 * matched case-insensitively against each file's label (see `quantLabel`), as llama.cpp's `-hf repo:quant`
 * does. Without a quantisation: Q4_K_M, else Q8_0, else the only one. Errors list what is available.
 * `where` names the repository or folder in messages; `fmt` formats byte sizes.
 */
export function selectFiles(
  files: RepoFile[],
  quant: string | undefined,
  where: string,
  fmt: (n: number) => string = (n) => `${n} B`,
): FileSelection {
  const groups = groupModels(files);
  const available = availableQuants(files);
  if (groups.size === 0) {
    throw new QuantNotFoundError(
      `${where} has no GGUF model file. glmv runs GGUF builds: use a "-GGUF" repository such as ` +
        "ggml-org/GLM-4.6V-Flash-GGUF, or an alias (glm-4.6v-flash, glm-ocr).",
      [],
    );
  }
  let key: string | undefined;
  if (quant !== undefined) {
    key = quant.toUpperCase();
    if (!groups.has(key)) {
      throw new QuantNotFoundError(
        `${where} has no ${quant} file. Available quantisations: ${formatQuantList(available, fmt)}. ` +
          `Pick one, e.g. ${where}:${available[0].quant}.`,
        available.map((q) => q.quant),
      );
    }
  } else {
    key = DEFAULT_QUANT_ORDER.find((q) => groups.has(q));
    if (key === undefined && groups.size === 1) key = [...groups.keys()][0];
    if (key === undefined) {
      throw new QuantNotFoundError(
        `${where} has several quantisations and none of the defaults (${DEFAULT_QUANT_ORDER.join(", ")}). ` +
          `Pick one: ${formatQuantList(available, fmt)}, e.g. ${where}:${available[0].quant}.`,
        available.map((q) => q.quant),
      );
    }
  }
  const group = groups.get(key)!;
  const modelFiles = pickGroupFiles(group.files);
  return { quant: group.label, modelFiles, mmproj: chooseMmproj(files, modelFiles[0].path) };
}
