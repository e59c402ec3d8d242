import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readGguf } from "../../gguf/index.ts";
import { UsageError } from "../command.ts";
import { captureIO } from "../testing.ts";
import { devCommand } from "./dev.ts";

test("glmv dev tiny-model writes a scripted 4.1V model the reader accepts", async () => {
  const dir = mkdtempSync(join(tmpdir(), "glmv-dev-"));
  try {
    const t = captureIO();
    const code = await devCommand.run(
      [
        "tiny-model",
        "--out",
        dir,
        "--script",
        "<think>Hm.</think><answer>Yes.</answer>",
        "--family",
        "glm-4.1v-thinking",
        "--no-mmproj",
      ],
      t.io,
    );
    assert.equal(code, 0);
    assert.match(t.out(), /scripted: 7 tokens/);
    const file = readGguf(join(dir, "model.gguf"));
    assert.equal(file.metadata.get("glmv.family")?.value, "glm-4.1v-thinking");
    assert.ok(!existsSync(join(dir, "mmproj.gguf")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("glmv dev rejects bad options with usage errors", async () => {
  const t = captureIO();
  await assert.rejects(devCommand.run(["tiny-model"], t.io), UsageError);
  await assert.rejects(
    devCommand.run(["tiny-model", "--out", "x", "--family", "gpt"], t.io),
    /unknown family/,
  );
  await assert.rejects(devCommand.run(["tiny-model", "--out", "x", "--quant", "q2"], t.io), /--quant/);
  await assert.rejects(
    devCommand.run(
      ["tiny-model", "--out", "x", "--script", "<|begin_of_box|>1<|end_of_box|> <|begin_of_box|>2"],
      t.io,
    ),
    /bigram/,
  );
  await assert.rejects(devCommand.run(["bogus"], t.io), /unknown dev command/);
});
