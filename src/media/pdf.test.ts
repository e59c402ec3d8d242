import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { degrees, PDFDocument } from "pdf-lib";
import { MediaError } from "./errors.ts";
import { formatPageList, parsePageRange, planPages, preparePdf } from "./pdf.ts";
import { makePdf, pixelAt } from "./test-media.ts";

const isMediaError = (code: string, pattern?: RegExp) => (e: unknown) =>
  e instanceof MediaError && e.code === code && (!pattern || pattern.test(e.message));

const A4 = { width: 595.28, height: 841.89 };
const LETTER = { width: 612, height: 792 };
const SLIDE = { width: 13.333 * 72, height: 7.5 * 72 };

/** A PDF that declares encryption with a user password we do not know. */
function encryptedPdf(): Uint8Array {
  const hex = "A1".repeat(32);
  const text = `%PDF-1.4
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj
4 0 obj << /Filter /Standard /V 1 /R 2 /O <${hex}> /U <${hex}> /P -4 >> endobj
trailer << /Root 1 0 R /Size 5 /Encrypt 4 0 R /ID [<${"00".repeat(16)}> <${"00".repeat(16)}>] >>
%%EOF
`;
  return new TextEncoder().encode(text);
}

describe("page ranges", () => {
  it("parses numbers, ranges and open ranges, 1-based, without duplicates", () => {
    assert.deepEqual(parsePageRange("1-3,5,9-", 10), [1, 2, 3, 5, 9, 10]);
    assert.deepEqual(parsePageRange(" 2 , 2-3 ", 4), [2, 3]);
    assert.deepEqual(parsePageRange("-2", 4), [1, 2]);
    assert.deepEqual(parsePageRange([3, 1], 4), [3, 1]);
  });
  it("refuses malformed, backwards and out-of-range selections", () => {
    assert.throws(
      () => parsePageRange("0", 4),
      isMediaError("bad-page-range", /page 0 does not exist.*4 pages/),
    );
    assert.throws(() => parsePageRange("5", 4), isMediaError("bad-page-range"));
    assert.throws(() => parsePageRange("3-1", 4), isMediaError("bad-page-range", /backwards/));
    assert.throws(() => parsePageRange("a-b", 4), isMediaError("bad-page-range", /not a page or range/));
    assert.throws(() => parsePageRange("", 4), isMediaError("bad-page-range"));
    assert.throws(() => parsePageRange([1.5], 4), isMediaError("bad-page-range"));
  });
  it("formats page lists compactly", () => {
    assert.equal(formatPageList([1, 2, 3, 5, 7, 8]), "1-3, 5, 7-8");
  });
});

describe("planPages: spec §8 figures", () => {
  it("A4 at 180 dpi is 1488×2105 → 1484×2100, 3,975 tokens", () => {
    const plan = planPages([A4], { family: "glm-ocr" });
    assert.deepEqual(plan.pages[0], {
      page: 1,
      width: 1488,
      height: 2105,
      grid: { width: 1484, height: 2100 },
    });
    assert.equal(plan.tokens, 3975);
  });
  it("US Letter gives 3,905 tokens and a 13.333×7.5-inch slide 4,128", () => {
    assert.equal(planPages([LETTER], { family: "glm-ocr" }).tokens, 3905);
    assert.equal(planPages([SLIDE], { family: "glm-ocr" }).tokens, 4128);
  });
  it("60 A4 pages over the 24k budget shrink to 470×666 → 408 tokens each, 24,480 in all", () => {
    const plan = planPages(Array(60).fill(A4), { family: "glm-ocr" });
    assert.equal(plan.pages.length, 60);
    assert.deepEqual([plan.pages[0].width, plan.pages[0].height], [470, 666]);
    assert.equal(plan.tokens, 24_480);
    assert.equal(plan.downscaled, true);
    assert.match(plan.note ?? "", /below 180 dpi/);
    assert.deepEqual(plan.leftOut, []);
  });
  it("leaves pages beyond the page limit out, with a note naming them", () => {
    const plan = planPages(Array(70).fill(A4), { input: "big.pdf" });
    assert.equal(plan.pages.length, 60);
    assert.deepEqual(
      plan.leftOut,
      Array.from({ length: 10 }, (_, i) => 61 + i),
    );
    assert.match(plan.note ?? "", /Pages 61-70 of big\.pdf were left out.*60 pages.*24000 tokens/);
  });
  it("leaves trailing pages out when even small pages exceed a tiny token budget", () => {
    const plan = planPages(Array(10).fill(A4), { maxTokens: 100 });
    assert.ok(plan.pages.length < 10);
    assert.ok(plan.tokens <= 105, `${plan.tokens}`);
    assert.equal(plan.leftOut[plan.leftOut.length - 1], 10);
  });
  it("keeps full resolution when the budget is off, and honours dpi and ranges", () => {
    const plan = planPages(Array(10).fill(A4), {
      maxTokens: Number.POSITIVE_INFINITY,
      pages: "2-3",
      dpi: 72,
    });
    assert.deepEqual(
      plan.pages.map((p) => [p.page, p.width, p.height]),
      [
        [2, 595, 842],
        [3, 595, 842],
      ],
    );
    assert.equal(plan.note, undefined);
  });
});

describe("preparePdf", () => {
  it("renders pages at their grid size: white paper, black text, the blue box", async () => {
    const doc = await preparePdf(await makePdf(3), { pages: "2-3", dpi: 72, input: "report.pdf" });
    assert.equal(doc.kind, "document");
    assert.deepEqual(doc.pageNumbers, [2, 3]);
    assert.equal(doc.totalPages, 3);
    const page = doc.pages[0];
    assert.deepEqual(
      [page.originalWidth, page.originalHeight, page.width, page.height],
      [595, 842, 588, 840],
    );
    assert.equal(page.data.length, 588 * 840 * 3);
    assert.deepEqual(pixelAt(page, 5, 5), [255, 255, 255]);
    // blue box: x 40..240, y 40..120 from the bottom (PDF points = pixels at 72 dpi)
    const [r, g, b] = pixelAt(page, 140, 840 - 80);
    assert.ok(b > 180 && r < 80 && g < 120, `box pixel ${[r, g, b]}`);
    // some dark text pixels in the heading line
    let dark = 0;
    for (let x = 40; x < 200; x++) if (pixelAt(page, x, 50)[0] < 100) dark++;
    assert.ok(dark > 5, "heading text is drawn");
    assert.equal(doc.tokens, (588 * 840 * 2) / 784);
  });
  it("renders a page with /Rotate 90 in landscape", async () => {
    const doc = await PDFDocument.create();
    doc.addPage([595.28, 841.89]).setRotation(degrees(90));
    const rendered = await preparePdf(await doc.save(), { dpi: 36 });
    const page = rendered.pages[0];
    assert.ok(page.originalWidth > page.originalHeight, `${page.originalWidth}×${page.originalHeight}`);
    assert.ok(page.width > page.height);
  });
  it("reports the token budget note on the result", async () => {
    const doc = await preparePdf(await makePdf(2), { maxTokens: 500, input: "two.pdf" });
    assert.equal(doc.pages.length, 2);
    assert.ok(doc.tokens <= 525);
    assert.match(doc.note ?? "", /two\.pdf were rendered below 180 dpi/);
  });
  it("refuses corrupt and password-protected PDFs with a fix", async () => {
    const good = await makePdf(1);
    await assert.rejects(
      preparePdf(good.subarray(0, 60), { input: "cut.pdf" }),
      isMediaError("corrupt", /^cut\.pdf: this PDF cannot be read/),
    );
    await assert.rejects(
      preparePdf(encryptedPdf(), { input: "secret.pdf" }),
      isMediaError("encrypted", /password-protected.*Remove the password/),
    );
  });
  it("stops at the time limit", async () => {
    await assert.rejects(
      preparePdf(await makePdf(3), { timeoutMs: 1, maxTokens: Number.POSITIVE_INFINITY, input: "slow.pdf" }),
      isMediaError("timeout", /^slow\.pdf: rendering did not finish within 1 ms/),
    );
  });
  it("refuses a page range outside the document", async () => {
    await assert.rejects(preparePdf(await makePdf(2), { pages: "3" }), isMediaError("bad-page-range"));
  });
});
