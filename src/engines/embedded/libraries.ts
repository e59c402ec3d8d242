/**
 * Where llama.cpp's shared libraries come from: one locator for the engine's binding (binding.ts) and the vision
 * encoder's ggml binding (vision/ggml.ts), so both load the same files and the process holds one copy of
 * libggml-base.
 *
 * The libraries ship in node-llama-cpp's prebuilt npm packages (pinned to one release: the struct layouts in
 * binding.ts are that release's). Each package keeps them in `<package>/bins/<folder>/`; the GPU builds are
 * separate packages (`linux-x64-cuda`, `linux-x64-vulkan`, …), and on Apple Silicon Metal is part of the one
 * macOS package. `linux-x64-cuda-ext` / `win-x64-cuda-ext` add a `fallback/` folder of CUDA backends for other
 * CUDA versions, loaded when the main CUDA backend finds no GPU.
 *
 * `chooseLibraries` is the pure choice (package lookup injected, tests use fake folders); `locateLibraries` is the
 * real one, and remembers what this thread loaded (`rememberLibraries` / `loadedLibraries`).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";

/** The node-llama-cpp release whose binaries glmv's binding is written against (package.json pins it too). */
export const LLAMA_PACKAGES_VERSION = "3.21.1";

/** Which compute device the caller wants: only the CPU, a GPU (or fail), or a GPU when one is usable. */
export type DeviceRequest = "cpu" | "gpu" | "auto";

/** The llama.cpp libraries are missing or could not be loaded; the message says what to install. */
export class LibraryLoadError extends Error {
  override name = "LibraryLoadError";
}

/** One prebuilt GPU package of node-llama-cpp. */
export interface GpuPackage {
  /** npm package name, e.g. "@node-llama-cpp/linux-x64-cuda". */
  name: string;
  /** The GPU backend it carries: "CUDA", "Vulkan" or "Metal". */
  backend: string;
  /** What the machine needs besides the package. */
  needs: string;
  /** Companion package with `fallback/` backends (CUDA builds for other CUDA versions). */
  ext?: string;
}

const SCOPE = "@node-llama-cpp";
const CUDA_NEEDS = "an NVIDIA GPU and its driver; `nvidia-smi` must list the GPU";
const VULKAN_NEEDS = "a Vulkan driver and loader, e.g. apt install libvulkan1 mesa-vulkan-drivers";

/** node-llama-cpp's name for the platform and architecture ("linux-x64", "mac-arm64", "win-x64", …). */
export function platformTag(platform: string, arch: string): string {
  const os = platform === "darwin" ? "mac" : platform === "win32" ? "win" : platform;
  return `${os}-${arch === "arm" ? "armv7l" : arch}`;
}

/** The package that always loads (CPU; on Apple Silicon it also has Metal). */
export function cpuPackage(platform: string, arch: string): string {
  const tag = platformTag(platform, arch);
  return tag === "mac-arm64" ? `${SCOPE}/mac-arm64-metal` : `${SCOPE}/${tag}`;
}

/** The GPU packages node-llama-cpp publishes for a platform, in the order glmv tries them. */
export function gpuPackages(platform: string, arch: string): GpuPackage[] {
  const tag = platformTag(platform, arch);
  if (tag === "linux-x64" || tag === "win-x64") {
    return [
      { name: `${SCOPE}/${tag}-cuda`, backend: "CUDA", needs: CUDA_NEEDS, ext: `${SCOPE}/${tag}-cuda-ext` },
      { name: `${SCOPE}/${tag}-vulkan`, backend: "Vulkan", needs: VULKAN_NEEDS },
    ];
  }
  if (tag === "mac-arm64") {
    return [{ name: `${SCOPE}/mac-arm64-metal`, backend: "Metal", needs: "macOS on Apple Silicon" }];
  }
  return [];
}

/** The library folder chosen for a device request. */
export interface LibraryChoice {
  /** Folder with libggml-base, libggml, libllama and the backend libraries. */
  dir: string;
  /** Extra backends to try when `dir` registers no GPU (cuda-ext's `fallback/`). */
  fallbackDir?: string;
  /** The package the folder belongs to ("GLMV_LLAMA_LIB_DIR" for the override). */
  source: string;
  /** The GPU backend the package carries, when it is a GPU package. */
  gpuBackend?: string;
}

/** What `chooseLibraries` needs from the outside world (injected in tests). */
export interface LibraryEnvironment {
  platform: string;
  arch: string;
  /** `GLMV_LLAMA_LIB_DIR` (a folder to load from, whatever the device). */
  overrideDir?: string;
  /** The root folder of an installed npm package, or null when it is not installed. */
  resolvePackage(name: string): string | null;
}

/** The `bins/<folder>` of an installed package that holds libggml-base (the expected folder name first). */
function binsFolder(root: string, expected: string): string | null {
  const bins = join(root, "bins");
  let names: string[];
  try {
    names = readdirSync(bins);
  } catch {
    return null;
  }
  const ordered = [expected, ...names.filter((n) => n !== expected).sort()];
  for (const name of ordered) {
    if (!names.includes(name)) continue;
    try {
      if (readdirSync(join(bins, name)).some((f) => /^(lib)?ggml-base\.(so|dylib|dll)$/.test(f))) {
        return join(bins, name);
      }
    } catch {
      // not a folder
    }
  }
  return null;
}

function packageVersion(root: string): string | null {
  try {
    return String(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version);
  } catch {
    return null;
  }
}

/** The `npm install` line for a package at the pinned release. */
export function installCommand(name: string): string {
  return `npm install --save-exact ${name}@${LLAMA_PACKAGES_VERSION}`;
}

type Found = { ok: true; dir: string; root: string } | { ok: false; why: string };

function findPackage(env: LibraryEnvironment, name: string): Found {
  const root = env.resolvePackage(name);
  if (!root) return { ok: false, why: "not installed" };
  const version = packageVersion(root);
  if (version !== LLAMA_PACKAGES_VERSION) {
    return { ok: false, why: `version ${version ?? "?"} installed, glmv needs ${LLAMA_PACKAGES_VERSION}` };
  }
  const dir = binsFolder(root, name.slice(SCOPE.length + 1));
  if (!dir) return { ok: false, why: `no bins/ folder with libggml-base in ${root}` };
  return { ok: true, dir, root };
}

/** `<ext package>/bins/<folder>/fallback` (backends only, no core libraries) when installed at the pinned release. */
function extFallbackDir(env: LibraryEnvironment, name: string, folder: string): string | null {
  const root = env.resolvePackage(name);
  if (!root || packageVersion(root) !== LLAMA_PACKAGES_VERSION) return null;
  const dir = join(root, "bins", folder, "fallback");
  return existsSync(dir) ? dir : null;
}

/**
 * Picks the library folder for a device request: `GLMV_LLAMA_LIB_DIR` first; for "gpu"/"auto" the first
 * installed GPU package (CUDA, then Vulkan; Metal on Apple Silicon); otherwise ("cpu", or "auto" without a GPU
 * package) the CPU package. "gpu" without a GPU package throws `LibraryLoadError` with the install command.
 */
export function chooseLibraries(device: DeviceRequest, env: LibraryEnvironment): LibraryChoice {
  if (env.overrideDir) return { dir: env.overrideDir, source: "GLMV_LLAMA_LIB_DIR" };
  const problems: string[] = [];
  if (device !== "cpu") {
    const gpus = gpuPackages(env.platform, env.arch);
    for (const gpu of gpus) {
      const found = findPackage(env, gpu.name);
      if (!found.ok) {
        problems.push(`${gpu.name}: ${found.why}`);
        continue;
      }
      const choice: LibraryChoice = { dir: found.dir, source: gpu.name, gpuBackend: gpu.backend };
      const fallback = gpu.ext ? extFallbackDir(env, gpu.ext, basename(found.dir)) : null;
      if (fallback) choice.fallbackDir = fallback;
      return choice;
    }
    if (device === "gpu") {
      const tag = platformTag(env.platform, env.arch);
      if (gpus.length === 0) {
        throw new LibraryLoadError(
          `node-llama-cpp publishes no GPU build for ${tag}; use --device cpu, or point GLMV_LLAMA_LIB_DIR at a ` +
            "llama.cpp build (same release) with a GPU backend",
        );
      }
      const how = gpus
        .map((g) => `  ${g.backend}: ${installCommand(g.name)}\n    needs ${g.needs}`)
        .join("\n");
      throw new LibraryLoadError(
        `--device gpu needs a GPU build of llama.cpp, and none is usable (${problems.join("; ")}).\n` +
          `Install one in the glmv folder:\n${how}\nor run with --device auto (GPU when available, else CPU) ` +
          "or --device cpu.",
      );
    }
  }
  const cpu = cpuPackage(env.platform, env.arch);
  const found = findPackage(env, cpu);
  if (!found.ok) {
    throw new LibraryLoadError(
      `cannot use ${cpu} (${found.why}); run \`npm ci\` (it is a dependency of glmv)`,
    );
  }
  return { dir: found.dir, source: cpu };
}

/** Resolves installed packages from glmv's own node_modules (their root folder, beside `dist/`). */
export function nodePackageResolver(): (name: string) => string | null {
  const req = createRequire(import.meta.url);
  return (name) => {
    try {
      // The packages export only their entry (dist/index.js); the binaries sit beside dist/.
      return dirname(dirname(req.resolve(name)));
    } catch {
      return null;
    }
  };
}

let loadedHere: LibraryChoice | undefined;

/** Records the libraries this thread has loaded; later loads in this thread reuse them. */
export function rememberLibraries(choice: LibraryChoice): void {
  loadedHere ??= choice;
}

/** The libraries this thread has loaded, if any. */
export function loadedLibraries(): LibraryChoice | undefined {
  return loadedHere;
}

/**
 * The library folder for a device request on this machine (see `chooseLibraries`). Once this thread has loaded
 * libraries, that choice is returned: the process can hold only one ggml.
 */
export function locateLibraries(device: DeviceRequest = "cpu"): LibraryChoice {
  if (loadedHere) return loadedHere;
  return chooseLibraries(device, {
    platform: process.platform,
    arch: process.arch,
    overrideDir: process.env.GLMV_LLAMA_LIB_DIR || undefined,
    resolvePackage: nodePackageResolver(),
  });
}

/** The folder of the llama.cpp shared libraries for a device request (`GLMV_LLAMA_LIB_DIR` overrides). */
export function findLibraryDir(device: DeviceRequest = "cpu"): string {
  return locateLibraries(device).dir;
}
