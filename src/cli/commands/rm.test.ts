import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { UsageError } from "../command.ts";
import { captureIO } from "../testing.ts";
import { createRmCommand } from "./rm.ts";

const io = () => captureIO().io;

test("rm needs a model name, refuses local paths, and says when a model is not cached", async () => {
  const home = await mkdtemp(join(tmpdir(), "glmv-rm-"));
  try {
    const command = createRmCommand({ env: { GLMV_HOME: home } });
    await assert.rejects(command.run([], io()), UsageError);
    await assert.rejects(command.run(["./model.gguf"], io()), /local path/);
    await assert.rejects(command.run(["glm-4.6v-flash"], io()), /glm-4\.6v-flash is not in the cache/);
    assert.match(command.help, /Examples:\n {2}glmv rm glm-4\.6v-flash:Q8_0/);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
