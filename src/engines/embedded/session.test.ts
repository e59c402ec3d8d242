import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { writeTinyModel } from "../tiny/model.ts";
import { LlamaSession } from "./session.ts";

const dir = mkdtempSync(join(tmpdir(), "glmv-session-"));
let session: LlamaSession;

before(async () => {
  const { modelPath } = writeTinyModel(dir, { script: "Ça va ✓ très bien." });
  session = await LlamaSession.open({ model: modelPath, contextSize: 128, threads: 1 });
});
after(() => {
  session?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("tokenizes with special tokens parsed and detokenizes multi-byte text split across byte tokens", () => {
  const ids = session.tokenize("[gMASK]<sop><|user|>\ncafé ✓");
  assert.equal(ids.length > 5, true);
  assert.equal(session.detokenize(ids), "[gMASK]<sop><|user|>\ncafé ✓");
  // "✓" is three byte tokens in the tiny vocabulary: each alone is partial UTF-8.
  const check = session.tokenize("✓");
  assert.equal(check.length, 3);
  assert.equal(session.pieceBytes(check[0]).length, 1);
  assert.equal(session.detokenize(check), "✓");
});

test("a scripted non-ASCII answer streams as whole characters", () => {
  const pieces: string[] = [];
  const r = session.generate(
    { prompt: "[gMASK]<sop><|user|>\nHi<|assistant|>\n", media: [], options: { temperature: 0 } },
    null,
    (t) => pieces.push(t),
  );
  assert.equal(r.text, "Ça va ✓ très bien.");
  assert.equal(pieces.join(""), r.text);
  assert.ok(pieces.every((p) => !p.includes("\uFFFD")));
  assert.equal(session.info.family, "glm-4.6v-flash");
  assert.ok(session.cachedItems > 0);
  session.clearCache();
  assert.equal(session.cachedItems, 0);
});
