import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  chooseLibraries,
  cpuPackage,
  gpuPackages,
  LibraryLoadError,
  LLAMA_PACKAGES_VERSION,
  locateLibraries,
  platformTag,
} from "./libraries.ts";

const root = mkdtempSync(join(tmpdir(), "glmv-libs-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** Writes a fake installed package: package.json and bins/<folder>/ with the given files. */
function fakePackage(
  name: string,
  folder: string,
  files: string[],
  version = LLAMA_PACKAGES_VERSION,
): string {
  const dir = join(root, `${name.replace("/", "+")}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(join(dir, "bins", folder), { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, version }));
  for (const f of files) {
    const path = join(dir, "bins", folder, f);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, "");
  }
  return dir;
}

const LINUX_CORE = ["libggml-base.so", "libggml.v0.4.0.so", "libllama.v0.4.0.so", "libggml-cpu-zen4.so"];

function env(installed: Record<string, string>, platform = "linux", arch = "x64", overrideDir?: string) {
  return { platform, arch, overrideDir, resolvePackage: (name: string) => installed[name] ?? null };
}

const cpu = fakePackage("@node-llama-cpp/linux-x64", "linux-x64", LINUX_CORE);
const cuda = fakePackage("@node-llama-cpp/linux-x64-cuda", "linux-x64-cuda", [
  ...LINUX_CORE,
  "libggml-cuda.so",
]);
const vulkan = fakePackage("@node-llama-cpp/linux-x64-vulkan", "linux-x64-vulkan", [
  ...LINUX_CORE,
  "libggml-vulkan.so",
]);

test("node-llama-cpp's package names per platform", () => {
  assert.equal(platformTag("darwin", "arm64"), "mac-arm64");
  assert.equal(platformTag("win32", "x64"), "win-x64");
  assert.equal(platformTag("linux", "arm"), "linux-armv7l");
  assert.equal(cpuPackage("linux", "x64"), "@node-llama-cpp/linux-x64");
  assert.equal(cpuPackage("darwin", "arm64"), "@node-llama-cpp/mac-arm64-metal");
  assert.deepEqual(
    gpuPackages("linux", "x64").map((g) => g.name),
    ["@node-llama-cpp/linux-x64-cuda", "@node-llama-cpp/linux-x64-vulkan"],
  );
  assert.deepEqual(
    gpuPackages("win32", "x64").map((g) => g.backend),
    ["CUDA", "Vulkan"],
  );
  assert.deepEqual(
    gpuPackages("darwin", "arm64").map((g) => g.backend),
    ["Metal"],
  );
  assert.deepEqual(gpuPackages("linux", "arm64"), []);
});

test("the pinned release is the one package.json installs", () => {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8"));
  const deps = { ...pkg.dependencies, ...pkg.optionalDependencies };
  assert.equal(deps["@node-llama-cpp/linux-x64"], LLAMA_PACKAGES_VERSION);
});

test("cpu takes the CPU package even when a GPU package is installed", () => {
  const c = chooseLibraries(
    "cpu",
    env({ "@node-llama-cpp/linux-x64": cpu, "@node-llama-cpp/linux-x64-cuda": cuda }),
  );
  assert.equal(c.dir, join(cpu, "bins", "linux-x64"));
  assert.equal(c.source, "@node-llama-cpp/linux-x64");
  assert.equal(c.gpuBackend, undefined);
});

test("gpu and auto take CUDA before Vulkan", () => {
  const all = {
    "@node-llama-cpp/linux-x64": cpu,
    "@node-llama-cpp/linux-x64-cuda": cuda,
    "@node-llama-cpp/linux-x64-vulkan": vulkan,
  };
  for (const device of ["gpu", "auto"] as const) {
    const c = chooseLibraries(device, env(all));
    assert.equal(c.dir, join(cuda, "bins", "linux-x64-cuda"));
    assert.equal(c.gpuBackend, "CUDA");
    assert.equal(c.fallbackDir, undefined);
  }
  const v = chooseLibraries("gpu", env({ "@node-llama-cpp/linux-x64-vulkan": vulkan }));
  assert.equal(v.dir, join(vulkan, "bins", "linux-x64-vulkan"));
  assert.equal(v.gpuBackend, "Vulkan");
});

test("cuda-ext's fallback folder comes with the CUDA choice", () => {
  // The ext package holds only backends, under the main package's folder name.
  const ext = fakePackage("@node-llama-cpp/linux-x64-cuda-ext", "linux-x64-cuda", [
    "fallback/libggml-cuda.so",
  ]);
  const c = chooseLibraries(
    "auto",
    env({ "@node-llama-cpp/linux-x64-cuda": cuda, "@node-llama-cpp/linux-x64-cuda-ext": ext }),
  );
  assert.equal(c.dir, join(cuda, "bins", "linux-x64-cuda"));
  assert.equal(c.fallbackDir, join(ext, "bins", "linux-x64-cuda", "fallback"));
});

test("auto without a GPU package falls back to the CPU package", () => {
  const c = chooseLibraries("auto", env({ "@node-llama-cpp/linux-x64": cpu }));
  assert.equal(c.dir, join(cpu, "bins", "linux-x64"));
  assert.equal(c.gpuBackend, undefined);
});

test("gpu without a GPU package names the exact npm install and the driver", () => {
  assert.throws(
    () => chooseLibraries("gpu", env({ "@node-llama-cpp/linux-x64": cpu })),
    (e: unknown) => {
      assert.ok(e instanceof LibraryLoadError);
      assert.match(e.message, /npm install --save-exact @node-llama-cpp\/linux-x64-cuda@3\.21\.1/);
      assert.match(e.message, /npm install --save-exact @node-llama-cpp\/linux-x64-vulkan@3\.21\.1/);
      assert.match(e.message, /NVIDIA GPU and its driver; `nvidia-smi` must list the GPU/);
      assert.match(e.message, /Vulkan driver/);
      assert.match(e.message, /--device auto/);
      return true;
    },
  );
  assert.throws(
    () => chooseLibraries("gpu", env({}, "linux", "arm64")),
    /publishes no GPU build for linux-arm64/,
  );
});

test("a GPU package of another release is skipped (its struct layouts differ)", () => {
  const old = fakePackage("@node-llama-cpp/linux-x64-cuda", "linux-x64-cuda", LINUX_CORE, "3.20.0");
  const all = { "@node-llama-cpp/linux-x64": cpu, "@node-llama-cpp/linux-x64-cuda": old };
  assert.equal(chooseLibraries("auto", env(all)).source, "@node-llama-cpp/linux-x64");
  assert.throws(() => chooseLibraries("gpu", env(all)), /version 3\.20\.0 installed, glmv needs 3\.21\.1/);
});

test("a package without libraries in bins/ is not used", () => {
  const empty = fakePackage("@node-llama-cpp/linux-x64-cuda", "linux-x64-cuda", ["README.md"]);
  const all = { "@node-llama-cpp/linux-x64": cpu, "@node-llama-cpp/linux-x64-cuda": empty };
  assert.equal(chooseLibraries("auto", env(all)).source, "@node-llama-cpp/linux-x64");
});

test("Apple Silicon: the Metal package is both the GPU and the CPU choice", () => {
  const metal = fakePackage("@node-llama-cpp/mac-arm64-metal", "mac-arm64-metal", [
    "libggml-base.dylib",
    "libggml.dylib",
    "libllama.dylib",
  ]);
  const e = env({ "@node-llama-cpp/mac-arm64-metal": metal }, "darwin", "arm64");
  assert.equal(chooseLibraries("gpu", e).gpuBackend, "Metal");
  assert.equal(chooseLibraries("cpu", e).dir, join(metal, "bins", "mac-arm64-metal"));
});

test("GLMV_LLAMA_LIB_DIR wins for every device", () => {
  for (const device of ["cpu", "gpu", "auto"] as const) {
    const c = chooseLibraries(
      device,
      env({ "@node-llama-cpp/linux-x64-cuda": cuda }, "linux", "x64", "/opt/llama"),
    );
    assert.deepEqual(c, { dir: "/opt/llama", source: "GLMV_LLAMA_LIB_DIR" });
  }
});

test("a missing CPU package says to run npm ci", () => {
  assert.throws(
    () => chooseLibraries("cpu", env({})),
    /@node-llama-cpp\/linux-x64 \(not installed\); run `npm ci`/,
  );
});

test("on this machine the CPU package is found", () => {
  if (process.env.GLMV_LLAMA_LIB_DIR || process.platform !== "linux" || process.arch !== "x64") return;
  const c = locateLibraries("cpu");
  assert.match(c.source, /^@node-llama-cpp\//);
  assert.match(c.dir, /bins/);
});

test("the engine worker loads from the chosen folder: auto runs on the CPU here, gpu is refused", async (t) => {
  if (process.env.GLMV_LLAMA_LIB_DIR) return t.skip("GLMV_LLAMA_LIB_DIR is set");
  if (process.platform !== "linux" || process.arch !== "x64") return t.skip("checks the linux-x64 packages");
  if (locateLibraries("auto").gpuBackend) return t.skip("a GPU package is installed here");
  const { loadEmbeddedEngine } = await import("./engine.ts");
  const { writeTinyModel } = await import("../tiny/model.ts");
  const model = writeTinyModel(join(root, "tiny"), { script: "Hi." }).modelPath;
  const engine = await loadEmbeddedEngine({ model, contextSize: 64, threads: 1, device: "auto" });
  try {
    assert.equal(engine.info.devices.length, 1);
    assert.match(engine.info.devices[0], /^CPU \(/);
  } finally {
    await engine.close();
  }
  await assert.rejects(
    loadEmbeddedEngine({ model, contextSize: 64, threads: 1, device: "gpu" }),
    (e: Error) => {
      assert.ok(e instanceof LibraryLoadError, "the worker's error keeps its type");
      assert.match(e.message, /npm install --save-exact @node-llama-cpp\/linux-x64-cuda@3\.21\.1/);
      return true;
    },
  );
});
