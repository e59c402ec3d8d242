import { findAlias, MODEL_ALIASES, type ModelAlias } from "./aliases.ts";
import { ModelRefError } from "./errors.ts";

/** A model reference, parsed. */
export type ModelRef =
  | {
      kind: "repo";
      /** `owner/name` as typed (the hub is case-insensitive; we keep the user's spelling). */
      repo: string;
      /** Quantisation the user typed; undefined: the alias default, else the default rule (select.ts). */
      quant?: string;
      /** Branch, tag or commit; `main` unless `@rev` was given. */
      revision: string;
      /** Set when the user typed an alias. */
      alias?: ModelAlias;
    }
  | {
      kind: "local";
      /** The path as typed (resolved against the working directory later). */
      path: string;
      /** For a folder: the quantisation to pick among several models. */
      quant?: string;
    };

const REPO_PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const QUANT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const REVISION = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;

/** Decides whether a reference names a local path: explicit path syntax, a `.gguf` name, or an existing path. */
export function looksLikeLocalPath(ref: string, exists: (path: string) => boolean): boolean {
  if (/^(\/|\.\.?(\/|\\|$)|~(\/|$)|[A-Za-z]:[\\/])/.test(ref)) return true;
  if (/\.gguf$/i.test(ref)) return true;
  return exists(ref);
}

/**
 * Parses a model reference:
 * - an alias, optionally with a quantisation: `glm-4.6v-flash`, `glm-ocr:F16`;
 * - a hub repository: `owner/repo`, `owner/repo:Q8_0`, `owner/repo@<revision>:Q8_0`; a leading
 *   `hf.co/`, `huggingface.co/` or `https://huggingface.co/` is accepted and dropped;
 * - a local path: a `.gguf` file, or a folder holding the model and its mmproj (`./models/flash:Q8_0` picks
 *   a quantisation when the folder holds several). Paths start with `/`, `./`, `../` or `~/`, end in `.gguf`,
 *   or exist on disk (an existing relative folder wins over a repository of the same name).
 *
 * `exists` is injected so the parser stays pure; the store passes `fs.existsSync`.
 */
export function parseModelRef(ref: string, exists: (path: string) => boolean = () => false): ModelRef {
  const text = ref.trim();
  if (text === "") throw new ModelRefError("Empty model reference. Give an alias such as glm-4.6v-flash.");
  if (looksLikeLocalPath(text, exists)) return parseLocal(text, exists);

  const stripped = text.replace(/^(https?:\/\/)?(hf\.co|huggingface\.co)\//i, "");
  const colon = stripped.lastIndexOf(":");
  let name = colon >= 0 ? stripped.slice(0, colon) : stripped;
  const quant = colon >= 0 ? stripped.slice(colon + 1) : undefined;
  if (quant !== undefined && !QUANT.test(quant)) {
    throw new ModelRefError(
      `"${ref}": "${quant}" is not a quantisation name. Use e.g. ${name}:Q4_K_M (letters, digits, _ . -).`,
    );
  }
  let revision = "main";
  const at = name.indexOf("@");
  if (at >= 0) {
    revision = name.slice(at + 1);
    name = name.slice(0, at);
    if (!REVISION.test(revision)) throw new ModelRefError(`"${ref}": "${revision}" is not a valid revision.`);
  }

  if (!name.includes("/")) {
    const alias = findAlias(name);
    if (!alias) {
      const known = MODEL_ALIASES.map((a) => a.name).join(", ");
      throw new ModelRefError(
        `Unknown model "${name}". Known names: ${known}. Or give a Hugging Face GGUF repository ` +
          "(owner/repo[:quant]) or a path to a .gguf file or folder.",
      );
    }
    return { kind: "repo", repo: alias.repo, quant, revision, alias };
  }

  const parts = name.split("/");
  if (parts.length !== 2 || !REPO_PART.test(parts[0]) || !REPO_PART.test(parts[1])) {
    throw new ModelRefError(
      `"${ref}" is neither an alias, an owner/repo[:quant] Hugging Face repository, nor an existing path.`,
    );
  }
  return { kind: "repo", repo: name, quant, revision };
}

function parseLocal(text: string, exists: (path: string) => boolean): ModelRef {
  // `./dir:Q8_0` selects a quantisation inside a folder; a colon inside an existing path is part of the path.
  const colon = text.lastIndexOf(":");
  if (colon > 1 && !exists(text)) {
    const path = text.slice(0, colon);
    const quant = text.slice(colon + 1);
    if (QUANT.test(quant) && !quant.includes("/") && !/\.gguf$/i.test(path))
      return { kind: "local", path, quant };
  }
  return { kind: "local", path: text };
}

/** The quantisation to look for: the one typed, else the alias default, else undefined (default rule). */
export function wantedQuant(ref: ModelRef & { kind: "repo" }): string | undefined {
  return ref.quant ?? ref.alias?.defaultQuant;
}

/** Canonical cache key of a repository model: `owner/repo:QUANT` (quant upper-cased). */
export function canonicalRef(repo: string, quant: string): string {
  return `${repo}:${quant.toUpperCase()}`;
}
