import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { describeUnknown, detectType } from "./detect.ts";
import {
  makeBmp,
  makeDocx,
  makeImage,
  makeOdpShell,
  makeOleShell,
  makePdf,
  makePptx,
  makeVideo,
  tempDir,
} from "./test-media.ts";

describe("detectType: images by magic bytes", () => {
  for (const format of ["jpeg", "png", "webp", "gif", "tiff", "avif"] as const) {
    it(`recognises ${format}`, async () => {
      const type = detectType(await makeImage(format, 32, 32));
      assert.equal(type?.kind, "image");
      assert.equal(type?.format, format);
    });
  }
  it("recognises BMP (24 and 32 bit)", () => {
    assert.equal(detectType(makeBmp(4, 4, 24))?.format, "bmp");
    assert.equal(detectType(makeBmp(4, 4, 32))?.mimeType, "image/bmp");
  });
});

describe("detectType: video containers", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());
  for (const [extension, format] of [
    ["mp4", "mp4"],
    ["mov", "mov"],
    ["webm", "webm"],
    ["mkv", "mkv"],
    ["avi", "avi"],
    ["ts", "mpegts"],
    ["flv", "flv"],
    ["ogv", "ogg"],
  ] as const) {
    it(`recognises ${format}`, async () => {
      const path = await makeVideo(dir, { seconds: 0.2, fps: 5, extension });
      const type = detectType(new Uint8Array(await readFile(path)));
      assert.equal(type?.kind, "video");
      assert.equal(type?.format, format);
    });
  }
});

describe("detectType: documents", () => {
  it("recognises PDF", async () => {
    assert.equal(detectType(await makePdf(1))?.kind, "pdf");
  });
  it("tells PPTX, DOCX and ODP apart by their contents", () => {
    assert.equal(detectType(makePptx(["a"]))?.format, "pptx");
    assert.equal(detectType(makeDocx(["a"]))?.format, "docx");
    assert.equal(detectType(makeOdpShell())?.format, "odp");
  });
  it("tells legacy PPT from DOC by their OLE2 stream names", () => {
    assert.equal(detectType(makeOleShell("PowerPoint Document"))?.format, "ppt");
    assert.equal(detectType(makeOleShell("WordDocument"))?.format, "doc");
  });
  it("recognises flat ODF presentations", () => {
    const fodp = new TextEncoder().encode(
      '<?xml version="1.0"?><office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:mimetype="application/vnd.oasis.opendocument.presentation"/>',
    );
    assert.equal(detectType(fodp)?.format, "fodp");
  });
  it("ignores the file name: a PNG is a PNG whatever it is called", async () => {
    assert.equal(detectType(await makeImage("png", 8, 8))?.format, "png");
  });
});

describe("detectType: unknown input", () => {
  it("returns undefined and describes HTML, SVG, empty input and junk", () => {
    const html = new TextEncoder().encode("<!DOCTYPE html><html><body>hi</body></html>");
    assert.equal(detectType(html), undefined);
    assert.match(describeUnknown(html), /HTML page/);
    const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"/>');
    assert.match(describeUnknown(svg), /SVG/);
    assert.match(describeUnknown(new Uint8Array()), /empty/);
    assert.match(describeUnknown(new Uint8Array([1, 2, 3, 4])), /first bytes 01 02 03 04/);
  });
  it("describes HEIC as unsupported", () => {
    const heic = new Uint8Array(32);
    new DataView(heic.buffer).setUint32(0, 24);
    heic.set(new TextEncoder().encode("ftypheic"), 4);
    assert.equal(detectType(heic), undefined);
    assert.match(describeUnknown(heic), /HEIC/);
  });
  it("refuses a zip that is not an office document", () => {
    const zip = makeOdpShell().slice();
    // corrupt the mimetype so it is no longer ODF
    const at = new TextDecoder().decode(zip).indexOf("application/vnd");
    zip.set(new TextEncoder().encode("text/plain......"), at);
    assert.equal(detectType(zip), undefined);
    assert.match(describeUnknown(zip), /ZIP archive/);
  });
});

describe("detectType on arbitrary bytes", () => {
  it("never throws on random or truncated input", async () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const seeds = [
      makePptx(["x"]),
      makeOdpShell(),
      await makePdf(1),
      makeBmp(4, 4, 24),
      await makeImage("avif", 8, 8),
    ];
    for (let i = 0; i < 400; i++) {
      const base = seeds[i % seeds.length];
      const bytes = base.slice(0, Math.floor(random() * base.length));
      for (let k = 0; k < 3 && bytes.length > 0; k++)
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      detectType(bytes);
      describeUnknown(bytes);
    }
  });
});
