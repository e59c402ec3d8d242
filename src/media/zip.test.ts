import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inflateRawSync } from "node:zlib";
import { listZipEntries, readStoredEntry, writeZip } from "./zip.ts";

describe("zip", () => {
  const zip = writeZip([
    { name: "mimetype", data: "application/vnd.oasis.opendocument.presentation", store: true },
    { name: "content.xml", data: "<a>hello hello hello hello</a>" },
  ]);

  it("lists the entries it wrote, in order", () => {
    const entries = listZipEntries(zip);
    assert.deepEqual(
      entries.map((e) => [e.name, e.method]),
      [
        ["mimetype", 0],
        ["content.xml", 8],
      ],
    );
  });

  it("reads a stored entry and deflates the others readably", () => {
    const [mime, content] = listZipEntries(zip);
    assert.equal(
      new TextDecoder().decode(readStoredEntry(zip, mime)),
      "application/vnd.oasis.opendocument.presentation",
    );
    assert.equal(readStoredEntry(zip, content), undefined);
    const start = content.localHeaderOffset + 30 + "content.xml".length;
    const body = zip.subarray(start, start + content.compressedSize);
    assert.equal(new TextDecoder().decode(inflateRawSync(body)), "<a>hello hello hello hello</a>");
  });

  it("walks local headers when the central directory is cut off", () => {
    const truncated = zip.subarray(0, zip.length - 30);
    assert.deepEqual(
      listZipEntries(truncated).map((e) => e.name),
      ["mimetype", "content.xml"],
    );
  });

  it("returns no entries for bytes that are not a zip", () => {
    assert.deepEqual(listZipEntries(new Uint8Array(100)), []);
  });
});
