import assert from "node:assert/strict";
import { describe, it } from "node:test";
import sharp from "sharp";
import { MediaError } from "./errors.ts";
import { dropAlphaOnWhite, prepareImage, probeImage } from "./image.ts";
import { makeAnimatedGif, makeBmp, makeImage, pixelAt } from "./test-media.ts";

const near = (actual: number[], expected: number[], tolerance = 40) =>
  actual.every((v, i) => Math.abs(v - expected[i]) <= tolerance);

describe("prepareImage: every format to RGB on the GLM-V grid", () => {
  for (const format of ["jpeg", "png", "webp", "gif", "tiff", "avif"] as const) {
    it(`${format}: 100×60 → 112×56 RGB, left red, right blue`, async () => {
      const image = await prepareImage(await makeImage(format, 100, 60), { family: "glm-ocr" });
      assert.equal(image.kind, "image");
      assert.deepEqual(
        [image.width, image.height, image.originalWidth, image.originalHeight],
        [112, 56, 100, 60],
      );
      assert.equal(image.data.length, 112 * 56 * 3);
      assert.ok(near(pixelAt(image, 5, 28), [255, 0, 0]), `left pixel ${pixelAt(image, 5, 28)}`);
      assert.ok(near(pixelAt(image, 106, 28), [0, 0, 255]), `right pixel ${pixelAt(image, 106, 28)}`);
    });
  }
  for (const bpp of [1, 8, 24, 32] as const) {
    it(`BMP ${bpp}-bit decodes with our decoder`, async () => {
      const image = await prepareImage(makeBmp(100, 60, bpp));
      assert.deepEqual([image.width, image.height], [112, 56]);
      assert.ok(near(pixelAt(image, 5, 28), [255, 0, 0]));
      // 32-bit: the right half is transparent, so flattened to white
      assert.ok(near(pixelAt(image, 106, 28), bpp === 32 ? [255, 255, 255] : [0, 0, 255]));
    });
  }
  it("16-bit PNG and greyscale come out as 8-bit RGB", async () => {
    const grey16 = await sharp({ create: { width: 56, height: 56, channels: 3, background: "#808080" } })
      .toColourspace("rgb16")
      .png()
      .toBuffer();
    const a = await prepareImage(new Uint8Array(grey16));
    assert.equal(a.data.length, 84 * 84 * 3);
    assert.ok(near(pixelAt(a, 40, 40), [128, 128, 128], 3));
    const bw = await sharp({ create: { width: 56, height: 56, channels: 3, background: "#404040" } })
      .toColourspace("b-w")
      .png()
      .toBuffer();
    const b = await prepareImage(new Uint8Array(bw));
    assert.equal(b.data.length, 84 * 84 * 3);
  });
});

describe("prepareImage: orientation, alpha, animation", () => {
  it("applies EXIF orientation 6 before measuring: 120×60 stored becomes 60×120 shown, left side on top", async () => {
    const bytes = await makeImage("jpeg", 120, 60, { orientation: 6 });
    assert.deepEqual(await probeImage(bytes).then((i) => [i.width, i.height]), [60, 120]);
    const image = await prepareImage(bytes);
    assert.deepEqual(
      [image.originalWidth, image.originalHeight, image.width, image.height],
      [60, 120, 56, 112],
    );
    assert.ok(near(pixelAt(image, 28, 5), [255, 0, 0]), `top ${pixelAt(image, 28, 5)}`);
    assert.ok(near(pixelAt(image, 28, 106), [0, 0, 255]), `bottom ${pixelAt(image, 28, 106)}`);
  });
  it("applies every EXIF orientation (1–8) exactly as libvips' autoOrient does", async () => {
    // An asymmetric 4×2 grid of colour blocks, so each mirror/rotation gives a different picture.
    const w = 112;
    const h = 56;
    const raw = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const block = Math.floor(x / 28) + 4 * Math.floor(y / 28);
        raw.set([block * 30, (block * 70) % 256, 255 - block * 25], (y * w + x) * 3);
      }
    }
    for (let orientation = 1; orientation <= 8; orientation++) {
      const png = new Uint8Array(
        await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
          .withMetadata({ orientation })
          .png()
          .toBuffer(),
      );
      const ours = await prepareImage(png, {
        size: orientation >= 5 ? { width: h, height: w } : { width: w, height: h },
      });
      const expected = await sharp(png).autoOrient().raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual(
        [ours.width, ours.height],
        [expected.info.width, expected.info.height],
        `orientation ${orientation}`,
      );
      assert.deepEqual(Buffer.from(ours.data), expected.data, `orientation ${orientation}`);
    }
  });
  it("keeps pixel values of images tagged with an ICC profile (as the reference processor does)", async () => {
    const p3 = new Uint8Array(
      await sharp({ create: { width: 56, height: 56, channels: 3, background: { r: 200, g: 100, b: 50 } } })
        .withIccProfile("p3")
        .png()
        .toBuffer(),
    );
    assert.ok((await sharp(p3).metadata()).icc, "the test image carries a profile");
    // The file stores the colour converted to P3; the stored values, not a conversion back, reach the model.
    const stored = Array.from((await sharp(p3, { ignoreIcc: true }).raw().toBuffer()).subarray(0, 3));
    assert.notDeepEqual(stored, [200, 100, 50]);
    assert.deepEqual(pixelAt(await prepareImage(p3), 40, 40), stored);
  });
  it("converts CMYK JPEGs to RGB", async () => {
    const cmyk = new Uint8Array(
      await sharp({ create: { width: 56, height: 56, channels: 3, background: "#ff0000" } })
        .toColourspace("cmyk")
        .jpeg()
        .toBuffer(),
    );
    assert.equal((await sharp(cmyk).metadata()).space, "cmyk");
    const [r, g, b] = pixelAt(await prepareImage(cmyk), 40, 40);
    assert.ok(r > 180 && g < 90 && b < 90, `${[r, g, b]}`);
  });
  it("flattens transparency onto white (PNG and WebP)", async () => {
    for (const format of ["png", "webp"] as const) {
      const image = await prepareImage(await makeImage(format, 100, 60, { alpha: true }));
      assert.ok(near(pixelAt(image, 5, 28), [255, 0, 0]));
      assert.ok(near(pixelAt(image, 106, 28), [255, 255, 255], 10), `${format}: ${pixelAt(image, 106, 28)}`);
    }
  });
  it("takes the first frame of an animated GIF", async () => {
    const image = await prepareImage(await makeAnimatedGif(56, 56, 3));
    assert.deepEqual([image.width, image.height, image.originalHeight], [84, 84, 56]);
    assert.ok(near(pixelAt(image, 40, 40), [255, 0, 0]));
  });
  it("resizes big images within the family budget (6000×4000 → 2688×1792 for GLM-OCR)", async () => {
    const bytes = new Uint8Array(
      await sharp({ create: { width: 6000, height: 4000, channels: 3, background: "#123456" } })
        .jpeg()
        .toBuffer(),
    );
    const image = await prepareImage(bytes, { family: "glm-ocr" });
    assert.deepEqual([image.width, image.height], [2688, 1792]);
  });
  it("resizes to an explicit grid size when given", async () => {
    const image = await prepareImage(await makeImage("png", 100, 60), { size: { width: 56, height: 28 } });
    assert.deepEqual([image.width, image.height], [56, 28]);
  });
});

describe("prepareImage: errors", () => {
  const isMediaError = (code: string, pattern?: RegExp) => (e: unknown) =>
    e instanceof MediaError && e.code === code && (!pattern || pattern.test(e.message));

  it("refuses a decompression bomb from its header, before decoding", async () => {
    const bytes = await makeImage("png", 2000, 1000);
    await assert.rejects(
      prepareImage(bytes, { maxInputPixels: 1_000_000, input: "bomb.png" }),
      isMediaError("too-many-pixels", /^bomb\.png: .*2000×1000.*maxInputPixels/),
    );
  });
  it("reports truncated JPEG and PNG as corrupt", async () => {
    for (const format of ["jpeg", "png"] as const) {
      const bytes = await makeImage(format, 200, 100);
      await assert.rejects(
        prepareImage(bytes.subarray(0, Math.floor(bytes.length * 0.6)), { input: `cut.${format}` }),
        isMediaError("corrupt", /truncated or corrupt/),
      );
    }
  });
  it("refuses non-images with a description of what they are", async () => {
    await assert.rejects(
      prepareImage(new TextEncoder().encode("<html><body>not an image</body></html>"), { input: "page" }),
      isMediaError("unsupported-type", /^page: this is an HTML page.*Use a JPEG, PNG/),
    );
  });
  it("refuses an aspect ratio over 200", async () => {
    const bytes = await makeImage("png", 5, 2000);
    await assert.rejects(prepareImage(bytes), isMediaError("aspect-ratio", /200/));
  });
});

describe("dropAlphaOnWhite", () => {
  it("composites RGBA on white", () => {
    const rgb = dropAlphaOnWhite(new Uint8Array([255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 128]), 3);
    assert.deepEqual(Array.from(rgb), [255, 0, 0, 255, 255, 255, 127, 127, 127]);
  });
});
