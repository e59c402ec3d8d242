import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeBmp, readBmpSize } from "./bmp.ts";
import { MediaError } from "./errors.ts";
import { makeBmp } from "./test-media.ts";

function px(raw: { width: number; channels: number; data: Uint8Array }, x: number, y: number): number[] {
  const o = (y * raw.width + x) * raw.channels;
  return Array.from(raw.data.subarray(o, o + raw.channels));
}

describe("decodeBmp", () => {
  for (const bpp of [1, 8, 24] as const) {
    it(`decodes ${bpp}-bit bottom-up: left red, right blue`, () => {
      const raw = decodeBmp(makeBmp(10, 6, bpp), 1e6);
      assert.deepEqual([raw.width, raw.height, raw.channels], [10, 6, 3]);
      for (const y of [0, 5]) {
        assert.deepEqual(px(raw, 0, y), [255, 0, 0]);
        assert.deepEqual(px(raw, 9, y), [0, 0, 255]);
      }
    });
  }
  it("decodes 32-bit top-down with an alpha mask", () => {
    const raw = decodeBmp(makeBmp(4, 3, 32), 1e6);
    assert.equal(raw.channels, 4);
    assert.deepEqual(px(raw, 0, 0), [255, 0, 0, 255]);
    assert.deepEqual(px(raw, 3, 2), [0, 0, 255, 0]);
  });
  it("decodes RLE8", () => {
    // 4×2, palette [red, blue]; row 0 (bottom): 4×index1; row 1: 2×index0 then absolute run [1,0,...]
    const header = makeBmp(4, 2, 8);
    const dv = new DataView(header.buffer);
    const offset = dv.getUint32(10, true);
    const rle = [4, 1, 0, 0, 2, 0, 0, 3, 1, 1, 0, 0, 0, 0, 0, 1];
    const bytes = new Uint8Array(offset + rle.length);
    bytes.set(header.subarray(0, offset));
    bytes.set(rle, offset);
    new DataView(bytes.buffer).setUint32(30, 1, true);
    const raw = decodeBmp(bytes, 1e6);
    assert.deepEqual(px(raw, 0, 1), [0, 0, 255]); // bottom row: blue
    assert.deepEqual(px(raw, 0, 0), [255, 0, 0]);
    assert.deepEqual(px(raw, 3, 0), [0, 0, 255]);
  });
  it("checks the pixel guard from the header before allocating", () => {
    const bytes = makeBmp(4, 4, 24);
    new DataView(bytes.buffer).setInt32(18, 100_000, true);
    new DataView(bytes.buffer).setInt32(22, 100_000, true);
    assert.deepEqual(readBmpSize(bytes), { width: 100_000, height: 100_000 });
    assert.throws(
      () => decodeBmp(bytes, 1e8, "huge.bmp"),
      (e: unknown) =>
        e instanceof MediaError && e.code === "too-many-pixels" && e.message.startsWith("huge.bmp:"),
    );
  });
  it("reports truncated pixel data as corrupt", () => {
    const bytes = makeBmp(40, 40, 24);
    assert.throws(
      () => decodeBmp(bytes.subarray(0, 200), 1e6, "cut.bmp"),
      (e: unknown) => e instanceof MediaError && e.code === "corrupt" && /cut off/.test(e.message),
    );
  });
  it("reports RLE compression on a non-palette BMP and unknown header sizes as corrupt", () => {
    const rle24 = makeBmp(4, 4, 24);
    new DataView(rle24.buffer).setUint32(30, 1, true);
    assert.throws(
      () => decodeBmp(rle24, 1e6),
      (e: unknown) => e instanceof MediaError && e.code === "corrupt",
    );
    const odd = makeBmp(4, 4, 24);
    new DataView(odd.buffer).setUint32(14, 20, true);
    assert.throws(
      () => decodeBmp(odd, 1e6),
      (e: unknown) => e instanceof MediaError && /header size 20/.test(e.message),
    );
  });
  it("refuses BMPs that wrap a JPEG stream", () => {
    const bytes = makeBmp(4, 4, 24);
    new DataView(bytes.buffer).setUint32(30, 4, true);
    assert.throws(
      () => decodeBmp(bytes, 1e6),
      (e: unknown) => e instanceof MediaError && e.code === "unsupported-type",
    );
  });
});

describe("decodeBmp on damaged input", () => {
  it("never crashes: 500 random corruptions either decode or throw MediaError", () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const originals = [makeBmp(9, 5, 1), makeBmp(9, 5, 8), makeBmp(9, 5, 24), makeBmp(9, 5, 32)];
    for (let i = 0; i < 500; i++) {
      const bytes = originals[i % originals.length].slice(0, 14 + Math.floor(random() * 400));
      for (let k = 0; k < 4; k++)
        bytes[2 + Math.floor(random() * (bytes.length - 2))] = Math.floor(random() * 256);
      try {
        decodeBmp(bytes, 1e6);
      } catch (error) {
        assert.ok(error instanceof MediaError, `case ${i}: ${error}`);
      }
    }
  });
});
