import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { FamilyId } from "../protocol/families.ts";

/** One file of a pulled model. */
export interface ManifestFile {
  role: "model" | "mmproj";
  /** Path in the repository (and, under `models/<owner>/<repo>/`, in the cache). */
  path: string;
  size: number;
  /** sha256 verified while downloading (the hub's LFS oid); absent for non-LFS files. */
  sha256?: string;
}

/** What `glmv pull` records per model: `manifests/<owner>/<repo>/<QUANT>.json` under GLMV_HOME. */
export interface ModelManifest {
  /** Manifest format version. */
  version: 1;
  /** Canonical reference `owner/repo:QUANT`. */
  ref: string;
  /** The alias it was pulled by, when one matches the repository. */
  alias?: string;
  repo: string;
  /** Revision asked for (`main` unless `@rev`). */
  revision: string;
  /** Commit sha the revision pointed to at pull time. */
  commit: string;
  /** Quantisation label as the repository spells it. */
  quant: string;
  family?: FamilyId;
  /** Hub the files came from (HF_ENDPOINT). */
  endpoint: string;
  /** Model file(s) first (every shard, in order), then the mmproj. */
  files: ManifestFile[];
  /** ISO date of the pull. */
  pulledAt: string;
}

/** `models/<owner>/<repo>` under the cache. */
export function repoDir(home: string, repo: string): string {
  return join(home, "models", ...repo.split("/"));
}

/** Absolute cache path of a manifest file. */
export function cachedFilePath(home: string, repo: string, file: ManifestFile | string): string {
  const path = typeof file === "string" ? file : file.path;
  return join(repoDir(home, repo), ...path.split("/"));
}

/** `manifests/<owner>/<repo>/<QUANT>.json` under the cache. */
export function manifestPath(home: string, repo: string, quant: string): string {
  return join(home, "manifests", ...repo.split("/"), `${quant.toUpperCase()}.json`);
}

/** Writes a manifest atomically (temporary file, then rename). */
export async function writeManifest(home: string, manifest: ModelManifest): Promise<string> {
  const path = manifestPath(home, manifest.repo, manifest.quant);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(tmp, path);
  return path;
}

/** Checks that parsed JSON has the manifest's shape. */
export function isManifest(value: unknown): value is ModelManifest {
  const m = value as ModelManifest;
  return (
    !!m &&
    typeof m === "object" &&
    typeof m.ref === "string" &&
    typeof m.repo === "string" &&
    typeof m.quant === "string" &&
    Array.isArray(m.files) &&
    m.files.every((f) => typeof f?.path === "string" && typeof f.size === "number")
  );
}

/** Reads one manifest; undefined when absent or unreadable. */
export async function readManifest(path: string): Promise<ModelManifest | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(path, "utf8"));
    return isManifest(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Every manifest in the cache, sorted by reference. */
export async function readAllManifests(home: string): Promise<{ path: string; manifest: ModelManifest }[]> {
  const root = join(home, "manifests");
  const out: { path: string; manifest: ModelManifest }[] = [];
  for (const owner of await dirEntries(root)) {
    for (const name of await dirEntries(join(root, owner))) {
      for (const file of await dirEntries(join(root, owner, name))) {
        if (!file.endsWith(".json")) continue;
        const path = join(root, owner, name, file);
        const manifest = await readManifest(path);
        if (manifest) out.push({ path, manifest });
      }
    }
  }
  return out.sort((a, b) => a.manifest.ref.localeCompare(b.manifest.ref));
}

/** The manifests of one repository (matched case-insensitively, as the hub does). */
export async function repoManifests(
  home: string,
  repo: string,
): Promise<{ path: string; manifest: ModelManifest }[]> {
  const lower = repo.toLowerCase();
  return (await readAllManifests(home)).filter((m) => m.manifest.repo.toLowerCase() === lower);
}

async function dirEntries(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch {
    return [];
  }
}
