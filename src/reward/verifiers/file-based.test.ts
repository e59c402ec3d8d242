import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { RewardConfigError } from "../errors.ts";
import { makeVerifier } from "./testing.ts";

test("file_based: extraction and judge functions come from a JS module; Python files are a clear error", async () => {
  const dir = await mkdtemp(join(tmpdir(), "glmv-file-based-"));
  try {
    const module = join(dir, "judge.mjs");
    await writeFile(
      module,
      "export function extract(t) { return t.trim().toUpperCase(); }\n" +
        "export function judge(a, g, ctx) { return a === g && ctx.imageFile === 'x.png' ? 1 : 0.5; }\n",
    );
    const v = makeVerifier({
      verifier_type: "file_based",
      judge_func_path: module,
      judge_func_name: "judge",
      extract_answer_file_path: module,
      extract_answer_func_name: "extract",
    });
    assert.equal(v.extractAnswer(" yes "), "YES");
    assert.deepEqual(await v.judge("YES", "YES", { question: "", imageFile: "x.png" }), {
      reward: 1,
      decidedBy: "rule",
    });
    assert.equal((await v.judge("YES", "NO", { question: "" })).reward, 0.5);
    assert.throws(
      () =>
        makeVerifier({ verifier_type: "file_based", judge_func_path: "judge.py", judge_func_name: "judge" }),
      (e: unknown) => e instanceof RewardConfigError && /not a JavaScript\/TypeScript module/.test(e.message),
    );
    // The GUI types keep their built-in judges when the configured file is upstream's Python one.
    const gui = makeVerifier({
      verifier_type: "OSWorld",
      judge_func_path: "osworld_judge.py",
      judge_func_name: "judge",
    });
    assert.equal(gui.type, "OSWorld");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
