import assert from "node:assert/strict";
import { test } from "node:test";
import { glmvHome, hubEndpoint, hubToken, isOffline } from "./config.ts";
import {
  createProgressPrinter,
  formatBytes,
  formatDuration,
  formatProgressLine,
  SpeedMeter,
} from "./progress.ts";

test("formatBytes and formatDuration", () => {
  assert.equal(formatBytes(12), "12 B");
  assert.equal(formatBytes(980_055_680), "980 MB");
  assert.equal(formatBytes(6_166_577_888), "6.17 GB");
  assert.equal(formatBytes(15_500), "15.5 kB");
  assert.equal(formatDuration(45), "45s");
  assert.equal(formatDuration(187), "3m07s");
  assert.equal(formatDuration(7500), "2h05m");
  assert.equal(formatDuration(Number.POSITIVE_INFINITY), "--");
});

test("the progress line shows size, percent, speed and ETA", () => {
  const line = formatProgressLine(
    {
      file: "dir/m-Q4_K_M.gguf",
      fileIndex: 1,
      fileCount: 2,
      received: 500e6,
      total: 1e9,
      resumedFrom: 0,
      done: false,
      bytesPerSecond: 50e6,
    },
    10,
  );
  assert.equal(line, "[1/2] m-Q4_K_M.gguf [#####-----]  50%  500 MB / 1.00 GB  50.0 MB/s  ETA 10s");
});

test("speed is measured over a sliding window", () => {
  const meter = new SpeedMeter(1000);
  assert.equal(meter.sample(0, 0), 0);
  assert.equal(meter.sample(500, 1000), 2000);
  assert.equal(meter.sample(1000, 2000), 2000);
  assert.equal(meter.sample(2000, 2000), 0); // stalled for the whole window
});

function capture() {
  const chunks: string[] = [];
  return { stream: { write: (s: string) => chunks.push(s) } as unknown as NodeJS.WritableStream, chunks };
}

test("non-TTY: one plain line per interval and a final line per file", () => {
  let t = 0;
  const { stream, chunks } = capture();
  const print = createProgressPrinter(stream, { isTTY: false, intervalMs: 5000, now: () => t });
  const base = { file: "a.gguf", fileIndex: 1, fileCount: 1, total: 100, resumedFrom: 0, done: false };
  for (let i = 1; i <= 10; i++) {
    t = i * 1000;
    print({ ...base, received: i * 9 });
  }
  t = 11_000;
  print({ ...base, received: 100, done: true });
  assert.equal(chunks.length, 3); // t=1s (first), t=6s, final
  assert.ok(chunks.every((c) => c.endsWith("\n") && !c.includes("\r")));
  assert.match(chunks[2], /100%.*done/);
});

test("TTY: redraws in place with carriage returns", () => {
  let t = 0;
  const { stream, chunks } = capture();
  const print = createProgressPrinter(stream, { isTTY: true, now: () => t, columns: 80 });
  const base = { file: "a.gguf", fileIndex: 1, fileCount: 1, total: 100, resumedFrom: 0, done: false };
  print({ ...base, received: 10 });
  t = 50;
  print({ ...base, received: 20 }); // throttled
  t = 200;
  print({ ...base, received: 100, done: true });
  assert.equal(chunks.length, 2);
  assert.ok(chunks[0].startsWith("\r") && !chunks[0].endsWith("\n"));
  assert.ok(chunks[1].endsWith("\n"));
});

test("config: GLMV_HOME, XDG cache, endpoint, offline flags, token", () => {
  assert.equal(glmvHome({ GLMV_HOME: "/g" }), "/g");
  assert.equal(glmvHome({ XDG_CACHE_HOME: "/x" }), "/x/glmv");
  assert.equal(glmvHome({ HOME: "/h" }), "/h/.cache/glmv");
  assert.equal(hubEndpoint({ HF_ENDPOINT: "https://hf-mirror.com/" }), "https://hf-mirror.com");
  assert.equal(hubEndpoint({}), "https://huggingface.co");
  assert.equal(isOffline({ GLMV_OFFLINE: "1" }), true);
  assert.equal(isOffline({ HF_HUB_OFFLINE: "TRUE" }), true);
  assert.equal(isOffline({ HF_HUB_OFFLINE: "0" }), false);
  assert.equal(hubToken({ HF_TOKEN: " abc " }), "abc");
  assert.equal(hubToken({ HF_TOKEN_PATH: "/nonexistent/token" }), undefined);
});
