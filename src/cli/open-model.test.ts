import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "./command.ts";
import { intOption, numberOption, servedName } from "./open-model.ts";

test("servedName lists aliases and repos as typed and local files by name", () => {
  assert.equal(servedName("glm-4.6v-flash"), "glm-4.6v-flash");
  assert.equal(servedName("ggml-org/GLM-4.6V-Flash-GGUF:Q8_0"), "ggml-org/GLM-4.6V-Flash-GGUF:Q8_0");
  assert.equal(servedName("/models/tiny"), "tiny");
  assert.equal(servedName("./models/GLM-4.6V-Flash-Q4_K_M.gguf"), "GLM-4.6V-Flash-Q4_K_M");
  assert.equal(servedName("models/glm.gguf"), "glm");
});

test("number options name the flag in their error", () => {
  assert.equal(intOption("12", "--context-size"), 12);
  assert.equal(intOption(undefined, "--context-size"), undefined);
  assert.throws(
    () => intOption("1.5", "--context-size"),
    (e) => e instanceof UsageError && /--context-size/.test(e.message),
  );
  assert.throws(() => intOption("0", "--threads", 1), /--threads takes a whole number ≥ 1/);
  assert.equal(numberOption("0.7", "--temperature"), 0.7);
  assert.throws(() => numberOption("warm", "--temperature"), /--temperature takes a number/);
});
