import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MediaError } from "./errors.ts";
import { tempDir } from "./test-media.ts";
import { FFMPEG, lastLine, runTool, SOFFICE, toolCommand } from "./tools.ts";

describe("runTool", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let hanging: string;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    hanging = join(dir, "hang");
    await writeFile(hanging, "#!/bin/sh\necho started\nexec sleep 30\n", { mode: 0o755 });
  });
  after(() => cleanup());

  it("collects stdout and stderr and returns the exit code", async () => {
    const result = await runTool(FFMPEG, ["-c", "printf abc; echo oops >&2; exit 3"], {
      command: "sh",
      timeoutMs: 5000,
      input: "x",
    });
    assert.equal(result.stdout.toString(), "abc");
    assert.equal(lastLine(result.stderr), "oops");
    assert.equal(result.code, 3);
  });
  it("caps stdout and kills the tool past the cap", async () => {
    const result = await runTool(FFMPEG, ["-c", "yes"], {
      command: "sh",
      timeoutMs: 5000,
      input: "x",
      maxStdout: 1000,
    });
    assert.ok(result.stdout.length <= 1000);
    assert.equal(result.code, null);
  });
  it("kills a hanging tool at the time limit", async () => {
    await assert.rejects(
      runTool(FFMPEG, [], { command: hanging, timeoutMs: 100, input: "clip.mp4" }),
      (e: unknown) => e instanceof MediaError && e.code === "timeout" && e.message.startsWith("clip.mp4:"),
    );
  });
  it("kills a running tool when the caller aborts", async () => {
    const controller = new AbortController();
    const pending = runTool(FFMPEG, [], {
      command: hanging,
      timeoutMs: 10_000,
      input: "x",
      signal: controller.signal,
    });
    setImmediate(() => controller.abort(new Error("aborted by caller")));
    await assert.rejects(pending, /aborted by caller/);
  });
  it("reports a missing tool with the install hint, and honours the env override", async () => {
    await assert.rejects(
      runTool(SOFFICE, [], { command: join(dir, "missing"), timeoutMs: 1000, input: "deck.pptx" }),
      (e: unknown) =>
        e instanceof MediaError && e.code === "libreoffice-missing" && /GLMV_SOFFICE/.test(e.message),
    );
    process.env.GLMV_FFMPEG = "/opt/ffmpeg/bin/ffmpeg";
    try {
      assert.equal(toolCommand(FFMPEG), "/opt/ffmpeg/bin/ffmpeg");
      assert.equal(toolCommand(FFMPEG, "ffmpeg7"), "ffmpeg7");
    } finally {
      delete process.env.GLMV_FFMPEG;
    }
    assert.equal(toolCommand(FFMPEG), "ffmpeg");
  });
});
