import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MediaError } from "./errors.ts";
import { cliPolicy, serverPolicy } from "./policy.ts";
import { passThroughUrl, prepareMedia, prepareMediaParts } from "./prepare.ts";
import { makeDocx, makeImage, makePdf, makeVideo, tempDir } from "./test-media.ts";

describe("prepareMedia", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let png: Uint8Array;
  let video: string;
  let server: Server;
  let base: string;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    png = await makeImage("png", 100, 60);
    await writeFile(join(dir, "photo.png"), png);
    await writeFile(join(dir, "doc.pdf"), await makePdf(2));
    video = await makeVideo(dir, { width: 64, height: 48, seconds: 1, fps: 10 });
    server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "image/png" });
      res.end(png);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    server.close();
    await cleanup();
  });

  it("prepares an image from a path, sized for the family", async () => {
    const media = await prepareMedia(join(dir, "photo.png"), { family: "glm-ocr", policy: cliPolicy() });
    assert.equal(media.kind, "image");
    if (media.kind === "image") assert.deepEqual([media.width, media.height], [112, 56]);
  });
  it("prepares a video into frame pairs", async () => {
    const media = await prepareMedia(video, { family: "glm-4.1v-thinking", policy: cliPolicy() });
    assert.equal(media.kind, "video");
    if (media.kind === "video") assert.equal(media.pairs.length, 1);
  });
  it("prepares a PDF into pages with the budget", async () => {
    const media = await prepareMedia(join(dir, "doc.pdf"), {
      policy: cliPolicy(),
      budget: { pages: "2", dpi: 72 },
    });
    assert.equal(media.kind, "document");
    if (media.kind === "document") assert.deepEqual(media.pageNumbers, [2]);
  });
  it("prepares a DOCX (bytes) through LibreOffice into page images", async () => {
    const media = await prepareMedia(
      { data: makeDocx(["Minutes of the meeting", "All agreed."]), name: "minutes.docx" },
      { budget: { dpi: 50 } },
    );
    assert.equal(media.kind, "document");
    if (media.kind === "document") {
      assert.equal(media.totalPages, 1);
      assert.ok(media.pages[0].height > media.pages[0].width, "a portrait page");
    }
  });
  it("prepares a fetched image and a data: URI under the server policy", async () => {
    const fetched = await prepareMedia(`${base}/x.png`, { policy: serverPolicy({ allowLoopback: true }) });
    assert.equal(fetched.kind, "image");
    const uri = `data:image/png;base64,${Buffer.from(png).toString("base64")}`;
    assert.equal((await prepareMedia(uri)).kind, "image");
  });
  it("refuses a source whose content is not the expected kind", async () => {
    await assert.rejects(
      prepareMedia(video, { kind: "image", policy: cliPolicy() }),
      (e: unknown) =>
        e instanceof MediaError &&
        e.code === "unsupported-type" &&
        /expected an image but this is a MP4 video/.test(e.message),
    );
  });
  it("refuses local paths under the default (server) policy", async () => {
    await assert.rejects(
      prepareMedia(join(dir, "photo.png")),
      (e: unknown) => e instanceof MediaError && e.code === "not-allowed",
    );
  });
  it("passes a URL through untouched for remote engines, and bytes as a data: URI", async () => {
    const url = await prepareMedia(`${base}/x.png`, {
      passThrough: true,
      policy: serverPolicy({ allowLoopback: true }),
    });
    assert.deepEqual(url, {
      kind: "passthrough",
      mediaKind: "image",
      mimeType: "image/png",
      url: `${base}/x.png`,
    });
    assert.equal(passThroughUrl(url.kind === "passthrough" ? url : assert.fail()), `${base}/x.png`);
    const local = await prepareMedia(video, { passThrough: true, policy: cliPolicy() });
    assert.equal(local.kind, "passthrough");
    if (local.kind === "passthrough") {
      assert.equal(local.mediaKind, "video");
      assert.deepEqual(local.bytes, new Uint8Array(await readFile(video)));
      assert.match(passThroughUrl(local), /^data:video\/mp4;base64,/);
    }
  });

  it("does not download a pass-through URL, but still refuses internal addresses", async () => {
    let hits = 0;
    server.on("request", () => hits++);
    const media = await prepareMedia("http://127.0.0.1:9/clip", {
      passThrough: true,
      kind: "video",
      policy: serverPolicy({ allowLoopback: true }),
    });
    assert.deepEqual(media, {
      kind: "passthrough",
      mediaKind: "video",
      mimeType: "application/octet-stream",
      url: "http://127.0.0.1:9/clip",
    });
    await prepareMedia(`${base}/y.mp4`, { passThrough: true, policy: serverPolicy({ allowLoopback: true }) });
    assert.equal(hits, 0);
    await assert.rejects(
      prepareMedia("http://169.254.169.254/latest/meta-data", { passThrough: true }),
      (e: unknown) => e instanceof MediaError && e.code === "blocked-address",
    );
    await assert.rejects(
      prepareMedia("ftp://example.com/a.png", { passThrough: true }),
      (e: unknown) =>
        e instanceof MediaError && e.code === "not-allowed" && /ftp: URLs are not supported/.test(e.message),
    );
  });
  it("gives a chat runtime a list: one image, one video, or a page per document page", async () => {
    const images = await prepareMediaParts(join(dir, "photo.png"), { kind: "image", policy: cliPolicy() });
    assert.equal(images.length, 1);
    const pages = await prepareMediaParts(join(dir, "doc.pdf"), {
      kind: "image",
      policy: cliPolicy(),
      budget: { dpi: 36 },
    });
    assert.deepEqual(
      pages.map((p) => p.kind),
      ["image", "image"],
    );
    const videos = await prepareMediaParts(video, { kind: "video", policy: cliPolicy() });
    assert.equal(videos[0].kind, "video");
    await assert.rejects(
      prepareMediaParts(video, { kind: "image", policy: cliPolicy() }),
      (e: unknown) => e instanceof MediaError && e.code === "unsupported-type",
    );
  });
  it("hands a document's note (pages left out) to onNote", async () => {
    const notes: string[] = [];
    const pages = await prepareMediaParts(join(dir, "doc.pdf"), {
      kind: "image",
      policy: cliPolicy(),
      budget: { dpi: 36, maxPages: 1 },
      onNote: (note) => notes.push(note),
    });
    assert.equal(pages.length, 1);
    assert.equal(notes.length, 1);
    assert.match(notes[0], /Pages 2 of .*doc\.pdf were left out/);
    const quiet: string[] = [];
    await prepareMediaParts(join(dir, "doc.pdf"), {
      policy: cliPolicy(),
      budget: { dpi: 36 },
      onNote: (n) => quiet.push(n),
    });
    assert.deepEqual(quiet, []);
  });
  it("stops when the caller aborts", async () => {
    const controller = new AbortController();
    controller.abort(new Error("client went away"));
    await assert.rejects(
      prepareMedia(video, { policy: cliPolicy(), signal: controller.signal }),
      /client went away/,
    );
  });
});
