import assert from "node:assert/strict";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { PreparedMedia } from "../media/types.ts";
import type { MediaPreparer } from "./embedded.ts";
import { cachingMediaPreparer } from "./media.ts";

function counting(): { preparer: MediaPreparer; calls: string[] } {
  const calls: string[] = [];
  const preparer: MediaPreparer = async (reference) => {
    calls.push(reference.url);
    if (reference.url.includes("bad")) throw new Error("corrupt");
    return [
      {
        kind: "image",
        width: 28,
        height: 28,
        data: new Uint8Array(28 * 28 * 3),
        originalWidth: 1,
        originalHeight: 1,
      } as PreparedMedia,
    ];
  };
  return { preparer, calls };
}

test("local files and data: URIs are prepared once per content; URLs and failures are not cached", async () => {
  const dir = mkdtempSync(join(tmpdir(), "glmv-cache-"));
  try {
    const file = join(dir, "a.png");
    writeFileSync(file, "one");
    const { preparer, calls } = counting();
    const cached = cachingMediaPreparer(preparer);
    const ctx = { family: "glm-4.6v-flash" as const };
    const first = await cached({ kind: "image", url: file }, ctx);
    assert.equal(await cached({ kind: "image", url: file }, ctx), first);
    await cached({ kind: "image", url: `file://${file}` }, ctx);
    assert.equal(calls.length, 1, "same file, same content: prepared once");
    writeFileSync(file, "changed!");
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    await cached({ kind: "image", url: file }, ctx);
    assert.equal(calls.length, 2, "a changed file is prepared again");
    await cached({ kind: "image", url: "data:image/png;base64,AAAA" }, ctx);
    await cached({ kind: "image", url: "data:image/png;base64,AAAA" }, ctx);
    assert.equal(calls.length, 3);
    await cached({ kind: "image", url: "https://example.com/a.png" }, ctx);
    await cached({ kind: "image", url: "https://example.com/a.png" }, ctx);
    assert.equal(calls.length, 5, "remote URLs are fetched each time");
    const bad = join(dir, "bad.png");
    writeFileSync(bad, "x");
    await assert.rejects(cached({ kind: "image", url: bad }, ctx), /corrupt/);
    await assert.rejects(cached({ kind: "image", url: bad }, ctx), /corrupt/);
    assert.equal(calls.filter((u) => u === bad).length, 2, "failures are retried, not remembered");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the cache keeps only the most recently used entries", async () => {
  const { preparer, calls } = counting();
  const cached = cachingMediaPreparer(preparer, 2);
  const ctx = { family: "glm-4.6v-flash" as const };
  const uri = (n: number) => `data:image/png;base64,${n}`;
  await cached({ kind: "image", url: uri(1) }, ctx);
  await cached({ kind: "image", url: uri(2) }, ctx);
  await cached({ kind: "image", url: uri(1) }, ctx); // 1 is now the most recent
  await cached({ kind: "image", url: uri(3) }, ctx); // evicts 2
  await cached({ kind: "image", url: uri(1) }, ctx);
  await cached({ kind: "image", url: uri(2) }, ctx);
  assert.deepEqual(calls, [uri(1), uri(2), uri(3), uri(2)]);
});
