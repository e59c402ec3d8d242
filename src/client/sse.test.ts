import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SseDecoder } from "./sse.ts";

describe("SseDecoder", () => {
  it("decodes events split anywhere, with \\n, \\r\\n and \\r line ends, comments and multi-line data", () => {
    const text =
      'data: {"a":1}\n\n: keep-alive\n\ndata: two\r\ndata: lines\r\n\r\nevent: x\rdata: [DONE]\r\r';
    for (let size = 1; size <= text.length; size++) {
      const decoder = new SseDecoder();
      const out: string[] = [];
      for (let i = 0; i < text.length; i += size) out.push(...decoder.push(text.slice(i, i + size)));
      out.push(...decoder.finish());
      assert.deepEqual(out, ['{"a":1}', "two\nlines", "[DONE]"], `chunk size ${size}`);
    }
  });

  it("decodes UTF-8 split inside a character and flushes a last event without a blank line", () => {
    const bytes = new TextEncoder().encode("data: 猫🐈\n\ndata: end");
    const decoder = new SseDecoder();
    const out: string[] = [];
    for (const b of bytes) out.push(...decoder.push(new Uint8Array([b])));
    out.push(...decoder.finish());
    assert.deepEqual(out, ["猫🐈", "end"]);
  });
});
