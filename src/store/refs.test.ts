import assert from "node:assert/strict";
import { test } from "node:test";
import { findAlias, guessFamily, MODEL_ALIASES } from "./aliases.ts";
import { ModelRefError } from "./errors.ts";
import { canonicalRef, parseModelRef, wantedQuant } from "./refs.ts";

test("aliases resolve to their repository, with the alias default or a typed quant", () => {
  const flash = parseModelRef("glm-4.6v-flash");
  assert.equal(flash.kind, "repo");
  if (flash.kind !== "repo") return;
  assert.equal(flash.repo, "ggml-org/GLM-4.6V-Flash-GGUF");
  assert.equal(flash.quant, undefined);
  assert.equal(wantedQuant(flash), "Q4_K_M");
  assert.equal(flash.revision, "main");

  const ocr = parseModelRef("GLM-OCR");
  assert.ok(ocr.kind === "repo" && wantedQuant(ocr) === "Q8_0" && ocr.repo === "ggml-org/GLM-OCR-GGUF");

  const typed = parseModelRef("glm-4.1v:Q8_0");
  assert.ok(typed.kind === "repo" && typed.quant === "Q8_0" && typed.alias?.name === "glm-4.1v-thinking");
});

test("owner/repo[:quant][@rev], with hf.co prefixes", () => {
  assert.deepEqual(parseModelRef("bartowski/X-GGUF:q5_k_m"), {
    kind: "repo",
    repo: "bartowski/X-GGUF",
    quant: "q5_k_m",
    revision: "main",
  });
  const url = parseModelRef("https://huggingface.co/ggml-org/GLM-OCR-GGUF");
  assert.ok(url.kind === "repo" && url.repo === "ggml-org/GLM-OCR-GGUF" && url.quant === undefined);
  const hf = parseModelRef("hf.co/a/b:Q8_0");
  assert.ok(hf.kind === "repo" && hf.repo === "a/b" && hf.quant === "Q8_0");
  const rev = parseModelRef("a/b@v1.0:F16");
  assert.ok(rev.kind === "repo" && rev.revision === "v1.0" && rev.quant === "F16");
});

test("local paths: explicit path syntax, .gguf names, existing paths; folder:quant", () => {
  assert.deepEqual(parseModelRef("./models/m.gguf"), { kind: "local", path: "./models/m.gguf" });
  assert.deepEqual(parseModelRef("m.gguf"), { kind: "local", path: "m.gguf" });
  assert.deepEqual(parseModelRef("/abs/dir"), { kind: "local", path: "/abs/dir" });
  assert.deepEqual(parseModelRef("~/models"), { kind: "local", path: "~/models" });
  assert.deepEqual(parseModelRef("./flash:Q8_0"), { kind: "local", path: "./flash", quant: "Q8_0" });
  // An existing relative folder wins over a repository of the same name.
  assert.deepEqual(
    parseModelRef("owner/repo", (p) => p === "owner/repo"),
    { kind: "local", path: "owner/repo" },
  );
});

test("bad references are clear errors", () => {
  assert.throws(() => parseModelRef(""), ModelRefError);
  assert.throws(
    () => parseModelRef("glm-9"),
    (e: Error) => /Unknown model "glm-9"/.test(e.message) && /glm-ocr/.test(e.message),
  );
  assert.throws(() => parseModelRef("a/b/c"), /neither an alias/);
  assert.throws(() => parseModelRef("a/b:Q4 K"), /not a quantisation/);
  assert.throws(() => parseModelRef("a/b@:Q4"), /not a valid revision/);
});

test("alias table, families and canonical refs", () => {
  assert.equal(new Set(MODEL_ALIASES.map((a) => a.name)).size, MODEL_ALIASES.length);
  assert.equal(findAlias("glm-4.1v-9b-thinking")?.name, "glm-4.1v-thinking");
  assert.equal(guessFamily("bartowski/zai-org_GLM-4.6V-Flash-GGUF"), "glm-4.6v-flash");
  assert.equal(guessFamily("ggml-org/GLM-4.6V-GGUF"), "glm-4.6v");
  assert.equal(guessFamily("GLM-4.1V-9B-Thinking-Q4_K_M.gguf"), "glm-4.1v-thinking");
  assert.equal(guessFamily("ggml-org/GLM-OCR-GGUF"), "glm-ocr");
  assert.equal(guessFamily("Qwen/Qwen2-VL"), undefined);
  assert.equal(canonicalRef("a/b", "q4_k_m"), "a/b:Q4_K_M");
});
