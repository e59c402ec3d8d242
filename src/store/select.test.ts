import assert from "node:assert/strict";
import { test } from "node:test";
import { QuantNotFoundError } from "./errors.ts";
import {
  availableQuants,
  chooseMmproj,
  mmprojBeside,
  modelBaseName,
  quantLabel,
  type RepoFile,
  selectFiles,
} from "./select.ts";

const f = (path: string, size = 100): RepoFile => ({ path, size });

test("quantLabel reads llama.cpp type names from file names", () => {
  assert.equal(quantLabel("GLM-4.6V-Flash-Q4_K_M.gguf"), "Q4_K_M");
  assert.equal(quantLabel("GLM-OCR-f16.gguf"), "f16");
  assert.equal(quantLabel("mmproj-GLM-4.6V-Flash-BF16.gguf"), "BF16");
  assert.equal(quantLabel("Model.i1-IQ4_XS.gguf"), "IQ4_XS");
  assert.equal(quantLabel("GLM-4.5V-Q4_K_M-00001-of-00002.gguf"), "Q4_K_M");
  assert.equal(quantLabel("X-UD-Q4_K_XL.gguf"), "UD-Q4_K_XL");
  assert.equal(quantLabel("glm-4.6v-flash-mxfp4.gguf"), "mxfp4");
  assert.equal(quantLabel("model.gguf"), undefined);
});

const flash = [
  f("README.md"),
  f("GLM-4.6V-Flash-Q4_K_M.gguf", 6_166_577_888),
  f("GLM-4.6V-Flash-Q8_0.gguf", 9_000_000_000),
  f("mmproj-GLM-4.6V-Flash-Q8_0.gguf", 980_055_680),
];

test("quant match is case-insensitive; the default is Q4_K_M, else Q8_0, else the only one", () => {
  const s = selectFiles(flash, "q8_0", "r");
  assert.deepEqual(
    s.modelFiles.map((x) => x.path),
    ["GLM-4.6V-Flash-Q8_0.gguf"],
  );
  assert.equal(s.quant, "Q8_0");
  assert.equal(s.mmproj?.path, "mmproj-GLM-4.6V-Flash-Q8_0.gguf");
  assert.equal(selectFiles(flash, undefined, "r").quant, "Q4_K_M");
  assert.equal(selectFiles([f("GLM-OCR-Q8_0.gguf"), f("GLM-OCR-f16.gguf")], undefined, "r").quant, "Q8_0");
  assert.equal(selectFiles([f("x-mxfp4.gguf")], undefined, "r").quant, "mxfp4");
  assert.throws(
    () => selectFiles([f("x-Q5_K_M.gguf"), f("x-Q6_K.gguf")], undefined, "o/x"),
    (e: Error) => e instanceof QuantNotFoundError && /Pick one: Q5_K_M/.test(e.message),
  );
});

test("a missing quant lists what is available, with sizes", () => {
  assert.throws(
    () => selectFiles(flash, "IQ2_XS", "ggml-org/GLM-4.6V-Flash-GGUF", (n) => `${Math.round(n / 1e9)} GB`),
    (e: Error) => {
      assert.ok(e instanceof QuantNotFoundError);
      assert.deepEqual(e.available, ["Q4_K_M", "Q8_0"]);
      assert.match(e.message, /no IQ2_XS file\. Available quantisations: Q4_K_M \(6 GB\), Q8_0 \(9 GB\)/);
      return true;
    },
  );
  assert.throws(() => selectFiles([f("README.md")], undefined, "o/r"), /no GGUF model file/);
});

test("split models: every shard in order; an incomplete set is an error", () => {
  const files = [
    f("GLM-4.5V-Q4_K_M-00002-of-00002.gguf", 20),
    f("GLM-4.5V-Q4_K_M-00001-of-00002.gguf", 30),
    f("mmproj-GLM-4.5V-Q8_0.gguf"),
  ];
  const s = selectFiles(files, "Q4_K_M", "r");
  assert.deepEqual(
    s.modelFiles.map((x) => x.path),
    ["GLM-4.5V-Q4_K_M-00001-of-00002.gguf", "GLM-4.5V-Q4_K_M-00002-of-00002.gguf"],
  );
  assert.deepEqual(availableQuants(files), [{ quant: "Q4_K_M", size: 50 }]);
  assert.throws(() => selectFiles(files.slice(1), "Q4_K_M", "r"), /incomplete/);
  // Shards in a subfolder (unsloth style) work too.
  const sub = selectFiles([f("BF16/m-BF16-00001-of-00001.gguf")], "bf16", "r");
  assert.deepEqual(
    sub.modelFiles.map((x) => x.path),
    ["BF16/m-BF16-00001-of-00001.gguf"],
  );
});

test("mmproj preference: F16, then BF16, Q8_0, F32, others; the model's folder wins a tie", () => {
  const all = [
    f("mmproj-x-Q8_0.gguf"),
    f("mmproj-x-F32.gguf"),
    f("mmproj-x-bf16.gguf"),
    f("mmproj-x-f16.gguf"),
    f("mmproj-x-Q4_0.gguf"),
  ];
  assert.equal(chooseMmproj(all)?.path, "mmproj-x-f16.gguf");
  assert.equal(chooseMmproj(all.filter((x) => x.path !== "mmproj-x-f16.gguf"))?.path, "mmproj-x-bf16.gguf");
  assert.equal(chooseMmproj([f("mmproj-x-F32.gguf"), f("mmproj-x-Q8_0.gguf")])?.path, "mmproj-x-Q8_0.gguf");
  assert.equal(
    chooseMmproj([f("a/mmproj-F16.gguf"), f("b/mmproj-F16.gguf")], "b/m-Q4_K_M.gguf")?.path,
    "b/mmproj-F16.gguf",
  );
  assert.equal(chooseMmproj([f("m-Q4_K_M.gguf")]), undefined);
  // The mmproj is never taken for the model.
  assert.deepEqual(
    selectFiles([f("mmproj-F16.gguf"), f("m-F16.gguf")], "F16", "r").modelFiles.map((x) => x.path),
    ["m-F16.gguf"],
  );
});

test("several plain files with one label: the shortest name (the plain build) wins", () => {
  const s = selectFiles(
    [f("GLM-4.6V-Flash-abliterated-Q4_K_M.gguf"), f("GLM-4.6V-Flash-Q4_K_M.gguf")],
    "Q4_K_M",
    "r",
  );
  assert.equal(s.modelFiles[0].path, "GLM-4.6V-Flash-Q4_K_M.gguf");
});

test("model base names pair a model with its mmproj", () => {
  assert.equal(modelBaseName("GLM-4.6V-Flash-Q4_K_M.gguf"), "glm-4.6v-flash");
  assert.equal(modelBaseName("mmproj-GLM-4.6V-Flash-F16.gguf"), "glm-4.6v-flash");
  assert.equal(modelBaseName("GLM-4.1V-9B-Thinking.mmproj-f16.gguf"), "glm-4.1v-9b-thinking");
  assert.equal(modelBaseName("GLM-4.1V-9B-Thinking.Q4_K_M.gguf"), "glm-4.1v-9b-thinking");
  assert.equal(modelBaseName("GLM-4.5V-Q4_K_M-00001-of-00002.gguf"), "glm-4.5v");
  assert.equal(modelBaseName("mmproj-F16.gguf"), "");
});

test("mmprojBeside: the named one; any in a one-model folder; none in a mixed folder", () => {
  // A flat folder holding GLM-4.6V-Flash (9B) and GLM-4.6V (106B): their projectors must not be swapped.
  const flat = [
    f("GLM-4.6V-Flash-Q4_K_M.gguf"),
    f("mmproj-GLM-4.6V-Flash-F16.gguf"),
    f("GLM-4.6V-Q4_K_M.gguf"),
    f("mmproj-GLM-4.6V-Q8_0.gguf"),
  ];
  assert.equal(mmprojBeside("GLM-4.6V-Q4_K_M.gguf", flat)?.path, "mmproj-GLM-4.6V-Q8_0.gguf");
  assert.equal(mmprojBeside("GLM-4.6V-Flash-Q4_K_M.gguf", flat)?.path, "mmproj-GLM-4.6V-Flash-F16.gguf");
  // unsloth layout: one model, a bare mmproj-F16.gguf.
  const unsloth = [
    f("GLM-4.1V-9B-Thinking-Q4_K_M.gguf"),
    f("GLM-4.1V-9B-Thinking-Q8_0.gguf"),
    f("mmproj-F16.gguf"),
  ];
  assert.equal(mmprojBeside("GLM-4.1V-9B-Thinking-Q8_0.gguf", unsloth)?.path, "mmproj-F16.gguf");
  // Two models and a bare mmproj: which model it belongs to is unknown.
  assert.equal(
    mmprojBeside("a-Q4_K_M.gguf", [f("a-Q4_K_M.gguf"), f("b-Q4_K_M.gguf"), f("mmproj-F16.gguf")]),
    undefined,
  );
  // In a repository listing, the named projector wins over a higher-precision one of another model.
  assert.equal(chooseMmproj(flat, "GLM-4.6V-Q4_K_M.gguf")?.path, "mmproj-GLM-4.6V-Q8_0.gguf");
});
