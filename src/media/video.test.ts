import assert from "node:assert/strict";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { detectType } from "./detect.ts";
import { MediaError } from "./errors.ts";
import { smartResize, VIDEO_BUDGETS } from "./smart-resize.ts";
import { makeVideo, pixelAt, rampLevel, tempDir } from "./test-media.ts";
import {
  extractFrames,
  planVideo,
  prepareVideo,
  probeVideo,
  representativeFrames,
  selectExpression,
} from "./video.ts";

const isMediaError = (code: string, pattern?: RegExp) => (e: unknown) =>
  e instanceof MediaError && e.code === code && (!pattern || pattern.test(e.message));

describe("prepareVideo", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let ramp: string;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    ramp = await makeVideo(dir, { width: 128, height: 96, seconds: 3, fps: 10, ramp: true });
  });
  after(() => cleanup());

  it("probes size, rate, duration and frame count", async () => {
    const info = await probeVideo(ramp);
    assert.deepEqual(
      [info.width, info.height, info.fps, info.totalFrames, info.duration],
      [128, 96, 10, 30, 3],
    );
    assert.equal(info.estimatedFrameCount, false);
  });

  it("GLM-4.1V: 2 fps → frames 0,5,10,15,20,25 in 3 pairs at 0,1,2 s, sized with num_frames = 6", async () => {
    const video = await prepareVideo(ramp, { family: "glm-4.1v-thinking" });
    assert.equal(video.kind, "video");
    assert.deepEqual(
      video.pairs.map((p) => p.timestamp),
      [0, 1, 2],
    );
    const size = smartResize(96, 128, { ...VIDEO_BUDGETS["glm-4.1v-thinking"], numFrames: 6 });
    const expected = [0, 5, 10, 15, 20, 25];
    video.pairs.forEach((pair, k) => {
      pair.frames.forEach((frame, j) => {
        assert.deepEqual([frame.width, frame.height], [size.width, size.height]);
        assert.equal(frame.data.length, size.width * size.height * 3);
        const [r, g, b] = pixelAt(frame, 10, 10);
        const want = rampLevel(expected[k * 2 + j]);
        assert.ok(Math.abs(r - want) <= 3 && r === g && g === b, `pair ${k} frame ${j}: ${r} vs ${want}`);
      });
    });
    assert.deepEqual([video.originalWidth, video.originalHeight, video.duration], [128, 96, 3]);
  });

  it("GLM-4.6V: 3 fps pairs for a 3 s clip → 18 frames (0, 2, 4, 5, 7, ...) in 9 pairs", async () => {
    const video = await prepareVideo(ramp, { family: "glm-4.6v" });
    assert.equal(video.pairs.length, 9);
    assert.deepEqual(
      video.pairs.slice(0, 3).map((p) => Math.round(p.timestamp * 10) / 10),
      [0, 0.4, 0.7],
    );
    const second = pixelAt(video.pairs[0].frames[1], 5, 5)[0];
    assert.ok(Math.abs(second - rampLevel(2)) <= 3, `frame index 2 expected, level ${second}`);
  });

  it("repeats the last frame when the sample count is odd", async () => {
    const odd = await makeVideo(dir, { width: 64, height: 48, seconds: 2.5, fps: 10, ramp: true });
    const video = await prepareVideo(odd, { family: "glm-4.1v-thinking" });
    assert.equal(video.pairs.length, 3);
    const last = video.pairs[2];
    assert.deepEqual(last.frames[0].data, last.frames[1].data);
    assert.equal(last.timestamp, 2);
  });

  it("reads WebM (no frame count in the container) and bytes", async () => {
    const webm = await makeVideo(dir, { width: 64, height: 48, seconds: 1, fps: 10, extension: "webm" });
    const info = await probeVideo(webm);
    assert.equal(info.estimatedFrameCount, true);
    assert.equal(info.totalFrames, 10);
    const video = await prepareVideo(new Uint8Array(await readFile(webm)), { family: "glm-4.1v-thinking" });
    assert.equal(video.pairs.length, 1);
  });

  for (const extension of ["mov", "mkv", "avi", "ts", "flv", "ogv"]) {
    it(`reads ${extension.toUpperCase()} through the same path, detected by content`, async () => {
      const path = await makeVideo(dir, { width: 64, height: 48, seconds: 1, fps: 10, extension });
      const bytes = new Uint8Array(await readFile(path));
      assert.equal(detectType(bytes)?.kind, "video");
      const video = await prepareVideo(bytes, { family: "glm-4.1v-thinking" });
      assert.equal(video.pairs.length, 1);
      assert.deepEqual([video.originalWidth, video.originalHeight], [64, 48]);
    });
  }

  it("applies the container's rotation: a 64×48 clip rotated 90° is 48×64", async () => {
    const rotated = await makeVideo(dir, { width: 64, height: 48, seconds: 1, fps: 4, rotate: 90 });
    const info = await probeVideo(rotated);
    assert.deepEqual([info.width, info.height, Math.abs(info.rotation)], [48, 64, 90]);
    const video = await prepareVideo(rotated, { family: "glm-4.1v-thinking" });
    const frame = video.pairs[0].frames[0];
    assert.ok(frame.height > frame.width);
  });

  it("sizes frames with the video budget: the plan shrinks frames as T grows", () => {
    const info = { width: 1920, height: 1080, duration: 60, fps: 30, totalFrames: 1800 };
    const plan = planVideo(info, { family: "glm-4.1v-thinking" });
    assert.equal(plan.indices.length, 120);
    assert.deepEqual(plan.size, { width: 812, height: 448 });
    assert.equal(plan.tokens, 27_840);
    assert.equal(plan.pairTimestamps.length, 60);
  });

  /** Spec §7 table (GLM-4.1V rule, 47,040,000 budget): frames, pairs, frame size, total tokens. */
  const table: Array<[number, number, number, number, number, string, number]> = [
    [1920, 1080, 10, 20, 10, "1932×1092", 26_910],
    [1920, 1080, 60, 120, 60, "812×448", 27_840],
    [1280, 720, 120, 240, 120, "588×308", 27_720],
    [1920, 1080, 300, 600, 300, "364×196", 27_300],
    [1920, 1080, 1200, 600, 300, "364×196", 27_300],
    [640, 360, 5, 10, 5, "644×364", 1_495],
  ];
  for (const [width, height, seconds, frames, pairs, size, tokens] of table) {
    it(`plans ${width}×${height}, ${seconds} s at 30 fps: ${frames} frames, ${pairs} pairs of ${size}, ${tokens} tokens`, () => {
      const plan = planVideo(
        { width, height, duration: seconds, fps: 30, totalFrames: seconds * 30 },
        { family: "glm-4.1v-thinking" },
      );
      assert.equal(plan.indices.length, frames);
      assert.equal(plan.pairTimestamps.length, pairs);
      assert.equal(`${plan.size.width}×${plan.size.height}`, size);
      assert.equal(plan.tokens, tokens);
    });
  }

  it("gives image-only engines one frame per pair with its timestamp", async () => {
    const video = await prepareVideo(ramp, { family: "glm-4.1v-thinking" });
    const reps = representativeFrames(video);
    assert.deepEqual(
      reps.map((r) => r.timestamp),
      [0, 1, 2],
    );
    assert.equal(reps[1].image, video.pairs[1].frames[0]);
  });

  it("extracts 640 frames in one ffmpeg pass (the GLM-4.6V cap)", async () => {
    const many = await makeVideo(dir, { width: 32, height: 32, seconds: 7, fps: 100 });
    const info = await probeVideo(many);
    const indices = Array.from({ length: 640 }, (_, i) => i);
    const plan = { indices, size: { width: 28, height: 28 }, pairTimestamps: [], tokens: 0 };
    const frames = await extractFrames(many, plan);
    assert.equal(frames.length, 640);
    assert.equal(info.totalFrames, 700);
  });

  it("assumes 24 fps when the container has no frame rate, and says so in a note (spec §7)", async () => {
    const fakeProbe = join(dir, "ffprobe-without-rate.sh");
    const probe = {
      streams: [{ codec_type: "video", codec_name: "h264", width: 128, height: 96, nb_frames: "30" }],
      format: { duration: "3.0" },
    };
    await writeFile(fakeProbe, `#!/bin/sh\necho '${JSON.stringify(probe)}'\n`);
    await chmod(fakeProbe, 0o755);
    const video = await prepareVideo(ramp, {
      family: "glm-4.1v-thinking",
      ffprobePath: fakeProbe,
      input: "clip",
    });
    assert.match(String(video.note), /^clip has no frame-rate metadata: 24 fps was assumed/);
    assert.equal(video.pairs[1].timestamp, 1); // frame 24 at the assumed 24 fps
    const measured = await prepareVideo(ramp, { family: "glm-4.1v-thinking" });
    assert.equal(measured.note, undefined);
  });

  it("builds a select expression with escaped commas", () => {
    assert.equal(selectExpression([0, 5, 5]), "(eq(n\\,0)+eq(n\\,5))");
    assert.equal(selectExpression([0, 5, 9]), "(eq(n\\,0)+(eq(n\\,5)+eq(n\\,9)))");
  });
});

describe("prepareVideo: errors", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  it("reports a file without a video stream", async () => {
    const audio = await makeVideo(dir, { seconds: 0.5, audioOnly: true });
    await assert.rejects(
      prepareVideo(audio, { input: "song.mp4" }),
      isMediaError("no-video-stream", /^song\.mp4: /),
    );
  });
  it("reports a zero-length video", async () => {
    const empty = await makeVideo(dir, { seconds: 1, empty: true });
    await assert.rejects(prepareVideo(empty), isMediaError("empty-video", /zero length/));
  });
  it("reports a corrupt video", async () => {
    const good = await makeVideo(dir, { seconds: 1 });
    const bytes = await readFile(good);
    const broken = join(dir, "broken.mp4");
    await writeFile(broken, bytes.subarray(0, 200));
    await assert.rejects(prepareVideo(broken), isMediaError("corrupt", /ffprobe cannot read/));
  });
  it("never lets ffmpeg follow a playlist to another file or URL", async () => {
    const good = await makeVideo(dir, { seconds: 1 });
    const playlist = join(dir, "list.m3u8");
    await writeFile(
      playlist,
      `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile://${good}\n#EXT-X-ENDLIST\n`,
    );
    await assert.rejects(probeVideo(playlist), isMediaError("corrupt"));
  });
  it("refuses videos with oversized frames before decoding", async () => {
    const good = await makeVideo(dir, { width: 64, height: 48, seconds: 1 });
    await assert.rejects(
      prepareVideo(good, { maxInputPixels: 1000 }),
      isMediaError("too-many-pixels", /64×48 = 3072 pixels/),
    );
  });
  it("says how to install ffmpeg when it is missing", async () => {
    const good = await makeVideo(dir, { seconds: 1 });
    await assert.rejects(
      prepareVideo(good, { ffprobePath: join(dir, "no-such-ffprobe") }),
      isMediaError("ffmpeg-missing", /apt-get install ffmpeg/),
    );
    const info = await probeVideo(good);
    const plan = planVideo(info, { family: "glm-4.1v-thinking" });
    const { extractFrames } = await import("./video.ts");
    await assert.rejects(
      extractFrames(good, plan, { ffmpegPath: join(dir, "no-such-ffmpeg") }),
      isMediaError("ffmpeg-missing", /GLMV_FFMPEG/),
    );
  });
});
