import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as protocol from "./index.ts";

describe("protocol public API", () => {
  it("exports the core functions and classes", () => {
    for (const name of [
      "parseOutput",
      "StreamParser",
      "renderPrompt",
      "normalizeMessages",
      "findChatTemplate",
      "detectFamily",
      "getFamily",
      "findBoxes",
      "toPixels",
      "extractBoxedAnswer",
      "parseToolCallBody",
      "sequentialCallIds",
    ]) {
      assert.equal(typeof (protocol as Record<string, unknown>)[name], "function", name);
    }
  });
  it("works end to end: parse, stream, pixels", () => {
    const text = "<think>Find it.</think>The cat: <|begin_of_box|>[250,100,750,900]<|end_of_box|>";
    const out = protocol.parseOutput(text, { family: protocol.DEFAULT_FAMILY });
    assert.deepEqual(protocol.toPixels(out.boxes[0], { width: 1920, height: 1080 }), {
      x1: 480,
      y1: 108,
      x2: 1440,
      y2: 972,
    });
    const stream = new protocol.StreamParser({ family: "glm-4.6v" });
    stream.push(text);
    assert.deepEqual(stream.finish().output, out);
  });
});
