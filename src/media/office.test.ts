import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { typeOfFormat } from "./detect.ts";
import { MediaError } from "./errors.ts";
import { convertToPdf } from "./office.ts";
import { preparePdf } from "./pdf.ts";
import { makeDocx, makePptx, pixelAt, tempDir } from "./test-media.ts";

const isMediaError = (code: string, pattern?: RegExp) => (e: unknown) =>
  e instanceof MediaError && e.code === code && (!pattern || pattern.test(e.message));

describe("office documents through LibreOffice", () => {
  // The only slow test of the media suite (LibreOffice starts in a few seconds): one conversion.
  it("converts a PPTX built by code into a PDF whose slide renders as a 16:9 page", async () => {
    const pdf = await convertToPdf(makePptx(["Hello from glmv", "Second slide"]), typeOfFormat("pptx"));
    assert.equal(new TextDecoder().decode(pdf.subarray(0, 5)), "%PDF-");
    const doc = await preparePdf(pdf, { dpi: 72 });
    assert.equal(doc.totalPages, 2);
    const page = doc.pages[0];
    assert.ok(
      Math.abs(page.originalWidth / page.originalHeight - 16 / 9) < 0.02,
      `${page.originalWidth}×${page.originalHeight}`,
    );
    let dark = 0;
    for (let y = 0; y < page.height; y += 2)
      for (let x = 0; x < page.width; x += 2) if (pixelAt(page, x, y)[0] < 100) dark++;
    assert.ok(dark > 20, "the title text is drawn");
  });

  it("says how to install LibreOffice when it is missing", async () => {
    await assert.rejects(
      convertToPdf(makeDocx(["x"]), typeOfFormat("docx"), {
        sofficePath: "/nonexistent/soffice",
        input: "memo.docx",
      }),
      isMediaError("libreoffice-missing", /^memo\.docx: .*apt-get install libreoffice-impress-nogui/),
    );
  });

  it("reports a file LibreOffice cannot convert", async () => {
    await assert.rejects(
      convertToPdf(new TextEncoder().encode("this is not a presentation"), typeOfFormat("pptx"), {
        sofficePath: "true",
      }),
      isMediaError("conversion-failed", /no PDF was written/),
    );
  });

  it("stops a conversion at the time limit", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const hanging = join(dir, "hanging-soffice");
      await writeFile(hanging, "#!/bin/sh\nexec sleep 30\n", { mode: 0o755 });
      await assert.rejects(
        convertToPdf(makePptx(["x"]), typeOfFormat("pptx"), { sofficePath: hanging, timeoutMs: 100 }),
        isMediaError("timeout", /100 ms/),
      );
    } finally {
      await cleanup();
    }
  });
});
